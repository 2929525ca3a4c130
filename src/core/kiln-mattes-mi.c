/* kiln-mattes-mi.c — Mattes mutual information and a (1+1)-evolution strategy
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-mattes-mi.h"
#include "kiln-progress.h"
#include "kiln-transform.h"

#define PAD 2
/* smallest starting radius (pixels of the level) of the finer pyramid levels */
#define FINER_RADIUS_MIN 0.1
/* stop radius (‖A‖_F, pixels of the level) of the coarser levels */
#define COARSE_EPSILON 0.05

struct _KilnMattesMI
{
  const float *moving;
  guint        w, h;
  guint        nb;
  guint        n;         /* samples */
  float       *sx, *sy;   /* sample positions relative to the centre */
  guint16     *fbin;      /* fixed-image bin of each sample */
  double       mmin, mscale;
};

void
kiln_mattes_params_init (KilnMattesParams *params)
{
  params->n_bins = 50;
  params->n_samples = 20000;
  params->seed = 5489;
}

void
kiln_one_plus_one_params_init (KilnOnePlusOneParams *params)
{
  params->initial_radius = 0.5;
  params->growth = 1.05;
  params->shrink = pow (0.95, 0.25);
  params->epsilon = 5e-3;
  params->max_iterations = 300;
  params->seed = 12345;
}

void
kiln_mi_register_params_init (KilnMiRegisterParams *params)
{
  kiln_mattes_params_init (&params->metric);
  kiln_one_plus_one_params_init (&params->optimizer);
  params->levels = 3;
  params->rotation = FALSE;
  params->max_rotation_deg = 5.0;
  params->max_shift_px = 3.0;
  params->stretch[0] = params->stretch[3] = 1.0;
  params->stretch[1] = params->stretch[2] = 0.0;
}

void
kiln_mattes_mi_free (KilnMattesMI *mi)
{
  if (mi == NULL)
    return;
  kiln_free (mi->sx);
  kiln_free (mi->sy);
  kiln_free (mi->fbin);
  g_free (mi);
}

static int
cmp_u64 (const void *a,
         const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return (x > y) - (x < y);
}

KilnMattesMI *
kiln_mattes_mi_new (const float             *fixed,
                    const float             *moving,
                    guint                    w,
                    guint                    h,
                    guint                    margin,
                    const KilnMattesParams  *params,
                    GError                 **error)
{
  KilnMattesMI *mi;
  gsize npix = (gsize) w * h, n_interior;
  guint iw, ih;
  double fmin = G_MAXDOUBLE, fmax = -G_MAXDOUBLE, mmin = G_MAXDOUBLE, mmax = -G_MAXDOUBLE;
  guint nb = params->n_bins;
  gboolean all;
  g_autoptr(GRand) rng = NULL;

  if (nb < 8 || nb > 4096)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Mattes MI needs 8 … 4096 histogram bins, not %u", nb);
      return NULL;
    }
  if (w < 8 || h < 8 || 2 * margin + 4 > MIN (w, h))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Mattes MI needs images of at least 8 × 8 pixels inside a %u-pixel margin, "
                   "not %u × %u", margin, w, h);
      return NULL;
    }
  iw = w - 2 * margin;
  ih = h - 2 * margin;
  n_interior = (gsize) iw * ih;
  all = params->n_samples == 0 || params->n_samples >= n_interior;

  mi = g_new0 (KilnMattesMI, 1);
  mi->moving = moving;
  mi->w = w;
  mi->h = h;
  mi->nb = nb;
  mi->n = all ? (guint) n_interior : params->n_samples;
  mi->sx = kiln_alloc (mi->n, sizeof (float), FALSE, "MI sample positions", error);
  mi->sy = mi->sx ? kiln_alloc (mi->n, sizeof (float), FALSE, "MI sample positions", error) : NULL;
  mi->fbin = mi->sy ? kiln_alloc (mi->n, sizeof (guint16), FALSE, "MI sample bins", error) : NULL;
  if (mi->fbin == NULL)
    {
      kiln_mattes_mi_free (mi);
      return NULL;
    }

  rng = g_rand_new_with_seed (params->seed);
  {
    g_autofree float *fv = g_new (float, mi->n);
    g_autofree guint64 *idx = g_new (guint64, mi->n);
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;

    /* the sample set, in raster order (memory locality in the moving image) */
    for (guint i = 0; i < mi->n; i++)
      idx[i] = all ? i : MIN ((guint64) (g_rand_double (rng) * n_interior), n_interior - 1);
    if (!all)
      qsort (idx, mi->n, sizeof (guint64), cmp_u64);
    for (guint i = 0; i < mi->n; i++)
      {
        gsize j = idx[i];
        /* jittered off the pixel grid, so that the smoothing of the moving image's
         * interpolation is the same on average at every sub-pixel shift (no grid bias) */
        double x = margin + (double) (j % iw) + g_rand_double_range (rng, -0.5, 0.5);
        double y = margin + (double) (j / iw) + g_rand_double_range (rng, -0.5, 0.5);
        long x0, y0;
        double fx, fy;
        const float *r0;
        float v;

        x = CLAMP (x, 0.0, w - 1.0);
        y = CLAMP (y, 0.0, h - 1.0);
        x0 = MIN ((long) x, (long) w - 2);
        y0 = MIN ((long) y, (long) h - 2);
        fx = x - x0;
        fy = y - y0;
        r0 = fixed + (gsize) y0 * w + x0;
        v = (float) ((1 - fy) * ((1 - fx) * r0[0] + fx * r0[1]) +
                     fy * ((1 - fx) * r0[w] + fx * r0[w + 1]));
        mi->sx[i] = (float) (x - cx);
        mi->sy[i] = (float) (y - cy);
        fv[i] = v;
        fmin = MIN (fmin, v);
        fmax = MAX (fmax, v);
      }
    for (gsize i = 0; i < npix; i++)
      {
        mmin = MIN (mmin, moving[i]);
        mmax = MAX (mmax, moving[i]);
      }
    if (!(fmax > fmin))
      fmax = fmin + 1.0;
    if (!(mmax > mmin))
      mmax = mmin + 1.0;
    for (guint i = 0; i < mi->n; i++)
      {
        int b = PAD + (int) ((fv[i] - fmin) / (fmax - fmin) * (nb - 2 * PAD));
        mi->fbin[i] = (guint16) CLAMP (b, PAD, (int) nb - PAD - 1);
      }
  }
  mi->mmin = mmin;
  mi->mscale = (nb - 2 * PAD - 1) / (mmax - mmin);
  return mi;
}

