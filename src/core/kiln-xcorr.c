/* kiln-xcorr.c — band-passed, tapered FFT cross-correlation of adjacent tilts
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-fft.h"
#include "kiln-transform.h"
#include "kiln-xcorr.h"

/* ---- plan cache: one r2c and one c2r plan per image size, created once (FFTW_ESTIMATE) and
 * executed with the new-array interface on buffers from kiln_fft_alloc_*. */

typedef struct
{
  guint      w, h;
  fftwf_plan fwd;
  fftwf_plan inv;
} PlanPair;

static GMutex      plan_cache_lock;
static GPtrArray  *plan_cache;

static const PlanPair *
get_plans (guint w, guint h)
{
  PlanPair *pp = NULL;

  g_mutex_lock (&plan_cache_lock);
  if (plan_cache == NULL)
    plan_cache = g_ptr_array_new ();
  for (guint i = 0; i < plan_cache->len; i++)
    {
      PlanPair *c = g_ptr_array_index (plan_cache, i);
      if (c->w == w && c->h == h)
        {
          pp = c;
          break;
        }
    }
  if (pp == NULL)
    {
      gsize nc = (gsize) h * (w / 2 + 1);
      float *r = kiln_fft_alloc_real ((gsize) w * h);
      fftwf_complex *c = kiln_fft_alloc_complex (nc);

      pp = g_new0 (PlanPair, 1);
      pp->w = w;
      pp->h = h;
      pp->fwd = kiln_fft_plan_r2c_2d ((int) h, (int) w, r, c, FFTW_ESTIMATE);
      pp->inv = kiln_fft_plan_c2r_2d ((int) h, (int) w, c, r, FFTW_ESTIMATE);
      kiln_fft_free (r);
      kiln_fft_free (c);
      if (pp->fwd == NULL || pp->inv == NULL)
        {
          if (pp->fwd)
            kiln_fft_destroy_plan (pp->fwd);
          if (pp->inv)
            kiln_fft_destroy_plan (pp->inv);
          g_free (pp);
          pp = NULL;
        }
      else
        g_ptr_array_add (plan_cache, pp);
    }
  g_mutex_unlock (&plan_cache_lock);
  return pp;
}

void
kiln_xcorr_params_init (KilnXcorrParams *params)
{
  params->axis_angle_deg = 0.0;
  params->stretch = TRUE;
  params->sigma1 = 0.03;
  params->radius2 = 0.25;
  params->sigma2 = 0.05;
  params->taper_fraction = 0.1;
  params->max_shift_px = 0.0;
}

void
kiln_xcorr_stretch_matrix (double axis_angle_deg,
                           double factor,
                           double m[4])
{
  /* axis direction (−sin φ, cos φ) in (x, y); its normal n = (cos φ, sin φ) */
  double phi = axis_angle_deg * G_PI / 180.0;
  double nx = cos (phi), ny = sin (phi);

  m[0] = 1.0 + (factor - 1.0) * nx * nx;
  m[1] = (factor - 1.0) * nx * ny;
  m[2] = (factor - 1.0) * nx * ny;
  m[3] = 1.0 + (factor - 1.0) * ny * ny;
}

double
kiln_xcorr_stretch_factor (double ref_deg,
                           double mov_deg)
{
  double cr = cos (ref_deg * G_PI / 180.0);
  double cm = cos (mov_deg * G_PI / 180.0);
  double f;

  if (fabs (cm) < 1e-6)
    return 2.0;
  f = cr / cm;
  if (!isfinite (f))
    return 1.0;
  return CLAMP (f, 0.5, 2.0);
}

/* Subtract the mean and taper the edges to zero with a cosine bell. */
static void
prepare (float  *buf,
         guint   w,
         guint   h,
         double  taper_fraction)
{
  gsize n = (gsize) w * h;
  double sum = 0.0;
  guint lx = (guint) (taper_fraction * w), ly = (guint) (taper_fraction * h);
  g_autofree float *wx = g_new (float, w);
  g_autofree float *wy = g_new (float, h);
  float mean;

  for (gsize i = 0; i < n; i++)
    sum += buf[i];
  mean = (float) (sum / n);
  for (guint x = 0; x < w; x++)
    {
      guint d = MIN (x, w - 1 - x);
      wx[x] = d < lx ? (float) (0.5 * (1.0 - cos (G_PI * (d + 0.5) / lx))) : 1.0f;
    }
  for (guint y = 0; y < h; y++)
    {
      guint d = MIN (y, h - 1 - y);
      wy[y] = d < ly ? (float) (0.5 * (1.0 - cos (G_PI * (d + 0.5) / ly))) : 1.0f;
    }
  for (guint y = 0; y < h; y++)
    {
      float *row = buf + (gsize) y * w;
      for (guint x = 0; x < w; x++)
        row[x] = (row[x] - mean) * wx[x] * wy[y];
    }
}

