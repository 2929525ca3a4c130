/* kiln-backproject.h — simple and weighted back-projection of single slices across the tilt
 * axis, for live previews and tilt-axis scoring
 *
 * GEOMETRY (the same as ../shared/design/pipeline.md and the 3D projector/reconstruction):
 *
 *  - Image pixel (x, y), 0-based, pixel centres at integers; image centre
 *    c = ((W − 1)/2, (H − 1)/2).
 *  - Axis angle α (degrees) is counter-clockwise from the image y axis in the mathematical
 *    sense of (x, y) (as kiln_xf_rotation()): 0 = vertical axis, 90 = horizontal axis.
 *    Unit vectors:  along the axis   e_a = (−sin α, cos α)
 *                   across the axis  e_p = ( cos α, sin α)   (= image +x when α = 0)
 *    Rotating the image by −α about c makes the axis vertical and e_p the +x direction.
 *  - Axis shift s (px): the axis is the line c + s·e_p + t·e_a, i.e. offset s from the centre
 *    perpendicular to the axis after rotating it vertical, positive towards +x (of the rotated
 *    image).
 *  - A slice at position v (px along e_a from the centre) is the row of the volume perpendicular
 *    to the axis through c + v·e_a. Its volume coordinates are x (across the axis, measured from
 *    the axis) and z (along the beam at 0° tilt), both relative to the slice centre, so the
 *    output column i has x = i − (nx − 1)/2 and row j has z = j − (nz − 1)/2.
 *  - Projection at tilt θ: detector coordinate u = x·cos θ + z·sin θ (u measured from the axis),
 *    i.e. the volume point (x, z) of slice v appears in the image at c + (u + s)·e_p + v·e_a.
 *
 * Weighted (filtered) back-projection:  f(x, z) = Σ_k Δθ_k · p̃_k(x cos θ_k + z sin θ_k + s),
 * with p̃ the ramp-filtered line (kiln-fft.h: ramp |ω| in cycles/sample) and Δθ_k the angular
 * step around tilt k in radians (half the distance to its neighbours; the end tilts use their one
 * neighbour's full step), so that a full-range series reproduces the object's values.
 * Simple back-projection (KILN_FILTER_NONE) is the mean over tilts: f = (1/n) Σ_k p_k(…), which
 * keeps the image's intensity scale for previews.
 * Lines are sampled from the images with bilinear interpolation; samples outside the image take
 * the value at the nearest image edge (clamped), so no artificial step is filtered.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-fft.h"
#include "kiln-image-stack.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

/**
 * KilnBpLines:
 *
 * For one slice position along the axis: every tilt's image sampled along the line across the
 * axis (1 px steps, centred on the image centre, long enough for the requested output size and
 * shift range), already filtered and weighted. Back-projecting them for any shift is then
 * cheap; re-sample them only when the axis angle or the slice moves.
 */
typedef struct _KilnBpLines KilnBpLines;

/* Sample the lines of slice @slice_pos_px for axis angle @axis_angle_deg. The lines cover
 * outputs up to @max_width × @max_thickness with shifts |s| ≤ @max_shift_px. @cutoff: filter
 * apodisation cutoff (0 < cutoff ≤ 1; ignored for KILN_FILTER_NONE). Errors: no angles, fewer
 * than 2 tilts, zero angular range, bad sizes. */
KilnBpLines *kiln_bp_lines_new          (const KilnImageStack *stack,
                                         double                axis_angle_deg,
                                         double                slice_pos_px,
                                         guint                 max_width,
                                         guint                 max_thickness,
                                         double                max_shift_px,
                                         KilnFilter            filter,
                                         double                cutoff,
                                         GError              **error);
/* The same on raw images with an explicit image centre (@cx, @cy) in pixels — used for binned
 * copies whose centre is not at ((w−1)/2, (h−1)/2) of the binned grid. */
KilnBpLines *kiln_bp_lines_new_full     (const float          *data,
                                         guint                 n_tilts,
                                         guint                 width,
                                         guint                 height,
                                         const double         *angles_deg,
                                         double                cx,
                                         double                cy,
                                         double                axis_angle_deg,
                                         double                slice_pos_px,
                                         guint                 max_width,
                                         guint                 max_thickness,
                                         double                max_shift_px,
                                         KilnFilter            filter,
                                         double                cutoff,
                                         GError              **error);
void         kiln_bp_lines_free         (KilnBpLines          *lines);
guint        kiln_bp_lines_n_tilts      (const KilnBpLines    *lines);

/* Back-project into @out (@thickness rows × @width columns, out[z*width + x], see GEOMETRY)
 * for axis shift @shift_px. Runs in parallel over rows (OpenMP). Any size and shift is allowed;
 * beyond what the lines cover the edge values are used. */
void         kiln_bp_lines_backproject  (const KilnBpLines    *lines,
                                         double                shift_px,
                                         guint                 width,
                                         guint                 thickness,
                                         float                *out);

/* The same with the output centred on x = @x_centre_px instead of the axis (column i has
 * x = i − (width − 1)/2 + x_centre_px). With x_centre_px = −shift_px the window stays fixed on
 * the image while the shift changes (used for scoring). */
void         kiln_bp_lines_backproject_at (const KilnBpLines *lines,
                                           double             shift_px,
                                           double             x_centre_px,
                                           guint              width,
                                           guint              thickness,
                                           float             *out);

/* Angular weights Δθ_k (radians) as used by the weighted back-projection (see above); @weights
 * has @n entries. FALSE if n < 2 or the range is zero. */
gboolean     kiln_bp_angle_weights      (const double         *angles_deg,
                                         guint                 n,
                                         double               *weights);

/* The default output width for a slice across the axis: the length of the line through the
 * image centre perpendicular to the axis that stays inside the image (W for α = 0, H for 90°). */
guint        kiln_bp_default_width      (guint                 image_width,
                                         guint                 image_height,
                                         double                axis_angle_deg);

/**
 * KilnBackprojectParams:
 * @axis_angle_deg: axis angle α, degrees
 * @axis_shift_px: axis shift s, px
 * @filter: KILN_FILTER_NONE for simple back-projection, else the weighting filter
 * @cutoff: filter cutoff (fraction of Nyquist), 0 < cutoff ≤ 1
 * @width: output width (x across the axis); 0 = kiln_bp_default_width()
 * @thickness: output thickness (z); 0 = the output width
 */
typedef struct
{
  double     axis_angle_deg;
  double     axis_shift_px;
  KilnFilter filter;
  double     cutoff;
  guint      width;
  guint      thickness;
} KilnBackprojectParams;

void         kiln_backproject_params_init (KilnBackprojectParams *params);

/* Back-project the slices at positions @slice_pos_px (px along the axis from the image centre)
 * into @out: @n_slices × thickness × width floats, out[(i*thickness + z)*width + x], with the
 * resolved width and thickness returned in @width_out / @thickness_out (nullable).
 * @out may be NULL to only resolve the sizes. Cancellable between slices. */
gboolean     kiln_backproject_slices    (const KilnImageStack        *stack,
                                         const KilnBackprojectParams *params,
                                         const double                *slice_pos_px,
                                         guint                        n_slices,
                                         float                       *out,
                                         guint                       *width_out,
                                         guint                       *thickness_out,
                                         GCancellable                *cancellable,
                                         KilnProgressFunc             progress,
                                         gpointer                     progress_data,
                                         GError                     **error);

G_END_DECLS
