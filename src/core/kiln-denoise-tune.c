/* kiln-denoise-tune.c — PSNR-maximising variance sweep for BM3D (see the header)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-denoise-tune.h"
#include "kiln-alloc.h"
#include "kiln-error.h"

/* grid steps the automatic sweep may add on each side */
#define KILN_TUNE_MAX_EXTEND 4

void
kiln_denoise_tune_params_init (KilnDenoiseTuneParams *params)
{
  memset (params, 0, sizeof *params);
  params->kind = KILN_NOISE_G4;
  kiln_bm3d_params_init (&params->bm3d, KILN_BM3D_PROFILE_NORMAL);
  params->peak = 0;
  params->n_coarse = 9;
  params->n_refine = 8;
}

void
kiln_denoise_tune_result_free (KilnDenoiseTuneResult *result)
{
  if (result == NULL)
    return;
  if (result->curve != NULL)
    g_array_unref (result->curve);
  g_free (result);
}

typedef struct
{
  const float          *noisy;
  const float          *reference;
  guint                 w, h;
  const KilnBm3dNoise  *unit;      /* the model at variance 1 */
  const KilnBm3dParams *bm3d;
  double                peak;
  float                *work;
  GArray               *curve;
  guint                 done, total;
  GCancellable         *cancellable;
  KilnProgressFunc      progress;
  gpointer              progress_data;
} Tuner;

static void
sub_progress (double fraction, const char *message, gpointer data)
{
  Tuner *t = data;
  if (t->progress != NULL)
    t->progress ((t->done + fraction) / t->total, message, t->progress_data);
}

static gboolean
evaluate (Tuner *t, double variance, double *psnr, GError **error)
{
  g_autoptr (KilnBm3dNoise) noise = kiln_bm3d_noise_new_scaled (t->unit, variance);
  KilnTunePoint pt;

  if (!kiln_bm3d_denoise (t->noisy, t->w, t->h, noise, t->bm3d, t->work, t->cancellable,
                          sub_progress, t, error))
    return FALSE;
  pt.variance = variance;
  pt.psnr_db = kiln_psnr (t->work, t->reference, (gsize) t->w * t->h, t->peak);
  g_array_append_val (t->curve, pt);
  t->done++;
  *psnr = pt.psnr_db;
  return TRUE;
}

static gint
cmp_points (gconstpointer a, gconstpointer b)
{
  const KilnTunePoint *pa = a, *pb = b;
  return pa->variance < pb->variance ? -1 : pa->variance > pb->variance ? 1 : 0;
}

