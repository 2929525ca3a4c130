/* bench-bm3d-peer.c — Kiln's BM3D against a peer implementation (Lebrun's IPOL BM3D) on the
 * same noisy image: PSNR and time (prints a table). Driven by bench/peer-bm3d-ipol.sh.
 *
 *   bench-bm3d-peer [PEER [PEER_1THREAD]]
 *
 * PEER is a command run as `PEER NOISY.tif SIGMA OUT.tif`: it reads a single-channel float32
 * TIFF, writes the denoised float32 TIFF (unclipped). PEER uses its own threading (2 threads
 * here); PEER_1THREAD is the same program built without OpenMP. Without a peer only Kiln's rows
 * are printed.
 *
 * Image: skimage's camera.png (512², Debian python3-skimage; $KILN_BENCH_CAMERA overrides it,
 * a PNG or binary PGM), and the same mirror-tiled 2 × 2 to 1024² (the size of the speed
 * goal). Noise: white, σ = 25 on 0–255, generated ONCE per size by kiln_noise_realize (seed
 * $KILN_BENCH_SEED, default 1) and written as float32 TIFF; both programs denoise that file.
 * PSNR = 10·log10(255² / MSE) of the unclipped result against the clean image, both programs
 * scored by the same code. Kiln: normal profile, intensity_range 255 (the classic absolute
 * matching thresholds), 2-D transform as in Lebrun (bior1.5 in stage 1, DCT in stage 2) and
 * Kiln's default (DCT in both). Times: wall-clock medians of $KILN_BENCH_REPEATS (3) runs; the
 * peer's time is its whole process (TIFF I/O included, a few ms). $KILN_BENCH_PEER_DIR keeps the
 * noisy and denoised files there. $KILN_BENCH_PEER_SIZES=512 (or 1024) runs that size only.
 * $KILN_BENCH_PEER_PARAMS overrides Kiln's parameters for experiments, e.g.
 * "lambda_ht=2.7,tau_ht=7500,half_search_ht=16" (keys: the KilnBm3dParams fields below).
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
#include "kiln-tiff.h"

#define CAMERA_DEFAULT "/usr/lib/python3/dist-packages/skimage/data/camera.png"
#define SIGMA 25.0

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

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* CPU time (user + system) of this process, or of its terminated children */
static double
cpu_s (int who)
{
  struct rusage ru;
  getrusage (who, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
         + ru.ru_stime.tv_usec / 1e6;
}

static double last_cpu;  /* median CPU time of the last run_kiln / run_peer */

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
          while (i < len && g_ascii_isdigit (d[i]) && v < 100000)
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
load_camera (const char *path, int *w, int *h)
{
  g_autofree char *out = NULL;
  gsize len = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  if (g_str_has_suffix (path, ".png"))
    {
      g_autofree char *tmp = g_build_filename (g_get_tmp_dir (), "kiln-bench-peer-camera.pgm",
                                               NULL);
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
  return parse_pgm ((const guint8 *) out, len, w, h);
}

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

/* "key=value,…" → params; FALSE on an unknown key */
static gboolean
apply_overrides (KilnBm3dParams *p, const char *spec)
{
  g_auto (GStrv) items = g_strsplit (spec ? spec : "", ",", -1);
  for (int i = 0; items[i] != NULL; i++)
    {
      g_auto (GStrv) kv = g_strsplit (items[i], "=", 2);
      double v;
      if (kv[0] == NULL || kv[0][0] == '\0')
        continue;
      if (kv[1] == NULL)
        return FALSE;
      v = g_ascii_strtod (kv[1], NULL);
      if (strcmp (kv[0], "lambda_ht") == 0)
        p->lambda_ht = v;
      else if (strcmp (kv[0], "mu2") == 0)
        p->mu2 = v;
      else if (strcmp (kv[0], "tau_ht") == 0)
        p->tau_ht = v;
      else if (strcmp (kv[0], "tau_wiener") == 0)
        p->tau_wiener = v;
      else if (strcmp (kv[0], "half_search_ht") == 0)
        p->half_search_ht = (guint) v;
      else if (strcmp (kv[0], "half_search_wiener") == 0)
        p->half_search_wiener = (guint) v;
      else if (strcmp (kv[0], "step_ht") == 0)
        p->step_ht = (guint) v;
      else if (strcmp (kv[0], "step_wiener") == 0)
        p->step_wiener = (guint) v;
      else if (strcmp (kv[0], "group_ht") == 0)
        p->group_ht = (guint) v;
      else if (strcmp (kv[0], "group_wiener") == 0)
        p->group_wiener = (guint) v;
      else if (strcmp (kv[0], "kaiser_beta") == 0)
        p->kaiser_beta = v;
      else
        return FALSE;
    }
  return TRUE;
}

static void
set_threads (int n)
{
#ifdef _OPENMP
  omp_set_num_threads (n);
#else
  (void) n;
#endif
}

/* Kiln, median wall time of `repeats` runs with @threads threads */
static double
run_kiln (const float *noisy, int w, int h, const KilnBm3dNoise *noise, const KilnBm3dParams *p,
          int threads, float *out)
{
  double t[16], c[16];
  set_threads (threads);
  for (int r = 0; r < repeats; r++)
    {
      double t0 = now_s (), c0 = cpu_s (RUSAGE_SELF);
      g_autoptr (GError) error = NULL;
      if (!kiln_bm3d_denoise (noisy, w, h, noise, p, out, NULL, NULL, NULL, &error))
        g_error ("BM3D failed: %s", error->message);
      t[r] = now_s () - t0;
      c[r] = cpu_s (RUSAGE_SELF) - c0;
    }
  last_cpu = median (c, repeats);
  return median (t, repeats);
}

/* The peer, median wall time; its result is read back into @out. Returns < 0 on failure. */
static double
run_peer (const char *peer, const char *noisy_path, const char *out_path, int w, int h,
          float *out)
{
  double t[16], c[16];
  g_autofree char *sigma = g_strdup_printf ("%g", SIGMA);
  g_autoptr (KilnImageStack) res = NULL;
  g_autoptr (GError) error = NULL;

  for (int r = 0; r < repeats; r++)
    {
      const char *argv[] = { peer, noisy_path, sigma, out_path, NULL };
      g_autofree char *sout = NULL, *serr = NULL;
      int status = 0;
      double t0 = now_s (), c0 = cpu_s (RUSAGE_CHILDREN);
      if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &sout,
                         &serr, &status, &error)
          || !g_spawn_check_wait_status (status, &error))
        {
          fprintf (stderr, "bench-bm3d-peer: %s failed: %s\n%s", peer, error->message,
                   serr ? serr : "");
          return -1;
        }
      t[r] = now_s () - t0;
      c[r] = cpu_s (RUSAGE_CHILDREN) - c0;
    }
  last_cpu = median (c, repeats);
  res = kiln_tiff_load_stack (out_path, NULL, &error);
  if (res == NULL || res->width != (guint) w || res->height != (guint) h)
    {
      fprintf (stderr, "bench-bm3d-peer: %s: %s\n", out_path,
               error ? error->message : "not the input's size");
      return -1;
    }
  memcpy (out, kiln_image_stack_tilt_const (res, 0), sizeof (float) * w * h);
  return median (t, repeats);
}

