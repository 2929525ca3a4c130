/* kiln-isosurface.h — triangle mesh of a volume's isosurface (surface nets)
 *
 * The surface {value = threshold} of a KilnVolume is extracted as an indexed triangle mesh by
 * surface nets: one vertex per cell (the cube between 2×2×2 voxel centres) whose corners are
 * not all on one side of the threshold, placed at the mean of the crossings on the cell's edges
 * (linear interpolation); for every voxel edge whose ends lie on either side, the four cells
 * around it form a quad, split into two triangles. The volume is treated as surrounded by
 * empty space, so every surface is closed: where material touches the box, the surface runs
 * along the box face. "Inside" is value ≥ threshold.
 *
 * Positions are in voxel units of the box: voxel (i, j, k) has its centre at (i + ½, j + ½,
 * k + ½) and the box is [0, nx] × [0, ny] × [0, nz] (multiply by the voxel size for nm).
 * Normals are the unit outward normal, −∇value by central differences (values clamped to the
 * volume's edge, as a GL texture samples them), trilinearly interpolated at the vertex; caps
 * (vertices on a box face) get the face's normal. Triangles are counter-clockwise seen from outside. Each vertex
 * carries the label of the nearest labelled voxel within two voxels (0 = none), so that a view
 * can colour the surface by particle and hide the unlabelled substrate.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef struct
{
  gsize    n_vertices;
  float   *positions;    /* 3 per vertex, voxel units of the box (kiln_alloc) */
  float   *normals;      /* 3 per vertex, unit, outward (kiln_alloc) */
  guint32 *labels;       /* 1 per vertex, 0 = none; NULL when extracted without labels */
  gsize    n_triangles;
  guint32 *indices;      /* 3 per triangle, counter-clockwise seen from outside (kiln_alloc) */
} KilnMesh;

/* Extract the isosurface of @volume at @threshold (labels: nullable, same size as @volume).
 * An empty surface gives a mesh with no vertices. Cancellable (G_IO_ERROR_CANCELLED). */
KilnMesh *kiln_isosurface_extract (const KilnVolume       *volume,
                                   const KilnLabelVolume  *labels,
                                   float                   threshold,
                                   GCancellable           *cancellable,
                                   KilnProgressFunc        progress,
                                   gpointer                progress_data,
                                   GError                **error);

/* Total area of the mesh, with voxels of @voxel_size (same unit squared out). */
double    kiln_mesh_area          (const KilnMesh         *mesh,
                                   double                  voxel_size);

void      kiln_mesh_free          (KilnMesh               *mesh);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnMesh, kiln_mesh_free)

G_END_DECLS