double
kiln_mattes_mi_eval (KilnMattesMI *mi,
                     const KilnXf *xf)
{
  KilnXf inv;
  guint nb = mi->nb, w = mi->w, h = mi->h;
  g_autofree double *joint = NULL;
  g_autofree double *pf = NULL;
  g_autofree double *pm = NULL;
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, total = 0.0, v = 0.0;
  const float *mov = mi->moving;
  guint used = 0;

  if (!kiln_xf_invert (xf, &inv))
    return 0.0;
  joint = g_new0 (double, (gsize) nb * nb);
  for (guint i = 0; i < mi->n; i++)
    {
      double ox = mi->sx[i], oy = mi->sy[i];
      double px = inv.a11 * ox + inv.a12 * oy + inv.dx + cx;
      double py = inv.a21 * ox + inv.a22 * oy + inv.dy + cy;
      long x0, y0, bi;
      double fx, fy, val, beta, u, u2, u3;
      const float *r0;
      double *row;

      if (!(px >= 0.0 && py >= 0.0 && px <= w - 1 && py <= h - 1))
        continue;
      x0 = (long) px;
      y0 = (long) py;
      if (x0 >= (long) w - 1)
        x0 = w - 2;
      if (y0 >= (long) h - 1)
        y0 = h - 2;
      fx = px - x0;
      fy = py - y0;
      r0 = mov + (gsize) y0 * w + x0;
      val = (1 - fy) * ((1 - fx) * r0[0] + fx * r0[1]) + fy * ((1 - fx) * r0[w] + fx * r0[w + 1]);
      beta = PAD + (val - mi->mmin) * mi->mscale;
      bi = (long) beta;
      bi = CLAMP (bi, PAD, (long) nb - PAD - 1);
      u = beta - bi;
      u2 = u * u;
      u3 = u2 * u;
      row = joint + (gsize) mi->fbin[i] * nb + bi;
      /* cubic B-spline Parzen window over bins bi − 1 … bi + 2 */
      row[-1] += (1.0 - 3.0 * u + 3.0 * u2 - u3) / 6.0;
      row[0] += (3.0 * u3 - 6.0 * u2 + 4.0) / 6.0;
      row[1] += (-3.0 * u3 + 3.0 * u2 + 3.0 * u + 1.0) / 6.0;
      row[2] += u3 / 6.0;
      used++;
    }
  if (used < 16)
    return 0.0;

  pf = g_new0 (double, nb);
  pm = g_new0 (double, nb);
  for (guint a = 0; a < nb; a++)
    for (guint b = 0; b < nb; b++)
      {
        double j = joint[(gsize) a * nb + b];
        pf[a] += j;
        pm[b] += j;
        total += j;
      }
  for (guint a = 0; a < nb; a++)
    {
      if (pf[a] <= 0)
        continue;
      for (guint b = 0; b < nb; b++)
        {
          double j = joint[(gsize) a * nb + b];
          if (j > 0)
            v += j * log (j * total / (pf[a] * pm[b]));
        }
    }
  return v / total;
}