static inline double
bandpass (const KilnXcorrParams *p,
          double                 k)
{
  double v = 1.0;

  if (p->sigma1 > 0)
    v *= 1.0 - exp (-k * k / (2.0 * p->sigma1 * p->sigma1));
  if (p->radius2 < 0.5 && k > p->radius2)
    {
      double t = (k - p->radius2) / MAX (p->sigma2, 1e-6);
      v *= exp (-0.5 * t * t);
    }
  return v;
}

/* Sub-pixel offset of a peak from three samples: a Gaussian (log-parabola) fit when all are
 * positive, else a parabola. Result in [−0.5, 0.5]. */
static double
subpixel (double m,
          double c,
          double p)
{
  double off, den;

  if (m > 0 && c > 0 && p > 0)
    {
      double lm = log (m), lc = log (c), lp = log (p);
      den = lm - 2 * lc + lp;
      off = den < 0 ? 0.5 * (lm - lp) / den : 0.0;
    }
  else
    {
      den = m - 2 * c + p;
      off = den < 0 ? 0.5 * (m - p) / den : 0.0;
    }
  return CLAMP (off, -0.5, 0.5);
}

/* Correlate the prepared spectrum @fa (reference, kept) with @b (moving image, prepared in place,
 * destroyed); find the peak within @max_shift of (ps_x, ps_y) (0 = anywhere); sub-pixel. */
static void
correlate (const PlanPair        *pp,
           const KilnXcorrParams *params,
           const float           *filt,
           const fftwf_complex   *fa,
           double                 ea,
           float                 *b,
           fftwf_complex         *fb,
           double                 ps_x,
           double                 ps_y,
           double                 max_shift,
           double                *sx,
           double                *sy,
           double                *peak)
{
  guint w = pp->w, h = pp->h, wc = w / 2 + 1;
  double eb = 0.0, best = -G_MAXDOUBLE;
  long bi = 0, bj = 0;

  prepare (b, w, h, params->taper_fraction);
  fftwf_execute_dft_r2c (pp->fwd, b, fb);
  for (guint ky = 0; ky < h; ky++)
    {
      for (guint kx = 0; kx < wc; kx++)
        {
          gsize i = (gsize) ky * wc + kx;
          double f = filt[i];
          double ar = fa[i][0], ai = fa[i][1], br = fb[i][0], bim = fb[i][1];
          double wgt = (kx == 0 || (w % 2 == 0 && kx == w / 2)) ? 1.0 : 2.0;

          eb += wgt * f * (br * br + bim * bim);
          /* A · conj(B) · H */
          fb[i][0] = (float) (f * (ar * br + ai * bim));
          fb[i][1] = (float) (f * (ai * br - ar * bim));
        }
    }
  fftwf_execute_dft_c2r (pp->inv, fb, b);

  for (guint j = 0; j < h; j++)
    {
      double syy = j <= h / 2 ? (double) j : (double) j - h;
      if (max_shift > 0 && fabs (syy - ps_y) > max_shift)
        continue;
      for (guint i = 0; i < w; i++)
        {
          double sxx = i <= w / 2 ? (double) i : (double) i - w;
          double v = b[(gsize) j * w + i];

          if (max_shift > 0 && hypot (sxx - ps_x, syy - ps_y) > max_shift)
            continue;
          if (v > best)
            {
              best = v;
              bi = i;
              bj = j;
            }
        }
    }
  {
    double cm = b[(gsize) bj * w + (bi + w - 1) % w];
    double cp = b[(gsize) bj * w + (bi + 1) % w];
    double rm = b[(gsize) ((bj + h - 1) % h) * w + bi];
    double rp = b[(gsize) ((bj + 1) % h) * w + bi];

    *sx = (bi <= (long) w / 2 ? (double) bi : (double) bi - w) + subpixel (cm, best, cp);
    *sy = (bj <= (long) h / 2 ? (double) bj : (double) bj - h) + subpixel (rm, best, rp);
  }
  *peak = (ea > 0 && eb > 0) ? best / sqrt (ea * eb) : 0.0;
}

