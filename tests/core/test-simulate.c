/* test-simulate.c — the simulated experiment: truth, noise, drift, determinism, bad parameters
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#ifdef _OPENMP
# include <omp.h>
#endif

#include "kiln-test-util.h"

/* A scene without particles: a flat field (membrane only, or vacuum). */
static void
flat_params (KilnSimParams *p)
{
  kiln_sim_params_init (p, KILN_SIM_PRESET_TEACHING);
  p->n_particles = 0;
  p->n_time_points = 1;
  p->shell = FALSE;
  p->make_volume = FALSE;
  p->drift_sigma_px = 0;
  p->probe_sigma_nm = 0;
  p->size_px = 128;
  p->depth_px = 16;
}

/* Teaching time point: label centroids and volumes agree with the particle table, and the
 * analytic neck radii of the table are what the phantom holds. Tolerances: for every label,
 * voxel count × voxel³ within 4 % of the anti-aliased table volume (majority labelling of
 * boundary voxels); centroid within 0.12 × radius of the analytic centre (a label gains its
 * half-neck and loses its half-lens, which moves its centroid by at most ~0.1 r). */
static void
test_teaching_truth (void)
{
  g_autoptr (GError) error = NULL;
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (&p, 3, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tp);
  g_assert_cmpuint (tp->n_tilts, ==, 41);
  g_assert_cmpuint (tp->tilts->width, ==, 128);
  g_assert_cmpuint (tp->volume->nz, ==, p.depth_px);
  g_assert_cmpuint (tp->n_particles, ==, p.n_particles);
  g_assert_cmpfloat (tp->tilts->angles_deg[0], ==, -40);
  g_assert_cmpfloat (tp->tilts->angles_deg[40], ==, 40);
  double vs = p.pixel_size_nm;
  guint n = tp->n_particles;
  g_autofree double *sum = g_new0 (double, 3 * (n + 1));
  g_autofree guint64 *cnt = g_new0 (guint64, n + 1);
  KilnLabelVolume *l = tp->labels;
  for (guint z = 0; z < l->nz; z++)
    for (guint y = 0; y < l->ny; y++)
      for (guint x = 0; x < l->nx; x++)
        {
          guint32 v = KILN_VOXEL (l, x, y, z);
          g_assert_cmpuint (v, <=, n);
          cnt[v]++;
          sum[3 * v] += (x - 0.5 * (l->nx - 1)) * vs;
          sum[3 * v + 1] += (y - 0.5 * (l->ny - 1)) * vs;
          sum[3 * v + 2] += (z - 0.5 * (l->nz - 1)) * vs;
        }
  for (guint i = 0; i < n; i++)
    {
      const KilnParticleTruth *t = &tp->particles[i];
      guint32 lab = t->label;
      g_assert_cmpuint (cnt[lab], ==, t->voxels);
      double vol = cnt[lab] * vs * vs * vs;
      g_assert_cmpfloat (fabs (vol - t->volume_nm3) / t->volume_nm3, <, 0.04);
      double dd = 0;
      for (int k = 0; k < 3; k++)
        {
          double c = sum[3 * lab + k] / cnt[lab];
          dd += (c - t->centre_nm[k]) * (c - t->centre_nm[k]);
        }
      g_assert_cmpfloat (sqrt (dd), <, 0.12 * t->radius_nm);
      /* size plausibility: radius near the preset's core radius (±2 sd + neck share) */
      g_assert_cmpfloat (fabs (t->radius_nm - 0.5 * p.core_diameter_nm), <, 0.25 * p.core_diameter_nm);
    }
  /* pairs: 3D neck radius is the phantom's, 2D r_n within 1.5 voxels of it for necked pairs */
  g_assert_cmpuint (tp->n_pairs, >=, 2);
  for (guint i = 0; i < tp->n_pairs; i++)
    {
      const KilnPairTruth *q = &tp->pairs[i];
      gboolean found = FALSE;
      for (guint k = 0; k < tp->phantom->n_necks; k++)
        if (tp->phantom->necks[k].a == q->a && tp->phantom->necks[k].b == q->b)
          {
            g_assert_cmpfloat (q->neck_radius_3d_nm, ==, tp->phantom->necks[k].radius_nm);
            found = TRUE;
          }
      if (!found)
        g_assert_cmpfloat (q->neck_radius_3d_nm, ==, 0);
      g_assert_true (isfinite (q->r_n_nm) && isfinite (q->d_xy_nm) && isfinite (q->d_z_nm));
      g_assert_cmpfloat (fabs (q->d_nm - sqrt (q->d_xy_nm * q->d_xy_nm + q->d_z_nm * q->d_z_nm)), <, 1e-9);
      g_assert_cmpfloat (fabs (q->distance_3d_nm - q->centre_distance_nm), <, 0.15 * q->centre_distance_nm);
      g_test_message ("pair %u:%u r_n3d %.2f r_n2d %.2f d %.2f d3d %.2f", q->a, q->b,
                      q->neck_radius_3d_nm, q->r_n_nm, q->d_nm, q->distance_3d_nm);
    }
  /* the clean projections are the volume's line integrals: at 0° tilt with no axis rotation we
   * compare on a phantom copy below (test_projection_matches_volume) */
}

