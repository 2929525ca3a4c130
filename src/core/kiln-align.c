/* kiln-align.c — whole tilt-series alignment
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kiln-align.h"
#include "kiln-alloc.h"
#include "kiln-error.h"

static void
xf_identity (KilnXf *xf)
{
  xf->a11 = xf->a22 = 1.0;
  xf->a12 = xf->a21 = 0.0;
  xf->dx = xf->dy = 0.0;
}

static void
sub_progress (double      fraction,
              const char *message,
              gpointer    data)
{
  kiln_progress_report (data, fraction, message);
}

gboolean
kiln_align_method_from_string (const char      *name,
                               KilnAlignMethod *method)
{
  if (g_strcmp0 (name, "xcorr") == 0)
    *method = KILN_ALIGN_XCORR;
  else if (g_strcmp0 (name, "mi") == 0)
    *method = KILN_ALIGN_MI;
  else if (g_strcmp0 (name, "com") == 0)
    *method = KILN_ALIGN_COM;
  else
    return FALSE;
  return TRUE;
}

const char *
kiln_align_method_to_string (KilnAlignMethod method)
{
  switch (method)
    {
    case KILN_ALIGN_XCORR:
      return "xcorr";
    case KILN_ALIGN_COM:
      return "com";
    case KILN_ALIGN_MI:
    default:
      return "mi";
    }
}

void
kiln_align_params_init (KilnAlignParams *params)
{
  params->method = KILN_ALIGN_MI;
  kiln_xcorr_params_init (&params->xcorr);
  kiln_mi_register_params_init (&params->mi);
  params->mi_stretch = KILN_ALIGN_MI_STRETCH_AUTO;
  params->specimen_frame = TRUE;
}

void
kiln_align_result_free (KilnAlignResult *result)
{
  if (result == NULL)
    return;
  g_free (result->xf);
  g_free (result->tilts);
  g_free (result);
}

static KilnAlignResult *
result_new (guint n)
{
  KilnAlignResult *r = g_new0 (KilnAlignResult, 1);

  r->n_tilts = n;
  r->specimen_fit_rms_px = NAN;
  r->xf = g_new0 (KilnXf, n);
  r->tilts = g_new0 (KilnAlignTilt, n);
  for (guint k = 0; k < n; k++)
    {
      xf_identity (&r->xf[k]);
      r->tilts[k].angle_deg = NAN;
      r->tilts[k].neighbour = k;
      r->tilts[k].xcorr_peak = NAN;
      r->tilts[k].mi_nats = NAN;
      r->tilts[k].refine_px = NAN;
      r->tilts[k].stretch = 1.0;
    }
  return r;
}

KilnAlignResult *
kiln_align_result_new_from_xf (const KilnXf *xf,
                               guint         n_tilts)
{
  KilnAlignResult *r = result_new (n_tilts);

  memcpy (r->xf, xf, n_tilts * sizeof (KilnXf));
  for (guint k = 0; k < n_tilts; k++)
    {
      r->tilts[k].dx_px = xf[k].dx;
      r->tilts[k].dy_px = xf[k].dy;
      r->tilts[k].rotation_deg = atan2 (xf[k].a21, xf[k].a11) * 180.0 / G_PI;
      if (fabs (r->tilts[k].rotation_deg) > 1e-9)
        r->has_rotation = TRUE;
    }
  return r;
}

static inline guint
neighbour_of (guint k,
              guint z)
{
  return k > z ? k - 1 : (k < z ? k + 1 : k);
}

/* AUTO mode: the relative gain in the series' total MI that makes the MI stage keep the cosine
 * stretch (see kiln_align_series) */
#define AUTO_STRETCH_GAIN 1.10

/* Per-pair refinement (fills rel[k], the transform moving raw tilt k onto raw tilt r). */
typedef struct
{
  double dx, dy, rot_deg, mi, stretch;
  guint  evals;
} PairResult;

/* Refine one pair by MI with the cosine stretch @factor (1 = none), starting from @start;
 * fills @pr (adds to its evaluation count). */
