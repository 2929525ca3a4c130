/* kiln-morphology.c — exact ball erosion/dilation through the distance transform
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "kiln-alloc.h"
#include "kiln-edt.h"
#include "kiln-error.h"
#include "kiln-morphology.h"

static gboolean
morph (guint8        *mask,
       guint          nx,
       guint          ny,
       guint          nz,
       guint          radius,
       gboolean       erode,
       GCancellable  *cancellable,
       GError       **error)
{
  gsize n;
  float *dist;
  float r2 = (float) radius * (float) radius;

  if (radius == 0)
    return !g_cancellable_set_error_if_cancelled (cancellable, error);
  if (!kiln_size_mul (&n, nx, ny, nz, 1))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY, "Volume too large");
      return FALSE;
    }
  dist = kiln_alloc (n, sizeof (float), FALSE, "distance map for erosion/dilation", error);
  if (dist == NULL)
    return FALSE;
  /* erosion: distance to unset voxels; dilation: distance to set voxels */
  if (!kiln_edt_squared (mask, nx, ny, nz, !erode, dist, cancellable, error))
    {
      kiln_free (dist);
      return FALSE;
    }
#pragma omp parallel for schedule(static)
  for (gssize i = 0; i < (gssize) n; i++)
    mask[i] = erode ? (dist[i] > r2) : (dist[i] <= r2);
  kiln_free (dist);
  return TRUE;
}

gboolean
kiln_morphology_erode (guint8        *mask,
                       guint          nx,
                       guint          ny,
                       guint          nz,
                       guint          radius,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return morph (mask, nx, ny, nz, radius, TRUE, cancellable, error);
}

gboolean
kiln_morphology_dilate (guint8        *mask,
                        guint          nx,
                        guint          ny,
                        guint          nz,
                        guint          radius,
                        GCancellable  *cancellable,
                        GError       **error)
{
  return morph (mask, nx, ny, nz, radius, FALSE, cancellable, error);
}

static guint8 *
union_mask (const KilnLabelVolume *labels,
            GError               **error)
{
  gsize n = kiln_label_volume_n_voxels (labels);
  guint8 *mask = kiln_alloc (n, 1, FALSE, "particle mask", error);

  if (mask == NULL)
    return NULL;
#pragma omp parallel for schedule(static)
  for (gssize i = 0; i < (gssize) n; i++)
    mask[i] = labels->data[i] != 0;
  return mask;
}

gboolean
kiln_morphology_erode_labels (KilnLabelVolume  *labels,
                              guint             radius,
                              GCancellable     *cancellable,
                              GError          **error)
{
  gsize n = kiln_label_volume_n_voxels (labels);
  guint8 *mask = union_mask (labels, error);

  if (mask == NULL)
    return FALSE;
  if (!kiln_morphology_erode (mask, labels->nx, labels->ny, labels->nz, radius, cancellable,
                              error))
    {
      kiln_free (mask);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    if (!mask[i])
      labels->data[i] = 0;
  kiln_free (mask);
  return TRUE;
}

gboolean
kiln_morphology_dilate_labels (KilnLabelVolume  *labels,
                               guint             radius,
                               GCancellable     *cancellable,
                               GError          **error)
{
  guint nx = labels->nx, ny = labels->ny, nz = labels->nz;
  gsize n = kiln_label_volume_n_voxels (labels);
  guint8 *mask = union_mask (labels, error);
  guint32 *out;
  GArray *front, *next;

  if (mask == NULL)
    return FALSE;
  if (!kiln_morphology_dilate (mask, nx, ny, nz, radius, cancellable, error))
    {
      kiln_free (mask);
      return FALSE;
    }
  out = kiln_alloc (n, sizeof (guint32), FALSE, "dilated labels", error);
  if (out == NULL)
    {
      kiln_free (mask);
      return FALSE;
    }
  memcpy (out, labels->data, n * sizeof (guint32));
  /* breadth-first propagation from the labelled voxels into the newly set ones */
  front = g_array_new (FALSE, FALSE, sizeof (gsize));
  next = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize i = 0; i < n; i++)
    if (out[i] != 0)
      {
        guint x = i % nx, y = (i / nx) % ny, z = i / ((gsize) nx * ny);
        gboolean border = FALSE;

        for (int dz = -1; dz <= 1 && !border; dz++)
          for (int dy = -1; dy <= 1 && !border; dy++)
            for (int dx = -1; dx <= 1 && !border; dx++)
              {
                gint64 xx = (gint64) x + dx, yy = (gint64) y + dy, zz = (gint64) z + dz;
                gsize j;

                if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz)
                  continue;
                j = ((gsize) zz * ny + yy) * nx + xx;
                if (mask[j] && out[j] == 0)
                  border = TRUE;
              }
        if (border)
          g_array_append_val (front, i);
      }
  while (front->len > 0)
    {
      GArray *tmp;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          g_array_free (front, TRUE);
          g_array_free (next, TRUE);
          kiln_free (out);
          kiln_free (mask);
          return FALSE;
        }
      g_array_set_size (next, 0);
      for (guint k = 0; k < front->len; k++)
        {
          gsize i = g_array_index (front, gsize, k);
          guint x = i % nx, y = (i / nx) % ny, z = i / ((gsize) nx * ny);

          for (int dz = -1; dz <= 1; dz++)
            for (int dy = -1; dy <= 1; dy++)
              for (int dx = -1; dx <= 1; dx++)
                {
                  gint64 xx = (gint64) x + dx, yy = (gint64) y + dy, zz = (gint64) z + dz;
                  gsize j;

                  if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz)
                    continue;
                  j = ((gsize) zz * ny + yy) * nx + xx;
                  if (mask[j] && out[j] == 0)
                    {
                      out[j] = out[i];
                      g_array_append_val (next, j);
                    }
                }
        }
      tmp = front;
      front = next;
      next = tmp;
    }
  g_array_free (front, TRUE);
  g_array_free (next, TRUE);
  memcpy (labels->data, out, n * sizeof (guint32));
  kiln_free (out);
  kiln_free (mask);
  return TRUE;
}
