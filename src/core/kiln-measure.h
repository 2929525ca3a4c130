/* kiln-measure.h — neck radius, distances and shape of a particle pair
 *
 * Two sets of measures of labels A and B (lengths in nm; voxel size 0 is taken as 1 nm):
 *
 * The reference paper's 2D protocol (Ihara et al. 2023, Fig. 7):
 *   the section (z slice) where the A–B neck is widest is found; a box around the pair, centred
 *   on that section and holding both particles, is projected along z with every other label
 *   removed (particles necked to the pair are already cut at their necks by the watershed);
 *   the binary footprints F_A, F_B of the two particles (a column of the projection goes to
 *   the particle with more voxels in it, so the footprints do not overlap) give
 *     d_xy  distance of the centres of mass of F_A and F_B (constant density);
 *     d_z   |z̄_A − z̄_B| with z̄ = (z_min + z_max)/2 of each particle;
 *     d     √(d_xy² + d_z²);
 *     r_p   mean radius of the circles of equal area to F_A and F_B;
 *     r_n   W_n / 2, W_n = the narrowest width of F_A ∪ F_B across the d_xy axis between the
 *           two centres (pixels taken as unit squares); 0 when A and B do not touch in 3D;
 *     H/W   mean over A, B of H / W, H = the particle's z extent (z_max − z_min + 1 voxel), W
 *           = the width of its footprint across the d_xy axis (the same definitions as the
 *           simulator's truth tables, kiln_phantom_pair_truth).
 * True 3D:
 *   neck_radius_3d  √(S/π), S the smallest cross-section area of A ∪ B (voxels taken as
 *                   unit cubes) on planes perpendicular to the centre–centre axis, between
 *                   the centres (0 if not touching);
 *   distance_3d     distance of the centres of mass of A and B;
 *   radius_3d       mean equivalent-sphere radius (3V/4π)^⅓;
 *   aspect_3d       mean √(λ_max/λ_min) of the inertia (covariance) matrix of each label.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-label.h"
#include "kiln-progress.h"
#include "kiln-segment.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_MEASURE_R_N,
  KILN_MEASURE_D_XY,
  KILN_MEASURE_D_Z,
  KILN_MEASURE_D,
  KILN_MEASURE_R_P,
  KILN_MEASURE_H_OVER_W,
  KILN_MEASURE_NECK_RADIUS_3D,
  KILN_MEASURE_DISTANCE_3D,
  KILN_MEASURE_RADIUS_3D,
  KILN_MEASURE_ASPECT_3D,
  KILN_MEASURE_N_VALUES
} KilnMeasureValue;

typedef struct
{
  guint32  a, b;
  gboolean touching;           /* A and B share at least one voxel face */
  double   contact_area_nm2;   /* number of shared faces × voxel area */
  double   neck_section_z_nm;  /* z of the section with the widest neck (2D protocol) */
  /* indexed by KilnMeasureValue: nm, except H/W and aspect ratio (dimensionless) */
  double   value[KILN_MEASURE_N_VALUES];
  /* error bars (same units), NaN when not computed */
  double   error[KILN_MEASURE_N_VALUES];
} KilnPairMeasure;

/* Short names ("r_n") and unit suffixes ("nm" or ""), e.g. for CSV headers r_n_nm. */
const char *kiln_measure_value_name (KilnMeasureValue value);
const char *kiln_measure_value_unit (KilnMeasureValue value);

/* Measure A:B.  @particles (nullable): kiln_label_particles(@labels) if already computed (it
 * bounds the work to the pair's box).  Error when a label is absent or a == b. */
gboolean kiln_measure_pair             (const KilnLabelVolume    *labels,
                                        const GArray             *particles,
                                        guint32                   a,
                                        guint32                   b,
                                        KilnPairMeasure          *out,
                                        GError                  **error);

/* Every pair of labels that touch (share a voxel face), a < b, as a GArray of guint32 pairs
 * (a0, b0, a1, b1, …). */
GArray  *kiln_measure_touching_pairs   (const KilnLabelVolume    *labels);

/* Measure every touching pair: a GArray of KilnPairMeasure. */
GArray  *kiln_measure_all_pairs        (const KilnLabelVolume    *labels,
                                        GCancellable             *cancellable,
                                        GError                  **error);

/* Error bars from the labels alone: the pair is measured again after eroding and after
 * dilating the particle union by 1 voxel (morphology radius ± 1); error = the largest absolute
 * deviation from out->value.  @out must hold the nominal measure of @labels. */
gboolean kiln_measure_sensitivity_labels (const KilnLabelVolume  *labels,
                                          KilnPairMeasure        *out,
                                          GCancellable           *cancellable,
                                          GError                **error);

/* Error bars from the segmentation of @volume: @params (the nominal segmentation, giving
 * @labels) is repeated with the threshold at ±10 % (kiln_segment_scale_threshold) and with the
 * erosion and dilation radii ±1; the labels of each variant matching A and B (largest overlap)
 * are measured; error = the largest absolute deviation from out->value (variants where A or B
 * vanishes or A and B merge are skipped). @n_pairs measures are updated together. */
gboolean kiln_measure_sensitivity      (const KilnVolume         *volume,
                                        const KilnSegmentParams  *params,
                                        const KilnLabelVolume    *labels,
                                        KilnPairMeasure          *measures,
                                        guint                     n_pairs,
                                        GCancellable             *cancellable,
                                        KilnProgressFunc          progress,
                                        gpointer                  progress_data,
                                        GError                  **error);

G_END_DECLS
