/* bench-bm3d.c — BM3D speed and quality (prints a table)
 *
 * Natural image: skimage's camera.png (Debian python3-skimage), 512², converted with pngtopnm
 * and mirror-tiled 2 × 2 to 1024²; if either is missing, a synthetic particle image is used
 * and the table says so. Override the path with $KILN_BENCH_CAMERA (a PNG or binary PGM).
 * Threads: 2 (or $KILN_BENCH_THREADS). Times are medians of $KILN_BENCH_REPEATS (3) runs.
 * $KILN_BENCH_ROI_ONLY=1 skips the full-image rows. $KILN_BENCH_SIZE=N (e.g. 4096) instead runs
 * one N × N image (camera.png mirror-tiled; white σ = 25 and g4 variance 137, fast profile, and
 * the fast 256² ROI preview), once, and reports time and peak memory of each run (Linux: peak
 * RSS during the run, reset through /proc/self/clear_refs, minus the RSS before it).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef _OPENMP
# include <omp.h>
#endif

#include <glib/gstdio.h>

#include "kiln.h"
#include "kiln-bm3d.h"
#include "kiln-noise.h"

#define CAMERA_DEFAULT "/usr/lib/python3/dist-packages/skimage/data/camera.png"

static int repeats = 3;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Binary PGM (P5, 8-bit) from memory. */
static float *
parse_pgm (const guint8 *d, gsize len, int *w, int *h)
{
  int vals[3], nv = 0;
  gsize i = 2;
  if (len < 2 || d[0] != 'P' || d[1] != '5')
    return NULL;
  while (nv < 3 && i < len)
    {
      if (d[i] == '#')
        {
          while (i < len && d[i] != '\n')
            i++;
        }
      else if (g_ascii_isdigit (d[i]))
        {
          int v = 0;
          while (i < len && g_ascii_isdigit (d[i]))
            v = v * 10 + (d[i++] - '0');
          vals[nv++] = v;
          continue;
        }
      i++;
    }
  if (nv < 3 || vals[2] > 255 || vals[0] <= 0 || vals[1] <= 0
      || len - i < (gsize) vals[0] * vals[1])
    return NULL;
  *w = vals[0];
  *h = vals[1];
  {
    float *img = g_new (float, (gsize) vals[0] * vals[1]);
    for (gsize k = 0; k < (gsize) vals[0] * vals[1]; k++)
      img[k] = d[i + k];
    return img;
  }
}

static float *
load_camera (int *w, int *h, char **what)
{
  const char *path = g_getenv ("KILN_BENCH_CAMERA");
  g_autofree char *out = NULL;
  gsize len = 0;
  float *img = NULL;

  if (path == NULL)
    path = CAMERA_DEFAULT;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  if (g_str_has_suffix (path, ".png"))
    {
      g_autofree char *tmp = g_build_filename (g_get_tmp_dir (), "kiln-bench-camera.pgm", NULL);
      const char *argv[] = { "sh", "-c", "pngtopnm \"$0\" > \"$1\"", path, tmp, NULL };
      int status = 0;
      if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH
                         | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL)
          || status != 0 || !g_file_get_contents (tmp, &out, &len, NULL))
        return NULL;
      g_unlink (tmp);
    }
  else if (!g_file_get_contents (path, &out, &len, NULL))
    return NULL;
  img = parse_pgm ((const guint8 *) out, len, w, h);
  if (img != NULL)
    *what = g_strdup_printf ("%s (%d × %d)", path, *w, *h);
  return img;
}

