/* kiln-transform.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-transform.h"

static inline double
cubic_w (double t)
{
  /* Keys cubic convolution, a = −0.5 */
  t = fabs (t);
  if (t < 1.0)
    return (1.5 * t - 2.5) * t * t + 1.0;
  if (t < 2.0)
    return ((-0.5 * t + 2.5) * t - 4.0) * t + 2.0;
  return 0.0;
}

static inline float
px (const float *src, guint w, guint h, long x, long y)
{
  /* clamp to edge for the interpolation support */
  x = CLAMP (x, 0, (long) w - 1);
  y = CLAMP (y, 0, (long) h - 1);
  return src[(gsize) y * w + x];
}

float
kiln_sample (const float *src,
             guint        w,
             guint        h,
             double       x,
             double       y,
             KilnInterp   interp,
             float        fill,
             gboolean    *inside)
{
  long x0, y0;
  double fx, fy;

  if (!(x > -0.5 && y > -0.5 && x < w - 0.5 && y < h - 0.5))
    {
      if (inside)
        *inside = FALSE;
      return fill;
    }
  if (inside)
    *inside = TRUE;

  switch (interp)
    {
    case KILN_INTERP_NEAREST:
      return px (src, w, h, lround (x), lround (y));

    case KILN_INTERP_CUBIC:
      {
        double acc = 0.0;
        x0 = (long) floor (x);
        y0 = (long) floor (y);
        fx = x - x0;
        fy = y - y0;
        for (int j = -1; j <= 2; j++)
          {
            double wy = cubic_w (j - fy);
            double row = 0.0;
            for (int i = -1; i <= 2; i++)
              row += cubic_w (i - fx) * px (src, w, h, x0 + i, y0 + j);
            acc += wy * row;
          }
        return (float) acc;
      }

    case KILN_INTERP_LINEAR:
    default:
      x0 = (long) floor (x);
      y0 = (long) floor (y);
      fx = x - x0;
      fy = y - y0;
      return (float) ((1 - fy) * ((1 - fx) * px (src, w, h, x0, y0) + fx * px (src, w, h, x0 + 1, y0)) +
                      fy * ((1 - fx) * px (src, w, h, x0, y0 + 1) + fx * px (src, w, h, x0 + 1, y0 + 1)));
    }
}

gboolean
kiln_xf_invert (const KilnXf *xf,
                KilnXf       *inv)
{
  double det = xf->a11 * xf->a22 - xf->a12 * xf->a21;
  KilnXf r;

  if (fabs (det) < 1e-12)
    return FALSE;
  r.a11 = xf->a22 / det;
  r.a12 = -xf->a12 / det;
  r.a21 = -xf->a21 / det;
  r.a22 = xf->a11 / det;
  r.dx = -(r.a11 * xf->dx + r.a12 * xf->dy);
  r.dy = -(r.a21 * xf->dx + r.a22 * xf->dy);
  *inv = r;
  return TRUE;
}

void
kiln_xf_compose (const KilnXf *a,
                 const KilnXf *b,
                 KilnXf       *c)
{
  KilnXf r;

  r.a11 = a->a11 * b->a11 + a->a12 * b->a21;
  r.a12 = a->a11 * b->a12 + a->a12 * b->a22;
  r.a21 = a->a21 * b->a11 + a->a22 * b->a21;
  r.a22 = a->a21 * b->a12 + a->a22 * b->a22;
  r.dx = a->a11 * b->dx + a->a12 * b->dy + a->dx;
  r.dy = a->a21 * b->dx + a->a22 * b->dy + a->dy;
  *c = r;
}

void
kiln_xf_rotation (KilnXf *xf,
                  double  angle_deg,
                  double  dx,
                  double  dy)
{
  double a = angle_deg * G_PI / 180.0;

  xf->a11 = cos (a);
  xf->a12 = -sin (a);
  xf->a21 = sin (a);
  xf->a22 = cos (a);
  xf->dx = dx;
  xf->dy = dy;
}

void
kiln_transform_image (const float  *src,
                      guint         w,
                      guint         h,
                      const KilnXf *xf,
                      KilnInterp    interp,
                      float         fill,
                      float        *dst,
                      guint8       *mask)
{
  KilnXf inv;
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;

  if (!kiln_xf_invert (xf, &inv))
    {
      for (gsize i = 0; i < (gsize) w * h; i++)
        {
          dst[i] = fill;
          if (mask)
            mask[i] = 0;
        }
      return;
    }

#pragma omp parallel for schedule(static) if ((gsize) w * h > 65536)
  for (gint64 y = 0; y < (gint64) h; y++)
    for (guint x = 0; x < w; x++)
      {
        double ox = x - cx, oy = y - cy;
        double sx = inv.a11 * ox + inv.a12 * oy + inv.dx + cx;
        double sy = inv.a21 * ox + inv.a22 * oy + inv.dy + cy;
        gboolean in;
        gsize i = (gsize) y * w + x;

        dst[i] = kiln_sample (src, w, h, sx, sy, interp, fill, &in);
        if (mask)
          mask[i] = in ? 1 : 0;
      }
}