int
main (int argc, char **argv)
{
  const char *peer = argc > 1 ? argv[1] : NULL, *peer1 = argc > 2 ? argv[2] : NULL;
  const char *cam_path = g_getenv ("KILN_BENCH_CAMERA");
  const char *keep = g_getenv ("KILN_BENCH_PEER_DIR");
  guint64 seed = g_getenv ("KILN_BENCH_SEED") ? g_ascii_strtoull (g_getenv ("KILN_BENCH_SEED"),
                                                                  NULL, 10) : 1;
  g_autofree char *dir = NULL;
  g_autofree float *cam = NULL;
  const char *overrides = g_getenv ("KILN_BENCH_PEER_PARAMS");
  int cw = 0, ch = 0, min_tile = 1, max_tile = 2;

  if (argc > 3 || (argc > 1 && argv[1][0] == '-'))
    {
      fprintf (stderr, "usage: bench-bm3d-peer [PEER [PEER_1THREAD]]\n"
               "  PEER is run as: PEER NOISY.tif SIGMA OUT.tif (float32 TIFFs)\n");
      return 2;
    }
  if (g_getenv ("KILN_BENCH_REPEATS"))
    repeats = CLAMP (atoi (g_getenv ("KILN_BENCH_REPEATS")), 1, 15);
  if (cam_path == NULL)
    cam_path = CAMERA_DEFAULT;
  cam = load_camera (cam_path, &cw, &ch);
  if (cam == NULL)
    {
      printf ("# bench-bm3d-peer: skipped, %s (or pngtopnm) not available\n", cam_path);
      return 0;
    }
  if (keep != NULL)
    {
      g_mkdir_with_parents (keep, 0755);
      dir = g_strdup (keep);
    }
  else
    dir = g_dir_make_tmp ("kiln-bm3d-peer-XXXXXX", NULL);

  printf ("# bench-bm3d-peer: %s, white noise σ = %g (seed %" G_GUINT64_FORMAT "), medians of %d"
          " runs\n# peer (2 threads): %s\n# peer (1 thread):  %s\n", cam_path, SIGMA, seed,
          repeats, peer ? peer : "(none)", peer1 ? peer1 : "(none)");
  printf ("# PSNR in dB (peak 255, unclipped results); time_* = wall clock, cpu_* = CPU time of\n"
          "# all threads (s); delta_dB = Kiln − peer. On a loaded machine compare cpu_*.\n");
  printf ("%-38s %8s %8s %8s %8s %8s %8s %8s\n", "case", "psnr_dB", "delta_dB", "time_1t",
          "time_2t", "cpu_1t", "cpu_2t", "psnr_in");

  if (g_getenv ("KILN_BENCH_PEER_SIZES") != NULL)
    {
      int only = atoi (g_getenv ("KILN_BENCH_PEER_SIZES"));
      min_tile = max_tile = only == 2 * cw ? 2 : 1;
    }
  if (overrides != NULL)
    printf ("# Kiln parameter overrides: %s\n", overrides);
  for (int tile = min_tile; tile <= max_tile; tile++)
    {
      int w = cw * tile, h = ch * tile;
      g_autofree float *clean = tile == 1 ? g_memdup2 (cam, sizeof (float) * cw * ch)
                                          : mirror_tile (cam, cw, ch);
      g_autofree float *noisy = g_new (float, (gsize) w * h);
      g_autofree float *out = g_new (float, (gsize) w * h);
      g_autofree char *noisy_path = g_strdup_printf ("%s/noisy-%dx%d.tif", dir, w, h);
      g_autofree char *peer_out = g_strdup_printf ("%s/peer-%dx%d.tif", dir, w, h);
      g_autofree char *kiln_out = g_strdup_printf ("%s/kiln-%dx%d.tif", dir, w, h);
      g_autoptr (KilnBm3dNoise) white = NULL;
      g_autoptr (GError) error = NULL;
      double psnr_in, psnr_peer = NAN, t1, t2, c1, c2, tp1 = NAN, tp2 = NAN, cp1 = NAN, cp2;
      KilnBm3dParams p;
      struct { const char *name; KilnBm3dTransform t1; } variants[] = {
        { "bior1.5 + DCT (as Lebrun)", KILN_BM3D_TRANSFORM_BIOR15 },
        { "DCT + DCT (Kiln default)", KILN_BM3D_TRANSFORM_DCT },
      };

      if (!kiln_noise_realize (KILN_NOISE_WHITE, w, h, SIGMA * SIGMA, seed, out, &error))
        g_error ("%s", error->message);
      for (gsize i = 0; i < (gsize) w * h; i++)
        noisy[i] = clean[i] + out[i];
      if (!kiln_tiff_save_image (noisy, w, h, 0, noisy_path, &error))
        g_error ("%s", error->message);
      psnr_in = kiln_psnr (noisy, clean, (gsize) w * h, 255);
      white = kiln_bm3d_noise_new_model (KILN_NOISE_WHITE, w, h, SIGMA * SIGMA, NULL);

      if (peer != NULL)
        {
          tp2 = run_peer (peer, noisy_path, peer_out, w, h, out);
          if (tp2 < 0)
            return 1;
          cp2 = last_cpu;
          psnr_peer = kiln_psnr (out, clean, (gsize) w * h, 255);
          if (peer1 != NULL && (tp1 = run_peer (peer1, noisy_path, peer_out, w, h, out)) < 0)
            return 1;
          if (peer1 != NULL)
            cp1 = last_cpu;
          {
            g_autofree char *name = g_strdup_printf ("%d² IPOL BM3D (peer)", w);
            printf ("%-38s %8.3f %8s %8.2f %8.2f %8.2f %8.2f %8.2f\n", name, psnr_peer, "", tp1,
                    tp2, cp1, cp2, psnr_in);
            if (peer1 != NULL)
              {
                double p1 = kiln_psnr (out, clean, (gsize) w * h, 255);
                if (fabs (p1 - psnr_peer) > 0.005)
                  printf ("#   (peer, 1 thread: PSNR %.3f dB; its 2-thread build splits the image"
                          " into 2 bands)\n", p1);
              }
          }
          fflush (stdout);
        }

      for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
        {
          g_autofree char *name = g_strdup_printf ("%d² Kiln, %s", w, variants[v].name);
          double psnr;
          kiln_bm3d_params_init (&p, KILN_BM3D_PROFILE_NORMAL);
          p.intensity_range = 255;
          p.transform_ht = variants[v].t1;
          if (!apply_overrides (&p, overrides))
            {
              fprintf (stderr, "bench-bm3d-peer: bad KILN_BENCH_PEER_PARAMS: %s\n", overrides);
              return 2;
            }
          t1 = run_kiln (noisy, w, h, white, &p, 1, out);
          c1 = last_cpu;
          t2 = run_kiln (noisy, w, h, white, &p, 2, out);
          c2 = last_cpu;
          psnr = kiln_psnr (out, clean, (gsize) w * h, 255);
          printf ("%-38s %8.3f %+8.3f %8.2f %8.2f %8.2f %8.2f %8.2f\n", name, psnr,
                  peer ? psnr - psnr_peer : NAN, t1, t2, c1, c2, psnr_in);
          fflush (stdout);
          if (v == 0 && keep != NULL)
            kiln_tiff_save_image (out, w, h, 0, kiln_out, NULL);
        }
    }
  if (keep == NULL)
    {
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;
      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *f = g_build_filename (dir, name, NULL);
          g_unlink (f);
        }
      g_rmdir (dir);
    }
  return 0;
}
