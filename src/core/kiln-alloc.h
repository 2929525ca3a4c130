/* kiln-alloc.h — the one checked path for image- and volume-sized allocations
 *
 * Every buffer whose size comes from a file header or a user parameter is allocated here: the
 * element count is checked for overflow and against the memory budget (default: 3/4 of physical
 * memory, or $KILN_MEMORY_LIMIT_MB), and a failure is a GError that says how much was needed —
 * never an abort or a huge malloc.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest extent Kiln accepts along any one axis of an image or volume. */
#define KILN_MAX_EXTENT 65536

guint64  kiln_memory_budget          (void);
void     kiln_set_memory_budget      (guint64      bytes);

/* Multiply a × b × c × d (any may be 1) into *out; FALSE on overflow. */
gboolean kiln_size_mul               (gsize       *out,
                                      gsize        a,
                                      gsize        b,
                                      gsize        c,
                                      gsize        d);

/* Allocate n_elements × element_size bytes (zeroed when @zero), checked against overflow and the
 * budget. @what names the buffer in the error ("tilt stack of 41 × 1024 × 1024 float"). Free with
 * kiln_free(). */
gpointer kiln_alloc                  (gsize        n_elements,
                                      gsize        element_size,
                                      gboolean     zero,
                                      const char  *what,
                                      GError     **error);
void     kiln_free                   (gpointer     mem);

/* A human-readable size ("1.5 GiB"), for messages. Free with g_free(). */
char    *kiln_format_bytes           (guint64      bytes);

G_END_DECLS
