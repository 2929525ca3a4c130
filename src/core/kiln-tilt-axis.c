/* kiln-tilt-axis.c — tilt-axis scores, coarse-to-fine search and the automatic suggestion
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-tilt-axis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-fft.h"

#define COARSE_SIZE 256   /* the coarse search works on a copy binned to ≤ this many px */
#define FINE_SIZE   512   /* the sub-pixel search on a copy binned to ≤ this */
#define CL_COARSE_SIZE 128
#define CL_FINE_SIZE   256
#define MOM_COARSE_SIZE 128   /* the mass-profile angle search on a copy binned to ≤ this */
#define MOM_FINE_SIZE   512   /* the centre-of-mass fit on a copy binned to ≤ this */
#define MOM_MAX_RMS     1.0   /* px: trajectories further off the model fall back to the BP */
#define MOM_MIN_KEPT    0.4   /* a band needs this fraction of the tilts inside the field */
#define MOM_AGREE_DEG   2.5   /* the trajectories' angle must stay this close to the start */

/* ---------------------------------------------------------------------------------------- */
/* scores                                                                                    */

gboolean
kiln_axis_score_from_string (const char *name, KilnAxisScore *score)
{
  if (g_strcmp0 (name, "sharpness") == 0)
    *score = KILN_AXIS_SCORE_SHARPNESS;
  else if (g_strcmp0 (name, "tv") == 0)
    *score = KILN_AXIS_SCORE_TV;
  else if (g_strcmp0 (name, "l1") == 0)
    *score = KILN_AXIS_SCORE_L1;
  else if (g_strcmp0 (name, "entropy") == 0)
    *score = KILN_AXIS_SCORE_ENTROPY;
  else
    return FALSE;
  return TRUE;
}

const char *
kiln_axis_score_to_string (KilnAxisScore score)
{
  switch (score)
    {
    case KILN_AXIS_SCORE_SHARPNESS:
      return "sharpness";
    case KILN_AXIS_SCORE_TV:
      return "tv";
    case KILN_AXIS_SCORE_L1:
      return "l1";
    case KILN_AXIS_SCORE_ENTROPY:
      return "entropy";
    default:
      return "unknown";
    }
}

double
kiln_axis_score_slice (const float *slice, guint width, guint thickness, KilnAxisScore score)
{
  double sum = 0;

  switch (score)
    {
    case KILN_AXIS_SCORE_SHARPNESS:
      {
        double s2 = 0, s4 = 0;

        for (gsize i = 0; i < (gsize) width * thickness; i++)
          {
            double v2 = (double) slice[i] * slice[i];
            s2 += v2;
            s4 += v2 * v2;
          }
        /* an empty slice (all zero) carries no information: the worst cost */
        return s4 > 0 ? s2 * s2 / s4 : (double) width * thickness;
      }

    case KILN_AXIS_SCORE_L1:
      for (gsize i = 0; i < (gsize) width * thickness; i++)
        sum += fabsf (slice[i]);
      return sum;

    case KILN_AXIS_SCORE_ENTROPY:
      {
        float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
        guint hist[256] = { 0 };
        gsize n = (gsize) width * thickness;

        for (gsize i = 0; i < n; i++)
          {
            lo = MIN (lo, slice[i]);
            hi = MAX (hi, slice[i]);
          }
        if (!(hi > lo))
          return 0;
        for (gsize i = 0; i < n; i++)
          {
            int b = (int) ((slice[i] - lo) / (hi - lo) * 255.999f);
            hist[CLAMP (b, 0, 255)]++;
          }
        for (int b = 0; b < 256; b++)
          if (hist[b])
            {
              double p = (double) hist[b] / n;
              sum -= p * log (p);
            }
        return sum;
      }

    case KILN_AXIS_SCORE_TV:
    default:
      for (guint j = 0; j + 1 < thickness; j++)
        {
          const float *r0 = slice + (gsize) j * width, *r1 = r0 + width;
          float acc = 0;

          for (guint i = 0; i + 1 < width; i++)
            {
              float dx = r0[i + 1] - r0[i], dz = r1[i] - r0[i];
              acc += sqrtf (dx * dx + dz * dz);
            }
          sum += acc;
        }
      return sum;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                   */

typedef struct
{
  float        *data;
  gboolean      owned;
  guint         n, w, h, bin;
  double        cx, cy;
  const double *angles;
} Work;

static guint
bin_for (guint w, guint h, guint target)
{
  guint m = MAX (w, h);

  return MAX (1u, (m + target - 1) / target);
}

static gboolean
work_init (Work *wk, const KilnImageStack *s, guint bin, GError **error)
{
  memset (wk, 0, sizeof *wk);
  wk->n = s->n_tilts;
  wk->angles = s->angles_deg;
  wk->bin = bin;
  if (bin <= 1)
    {
      wk->bin = 1;
      wk->data = s->data;
      wk->w = s->width;
      wk->h = s->height;
      wk->cx = (s->width - 1) / 2.0;
      wk->cy = (s->height - 1) / 2.0;
      return TRUE;
    }
  wk->w = s->width / bin;
  wk->h = s->height / bin;
  /* binned pixel i covers original pixels bin·i … bin·i + bin − 1, centre bin·i + (bin−1)/2 */
  wk->cx = ((s->width - 1) / 2.0 - (bin - 1) / 2.0) / bin;
  wk->cy = ((s->height - 1) / 2.0 - (bin - 1) / 2.0) / bin;
  wk->data = kiln_alloc ((gsize) wk->n * wk->w * wk->h, sizeof (float), FALSE,
                         "binned tilt series", error);
  if (wk->data == NULL)
    return FALSE;
  wk->owned = TRUE;

#pragma omp parallel for schedule(static)
  for (gint64 k = 0; k < (gint64) wk->n; k++)
    {
      const float *src = s->data + (gsize) k * s->width * s->height;
      float *dst = wk->data + (gsize) k * wk->w * wk->h;
      float norm = 1.0f / (bin * bin);

      for (guint y = 0; y < wk->h; y++)
        for (guint x = 0; x < wk->w; x++)
          {
            float acc = 0;

            for (guint dy = 0; dy < bin; dy++)
              for (guint dx = 0; dx < bin; dx++)
                acc += src[(gsize) (y * bin + dy) * s->width + x * bin + dx];
            dst[(gsize) y * wk->w + x] = acc * norm;
          }
    }
  return TRUE;
}

static void
work_clear (Work *wk)
{
  if (wk->owned)
    kiln_free (wk->data);
  wk->data = NULL;
  wk->owned = FALSE;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static double
median_of (const double *v, guint n)
{
  g_autofree double *c = g_memdup2 (v, sizeof (double) * n);

  qsort (c, n, sizeof (double), cmp_double);
  return n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
}

static guint
argmin_of (const double *v, guint n)
{
  guint best = 0;

  for (guint i = 1; i < n; i++)
    if (v[i] < v[best])
      best = i;
  return best;
}

/* Sub-sample position of the minimum on a uniform grid (x0 + i·step), by a parabola through
 * the best point and its neighbours. */
static double
parabola_min (const double *c, guint n, double x0, double step)
{
  guint i = argmin_of (c, n);
  double denom, d = 0;

  if (i > 0 && i + 1 < n)
    {
      denom = c[i - 1] - 2 * c[i] + c[i + 1];
      if (denom > 0)
        d = CLAMP (0.5 * (c[i - 1] - c[i + 1]) / denom, -0.5, 0.5);
    }
  return x0 + (i + d) * step;
}

static gboolean
check_series (const KilnImageStack *stack, GError **error)
{
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;

  if (!stack->has_angles)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "the tilt series has no tilt angles (give a .tlt file)");
      return FALSE;
    }
  if (stack->n_tilts < 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "the tilt series has only %u tilt: finding the tilt axis needs at least 2 "
                   "tilts at different angles", stack->n_tilts);
      return FALSE;
    }
  for (guint k = 0; k < stack->n_tilts; k++)
    {
      if (!isfinite (stack->angles_deg[k]))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "tilt angle %u is not a number", k);
          return FALSE;
        }
      lo = MIN (lo, stack->angles_deg[k]);
      hi = MAX (hi, stack->angles_deg[k]);
    }
  if (!(hi - lo > 1e-6))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "all %u tilt angles are %g°: finding the tilt axis needs a range of tilt "
                   "angles", stack->n_tilts, lo);
      return FALSE;
    }
  if (stack->width < 16 || stack->height < 16)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "images of %u × %u px are too small to find the tilt axis (need ≥ 16 × 16)",
                   stack->width, stack->height);
      return FALSE;
    }
  return TRUE;
}

