/* bench-bm3d.c — BM3D speed and quality (prints a table)
 *
 * Natural image: skimage's camera.png (Debian python3-skimage), 512², converted with pngtopnm
 * and mirror-tiled 2 × 2 to 1024²; if either is missing, a synthetic particle image is used
 * and the table says so. Override the path with $KILN_BENCH_CAMERA (a PNG or binary PGM).
 * Threads: 2 (or $KILN_BENCH_THREADS). Times are medians of $KILN_BENCH_REPEATS (3) runs.
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

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
run_full (const float *noisy, int w, int h, const KilnBm3dNoise *noise,
          const KilnBm3dParams *p, float *out)
{
  double t[16];
  for (int r = 0; r < repeats; r++)
    {
      double t0 = now_s ();
      if (!kiln_bm3d_denoise (noisy, w, h, noise, p, out, NULL, NULL, NULL, NULL))
        g_error ("BM3D failed");
      t[r] = now_s () - t0;
    }
  return median (t, repeats);
}

static double
run_roi (const float *noisy, int w, int h, const KilnBm3dNoise *noise,
         const KilnBm3dParams *p, int size, float *out)
{
  double t[16];
  int n = MAX (repeats, 5);
  for (int r = 0; r < n; r++)
    {
      double t0 = now_s ();
      if (!kiln_bm3d_denoise_roi (noisy, w, h, noise, p, (w - size) / 2, (h - size) / 2, size,
                                  size, out, NULL, NULL, NULL, NULL))
        g_error ("BM3D ROI failed");
      t[r] = now_s () - t0;
    }
  return median (t, n);
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
  double t, tf, tg4, tr_n, tr_f, tr_cold;
  struct rusage ru;

  if (g_getenv ("KILN_BENCH_THREADS"))
    threads = atoi (g_getenv ("KILN_BENCH_THREADS"));
  if (g_getenv ("KILN_BENCH_REPEATS"))
    repeats = CLAMP (atoi (g_getenv ("KILN_BENCH_REPEATS")), 1, 15);
#ifdef _OPENMP
  omp_set_num_threads (threads);
#endif

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
  printf ("%-52s %10s %10s %10s\n", "case", "time_s", "psnr_in", "psnr_out");

  /* white σ = 25 (variance 625), 0–255 scale; PSNR peak 255; intensity range 255 fixed so the
   * matching thresholds are the classic ones */
  kiln_noise_realize (KILN_NOISE_WHITE, w, h, 625.0, 1, nz, NULL);
  for (int i = 0; i < w * h; i++)
    noisy[i] = clean[i] + nz[i];
  white = kiln_bm3d_noise_new_model (KILN_NOISE_WHITE, w, h, 625.0, NULL);
  kiln_bm3d_params_init (&pn, KILN_BM3D_PROFILE_NORMAL);
  kiln_bm3d_params_init (&pf, KILN_BM3D_PROFILE_FAST);
  pn.intensity_range = pf.intensity_range = 255;

  t = run_full (noisy, w, h, white, &pn, out);
  printf ("%-52s %10.2f %10.2f %10.2f\n", "1024² white σ=25, normal (goal ≤ 11 s)", t,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);
  tf = run_full (noisy, w, h, white, &pf, out);
  printf ("%-52s %10.2f %10.2f %10.2f\n", "1024² white σ=25, fast", tf,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);

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
  tg4 = run_full (noisy, w, h, g4, &pn, out);
  printf ("%-52s %10.2f %10.2f %10.2f\n", "1024² g4 var 137, normal", tg4,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);
  t = run_full (noisy, w, h, g4, &pf, out);
  printf ("%-52s %10.2f %10.2f %10.2f\n", "1024² g4 var 137, fast", t,
          kiln_psnr (noisy, clean, w * h, 255), kiln_psnr (out, clean, w * h, 255));
  fflush (stdout);

  tr_f = run_roi (noisy, w, h, g4, &pf, 256, roi);
  tr_n = run_roi (noisy, w, h, g4, &pn, 256, roi);
  printf ("%-52s %10.3f\n", "ROI 256² g4, fast (goal ≤ 0.3 s)", tr_f);
  printf ("%-52s %10.3f\n", "ROI 256² g4, normal", tr_n);
  printf ("%-52s %10.3f\n", "ROI 256² g4 fast, cold (+ PSD model + tables)", tr_cold);
  tr_f = run_roi (noisy, w, h, white, &pf, 256, roi);
  printf ("%-52s %10.3f\n", "ROI 256² white, fast", tr_f);
  printf ("%-52s %10.1f\n", "41 × 1024² g4 series, normal (extrapolated 41 × 1)", 41 * tg4);
  printf ("%-52s %10.1f\n", "41 × 1024² white series, fast (extrapolated 41 × 1)", 41 * tf);

  getrusage (RUSAGE_SELF, &ru);
  printf ("%-52s %10.1f\n", "BM3D buffers per 1024² image in flight, MB",
          (5.0 * w * h * sizeof (float) + 2 * 4 * 46.0 * 1070 * 4 * 2 + 97.0 * 97 * 64 * 4) / 1e6);
  printf ("%-52s %10.1f\n", "peak RSS of this benchmark process, MB", ru.ru_maxrss / 1024.0);
  return 0;
}