KilnDenoiseTuneResult *
kiln_denoise_tune (const float                 *noisy,
                   const float                 *reference,
                   guint                        width,
                   guint                        height,
                   const KilnDenoiseTuneParams *params,
                   GCancellable                *cancellable,
                   KilnProgressFunc             progress,
                   gpointer                     progress_data,
                   GError                     **error)
{
  gsize n = (gsize) width * height;
  double mse = 0, vmin, vmax, mn = G_MAXDOUBLE, mx = -G_MAXDOUBLE;
  g_autoptr (KilnBm3dNoise) unit = NULL;
  g_autofree double *lv = NULL, *ps = NULL;
  Tuner t = { 0 };
  KilnDenoiseTuneResult *res = NULL;
  guint nc, best = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (noisy != NULL && reference != NULL && params != NULL, NULL);
  if (width < 16 || height < 16 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Denoise tuning: the images are %u × %u; they must be at least 16 × 16",
                   width, height);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    {
      double d;
      if (!isfinite (noisy[i]) || !isfinite (reference[i]))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "Denoise tuning: non-finite pixel at (%u, %u) in the %s image",
                       (guint) (i % width), (guint) (i / width),
                       isfinite (noisy[i]) ? "reference" : "noisy");
          return NULL;
        }
      d = (double) noisy[i] - reference[i];
      mse += d * d;
      mn = MIN (mn, reference[i]);
      mx = MAX (mx, reference[i]);
    }
  mse /= n;
  if (!(mse > 0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "Denoise tuning: the noisy image equals the reference (no noise to tune)");
      return NULL;
    }
  if (params->var_min > 0 && params->var_max > params->var_min)
    {
      vmin = params->var_min;
      vmax = params->var_max;
    }
  else if (params->var_min != 0 || params->var_max != 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Denoise tuning: the variance range [%g, %g] is invalid (need 0 < min < max, "
                   "or both 0 for automatic)", params->var_min, params->var_max);
      return NULL;
    }
  else
    {
      vmin = mse / 8;
      vmax = mse * 4;
    }
  nc = MAX (3u, params->n_coarse);

  unit = kiln_bm3d_noise_new_model (params->kind, width, height, 1.0, error);
  if (unit == NULL)
    return NULL;

  t.noisy = noisy;
  t.reference = reference;
  t.w = width;
  t.h = height;
  t.unit = unit;
  t.bm3d = &params->bm3d;
  t.peak = params->peak > 0 ? params->peak : mx - mn;
  if (!(t.peak > 0))
    t.peak = 1.0;
  t.curve = g_array_new (FALSE, FALSE, sizeof (KilnTunePoint));
  t.total = nc + 2 + params->n_refine;
  t.cancellable = cancellable;
  t.progress = progress;
  t.progress_data = progress_data;
  t.work = kiln_alloc (n, sizeof (float), FALSE, "denoised frame", error);
  if (t.work == NULL)
    goto out;

  /* coarse log grid; with an automatic range, a best value on its edge extends the grid
   * outwards (up to KILN_TUNE_MAX_EXTEND steps each way), so the maximum is bracketed */
  {
    const guint max_ext = params->var_min > 0 ? 0 : KILN_TUNE_MAX_EXTEND;
    const double step = (log (vmax) - log (vmin)) / (nc - 1);
    guint lo = max_ext, ext_lo = 0, ext_hi = 0;

    lv = g_new (double, nc + 2 * max_ext);
    ps = g_new (double, nc + 2 * max_ext);
    best = lo;
    for (guint i = 0; i < nc; i++)
      {
        lv[lo + i] = log (vmin) + step * i;
        if (!evaluate (&t, exp (lv[lo + i]), &ps[lo + i], error))
          goto out;
        if (ps[lo + i] > ps[best])
          best = lo + i;
      }
    for (;;)
      {
        guint i;
        if (best == lo + nc - 1 && ext_hi < max_ext)
          {
            i = lo + nc;
            lv[i] = lv[i - 1] + step;
            ext_hi++;
          }
        else if (best == lo && ext_lo < max_ext)
          {
            i = --lo;
            lv[i] = lv[i + 1] - step;
            ext_lo++;
          }
        else
          break;
        nc++;
        t.total++;
        if (!evaluate (&t, exp (lv[i]), &ps[i], error))
          goto out;
        if (ps[i] > ps[best])
          best = i;
      }
    /* from here on, index the grid from its first point */
    memmove (lv, lv + lo, nc * sizeof *lv);
    memmove (ps, ps + lo, nc * sizeof *ps);
    best -= lo;
  }

  /* golden section on log(variance) in the bracket around the best sample */
  {
    const double g = (sqrt (5.0) - 1) / 2;
    double a = lv[best > 0 ? best - 1 : 0], b = lv[best + 1 < nc ? best + 1 : nc - 1];
    double c = b - g * (b - a), d = a + g * (b - a), fc, fd;

    if (!evaluate (&t, exp (c), &fc, error) || !evaluate (&t, exp (d), &fd, error))
      goto out;
    for (guint it = 0; it < params->n_refine; it++)
      {
        if (fc >= fd)
          {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            if (!evaluate (&t, exp (c), &fc, error))
              goto out;
          }
        else
          {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            if (!evaluate (&t, exp (d), &fd, error))
              goto out;
          }
      }
  }

  g_array_sort (t.curve, cmp_points);
  res = g_new0 (KilnDenoiseTuneResult, 1);
  res->peak = t.peak;
  res->best_psnr_db = -INFINITY;
  for (guint i = 0; i < t.curve->len; i++)
    {
      KilnTunePoint *p = &g_array_index (t.curve, KilnTunePoint, i);
      if (p->psnr_db > res->best_psnr_db)
        {
          res->best_psnr_db = p->psnr_db;
          res->best_variance = p->variance;
        }
    }
  res->curve = g_steal_pointer (&t.curve);
  kiln_report (progress, progress_data, 1.0, NULL);
  ok = TRUE;

out:
  kiln_free (t.work);
  if (t.curve != NULL)
    g_array_unref (t.curve);
  if (!ok)
    {
      kiln_denoise_tune_result_free (res);
      return NULL;
    }
  return res;
}