void
kiln_tilt_axis_slice_positions (guint   width,
                                guint   height,
                                double  axis_angle_deg,
                                guint   n_slices,
                                double *positions)
{
  /* extent along the axis = the default width of a slice across an axis turned by 90° */
  double len = kiln_bp_default_width (width, height, axis_angle_deg + 90.0);

  for (guint i = 0; i < n_slices; i++)
    positions[i] = n_slices < 2 ? 0.0 : -0.35 * len + 0.7 * len * i / (n_slices - 1);
}

/* Costs of one slice for each shift (in original px) on a (binned) working copy. */
static gboolean
slice_costs (const Work    *wk,
             double         alpha_deg,
             double         pos_px,
             const double  *shifts_px,
             guint          n_shifts,
             KilnAxisScore  score,
             KilnFilter     filter,
             double        *costs,
             GError       **error)
{
  guint width = kiln_bp_default_width (wk->w, wk->h, alpha_deg);
  guint thickness = MAX (8u, width / 2);
  double max_shift = 0;
  KilnBpLines *lines;

  for (guint i = 0; i < n_shifts; i++)
    max_shift = MAX (max_shift, fabs (shifts_px[i]) / wk->bin);
  /* the window is centred at x = −shift: the lines must reach |shift| further */
  max_shift *= 2;
  lines = kiln_bp_lines_new_full (wk->data, wk->n, wk->w, wk->h, wk->angles, wk->cx, wk->cy,
                                  alpha_deg, pos_px / wk->bin, width, thickness, max_shift,
                                  filter, 1.0, error);
  if (lines == NULL)
    return FALSE;

#pragma omp parallel
  {
    float *buf = g_new (float, (gsize) width * thickness);

#pragma omp for schedule(dynamic)
    for (gint64 i = 0; i < (gint64) n_shifts; i++)
      {
        /* the window stays on the image (centred on its centre) whatever the shift, so that no
         * content enters or leaves it as the shift changes */
        kiln_bp_lines_backproject_at (lines, shifts_px[i] / wk->bin, -shifts_px[i] / wk->bin,
                                      width, thickness, buf);
        costs[i] = kiln_axis_score_slice (buf, width, thickness, score);
      }
    g_free (buf);
  }
  kiln_bp_lines_free (lines);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* common line                                                                               */

typedef struct
{
  const Work *wk;
  float      *means;   /* per tilt, over the disc */
  double      radius;
  int         len;
  int         n_freq;
  fftwf_plan  plan;
} CommonLine;

static gboolean
common_line_init (CommonLine *cl, const Work *wk)
{
  float *probe_in;
  fftwf_complex *probe_out;
  double r2;

  memset (cl, 0, sizeof *cl);
  cl->wk = wk;
  cl->radius = 0.5 * MIN (wk->w, wk->h) - 1.0;
  cl->len = 2 * (int) ceil (cl->radius) + 3;
  cl->n_freq = MAX (4, cl->len / 4);
  r2 = cl->radius * cl->radius;
  cl->means = g_new0 (float, wk->n);

  for (guint k = 0; k < wk->n; k++)
    {
      const float *img = wk->data + (gsize) k * wk->w * wk->h;
      double sum = 0;
      gsize cnt = 0;

      for (guint y = 0; y < wk->h; y++)
        for (guint x = 0; x < wk->w; x++)
          {
            double dx = x - wk->cx, dy = y - wk->cy;
            if (dx * dx + dy * dy <= r2)
              {
                sum += img[(gsize) y * wk->w + x];
                cnt++;
              }
          }
      cl->means[k] = cnt ? (float) (sum / cnt) : 0.0f;
    }
  probe_in = kiln_fft_alloc_real (cl->len);
  probe_out = kiln_fft_alloc_complex (cl->len / 2 + 1);
  cl->plan = kiln_fft_plan_r2c_1d (cl->len, probe_in, probe_out, FFTW_ESTIMATE);
  kiln_fft_free (probe_in);
  kiln_fft_free (probe_out);
  return cl->plan != NULL;
}

static void
common_line_clear (CommonLine *cl)
{
  if (cl->plan)
    kiln_fft_destroy_plan (cl->plan);
  g_free (cl->means);
  memset (cl, 0, sizeof *cl);
}

/* Spread across tilts of the normalised Fourier magnitudes of the profiles along direction
 * α (lower = more alike = more likely the axis). */
static double
common_line_cost (const CommonLine *cl, double alpha_deg)
{
  const Work *wk = cl->wk;
  double a = alpha_deg * G_PI / 180.0, sa = -sin (a), ca = cos (a);
  double r2 = cl->radius * cl->radius, rc = (cl->len - 1) / 2.0;
  int nf = cl->n_freq;
  g_autofree double *mags = g_new0 (double, (gsize) wk->n * nf);
  g_autofree double *mean = g_new0 (double, nf);
  double cost = 0;
  int ylo = MAX (0, (int) floor (wk->cy - cl->radius));
  int yhi = MIN ((int) wk->h - 1, (int) ceil (wk->cy + cl->radius));

#pragma omp parallel
  {
    float *prof = kiln_fft_alloc_real (cl->len);
    fftwf_complex *spec = kiln_fft_alloc_complex (cl->len / 2 + 1);

#pragma omp for schedule(static)
    for (gint64 k = 0; k < (gint64) wk->n; k++)
      {
        const float *img = wk->data + (gsize) k * wk->w * wk->h;
        float m = cl->means[k];
        double norm = 0;

        memset (prof, 0, sizeof (float) * cl->len);
        for (int y = ylo; y <= yhi; y++)
          {
            double dy = y - wk->cy;
            double hw2 = r2 - dy * dy, hw;
            int xlo, xhi;

            if (hw2 < 0)
              continue;
            hw = sqrt (hw2);
            xlo = MAX (0, (int) ceil (wk->cx - hw));
            xhi = MIN ((int) wk->w - 1, (int) floor (wk->cx + hw));
            for (int x = xlo; x <= xhi; x++)
              {
                double v = sa * (x - wk->cx) + ca * dy + rc;
                int i = (int) v;
                float f = (float) (v - i);
                float val = img[(gsize) y * wk->w + x] - m;

                prof[i] += (1 - f) * val;
                prof[i + 1] += f * val;
              }
          }
        fftwf_execute_dft_r2c (cl->plan, prof, spec);
        for (int f = 0; f < nf; f++)
          {
            double re = spec[f + 1][0], im = spec[f + 1][1];
            double mag = sqrt (re * re + im * im);

            mags[(gsize) k * nf + f] = mag;
            norm += mag * mag;
          }
        norm = norm > 0 ? 1.0 / sqrt (norm) : 0;
        for (int f = 0; f < nf; f++)
          mags[(gsize) k * nf + f] *= norm;
      }
    kiln_fft_free (prof);
    kiln_fft_free (spec);
  }

  for (guint k = 0; k < wk->n; k++)
    for (int f = 0; f < nf; f++)
      mean[f] += mags[(gsize) k * nf + f] / wk->n;
  for (guint k = 0; k < wk->n; k++)
    for (int f = 0; f < nf; f++)
      {
        double d = mags[(gsize) k * nf + f] - mean[f];
        cost += d * d;
      }
  return cost / wk->n;
}

/* Grid search of α over [lo, lo + step·(n − 1)]. Returns in @best up to @max_best local minima
 * (parabola-refined), best first, whose cost is within 1.5 × the lowest; the count in
 * @n_best. */
static gboolean
common_line_search (const CommonLine   *cl,
                    double              lo,
                    double              step,
                    guint               n,
                    gboolean            periodic,
                    double             *best,
                    guint               max_best,
                    guint              *n_best,
                    GCancellable       *cancellable,
                    const KilnProgress *p,
                    GError            **error)
{
  g_autofree double *c = g_new (double, n);
  g_autofree guint *minima = g_new (guint, n);
  guint n_min = 0;

  for (guint i = 0; i < n; i++)
    {
      if (i % 16 == 0)
        {
          if (kiln_check_cancelled (cancellable, error))
            return FALSE;
          kiln_progress_report (p, (double) i / n, "Estimating the tilt-axis angle");
        }
      c[i] = common_line_cost (cl, lo + step * i);
    }
  for (guint i = 0; i < n; i++)
    {
      double l, r;

      if (!periodic && (i == 0 || i == n - 1))
        {
          /* an end counts only when it is the global minimum */
          if (i == argmin_of (c, n))
            minima[n_min++] = i;
          continue;
        }
      l = c[(i + n - 1) % n];
      r = c[(i + 1) % n];
      if (c[i] <= l && c[i] < r)
        minima[n_min++] = i;
    }
  /* sort the minima by cost (insertion sort: few) */
  for (guint a = 1; a < n_min; a++)
    for (guint b = a; b > 0 && c[minima[b]] < c[minima[b - 1]]; b--)
      {
        guint t = minima[b];
        minima[b] = minima[b - 1];
        minima[b - 1] = t;
      }
  *n_best = 0;
  for (guint m = 0; m < n_min && *n_best < max_best; m++)
    {
      guint i = minima[m];
      double l, r, d = 0, denom;

      if (m > 0 && c[i] > 3.0 * c[minima[0]])
        break;
      if (!periodic && (i == 0 || i == n - 1))
        {
          best[(*n_best)++] = lo + i * step;
          continue;
        }
      l = c[(i + n - 1) % n];
      r = c[(i + 1) % n];
      denom = l - 2 * c[i] + r;
      if (denom > 0)
        d = CLAMP (0.5 * (l - r) / denom, -0.5, 0.5);
      best[(*n_best)++] = lo + (i + d) * step;
    }
  return TRUE;
}

/* Common-line candidates for the axis angle (up to @max_out, best first): a coarse search over
 * the whole period (or ±5° around @near_deg), each local minimum refined in 0.1° steps. */
static gboolean
common_line_estimate (const KilnImageStack *stack,
                      double                near_deg,
                      double               *angles,
                      guint                 max_out,
                      guint                *n_out,
                      GCancellable         *cancellable,
                      const KilnProgress   *p,
                      GError              **error)
{
  Work wc, wf;
  CommonLine cl;
  KilnProgress sub;
  double coarse[6];
  guint n_coarse = 0;
  gboolean ok;

  max_out = CLAMP (max_out, 1u, G_N_ELEMENTS (coarse));
  if (!work_init (&wc, stack, bin_for (stack->width, stack->height, CL_COARSE_SIZE), error))
    return FALSE;
  common_line_init (&cl, &wc);
  sub = kiln_progress_sub (p, 0.0, 0.5);
  if (isnan (near_deg))
    /* 1° steps over the half-open period (−45°, 135°] */
    ok = common_line_search (&cl, -44.0, 1.0, 180, TRUE, coarse, max_out, &n_coarse,
                             cancellable, &sub, error);
  else
    /* 0.5° steps within ±5° of the given angle */
    ok = common_line_search (&cl, near_deg - 5.0, 0.5, 21, FALSE, coarse, 1, &n_coarse,
                             cancellable, &sub, error);
  common_line_clear (&cl);
  work_clear (&wc);
  if (!ok)
    return FALSE;

  if (!work_init (&wf, stack, bin_for (stack->width, stack->height, CL_FINE_SIZE), error))
    return FALSE;
  common_line_init (&cl, &wf);
  *n_out = 0;
  for (guint i = 0; i < n_coarse && ok; i++)
    {
      double best;
      guint one = 0;

      sub = kiln_progress_sub (p, 0.5 + 0.5 * i / n_coarse, 0.5 + 0.5 * (i + 1) / n_coarse);
      ok = common_line_search (&cl, coarse[i] - 1.5, 0.1, 31, FALSE, &best, 1, &one,
                               cancellable, &sub, error);
      if (ok && one == 1)
        {
          if (isnan (near_deg))
            {
              while (best <= -45.0)
                best += 180.0;
              while (best > 135.0)
                best -= 180.0;
            }
          angles[(*n_out)++] = best;
        }
    }
  common_line_clear (&cl);
  work_clear (&wf);
  if (ok && *n_out == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   "no tilt-axis angle candidate found by the common-line method");
      return FALSE;
    }
  return ok;
}

