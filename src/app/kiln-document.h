/* kiln-document.h — what the window shows: an experiment's time points and their data
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln.h"

G_BEGIN_DECLS

#define KILN_TYPE_DOCUMENT (kiln_document_get_type ())

G_DECLARE_FINAL_TYPE (KilnDocument, kiln_document, KILN, DOCUMENT, GObject)

KilnDocument   *kiln_document_new                 (void);
const char     *kiln_document_get_title           (KilnDocument  *self);
guint           kiln_document_get_n_time_points   (KilnDocument  *self);
/* "T3 · 12 s · 370 °C" */
char           *kiln_document_dup_time_point_label (KilnDocument *self,
                                                    guint         index);
/* The loaded tilt stack of a time point, or NULL while not loaded. */
KilnImageStack *kiln_document_get_stack           (KilnDocument  *self,
                                                   guint          index);

/* Load a single tilt series (one time point) in a worker thread. */
void            kiln_document_load_stack_async    (KilnDocument        *self,
                                                   GFile               *file,
                                                   GCancellable        *cancellable,
                                                   KilnProgressFunc     progress,
                                                   gpointer             progress_data,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gboolean        kiln_document_load_stack_finish   (KilnDocument        *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

G_END_DECLS
