/* kiln-stats.h — summary statistics of float buffers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  double min;
  double max;
  double mean;
  double rms;        /* standard deviation about the mean (MRC's "rms") */
  gsize  n_nonfinite; /* NaN or ±Inf values, skipped by the other fields */
} KilnStats;

void kiln_stats_compute (const float *data,
                         gsize        n,
                         KilnStats   *stats);

G_END_DECLS
