/* tilt-axis-phantom.h — analytic projections of spheres for the back-projection and tilt-axis
 * tests, in the geometry of kiln-backproject.h (independent of the code under test: only the
 * written conventions are used).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <math.h>

#include "kiln.h"

typedef struct
{
  double x, y, z;   /* x across the axis (from the axis), y along the axis (from the centre), z */
  double r;         /* radius, px */
  double density;
} PhantomSphere;

/* Projection of the spheres at each angle, for an axis at @axis_deg with shift @shift_px, on a
 * @w × @h image (3 × 3 supersampled per pixel). */
static inline KilnImageStack *
phantom_project (const PhantomSphere *spheres,
                 guint                n_spheres,
                 const double        *angles,
                 guint                n_tilts,
                 guint                w,
                 guint                h,
                 double               axis_deg,
                 double               shift_px)
{
  g_autoptr(GError) error = NULL;
  KilnImageStack *stack = kiln_image_stack_new (n_tilts, w, h, &error);
  double a = axis_deg * G_PI / 180.0;
  double epx = cos (a), epy = sin (a), eax = -sin (a), eay = cos (a);
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;

  g_assert_no_error (error);
  kiln_image_stack_set_angles (stack, angles, n_tilts, &error);
  g_assert_no_error (error);
  for (guint k = 0; k < n_tilts; k++)
    {
      double t = angles[k] * G_PI / 180.0;
      float *img = kiln_image_stack_tilt (stack, k);

      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            double sum = 0;

            for (int sy = -1; sy <= 1; sy++)
              for (int sx = -1; sx <= 1; sx++)
                {
                  double dx = x + sx / 3.0 - cx, dy = y + sy / 3.0 - cy;
                  double u = dx * epx + dy * epy - shift_px;
                  double v = dx * eax + dy * eay;

                  for (guint i = 0; i < n_spheres; i++)
                    {
                      const PhantomSphere *s = &spheres[i];
                      double u0 = s->x * cos (t) + s->z * sin (t);
                      double q = s->r * s->r - (u - u0) * (u - u0) - (v - s->y) * (v - s->y);

                      if (q > 0)
                        sum += 2 * sqrt (q) * s->density;
                    }
                }
            img[(gsize) y * w + x] = (float) (sum / 9.0);
          }
    }
  return stack;
}

static inline double *
phantom_angles (double first, double step, guint n)
{
  double *angles = g_new (double, n);

  for (guint k = 0; k < n; k++)
    angles[k] = first + step * k;
  return angles;
}
