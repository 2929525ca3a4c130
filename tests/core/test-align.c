/* test-align.c — whole-series alignment on an analytic tilt series of spheres with known drift,
 * the aligned stack and its mask, starting from a previous result, cancellation, and the real
 * needle series
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-test-util.h"
#include "align-phantom.h"

typedef struct
{
  guint  n;
  double p[32], q[32], z[32], r[32];  /* across the axis, along it, depth; radius (px) */
} Spheres;

/* Random spheres, moved so that their (volume-weighted) centre lies on the tilt axis: a pure
 * translation registration of projections is then unbiased (an object off the axis moves by
 * x (cos θ − 1) between tilts, which no translation-only method can tell from drift). */
static void
spheres_init (Spheres *s,
              guint    n,
              double   extent,
              guint32  seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  double sw = 0, sp = 0, sq = 0, sz = 0;

  s->n = MIN (n, 32);
  for (guint i = 0; i < s->n; i++)
    {
      s->p[i] = g_rand_double_range (rng, -extent, extent);
      s->q[i] = g_rand_double_range (rng, -extent, extent);
      s->z[i] = g_rand_double_range (rng, -0.5 * extent, 0.5 * extent);
      s->r[i] = g_rand_double_range (rng, 3.0, 8.0);
      sw += pow (s->r[i], 3);
      sp += pow (s->r[i], 3) * s->p[i];
      sq += pow (s->r[i], 3) * s->q[i];
      sz += pow (s->r[i], 3) * s->z[i];
    }
  for (guint i = 0; i < s->n; i++)
    {
      s->p[i] -= sp / sw;
      s->q[i] -= sq / sw;
      s->z[i] -= sz / sw;
    }
  g_rand_free (rng);
}

/* Analytic projection (chord length through each sphere, 3 × 3 supersampled) at @tilt_deg about
 * an axis at @axis_deg through the image centre, the content then moved by (tx, ty). */
static void
spheres_project (const Spheres *s,
                 float         *img,
                 guint          w,
                 guint          h,
                 double         tilt_deg,
                 double         axis_deg,
                 double         tx,
                 double         ty)
{
  double th = tilt_deg * G_PI / 180.0, ph = axis_deg * G_PI / 180.0;
  double nx = cos (ph), ny = sin (ph), ax = -sin (ph), ay = cos (ph);
  double cx = (w - 1) / 2.0 + tx, cy = (h - 1) / 2.0 + ty;
  double ux[32], uy[32];

  for (guint i = 0; i < s->n; i++)
    {
      double u = s->p[i] * cos (th) + s->z[i] * sin (th);
      ux[i] = cx + u * nx + s->q[i] * ax;
      uy[i] = cy + u * ny + s->q[i] * ay;
    }
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double v = 0.0;
        for (int sy = -1; sy <= 1; sy++)
          for (int sx = -1; sx <= 1; sx++)
            {
              double px = x + sx / 3.0, py = y + sy / 3.0;
              for (guint i = 0; i < s->n; i++)
                {
                  double d2 = (px - ux[i]) * (px - ux[i]) + (py - uy[i]) * (py - uy[i]);
                  double r2 = s->r[i] * s->r[i];
                  if (d2 < r2)
                    v += 2.0 * sqrt (r2 - d2);
                }
            }
        img[(gsize) y * w + x] = (float) (v / 9.0);
      }
}

/* A series of 41 tilts (−40 … 40°, 2° steps) of @size² with drift σ = 5 px per tilt and per
 * axis, plus white Gaussian noise of @noise × the mean of the projections' maxima. @drift gets
 * 2 × 41 values. */
static KilnImageStack *
make_series (guint   size,
             double  axis_deg,
             double  noise,
             guint32 seed,
             double *drift)
{
  const guint n = 41;
  KilnImageStack *st = kiln_image_stack_new (n, size, size, NULL);
  GRand *rng = g_rand_new_with_seed (seed);
  double angles[41], maxsum = 0;
  Spheres s;

  spheres_init (&s, 14, size * 0.3, seed + 1);
  for (guint k = 0; k < n; k++)
    {
      float *img = kiln_image_stack_tilt (st, k);
      angles[k] = -40.0 + 2.0 * k;
      drift[2 * k] = 5.0 * gauss_noise (rng);
      drift[2 * k + 1] = 5.0 * gauss_noise (rng);
      spheres_project (&s, img, size, size, angles[k], axis_deg, drift[2 * k], drift[2 * k + 1]);
      {
        float mx = 0;
        for (guint i = 0; i < size * size; i++)
          mx = MAX (mx, img[i]);
        maxsum += mx;
      }
    }
  for (gsize i = 0; i < (gsize) n * size * size; i++)
    st->data[i] += (float) (noise * maxsum / n * gauss_noise (rng));
  kiln_image_stack_set_angles (st, angles, n, NULL);
  g_rand_free (rng);
  return st;
}

