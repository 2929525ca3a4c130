/* kiln-tilt-axis.h — tilt-axis angle and shift: scores on back-projected slices, coarse-to-fine
 * search and an automatic suggestion
 *
 * Geometry: exactly that of kiln-backproject.h (axis angle α in degrees CCW from image y,
 * 0 = vertical, 90 = horizontal; shift s in px across the axis from the image centre
 * ((W − 1)/2, (H − 1)/2), positive towards +x of the image rotated so that the axis is vertical;
 * u = x cos θ + z sin θ).
 *
 * Method (docs/tilt-axis.md):
 *  1. Start angle: the given one, or the common-line estimate — the projection of every tilt
 *     onto the axis direction is the same 1D profile for all tilts (the common line), so the α
 *     that minimises the spread of the profiles' Fourier magnitudes (insensitive to drift along
 *     the axis) across tilts is the axis direction. Searched over (−45°, 135°] (α and α + 180°
 *     describe the same axis with mirrored handedness, which no data can tell apart), or ±5°
 *     around a given start. Up to 6 local minima (within 3× the best) and the direction
 *     perpendicular to the best (a needle looks alike along and across its axis) are kept as
 *     candidates; the coarse shift search of step 3 is run for each and the candidate with the
 *     highest confidence (sharpest shift curve) wins.
 *  2. Score: weighted (Hamming-filtered) back-projections of several slices across the axis
 *     for each candidate shift. A wrong shift δ moves the contribution of tilt θ by δ along its
 *     own direction, so the back-projected rays of a point no longer meet in one point but
 *     spread over δ·(1/cos θ − 1) across the axis: the slice gets less concentrated. Any
 *     quadratic measure (Σ f², the agreement of two half-range BPs, reprojection error) is in
 *     theory independent of the shift, because two strips at different angles overlap by the
 *     same amount wherever they lie; a non-linear concentration measure is needed. The default
 *     cost is (Σ f²)² / Σ f⁴ (the effective number of bright pixels); total variation, L1 and
 *     histogram entropy are offered too (less precise with a limited tilt range).
 *  3. Coarse search on a binned copy (≤ 256 px), then a sub-pixel search per slice at ≤ 512 px
 *     (parabola through the best three points). Optionally (@slope_refine) a residual angle
 *     error is read from the best shifts, which then vary linearly with the slice position v:
 *     s(v) = s₀ − v·tan δ; a weighted straight-line fit gives δ, the angle is corrected
 *     (α ← α + δ) while δ is significant (> 2 standard errors). The final shift is the minimum
 *     of the joint (all slices) cost at the final angle.
 *  3b. Before 3, and replacing it when it succeeds: centre-of-mass trajectories. On the
 *     background-subtracted content, the centre of mass of each band along the axis follows
 *     u(θ) = s + X cos θ + Z sin θ exactly (blur and sampling preserve centres of mass) while
 *     its content stays in the field; a per-band least-squares fit gives s per band, the slope
 *     of s against the band position the angle error (iterated). The start angle for it is
 *     the mass-profile common line (the band masses along the axis agree across tilts) when
 *     that is decisive and confirmed, else the BP-chosen candidate. Accepted when the rms
 *     residual is < 1 px and the angle stays within 2.5° of the start (docs/tilt-axis.md).
 *  4. The returned curve is the joint score at the final angle over the coarse shift range,
 *     as relative sharpness min(cost)/cost(s) (1 = best). Confidence = 1 − min(cost) /
 *     median(cost): 0 when the curve is flat (no information), → 1 for a sharp minimum.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-backproject.h"
#include "kiln-image-stack.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_AXIS_SCORE_SHARPNESS, /* (Σ f²)² / Σ f⁴ of the filtered BP: the "number of bright
                              * pixels"; lowest when the energy is most concentrated (default) */
  KILN_AXIS_SCORE_TV,       /* isotropic total variation of the filtered BP */
  KILN_AXIS_SCORE_L1,       /* Σ |f| of the filtered BP */
  KILN_AXIS_SCORE_ENTROPY,  /* entropy of the 256-bin histogram of the filtered BP */
} KilnAxisScore;

gboolean     kiln_axis_score_from_string (const char *name,
                                          KilnAxisScore *score);
const char  *kiln_axis_score_to_string   (KilnAxisScore score);

