/* kiln-stats.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-stats.h"

void
kiln_stats_compute (const float *data,
                    gsize        n,
                    KilnStats   *stats)
{
  double mn = INFINITY, mx = -INFINITY, sum = 0.0, sum2 = 0.0;
  gsize bad = 0;
  gint64 nn = (gint64) n;

#pragma omp parallel for reduction(min:mn) reduction(max:mx) reduction(+:sum,sum2,bad) if (n > 65536)
  for (gint64 i = 0; i < nn; i++)
    {
      float v = data[i];
      if (!isfinite (v))
        {
          bad++;
          continue;
        }
      if (v < mn) mn = v;
      if (v > mx) mx = v;
      sum += v;
      sum2 += (double) v * v;
    }

  stats->n_nonfinite = bad;
  if (n > bad)
    {
      double cnt = (double) (n - bad);
      double mean = sum / cnt;
      double var = sum2 / cnt - mean * mean;
      stats->min = mn;
      stats->max = mx;
      stats->mean = mean;
      stats->rms = var > 0 ? sqrt (var) : 0.0;
    }
  else
    {
      stats->min = stats->max = stats->mean = stats->rms = 0.0;
    }
}
