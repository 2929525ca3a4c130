/* kiln-neck-model.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-neck-model.h"

static double
d_of_a (double a,
        double r)
{
  return 2 * a + 2 * (r - a) * (2 * r + a) / (3 * (r + a));
}

double
kiln_neck_model_d (double r_n,
                   double r_p)
{
  if (!(r_p > 0) || !(r_n >= 0) || r_n > r_p)
    return NAN;
  return d_of_a (sqrt (r_p * r_p - r_n * r_n), r_p);
}

double
kiln_neck_model_rn (double d,
                    double r_p)
{
  double lo = 0, hi = r_p;   /* a; d(a) increases with a */

  if (!(r_p > 0) || !(d >= 4.0 / 3.0 * r_p * (1 - 1e-12)) || d > 2 * r_p * (1 + 1e-12))
    return NAN;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * r_p; i++)
    {
      double mid = 0.5 * (lo + hi);
      if (d_of_a (mid, r_p) < d)
        lo = mid;
      else
        hi = mid;
    }
  {
    double a = 0.5 * (lo + hi);
    return sqrt (MAX (0.0, r_p * r_p - a * a));
  }
}

double
kiln_neck_model_volume (double d,
                        double r_n,
                        double r_p)
{
  double a, h, cap, len;

  if (!(r_p > 0) || !(r_n >= 0) || r_n > r_p)
    return NAN;
  a = sqrt (r_p * r_p - r_n * r_n);
  len = d - 2 * a;
  if (len < -1e-12 * r_p)
    return NAN;
  h = r_p - a;
  cap = G_PI * h * h * (3 * r_p - h) / 3;
  return 2 * (4.0 / 3.0 * G_PI * r_p * r_p * r_p - cap) + G_PI * r_n * r_n * MAX (len, 0);
}

void
kiln_neck_model_curve (double  r_p,
                       guint   n,
                       double *d_out,
                       double *rn_out)
{
  for (guint i = 0; i < n; i++)
    {
      double d = r_p * (4.0 / 3.0 + (2.0 / 3.0) * (n > 1 ? i / (double) (n - 1) : 0));
      d_out[i] = d;
      rn_out[i] = kiln_neck_model_rn (d, r_p);
    }
}