/* The analytic projections equal the z-sums of the voxelised truth volume (0° tilt, axis angle
 * and shift 0): mean absolute difference < 1 % of the maximum (voxelisation averages over
 * pixel footprints; the projector samples pixel centres). */
static void
test_projection_matches_volume (void)
{
  g_autoptr (GError) error = NULL;
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.n_time_points = 1;
  p.axis_angle_deg = 0;
  p.axis_shift_px = 0;
  p.tilt_min_deg = p.tilt_max_deg = 0;
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (&p, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint w = p.size_px;
  double maxv = 0, mad = 0;
  for (guint y = 0; y < w; y++)
    for (guint x = 0; x < w; x++)
      {
        double s = 0;
        for (guint z = 0; z < p.depth_px; z++)
          s += KILN_VOXEL (tp->volume, x, y, z);
        double pr = tp->projections->data[y * w + x];
        maxv = MAX (maxv, pr);
        mad += fabs (s - pr);
      }
  mad /= (double) w * w;
  g_assert_cmpfloat (maxv, >, 10);
  g_assert_cmpfloat (mad, <, 0.01 * maxv);
}

/* Scan noise alone (no shot noise, flat field): mean, variance and the PSD shape of g4 as
 * asked. Tolerances 5 %: mean offset within 5 % of the noise std; variance within 5 %;
 * the periodogram averaged over 41 tilts and over 8 × 8 frequency blocks within 5 % of the
 * model PSD (kiln_noise_psd_new) averaged over the same blocks, in 16 × 16 blocks holding > 2 %
 * of the mean PSD (statistical error of a block ≈ 1/sqrt(41·256) ≈ 1 %). */
static void
test_scan_noise (void)
{
  g_autoptr (GError) error = NULL;
  KilnSimParams p;
  flat_params (&p);
  p.shot_noise = FALSE;
  p.scan_noise = KILN_NOISE_G4;
  p.scan_noise_variance = 137;
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (&p, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint w = p.size_px, h = p.size_px, n = tp->n_tilts;
  gsize npix = (gsize) w * h;
  double s = 0, s2 = 0;
  for (gsize i = 0; i < npix * n; i++)
    {
      double e = tp->tilts->data[i] - tp->noise_free->data[i];
      s += e;
      s2 += e * e;
    }
  double mean = s / (npix * n), var = s2 / (npix * n) - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.05 * sqrt (137));
  g_assert_cmpfloat (fabs (var - 137) / 137, <, 0.05);

  /* periodogram */
  g_autofree float *psd = kiln_noise_psd_new (KILN_NOISE_G4, w, h, 137, &error);
  g_assert_no_error (error);
  g_autofree double *per = g_new0 (double, npix);
  float *in = kiln_fft_alloc_real (npix);
  fftwf_complex *out = kiln_fft_alloc_complex (h * (w / 2 + 1));
  fftwf_plan plan = kiln_fft_plan_r2c_2d ((int) h, (int) w, in, out, FFTW_ESTIMATE);
  for (guint k = 0; k < n; k++)
    {
      for (gsize i = 0; i < npix; i++)
        in[i] = tp->tilts->data[k * npix + i] - tp->noise_free->data[k * npix + i];
      fftwf_execute (plan);
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x <= w / 2; x++)
          {
            double re = out[y * (w / 2 + 1) + x][0], im = out[y * (w / 2 + 1) + x][1];
            double v = (re * re + im * im) / n;
            per[y * w + x] += v;
            if (x > 0 && x < w - x)
              per[((h - y) % h) * w + (w - x)] += v;
          }
    }
  kiln_fft_destroy_plan (plan);
  kiln_fft_free (in);
  kiln_fft_free (out);
  double mpsd = 0;
  for (gsize i = 0; i < npix; i++)
    mpsd += psd[i] / npix;
  guint nblocks = 0;
  double worst = 0;
  for (guint by = 0; by < h; by += 16)
    for (guint bx = 0; bx < w; bx += 16)
      {
        double a = 0, b = 0;
        for (guint y = by; y < by + 16; y++)
          for (guint x = bx; x < bx + 16; x++)
            {
              a += per[y * w + x];
              b += psd[y * w + x];
            }
        if (b / 256 < 0.02 * mpsd)
          continue;
        nblocks++;
        worst = MAX (worst, fabs (a - b) / b);
      }
  g_test_message ("PSD blocks %u, worst relative error %.3f", nblocks, worst);
  g_assert_cmpuint (nblocks, >, 40);
  g_assert_cmpfloat (worst, <, 0.05);
}