/* RMS over tilts of the error of the recovered shifts (the transform's dx, dy) against the truth
 * −drift, after removing the mean error (a global offset is not determined by alignment). */
static double
shift_rms_error (const KilnAlignResult *r,
                 const double          *drift)
{
  double mx = 0, my = 0, ss = 0;
  guint n = r->n_tilts;

  for (guint k = 0; k < n; k++)
    {
      mx += (r->xf[k].dx + drift[2 * k]) / n;
      my += (r->xf[k].dy + drift[2 * k + 1]) / n;
    }
  for (guint k = 0; k < n; k++)
    {
      double ex = r->xf[k].dx + drift[2 * k] - mx, ey = r->xf[k].dy + drift[2 * k + 1] - my;
      ss += ex * ex + ey * ey;
    }
  return sqrt (ss / n);
}

/* The phantom series with drift σ = 5 px and noise: after MI refinement the recovered shifts have
 * RMS error ≤ 0.3 px (issue 6), global offset removed. The xcorr-only figure is reported and must
 * stay below 1 px (it lacks sub-pixel refinement against noise and accumulates pair errors). */
static void
test_phantom_series (void)
{
  double drift[82];
  g_autoptr(KilnImageStack) st = make_series (96, 0.0, 0.05, 42, drift);
  g_autoptr(KilnImageStack) before = kiln_image_stack_copy (st, NULL);
  g_autoptr(GError) error = NULL;
  KilnAlignParams p;
  KilnAlignResult *rx, *rm;
  double ex, em;

  kiln_align_params_init (&p);
  /* fewer samples and iterations than the defaults keep this test short */
  p.mi.metric.n_samples = 5000;
  p.mi.optimizer.max_iterations = 200;
  p.method = KILN_ALIGN_XCORR;
  rx = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.method = KILN_ALIGN_MI;
  rm = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  ex = shift_rms_error (rx, drift);
  em = shift_rms_error (rm, drift);
  g_test_message ("phantom, drift σ 5 px, noise 5 %%: RMS error xcorr %.3f px, MI %.3f px "
                  "(%" G_GUINT64_FORMAT " MI evaluations)", ex, em, rm->mi_evaluations);
  g_assert_cmpfloat (em, <=, 0.3);
  g_assert_cmpfloat (ex, <, 1.0);
  g_assert_cmpuint (rm->reference, ==, 20);
  g_assert_cmpfloat (rm->xf[20].dx, ==, 0.0);
  g_assert_cmpfloat (rm->tilts[5].angle_deg, ==, -30.0);
  g_assert_cmpuint (rm->tilts[5].neighbour, ==, 6);
  g_assert_cmpuint (rm->tilts[25].neighbour, ==, 24);
  g_assert_true (rm->tilts[25].mi_nats > 0.0);
  /* inputs untouched */
  g_assert_cmpint (memcmp (st->data, before->data, kiln_image_stack_n_pixels (st) * 4), ==, 0);

  /* the residual table has one row per tilt plus the header, with unit-bearing names */
  {
    g_autoptr(KilnCsv) csv = kiln_align_residual_table (rm);
    g_autofree char *text = kiln_csv_to_string (csv);
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
    guint nl = 0;
    for (guint i = 0; lines[i]; i++)
      if (lines[i][0])
        nl++;
    g_assert_cmpuint (nl, ==, 42);
    g_assert_nonnull (strstr (lines[0], "dx_px"));
    g_assert_nonnull (strstr (lines[0], "angle_deg"));
  }

  /* a later time point starts from this result: as good (≤ 0.3 px RMS), no coarse stage, and the
   * same answer within 0.3 px per tilt (the ES stops on its iteration limit, so two starts end a
   * little apart) */
  {
    KilnAlignResult *r2 = kiln_align_series (st, &p, rm, NULL, NULL, NULL, &error);
    double e2;
    g_assert_no_error (error);
    e2 = shift_rms_error (r2, drift);
    g_test_message ("restarted from the previous result: RMS error %.3f px", e2);
    g_assert_cmpfloat (e2, <=, 0.3);
    for (guint k = 0; k < 41; k++)
      g_assert_cmpfloat (hypot (r2->xf[k].dx - rm->xf[k].dx, r2->xf[k].dy - rm->xf[k].dy), <,
                         0.3);
    g_assert_true (isnan (r2->tilts[3].xcorr_peak));
    kiln_align_result_free (r2);
  }
  kiln_align_result_free (rx);
  kiln_align_result_free (rm);
}