/* ---- (1+1)-evolution strategy ---- */

static double
gauss (GRand *rng)
{
  double u1 = g_rand_double (rng), u2 = g_rand_double (rng);

  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

double
kiln_one_plus_one_maximise (KilnObjectiveFunc           func,
                            gpointer                    user_data,
                            double                     *x,
                            guint                       n,
                            const KilnOnePlusOneParams *params,
                            GCancellable               *cancellable,
                            guint                      *n_evals,
                            double                     *final_radius)
{
  double a[64], z[8], az[8], child[8];
  double fparent;
  guint evals = 0;
  g_autoptr(GRand) rng = g_rand_new_with_seed (params->seed);

  g_return_val_if_fail (n >= 1 && n <= 8, 0.0);
  memset (a, 0, sizeof a);
  for (guint i = 0; i < n; i++)
    a[i * n + i] = params->initial_radius;
  fparent = func (x, user_data);
  evals++;

  for (guint it = 0; it < params->max_iterations; it++)
    {
      double fchild, alpha, zz = 0.0, frob = 0.0;

      if ((it & 15) == 15 && g_cancellable_is_cancelled (cancellable))
        break;
      for (guint i = 0; i < n; i++)
        {
          z[i] = gauss (rng);
          zz += z[i] * z[i];
        }
      for (guint i = 0; i < n; i++)
        {
          az[i] = 0.0;
          for (guint j = 0; j < n; j++)
            az[i] += a[i * n + j] * z[j];
          child[i] = x[i] + az[i];
        }
      fchild = func (child, user_data);
      evals++;
      if (fchild > fparent)
        {
          fparent = fchild;
          memcpy (x, child, n * sizeof (double));
          alpha = params->growth;
        }
      else
        alpha = params->shrink;
      if (zz > 0)
        for (guint i = 0; i < n; i++)
          for (guint j = 0; j < n; j++)
            a[i * n + j] += (alpha - 1.0) * az[i] * z[j] / zz;
      for (guint i = 0; i < n * n; i++)
        frob += a[i] * a[i];
      if (sqrt (frob) < params->epsilon)
        break;
    }
  if (n_evals)
    *n_evals = evals;
  if (final_radius)
    {
      double frob = 0.0;
      for (guint i = 0; i < n * n; i++)
        frob += a[i] * a[i];
      *final_radius = sqrt (frob / n);
    }
  return fparent;
}

/* ---- registration on a pyramid ---- */

typedef struct
{
  KilnMattesMI *mi;
  gboolean      rotation;
  double        rot_scale;    /* parameter units per radian */
  double        max_rot_rad;
  double        x0, y0;       /* the start (level pixels) */
  double        max_shift;    /* ≤ 0: unlimited */
  KilnXf        stretch;
  gboolean      has_stretch;
} Objective;

static void
params_to_xf (const Objective *o,
              const double    *p,
              KilnXf          *xf)
{
  double th = o->rotation ? p[2] / o->rot_scale : 0.0;

  kiln_xf_rotation (xf, th * 180.0 / G_PI, p[0], p[1]);
  if (o->has_stretch)
    {
      KilnXf x = *xf;
      kiln_xf_compose (&o->stretch, &x, xf);
    }
}

static double
objective (const double *p,
           gpointer      data)
{
  const Objective *o = data;
  KilnXf xf;

  if (o->rotation && fabs (p[2] / o->rot_scale) > o->max_rot_rad)
    return -1e30;
  if (o->max_shift > 0 && hypot (p[0] - o->x0, p[1] - o->y0) > o->max_shift)
    return -1e30;
  params_to_xf (o, p, &xf);
  return kiln_mattes_mi_eval (o->mi, &xf);
}

/* 2 × 2 average; the result is (w/2) × (h/2). */
static float *
downsample (const float *src,
            guint        w,
            guint        h,
            GError     **error)
{
  guint w2 = w / 2, h2 = h / 2;
  float *dst = kiln_alloc ((gsize) w2 * h2, sizeof (float), FALSE, "image pyramid level", error);

  if (dst == NULL)
    return NULL;
  for (guint y = 0; y < h2; y++)
    {
      const float *r0 = src + (gsize) (2 * y) * w, *r1 = r0 + w;
      for (guint x = 0; x < w2; x++)
        dst[(gsize) y * w2 + x] = 0.25f * (r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1]);
    }
  return dst;
}