/* The band-pass filter on the r2c half spectrum of a w × h image (h rows of w/2 + 1). */
static void
make_filter (const KilnXcorrParams *params,
             guint                  w,
             guint                  h,
             float                 *filt)
{
  guint wc = w / 2 + 1;

  for (guint ky = 0; ky < h; ky++)
    {
      double fy = (ky <= h / 2 ? (double) ky : (double) ky - h) / h;
      for (guint kx = 0; kx < wc; kx++)
        {
          double fx = (double) kx / w;
          filt[(gsize) ky * wc + kx] = (float) bandpass (params, sqrt (fx * fx + fy * fy));
        }
    }
}

/* kiln_xcorr_pair() with the band-pass filter made beforehand (@given_filt, NULL: made here),
 * so that a series makes it once rather than for every pair. */
static gboolean
xcorr_pair (const float           *ref,
            const float           *mov,
            guint                  w,
            guint                  h,
            const KilnXcorrParams *params,
            const float           *given_filt,
            double                 stretch_factor,
            double                 prior_dx,
            double                 prior_dy,
            double                *dx,
            double                *dy,
            double                *peak,
            double                *stretch_used,
            GError               **error)
{
  const PlanPair *pp;
  double used = 1.0;
  gsize n = (gsize) w * h, nc;
  guint wc = w / 2 + 1;
  float *a = NULL, *b = NULL, *filt = NULL;
  fftwf_complex *fa = NULL, *fb = NULL;
  double m[4] = { 1, 0, 0, 1 }, ea = 0.0, mean = 0.0;
  double sx, sy, mi[4], det, d1x, d1y, pk;
  KilnXf xf;
  gboolean ok = FALSE;

  if (w < 8 || h < 8)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cross-correlation needs images of at least 8 × 8 pixels, not %u × %u", w, h);
      return FALSE;
    }
  pp = get_plans (w, h);
  if (pp == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   "Could not create FFT plans for %u × %u images", w, h);
      return FALSE;
    }
  nc = (gsize) h * wc;
  a = kiln_fft_alloc_real (n);
  b = kiln_fft_alloc_real (n);
  fa = kiln_fft_alloc_complex (nc);
  fb = kiln_fft_alloc_complex (nc);
  filt = kiln_fft_alloc_real (nc);
  if (!a || !b || !fa || !fb || !filt)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Out of memory for cross-correlation of %u × %u images", w, h);
      goto out;
    }

  /* the band-pass filter (given, or made here), the reference spectrum and its band-passed
   * energy, computed once */
  if (given_filt != NULL)
    memcpy (filt, given_filt, nc * sizeof (float));
  else
    make_filter (params, w, h, filt);
  memcpy (a, ref, n * sizeof (float));
  prepare (a, w, h, params->taper_fraction);
  fftwf_execute_dft_r2c (pp->fwd, a, fa);
  for (guint ky = 0; ky < h; ky++)
    for (guint kx = 0; kx < wc; kx++)
      {
        gsize i = (gsize) ky * wc + kx;
        double wgt = (kx == 0 || (w % 2 == 0 && kx == w / 2)) ? 1.0 : 2.0;
        ea += wgt * filt[i] * ((double) fa[i][0] * fa[i][0] + (double) fa[i][1] * fa[i][1]);
      }
  for (gsize i = 0; i < n; i++)
    mean += mov[i];
  mean /= n;

  /* pass 1: the moving image as it is, and stretched; the stretch is kept only where it matches
   * better (it models a thin specimen: a rod along the axis, say, is not foreshortened) */
  memcpy (b, mov, n * sizeof (float));
  correlate (pp, params, filt, fa, ea, b, fb, prior_dx, prior_dy, params->max_shift_px, &sx, &sy,
             &pk);
  d1x = sx;
  d1y = sy;
  if (fabs (stretch_factor - 1.0) > 1e-9)
    {
      double ms[4], pks, sxs, sys, dets;

      kiln_xcorr_stretch_matrix (params->axis_angle_deg, stretch_factor, ms);
      xf.a11 = ms[0];
      xf.a12 = ms[1];
      xf.a21 = ms[2];
      xf.a22 = ms[3];
      xf.dx = xf.dy = 0.0;
      kiln_transform_image (mov, w, h, &xf, KILN_INTERP_LINEAR, (float) mean, b, NULL);
      correlate (pp, params, filt, fa, ea, b, fb,
                 ms[0] * prior_dx + ms[1] * prior_dy, ms[2] * prior_dx + ms[3] * prior_dy,
                 params->max_shift_px, &sxs, &sys, &pks);
      if (pks > pk)
        {
          used = stretch_factor;
          memcpy (m, ms, sizeof m);
          dets = m[0] * m[3] - m[1] * m[2];
          d1x = (m[3] * sxs - m[1] * sys) / dets;
          d1y = (-m[2] * sxs + m[0] * sys) / dets;
        }
    }
  det = m[0] * m[3] - m[1] * m[2];
  mi[0] = m[3] / det;
  mi[1] = -m[1] / det;
  mi[2] = -m[2] / det;
  mi[3] = m[0] / det;

  /* pass 2: the moving image resampled (cubic) through the pass-1 shift, so that the residual is
   * small: the biases of tapering (towards zero shift) and of the peak fit vanish at zero. */
  xf.a11 = m[0];
  xf.a12 = m[1];
  xf.a21 = m[2];
  xf.a22 = m[3];
  xf.dx = m[0] * d1x + m[1] * d1y;
  xf.dy = m[2] * d1x + m[3] * d1y;
  kiln_transform_image (mov, w, h, &xf, KILN_INTERP_CUBIC, (float) mean, b, NULL);
  correlate (pp, params, filt, fa, ea, b, fb, 0.0, 0.0, 2.0, &sx, &sy, &pk);
  *dx = d1x + mi[0] * sx + mi[1] * sy;
  *dy = d1y + mi[2] * sx + mi[3] * sy;
  if (peak)
    *peak = pk;
  if (stretch_used)
    *stretch_used = used;
  ok = TRUE;

