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

/* Radii up to this use the bit-parallel path, larger ones the distance transform. */
#define BITS_MAX_RADIUS 4

static inline guint64
word_at (const guint64 *row,
         gssize         j,
         guint          W,
         guint64        fill)
{
  return (j < 0 || j >= (gssize) W) ? fill : row[j];
}

/* Bit-parallel ball erosion/dilation: rows packed 64 voxels a word; E_w(row) = the row eroded
 * (dilated) along x by the segment [−w, w]; the ball is the union over (dy, dz) with
 * dy² + dz² ≤ r² of segments of half-length ⌊√(r² − dy² − dz²)⌋, so the result row is the
 * AND (OR) of E_w of the rows at (y + dy, z + dz).  Outside the volume: no constraint (erosion
 * fills with set bits, dilation with unset ones), as the distance-transform path. */
static gboolean
morph_bits (guint8        *mask,
            guint          nx,
            guint          ny,
            guint          nz,
            guint          r,
            gboolean       erode,
            GCancellable  *cancellable,
            GError       **error)
{
  guint W = (nx + 63) / 64;
  gsize rows = (gsize) ny * nz, row_words = W;
  guint64 fill = erode ? ~G_GUINT64_CONSTANT (0) : 0;
  guint64 *E;
  int offs[4 * (BITS_MAX_RADIUS + 1) * (BITS_MAX_RADIUS + 1)][3];
  int n_offs = 0, ri = (int) r;

  E = kiln_alloc ((gsize) (r + 1) * rows * row_words, sizeof (guint64), FALSE,
                  "bit planes for erosion/dilation", error);
  if (E == NULL)
    return FALSE;
#define EW(w, row) (E + ((gsize) (w) * rows + (row)) * row_words)
#pragma omp parallel for schedule(static)
  for (gssize row = 0; row < (gssize) rows; row++)
    {
      const guint8 *m = mask + (gsize) row * nx;
      guint64 *e0 = EW (0, row);

      for (guint j = 0; j < W; j++)
        {
          guint64 word = 0;
          for (guint b = 0; b < 64; b++)
            {
              guint x = j * 64 + b;
              guint64 bit = x < nx ? (m[x] != 0) : (fill & 1);
              word |= bit << b;
            }
          e0[j] = word;
        }
      for (guint w = 1; w <= r; w++)
        {
          const guint64 *prev = EW (w - 1, row);
          guint64 *cur = EW (w, row);
          for (guint j = 0; j < W; j++)
            {
              /* row(x + w) and row(x − w) */
              guint64 plus = (e0[j] >> w) | (word_at (e0, j + 1, W, fill) << (64 - w));
              guint64 minus = (e0[j] << w) | (word_at (e0, (gssize) j - 1, W, fill) >> (64 - w));
              cur[j] = erode ? (prev[j] & plus & minus) : (prev[j] | plus | minus);
            }
        }
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      kiln_free (E);
      return FALSE;
    }
  for (int dz = -ri; dz <= ri; dz++)
    for (int dy = -ri; dy <= ri; dy++)
      if (dy * dy + dz * dz <= ri * ri)
        {
          int w = 0;
          while ((w + 1) * (w + 1) + dy * dy + dz * dz <= ri * ri)
            w++;
          offs[n_offs][0] = dy;
          offs[n_offs][1] = dz;
          offs[n_offs][2] = w;
          n_offs++;
        }
#pragma omp parallel
  {
    guint64 *acc = g_new (guint64, W);

#pragma omp for schedule(static)
    for (gssize row = 0; row < (gssize) rows; row++)
      {
        int y = (int) (row % ny), z = (int) (row / ny);
        guint8 *m = mask + (gsize) row * nx;

        for (guint j = 0; j < W; j++)
          acc[j] = fill;
        for (int o = 0; o < n_offs; o++)
          {
            int yy = y + offs[o][0], zz = z + offs[o][1];
            const guint64 *src;
            if (yy < 0 || zz < 0 || yy >= (int) ny || zz >= (int) nz)
              continue;
            src = EW (offs[o][2], (gsize) zz * ny + yy);
            if (erode)
              for (guint j = 0; j < W; j++)
                acc[j] &= src[j];
            else
              for (guint j = 0; j < W; j++)
                acc[j] |= src[j];
          }
        for (guint x = 0; x < nx; x++)
          m[x] = (acc[x / 64] >> (x % 64)) & 1;
      }
    g_free (acc);
  }
#undef EW
  kiln_free (E);
  return TRUE;
}

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
  if (radius <= BITS_MAX_RADIUS)
    return morph_bits (mask, nx, ny, nz, radius, erode, cancellable, error);
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
