/* kiln-mattes-mi.h — Mattes mutual information between two images and its maximisation over a
 * translation (and optionally a small rotation) by a (1+1)-evolution strategy on an image pyramid
 *
 * The metric follows Mattes et al. (2003) as ITK's MattesMutualInformation does: a joint
 * histogram of a fixed set of sampled fixed-image pixels against the transformed moving image,
 * with a zero-order (box) Parzen window on the fixed intensity and a cubic B-spline Parzen window
 * on the moving intensity (both padded by two bins), MI = Σ p log(p / (p_f p_m)).
 *
 * The optimiser is the (1+1)-ES of Styner et al. as in ITK's OnePlusOneEvolutionaryOptimizer (used
 * by MATLAB imregister): a Gaussian search distribution with matrix A (initially radius · I);
 * after each child, A ← A + (α − 1)(A z) zᵀ / |z|² with α = growth on success and shrink on
 * failure (1/5th-success rule for shrink = growth^(−1/4)).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-imod.h"

G_BEGIN_DECLS

typedef struct _KilnMattesMI KilnMattesMI;

/**
 * KilnMattesParams:
 * @n_bins: histogram bins per axis (default 50, at least 8)
 * @n_samples: fixed-image pixels sampled (default 20000; 0 or ≥ the pixel count: all pixels)
 * @seed: random seed of the sample set (fixed, so the metric is a deterministic function)
 */
typedef struct
{
  guint   n_bins;
  guint   n_samples;
  guint32 seed;
} KilnMattesParams;

void          kiln_mattes_params_init (KilnMattesParams        *params);

/* Prepare the metric between @fixed and @moving (both w × h, not copied: keep them alive).
 * Samples lie at least @margin pixels inside the fixed image. NULL with a GError on bad sizes. */
KilnMattesMI *kiln_mattes_mi_new      (const float             *fixed,
                                       const float             *moving,
                                       guint                    w,
                                       guint                    h,
                                       guint                    margin,
                                       const KilnMattesParams  *params,
                                       GError                 **error);
void          kiln_mattes_mi_free     (KilnMattesMI            *mi);

/* MI (nats) of the fixed image against @moving transformed by @xf (IMOD .xf semantics about the
 * image centre: the moving content moves by xf). Samples whose source falls outside @moving are
 * left out; returns 0 when fewer than 16 remain. Thread-safe for concurrent calls. */
double        kiln_mattes_mi_eval     (KilnMattesMI            *mi,
                                       const KilnXf            *xf);

/**
 * KilnOnePlusOneParams:
 * @initial_radius: initial search radius, in the (scaled) parameter units (default 0.5)
 * @growth: radius growth factor on success (default 1.05)
 * @shrink: radius shrink factor on failure (default 0.95^(1/4))
 * @epsilon: stop when the Frobenius norm of the search matrix falls below this (default 5e-3;
 *   coarser pyramid levels stop at 0.05 of their pixels at the latest)
 * @max_iterations: most children evaluated (default 300)
 * @seed: random seed
 */
typedef struct
{
  double  initial_radius;
  double  growth;
  double  shrink;
  double  epsilon;
  guint   max_iterations;
  guint32 seed;
} KilnOnePlusOneParams;

void          kiln_one_plus_one_params_init (KilnOnePlusOneParams *params);

/* An objective to maximise at @x (n values). */
typedef double (*KilnObjectiveFunc) (const double *x,
                                     gpointer      user_data);

/* Maximise @func from @x (updated in place, n ≤ 8). Returns the best value; *n_evals (nullable)
 * gets the number of evaluations, *final_radius (nullable) the final search radius
 * (‖A‖_F / √n). Stops early (returning the best so far) when @cancellable is
 * cancelled. */
double        kiln_one_plus_one_maximise    (KilnObjectiveFunc           func,
                                             gpointer                    user_data,
                                             double                     *x,
                                             guint                       n,
                                             const KilnOnePlusOneParams *params,
                                             GCancellable               *cancellable,
                                             guint                      *n_evals,
                                             double                     *final_radius);

/**
 * KilnMiRegisterParams:
 * @metric: the metric's parameters
 * @optimizer: the optimiser's parameters (initial_radius in pixels of the coarsest level); each
 *   finer level starts from twice the final radius of the level above (at least 0.1 of its
 *   pixels), i.e. the same search size
 * @levels: pyramid levels (1 … 4; each halves the size by 2 × 2 averaging; default 3, reduced
 *   so that the coarsest level is at least 32 pixels wide)
 * @rotation: also estimate a rotation about the image centre
 * @max_rotation_deg: rotations are clamped to ± this (default 5)
 * @max_shift_px: the translation stays within this distance (full-resolution pixels) of the
 *   start: a trust region around the coarse estimate (default 3; ≤ 0 = unlimited)
 * @stretch: a fixed linear map S (m11, m12, m21, m22; default identity) applied about the centre
 *   after the estimated rigid transform X: the metric compares @fixed with S∘X(@moving), and X is
 *   returned (cosine stretching of tilt pairs)
 */
typedef struct
{
  KilnMattesParams     metric;
  KilnOnePlusOneParams optimizer;
  guint                levels;
  gboolean             rotation;
  double               max_rotation_deg;
  double               max_shift_px;
  double               stretch[4];
} KilnMiRegisterParams;

void          kiln_mi_register_params_init  (KilnMiRegisterParams *params);

/* Register @moving onto @fixed (both w × h): find the translation (and rotation) that, applied to
 * @moving (content moves by it), maximises MI with @fixed, starting at *dx, *dy, *rotation_deg
 * (updated). @mi_value, @n_evals nullable. FALSE with a GError on bad input or cancellation. */
gboolean      kiln_mi_register              (const float                *fixed,
                                             const float                *moving,
                                             guint                       w,
                                             guint                       h,
                                             const KilnMiRegisterParams *params,
                                             double                     *dx,
                                             double                     *dy,
                                             double                     *rotation_deg,
                                             double                     *mi_value,
                                             guint                      *n_evals,
                                             GCancellable               *cancellable,
                                             GError                    **error);

G_END_DECLS
