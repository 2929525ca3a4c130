/* kiln-label.h — 3D connected components, small-object removal, per-label statistics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-volume.h"

G_BEGIN_DECLS

typedef struct
{
  guint32 label;
  guint64 voxels;            /* 0: label absent */
  double  centroid[3];       /* centre of mass, voxel coordinates (x, y, z) */
  guint   bbox_min[3];       /* inclusive, voxels */
  guint   bbox_max[3];       /* inclusive, voxels */
} KilnParticle;

/* Label the 6- or 26-connected components of the non-zero voxels of @mask, 1 … n in scan order
 * (z, then y, then x of each component's first voxel). *@n_labels (nullable) gets n. */
KilnLabelVolume *kiln_label_components   (const guint8           *mask,
                                          guint                   nx,
                                          guint                   ny,
                                          guint                   nz,
                                          guint                   connectivity,
                                          guint32                *n_labels,
                                          GCancellable           *cancellable,
                                          GError                **error);

/* Remove labels with fewer than @min_voxels voxels and renumber the rest 1 … n keeping their
 * order. Returns n. */
guint32          kiln_label_remove_small (KilnLabelVolume        *labels,
                                          guint64                 min_voxels);

/* Renumber labels 1 … n by increasing old label (holes removed). Returns n. */
guint32          kiln_label_compact      (KilnLabelVolume        *labels);

/* Statistics of every label 1 … max: element i is label i + 1 (voxels = 0 when absent). */
GArray          *kiln_label_particles    (const KilnLabelVolume  *labels);

/* Number of voxel faces (6-neighbour pairs) shared by labels @a and @b: 0 when not touching. */
guint64          kiln_label_contact      (const KilnLabelVolume  *labels,
                                          guint32                 a,
                                          guint32                 b);

G_END_DECLS
