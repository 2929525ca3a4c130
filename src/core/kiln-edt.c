/* kiln-edt.c — exact separable Euclidean distance transform
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-edt.h"
#include "kiln-error.h"

#define BLOCK 16

void
kiln_edt_1d (const float *f,
             float       *d,
             guint        n,
             int         *v,
             double      *zz)
{
  int k = -1;

  for (guint q = 0; q < n; q++)
    {
      double fq;

      if (f[q] >= KILN_EDT_INF)
        continue;
      fq = (double) f[q] + (double) q * q;
      if (k < 0)
        {
          k = 0;
          v[0] = (int) q;
          zz[0] = -HUGE_VAL;
          zz[1] = HUGE_VAL;
          continue;
        }
      for (;;)
        {
          int p = v[k];
          double s = (fq - ((double) f[p] + (double) p * p)) / (2.0 * ((double) q - p));

          if (s <= zz[k] && k > 0)
            {
              k--;
              continue;
            }
          if (s <= zz[k])
            {
              /* k == 0 and the new parabola is below everywhere: replace it */
              v[0] = (int) q;
              zz[0] = -HUGE_VAL;
              zz[1] = HUGE_VAL;
              break;
            }
          k++;
          v[k] = (int) q;
          zz[k] = s;
          zz[k + 1] = HUGE_VAL;
          break;
        }
    }

  if (k < 0)
    {
      for (guint q = 0; q < n; q++)
        d[q] = KILN_EDT_INF;
      return;
    }
  k = 0;
  for (guint q = 0; q < n; q++)
    {
      double dq;

      while (zz[k + 1] < (double) q)
        k++;
      dq = ((double) q - v[k]) * ((double) q - v[k]) + f[v[k]];
      d[q] = dq >= KILN_EDT_INF ? KILN_EDT_INF : (float) dq;
    }
}

/* First pass along x: exact 1-D distance by two scans. */
static void
pass_x (const guint8 *mask,
        guint         nx,
        gsize         n_rows,
        guint8        site,
        float        *out)
{
#pragma omp parallel for schedule(static)
  for (gssize r = 0; r < (gssize) n_rows; r++)
    {
      const guint8 *m = mask + (gsize) r * nx;
      float *o = out + (gsize) r * nx;
      gint64 last = -1;

      for (guint x = 0; x < nx; x++)
        {
          if ((m[x] != 0) == site)
            last = x;
          o[x] = last < 0 ? KILN_EDT_INF : (float) ((x - last) * (x - last));
        }
      last = -1;
      for (gint64 x = (gint64) nx - 1; x >= 0; x--)
        {
          if ((m[x] != 0) == site)
            last = x;
          if (last >= 0)
            {
              float d = (float) ((last - x) * (last - x));
              if (d < o[x])
                o[x] = d;
            }
        }
    }
}

/* A pass along an axis of length @n with element stride @stride.  The lines start at
 * out + outer·outer_stride + x for x < nx, outer < n_outer; they are handled in blocks of BLOCK
 * adjacent (stride-1) lines so that gathers and scatters read whole cache lines. */
static void
pass_strided (float *out,
              guint  nx,
              guint  n_outer,
              gsize  outer_stride,
              guint  n,
              gsize  stride)
{
  guint n_blocks = (nx + BLOCK - 1) / BLOCK;

#pragma omp parallel
  {
    float *buf = g_new (float, (gsize) n * BLOCK);
    float *fc = g_new (float, n);
    float *dc = g_new (float, n);
    int *v = g_new (int, n);
    double *zz = g_new (double, (gsize) n + 1);

#pragma omp for schedule(dynamic, 4)
    for (gssize job = 0; job < (gssize) n_outer * n_blocks; job++)
      {
        gsize outer = (gsize) job / n_blocks;
        guint x0 = (guint) ((gsize) job % n_blocks) * BLOCK;
        guint bw = MIN (BLOCK, nx - x0);
        float *base = out + outer * outer_stride + x0;

        for (guint i = 0; i < n; i++)
          memcpy (buf + (gsize) i * BLOCK, base + i * stride, bw * sizeof (float));
        for (guint b = 0; b < bw; b++)
          {
            for (guint i = 0; i < n; i++)
              fc[i] = buf[(gsize) i * BLOCK + b];
            kiln_edt_1d (fc, dc, n, v, zz);
            for (guint i = 0; i < n; i++)
              buf[(gsize) i * BLOCK + b] = dc[i];
          }
        for (guint i = 0; i < n; i++)
          memcpy (base + i * stride, buf + (gsize) i * BLOCK, bw * sizeof (float));
      }
    g_free (buf);
    g_free (fc);
    g_free (dc);
    g_free (v);
    g_free (zz);
  }
}

gboolean
kiln_edt_squared (const guint8  *mask,
                  guint          nx,
                  guint          ny,
                  guint          nz,
                  gboolean       to_set,
                  float         *out,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_return_val_if_fail (mask != NULL && out != NULL, FALSE);

  if (nx == 0 || ny == 0 || nz == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Distance transform of an empty volume (%u × %u × %u)", nx, ny, nz);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  pass_x (mask, nx, (gsize) ny * nz, to_set ? 1 : 0, out);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (ny > 1)
    pass_strided (out, nx, nz, (gsize) nx * ny, ny, nx);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (nz > 1)
    pass_strided (out, nx, ny, nx, nz, (gsize) nx * ny);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  return TRUE;
}