static void
synthetic (float *img, int w, int h)
{
  guint32 s = 99;
  for (int i = 0; i < w * h; i++)
    img[i] = 60 + 40.0f * (i % w) / w;
  for (int k = 0; k < w * h / 2000; k++)
    {
      double cx, cy, r, a;
      s = s * 1664525u + 1013904223u;
      cx = (s >> 8) % w;
      s = s * 1664525u + 1013904223u;
      cy = (s >> 8) % h;
      s = s * 1664525u + 1013904223u;
      r = 3 + (s >> 8) % 1000 / 100.0;
      s = s * 1664525u + 1013904223u;
      a = 30 + (s >> 8) % 1000 / 8.0;
      for (int y = MAX (0, (int) (cy - r - 3)); y < MIN (h, (int) (cy + r + 4)); y++)
        for (int x = MAX (0, (int) (cx - r - 3)); x < MIN (w, (int) (cx + r + 4)); x++)
          {
            double d = sqrt ((x - cx) * (x - cx) + (y - cy) * (y - cy));
            img[y * w + x] += (float) (a / (1 + exp ((d - r) / 0.7)));
          }
    }
  for (int i = 0; i < w * h; i++)
    img[i] = CLAMP (img[i], 0.0f, 255.0f);
}

/* 2 × 2 mirror tiling of a w × h image to 2w × 2h */
static float *
mirror_tile (const float *src, int w, int h)
{
  float *dst = g_new (float, (gsize) 4 * w * h);
  for (int y = 0; y < 2 * h; y++)
    for (int x = 0; x < 2 * w; x++)
      {
        int sx = x < w ? x : 2 * w - 1 - x, sy = y < h ? y : 2 * h - 1 - y;
        dst[(gsize) y * 2 * w + x] = src[sy * w + sx];
      }
  return dst;
}