out:
  kiln_fft_free (a);
  kiln_fft_free (b);
  kiln_fft_free (fa);
  kiln_fft_free (fb);
  kiln_fft_free (filt);
  return ok;
}

gboolean
kiln_xcorr_pair (const float           *ref,
                 const float           *mov,
                 guint                  w,
                 guint                  h,
                 const KilnXcorrParams *params,
                 double                 stretch_factor,
                 double                 prior_dx,
                 double                 prior_dy,
                 double                *dx,
                 double                *dy,
                 double                *peak,
                 double                *stretch_used,
                 GError               **error)
{
  return xcorr_pair (ref, mov, w, h, params, NULL, stretch_factor, prior_dx, prior_dy, dx, dy,
                     peak, stretch_used, error);
}

gboolean
kiln_xcorr_series (const KilnImageStack  *stack,
                   const KilnXcorrParams *params,
                   const double          *prior,
                   double                *shifts,
                   double                *peaks,
                   double                *stretch_used,
                   GCancellable          *cancellable,
                   KilnProgressFunc       progress,
                   gpointer               progress_data,
                   GError               **error)
{
  guint n = stack->n_tilts, w = stack->width, h = stack->height;
  guint z;
  g_autofree double *rel = NULL;
  g_autofree double *pk = NULL;
  g_autofree double *su = NULL;
  GError *first_error = NULL;
  gint done = 0, failed = 0;
  float *filt = NULL;

  if (n == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "The tilt series is empty");
      return FALSE;
    }
  if (kiln_check_cancelled (cancellable, error))
    return FALSE;
  z = kiln_image_stack_zero_tilt (stack);
  rel = g_new0 (double, 2 * (gsize) n);
  pk = g_new0 (double, n);
  pk[z] = 1.0;
  su = g_new (double, n);
  for (guint k = 0; k < n; k++)
    su[k] = 1.0;

  /* the band-pass filter, once for every pair (w, h ≥ 8 is checked by each pair) */
  if (w >= 8 && h >= 8)
    {
      filt = kiln_fft_alloc_real ((gsize) h * (w / 2 + 1));
      if (filt == NULL)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                       "Out of memory for cross-correlation of %u × %u images", w, h);
          return FALSE;
        }
      make_filter (params, w, h, filt);
    }

  /* pair k: tilt k (moving) against its neighbour towards z (reference) */