gboolean
kiln_mi_register (const float                *fixed,
                  const float                *moving,
                  guint                       w,
                  guint                       h,
                  const KilnMiRegisterParams *params,
                  double                     *dx,
                  double                     *dy,
                  double                     *rotation_deg,
                  double                     *mi_value,
                  guint                      *n_evals,
                  GCancellable               *cancellable,
                  GError                    **error)
{
  const float *fl[4] = { fixed, NULL, NULL, NULL };
  const float *ml[4] = { moving, NULL, NULL, NULL };
  float *owned[8] = { NULL };
  guint wl[4] = { w, 0, 0, 0 }, hl[4] = { h, 0, 0, 0 };
  guint levels = CLAMP (params->levels, 1, 4), n_owned = 0, evals_total = 0;
  double x_start = *dx, y_start = *dy;
  double tx = *dx, ty = *dy, th = rotation_deg ? *rotation_deg * G_PI / 180.0 : 0.0;
  double best = 0.0, radius = params->optimizer.initial_radius;
  gboolean ok = FALSE;

  if (w < 16 || h < 16)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "MI registration needs images of at least 16 × 16 pixels, not %u × %u", w, h);
      return FALSE;
    }
  while (levels > 1 && (w >> (levels - 1)) < 32)
    levels--;
  for (guint l = 1; l < levels; l++)
    {
      float *f = downsample (fl[l - 1], wl[l - 1], hl[l - 1], error);
      float *m = f ? downsample (ml[l - 1], wl[l - 1], hl[l - 1], error) : NULL;

      if (f)
        owned[n_owned++] = f;
      if (m)
        owned[n_owned++] = m;
      if (m == NULL)
        goto out;
      fl[l] = f;
      ml[l] = m;
      wl[l] = wl[l - 1] / 2;
      hl[l] = hl[l - 1] / 2;
    }

  for (guint l = levels; l-- > 0;)
    {
      double scale = 1.0 / (1u << l);
      guint margin = MAX (2u, MIN (wl[l], hl[l]) / 16);
      KilnOnePlusOneParams op = params->optimizer;
      Objective o;
      double p[3];
      guint ne = 0;

      if (kiln_check_cancelled (cancellable, error))
        goto out;
      o.mi = kiln_mattes_mi_new (fl[l], ml[l], wl[l], hl[l], margin, &params->metric, error);
      if (o.mi == NULL)
        goto out;
      o.rotation = params->rotation;
      o.rot_scale = (wl[l] + hl[l]) / 4.0;   /* displacement (px) at half the size */
      o.max_rot_rad = params->max_rotation_deg * G_PI / 180.0;
      o.x0 = x_start * scale;
      o.y0 = y_start * scale;
      o.max_shift = params->max_shift_px * scale;
      o.stretch.a11 = params->stretch[0];
      o.stretch.a12 = params->stretch[1];
      o.stretch.a21 = params->stretch[2];
      o.stretch.a22 = params->stretch[3];
      o.stretch.dx = o.stretch.dy = 0.0;
      o.has_stretch = params->stretch[0] != 1.0 || params->stretch[1] != 0.0 ||
                      params->stretch[2] != 0.0 || params->stretch[3] != 1.0;
      p[0] = tx * scale;
      p[1] = ty * scale;
      p[2] = th * o.rot_scale;
      /* each finer level starts with twice the final radius of the one above (the same size in
       * its own pixels), but at least @finer_radius_min of them */
      if (l + 1 < levels)
        op.initial_radius = MAX (2.0 * radius, FINER_RADIUS_MIN);
      /* coarse levels only need to get within the finer level's starting radius */
      if (l > 0)
        op.epsilon = MAX (op.epsilon, COARSE_EPSILON);
      op.seed = params->optimizer.seed + l;
      best = kiln_one_plus_one_maximise (objective, &o, p, params->rotation ? 3 : 2, &op,
                                         cancellable, &ne, &radius);
      evals_total += ne;
      kiln_mattes_mi_free (o.mi);
      tx = p[0] / scale;
      ty = p[1] / scale;
      if (params->rotation)
        th = p[2] / o.rot_scale;
    }
  if (kiln_check_cancelled (cancellable, error))
    goto out;

  *dx = tx;
  *dy = ty;
  if (rotation_deg)
    *rotation_deg = th * 180.0 / G_PI;
  if (mi_value)
    *mi_value = best;
  if (n_evals)
    *n_evals = evals_total;
  ok = TRUE;

out:
  for (guint i = 0; i < n_owned; i++)
    kiln_free (owned[i]);
  return ok;
}
