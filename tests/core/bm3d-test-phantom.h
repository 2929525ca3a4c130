/* bm3d-test-phantom.h — a synthetic test image for the denoising tests (0–255-like scale):
 * a gentle ramp, a sinusoidal texture on the left half, and 30 soft-edged particles of radius
 * 2.5–10.5 px with amplitudes 40–150 at deterministic pseudo-random places.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <math.h>
#include <glib.h>

static inline guint32
bm3d_test_lcg (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static inline void
bm3d_test_phantom (float *img, int w, int h)
{
  guint32 st = 12345;
  for (int i = 0; i < w * h; i++)
    {
      int x = i % w, y = i / w;
      img[i] = (float) (70 + 30.0 * x / w + (x < w / 2 ? 15 * sin (x * 0.35) * sin (y * 0.27) : 0));
    }
  for (int k = 0; k < 30; k++)
    {
      double cx = bm3d_test_lcg (&st) % w;
      double cy = bm3d_test_lcg (&st) % h;
      double r = 2.5 + (bm3d_test_lcg (&st) % 1000) / 1000.0 * 8;
      double a = 40 + (bm3d_test_lcg (&st) % 1000) / 1000.0 * 110;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            double d = sqrt ((x - cx) * (x - cx) + (y - cy) * (y - cy));
            if (d < r + 3)
              img[y * w + x] += (float) (a / (1 + exp ((d - r) / 0.6)));
          }
    }
}