#pragma omp parallel for schedule(dynamic, 1)
  for (gint64 k = 0; k < (gint64) n; k++)
    {
      guint r;
      double s = 1.0, pdx = 0, pdy = 0;
      GError *local = NULL;

      if (k == z || g_cancellable_is_cancelled (cancellable))
        continue;
      if (g_atomic_int_get (&failed))
        continue;
      r = k > z ? (guint) k - 1 : (guint) k + 1;
      if (params->stretch && stack->has_angles)
        s = kiln_xcorr_stretch_factor (stack->angles_deg[r], stack->angles_deg[k]);
      if (prior)
        {
          pdx = prior[2 * k] - prior[2 * r];
          pdy = prior[2 * k + 1] - prior[2 * r + 1];
        }
      if (!xcorr_pair (kiln_image_stack_tilt_const (stack, r),
                       kiln_image_stack_tilt_const (stack, (guint) k), w, h, params, filt, s,
                       pdx, pdy, &rel[2 * k], &rel[2 * k + 1], &pk[k], &su[k], &local))
        {
#pragma omp critical (kiln_xcorr_err)
          {
            if (first_error == NULL)
              first_error = local;
            else
              g_error_free (local);
          }
          g_atomic_int_set (&failed, 1);
        }
      {
        gint d = g_atomic_int_add (&done, 1) + 1;
#ifdef _OPENMP
        if (omp_get_thread_num () == 0)
#endif
          kiln_report (progress, progress_data, (double) d / n, "Cross-correlating tilts");
      }
    }

  kiln_fft_free (filt);
  if (first_error)
    {
      g_propagate_error (error, first_error);
      return FALSE;
    }
  /* progress is reported only from the calling thread (thread 0 above, which may have had no
   * pair to do): always report the end here, then honour a cancel it caused */
  kiln_report (progress, progress_data, 1.0, "Cross-correlating tilts");
  if (kiln_check_cancelled (cancellable, error))
    return FALSE;

  shifts[2 * z] = shifts[2 * z + 1] = 0.0;
  for (guint k = z + 1; k < n; k++)
    {
      shifts[2 * k] = shifts[2 * (k - 1)] + rel[2 * k];
      shifts[2 * k + 1] = shifts[2 * (k - 1) + 1] + rel[2 * k + 1];
    }
  for (guint k = z; k-- > 0;)
    {
      shifts[2 * k] = shifts[2 * (k + 1)] + rel[2 * k];
      shifts[2 * k + 1] = shifts[2 * (k + 1) + 1] + rel[2 * k + 1];
    }
  if (peaks)
    memcpy (peaks, pk, n * sizeof (double));
  if (stretch_used)
    memcpy (stretch_used, su, n * sizeof (double));
  kiln_report (progress, progress_data, 1.0, NULL);
  return TRUE;
}

void
kiln_centre_of_mass (const float *img,
                     guint        w,
                     guint        h,
                     double       background,
                     double      *cx,
                     double      *cy)
{
  double sw = 0, sx = 0, sy = 0;

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double v = img[(gsize) y * w + x] - background;
        if (v > 0)
          {
            sw += v;
            sx += v * x;
            sy += v * y;
          }
      }
  if (sw > 0)
    {
      *cx = sx / sw;
      *cy = sy / sw;
    }
  else
    {
      *cx = (w - 1) / 2.0;
      *cy = (h - 1) / 2.0;
    }
}

static int
cmp_float (const void *a,
           const void *b)
{
  float fa = *(const float *) a, fb = *(const float *) b;
  return (fa > fb) - (fa < fb);
}

gboolean
kiln_com_series (const KilnImageStack *stack,
                 double               *shifts,
                 GCancellable         *cancellable,
                 KilnProgressFunc      progress,
                 gpointer              progress_data,
                 GError              **error)
{
  guint n = stack->n_tilts, w = stack->width, h = stack->height;
  gsize np = (gsize) w * h;
  g_autofree double *c = NULL;
  float *tmp;
  guint z;

  if (n == 0 || np == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "The tilt series is empty");
      return FALSE;
    }
  tmp = kiln_alloc (np, sizeof (float), FALSE, "centre-of-mass work image", error);
  if (tmp == NULL)
    return FALSE;
  c = g_new (double, 2 * (gsize) n);
  for (guint k = 0; k < n; k++)
    {
      const float *img = kiln_image_stack_tilt_const (stack, k);
      double med;

      if (kiln_check_cancelled (cancellable, error))
        {
          kiln_free (tmp);
          return FALSE;
        }
      memcpy (tmp, img, np * sizeof (float));
      qsort (tmp, np, sizeof (float), cmp_float);
      med = tmp[np / 2];
      kiln_centre_of_mass (img, w, h, med, &c[2 * k], &c[2 * k + 1]);
      kiln_report (progress, progress_data, (double) (k + 1) / n, "Centres of mass");
    }
  kiln_free (tmp);
  z = kiln_image_stack_zero_tilt (stack);
  for (guint k = 0; k < n; k++)
    {
      shifts[2 * k] = c[2 * z] - c[2 * k];
      shifts[2 * k + 1] = c[2 * z + 1] - c[2 * k + 1];
    }
  return TRUE;
}
