/* bench-align.c — tilt-series alignment speed: 41 × 1024² series, xcorr only and xcorr + MI,
 * and the Mattes MI metric's evaluations per second. Prints a table of medians.
 *
 *   bench-align [--size N] [--tilts N] [--runs N] [--threads N] [--xcorr-only]
 *               [--no-specimen-frame]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kiln.h"

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double
gauss (GRand *r)
{
  double u1 = MAX (g_rand_double (r), 1e-300), u2 = g_rand_double (r);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* A smooth random texture (white noise low-passed in Fourier space, σ ≈ 6 px features), each
 * tilt foreshortened by cos θ across a vertical axis, moved by a random drift (σ 5 px), plus white
 * noise (SNR ≈ 3). */
static KilnImageStack *
make_series (guint   size,
             guint   n,
             double *drift)
{
  KilnImageStack *st = kiln_image_stack_new (n, size, size, NULL);
  GRand *r = g_rand_new_with_seed (2024);
  gsize np = (gsize) size * size, nc = (gsize) size * (size / 2 + 1);
  float *base = kiln_fft_alloc_real (np);
  fftwf_complex *spec = kiln_fft_alloc_complex (nc);
  fftwf_plan f = kiln_fft_plan_r2c_2d (size, size, base, spec, FFTW_ESTIMATE);
  fftwf_plan b = kiln_fft_plan_c2r_2d (size, size, spec, base, FFTW_ESTIMATE);
  double angles[256], sd = 0;

  for (gsize i = 0; i < np; i++)
    base[i] = (float) gauss (r);
  fftwf_execute (f);
  for (guint ky = 0; ky < size; ky++)
    for (guint kx = 0; kx <= size / 2; kx++)
      {
        double fy = (ky <= size / 2 ? (double) ky : (double) ky - size) / size, fx = (double) kx / size;
        double g = exp (-(fx * fx + fy * fy) * 2 * G_PI * G_PI * 36.0) / np;
        spec[(gsize) ky * (size / 2 + 1) + kx][0] *= (float) g;
        spec[(gsize) ky * (size / 2 + 1) + kx][1] *= (float) g;
      }
  fftwf_execute (b);
  for (gsize i = 0; i < np; i++)
    sd += base[i] * base[i] / np;
  sd = sqrt (sd);
  for (guint k = 0; k < n; k++)
    {
      double th = (-40.0 + 80.0 * k / MAX (n - 1, 1)) * G_PI / 180.0;
      KilnXf xf = { cos (th), 0, 0, 1, 0, 0 };
      float *img = kiln_image_stack_tilt (st, k);

      angles[k] = th * 180.0 / G_PI;
      drift[2 * k] = 5.0 * gauss (r);
      drift[2 * k + 1] = 5.0 * gauss (r);
      xf.dx = drift[2 * k];
      xf.dy = drift[2 * k + 1];
      kiln_transform_image (base, size, size, &xf, KILN_INTERP_CUBIC, 0.0f, img, NULL);
      for (gsize i = 0; i < np; i++)
        img[i] += (float) (sd / 3.0 * gauss (r));
    }
  kiln_image_stack_set_angles (st, angles, n, NULL);
  kiln_fft_destroy_plan (f);
  kiln_fft_destroy_plan (b);
  kiln_fft_free (base);
  kiln_fft_free (spec);
  g_rand_free (r);
  return st;
}

static double rms_error_gauge (const KilnAlignResult *res, const double *drift, const double *angles);

static double
rms_error (const KilnAlignResult *res,
           const double          *drift)
{
  double mx = 0, my = 0, ss = 0;
  guint n = res->n_tilts;

  for (guint k = 0; k < n; k++)
    {
      mx += (res->xf[k].dx + drift[2 * k]) / n;
      my += (res->xf[k].dy + drift[2 * k + 1]) / n;
    }
  for (guint k = 0; k < n; k++)
    {
      double ex = res->xf[k].dx + drift[2 * k] - mx, ey = res->xf[k].dy + drift[2 * k + 1] - my;
      ss += ex * ex + ey * ey;
    }
  return sqrt (ss / n);
}

