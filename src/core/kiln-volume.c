/* kiln-volume.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-volume.h"

G_DEFINE_BOXED_TYPE (KilnVolume, kiln_volume, kiln_volume_ref, kiln_volume_unref)
G_DEFINE_BOXED_TYPE (KilnLabelVolume, kiln_label_volume, kiln_label_volume_ref,
                     kiln_label_volume_unref)

static gboolean
check_dims (guint        nx,
            guint        ny,
            guint        nz,
            const char  *kind,
            gsize       *n,
            GError     **error)
{
  if (nx == 0 || ny == 0 || nz == 0 ||
      nx > KILN_MAX_EXTENT || ny > KILN_MAX_EXTENT || nz > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "Invalid %s dimensions %u × %u × %u (each must be 1 … %u)",
                   kind, nx, ny, nz, KILN_MAX_EXTENT);
      return FALSE;
    }
  if (!kiln_size_mul (n, nx, ny, nz, 1))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "A %s of %u × %u × %u voxels is too large", kind, nx, ny, nz);
      return FALSE;
    }
  return TRUE;
}

KilnVolume *
kiln_volume_new (guint    nx,
                 guint    ny,
                 guint    nz,
                 GError **error)
{
  KilnVolume *self;
  gsize n;
  g_autofree char *what = NULL;

  if (!check_dims (nx, ny, nz, "volume", &n, error))
    return NULL;
  what = g_strdup_printf ("a volume of %u × %u × %u float32", nx, ny, nz);
  self = g_new0 (KilnVolume, 1);
  self->data = kiln_alloc (n, sizeof (float), TRUE, what, error);
  if (self->data == NULL)
    {
      g_free (self);
      return NULL;
    }
  g_atomic_ref_count_init (&self->ref_count);
  self->nx = nx;
  self->ny = ny;
  self->nz = nz;
  return self;
}

KilnVolume *
kiln_volume_ref (KilnVolume *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
kiln_volume_unref (KilnVolume *self)
{
  g_return_if_fail (self != NULL);
  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      kiln_free (self->data);
      g_free (self);
    }
}

gsize
kiln_volume_n_voxels (const KilnVolume *self)
{
  return (gsize) self->nx * self->ny * self->nz;
}

KilnVolume *
kiln_volume_copy (const KilnVolume  *self,
                  GError           **error)
{
  KilnVolume *copy = kiln_volume_new (self->nx, self->ny, self->nz, error);

  if (copy == NULL)
    return NULL;
  memcpy (copy->data, self->data, sizeof (float) * kiln_volume_n_voxels (self));
  copy->voxel_size_nm = self->voxel_size_nm;
  return copy;
}

void
kiln_volume_stats (const KilnVolume *self,
                   KilnStats        *stats)
{
  kiln_stats_compute (self->data, kiln_volume_n_voxels (self), stats);
}

KilnLabelVolume *
kiln_label_volume_new (guint    nx,
                       guint    ny,
                       guint    nz,
                       GError **error)
{
  KilnLabelVolume *self;
  gsize n;
  g_autofree char *what = NULL;

  if (!check_dims (nx, ny, nz, "label volume", &n, error))
    return NULL;
  what = g_strdup_printf ("a label volume of %u × %u × %u", nx, ny, nz);
  self = g_new0 (KilnLabelVolume, 1);
  self->data = kiln_alloc (n, sizeof (guint32), TRUE, what, error);
  if (self->data == NULL)
    {
      g_free (self);
      return NULL;
    }
  g_atomic_ref_count_init (&self->ref_count);
  self->nx = nx;
  self->ny = ny;
  self->nz = nz;
  return self;
}

KilnLabelVolume *
kiln_label_volume_ref (KilnLabelVolume *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
kiln_label_volume_unref (KilnLabelVolume *self)
{
  g_return_if_fail (self != NULL);
  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      kiln_free (self->data);
      g_free (self);
    }
}

gsize
kiln_label_volume_n_voxels (const KilnLabelVolume *self)
{
  return (gsize) self->nx * self->ny * self->nz;
}

KilnLabelVolume *
kiln_label_volume_copy (const KilnLabelVolume  *self,
                        GError                **error)
{
  KilnLabelVolume *copy = kiln_label_volume_new (self->nx, self->ny, self->nz, error);

  if (copy == NULL)
    return NULL;
  memcpy (copy->data, self->data, sizeof (guint32) * kiln_label_volume_n_voxels (self));
  copy->voxel_size_nm = self->voxel_size_nm;
  return copy;
}

guint32
kiln_label_volume_max_label (const KilnLabelVolume *self)
{
  guint32 mx = 0;
  gsize n = kiln_label_volume_n_voxels (self);

  for (gsize i = 0; i < n; i++)
    if (self->data[i] > mx)
      mx = self->data[i];
  return mx;
}