gboolean
kiln_tilt_axis_common_line (const KilnImageStack *stack,
                            double               *axis_angle_deg,
                            GCancellable         *cancellable,
                            KilnProgressFunc      progress,
                            gpointer              progress_data,
                            GError              **error)
{
  KilnProgress p;
  double angles[1];
  guint n = 0;

  g_return_val_if_fail (stack != NULL && axis_angle_deg != NULL, FALSE);
  if (!check_series (stack, error))
    return FALSE;
  kiln_progress_init (&p, progress, progress_data);

  if (!common_line_estimate (stack, NAN, angles, 1, &n, cancellable, &p, error))
    return FALSE;
  *axis_angle_deg = angles[0];
  kiln_progress_report (&p, 1.0, NULL);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* shift curves                                                                              */

gboolean
kiln_tilt_axis_cost_curve (const KilnImageStack *stack,
                           double                axis_angle_deg,
                           const double         *slice_pos_px,
                           guint                 n_slices,
                           const double         *shifts_px,
                           guint                 n_shifts,
                           KilnAxisScore         score,
                           KilnFilter            filter,
                           double               *costs,
                           GCancellable         *cancellable,
                           GError              **error)
{
  Work wk;
  g_autofree double *c = g_new (double, MAX (n_shifts, 1u));

  g_return_val_if_fail (stack != NULL && costs != NULL, FALSE);
  if (!check_series (stack, error))
    return FALSE;
  if (n_slices == 0 || n_shifts == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "a tilt-axis cost curve needs at least one slice and one shift");
      return FALSE;
    }
  work_init (&wk, stack, 1, NULL);
  memset (costs, 0, sizeof (double) * n_shifts);
  for (guint i = 0; i < n_slices; i++)
    {
      double med;

      if (kiln_check_cancelled (cancellable, error))
        return FALSE;
      if (!slice_costs (&wk, axis_angle_deg, slice_pos_px[i], shifts_px, n_shifts, score, filter,
                        c, error))
        return FALSE;
      med = median_of (c, n_shifts);
      for (guint j = 0; j < n_shifts; j++)
        costs[j] += med > 0 ? c[j] / med : c[j];
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* the automatic search                                                                      */

void
kiln_tilt_axis_params_init (KilnTiltAxisParams *params)
{
  memset (params, 0, sizeof *params);
  params->axis_angle_deg = NAN;
  params->refine_angle = TRUE;
  params->slope_refine = FALSE;
  params->n_slices = 7;
  params->max_shift_px = 0;
  params->score = KILN_AXIS_SCORE_SHARPNESS;
  params->filter = KILN_FILTER_HAMMING;
}

void
kiln_tilt_axis_result_free (KilnTiltAxisResult *result)
{
  if (result == NULL)
    return;
  g_free (result->curve_shift_px);
  g_free (result->curve_score);
  g_free (result->slice_pos_px);
  g_free (result->slice_shift_px);
  g_free (result->slice_weight);
  g_free (result);
}

/* Joint (slice-normalised) coarse costs at angle α; also each slice's best shift and weight. */
static gboolean
coarse_pass (const Work               *wk,
             double                    alpha,
             const KilnTiltAxisParams *params,
             const double             *pos,
             guint                     n_slices,
             const double             *shifts,
             guint                     n_shifts,
             double                   *joint,
             double                   *slice_best,
             double                   *slice_weight,
             GCancellable             *cancellable,
             const KilnProgress       *p,
             GError                  **error)
{
  g_autofree double *c = g_new (double, n_shifts);

  memset (joint, 0, sizeof (double) * n_shifts);
  for (guint i = 0; i < n_slices; i++)
    {
      double med, mn;

      if (kiln_check_cancelled (cancellable, error))
        return FALSE;
      kiln_progress_report (p, (double) i / n_slices, "Scoring tilt-axis shifts");
      if (!slice_costs (wk, alpha, pos[i], shifts, n_shifts, params->score, params->filter, c,
                        error))
        return FALSE;
      med = median_of (c, n_shifts);
      mn = c[argmin_of (c, n_shifts)];
      for (guint j = 0; j < n_shifts; j++)
        joint[j] += med > 0 ? c[j] / med : c[j];
      if (slice_best)
        slice_best[i] = parabola_min (c, n_shifts, shifts[0], shifts[1] - shifts[0]);
      if (slice_weight)
        slice_weight[i] = med > 0 ? CLAMP (1.0 - mn / med, 0.0, 1.0) : 0.0;
    }
  return TRUE;
}

/* Sub-pixel best shift of one slice near @centre: grid ±half_n·step, re-centred (up to 3 times)
 * while the minimum sits on the grid's edge. */
static gboolean
fine_slice (const Work               *wk,
            double                    alpha,
            const KilnTiltAxisParams *params,
            double                    pos,
            double                    centre,
            guint                     half_n,
            double                    step,
            double                    limit,
            double                   *best,
            GError                  **error)
{
  guint n = 2 * half_n + 1;
  g_autofree double *s = g_new (double, n);
  g_autofree double *c = g_new (double, n);

  for (int tries = 0; tries < 4; tries++)
    {
      guint i;

      for (guint j = 0; j < n; j++)
        s[j] = centre + ((double) j - half_n) * step;
      if (!slice_costs (wk, alpha, pos, s, n, params->score, params->filter, c, error))
        return FALSE;
      i = argmin_of (c, n);
      if ((i == 0 || i == n - 1) && fabs (s[i]) < limit && tries < 3)
        {
          centre = s[i];
          continue;
        }
      *best = parabola_min (c, n, s[0], step);
      return TRUE;
    }
  *best = centre;
  return TRUE;
}

/* Weighted straight-line fit y = icpt + slope·x over the points of weight ≥ 0.02, dropping
 * outliers (residual > max(1, 3 × median |residual|)) once. FALSE with fewer than 3 points. */
static gboolean
fit_line (const double *x, const double *y, const double *w, guint n, double *slope,
          double *icpt, double *slope_sd)
{
  g_autofree gboolean *use = g_new0 (gboolean, n);
  g_autofree double *res = g_new0 (double, n);

  for (guint i = 0; i < n; i++)
    use[i] = w[i] >= 0.02;
  for (int pass = 0; pass < 2; pass++)
    {
      double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, det, mad, lim;
      guint m = 0;

      for (guint i = 0; i < n; i++)
        if (use[i])
          {
            m++;
            sw += w[i];
            sx += w[i] * x[i];
            sy += w[i] * y[i];
            sxx += w[i] * x[i] * x[i];
            sxy += w[i] * x[i] * y[i];
          }
      det = sw * sxx - sx * sx;
      if (m < 3 || det <= 0)
        return FALSE;
      *slope = (sw * sxy - sx * sy) / det;
      *icpt = (sy - *slope * sx) / sw;
      if (pass == 1)
        {
          /* standard deviation of the slope from the weighted residuals (weights normalised
           * to a mean of 1) */
          double r2 = 0, xm = sx / sw, sxc = 0;

          for (guint i = 0; i < n; i++)
            if (use[i])
              {
                double wi = w[i] * m / sw, r = y[i] - *icpt - *slope * x[i];
                r2 += wi * r * r;
                sxc += wi * (x[i] - xm) * (x[i] - xm);
              }
          *slope_sd = m > 2 && sxc > 0 ? sqrt (r2 / (m - 2) / sxc) : G_MAXDOUBLE;
          break;
        }
      m = 0;
      for (guint i = 0; i < n; i++)
        if (use[i])
          res[m++] = fabs (y[i] - *icpt - *slope * x[i]);
      mad = median_of (res, m);
      lim = MAX (1.0, 3 * mad);
      for (guint i = 0; i < n; i++)
        if (use[i] && fabs (y[i] - *icpt - *slope * x[i]) > lim)
          use[i] = FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* feature moments: the projected centre of mass of every band along the axis                */

/* The content of each tilt (background removed): the pixels of a (binned) copy that belong to
 * objects, as coordinates from the image centre (original px) and background-subtracted value.
 * Every object point (x, z) of the slice at v along the axis is seen at u = s + x cos θ +
 * z sin θ across the axis, so the centre of mass of a band along the axis follows
 * s + X cos θ + Z sin θ exactly (blur and sampling preserve centres of mass) — as long as the
 * band's content stays inside the image (checked by its mass) and the angle is right (no mass
 * moves between bands). */
typedef struct
{
  guint   n;
  gsize  *start;   /* n + 1 offsets into px, py, q */
  float  *px, *py, *q;
  guint8 *edge;    /* the pixel is object on the image's border: the object leaves the field */
  double *cos_t, *sin_t;
  double  radius;  /* max distance of a content pixel from the centre, px */
  double  pix;     /* working pixel size in original px */
} Moments;

static void
moments_clear (Moments *m)
{
  g_free (m->start);
  kiln_free (m->px);
  kiln_free (m->py);
  kiln_free (m->q);
  kiln_free (m->edge);
  g_free (m->cos_t);
  g_free (m->sin_t);
  memset (m, 0, sizeof *m);
}

/* median of @n floats (a strided sample of at most 65536 of them) */
static double
float_median (const float *v, gsize n, gsize step)
{
  gsize stride = MAX ((gsize) 1, n / 65536), m = 0;
  g_autofree double *d = g_new (double, n / stride + 1);

  for (gsize i = 0; i < n; i += stride)
    d[m++] = v[i * step];
  qsort (d, m, sizeof (double), cmp_double);
  return d[m / 2];
}

static gboolean
moments_init (Moments *m, const Work *wk, GError **error)
{
  gsize npix = (gsize) wk->w * wk->h, total = 0;
  guint8 *mask = kiln_alloc ((gsize) wk->n * npix, 1, TRUE, "tilt-axis object mask", error);
  g_autofree double *bg = g_new (double, wk->n);
  g_autofree double *thr_k = g_new (double, wk->n);
  float *smooth = mask ? kiln_alloc ((gsize) wk->n * npix, sizeof (float), FALSE,
                                     "smoothed tilt series", error) : NULL;
  double r2max = 0;

  memset (m, 0, sizeof *m);
  if (smooth == NULL || mask == NULL)
    {
      kiln_free (smooth);
      kiln_free (mask);
      return FALSE;
    }
  m->n = wk->n;
  m->pix = wk->bin;
  m->start = g_new0 (gsize, wk->n + 1);
  m->cos_t = g_new (double, wk->n);
  m->sin_t = g_new (double, wk->n);
  for (guint k = 0; k < wk->n; k++)
    {
      m->cos_t[k] = cos (wk->angles[k] * G_PI / 180.0);
      m->sin_t[k] = sin (wk->angles[k] * G_PI / 180.0);
    }
  /* background: the median of each tilt (objects cover less than half of the field); object
   * mask: the 3 × 3 mean above 4 σ of that mean (σ: the larger of the white-noise estimate
   * from neighbour differences / 3 and the median absolute value of the mean itself, which
   * includes correlated noise) and above 2 % of the brightest object, dilated by 2 px */
#pragma omp parallel for schedule(dynamic)
  for (gint64 k = 0; k < (gint64) wk->n; k++)
    {
      const float *img = wk->data + (gsize) k * npix;
      guint8 *mk = mask + (gsize) k * npix;
      g_autofree float *diff = g_new (float, npix / 2 + 1);
      g_autofree float *absd = g_new (float, npix);
      float *sm = smooth + (gsize) k * npix;
      double sigma, mx = 0, thr;
      gsize nd = 0;

      bg[k] = float_median (img, npix, 1);
      for (guint y = 0; y < wk->h; y++)
        for (guint x = 0; x + 1 < wk->w; x += 2)
          diff[nd++] = fabsf (img[(gsize) y * wk->w + x + 1] - img[(gsize) y * wk->w + x]);
      sigma = float_median (diff, nd, 1) / (0.6745 * G_SQRT2);
      for (guint y = 0; y < wk->h; y++)
        for (guint x = 0; x < wk->w; x++)
          {
            double acc = 0;
            guint cnt = 0;

            for (int dy = -1; dy <= 1; dy++)
              for (int dx = -1; dx <= 1; dx++)
                {
                  int yy = (int) y + dy, xx = (int) x + dx;

                  if (yy < 0 || xx < 0 || yy >= (int) wk->h || xx >= (int) wk->w)
                    continue;
                  acc += img[(gsize) yy * wk->w + xx] - bg[k];
                  cnt++;
                }
            sm[(gsize) y * wk->w + x] = (float) (acc / cnt);
            mx = MAX (mx, acc / cnt);
          }
      /* the noise of the smoothed image itself (correlated noise included): the median
       * absolute deviation of the smoothed values, most of which are background */
      for (gsize i = 0; i < npix; i++)
        absd[i] = fabsf (sm[i]);
      sigma = MAX (sigma / 3, float_median (absd, npix, 1) / 0.6745);
      thr = MAX (4 * sigma, 0.02 * mx);
      thr_k[k] = thr;
      for (guint y = 0; y < wk->h; y++)
        for (guint x = 0; x < wk->w; x++)
          if (sm[(gsize) y * wk->w + x] > thr)
            for (int dy = -2; dy <= 2; dy++)
              for (int dx = -2; dx <= 2; dx++)
                {
                  int yy = (int) y + dy, xx = (int) x + dx;

                  if (yy >= 0 && xx >= 0 && yy < (int) wk->h && xx < (int) wk->w)
                    mk[(gsize) yy * wk->w + xx] = 1;
                }
    }
  for (guint k = 0; k < wk->n; k++)
    {
      for (gsize i = 0; i < npix; i++)
        total += mask[(gsize) k * npix + i];
      m->start[k + 1] = total;
    }
  m->px = kiln_alloc (MAX (total, (gsize) 1), sizeof (float), FALSE, "tilt-axis content", error);
  m->py = m->px ? kiln_alloc (MAX (total, (gsize) 1), sizeof (float), FALSE, "tilt-axis content",
                              error) : NULL;
  m->q = m->py ? kiln_alloc (MAX (total, (gsize) 1), sizeof (float), FALSE, "tilt-axis content",
                             error) : NULL;
  m->edge = m->q ? kiln_alloc (MAX (total, (gsize) 1), 1, TRUE, "tilt-axis content", error)
                  : NULL;
  if (m->edge == NULL)
    {
      kiln_free (smooth);
      kiln_free (mask);
      moments_clear (m);
      return FALSE;
    }
  for (guint k = 0; k < wk->n; k++)
    {
      const float *img = wk->data + (gsize) k * npix;
      const guint8 *mk = mask + (gsize) k * npix;
      gsize o = m->start[k];

      for (guint y = 0; y < wk->h; y++)
        for (guint x = 0; x < wk->w; x++)
          if (mk[(gsize) y * wk->w + x])
            {
              double dx = (x - wk->cx) * wk->bin, dy = (y - wk->cy) * wk->bin;

              m->px[o] = (float) dx;
              m->py[o] = (float) dy;
              m->q[o] = (float) (img[(gsize) y * wk->w + x] - bg[k]);
              m->edge[o] = (x == 0 || y == 0 || x + 1 == wk->w || y + 1 == wk->h)
                           && smooth[(gsize) k * npix + (gsize) y * wk->w + x] > thr_k[k];
              r2max = MAX (r2max, dx * dx + dy * dy);
              o++;
            }
    }
  m->radius = sqrt (r2max) + 2 * wk->bin;
  kiln_free (smooth);
  kiln_free (mask);
  return TRUE;
}

/* Band sums at axis angle α: bands of width @dv px along the axis (tent weights, a partition
 * of unity), for each tilt k and band b: m0 = Σ q, m1 = Σ q u, mv = Σ q v. Returns nb. */
static guint
moments_bands (const Moments *m, double alpha_deg, double dv, double **m0, double **m1,
               double **mv, guint8 **cut)
{
  double ca = cos (alpha_deg * G_PI / 180.0), sa = sin (alpha_deg * G_PI / 180.0);
  guint nb = (guint) ceil (2 * m->radius / dv) + 2;

  *m0 = g_new0 (double, (gsize) m->n * nb);
  *m1 = g_new0 (double, (gsize) m->n * nb);
  *mv = g_new0 (double, (gsize) m->n * nb);
  *cut = g_new0 (guint8, (gsize) m->n * nb);
#pragma omp parallel for schedule(dynamic)
  for (gint64 k = 0; k < (gint64) m->n; k++)
    {
      double *a0 = *m0 + k * nb, *a1 = *m1 + k * nb, *av = *mv + k * nb;
      guint8 *ac = *cut + k * nb;

      for (gsize i = m->start[k]; i < m->start[k + 1]; i++)
        {
          double u = m->px[i] * ca + m->py[i] * sa, v = -m->px[i] * sa + m->py[i] * ca;
          double f = (v + m->radius) / dv, t, q = m->q[i];
          int b = (int) floor (f);

          if (b < 0 || b + 1 >= (int) nb)
            continue;
          t = f - b;
          if (m->edge[i])
            {
              ac[b] |= t < 1;
              ac[b + 1] |= t > 0;
            }
          a0[b] += (1 - t) * q;
          a1[b] += (1 - t) * q * u;
          av[b] += (1 - t) * q * v;
          a0[b + 1] += t * q;
          a1[b + 1] += t * q * u;
          av[b + 1] += t * q * v;
        }
    }
  return nb;
}

/* Solves the 3 × 3 symmetric system a·x = b (Cramer); FALSE when singular. */
static gboolean
solve3 (const double a[3][3], const double b[3], double x[3])
{
  double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
               - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
               + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);

  if (!(fabs (det) > 1e-12))
    return FALSE;
  for (int c = 0; c < 3; c++)
    {
      double t[3][3];

      memcpy (t, a, sizeof t);
      for (int r = 0; r < 3; r++)
        t[r][c] = b[r];
      x[c] = (t[0][0] * (t[1][1] * t[2][2] - t[1][2] * t[2][1])
              - t[0][1] * (t[1][0] * t[2][2] - t[1][2] * t[2][0])
              + t[0][2] * (t[1][0] * t[2][1] - t[1][1] * t[2][0])) / det;
    }
  return TRUE;
}

/* The shift of each band at angle α from its centre-of-mass trajectory, and the straight-line
 * fit s(v) = s₀ + slope·v over the bands (weights: band mass). Tilts where a band's mass is off
 * its median by more than 3 % (content entering or leaving the field, or crossing bands) are
 * left out of that band's fit; a band needs MOM_MIN_KEPT of the tilts. FALSE when fewer than 3 bands
 * (or, for @slope == NULL, 1 band) are usable. */
static gboolean
moments_fit (const Moments *m, double alpha_deg, double *s0, double *slope, double *slope_sd,
             double *rms_px, guint *n_used)
{
  g_autofree double *m0 = NULL, *m1 = NULL, *mv = NULL;
  g_autofree guint8 *cut = NULL;
  double dv = MAX (4.0, 2 * m->pix);
  guint nb = moments_bands (m, alpha_deg, dv, &m0, &m1, &mv, &cut);
  g_autofree double *bs = g_new (double, nb), *bvv = g_new (double, nb);
  g_autofree double *bw = g_new (double, nb), *med = g_new (double, nb);
  g_autofree double *col = g_new (double, m->n);
  double wmax = 0, r2 = 0, r2w = 0, icpt, sl, sd;
  guint nu = 0;

  for (guint b = 0; b < nb; b++)
    {
      guint nc = 0;

      for (guint k = 0; k < m->n; k++)
        if (!cut[(gsize) k * nb + b])
          col[nc++] = m0[(gsize) k * nb + b];
      med[b] = nc > 0 ? median_of (col, nc) : 0;
      wmax = MAX (wmax, med[b]);
    }
  for (guint b = 0; b < nb; b++)
    {
      double a[3][3] = { { 0 } }, y[3] = { 0 }, x[3], svv = 0, sw = 0, rr = 0;
      guint kept = 0;

      bw[b] = 0;
      if (!(med[b] > 0.02 * wmax))
        continue;
      for (guint k = 0; k < m->n; k++)
        {
          double w0 = m0[(gsize) k * nb + b], c, f[3];

          if (cut[(gsize) k * nb + b] || fabs (w0 - med[b]) > 0.03 * med[b])
            continue;
          c = m1[(gsize) k * nb + b] / w0;
          f[0] = 1;
          f[1] = m->cos_t[k];
          f[2] = m->sin_t[k];
          for (int i = 0; i < 3; i++)
            {
              for (int j = 0; j < 3; j++)
                a[i][j] += f[i] * f[j];
              y[i] += f[i] * c;
            }
          svv += mv[(gsize) k * nb + b];
          sw += w0;
          kept++;
        }
      if (kept < MAX (5u, (guint) ceil (MOM_MIN_KEPT * m->n)) || !solve3 (a, y, x))
        continue;
      for (guint k = 0; k < m->n; k++)
        {
          double w0 = m0[(gsize) k * nb + b], r;

          if (cut[(gsize) k * nb + b] || fabs (w0 - med[b]) > 0.03 * med[b])
            continue;
          r = m1[(gsize) k * nb + b] / w0 - x[0] - x[1] * m->cos_t[k] - x[2] * m->sin_t[k];
          rr += r * r;
        }
      bs[b] = x[0];
      bvv[b] = svv / sw;
      bw[b] = med[b] * kept / m->n;
      r2 += bw[b] * rr / kept;
      r2w += bw[b];
      nu++;
    }
  *n_used = nu;
  *rms_px = r2w > 0 ? sqrt (r2 / r2w) : G_MAXDOUBLE;
  if (nu == 0)
    return FALSE;
  {
    double wm = 0;

    for (guint b = 0; b < nb; b++)
      wm = MAX (wm, bw[b]);
    for (guint b = 0; b < nb; b++)
      bw[b] /= wm;
  }
  if (slope == NULL || nu < 3)
    {
      double sum = 0, w = 0;

      for (guint b = 0; b < nb; b++)
        if (bw[b] > 0)
          {
            sum += bw[b] * bs[b];
            w += bw[b];
          }
      *s0 = sum / w;
      if (slope)
        return FALSE;
      return TRUE;
    }
  if (!fit_line (bvv, bs, bw, nb, &sl, &icpt, &sd))
    return FALSE;
  for (guint b = 0; b < nb; b++)
    if (bw[b] > 0)
      g_debug ("tilt axis moments: α %.3f°, band v %.1f px: shift %.3f px (weight %.3f)",
               alpha_deg, bvv[b], bs[b], bw[b]);
  *s0 = icpt;
  *slope = sl;
  *slope_sd = sd;
  return TRUE;
}

/* Common-line cost on the content: the spread across tilts of the mass profile along the axis
 * (bands of the working pixel size), relative to the mean profile's energy. */
static double
moments_profile_cost (const Moments *m, double alpha_deg)
{
  g_autofree double *m0 = NULL, *m1 = NULL, *mv = NULL;
  g_autofree guint8 *cut = NULL;
  guint nb = moments_bands (m, alpha_deg, MAX (1.0, m->pix), &m0, &m1, &mv, &cut);
  double num = 0, den = 0;

  for (guint b = 0; b < nb; b++)
    {
      double mean = 0;

      for (guint k = 0; k < m->n; k++)
        mean += m0[(gsize) k * nb + b];
      mean /= m->n;
      for (guint k = 0; k < m->n; k++)
        {
          double d = m0[(gsize) k * nb + b] - mean;
          num += d * d;
        }
      den += mean * mean * m->n;
    }
  return den > 0 ? num / den : G_MAXDOUBLE;
}

/* The axis angle whose mass profiles along the axis agree best across tilts: 1° steps over
 * (−45°, 135°] (or 0.5° steps within ±5° of @near_deg), the best minimum refined in 0.1°
 * steps with a parabola. @ratio: its cost over that of the best other local minimum at least
 * 10° away (1 when there is none: undecided). */
static double
moments_angle_search (const Moments *m, double near_deg, double *ratio)
{
  gboolean full = isnan (near_deg);
  guint n = full ? 180 : 21;
  double a0 = full ? -44.0 : near_deg - 5.0, step = full ? 1.0 : 0.5;
  g_autofree double *c = g_new (double, n);
  double fine[21], best, other = G_MAXDOUBLE;
  guint ib;

#pragma omp parallel for schedule(dynamic)
  for (gint64 i = 0; i < (gint64) n; i++)
    c[i] = moments_profile_cost (m, a0 + i * step);
  ib = argmin_of (c, n);
  if (full)
    for (guint i = 0; i < n; i++)
      {
        double d = fabs (fmod (fabs ((double) i - ib) * step + 90.0, 180.0) - 90.0);

        if (d >= 10.0 && c[i] <= c[(i + n - 1) % n] && c[i] <= c[(i + 1) % n])
          other = MIN (other, c[i]);
      }
  *ratio = other < G_MAXDOUBLE && other > 0 ? c[ib] / other : 1.0;
  best = a0 + ib * step;
#pragma omp parallel for schedule(dynamic)
  for (gint64 i = 0; i < 21; i++)
    fine[i] = moments_profile_cost (m, best - 1.0 + 0.1 * i);
  best = parabola_min (fine, 21, best - 1.0, 0.1);
  if (full)
    {
      while (best <= -45.0)
        best += 180.0;
      while (best > 135.0)
        best -= 180.0;
    }
  return best;
}

/* The content of @stack binned to ≤ MOM_FINE_SIZE px. */
static gboolean
moments_fine (Moments *m, const KilnImageStack *stack, GError **error)
{
  Work w;
  gboolean ok;

  if (!work_init (&w, stack, bin_for (stack->width, stack->height, MOM_FINE_SIZE), error))
    return FALSE;
  ok = moments_init (m, &w, error);
  work_clear (&w);
  return ok;
}

/* The axis from the band trajectories, starting at @start_deg: the slope of the band shifts
 * against their position along the axis gives the angle error δ (s(v) = s₀ − v tan δ), applied
 * until it is below 0.005° (a step that reverses the previous one is halved: bands gained or
 * lost at the 3 % mass test make the fit jump slightly). With @refine FALSE the angle is kept.
 * FALSE when the trajectories cannot be fitted or fit the model worse than MOM_MAX_RMS. */
static gboolean
moments_refine (const Moments *m, double start_deg, gboolean refine, double *alpha_deg,
                double *shift_px, double *slope, double *rms_px)
{
  double a = start_deg, s0 = 0, sl = 0, sd = 0, rms = G_MAXDOUBLE, prev = 0;
  guint nu = 0;
  gboolean ok;

  if (!refine)
    {
      ok = moments_fit (m, a, &s0, NULL, &sd, &rms, &nu);
      sl = 0;
    }
  else
    for (int it = 0; ; it++)
      {
        double delta;

        ok = moments_fit (m, a, &s0, &sl, &sd, &rms, &nu);
        if (!ok || it == 16)
          break;
        delta = CLAMP (-atan (sl) * 180.0 / G_PI, -3.0, 3.0);
        g_debug ("tilt axis moments: α %.3f°: shift %.3f px, slope %.5f ± %.5f, rms %.3f px, "
                 "%u bands → Δα %.3f°", a, s0, sl, sd, rms, nu, delta);
        if (fabs (delta) < 0.005)
          break;
        if (delta * prev < 0)
          delta *= 0.5;
        prev = delta;
        a += delta;
      }
  g_debug ("tilt axis moments: from %.3f°: %s α %.3f°, shift %.3f px, rms %.3f px, %u bands",
           start_deg, ok ? "fit" : "no fit", a, s0, rms, nu);
  *alpha_deg = a;
  *shift_px = s0;
  *slope = sl;
  *rms_px = rms;
  return ok && rms < MOM_MAX_RMS;
}

KilnTiltAxisResult *
kiln_tilt_axis_find (const KilnImageStack     *stack,
                     const KilnTiltAxisParams *params_in,
                     GCancellable             *cancellable,
                     KilnProgressFunc          progress,
                     gpointer                  progress_data,
                     GError                  **error)
{
  KilnTiltAxisParams params;
  g_autoptr(KilnTiltAxisResult) res = NULL;
  KilnProgress p, sub;
  Work wc = { 0 }, wf = { 0 };
  guint ns, n_c, half_first, half_next;
  double alpha = 0, max_shift, step_c, step_f, shift0 = 0;
  g_autofree double *shifts_c = NULL, *joint = NULL, *best = NULL;
  gboolean refine, ok = FALSE;
  gint64 t_start = g_get_monotonic_time ();
  double candidates[8];
  guint n_candidates = 0;
  double alpha_coarse;
  Moments mom = { 0 };
  gboolean mom_ok = FALSE;
  double mom_alpha = 0, mom_shift = 0, mom_slope = 0, mom_rms = 0;

  g_return_val_if_fail (stack != NULL, NULL);
  if (params_in)
    params = *params_in;
  else
    kiln_tilt_axis_params_init (&params);
  if (!check_series (stack, error))
    return NULL;
  if (params.n_slices == 0)
    params.n_slices = 7;
  if (params.n_slices > 64)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%u slices requested for the tilt-axis search; at most 64", params.n_slices);
      return NULL;
    }
  if (!isnan (params.axis_angle_deg) && !isfinite (params.axis_angle_deg))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "the axis angle is infinite");
      return NULL;
    }
  max_shift = params.max_shift_px > 0 ? params.max_shift_px
                                      : 0.25 * MIN (stack->width, stack->height);
  if (!isfinite (max_shift) || max_shift > MAX (stack->width, stack->height))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "tilt-axis shift range ±%g px is larger than the image (%u × %u px)",
                   max_shift, stack->width, stack->height);
      return NULL;
    }

  kiln_progress_init (&p, progress, progress_data);
  res = g_new0 (KilnTiltAxisResult, 1);
  res->common_line_angle_deg = NAN;

  /* 1. start angle: the common-line estimate (within ±5° of a given angle); with several
   *    similar common-line minima (e.g. a cylindrical needle looks alike along and across
   *    the axis) the back-projection decides: the candidate with the sharpest shift curve */
  ns = params.n_slices;
  if (isnan (params.axis_angle_deg) || params.refine_angle)
    {
      sub = kiln_progress_sub (&p, 0.0, 0.15);
      if (!common_line_estimate (stack, params.axis_angle_deg, candidates,
                                 G_N_ELEMENTS (candidates) - 1, &n_candidates, cancellable, &sub,
                                 error))
        return NULL;
      if (isnan (params.axis_angle_deg))
        {
          /* an object symmetric about the axis (a needle, a cylinder) projects alike along and
           * across the axis: let the back-projection judge the perpendicular direction too */
          double perp = candidates[0] + 90.0;

          if (perp > 135.0)
            perp -= 180.0;
          candidates[n_candidates++] = perp;
        }
      /* the mass-profile common line (on the background-subtracted content, no Fourier
       * magnitudes): when its best minimum is clearly below every other one it is taken
       * alone, otherwise it joins the candidates */
      {
        Work wm;
        Moments mc;
        double ratio, a;

        if (!work_init (&wm, stack, bin_for (stack->width, stack->height, MOM_COARSE_SIZE),
                        error))
          return NULL;
        if (!moments_init (&mc, &wm, error))
          {
            work_clear (&wm);
            return NULL;
          }
        work_clear (&wm);
        a = moments_angle_search (&mc, params.axis_angle_deg, &ratio);
        moments_clear (&mc);
        g_debug ("tilt axis: mass-profile common line %.3f° (cost ratio to the next minimum "
                 "%.3f)", a, ratio);
        /* a clear mass-profile minimum that the band trajectories confirm (their angle within
         * MOM_AGREE_DEG of it) is the only candidate */
        if (ratio < 0.5)
          {
            if (!moments_fine (&mom, stack, error))
              return NULL;
            if (moments_refine (&mom, a, TRUE, &mom_alpha, &mom_shift, &mom_slope, &mom_rms)
                && fabs (mom_alpha - a) <= MOM_AGREE_DEG)
              {
                mom_ok = TRUE;
                if (isnan (params.axis_angle_deg))
                  {
                    while (mom_alpha <= -45.0)
                      mom_alpha += 180.0;
                    while (mom_alpha > 135.0)
                      mom_alpha -= 180.0;
                  }
                candidates[0] = mom_alpha;
                n_candidates = 1;
              }
          }
      }
    }
  else
    {
      candidates[0] = params.axis_angle_deg;
      n_candidates = 1;
    }
  g_debug ("tilt axis: %u start angle(s), first %.3f° after %.3f s", n_candidates,
           candidates[0], (g_get_monotonic_time () - t_start) * 1e-6);

  refine = params.refine_angle && params.slope_refine && ns >= 3;
  res->n_slices = ns;
  res->slice_pos_px = g_new (double, ns);
  res->slice_shift_px = g_new (double, ns);
  res->slice_weight = g_new (double, ns);

  /* 2. coarse shift search on the binned copy */
  if (!work_init (&wc, stack, bin_for (stack->width, stack->height, COARSE_SIZE), error))
    goto out;
  if (!work_init (&wf, stack, bin_for (stack->width, stack->height, FINE_SIZE), error))
    goto out;
  step_c = wc.bin;
  n_c = 2 * (guint) floor (max_shift / step_c) + 1;
  if (n_c < 5)
    n_c = 5;
  shifts_c = g_new (double, n_c);
  joint = g_new (double, n_c);
  best = g_new (double, ns);
  for (guint j = 0; j < n_c; j++)
    shifts_c[j] = ((double) j - (n_c - 1) / 2) * step_c;
  {
    g_autofree double *cj = g_new (double, n_c);
    g_autofree double *cb = g_new (double, ns);
    g_autofree double *cw = g_new (double, ns);
    g_autofree double *cpos = g_new (double, ns);
    double best_conf = -1;

    for (guint c = 0; c < n_candidates; c++)
      {
        double conf, mn, med;

        sub = kiln_progress_sub (&p, 0.15 + 0.3 * c / n_candidates,
                                 0.15 + 0.3 * (c + 1) / n_candidates);
        kiln_tilt_axis_slice_positions (stack->width, stack->height, candidates[c], ns, cpos);
        if (!coarse_pass (&wc, candidates[c], &params, cpos, ns, shifts_c, n_c, cj, cb, cw,
                          cancellable, &sub, error))
          goto out;
        mn = cj[argmin_of (cj, n_c)];
        med = median_of (cj, n_c);
        conf = med > 0 ? 1.0 - mn / med : 0.0;
        g_debug ("tilt axis: candidate %.3f°: confidence %.4f", candidates[c], conf);
        if (conf > best_conf)
          {
            best_conf = conf;
            alpha = candidates[c];
            memcpy (joint, cj, sizeof (double) * n_c);
            memcpy (best, cb, sizeof (double) * ns);
            memcpy (res->slice_weight, cw, sizeof (double) * ns);
            memcpy (res->slice_pos_px, cpos, sizeof (double) * ns);
          }
      }
  }
  if (n_candidates > 0 && !isnan (candidates[0]) && params.refine_angle)
    res->common_line_angle_deg = alpha;
  shift0 = parabola_min (joint, n_c, shifts_c[0], step_c);
  alpha_coarse = alpha;
  g_debug ("tilt axis: coarse shift %.3f px after %.3f s", shift0,
           (g_get_monotonic_time () - t_start) * 1e-6);
  for (guint i = 0; i < ns; i++)
    if (res->slice_weight[i] < 0.02)
      best[i] = shift0;   /* an empty slice follows the joint estimate */

  /* 3a. the centre-of-mass trajectories of bands along the axis: the shift of each band, and
   *     the angle from their slope (exact on clean data, docs/tilt-axis.md); kept when they
   *     fit the model and (with the angle searched) confirm the chosen candidate */
  if (!mom_ok)
    {
      if (mom.n == 0 && !moments_fine (&mom, stack, error))
        goto out;
      if (kiln_check_cancelled (cancellable, error))
        goto out;
      if (moments_refine (&mom, alpha, params.refine_angle, &mom_alpha, &mom_shift, &mom_slope,
                          &mom_rms)
          && fabs (mom_alpha - alpha) <= MOM_AGREE_DEG)
        mom_ok = TRUE;
    }
  if (mom_ok)
    {
      alpha = mom_alpha;
      shift0 = mom_shift;
    }

  if (mom_ok)
    {
      for (guint i = 0; i < ns; i++)
        res->slice_shift_px[i] = shift0 + mom_slope * res->slice_pos_px[i];
      goto curve;
    }

  /* 3. sub-pixel per slice, angle from the slope of best shift against slice position */
  step_f = 0.25 * wf.bin;
  half_first = (guint) ceil (1.5 * step_c / step_f) + 1;
  half_next = 3;
  for (int it = 0; it < (refine ? 5 : 1); it++)
    {
      double slope, icpt, delta, slope_sd;

      sub = kiln_progress_sub (&p, 0.45 + 0.08 * it, 0.53 + 0.08 * it);
      for (guint i = 0; i < ns; i++)
        {
          if (kiln_check_cancelled (cancellable, error))
            goto out;
          kiln_progress_report (&sub, (double) i / ns, "Refining the tilt axis");
          if (!fine_slice (&wf, alpha, &params, res->slice_pos_px[i], best[i],
                           it == 0 ? half_first : half_next, step_f, max_shift + 2 * step_c,
                           &best[i], error))
            goto out;
        }
      if (!refine)
        break;
      if (!fit_line (res->slice_pos_px, best, res->slice_weight, ns, &slope, &icpt, &slope_sd))
        break;
      /* s(v) = s₀ − v·tan δ with δ = α_true − α */
      delta = -atan (slope) * 180.0 / G_PI;
      for (guint i = 0; i < ns; i++)
        g_debug ("tilt axis: α %.3f°, slice %u at %.1f px: best shift %.3f px (weight %.3f)",
                 alpha, i, res->slice_pos_px[i], best[i], res->slice_weight[i]);
      g_debug ("tilt axis: slope %.5f ± %.5f, intercept %.3f px → Δα %.3f°", slope, slope_sd,
               icpt, delta);
      if (fabs (slope) < 2 * slope_sd)
        {
          /* not significant: keep the angle (the start is as good as this fit can tell) */
          for (guint i = 0; i < ns; i++)
            best[i] = icpt;
          break;
        }
      delta = CLAMP (delta, -4.0, 4.0);
      alpha += delta;
      for (guint i = 0; i < ns; i++)
        best[i] = icpt;
      if (fabs (delta) < 0.02)
        break;
    }
  for (guint i = 0; i < ns; i++)
    res->slice_shift_px[i] = best[i];
  g_debug ("tilt axis: angle %.3f° after %.3f s", alpha,
           (g_get_monotonic_time () - t_start) * 1e-6);

  /* 4. final joint shift at the final angle, and the curve */
  {
    guint half = 4, n = 2 * half + 1;
    double centre = 0, wsum = 0;
    double s[9], c[9], ci[9];

    for (guint i = 0; i < ns; i++)
      {
        double w = MAX (res->slice_weight[i], 1e-3);
        centre += w * best[i];
        wsum += w;
      }
    centre /= wsum;
    for (int tries = 0; tries < 4; tries++)
      {
        guint im;

        for (guint j = 0; j < n; j++)
          {
            s[j] = centre + ((double) j - half) * step_f;
            c[j] = 0;
          }
        for (guint i = 0; i < ns; i++)
          {
            double med;

            if (kiln_check_cancelled (cancellable, error))
              goto out;
            if (!slice_costs (&wf, alpha, res->slice_pos_px[i], s, n, params.score,
                              params.filter, ci, error))
              goto out;
            med = median_of (ci, n);
            for (guint j = 0; j < n; j++)
              c[j] += med > 0 ? ci[j] / med : ci[j];
          }
        im = argmin_of (c, n);
        if ((im == 0 || im == n - 1) && tries < 3)
          {
            centre = s[im];
            continue;
          }
        break;
      }
    shift0 = parabola_min (c, n, s[0], step_f);
  }

