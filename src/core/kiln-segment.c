/* kiln-segment.c — Otsu, morphology, labelling, watershed split
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-morphology.h"
#include "kiln-segment.h"
#include "kiln-watershed.h"

void
kiln_segment_params_init (KilnSegmentParams *params)
{
  params->otsu = TRUE;
  params->threshold = 0;
  params->erode = 0;
  params->dilate = 0;
  params->connectivity = 26;
  params->min_voxels = 27;
  params->split = TRUE;
  params->split_h = KILN_WATERSHED_DEFAULT_H;
}

double
kiln_otsu_threshold_histogram (const guint64 *hist,
                               guint          n_bins,
                               double         lo,
                               double         hi)
{
  double total = 0, sum = 0, w0 = 0, sum0 = 0, best = -1;
  guint best_k = 0;

  for (guint k = 0; k < n_bins; k++)
    {
      total += (double) hist[k];
      sum += (double) k * (double) hist[k];
    }
  if (total <= 0)
    return 0.5 * (lo + hi);
  for (guint k = 0; k + 1 < n_bins; k++)
    {
      double w1, m0, m1, between;

      w0 += (double) hist[k];
      sum0 += (double) k * (double) hist[k];
      w1 = total - w0;
      if (w0 <= 0 || w1 <= 0)
        continue;
      m0 = sum0 / w0;
      m1 = (sum - sum0) / w1;
      between = w0 * w1 * (m0 - m1) * (m0 - m1);
      if (between > best * (1 + 1e-12))
        {
          best = between;
          best_k = k;
        }
    }
  return lo + (hi - lo) * (best_k + 1) / (double) n_bins;
}

gboolean
kiln_segment_otsu (const KilnVolume  *volume,
                   double            *threshold,
                   GError           **error)
{
  KilnStats st;
  gsize n = kiln_volume_n_voxels (volume);
  guint64 *hist;
  double scale;

  kiln_volume_stats (volume, &st);
  if (st.n_nonfinite == n)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "The volume has no finite voxel: no threshold");
      return FALSE;
    }
  if (!(st.max > st.min))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "The volume is constant (%g): Otsu's threshold is undefined", st.min);
      return FALSE;
    }
  hist = g_new0 (guint64, KILN_OTSU_BINS);
  scale = KILN_OTSU_BINS / (st.max - st.min);
#pragma omp parallel
  {
    guint64 local[KILN_OTSU_BINS] = { 0 };
#pragma omp for schedule(static)
    for (gssize i = 0; i < (gssize) n; i++)
      {
        float v = volume->data[i];
        gint64 k;
        if (!isfinite (v))
          continue;
        k = (gint64) ((v - st.min) * scale);
        local[CLAMP (k, 0, KILN_OTSU_BINS - 1)]++;
      }
#pragma omp critical
    for (guint k = 0; k < KILN_OTSU_BINS; k++)
      hist[k] += local[k];
  }
  *threshold = kiln_otsu_threshold_histogram (hist, KILN_OTSU_BINS, st.min, st.max);
  g_free (hist);
  return TRUE;
}

guint8 *
kiln_segment_binarise (const KilnVolume  *volume,
                       double             threshold,
                       GError           **error)
{
  gsize n = kiln_volume_n_voxels (volume);
  guint8 *mask = kiln_alloc (n, 1, FALSE, "binary mask", error);
  float t = (float) threshold;

  if (mask == NULL)
    return NULL;
#pragma omp parallel for schedule(static)
  for (gssize i = 0; i < (gssize) n; i++)
    mask[i] = volume->data[i] > t;
  return mask;
}

double
kiln_segment_scale_threshold (const KilnVolume *volume,
                              double            threshold,
                              double            fraction)
{
  KilnStats st;

  kiln_volume_stats (volume, &st);
  return st.min + (threshold - st.min) * (1.0 + fraction);
}

static void
sub_report (double      fraction,
            const char *message,
            gpointer    data)
{
  kiln_progress_report (data, fraction, message);
}

KilnLabelVolume *
kiln_segment (const KilnVolume         *volume,
              const KilnSegmentParams  *params,
              double                   *threshold_used,
              guint32                  *n_labels,
              GCancellable             *cancellable,
              KilnProgressFunc          progress,
              gpointer                  progress_data,
              GError                  **error)
{
  KilnSegmentParams def;
  double t;
  guint8 *mask;
  KilnLabelVolume *labels;
  guint32 n = 0;
  KilnProgress pr, sub;

  if (params == NULL)
    {
      kiln_segment_params_init (&def);
      params = &def;
    }
  if (params->connectivity != 6 && params->connectivity != 26)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Connectivity must be 6 or 26, not %u", params->connectivity);
      return NULL;
    }
  kiln_progress_init (&pr, progress, progress_data);
  kiln_progress_report (&pr, 0.0, "Threshold");
  if (params->otsu)
    {
      if (!kiln_segment_otsu (volume, &t, error))
        return NULL;
    }
  else
    {
      t = params->threshold;
      if (!isfinite (t))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "The threshold must be a finite number");
          return NULL;
        }
    }
  mask = kiln_segment_binarise (volume, t, error);
  if (mask == NULL)
    return NULL;
  kiln_progress_report (&pr, 0.1, "Erosion");
  if (!kiln_morphology_erode (mask, volume->nx, volume->ny, volume->nz, params->erode,
                              cancellable, error))
    goto fail;
  kiln_progress_report (&pr, 0.25, "Dilation");
  if (!kiln_morphology_dilate (mask, volume->nx, volume->ny, volume->nz, params->dilate,
                               cancellable, error))
    goto fail;
  kiln_progress_report (&pr, 0.4, "Labelling");
  if (params->split)
    {
      sub = kiln_progress_sub (&pr, 0.4, 0.95);
      labels = kiln_watershed_split (mask, volume->nx, volume->ny, volume->nz,
                                     params->split_h, params->connectivity, &n, cancellable,
                                     sub_report, &sub, error);
    }
  else
    labels = kiln_label_components (mask, volume->nx, volume->ny, volume->nz,
                                    params->connectivity, &n, cancellable, error);
  if (labels == NULL)
    goto fail;
  kiln_free (mask);
  n = kiln_label_remove_small (labels, params->min_voxels);
  labels->voxel_size_nm = volume->voxel_size_nm;
  kiln_progress_report (&pr, 1.0, NULL);
  if (threshold_used != NULL)
    *threshold_used = t;
  if (n_labels != NULL)
    *n_labels = n;
  return labels;

fail:
  kiln_free (mask);
  return NULL;
}