static gboolean
refine_pair (const float                *fixed,
             const float                *moving,
             guint                       w,
             guint                       h,
             const KilnAlignParams      *params,
             double                      factor,
             const PairResult           *start,
             PairResult                 *pr,
             GCancellable               *cancellable,
             GError                    **error)
{
  KilnMiRegisterParams mp = params->mi;
  guint evals = 0;

  pr->dx = start->dx;
  pr->dy = start->dy;
  pr->rot_deg = start->rot_deg;
  pr->stretch = factor;
  if (factor != 1.0)
    kiln_xcorr_stretch_matrix (params->xcorr.axis_angle_deg, factor, mp.stretch);
  if (!kiln_mi_register (fixed, moving, w, h, &mp, &pr->dx, &pr->dy, &pr->rot_deg, &pr->mi,
                         &evals, cancellable, error))
    return FALSE;
  pr->evals += evals;
  return TRUE;
}


static int
cmp_float (const void *a,
           const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* The specimen frame. Alignment of projections cannot observe a 3-D translation (X, Z) of the
 * specimen relative to the tilt axis: its projection moves by X cos θ + Z sin θ across the axis,
 * exactly like drift. Adjacent-pair alignment therefore returns the truth plus such a term, whose
 * size depends on how each pair's match weights the content (and on the stretch's centre). This
 * fixes it explicitly: the centre of mass of every raw tilt (signed, the tilt's median as the
 * background) is mapped through the tilt's transform, its component across the axis is fitted by
 * c0 + c1 cos θ + c2 sin θ, and the c1, c2 part is removed from the transforms (the reference tilt
 * keeps the identity). The specimen's centre of mass then lies on the tilt axis.
 * Only where that centre of mass is meaningful: returns FALSE (and changes nothing) without angles,
 * with fewer than MIN_TILTS tilts or a span under MIN_SPAN_DEG, when a tilt's net signal changes
 * sign, when the track does not follow the rigid-body form within MAX_FIT_RMS_PX (a texture
 * filling the field has no centre of mass of its own: its track follows the drift instead), or when
 * the correction would exceed 1/8 of the image. */
#define SPECIMEN_MIN_TILTS 7
#define SPECIMEN_MIN_SPAN_DEG 30.0
#define SPECIMEN_MAX_FIT_RMS_PX 0.5

static gboolean
apply_specimen_frame (const KilnImageStack *stack,
                      double                axis_deg,
                      KilnAlignResult      *res,
                      double               *fit_rms_px)
{
  guint n = stack->n_tilts, w = stack->width, h = stack->height, z = res->reference;
  gsize np = (gsize) w * h, step = MAX (np / 16384, 1), ns = (np + step - 1) / step;
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE, ca = cos (axis_deg * G_PI / 180.0);
  double sa = sin (axis_deg * G_PI / 180.0), m[3][4] = { { 0 } }, c[3], ss = 0, umax = 0;
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  g_autofree double *track = NULL;
  g_autofree double *mass = NULL;

  *fit_rms_px = NAN;
  if (!stack->has_angles || n < SPECIMEN_MIN_TILTS)
    return FALSE;
  for (guint k = 0; k < n; k++)
    {
      lo = MIN (lo, stack->angles_deg[k]);
      hi = MAX (hi, stack->angles_deg[k]);
    }
  if (hi - lo < SPECIMEN_MIN_SPAN_DEG)
    return FALSE;
  track = g_new (double, n);
  mass = g_new (double, n);

#pragma omp parallel
  {
    float *sub = g_new (float, ns);   /* about 16384 values: not image-sized */
#pragma omp for schedule(dynamic, 1)
    for (gint64 k = 0; k < (gint64) n; k++)
      {
        const float *img = kiln_image_stack_tilt_const (stack, (guint) k);
        const KilnXf *x = &res->xf[k];
        double mm = 0, mx = 0, my = 0, px, py;
        float bg;
        gsize j = 0;

        for (gsize i = 0; i < np && j < ns; i += step)
          sub[j++] = img[i];
        qsort (sub, j, sizeof (float), cmp_float);
        bg = sub[j / 2];
        for (guint y = 0; y < h; y++)
          {
            const float *row = img + (gsize) y * w;
            double rm = 0, rx = 0;
            for (guint xx = 0; xx < w; xx++)
              {
                double v = row[xx] - bg;
                rm += v;
                rx += v * (xx - cx);
              }
            mm += rm;
            mx += rx;
            my += rm * (y - cy);
          }
        mass[k] = mm;
        px = mm != 0 ? mx / mm : 0;
        py = mm != 0 ? my / mm : 0;
        track[k] = (x->a11 * px + x->a12 * py + x->dx) * ca + (x->a21 * px + x->a22 * py + x->dy) * sa;
      }
    g_free (sub);
  }

  for (guint k = 0; k < n; k++)
    {
      double t = stack->angles_deg[k] * G_PI / 180.0, f[3] = { 1.0, cos (t), sin (t) };
      if (!(mass[k] * mass[0] > 0))
        return FALSE;
      for (int i = 0; i < 3; i++)
        {
          for (int j = 0; j < 3; j++)
            m[i][j] += f[i] * f[j];
          m[i][3] += f[i] * track[k];
        }
    }
  for (int i = 0; i < 3; i++)
    {
      double piv = m[i][i];
      if (!(fabs (piv) > 1e-12))
        return FALSE;
      for (int j = 0; j < 4; j++)
        m[i][j] /= piv;
      for (int r = 0; r < 3; r++)
        if (r != i)
          {
            double f = m[r][i];
            for (int j = 0; j < 4; j++)
              m[r][j] -= f * m[i][j];
          }
    }
  for (int i = 0; i < 3; i++)
    c[i] = m[i][3];
  {
    double tz = stack->angles_deg[z] * G_PI / 180.0;
    for (guint k = 0; k < n; k++)
      {
        double t = stack->angles_deg[k] * G_PI / 180.0;
        double r = track[k] - c[0] - c[1] * cos (t) - c[2] * sin (t);
        ss += r * r;
        umax = MAX (umax, fabs (c[1] * (cos (t) - cos (tz)) + c[2] * (sin (t) - sin (tz))));
      }
    *fit_rms_px = sqrt (ss / n);
    if (!(*fit_rms_px <= SPECIMEN_MAX_FIT_RMS_PX) || umax > MIN (w, h) / 8.0)
      return FALSE;
    for (guint k = 0; k < n; k++)
      {
        double t = stack->angles_deg[k] * G_PI / 180.0;
        double u = c[1] * (cos (t) - cos (tz)) + c[2] * (sin (t) - sin (tz));
        res->xf[k].dx -= u * ca;
        res->xf[k].dy -= u * sa;
      }
  }
  return TRUE;
}

