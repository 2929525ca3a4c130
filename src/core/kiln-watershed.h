/* kiln-watershed.h — splitting touching particles at their necks
 *
 * Euclidean distance transform of the binary mask (kiln-edt.h), then a marker-based watershed
 * of its negative whose markers are the h-maxima of the distance map: flooding from the top
 * (voxels in order of decreasing distance, union-find over basins), a basin whose maximum rises
 * less than @h voxels above the level where it meets a higher basin is merged into it (its
 * maximum is not an h-maximum); basins that rise ≥ h stay separate, so every core particle keeps
 * its own label and two particles touch at the saddle of the distance map: their neck.  A voxel
 * joins the basin of its highest already flooded neighbour (steepest ascent).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

#define KILN_WATERSHED_DEFAULT_H 1.5

/* Labels 1 … n (scan order of each label's first voxel) of the split particles of the non-zero
 * voxels of @mask.  @h (voxels, > 0): minimum dynamic of a marker.  @connectivity 6 or 26
 * (components, flooding).  The connected components are split one by one, each on its bounding
 * box plus one voxel, where the distance map is the exact distance to the nearest voxel outside
 * the component; components run in parallel.  *@n_labels (nullable) gets n. */
KilnLabelVolume *kiln_watershed_split (const guint8      *mask,
                                       guint              nx,
                                       guint              ny,
                                       guint              nz,
                                       double             h,
                                       guint              connectivity,
                                       guint32           *n_labels,
                                       GCancellable      *cancellable,
                                       KilnProgressFunc   progress,
                                       gpointer           progress_data,
                                       GError           **error);

G_END_DECLS