/* A thin specimen that fills the field: a smooth texture (48 random plane waves, wavelengths
 * 10–40 px) foreshortened by cos θ across a vertical axis through the image centre, 41 tilts
 * ±60° in 3° steps (as the paper), drift σ 5 px, white noise at SNR 3, 160². Neighbouring high
 * tilts differ by a stretch of up to 9 % (7 px at the edge), which no translation absorbs. The
 * default MI stage (stretch AUTO) must keep the cosine stretch for every pair, and its shifts
 * must be better than the rigid-only match's (the case discriminates) and within 0.4 px RMS of
 * the truth, global offset removed (the slab turns about the image centre, the frame the stretch
 * assumes, so the raw truth is the right one here). Measured: AUTO (= always stretched)
 * 0.33 px, stretch off 0.49 px, xcorr 0.25 px: at this size and SNR the MI stage, with the few
 * samples used here, is no better than the correlation (docs/align.md). */
static void
test_slab_series (void)
{
  const guint n = 41, size = 160;
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (n, size, size, NULL);
  GRand *rng = g_rand_new_with_seed (7);
  double kx[48], ky[48], phase[48], amp[48], drift[82], angles[41], var = 0, c = (size - 1) / 2.0;
  KilnAlignParams p;
  g_autoptr(GError) error = NULL;
  KilnAlignResult *ra, *ro, *rs;   /* MI stretch auto, off; xcorr */
  double ea, eo, es;

  for (guint i = 0; i < 48; i++)
    {
      double lambda = g_rand_double_range (rng, 10.0, 40.0), dir = g_rand_double_range (rng, 0, G_PI);
      kx[i] = 2 * G_PI / lambda * cos (dir);
      ky[i] = 2 * G_PI / lambda * sin (dir);
      phase[i] = g_rand_double_range (rng, 0, 2 * G_PI);
      amp[i] = g_rand_double_range (rng, 0.5, 1.0);
      var += amp[i] * amp[i] / 2;
    }
  for (guint k = 0; k < n; k++)
    {
      double th = (-60.0 + 3.0 * k) * G_PI / 180.0;
      float *img = kiln_image_stack_tilt (st, k);

      angles[k] = -60.0 + 3.0 * k;
      drift[2 * k] = 5.0 * gauss_noise (rng);
      drift[2 * k + 1] = 5.0 * gauss_noise (rng);
      for (guint y = 0; y < size; y++)
        for (guint x = 0; x < size; x++)
          {
            /* content at slab coordinate u appears at u cos θ, then moved by the drift */
            double u = (x - c - drift[2 * k]) / cos (th), v = y - c - drift[2 * k + 1], t = 0;
            for (guint i = 0; i < 48; i++)
              t += amp[i] * cos (kx[i] * u + ky[i] * v + phase[i]);
            img[(gsize) y * size + x] = (float) (t + sqrt (var) / 3.0 * gauss_noise (rng));
          }
    }
  kiln_image_stack_set_angles (st, angles, n, NULL);
  g_rand_free (rng);

  kiln_align_params_init (&p);
  g_assert_cmpint (p.mi_stretch, ==, KILN_ALIGN_MI_STRETCH_AUTO);
  /* fewer samples and iterations than the defaults keep this test short */
  p.mi.metric.n_samples = 5000;
  p.mi.optimizer.max_iterations = 200;
  ra = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.mi_stretch = KILN_ALIGN_MI_STRETCH_OFF;
  ro = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.method = KILN_ALIGN_XCORR;
  rs = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  ea = shift_rms_error (ra, drift);
  eo = shift_rms_error (ro, drift);
  es = shift_rms_error (rs, drift);
  g_test_message ("field-filling slab, ±60°, drift σ 5 px, SNR 3: RMS error MI stretch auto "
                  "%.3f px, off %.3f px; xcorr %.3f px", ea, eo, es);
  /* AUTO kept the stretch: the outermost pair was matched with cos 57° / cos 60° */
  g_assert_cmpfloat (fabs (ra->tilts[0].stretch - cos (57 * G_PI / 180) / cos (60 * G_PI / 180)),
                     <, 1e-9);
  g_assert_cmpfloat (ro->tilts[0].stretch, ==, 1.0);
  /* a texture filling the field has no centre of mass of its own: no specimen frame */
  g_assert_false (ra->specimen_frame);
  g_assert_false (ro->specimen_frame);
  for (guint k = 0; k < n; k++)
    if (k != ra->reference)
      g_assert_cmpfloat (fabs (ra->tilts[k].stretch -
                               kiln_xcorr_stretch_factor (angles[ra->tilts[k].neighbour],
                                                          angles[k])), <, 1e-9);
  g_assert_cmpfloat (ea, <=, 0.4);
  g_assert_cmpfloat (ea, <, eo);
  kiln_align_result_free (ra);
  kiln_align_result_free (ro);
  kiln_align_result_free (rs);
}