/* mirror-tile until at least size × size, then crop */
static float *
tile_to (const float *src, int w, int h, int size)
{
  float *cur = g_memdup2 (src, sizeof (float) * w * h), *out;
  while (w < size || h < size)
    {
      float *next = mirror_tile (cur, w, h);
      g_free (cur);
      cur = next;
      w *= 2;
      h *= 2;
    }
  out = g_new (float, (gsize) size * size);
  for (int y = 0; y < size; y++)
    memcpy (out + (gsize) y * size, cur + (gsize) y * w, sizeof (float) * size);
  g_free (cur);
  return out;
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
cpu_s (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
         + ru.ru_stime.tv_usec / 1e6;
}

static double last_cpu;  /* median CPU time (all threads) of the last run_full */

static double
run_full (const float *noisy, int w, int h, const KilnBm3dNoise *noise,
          const KilnBm3dParams *p, float *out)
{
  double t[16], c[16];
  for (int r = 0; r < repeats; r++)
    {
      double t0 = now_s (), c0 = cpu_s ();
      if (!kiln_bm3d_denoise (noisy, w, h, noise, p, out, NULL, NULL, NULL, NULL))
        g_error ("BM3D failed");
      t[r] = now_s () - t0;
      c[r] = cpu_s () - c0;
    }
  last_cpu = median (c, repeats);
  return median (t, repeats);
}

static double
run_roi (const float *noisy, int w, int h, const KilnBm3dNoise *noise,
         const KilnBm3dParams *p, int size, float *out)
{
  double t[16], c[16];
  int n = MAX (repeats, 5);
  for (int r = 0; r < n; r++)
    {
      double t0 = now_s (), c0 = cpu_s ();
      if (!kiln_bm3d_denoise_roi (noisy, w, h, noise, p, (w - size) / 2, (h - size) / 2, size,
                                  size, out, NULL, NULL, NULL, NULL))
        g_error ("BM3D ROI failed");
      t[r] = now_s () - t0;
      c[r] = cpu_s () - c0;
    }
  last_cpu = median (c, n);
  return median (t, n);
}

static double
peak_rss_mb (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

/* Linux: reset the peak RSS (VmHWM) so that the next reading is the peak of one run; FALSE
 * where that is not possible (then readings are the process's peak so far). */
static gboolean
reset_peak (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  gboolean ok;
  if (f == NULL)
    return FALSE;
  ok = fputs ("5", f) >= 0;
  ok = fclose (f) == 0 && ok;
  return ok && g_file_test ("/proc/self/status", G_FILE_TEST_EXISTS);
}

static double
peak_mb (void)
{
  g_autofree char *st = NULL;
  const char *p;
  if (g_file_get_contents ("/proc/self/status", &st, NULL, NULL)
      && (p = strstr (st, "VmHWM:")) != NULL)
    return g_ascii_strtod (p + 6, NULL) / 1024.0;
  return peak_rss_mb ();
}

static double
cur_mb (void)
{
  g_autofree char *st = NULL;
  const char *p;
  if (g_file_get_contents ("/proc/self/status", &st, NULL, NULL)
      && (p = strstr (st, "VmRSS:")) != NULL)
    return g_ascii_strtod (p + 6, NULL) / 1024.0;
  return 0;
}

/* One size × size image: full fast-profile runs and the ROI preview, time and memory. */
static int
run_big (int size, int threads)
{
  int cw = 0, ch = 0, w = size, h = size;
  g_autofree char *what = NULL;
  g_autofree float *cam = load_camera (&cw, &ch, &what);
  g_autofree float *clean = NULL, *noisy = NULL, *out = NULL, *roi = NULL;
  KilnBm3dParams pf;
  double max_peak = 0;
  struct { const char *name; KilnNoiseKind kind; double var; } cases[] = {
    { "white σ=25", KILN_NOISE_WHITE, 625.0 },
    { "g4 var 137", KILN_NOISE_G4, 137.0 },
  };

  if (size < 16 || size > 16384)
    {
      fprintf (stderr, "bench-bm3d: KILN_BENCH_SIZE must be 16 … 16384\n");
      return 2;
    }
  if (cam != NULL)
    clean = tile_to (cam, cw, ch, size);
  else
    {
      clean = g_new (float, (gsize) w * h);
      synthetic (clean, w, h);
      g_free (what);
      what = g_strdup ("synthetic particles");
    }
  noisy = g_new (float, (gsize) w * h);
  out = g_new (float, (gsize) w * h);
  roi = g_new (float, 256 * 256);
  kiln_bm3d_params_init (&pf, KILN_BM3D_PROFILE_FAST);
  pf.intensity_range = 255;
  printf ("# bench-bm3d: %d × %d, %d threads, one run each; image: %s, mirror-tiled\n", w, h,
          threads, what);
  memset (noisy, 0, sizeof (float) * w * h);
  memset (out, 0, sizeof (float) * w * h);
  printf ("# time_s wall clock; cpu_s all threads; peak_MB = peak RSS during the run minus the RSS\n"
          "# before it (%s; %.1f MB before the first run: the benchmark's own images)\n",
          reset_peak () ? "per run, /proc/self/clear_refs" : "process peak so far", cur_mb ());
  printf ("%-44s %10s %10s %10s %10s %10s\n", "case", "time_s", "cpu_s", "peak_MB", "psnr_in",
          "psnr_out");
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (KilnBm3dNoise) noise = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *name = NULL;
      double t0, c0, t, cpu, rss0;

      if (!kiln_noise_realize (cases[c].kind, w, h, cases[c].var, 1 + c, out, &error))
        g_error ("%s", error->message);
      for (gsize i = 0; i < (gsize) w * h; i++)
        noisy[i] = clean[i] + out[i];
      rss0 = cur_mb ();
      reset_peak ();
      t0 = now_s ();
      c0 = cpu_s ();
      noise = kiln_bm3d_noise_new_model (cases[c].kind, w, h, cases[c].var, &error);
      if (noise == NULL || !kiln_bm3d_denoise (noisy, w, h, noise, &pf, out, NULL, NULL, NULL,
                                               &error))
        g_error ("BM3D %d²: %s", size, error->message);
      t = now_s () - t0;
      cpu = cpu_s () - c0;
      name = g_strdup_printf ("%d² %s, fast (+ noise model)", size, cases[c].name);
      max_peak = MAX (max_peak, peak_mb ());
      printf ("%-44s %10.2f %10.2f %10.1f %10.2f %10.2f\n", name, t, cpu, peak_mb () - rss0,
              kiln_psnr (noisy, clean, (gsize) w * h, 255),
              kiln_psnr (out, clean, (gsize) w * h, 255));
      fflush (stdout);
      if (cases[c].kind == KILN_NOISE_G4)
        {
          /* ROI preview in the centre and at the bottom-right corner; each checked against
           * the full result (must be identical) */
          const int xs[2] = { (w - 256) / 2, w - 256 }, ys[2] = { (h - 256) / 2, h - 256 };
          for (int r = 0; r < 2; r++)
            {
              double maxd = 0;
              rss0 = cur_mb ();
              reset_peak ();
              t0 = now_s ();
              c0 = cpu_s ();
              if (!kiln_bm3d_denoise_roi (noisy, w, h, noise, &pf, xs[r], ys[r], 256, 256, roi,
                                          NULL, NULL, NULL, &error))
                g_error ("BM3D ROI %d²: %s", size, error->message);
              t = now_s () - t0;
              cpu = cpu_s () - c0;
              for (int y = 0; y < 256; y++)
                for (int x = 0; x < 256; x++)
                  maxd = MAX (maxd, fabs (roi[y * 256 + x]
                                          - out[(gsize) (ys[r] + y) * w + xs[r] + x]));
              g_free (name);
              name = g_strdup_printf ("ROI 256² g4 fast, %s (max |diff| %.1g)",
                                      r ? "corner" : "centre", maxd);
              max_peak = MAX (max_peak, peak_mb ());
              printf ("%-44s %10.3f %10.3f %10.1f\n", name, t, cpu, peak_mb () - rss0);
              if (maxd > 1e-4 * 255)
                {
                  fprintf (stderr, "bench-bm3d: ROI differs from the full result\n");
                  return 1;
                }
            }
        }
    }
  printf ("%-44s %10.1f\n", "largest absolute peak RSS of a run, MB", max_peak);
  return 0;
}

int
main (int argc, char **argv)
{
  int threads = 2, cw = 0, ch = 0, w = 1024, h = 1024;
  g_autofree char *what = NULL;
  g_autofree float *cam = NULL, *clean = NULL, *noisy = NULL, *out = NULL, *nz = NULL;
  g_autofree float *roi = NULL;
  g_autoptr (KilnBm3dNoise) white = NULL, g4 = NULL;
  KilnBm3dParams pn, pf;
  double t, tf = 0, tg4 = 0, tr_n, tr_f, tr_cold;
  gboolean roi_only = g_getenv ("KILN_BENCH_ROI_ONLY") != NULL;
  struct rusage ru;

  if (g_getenv ("KILN_BENCH_THREADS"))
    threads = atoi (g_getenv ("KILN_BENCH_THREADS"));
  if (g_getenv ("KILN_BENCH_REPEATS"))
    repeats = CLAMP (atoi (g_getenv ("KILN_BENCH_REPEATS")), 1, 15);
#ifdef _OPENMP
  omp_set_num_threads (threads);
#endif
  if (g_getenv ("KILN_BENCH_SIZE") != NULL)
    return run_big (atoi (g_getenv ("KILN_BENCH_SIZE")), threads);

  cam = load_camera (&cw, &ch, &what);
  if (cam != NULL && cw * 2 <= 4096 && ch * 2 <= 4096)
    {
      clean = mirror_tile (cam, cw, ch);
      w = 2 * cw;
      h = 2 * ch;
      {
        char *t2 = g_strdup_printf ("%s, mirror-tiled 2 × 2", what);
        g_free (what);
        what = t2;
      }
    }
  else
    {
      clean = g_new (float, w * h);
      synthetic (clean, w, h);
      g_free (what);
      what = g_strdup ("synthetic particles (camera.png or pngtopnm not available)");
    }
  noisy = g_new (float, w * h);
  out = g_new (float, w * h);
  nz = g_new (float, w * h);
  roi = g_new (float, 256 * 256);

  printf ("# bench-bm3d: %d threads, medians of %d runs; image: %s\n", threads, repeats, what);
  printf ("# time_s = wall-clock median; cpu_s = CPU time of all threads (the machine is shared:\n"
          "# with other load, wall > cpu / threads)\n");
  printf ("%-52s %10s %10s %10s %10s\n", "case", "time_s", "cpu_s", "psnr_in", "psnr_out");

  /* white σ = 25 (variance 625), 0–255 scale; PSNR peak 255; intensity range 255 fixed so the
   * matching thresholds are the classic ones */
  kiln_noise_realize (KILN_NOISE_WHITE, w, h, 625.0, 1, nz, NULL);
  for (int i = 0; i < w * h; i++)
    noisy[i] = clean[i] + nz[i];
  white = kiln_bm3d_noise_new_model (KILN_NOISE_WHITE, w, h, 625.0, NULL);
  kiln_bm3d_params_init (&pn, KILN_BM3D_PROFILE_NORMAL);
  kiln_bm3d_params_init (&pf, KILN_BM3D_PROFILE_FAST);
  pn.intensity_range = pf.intensity_range = 255;

  if (!roi_only)
  {
  t = run_full (noisy, w, h, white, &pn, out);
  printf ("%-52s %10.2f %10.2f %10.2f %10.2f\n", "1024² white σ=25, normal (goal ≤ 11 s)", t, last_cpu,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);
  tf = run_full (noisy, w, h, white, &pf, out);
  printf ("%-52s %10.2f %10.2f %10.2f %10.2f\n", "1024² white σ=25, fast", tf, last_cpu,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);
  }

  /* g4, variance 137 */
  kiln_noise_realize (KILN_NOISE_G4, w, h, 137.0, 2, nz, NULL);
  for (int i = 0; i < w * h; i++)
    noisy[i] = clean[i] + nz[i];
  {
    double t0 = now_s ();
    g4 = kiln_bm3d_noise_new_model (KILN_NOISE_G4, w, h, 137.0, NULL);
    /* first ROI call also builds the coefficient-covariance table (cached in the noise) */
    kiln_bm3d_denoise_roi (noisy, w, h, g4, &pf, (w - 256) / 2, (h - 256) / 2, 256, 256, roi,
                           NULL, NULL, NULL, NULL);
    tr_cold = now_s () - t0;
  }
  if (!roi_only)
  {
  tg4 = run_full (noisy, w, h, g4, &pn, out);
  printf ("%-52s %10.2f %10.2f %10.2f %10.2f\n", "1024² g4 var 137, normal", tg4, last_cpu,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);
  t = run_full (noisy, w, h, g4, &pf, out);
  printf ("%-52s %10.2f %10.2f %10.2f %10.2f\n", "1024² g4 var 137, fast", t, last_cpu,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);
  }

  tr_f = run_roi (noisy, w, h, g4, &pf, 256, roi);
  printf ("%-52s %10.3f %10.3f\n", "ROI 256² g4, fast (goal ≤ 0.3 s)", tr_f, last_cpu);
  tr_n = run_roi (noisy, w, h, g4, &pn, 256, roi);
  printf ("%-52s %10.3f %10.3f\n", "ROI 256² g4, normal", tr_n, last_cpu);
  printf ("%-52s %10.3f\n", "ROI 256² g4 fast, cold (+ PSD model + tables)", tr_cold);
  tr_f = run_roi (noisy, w, h, white, &pf, 256, roi);
  printf ("%-52s %10.3f %10.3f\n", "ROI 256² white, fast", tr_f, last_cpu);
  if (!roi_only)
    {
      printf ("%-52s %10.1f\n", "41 × 1024² g4 series, normal (extrapolated 41 × 1)", 41 * tg4);
      printf ("%-52s %10.1f\n", "41 × 1024² white series, fast (extrapolated 41 × 1)", 41 * tf);
    }

  getrusage (RUSAGE_SELF, &ru);
  printf ("%-52s %10.1f\n", "BM3D buffers per 1024² image in flight, MB",
          (5.0 * w * h * sizeof (float) + 4 * 2 * 46.0 * 1070 * 4 + 97.0 * 97 * 64 * 4
           + threads * (2 * 39.0 * 228 * 65 * 4 + 64.0 * 1521 * 4)) / 1e6);
  printf ("%-52s %10.1f\n", "peak RSS of this benchmark process, MB", ru.ru_maxrss / 1024.0);
  return 0;
}