KilnAlignResult *
kiln_align_series (const KilnImageStack  *stack,
                   const KilnAlignParams *params,
                   const KilnAlignResult *start,
                   GCancellable          *cancellable,
                   KilnProgressFunc       progress,
                   gpointer               progress_data,
                   GError               **error)
{
  guint n = stack->n_tilts, w = stack->width, h = stack->height, z;
  g_autofree double *shifts = NULL;
  g_autofree double *peaks = NULL;
  g_autofree double *prior = NULL;
  g_autofree double *stretch = NULL;
  g_autofree PairResult *pairs = NULL;
  g_autofree PairResult *alts = NULL;
  KilnAlignResult *res;
  KilnProgress prog, sub;
  gboolean coarse = TRUE, mi_stretched = FALSE;

  if (n == 0 || w < 16 || h < 16)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Alignment needs at least one tilt of at least 16 × 16 pixels (got %u of "
                   "%u × %u)", n, w, h);
      return NULL;
    }
  if (start != NULL && start->n_tilts != n)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "The starting alignment has %u transforms but the series has %u tilts",
                   start->n_tilts, n);
      return NULL;
    }
  if (kiln_check_cancelled (cancellable, error))
    return NULL;
  if (!kiln_image_stack_check_finite (stack, "the tilt series to align", error))
    return NULL;

  kiln_progress_init (&prog, progress, progress_data);
  z = kiln_image_stack_zero_tilt (stack);
  shifts = g_new0 (double, 2 * (gsize) n);
  peaks = g_new0 (double, n);
  stretch = g_new0 (double, n);
  for (guint k = 0; k < n; k++)
    {
      peaks[k] = NAN;
      stretch[k] = 1.0;
    }

  if (start)
    {
      prior = g_new0 (double, 2 * (gsize) n);
      for (guint k = 0; k < n; k++)
        {
          prior[2 * k] = start->xf[k].dx;
          prior[2 * k + 1] = start->xf[k].dy;
        }
    }

  /* coarse stage */
  if (params->method == KILN_ALIGN_COM)
    {
      sub = kiln_progress_sub (&prog, 0.0, 0.9);
      if (!kiln_com_series (stack, shifts, cancellable, sub_progress, &sub, error))
        return NULL;
    }
  else if (params->method == KILN_ALIGN_MI && start != NULL)
    coarse = FALSE;
  else
    {
      double end = params->method == KILN_ALIGN_MI ? 0.25 : 0.9;
      sub = kiln_progress_sub (&prog, 0.0, end);
      if (!kiln_xcorr_series (stack, &params->xcorr, prior, shifts, peaks, stretch, cancellable,
                              sub_progress, &sub, error))
        return NULL;
      kiln_progress_report (&sub, 1.0, "Cross-correlation done");
    }

  res = result_new (n);
  res->reference = z;
  res->method = params->method;
  for (guint k = 0; k < n; k++)
    {
      res->tilts[k].angle_deg = stack->has_angles ? stack->angles_deg[k] : NAN;
      res->tilts[k].neighbour = neighbour_of (k, z);
      res->tilts[k].xcorr_peak = peaks[k];
      res->tilts[k].stretch = stretch[k];
    }

  if (params->method != KILN_ALIGN_MI)
    {
      for (guint k = 0; k < n; k++)
        {
          xf_identity (&res->xf[k]);
          res->xf[k].dx = shifts[2 * k];
          res->xf[k].dy = shifts[2 * k + 1];
        }
    }
  else
    {
      /* fine stage: register each raw tilt k onto its raw neighbour r, starting from the coarse
       * relative transform, in parallel; then compose outward from the reference. */
      KilnXf *rel = g_new (KilnXf, n);
      GError *first_error = NULL;
      gint done = 0, failed = 0;
      KilnProgress fine = kiln_progress_sub (&prog, 0.25, 0.95);

      pairs = g_new0 (PairResult, n);
      alts = g_new0 (PairResult, n);
      for (guint k = 0; k < n; k++)
        {
          guint r = neighbour_of (k, z);
          if (coarse)
            {
              xf_identity (&rel[k]);
              rel[k].dx = shifts[2 * k] - shifts[2 * r];
              rel[k].dy = shifts[2 * k + 1] - shifts[2 * r + 1];
            }
          else
            {
              KilnXf inv;
              if (!kiln_xf_invert (&start->xf[r], &inv))
                xf_identity (&inv);
              kiln_xf_compose (&inv, &start->xf[k], &rel[k]);
            }
        }

#pragma omp parallel for schedule(dynamic, 1)
      for (gint64 k = 0; k < (gint64) n; k++)
        {
          guint r = neighbour_of ((guint) k, z);
          PairResult *pr = &pairs[k], st = { 0 };
          GError *local = NULL;
          double f1, f2;
          gboolean ok;

          if (k == z || g_atomic_int_get (&failed) || g_cancellable_is_cancelled (cancellable))
            continue;
          st.dx = rel[k].dx;
          st.dy = rel[k].dy;
          st.rot_deg = params->mi.rotation ? atan2 (rel[k].a21, rel[k].a11) * 180.0 / G_PI : 0.0;
          /* the stretch factors: OFF none, ON the one the coarse stage kept, AUTO both none (f1)
           * and the cosine factor (f2, into alts[]; chosen below for the whole series: the same
           * fixed samples make the MI values comparable) */
          f1 = 1.0;
          f2 = 1.0;
          if (params->mi_stretch == KILN_ALIGN_MI_STRETCH_ON)
            f1 = stretch[k];
          else if (params->mi_stretch == KILN_ALIGN_MI_STRETCH_AUTO && params->xcorr.stretch &&
                   stack->has_angles)
            f2 = kiln_xcorr_stretch_factor (stack->angles_deg[r], stack->angles_deg[k]);
          pr->evals = 0;
          ok = refine_pair (kiln_image_stack_tilt_const (stack, r),
                            kiln_image_stack_tilt_const (stack, (guint) k), w, h, params, f1,
                            &st, pr, cancellable, &local);
          if (ok && fabs (f2 - 1.0) > 1e-6)
            {
              PairResult *alt = &alts[k];
              alt->evals = 0;
              ok = refine_pair (kiln_image_stack_tilt_const (stack, r),
                                kiln_image_stack_tilt_const (stack, (guint) k), w, h, params, f2,
                                &st, alt, cancellable, &local);
            }
          else
            alts[k] = *pr;
          if (!ok)
            {
#pragma omp critical (kiln_align_err)
              {
                if (first_error == NULL)
                  first_error = local;
                else
                  g_error_free (local);
              }
              g_atomic_int_set (&failed, 1);
              continue;
            }
          {
            gint d = g_atomic_int_add (&done, 1) + 1;
#ifdef _OPENMP
            if (omp_get_thread_num () == 0)
#endif
              kiln_progress_report (&fine, (double) d / MAX (n - 1, 1),
                                    "Refining by mutual information");
          }
        }

      /* progress comes only from the calling thread (which may have had few pairs): report the
       * end of the stage here, then honour a cancel it caused */
      if (first_error == NULL)
        kiln_progress_report (&fine, 1.0, "Refining by mutual information");
      if (first_error != NULL)
        {
          g_propagate_error (error, first_error);
          g_free (rel);
          kiln_align_result_free (res);
          return NULL;
        }
      if (kiln_check_cancelled (cancellable, error))
        {
          g_free (rel);
          kiln_align_result_free (res);
          return NULL;
        }

      /* AUTO: one choice for the whole series, because the two models carry different biases
       * (each of them consistent along the series, mostly of the unobservable form
       * a + b cos θ + c sin θ; mixed per pair they would accumulate into an observable error).
       * The stretch is kept only when it raises the series' total MI by at least
       * AUTO_STRETCH_GAIN: a thin specimen filling the field is foreshortened as a whole, which
       * no translation absorbs, and there the gain is large (+54 % on the benchmark's 1024²
       * texture); compact objects (particles, spheres) are not foreshortened themselves, only
       * their positions are, and stretching gains little (+0.4 … 2.8 % on the sphere phantom and
       * the simulator) while its bias is larger than the rigid match's. */
      {
        double sum_plain = 0, sum_alt = 0;
        guint64 evals = 0;
        for (guint k = 0; k < n; k++)
          if (k != z)
            {
              sum_plain += pairs[k].mi;
              sum_alt += alts[k].mi;
              evals += pairs[k].evals + (alts[k].stretch != pairs[k].stretch ? alts[k].evals : 0);
            }
        if (sum_alt > AUTO_STRETCH_GAIN * sum_plain)
          memcpy (pairs, alts, n * sizeof (PairResult));
        for (guint k = 0; k < n; k++)
          if (k != z && pairs[k].stretch != 1.0)
            mi_stretched = TRUE;
        res->mi_evaluations = evals;
      }
      for (guint k = 0; k < n; k++)
        {
          PairResult *pr = &pairs[k];
          KilnXf fine_xf;

          if (k == z)
            continue;
          kiln_xf_rotation (&fine_xf, pr->rot_deg, pr->dx, pr->dy);
          res->tilts[k].mi_nats = pr->mi;
          res->tilts[k].refine_px = hypot (pr->dx - rel[k].dx, pr->dy - rel[k].dy);
          res->tilts[k].stretch = pr->stretch;
          rel[k] = fine_xf;
        }
      xf_identity (&res->xf[z]);
      for (guint k = z + 1; k < n; k++)
        kiln_xf_compose (&res->xf[k - 1], &rel[k], &res->xf[k]);
      for (guint k = z; k-- > 0;)
        kiln_xf_compose (&res->xf[k + 1], &rel[k], &res->xf[k]);
      res->has_rotation = params->mi.rotation;
      g_free (rel);
    }

  /* the specimen frame (not for centre-of-mass alignment, which has its own, nor where the MI
   * stage kept the stretch: a thin specimen's frame is the stretch's) */
  if (params->specimen_frame && params->method != KILN_ALIGN_COM &&
      !(params->method == KILN_ALIGN_MI && mi_stretched))
    res->specimen_frame = apply_specimen_frame (stack, params->xcorr.axis_angle_deg, res,
                                                &res->specimen_fit_rms_px);

  for (guint k = 0; k < n; k++)
    {
      res->tilts[k].dx_px = res->xf[k].dx;
      res->tilts[k].dy_px = res->xf[k].dy;
      res->tilts[k].rotation_deg = atan2 (res->xf[k].a21, res->xf[k].a11) * 180.0 / G_PI;
    }
  res->tilts[z].xcorr_peak = 1.0;
  kiln_progress_report (&prog, 1.0, NULL);
  return res;
}