curve:
  g_debug ("tilt axis: shift %.3f px after %.3f s", shift0,
           (g_get_monotonic_time () - t_start) * 1e-6);
  /* the curve at the final angle (the coarse one if the angle barely moved) */
  sub = kiln_progress_sub (&p, 0.9, 1.0);
  if (fabs (alpha - alpha_coarse) > 0.25
      && !coarse_pass (&wc, alpha, &params, res->slice_pos_px, ns, shifts_c, n_c, joint, NULL,
                       NULL, cancellable, &sub, error))
    goto out;
  {
    double mn = joint[argmin_of (joint, n_c)], med = median_of (joint, n_c);

    res->n_curve = n_c;
    res->curve_shift_px = g_new (double, n_c);
    res->curve_score = g_new (double, n_c);
    for (guint j = 0; j < n_c; j++)
      {
        res->curve_shift_px[j] = shifts_c[j];
        res->curve_score[j] = joint[j] > 0 ? mn / joint[j] : 0;
      }
    res->confidence = med > 0 ? CLAMP (1.0 - mn / med, 0.0, 1.0) : 0.0;
  }

  res->axis_angle_deg = alpha;
  res->axis_shift_px = shift0;
  kiln_progress_report (&p, 1.0, NULL);
  ok = TRUE;

out:
  work_clear (&wc);
  work_clear (&wf);
  moments_clear (&mom);
  return ok ? g_steal_pointer (&res) : NULL;
}