/* The cost (lower = sharper, fewer artefacts) of one back-projected slice. */
double       kiln_axis_score_slice       (const float   *slice,
                                          guint          width,
                                          guint          thickness,
                                          KilnAxisScore  score);

/**
 * KilnTiltAxisParams:
 * @axis_angle_deg: start angle, degrees; NAN = estimate it by the common-line method
 * @refine_angle: search the angle (TRUE, default: common-line search, within ±5° of
 *   @axis_angle_deg when given) or keep @axis_angle_deg fixed
 * @slope_refine: also correct the angle from the slope of the per-slice best shifts (off by
 *   default: it needs slices rich in content all along the axis; see docs/tilt-axis.md)
 * @n_slices: number of slices across the axis used for scoring (default 7; ≥ 3 to fit an angle)
 * @max_shift_px: shift search range ± px (0 = a quarter of the smaller image side)
 * @score: the cost measure
 * @filter: the filter of the scoring back-projections (default Hamming)
 */
typedef struct
{
  double        axis_angle_deg;
  gboolean      refine_angle;
  gboolean      slope_refine;
  guint         n_slices;
  double        max_shift_px;
  KilnAxisScore score;
  KilnFilter    filter;
} KilnTiltAxisParams;

/**
 * KilnTiltAxisResult:
 * @axis_angle_deg: suggested axis angle, degrees
 * @axis_shift_px: suggested axis shift, px
 * @confidence: peak sharpness in [0, 1]
 * @common_line_angle_deg: the start angle picked among the common-line candidates (NAN when the
 *   angle was kept fixed)
 * @n_curve: number of curve points
 * @curve_shift_px: shifts of the curve, px, ascending
 * @curve_score: relative sharpness at each shift (1 = best)
 * @n_slices: slices used
 * @slice_pos_px: their positions along the axis, px from the centre
 * @slice_shift_px: best shift of each slice at the final angle, px
 * @slice_weight: each slice's weight in the angle fit (its own confidence)
 */
typedef struct
{
  double  axis_angle_deg;
  double  axis_shift_px;
  double  confidence;
  double  common_line_angle_deg;
  guint   n_curve;
  double *curve_shift_px;
  double *curve_score;
  guint   n_slices;
  double *slice_pos_px;
  double *slice_shift_px;
  double *slice_weight;
} KilnTiltAxisResult;

void                kiln_tilt_axis_params_init  (KilnTiltAxisParams   *params);
void                kiln_tilt_axis_result_free  (KilnTiltAxisResult   *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnTiltAxisResult, kiln_tilt_axis_result_free)

/* Evenly spaced slice positions (px along the axis from the centre) within the middle 70 % of
 * the image's extent along the axis. */
void                kiln_tilt_axis_slice_positions (guint          width,
                                                    guint          height,
                                                    double         axis_angle_deg,
                                                    guint          n_slices,
                                                    double        *positions);

/* Common-line estimate of the axis angle in (−45°, 135°], to about 0.2°. */
gboolean            kiln_tilt_axis_common_line  (const KilnImageStack *stack,
                                                 double               *axis_angle_deg,
                                                 GCancellable         *cancellable,
                                                 KilnProgressFunc      progress,
                                                 gpointer              progress_data,
                                                 GError              **error);

/* The raw joint cost (sum over the slices of each slice's cost divided by its median over the
 * candidates) for each of @n_shifts shifts at a fixed angle, at full resolution — for the GUI's
 * live curve. @costs gets @n_shifts values (lower = better). */
gboolean            kiln_tilt_axis_cost_curve   (const KilnImageStack *stack,
                                                 double                axis_angle_deg,
                                                 const double         *slice_pos_px,
                                                 guint                 n_slices,
                                                 const double         *shifts_px,
                                                 guint                 n_shifts,
                                                 KilnAxisScore         score,
                                                 KilnFilter            filter,
                                                 double               *costs,
                                                 GCancellable         *cancellable,
                                                 GError              **error);

/* The automatic suggestion (see the method above). Errors: no angles, fewer than 2 tilts,
 * zero angular range, images smaller than 16 × 16. */
KilnTiltAxisResult *kiln_tilt_axis_find         (const KilnImageStack     *stack,
                                                 const KilnTiltAxisParams *params,
                                                 GCancellable             *cancellable,
                                                 KilnProgressFunc          progress,
                                                 gpointer                  progress_data,
                                                 GError                  **error);

G_END_DECLS
