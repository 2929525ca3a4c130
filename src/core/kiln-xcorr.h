/* kiln-xcorr.h — coarse tilt-series alignment: band-passed, tapered FFT cross-correlation of
 * adjacent tilts with cosine stretching, sub-pixel peak; and a centre-of-mass alternative
 *
 * Shift convention (the same everywhere in alignment): a shift (dx, dy) is the translation
 * applied to an image to align it, i.e. its content moves by +dx in x and +dy in y
 * (IMOD .xf dx, dy).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

/**
 * KilnXcorrParams:
 * @axis_angle_deg: tilt axis, degrees counter-clockwise from the image y axis (pipeline.md)
 * @stretch: also correlate with the higher tilt of each pair stretched by cos θ_low / cos θ_high
 *   perpendicular to the axis (factor limited to [1/2, 2]), and keep the stretched match where its
 *   correlation peak is higher (thin specimens; a rod along the axis is not foreshortened)
 * @sigma1: high-pass: the filter is 1 − exp(−k² / 2σ1²), k in cycles/pixel (0 = none)
 * @radius2: low-pass: 1 up to @radius2 cycles/pixel, then a Gaussian fall-off of width @sigma2
 *   (radius2 ≥ 0.5 = none)
 * @sigma2: see @radius2
 * @taper_fraction: fraction of the width/height over which each edge is tapered to the mean by a
 *   cosine bell (0 … 0.5)
 * @max_shift_px: search the peak only within this distance of the prior shift (0 = anywhere)
 */
typedef struct
{
  double   axis_angle_deg;
  gboolean stretch;
  double   sigma1;
  double   radius2;
  double   sigma2;
  double   taper_fraction;
  double   max_shift_px;
} KilnXcorrParams;

/* Defaults: axis 0°, stretch on, σ1 0.03, radius2 0.25, σ2 0.05, taper 0.1, no shift limit. */
void     kiln_xcorr_params_init   (KilnXcorrParams        *params);

/* The symmetric matrix that stretches by @factor perpendicular to an axis at @axis_angle_deg
 * (about the image centre): M = I + (factor − 1) n nᵀ, n the unit normal of the axis.
 * m = { m11, m12, m21, m22 }. */
void     kiln_xcorr_stretch_matrix (double                  axis_angle_deg,
                                    double                  factor,
                                    double                  m[4]);

/* The shift (*dx, *dy) to apply to @mov (content moves by +d) so that it matches @ref; both
 * w × h. When @stretch_factor ≠ 1, @mov is also correlated stretched by that factor perpendicular
 * to the axis about the image centre, and if that matches better the shift is returned in @mov's
 * own (unstretched) frame: stretch(mov shifted by d) ≈ ref. A second pass correlates @mov
 * resampled through the first estimate, so that the residual (where the tapering and peak-fit
 * biases vanish) is small. @prior_dx/@prior_dy centre the search when max_shift_px > 0.
 * @peak (nullable) gets the normalised correlation coefficient of the band-passed images at the
 * peak (≈ 1 for identical content); @stretch_used (nullable) the factor kept (@stretch_factor or 1).
 * Thread-safe. FALSE only on allocation failure or bad sizes. */
gboolean kiln_xcorr_pair          (const float            *ref,
                                   const float            *mov,
                                   guint                   w,
                                   guint                   h,
                                   const KilnXcorrParams  *params,
                                   double                  stretch_factor,
                                   double                  prior_dx,
                                   double                  prior_dy,
                                   double                 *dx,
                                   double                 *dy,
                                   double                 *peak,
                                   double                 *stretch_used,
                                   GError                **error);

/* The cosine-stretch factor for aligning a tilt at @mov_deg onto one at @ref_deg:
 * cos ref / cos mov, limited to [1/2, 2]. */
double   kiln_xcorr_stretch_factor (double                 ref_deg,
                                    double                 mov_deg);

/* Whole series: correlate each tilt with its neighbour towards the tilt nearest 0° (in parallel),
 * then accumulate outward from that tilt (whose shift is 0). @shifts gets 2 × n_tilts values
 * (dx, dy per tilt); @peaks (nullable) n_tilts correlation coefficients (1 for the reference).
 * @stretch_used (nullable) n_tilts stretch factors kept (1 where unstretched matched better).
 * @prior (nullable, 2 × n_tilts): previous shifts used to centre the search (max_shift_px > 0).
 * Needs angles for stretching (without angles, no stretching). */
gboolean kiln_xcorr_series        (const KilnImageStack   *stack,
                                   const KilnXcorrParams  *params,
                                   const double           *prior,
                                   double                 *shifts,
                                   double                 *peaks,
                                   double                 *stretch_used,
                                   GCancellable           *cancellable,
                                   KilnProgressFunc        progress,
                                   gpointer                progress_data,
                                   GError                **error);

/* Centre-of-mass mode: each tilt is shifted so that its centre of mass (after subtracting the
 * tilt's median as background, negative values clipped) coincides with that of the tilt nearest
 * 0°. @shifts gets 2 × n_tilts values. */
gboolean kiln_com_series          (const KilnImageStack   *stack,
                                   double                 *shifts,
                                   GCancellable           *cancellable,
                                   KilnProgressFunc        progress,
                                   gpointer                progress_data,
                                   GError                **error);

/* The centre of mass of @img (w × h) above @background (values below count 0), in pixels. */
void     kiln_centre_of_mass      (const float            *img,
                                   guint                   w,
                                   guint                   h,
                                   double                  background,
                                   double                 *cx,
                                   double                 *cy);

G_END_DECLS
