/* kiln-reconstruct-private.h — internals shared by kiln-wbp.c, kiln-sirt.c, kiln-tv.c and
 * kiln-reconstruct.c (not installed, not part of the public API).
 *
 * All volumes here are in the projector's slab layout (kiln-projector.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "kiln-projector.h"

G_BEGIN_DECLS

/* ---- WBP (kiln-wbp.c) ---- */

/* Angular weight of each tilt in radians: half the distance between its neighbours in sorted
 * order (the end tilts get the gap to their one neighbour), so Σ = covered range + one step. */
void      kiln_wbp_tilt_weights   (const double *angles_deg,
                                   guint         n_tilts,
                                   float        *weights);
/* vol = Σ_θ Δθ · Aᵀ (sino), @sino already ramp-filtered along u. */
void      kiln_wbp_backproject    (const KilnProjector *proj,
                                   const float         *sino,
                                   float               *vol);

/* ---- SIRT / OS-SART (kiln-sirt.c) ---- */

typedef struct _KilnSirt KilnSirt;

typedef struct
{
  double res2;     /* Σ (b − Ax)² met during the pass (state before each subset update) */
  double b2;       /* Σ b² over the same rays */
  double delta2;   /* Σ (x_new − x_old)² over the pass */
  double path;     /* Σ_subsets ‖x_after − x_before‖ of each subset update: the length of the
                    * path the pass took (= sqrt (delta2) with one subset) */
} KilnSirtStats;

/* @b: the measured sinogram (slab layout), borrowed.  @support: slab layout, nullable,
 * borrowed.  Allocates every buffer the passes need (nothing is allocated per pass). */
KilnSirt *kiln_sirt_new           (const KilnProjector *proj,
                                   const float         *b,
                                   guint                n_subsets,
                                   double               relaxation,
                                   gboolean             nonneg,
                                   const guint8        *support,
                                   GError             **error);
void      kiln_sirt_free          (KilnSirt            *sirt);
/* One pass over all subsets: x ← x + λ C_s A_sᵀ R_s (b_s − A_s x) for each subset s.
 * Fills @stats; also per-slice residuals (kiln_sirt_slice_residual). */
void      kiln_sirt_pass          (KilnSirt            *sirt,
                                   float               *vol,
                                   KilnSirtStats       *stats);
/* Relative residual ‖b − Ax‖/‖b‖ of slice @y during the last pass (NAN before any). */
double    kiln_sirt_slice_residual (const KilnSirt     *sirt,
                                    guint               y);

/* ‖b − Ax‖/‖b‖ of @vol (one forward projection). */
double    kiln_sirt_residual      (KilnSirt            *sirt,
                                   const float         *vol);

/* ---- isotropic 3-D TV (kiln-tv.c) ---- */

/* g = ∇_x TV(x) (forward differences, Neumann borders, smoothed by eps = 1e-8);
 * returns ‖g‖² and sets *tv = TV(x).  Only slices y < proj->ny take part. */
double    kiln_tv_gradient        (const KilnProjector *proj,
                                   const float         *vol,
                                   float               *g,
                                   double              *tv);
/* x ← x − step · g (slices y < ny). */
void      kiln_tv_descend         (const KilnProjector *proj,
                                   float               *vol,
                                   const float         *g,
                                   double               step);
/* TV(x) alone. */
double    kiln_tv_value           (const KilnProjector *proj,
                                   const float         *vol);

G_END_DECLS