KilnImageStack *
kiln_align_apply (const KilnImageStack *stack,
                  const KilnXf         *xf,
                  KilnInterp            interp,
                  guint8              **mask,
                  GCancellable         *cancellable,
                  KilnProgressFunc      progress,
                  gpointer              progress_data,
                  GError              **error)
{
  g_autoptr(KilnImageStack) out = NULL;
  guint8 *m = NULL;
  gsize np = (gsize) stack->width * stack->height;

  out = kiln_image_stack_new_like (stack, error);
  if (out == NULL)
    return NULL;
  if (mask)
    {
      m = kiln_alloc (np * stack->n_tilts, 1, FALSE, "alignment mask", error);
      if (m == NULL)
        return NULL;
    }
  for (guint k = 0; k < stack->n_tilts; k++)
    {
      const float *src = kiln_image_stack_tilt_const (stack, k);
      double sum = 0.0;

      if (kiln_check_cancelled (cancellable, error))
        {
          kiln_free (m);
          return NULL;
        }
      for (gsize i = 0; i < np; i++)
        sum += src[i];
      kiln_transform_image (src, stack->width, stack->height, &xf[k], interp,
                            (float) (sum / np), kiln_image_stack_tilt (out, k),
                            m ? m + np * k : NULL);
      kiln_report (progress, progress_data, (double) (k + 1) / stack->n_tilts,
                   "Resampling aligned tilts");
    }
  if (mask)
    *mask = m;
  return g_steal_pointer (&out);
}