/* Poisson shot noise alone (flat membrane field, no scan noise): mean = offset + gain·λ and
 * variance = gain²·λ within 5 %, at a small λ (exact sampler) and a large one (normal
 * approximation above λ = 40). */
static void
check_shot_noise (double dose)
{
  g_autoptr (GError) error = NULL;
  KilnSimParams p;
  flat_params (&p);
  p.scan_noise_variance = 0;
  p.shot_noise = TRUE;
  p.membrane_thickness_nm = 40;
  p.dose_e_nm2 = dose;
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (&p, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize npix = (gsize) p.size_px * p.size_px, nt = npix * tp->n_tilts;
  /* expected λ per pixel: membrane weight × thickness / cos θ per tilt — use noise_free */
  double s = 0, s2 = 0, sm = 0, sl = 0;
  for (gsize i = 0; i < nt; i++)
    {
      double e = tp->tilts->data[i] - tp->noise_free->data[i];
      double lambda = (tp->noise_free->data[i] - p.detector_offset) / p.detector_gain;
      s += e;
      s2 += e * e;
      sm += tp->tilts->data[i];
      sl += lambda;
    }
  double lam = sl / nt;
  g_assert_cmpfloat (lam, >, 0.5);
  double mean_img = sm / nt, want_mean = p.detector_offset + p.detector_gain * lam;
  g_assert_cmpfloat (fabs (mean_img - want_mean) / (want_mean - p.detector_offset), <, 0.05);
  double var = s2 / nt - (s / nt) * (s / nt);
  double want_var = p.detector_gain * p.detector_gain * lam;
  g_assert_cmpfloat (fabs (var - want_var) / want_var, <, 0.05);
  g_test_message ("dose %g: lambda %.2f, variance %.2f (want %.2f)", dose, lam, var, want_var);
}

static void
test_shot_noise (void)
{
  check_shot_noise (2500);
  check_shot_noise (30000);
}

/* Estimate the translation of b relative to a by the phase of the cross-power spectrum peak
 * (integer peak + parabolic refinement). */
static void
xcorr_shift (const float *a,
             const float *b,
             guint        w,
             guint        h,
             double      *dx,
             double      *dy)
{
  double best = -G_MAXDOUBLE;
  int bx = 0, by = 0;
  const int R = 8;
  double c[2 * 8 + 1][2 * 8 + 1];
  for (int sy = -R; sy <= R; sy++)
    for (int sx = -R; sx <= R; sx++)
      {
        double acc = 0;
        for (guint y = R; y < h - R; y++)
          for (guint x = R; x < w - R; x++)
            acc += a[y * w + x] * b[(y + sy) * w + x + sx];
        c[sy + R][sx + R] = acc;
        if (acc > best)
          {
            best = acc;
            bx = sx;
            by = sy;
          }
      }
  double fx = 0, fy = 0;
  if (bx > -R && bx < R)
    {
      double l = c[by + R][bx + R - 1], m = c[by + R][bx + R], r = c[by + R][bx + R + 1];
      fx = 0.5 * (l - r) / (l - 2 * m + r);
    }
  if (by > -R && by < R)
    {
      double l = c[by + R - 1][bx + R], m = c[by + R][bx + R], r = c[by + R + 1][bx + R];
      fy = 0.5 * (l - r) / (l - 2 * m + r);
    }
  *dx = bx + fx;
  *dy = by + fy;
}

/* The drift returned is the drift applied: the content of each noise-free drifted image is the
 * clean image moved by (dx, dy) (cross-correlation estimate within 0.25 px, on mean-subtracted
 * images), and drifts have the asked spread (sample σ within 35 % for 82 draws). */
static void
test_drift (void)
{
  g_autoptr (GError) error = NULL;
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.n_time_points = 1;
  p.make_volume = FALSE;
  p.drift_sigma_px = 2.0;
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (&p, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  guint w = p.size_px;
  gsize npix = (gsize) w * w;
  double s2 = 0;
  g_autofree float *a = g_new (float, npix);
  g_autofree float *b = g_new (float, npix);
  for (guint k = 0; k < tp->n_tilts; k++)
    {
      const KilnXf *xf = &tp->drift[k];
      g_assert_cmpfloat (xf->a11, ==, 1);
      g_assert_cmpfloat (xf->a22, ==, 1);
      g_assert_cmpfloat (xf->a12, ==, 0);
      s2 += xf->dx * xf->dx + xf->dy * xf->dy;
      if (k % 8 != 0)
        continue;
      double ma = 0, mb = 0;
      for (gsize i = 0; i < npix; i++)
        {
          ma += tp->clean->data[k * npix + i] / npix;
          mb += tp->noise_free->data[k * npix + i] / npix;
        }
      for (gsize i = 0; i < npix; i++)
        {
          a[i] = tp->clean->data[k * npix + i] - ma;
          b[i] = tp->noise_free->data[k * npix + i] - mb;
        }
      double dx, dy;
      xcorr_shift (a, b, w, w, &dx, &dy);
      g_test_message ("tilt %u drift (%.2f, %.2f) measured (%.2f, %.2f)", k, xf->dx, xf->dy, dx, dy);
      g_assert_cmpfloat (fabs (dx - xf->dx), <, 0.25);
      g_assert_cmpfloat (fabs (dy - xf->dy), <, 0.25);
    }
  double sd = sqrt (s2 / (2 * tp->n_tilts));
  g_assert_cmpfloat (fabs (sd - 2.0) / 2.0, <, 0.35);
}

/* Same seed → identical bytes (also with 1 vs 2 threads); another seed → different data. */
static void
test_determinism (void)
{
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.n_time_points = 2;
  p.tilt_step_deg = 10;
#ifdef _OPENMP
  omp_set_num_threads (1);
#endif
  g_autoptr (KilnSimTimePoint) a = kiln_sim_time_point_new (&p, 1, NULL, NULL, NULL, NULL);
#ifdef _OPENMP
  omp_set_num_threads (2);
#endif
  g_autoptr (KilnSimTimePoint) b = kiln_sim_time_point_new (&p, 1, NULL, NULL, NULL, NULL);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  gsize nb = kiln_image_stack_n_pixels (a->tilts) * sizeof (float);
  g_assert_cmpmem (a->tilts->data, nb, b->tilts->data, nb);
  g_assert_cmpmem (a->volume->data, kiln_volume_n_voxels (a->volume) * 4, b->volume->data,
                   kiln_volume_n_voxels (b->volume) * 4);
  g_assert_cmpmem (a->labels->data, kiln_label_volume_n_voxels (a->labels) * 4, b->labels->data,
                   kiln_label_volume_n_voxels (b->labels) * 4);
  g_assert_cmpmem (a->pairs, a->n_pairs * sizeof (KilnPairTruth), b->pairs,
                   b->n_pairs * sizeof (KilnPairTruth));
  p.seed = 2;
  g_autoptr (KilnSimTimePoint) c = kiln_sim_time_point_new (&p, 1, NULL, NULL, NULL, NULL);
  g_assert_nonnull (c);
  g_assert_true (memcmp (a->tilts->data, c->tilts->data, nb) != 0);
}

/* Over time: the tracked pairs' necks grow and saturate (PT ≥ 61 s: < 3 % more growth to
 * 209 s); P1 (first tracked pair) has no neck at PT 0 and one from PT 5 s on; labels keep
 * their particle (centre moves < 0.3 r between time points). */
static void
test_time_evolution (void)
{
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.n_time_points = KILN_SIM_N_SCHEDULE;
  g_autoptr (KilnPhantom) prev = NULL;
  double rn61 = 0, rn209 = 0, last_rn = 0;
  guint np;
  g_autofree guint32 *pairs = kiln_sim_tracked_pairs (&p, &np);
  g_assert_cmpuint (np, >=, 2);
  for (guint tp = 0; tp < KILN_SIM_N_SCHEDULE; tp++)
    {
      g_autoptr (GError) error = NULL;
      KilnPhantom *ph = kiln_sim_phantom (&p, tp, &error);
      g_assert_no_error (error);
      double t;
      kiln_sim_schedule_entry (tp, &t, NULL);
      g_assert_cmpfloat (ph->time_s, ==, t);
      /* neck of the second tracked pair (P2: sintering from contact) */
      KilnPairTruth pt, p1;
      g_assert_true (kiln_phantom_pair_truth (ph, NULL, pairs[2], pairs[3], &pt, NULL));
      g_assert_true (kiln_phantom_pair_truth (ph, NULL, pairs[0], pairs[1], &p1, NULL));
      if (tp == 0)
        g_assert_cmpfloat (p1.neck_radius_3d_nm, ==, 0);
      else
        g_assert_cmpfloat (p1.neck_radius_3d_nm, >, 0);
      g_assert_cmpfloat (pt.neck_radius_3d_nm, >=, last_rn);
      last_rn = pt.neck_radius_3d_nm;
      if (t == 61)
        rn61 = pt.neck_radius_3d_nm;
      if (t == 209)
        rn209 = pt.neck_radius_3d_nm;
      if (prev)
        for (guint i = 0; i < ph->n_cores; i++)
          {
            double dd = 0;
            for (int k = 0; k < 3; k++)
              dd += pow (ph->cores[i].centre_nm[k] - prev->cores[i].centre_nm[k], 2);
            g_assert_cmpfloat (sqrt (dd), <, 0.3 * ph->cores[i].semi_nm[0]);
          }
      g_clear_pointer (&prev, kiln_phantom_free);
      prev = ph;
    }
  g_assert_cmpfloat (rn61, >, 0);
  g_assert_cmpfloat ((rn209 - rn61) / rn61, <, 0.03);
}

/* The BM3D tuning pair: the average of N frames has N times less noise variance (±15 %). */
static void
test_reference_pair (void)
{
  g_autoptr (GError) error = NULL;
  KilnSimParams p;
  flat_params (&p);
  p.reference_frames = 20;
  g_autofree float *raw = NULL;
  g_autofree float *avg = NULL;
  g_assert_true (kiln_sim_reference_pair (&p, &raw, &avg, NULL, &error));
  g_assert_no_error (error);
  gsize n = (gsize) p.size_px * p.size_px;
  double mr = 0, ma = 0;
  for (gsize i = 0; i < n; i++)
    {
      mr += raw[i] / n;
      ma += avg[i] / n;
    }
  double vr = 0, va = 0;
  for (gsize i = 0; i < n; i++)
    {
      vr += (raw[i] - mr) * (raw[i] - mr) / n;
      va += (avg[i] - ma) * (avg[i] - ma) / n;
    }
  g_assert_cmpfloat (fabs (mr - ma) / sqrt (vr), <, 0.05);
  g_assert_cmpfloat (fabs (vr / va - 20) / 20, <, 0.15);
}

static void
expect_bad (KilnSimParams *p,
            int            code)
{
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (p, 0, NULL, NULL, NULL, &error);
  g_assert_null (tp);
  g_assert_error (error, KILN_ERROR, code);
  g_test_message ("%s", error->message);
  /* rejected before any work: well under a second */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
}

static void
test_bad_params (void)
{
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.dose_e_nm2 = -5;
  expect_bad (&p, KILN_ERROR_INVALID_ARGUMENT);
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.tilt_step_deg = 0;
  expect_bad (&p, KILN_ERROR_INVALID_ARGUMENT);
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.tilt_min_deg = 10;
  p.tilt_max_deg = -10;
  expect_bad (&p, KILN_ERROR_INVALID_ARGUMENT);
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.size_px = 8192;
  p.depth_px = 4096;
  expect_bad (&p, KILN_ERROR_NO_MEMORY);
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.n_time_points = 0;
  expect_bad (&p, KILN_ERROR_INVALID_ARGUMENT);
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.n_particles = 60;   /* cannot fit in 512 nm */
  expect_bad (&p, KILN_ERROR_INVALID_ARGUMENT);
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.scan_noise_variance = NAN;
  expect_bad (&p, KILN_ERROR_INVALID_ARGUMENT);
}

/* Cancellation: a cancelled run returns G_IO_ERROR_CANCELLED. */
static void
test_cancel (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) c = g_cancellable_new ();
  g_cancellable_cancel (c);
  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  g_autoptr (KilnSimTimePoint) tp = kiln_sim_time_point_new (&p, 0, c, NULL, NULL, &error);
  g_assert_null (tp);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/simulate/teaching-truth", test_teaching_truth);
  g_test_add_func ("/simulate/projection-matches-volume", test_projection_matches_volume);
  g_test_add_func ("/simulate/scan-noise", test_scan_noise);
  g_test_add_func ("/simulate/shot-noise", test_shot_noise);
  g_test_add_func ("/simulate/drift", test_drift);
  g_test_add_func ("/simulate/determinism", test_determinism);
  g_test_add_func ("/simulate/time-evolution", test_time_evolution);
  g_test_add_func ("/simulate/reference-pair", test_reference_pair);
  g_test_add_func ("/simulate/bad-params", test_bad_params);
  g_test_add_func ("/simulate/cancel", test_cancel);
  return g_test_run ();
}
