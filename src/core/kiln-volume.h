/* kiln-volume.h — reconstructed volumes (float32) and label volumes (uint32)
 *
 * Axes (pipeline.md): x across the tilt axis, y along it, z along the beam at 0° tilt.
 * data[(z*ny + y)*nx + x]; MRC stores nx = X, ny = Y, nz = Z.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "kiln-stats.h"

G_BEGIN_DECLS

typedef struct
{
  /*< private >*/
  gatomicrefcount ref_count;
  /*< public >*/
  guint   nx;
  guint   ny;
  guint   nz;
  float  *data;
  double  voxel_size_nm;   /* 0 when unknown */
} KilnVolume;

typedef struct
{
  /*< private >*/
  gatomicrefcount ref_count;
  /*< public >*/
  guint    nx;
  guint    ny;
  guint    nz;
  guint32 *data;           /* 0 = background, particles from 1 */
  double   voxel_size_nm;
} KilnLabelVolume;

#define KILN_TYPE_VOLUME       (kiln_volume_get_type ())
#define KILN_TYPE_LABEL_VOLUME (kiln_label_volume_get_type ())

#define KILN_VOXEL(v, x, y, z) ((v)->data[(((gsize) (z) * (v)->ny + (y)) * (v)->nx) + (x)])

GType            kiln_volume_get_type          (void) G_GNUC_CONST;
KilnVolume      *kiln_volume_new               (guint              nx,
                                                guint              ny,
                                                guint              nz,
                                                GError           **error);
KilnVolume      *kiln_volume_ref               (KilnVolume        *self);
void             kiln_volume_unref             (KilnVolume        *self);
KilnVolume      *kiln_volume_copy              (const KilnVolume  *self,
                                                GError           **error);
gsize            kiln_volume_n_voxels          (const KilnVolume  *self);
void             kiln_volume_stats             (const KilnVolume  *self,
                                                KilnStats         *stats);

GType            kiln_label_volume_get_type    (void) G_GNUC_CONST;
KilnLabelVolume *kiln_label_volume_new         (guint                   nx,
                                                guint                   ny,
                                                guint                   nz,
                                                GError                **error);
KilnLabelVolume *kiln_label_volume_ref         (KilnLabelVolume        *self);
void             kiln_label_volume_unref       (KilnLabelVolume        *self);
KilnLabelVolume *kiln_label_volume_copy        (const KilnLabelVolume  *self,
                                                GError                **error);
gsize            kiln_label_volume_n_voxels    (const KilnLabelVolume  *self);
guint32          kiln_label_volume_max_label   (const KilnLabelVolume  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnVolume, kiln_volume_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnLabelVolume, kiln_label_volume_unref)

G_END_DECLS