KilnCsv *
kiln_align_residual_table (const KilnAlignResult *result)
{
  static const char *columns[] = {
    "tilt", "angle_deg", "neighbour", "dx_px", "dy_px", "rotation_deg", "xcorr_peak",
    "mi_nats", "refine_px", "stretch", NULL
  };
  KilnCsv *csv = kiln_csv_new (columns);

  for (guint k = 0; k < result->n_tilts; k++)
    {
      const KilnAlignTilt *t = &result->tilts[k];
      double row[10] = {
        k, t->angle_deg, t->neighbour, t->dx_px, t->dy_px, t->rotation_deg, t->xcorr_peak,
        t->mi_nats, t->refine_px, t->stretch,
      };
      kiln_csv_add_row (csv, row);
    }
  return csv;
}

double
kiln_align_rms_error_unobservable_removed (const KilnXf *a,
                   const KilnXf *b,
                   const double *angles_deg,
                   double        axis_deg,
                   guint         n)
{
  double ca = cos (axis_deg * G_PI / 180), sa = sin (axis_deg * G_PI / 180);
  double m[3][4] = { { 0 } }, coef[3], mean_a = 0, e = 0;

  for (guint k = 0; k < n; k++)
    {
      double rx = (a ? a[k].dx : 0) + b[k].dx, ry = (a ? a[k].dy : 0) + b[k].dy;
      double p = rx * ca + ry * sa, q = -rx * sa + ry * ca;
      double t = angles_deg[k] * G_PI / 180, f[3] = { 1, cos (t), sin (t) };
      for (int i = 0; i < 3; i++)
        {
          for (int j = 0; j < 3; j++)
            m[i][j] += f[i] * f[j];
          m[i][3] += f[i] * p;
        }
      mean_a += q / n;
    }
  /* Gaussian elimination of the 3 × 3 normal equations */
  for (int i = 0; i < 3; i++)
    for (int r = i + 1; r < 3; r++)
      {
        double f = m[r][i] / m[i][i];
        for (int c = i; c < 4; c++)
          m[r][c] -= f * m[i][c];
      }
  for (int i = 2; i >= 0; i--)
    {
      coef[i] = m[i][3];
      for (int j = i + 1; j < 3; j++)
        coef[i] -= m[i][j] * coef[j];
      coef[i] /= m[i][i];
    }
  for (guint k = 0; k < n; k++)
    {
      double rx = (a ? a[k].dx : 0) + b[k].dx, ry = (a ? a[k].dy : 0) + b[k].dy;
      double p = rx * ca + ry * sa, q = -rx * sa + ry * ca;
      double t = angles_deg[k] * G_PI / 180;
      double ep = p - (coef[0] + coef[1] * cos (t) + coef[2] * sin (t)), eq = q - mean_a;
      e += ep * ep + eq * eq;
    }
  return sqrt (e / n);
}
