/* align-phantom.h — analytic test images for the alignment tests (header-only, test use)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <math.h>
#include <glib.h>

/* A smooth pattern: a sum of Gaussian blobs, evaluable anywhere (so shifted, stretched and
 * rotated copies are exact, with no resampling error). */
typedef struct
{
  guint  n;
  double x[64], y[64], s[64], a[64];
} BlobPattern;

static inline void
blob_pattern_init (BlobPattern *p,
                   guint        n,
                   double       w,
                   double       h,
                   guint32      seed)
{
  GRand *rng = g_rand_new_with_seed (seed);

  p->n = MIN (n, 64);
  for (guint i = 0; i < p->n; i++)
    {
      p->x[i] = g_rand_double_range (rng, 0.2 * w, 0.8 * w);
      p->y[i] = g_rand_double_range (rng, 0.2 * h, 0.8 * h);
      p->s[i] = g_rand_double_range (rng, 1.5, 4.0);
      p->a[i] = g_rand_double_range (rng, 0.3, 1.0);
    }
  g_rand_free (rng);
}

static inline double
blob_pattern_value (const BlobPattern *p,
                    double             x,
                    double             y)
{
  double v = 0.0;

  for (guint i = 0; i < p->n; i++)
    {
      double dx = x - p->x[i], dy = y - p->y[i];
      v += p->a[i] * exp (-(dx * dx + dy * dy) / (2 * p->s[i] * p->s[i]));
    }
  return v;
}

/* img(x) = P(A (x − c − t) + c): the pattern mapped by A⁻¹ about the centre c, then its content
 * moved by t. A = {a11, a12, a21, a22}. */
static inline void
blob_pattern_render (const BlobPattern *p,
                     float             *img,
                     guint              w,
                     guint              h,
                     const double       a[4],
                     double             tx,
                     double             ty)
{
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double ox = x - cx - tx, oy = y - cy - ty;
        img[(gsize) y * w + x] = (float) blob_pattern_value (p, a[0] * ox + a[1] * oy + cx,
                                                             a[2] * ox + a[3] * oy + cy);
      }
}

static inline double
gauss_noise (GRand *rng)
{
  double u1 = g_rand_double (rng), u2 = g_rand_double (rng);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}