/* the same after removing also what no alignment can observe (kiln-align.h) */
static double
rms_error_gauge (const KilnAlignResult *res,
                 const double          *drift,
                 const double          *angles)
{
  g_autofree KilnXf *d = g_new (KilnXf, res->n_tilts);

  for (guint k = 0; k < res->n_tilts; k++)
    kiln_xf_rotation (&d[k], 0.0, drift[2 * k], drift[2 * k + 1]);
  return kiln_align_rms_error_unobservable_removed (res->xf, d, angles, 0.0, res->n_tilts);
}

int
main (int argc, char **argv)
{
  int size = 1024, tilts = 41, runs = 3, threads = 2;
  gboolean xcorr_only = FALSE, no_specimen_frame = FALSE;
  GOptionEntry entries[] = {
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Image size (default 1024)", "N" },
    { "tilts", 0, 0, G_OPTION_ARG_INT, &tilts, "Tilts (default 41)", "N" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per case; medians are printed (default 3)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "OpenMP threads (default 2)", "N" },
    { "xcorr-only", 0, 0, G_OPTION_ARG_NONE, &xcorr_only, "Only the cross-correlation case", NULL },
    { "no-specimen-frame", 0, 0, G_OPTION_ARG_NONE, &no_specimen_frame,
      "Without the specimen-frame step (to measure its cost)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("— tilt-series alignment benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) st = NULL;
  g_autofree double *drift = NULL;
  g_autofree double *tx = NULL;
  g_autofree double *tm = NULL;
  g_autofree double *cx = NULL;
  g_autofree double *cm = NULL;
  g_autofree double *ts = NULL;
  g_autofree double *cs = NULL;
  g_autofree double *tu = NULL;
  g_autofree double *cu = NULL;
  double es = 0, ex = 0, em = 0, eu = 0, gs = 0, gx = 0, gm = 0, gu = 0, evals_s = 0, evals_cpu = 0;
  guint64 mi_evals = 0;
  KilnAlignParams p;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || size < 64 || size > 8192 ||
      tilts < 3 || tilts > 256 || runs < 1 || threads < 1)
    {
      fprintf (stderr, "bench-align: %s\n", error ? error->message : "bad arguments");
      return 2;
    }
#ifdef _OPENMP
  omp_set_num_threads (threads);
#endif
  drift = g_new (double, 2 * tilts);
  st = make_series (size, tilts, drift);
  tx = g_new (double, runs);
  tm = g_new (double, runs);
  cx = g_new (double, runs);
  cm = g_new (double, runs);
  ts = g_new (double, runs);
  cs = g_new (double, runs);
  tu = g_new (double, runs);
  cu = g_new (double, runs);
  kiln_align_params_init (&p);
  p.specimen_frame = !no_specimen_frame;

  for (int r = 0; r < runs; r++)
    {
      KilnAlignResult *res;
      gint64 t0;
      double c0;

      p.method = KILN_ALIGN_XCORR;
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
      res = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
      tx[r] = (g_get_monotonic_time () - t0) / 1e6;
      cx[r] = cpu_seconds () - c0;
      if (res == NULL)
        {
          fprintf (stderr, "bench-align: %s\n", error->message);
          return 1;
        }
      ex = rms_error (res, drift);
      gx = rms_error_gauge (res, drift, st->angles_deg);
      kiln_align_result_free (res);
      if (xcorr_only)
        {
          tm[r] = ts[r] = tu[r] = cm[r] = cs[r] = cu[r] = NAN;
          continue;
        }

      p.method = KILN_ALIGN_MI;
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
      res = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
      tm[r] = (g_get_monotonic_time () - t0) / 1e6;
      cm[r] = cpu_seconds () - c0;
      if (res == NULL)
        {
          fprintf (stderr, "bench-align: %s\n", error->message);
          return 1;
        }
      em = rms_error (res, drift);
      gm = rms_error_gauge (res, drift, st->angles_deg);
      mi_evals = res->mi_evaluations;
      kiln_align_result_free (res);

      /* the two fixed choices that the default (AUTO) chooses between per pair */
      p.mi_stretch = KILN_ALIGN_MI_STRETCH_ON;
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
      res = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
      ts[r] = (g_get_monotonic_time () - t0) / 1e6;
      cs[r] = cpu_seconds () - c0;
      if (res == NULL)
        {
          fprintf (stderr, "bench-align: %s\n", error->message);
          return 1;
        }
      es = rms_error (res, drift);
      gs = rms_error_gauge (res, drift, st->angles_deg);
      kiln_align_result_free (res);

      p.mi_stretch = KILN_ALIGN_MI_STRETCH_OFF;
      t0 = g_get_monotonic_time ();
      c0 = cpu_seconds ();
      res = kiln_align_series (st, &p, NULL, NULL, NULL, NULL, &error);
      tu[r] = (g_get_monotonic_time () - t0) / 1e6;
      cu[r] = cpu_seconds () - c0;
      p.mi_stretch = KILN_ALIGN_MI_STRETCH_AUTO;
      if (res == NULL)
        {
          fprintf (stderr, "bench-align: %s\n", error->message);
          return 1;
        }
      eu = rms_error (res, drift);
      gu = rms_error_gauge (res, drift, st->angles_deg);
      kiln_align_result_free (res);
    }

  /* the metric alone: one thread, full-resolution pair, default samples */
  {
    KilnMattesParams mp;
    KilnMattesMI *mi;
    guint z = kiln_image_stack_zero_tilt (st), ne = 0;
    double sink = 0, per[5], cper[5];
    kiln_mattes_params_init (&mp);
    mi = kiln_mattes_mi_new (kiln_image_stack_tilt_const (st, z),
                             kiln_image_stack_tilt_const (st, z + 1), size, size, size / 16, &mp,
                             &error);
    for (int rep = 0; rep < 5; rep++)
      {
        gint64 t0 = g_get_monotonic_time ();
        double c0 = cpu_seconds ();
        ne = 0;
        while (g_get_monotonic_time () - t0 < 300000)
          {
            KilnXf xf = { 1, 0, 0, 1, 0.01 * (ne % 50), 0.3 };
            sink += kiln_mattes_mi_eval (mi, &xf);
            ne++;
          }
        per[rep] = ne / ((g_get_monotonic_time () - t0) / 1e6);
        cper[rep] = ne / MAX (cpu_seconds () - c0, 1e-9);
      }
    evals_s = median (per, 5);
    evals_cpu = median (cper, 5);
    kiln_mattes_mi_free (mi);
    if (!(sink > 0))
      fprintf (stderr, "bench-align: unexpected MI values\n");
  }

  printf ("Tilt-series alignment, %d × %d² synthetic series (drift σ 5 px, SNR 3), %d threads, "
          "median of %d run(s)\n\n", tilts, size, threads, runs);
  printf ("| case                        | wall (s) | CPU (s) | goal (s) | wall per tilt (ms) | RMS error (px) | RMS, unobservable removed (px) |\n");
  printf ("|-----------------------------|---------:|--------:|---------:|-------------------:|---------------:|-------------------------------:|\n");
  {
    double mx = median (tx, runs), mm = median (tm, runs);
    printf ("| xcorr only                  | %8.2f | %7.2f | %8s | %18.1f | %14.3f | %30.3f |\n", mx, median (cx, runs),
            size == 1024 && tilts == 41 ? "3" : "-", 1000 * mx / tilts, ex, gx);
    if (!xcorr_only)
      {
        printf ("| xcorr + MI (default, auto)  | %8.2f | %7.2f | %8s | %18.1f | %14.3f | %30.3f |\n", mm, median (cm, runs),
                size == 1024 && tilts == 41 ? "30" : "-", 1000 * mm / tilts, em, gm);
        printf ("| xcorr + MI, always stretch  | %8.2f | %7.2f | %8s | %18.1f | %14.3f | %30.3f |\n", median (ts, runs),
                median (cs, runs), size == 1024 && tilts == 41 ? "30" : "-",
                1000 * median (ts, runs) / tilts, es, gs);
        printf ("| xcorr + MI, never stretch   | %8.2f | %7.2f | %8s | %18.1f | %14.3f | %30.3f |\n", median (tu, runs),
                median (cu, runs), size == 1024 && tilts == 41 ? "30" : "-",
                1000 * median (tu, runs) / tilts, eu, gu);
      }
  }
  printf ("\nMI metric (one thread, %u samples, 50 bins, %d² pair): %.0f evaluations per wall "
          "second, %.0f per CPU second.\n", 20000u, size, evals_s, evals_cpu);
  if (!xcorr_only)
    printf ("The MI run made %" G_GUINT64_FORMAT " evaluations (%.0f per wall second over %d "
            "threads).\n", mi_evals, mi_evals / median (tm, runs), threads);
  printf ("CPU (s) is the process CPU time: on an idle machine the wall time is about CPU / %d.\n",
          threads);
  return 0;
}
