/* kiln-neck-model.h — the volume-preserving cylindrical-neck model of two equal spheres
 *
 * Two spheres of radius r_p, centres d apart, each truncated by a plane at distance a from its
 * centre where the cut circle has radius r_n (a = √(r_p² − r_n²)), joined by a cylinder of
 * radius r_n and length d − 2a; the total volume stays that of the two original spheres
 * (2 · 4/3 π r_p³).  Volume conservation, 2 V_cap(r_p − a) = π r_n² (d − 2a), gives
 *     d(a) = 2a + 2 (r_p − a)(2 r_p + a) / (3 (r_p + a)),
 * decreasing from d = 2 r_p (a = r_p, r_n = 0: spheres touching) to d = 4/3 r_p (a = 0,
 * r_n = r_p: a cylinder with two hemispherical ends).  The model curve r_n(d) of the paper's
 * Fig. 9 is this relation inverted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* r_n (same unit as the inputs) for centre distance @d and sphere radius @r_p; NaN outside
 * 4/3 r_p ≤ d ≤ 2 r_p or for r_p ≤ 0. */
double kiln_neck_model_rn     (double d,
                               double r_p);
/* d for a given r_n (0 ≤ r_n ≤ r_p), the forward relation. */
double kiln_neck_model_d      (double r_n,
                               double r_p);
/* Volume of the model solid (truncated spheres + cylinder) for any d, r_n with the cylinder
 * length d − 2a ≥ 0; NaN otherwise. */
double kiln_neck_model_volume (double d,
                               double r_n,
                               double r_p);
/* Sample the curve: @n points with d from 4/3 r_p to 2 r_p, written to d_out, rn_out. */
void   kiln_neck_model_curve  (double  r_p,
                               guint   n,
                               double *d_out,
                               double *rn_out);

G_END_DECLS