/* The aligned stack: translated tilts carry the tilt's mean where there is no source, the mask
 * marks it, and the reference tilt is unchanged (identity transform, exact). */
static void
test_apply (void)
{
  const guint w = 40, h = 32;
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (2, w, h, NULL);
  g_autoptr(KilnImageStack) out = NULL;
  g_autoptr(GError) error = NULL;
  guint8 *mask = NULL;
  KilnXf xf[2] = { { 1, 0, 0, 1, 0, 0 }, { 1, 0, 0, 1, 5, -3 } };
  double mean = 0;

  for (guint i = 0; i < 2 * w * h; i++)
    st->data[i] = (float) ((i * 7919) % 101);
  for (guint i = 0; i < w * h; i++)
    mean += st->data[w * h + i] / (double) (w * h);
  out = kiln_align_apply (st, xf, KILN_INTERP_LINEAR, &mask, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (out->data, st->data, w * h * 4), ==, 0);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        gsize i = (gsize) w * h + y * w + x;
        gboolean valid = x >= 5 && y < h - 3;
        g_assert_cmpuint (mask[i], ==, valid ? 1 : 0);
        if (valid)   /* an integer shift is exact: content moved by (5, −3) */
          g_assert_cmpfloat (out->data[i], ==, st->data[w * h + (y + 3) * w + (x - 5)]);
        else
          g_assert_cmpfloat_with_epsilon (out->data[i], mean, 1e-3);
        g_assert_cmpuint (mask[y * w + x], ==, 1);
      }
  kiln_free (mask);
}

static void
cancel_at_half (double fraction, const char *message, gpointer data)
{
  (void) message;
  if (fraction >= 0.3)
    g_cancellable_cancel (data);
}

/* Cancellation before and during alignment gives G_IO_ERROR_CANCELLED and no result; bad input
 * gives a clear error. */
