/* kiln-morphology.h — binary erosion and dilation with a spherical structuring element
 *
 * The ball of radius r is the set of integer offsets v with |v|² ≤ r².  Radii ≤ 4 use a
 * bit-parallel decomposition of the ball into x segments (64 voxels per machine word); larger
 * radii are computed exactly from one Euclidean distance transform (kiln-edt.h), O(N) whatever r:
 *   erosion:  x stays set   ⇔ squared distance to the nearest unset voxel  > r²
 *   dilation: x becomes set ⇔ squared distance to the nearest set voxel   ≤ r²
 * Outside the volume counts as neither (no unset sites there: objects touching the border are
 * not eroded from it).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-volume.h"

G_BEGIN_DECLS

/* In place on a 0/1 mask of nx·ny·nz bytes.  Cancelled → @mask untouched. */
gboolean kiln_morphology_erode         (guint8           *mask,
                                        guint             nx,
                                        guint             ny,
                                        guint             nz,
                                        guint             radius,
                                        GCancellable     *cancellable,
                                        GError          **error);
gboolean kiln_morphology_dilate        (guint8           *mask,
                                        guint             nx,
                                        guint             ny,
                                        guint             nz,
                                        guint             radius,
                                        GCancellable     *cancellable,
                                        GError          **error);

/* Label volumes: erode the union of all labels (interfaces between labels are kept), or dilate
 * it, each new voxel taking the label of the labelled region that reaches it first (26-connected
 * propagation inside the dilated union). In place; cancelled → untouched. */
gboolean kiln_morphology_erode_labels  (KilnLabelVolume  *labels,
                                        guint             radius,
                                        GCancellable     *cancellable,
                                        GError          **error);
gboolean kiln_morphology_dilate_labels (KilnLabelVolume  *labels,
                                        guint             radius,
                                        GCancellable     *cancellable,
                                        GError          **error);

G_END_DECLS
