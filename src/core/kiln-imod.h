/* kiln-imod.h — IMOD text files: .tlt/.rawtlt tilt angles and .xf transforms
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * KilnXf:
 *
 * One line of an IMOD .xf file: x' = a11·x + a12·y + dx, y' = a21·x + a22·y + dy, in pixels,
 * about the image centre. IMOD writes "a11 a12 a21 a22 dx dy".
 */
typedef struct
{
  double a11, a12, a21, a22;
  double dx, dy;
} KilnXf;

/* One angle (degrees) per line; blank lines ignored. Returns a newly allocated array. */
double  *kiln_tlt_load      (const char     *path,
                             guint          *n_angles,
                             GError        **error);
gboolean kiln_tlt_save      (const char     *path,
                             const double   *angles_deg,
                             guint           n_angles,
                             GError        **error);
KilnXf  *kiln_xf_load       (const char     *path,
                             guint          *n_xf,
                             GError        **error);
gboolean kiln_xf_save       (const char     *path,
                             const KilnXf   *xf,
                             guint           n_xf,
                             GError        **error);
void     kiln_xf_identity   (KilnXf         *xf);

G_END_DECLS