static void
test_cancel_and_errors (void)
{
  double drift[82];
  g_autoptr(KilnImageStack) st = make_series (48, 0.0, 0.0, 3, drift);
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnAlignParams p;
  KilnAlignResult *r;

  kiln_align_params_init (&p);
  g_cancellable_cancel (c);
  r = kiln_align_series (st, &p, NULL, c, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_cancellable_reset (c);
  r = kiln_align_series (st, &p, NULL, c, cancel_at_half, c, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_cancellable_reset (c);
  g_cancellable_cancel (c);
  {
    KilnXf xf[41];
    for (guint k = 0; k < 41; k++)
      kiln_xf_rotation (&xf[k], 0, 0, 0);
    g_assert_null (kiln_align_apply (st, xf, KILN_INTERP_CUBIC, NULL, c, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);

    /* a start with the wrong number of transforms */
    {
      KilnAlignResult *start = kiln_align_result_new_from_xf (xf, 7);
      g_assert_null (kiln_align_series (st, &p, start, NULL, NULL, NULL, &error));
      g_assert_error (error, KILN_ERROR, KILN_ERROR_MISMATCH);
      g_clear_error (&error);
      kiln_align_result_free (start);
    }
  }
  {
    g_autoptr(KilnImageStack) tiny = kiln_image_stack_new (3, 8, 8, NULL);
    g_assert_null (kiln_align_series (tiny, &p, NULL, NULL, NULL, NULL, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  {
    g_autoptr(KilnImageStack) bad = kiln_image_stack_copy (st, NULL);
    bad->data[1234] = NAN;
    g_assert_null (kiln_align_series (bad, &p, NULL, NULL, NULL, NULL, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  }
}

/* Rotation estimation on a series whose tilts are also rotated by small known angles: the
 * recovered per-tilt rotations match −(rotation) relative to the reference within 0.1°. */
static void
test_rotation_series (void)
{
  const guint w = 96, h = 96, n = 5;
  const double rot[5] = { 0.8, -0.5, 0.0, 1.2, -1.0 };
  const double t[5][2] = { { 2, -1 }, { -3, 0.5 }, { 0, 0 }, { 1.5, 2 }, { -2, -2.5 } };
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (n, w, h, NULL);
  g_autoptr(GError) error = NULL;
  BlobPattern pat;
  KilnAlignParams p;
  KilnAlignResult *r;

  blob_pattern_init (&pat, 40, w, h, 17);
  for (guint k = 0; k < n; k++)
    {
      double a = rot[k] * G_PI / 180;
      double m[4] = { cos (a), sin (a), -sin (a), cos (a) };  /* content rotated by +rot */
      blob_pattern_render (&pat, kiln_image_stack_tilt (st, k), w, h, m, t[k][0], t[k][1]);
    }
  kiln_align_params_init (&p);
  p.xcorr.stretch = FALSE;
  p.mi.rotation = TRUE;
  r = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (r->has_rotation);
  for (guint k = 0; k < n; k++)
    {
      g_test_message ("tilt %u: rotation %.3f° (truth %.3f°)", k, r->tilts[k].rotation_deg,
                      -rot[k]);
      g_assert_cmpfloat (fabs (r->tilts[k].rotation_deg + rot[k]), <, 0.1);
    }
  kiln_align_result_free (r);
}

/* RMS error of the recovered shifts against the truth −drift after removing what no alignment of
 * projections can observe: perpendicular to the axis a + b cos θ + c sin θ (a: the axis offset;
 * b, c: a 3D translation (x0, z0) of the object, whose projection moves by x0 cos θ + z0 sin θ
 * exactly like drift), along the axis a constant. Least squares, 3 + 1 parameters. */
static double
shift_rms_error_gauge (const KilnAlignResult *r,
                       const KilnXf          *drift,
                       const double          *angles_deg,
                       double                 axis_deg)
{
  guint n = r->n_tilts;
  double ph = axis_deg * G_PI / 180.0, nx = cos (ph), ny = sin (ph), ax = -sin (ph), ay = cos (ph);
  double m[3][4] = { { 0 } }, ma = 0, ss = 0, c[3];
  g_autofree double *ep = g_new (double, n);
  g_autofree double *ea = g_new (double, n);

  for (guint k = 0; k < n; k++)
    {
      double ex = r->xf[k].dx + drift[k].dx, ey = r->xf[k].dy + drift[k].dy;
      double t = angles_deg[k] * G_PI / 180.0, f[3] = { 1.0, cos (t), sin (t) };

      ep[k] = ex * nx + ey * ny;
      ea[k] = ex * ax + ey * ay;
      ma += ea[k] / n;
      for (int i = 0; i < 3; i++)
        {
          for (int j = 0; j < 3; j++)
            m[i][j] += f[i] * f[j];
          m[i][3] += f[i] * ep[k];
        }
    }
  /* Gauss-Jordan on the 3 × 3 normal equations */
  for (int i = 0; i < 3; i++)
    {
      double piv = m[i][i];
      g_assert_cmpfloat (fabs (piv), >, 1e-12);
      for (int j = 0; j < 4; j++)
        m[i][j] /= piv;
      for (int r2 = 0; r2 < 3; r2++)
        if (r2 != i)
          {
            double f = m[r2][i];
            for (int j = 0; j < 4; j++)
              m[r2][j] -= f * m[i][j];
          }
    }
  for (int i = 0; i < 3; i++)
    c[i] = m[i][3];
  for (guint k = 0; k < n; k++)
    {
      double t = angles_deg[k] * G_PI / 180.0;
      double rp = ep[k] - c[0] - c[1] * cos (t) - c[2] * sin (t), ra = ea[k] - ma;
      ss += rp * rp + ra * ra;
    }
  return sqrt (ss / n);
}

/* Least squares fit of v[k] ≈ c0 + c1 cos θk + c2 sin θk (@angles_deg); returns the RMS of what
 * the fit leaves. */
static double
fit_cos_sin (const double *v,
             const double *angles_deg,
             guint         n,
             double        c[3])
{
  double m[3][4] = { { 0 } }, ss = 0;

  for (guint k = 0; k < n; k++)
    {
      double t = angles_deg[k] * G_PI / 180.0, f[3] = { 1.0, cos (t), sin (t) };
      for (int i = 0; i < 3; i++)
        {
          for (int j = 0; j < 3; j++)
            m[i][j] += f[i] * f[j];
          m[i][3] += f[i] * v[k];
        }
    }
  for (int i = 0; i < 3; i++)
    {
      double piv = m[i][i];
      g_assert_cmpfloat (fabs (piv), >, 1e-12);
      for (int j = 0; j < 4; j++)
        m[i][j] /= piv;
      for (int r2 = 0; r2 < 3; r2++)
        if (r2 != i)
          {
            double f = m[r2][i];
            for (int j = 0; j < 4; j++)
              m[r2][j] -= f * m[i][j];
          }
    }
  for (int i = 0; i < 3; i++)
    c[i] = m[i][3];
  for (guint k = 0; k < n; k++)
    {
      double t = angles_deg[k] * G_PI / 180.0, r = v[k] - c[0] - c[1] * cos (t) - c[2] * sin (t);
      ss += r * r;
    }
  return sqrt (ss / n);
}

static int cmp_float (const void *a, const void *b);

/* Where the simulated specimen lies relative to the tilt axis, from the simulator's truth: the
 * centre of mass across the axis of each noise-free, undrifted projection (line integrals; the
 * membrane, a uniform slab, is removed as the median) at the true angles is s + X cos θ + Z sin θ
 * exactly for a rigid object inside the field: s the axis offset, (X, Z) the specimen's centroid
 * relative to the axis (px). *X, *Z get those; returns the RMS of what the fit leaves (≈ 0 when
 * the object is rigid and inside the field). */
static double
specimen_centroid (const KilnSimTimePoint *tp,
                   double                 *X,
                   double                 *Z)
{
  guint n = tp->n_tilts, w = tp->projections->width, h = tp->projections->height;
  double ph = tp->axis_angle_deg * G_PI / 180.0, c[3], resid;
  g_autofree double *com = g_new (double, n);
  g_autofree float *tmp = g_new (float, (gsize) w * h);

  for (guint k = 0; k < n; k++)
    {
      const float *img = kiln_image_stack_tilt_const (tp->projections, k);
      double m = 0, mx = 0, my = 0;
      float bg;

      memcpy (tmp, img, sizeof (float) * w * h);
      qsort (tmp, (gsize) w * h, sizeof (float), cmp_float);
      bg = tmp[(gsize) w * h / 2];
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            double v = img[(gsize) y * w + x] - bg;
            if (v > 0)
              {
                m += v;
                mx += v * (x - (w - 1) / 2.0);
                my += v * (y - (h - 1) / 2.0);
              }
          }
      com[k] = (mx * cos (ph) + my * sin (ph)) / m;
    }
  resid = fit_cos_sin (com, tp->true_angles_deg, n, c);
  *X = c[1];
  *Z = c[2];
  return resid;
}

/* The simulator (issue 4) with the paper's dose (250 e⁻/nm² per series) and scan noise (g4,
 * variance 137), drift σ = 5 px, at 128² with the paper's field of view (8.32 nm/px) and 6
 * particles; two scenes (seeds 1 and 2). Issue 6: after MI the recovered shifts have RMS error
 * ≤ 0.3 px with the global offset removed.
 *
 * The frame matters. The simulator turns the specimen about an axis 6 px off the image centre,
 * and the particles' centroid (X, Z) lies off that axis (seed 1: 1.0 px across, seed 2: −12.7 px).
 * A point there projects with an extra x-shift of X cos θ + Z sin θ, which is exactly what drift
 * of that size would do: no alignment of projections without a 3-D reference can tell them apart.
 * The alignment fixes this freedom by putting the specimen's centre of mass on the axis
 * (KilnAlignParams.specimen_frame), so the test measures the error in the specimen's frame: the
 * truth −drift minus X cos θ + Z sin θ, with (X, Z) taken from the simulator's own noise-free
 * projections (specimen_centroid, not from the alignment), then the global offset removed.
 * Measured (seeds 1 / 2): MI 0.13 / 0.27 px, xcorr 0.12 / 0.08 px; tolerance 0.3 px for both.
 * Against the raw drift the same alignments score 0.22 / 0.97 px: the difference is the
 * specimen's unobservable offset from the simulator's axis. Also checked: the error after
 * removing everything unobservable (kiln_align_rms_error_unobservable_removed, the specimen's
 * offset fitted rather than taken from the truth): MI 0.11 / 0.27 px, xcorr 0.10 / 0.07 px,
 * tolerance 0.3 px (MI), 0.5 px (xcorr). */
static void
test_simulator (void)
{
  for (guint64 seed = 1; seed <= 2; seed++)
    {
      KilnSimParams sp;
      KilnSimTimePoint *tp;
      g_autoptr(GError) error = NULL;
      KilnAlignParams p;
      KilnAlignResult *rx, *rm;
      double gx, gm, px, pm, fx, fm, X, Z, ph, resid;
      g_autofree double *drift = NULL;
      g_autofree double *drift_specimen = NULL;

      kiln_sim_params_init (&sp, KILN_SIM_PRESET_PAPER);
      sp.size_px = 128;
      sp.pixel_size_nm = 1.04 * 1024 / 128;
      sp.depth_px = 28;
      sp.n_particles = 6;
      sp.n_time_points = 1;
      sp.make_volume = FALSE;
      sp.supersample = 1;
      sp.drift_sigma_px = 5.0;
      sp.seed = seed;
      g_assert_cmpfloat (sp.dose_e_nm2, ==, 250.0);
      g_assert_cmpint (sp.scan_noise, ==, KILN_NOISE_G4);
      g_assert_cmpfloat (sp.scan_noise_variance, ==, 137.0);
      tp = kiln_sim_time_point_new (&sp, 0, NULL, NULL, NULL, &error);
      g_assert_no_error (error);

      kiln_align_params_init (&p);
      p.xcorr.axis_angle_deg = tp->axis_angle_deg;
      /* fewer samples and iterations than the defaults keep this test short */
      p.mi.metric.n_samples = 8000;
      p.mi.optimizer.max_iterations = 150;
      p.method = KILN_ALIGN_XCORR;
      rx = kiln_align_series (tp->tilts, &p, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      p.method = KILN_ALIGN_MI;
      rm = kiln_align_series (tp->tilts, &p, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);

      /* the specimen's offset from the axis, from the truth; the fit leaves < 0.05 px (a rigid
       * object inside the field) */
      resid = specimen_centroid (tp, &X, &Z);
      g_assert_cmpfloat (resid, <, 0.05);
      ph = tp->axis_angle_deg * G_PI / 180.0;
      drift = g_new (double, 2 * tp->n_tilts);
      drift_specimen = g_new (double, 2 * tp->n_tilts);
      for (guint k = 0; k < tp->n_tilts; k++)
        {
          double t = tp->true_angles_deg[k] * G_PI / 180.0, u = X * cos (t) + Z * sin (t);
          drift[2 * k] = tp->drift[k].dx;
          drift[2 * k + 1] = tp->drift[k].dy;
          drift_specimen[2 * k] = tp->drift[k].dx + u * cos (ph);
          drift_specimen[2 * k + 1] = tp->drift[k].dy + u * sin (ph);
        }
      gx = shift_rms_error_gauge (rx, tp->drift, tp->tilts->angles_deg, tp->axis_angle_deg);
      gm = shift_rms_error_gauge (rm, tp->drift, tp->tilts->angles_deg, tp->axis_angle_deg);
      /* the library's version of this measure (used by the app's teaching overlay) agrees with
       * the test's own, independently written one to 1e-9 px */
      g_assert_cmpfloat (fabs (kiln_align_rms_error_unobservable_removed (rm->xf, tp->drift,
                                                                          tp->tilts->angles_deg,
                                                                          tp->axis_angle_deg,
                                                                          tp->n_tilts) - gm),
                         <, 1e-9);
      px = shift_rms_error (rx, drift);
      pm = shift_rms_error (rm, drift);
      fx = shift_rms_error (rx, drift_specimen);
      fm = shift_rms_error (rm, drift_specimen);
      g_test_message ("simulator seed %" G_GUINT64_FORMAT " (paper dose, g4 137, drift σ 5 px; "
                      "specimen centroid X %.2f px, Z %.2f px from the axis): RMS error, global "
                      "offset removed, in the specimen's frame: xcorr %.3f px, MI %.3f px; against "
                      "the raw drift: xcorr %.3f px, MI %.3f px; all unobservable motion removed: "
                      "xcorr %.3f px, MI %.3f px", seed, X, Z, fx, fm, px, pm, gx, gm);
      /* the specimen frame was applied: the centre-of-mass track across the axis follows the
       * rigid-body form to within 0.5 px RMS (measured 0.20–0.24 px) */
      g_assert_true (rx->specimen_frame);
      g_assert_true (rm->specimen_frame);
      g_assert_cmpfloat (fm, <=, 0.3);
      g_assert_cmpfloat (fx, <=, 0.3);
      g_assert_cmpfloat (gm, <=, 0.3);
      g_assert_cmpfloat (gx, <=, 0.5);
      kiln_align_result_free (rx);
      kiln_align_result_free (rm);
      kiln_sim_time_point_free (tp);
    }
}

/* .xf round trip of a result with rotations: written and read back, the transforms agree to the
 * file's printed precision (1e-6), and the loaded result keeps shifts and rotations. */
static void
test_xf_round_trip (void)
{
  g_autofree char *path = kiln_test_tmpfile ("round.xf");
  g_autoptr(GError) error = NULL;
  KilnXf xf[4];
  g_autofree KilnXf *back = NULL;
  KilnAlignResult *r;
  guint n = 0;

  for (guint k = 0; k < 4; k++)
    kiln_xf_rotation (&xf[k], 0.7 * k - 1.0, 3.25 * k - 4.0, -1.5 * k + 0.123456);
  g_assert_true (kiln_xf_save (path, xf, 4, &error));
  g_assert_no_error (error);
  back = kiln_xf_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 4);
  r = kiln_align_result_new_from_xf (back, n);
  for (guint k = 0; k < 4; k++)
    {
      g_assert_cmpfloat (fabs (back[k].a11 - xf[k].a11), <, 1e-6);
      g_assert_cmpfloat (fabs (back[k].a12 - xf[k].a12), <, 1e-6);
      g_assert_cmpfloat (fabs (back[k].a21 - xf[k].a21), <, 1e-6);
      g_assert_cmpfloat (fabs (back[k].a22 - xf[k].a22), <, 1e-6);
      g_assert_cmpfloat (fabs (back[k].dx - xf[k].dx), <, 1e-5);
      g_assert_cmpfloat (fabs (back[k].dy - xf[k].dy), <, 1e-5);
      g_assert_cmpfloat (fabs (r->tilts[k].rotation_deg - (0.7 * k - 1.0)), <, 1e-4);
    }
  g_assert_true (r->has_rotation);
  kiln_align_result_free (r);
}

/* ---- the real needle series ---- */

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* The needle series (axis ≈ horizontal, 90°): after alignment the centre of mass of every tilt,
 * perpendicular to the axis (y), stays within 1 px of the reference tilt's (issue 6). Before
 * alignment it drifts by about 2 px. */
static void
test_needle (void)
{
  g_autofree char *tif = kiln_test_shared_path ("data/etspy-needle-haadf/stack.tif");
  g_autofree char *tlt = kiln_test_shared_path ("data/etspy-needle-haadf/angles.tlt");
  g_autoptr(KilnImageStack) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree double *angles = NULL;
  guint n_angles = 0;
  KilnAlignParams p;
  KilnAlignResult *r;
  double spread_before = 0, spread_after = 0, c0x, c0y, ref_y, ref_raw_y;

  if (tif == NULL || tlt == NULL)
    {
      g_test_skip ("../shared/data/etspy-needle-haadf is absent");
      return;
    }
  st = kiln_tiff_load_stack (tif, NULL, &error);
  g_assert_no_error (error);
  angles = kiln_tlt_load (tlt, &n_angles, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_image_stack_set_angles (st, angles, n_angles, &error));
  g_assert_no_error (error);

  kiln_align_params_init (&p);
  p.xcorr.axis_angle_deg = 90.0;
  if (g_getenv ("KILN_TEST_NEEDLE_METHOD"))
    kiln_align_method_from_string (g_getenv ("KILN_TEST_NEEDLE_METHOD"), &p.method);
  if (g_strcmp0 (g_getenv ("KILN_TEST_NEEDLE_NOSTRETCH"), "1") == 0)
    p.xcorr.stretch = FALSE;
  r = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  {
    g_autofree float *tmp = g_new (float, st->width * st->height);
    double cyy[2][91], cx0 = (st->width - 1) / 2.0, cy0 = (st->height - 1) / 2.0;

    g_assert_cmpuint (st->n_tilts, <=, 91);
    for (guint k = 0; k < st->n_tilts; k++)
      {
        const float *img = kiln_image_stack_tilt_const (st, k);
        const KilnXf *x = &r->xf[k];
        float bg;

        /* background: the median */
        memcpy (tmp, img, sizeof (float) * st->width * st->height);
        qsort (tmp, st->width * st->height, sizeof (float), cmp_float);
        bg = tmp[st->width * st->height / 2];
        kiln_centre_of_mass (img, st->width, st->height, bg, &c0x, &c0y);
        cyy[0][k] = c0y;
        /* the aligned tilt's centre of mass is the raw one mapped through its transform (exact;
         * measuring it on the resampled tilt would count the mean-filled edges as mass) */
        cyy[1][k] = x->a21 * (c0x - cx0) + x->a22 * (c0y - cy0) + x->dy + cy0;
      }
    ref_raw_y = cyy[0][r->reference];
    ref_y = cyy[1][r->reference];
    for (guint k = 0; k < st->n_tilts; k++)
      {
        spread_before = MAX (spread_before, fabs (cyy[0][k] - ref_raw_y));
        spread_after = MAX (spread_after, fabs (cyy[1][k] - ref_y));
        if (g_getenv ("KILN_TEST_VERBOSE_NEEDLE"))
          g_test_message ("tilt %u (%g°): com y raw %.2f aligned %.2f; dx %.2f dy %.2f peak %.3f",
                          k, st->angles_deg[k], cyy[0][k], cyy[1][k], r->xf[k].dx, r->xf[k].dy,
                          r->tilts[k].xcorr_peak);
      }
  }
  g_test_message ("needle: centre-of-mass drift across the axis: before %.2f px, after %.2f px "
                  "(specimen frame %s)", spread_before, spread_after,
                  r->specimen_frame ? "applied" : "not applied");
  g_assert_cmpfloat (spread_after, <=, 1.0);
  kiln_align_result_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/align/phantom-series", test_phantom_series);
  g_test_add_func ("/align/slab-series", test_slab_series);
  g_test_add_func ("/align/apply", test_apply);
  g_test_add_func ("/align/cancel-and-errors", test_cancel_and_errors);
  g_test_add_func ("/align/rotation-series", test_rotation_series);
  g_test_add_func ("/align/simulator", test_simulator);
  g_test_add_func ("/align/xf-round-trip", test_xf_round_trip);
  g_test_add_func ("/align/needle", test_needle);
  return g_test_run ();
}
