/* kiln-edt.h — exact Euclidean distance transform of binary volumes
 *
 * Separable lower-envelope algorithm (Felzenszwalb & Huttenlocher, "Distance transforms of
 * sampled functions", 2012): one pass per axis, O(N) in the number of voxels, exact squared
 * distances in voxel units (isotropic voxels).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Squared distance reported where no site exists anywhere in the volume. */
#define KILN_EDT_INF 1e30f

/* out[i] = squared distance (voxels²) from voxel i to the nearest voxel whose mask value is
 * non-zero when @to_set, zero when !@to_set (0 at such voxels themselves). Voxels outside the
 * volume are never sites. @out holds nx·ny·nz floats (may not alias @mask). */
gboolean kiln_edt_squared (const guint8  *mask,
                           guint          nx,
                           guint          ny,
                           guint          nz,
                           gboolean       to_set,
                           float         *out,
                           GCancellable  *cancellable,
                           GError       **error);

/* The 1-D lower envelope pass: d[q] = min_p (q − p)² + f[p] over the n samples of @f (entries
 * ≥ KILN_EDT_INF are not sites). @v (n ints) and @zz (n + 1 doubles) are scratch. */
void     kiln_edt_1d      (const float   *f,
                           float         *d,
                           guint          n,
                           int           *v,
                           double        *zz);

G_END_DECLS
