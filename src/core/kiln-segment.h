/* kiln-segment.h — binarisation (Otsu or manual threshold), erosion/dilation, labelling and
 * splitting of touching particles: the volume → particle labels step of the pipeline
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-label.h"
#include "kiln-progress.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

#define KILN_OTSU_BINS 1024

typedef struct
{
  gboolean otsu;           /* TRUE: Otsu's threshold on the 3D histogram; FALSE: @threshold */
  double   threshold;      /* voxels > threshold are particle */
  guint    erode;          /* ball radius, voxels (applied first) */
  guint    dilate;         /* ball radius, voxels (applied second) */
  guint    connectivity;   /* 6 or 26 (labelling, watershed) */
  guint64  min_voxels;     /* labels smaller than this are removed */
  gboolean split;          /* split touching particles at their necks (watershed) */
  double   split_h;        /* h-maxima height, voxels */
} KilnSegmentParams;

/* otsu, erode 0, dilate 0, 26-connectivity, min_voxels 27, split with h = 2 voxels */
void              kiln_segment_params_init      (KilnSegmentParams       *params);

/* Otsu's threshold of a histogram of @n_bins bins covering [lo, hi): the upper edge of the last
 * bin of the lower class, maximising the between-class variance (first maximum). */
double            kiln_otsu_threshold_histogram (const guint64           *hist,
                                                 guint                    n_bins,
                                                 double                   lo,
                                                 double                   hi);
/* Otsu on the histogram (KILN_OTSU_BINS bins over [min, max]) of every finite voxel. */
gboolean          kiln_segment_otsu             (const KilnVolume        *volume,
                                                 double                  *threshold,
                                                 GError                 **error);
/* A 0/1 mask (kiln_alloc'd, free with kiln_free): voxel > threshold. */
guint8           *kiln_segment_binarise         (const KilnVolume        *volume,
                                                 double                   threshold,
                                                 GError                 **error);
/* The threshold at "Otsu ± 10 %" used for error bars: min + (t − min)·(1 + fraction). */
double            kiln_segment_scale_threshold  (const KilnVolume        *volume,
                                                 double                   threshold,
                                                 double                   fraction);

/* The whole step: threshold → erode → dilate → (watershed split | connected components) →
 * small objects removed; labels 1 … n in scan order, voxel size copied. *@threshold_used and
 * *@n_labels are nullable. */
KilnLabelVolume  *kiln_segment                  (const KilnVolume        *volume,
                                                 const KilnSegmentParams *params,
                                                 double                  *threshold_used,
                                                 guint32                 *n_labels,
                                                 GCancellable            *cancellable,
                                                 KilnProgressFunc         progress,
                                                 gpointer                 progress_data,
                                                 GError                 **error);

G_END_DECLS
