/* bench-segment.c — speed of the segmentation step and of the pair measurements
 *
 *   bench-segment [NX NY NZ]     (default 1024 1024 256 if memory allows, else 512 512 256)
 *
 * A synthetic volume: necked sphere pairs (radius 36 voxels, centres 1.6 R apart: neck 0.6 R)
 * on a grid, grey 1.0 on a 0.1 background with ±0.15 uniform noise.  Timed (median of 3 runs):
 * Otsu, binarisation, erosion r = 2, dilation r = 2, connected components alone (26), labelling +
 * watershed split (components, then per component: EDT + h-maxima markers + flooding), and all
 * pair measurements of the split labels.  Wall-clock and process CPU seconds are both given: the
 * machine is shared, CPU time is the steadier figure.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>

#include "kiln.h"

#define RUNS 3
#define R 36.0

static double
wall (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
cpu (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* one step: wall and CPU seconds */
#define STEP(idx, code) G_STMT_START { double w0 = wall (), c0 = cpu (); code; \
  t[idx][run] = wall () - w0; tc[idx][run] = cpu () - c0; } G_STMT_END

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static KilnVolume *
make_volume (guint nx, guint ny, guint nz, guint *n_pairs)
{
  KilnVolume *v = kiln_volume_new (nx, ny, nz, NULL);
  double step_x = 4.2 * R, step_y = 2.6 * R;
  guint np = 0;

  if (v == NULL)
    return NULL;
  v->voxel_size_nm = 1.04;
#pragma omp parallel for schedule(static)
  for (gssize i = 0; i < (gssize) kiln_volume_n_voxels (v); i++)
    {
      guint32 h = (guint32) i * 2654435761u;
      h ^= h >> 15;
      h *= 2246822519u;
      h ^= h >> 13;
      v->data[i] = 0.1f + 0.3f * ((h & 0xffff) / 65535.0f - 0.5f);
    }
  for (double cy = R + 4; cy + R + 4 < ny; cy += step_y)
    for (double cx = R + 4; cx + 2.6 * R + 4 < nx; cx += step_x)
      {
        double c[2][3] = { { cx, cy, nz / 2.0 }, { cx + 1.6 * R, cy + 3, nz / 2.0 + 4 } };
        if (nz / 2.0 + 4 + R + 1 >= nz)
          continue;
        np++;
        for (int s = 0; s < 2; s++)
          for (int z = (int) (c[s][2] - R); z <= (int) (c[s][2] + R) + 1; z++)
            for (int y = (int) (c[s][1] - R); y <= (int) (c[s][1] + R) + 1; y++)
              for (int x = (int) (c[s][0] - R); x <= (int) (c[s][0] + R) + 1; x++)
                {
                  double d2 = (x - c[s][0]) * (x - c[s][0]) + (y - c[s][1]) * (y - c[s][1]) +
                              (z - c[s][2]) * (z - c[s][2]);
                  if (x < 0 || y < 0 || z < 0 || x >= (int) nx || y >= (int) ny || z >= (int) nz)
                    continue;
                  if (d2 <= R * R)
                    KILN_VOXEL (v, x, y, z) += 0.9f;
                }
      }
  /* overlapping voxels of a pair got 0.9 twice: clamp */
#pragma omp parallel for schedule(static)
  for (gssize i = 0; i < (gssize) kiln_volume_n_voxels (v); i++)
    if (v->data[i] > 1.15f)
      v->data[i] = 1.0f + (v->data[i] - 1.9f);
  *n_pairs = np;
  return v;
}

int
main (int argc, char **argv)
{
  guint nx = 1024, ny = 1024, nz = 256, n_pairs = 0;
  const char *names[] = { "Otsu threshold", "binarise", "erode r=2", "dilate r=2",
                          "components (26)", "label + split", "total segment", "all pairs" };
  enum { OTSU, BIN, ERODE, DILATE, CC, WS, TOTAL, PAIRS, N_STEPS };
  double t[N_STEPS][RUNS], tc[N_STEPS][RUNS];
  g_autoptr(KilnVolume) v = NULL;
  guint32 n_labels = 0, n_cc = 0;
  guint n_measured = 0;
  gboolean extrapolate = FALSE;

  if (g_getenv ("OMP_NUM_THREADS") == NULL)
    omp_set_num_threads (2);
  if (argc == 4)
    {
      nx = atoi (argv[1]);
      ny = atoi (argv[2]);
      nz = atoi (argv[3]);
    }
  else
    {
      /* peak ≈ 18 bytes per voxel (volume, mask, labels, distance map, queue) */
      guint64 need = (guint64) nx * ny * nz * 18;
      if (need > kiln_memory_budget () / 2)
        {
          nx = ny = 512;
          extrapolate = TRUE;
        }
    }
  v = make_volume (nx, ny, nz, &n_pairs);
  if (v == NULL)
    {
      fprintf (stderr, "bench-segment: cannot allocate %u × %u × %u\n", nx, ny, nz);
      return 1;
    }

  for (int run = 0; run < RUNS; run++)
    {
      double thr;
      guint8 *mask;
      g_autoptr(KilnLabelVolume) cc = NULL;
      g_autoptr(KilnLabelVolume) ws = NULL;
      g_autoptr(GArray) all = NULL;
      g_autoptr(GError) error = NULL;

      STEP (OTSU, kiln_segment_otsu (v, &thr, &error));
      STEP (BIN, mask = kiln_segment_binarise (v, thr, &error));
      STEP (ERODE, kiln_morphology_erode (mask, nx, ny, nz, 2, NULL, &error));
      STEP (DILATE, kiln_morphology_dilate (mask, nx, ny, nz, 2, NULL, &error));
      STEP (CC, cc = kiln_label_components (mask, nx, ny, nz, 26, &n_cc, NULL, &error);
                kiln_label_remove_small (cc, 27));
      STEP (WS, ws = kiln_watershed_split (mask, nx, ny, nz, KILN_WATERSHED_DEFAULT_H, 26,
                                           &n_labels, NULL, NULL, NULL, &error);
                n_labels = kiln_label_remove_small (ws, 27));
      ws->voxel_size_nm = v->voxel_size_nm;
      /* the watershed labels the components itself: the separate components row is for
       * information (the --no-split path) and not part of the total */
      t[TOTAL][run] = t[OTSU][run] + t[BIN][run] + t[ERODE][run] + t[DILATE][run] + t[WS][run];
      tc[TOTAL][run] = tc[OTSU][run] + tc[BIN][run] + tc[ERODE][run] + tc[DILATE][run] +
                       tc[WS][run];
      kiln_free (mask);
      STEP (PAIRS, all = kiln_measure_all_pairs (ws, NULL, &error));
      n_measured = all != NULL ? all->len : 0;
      if (error != NULL)
        {
          fprintf (stderr, "bench-segment: %s\n", error->message);
          return 1;
        }
    }

  printf ("bench-segment: %u × %u × %u voxels, %d threads, median of %d runs\n", nx, ny, nz,
          omp_get_max_threads (), RUNS);
  printf ("%u necked pairs built; %u components, %u particles after the split, %u touching pairs "
          "measured\n\n", n_pairs, n_cc, n_labels, n_measured);
  printf ("%-20s %12s %12s", "step", "wall s", "CPU s");
  if (extrapolate)
    printf (" %18s %18s", "wall × 4 (1024²)", "CPU × 4 (1024²)");
  printf ("\n");
  for (int s = 0; s < N_STEPS; s++)
    {
      double m, mc;
      qsort (t[s], RUNS, sizeof (double), cmp_double);
      qsort (tc[s], RUNS, sizeof (double), cmp_double);
      m = t[s][RUNS / 2];
      mc = tc[s][RUNS / 2];
      printf ("%-20s %12.3f %12.3f", names[s], m, mc);
      if (extrapolate)
        printf (" %18.3f %18.3f", m * 4, mc * 4);
      printf ("\n");
    }
  printf ("(CPU s = process CPU time over all threads: ≈ 2 × wall on an idle 2-core machine)\n");
  printf ("\ngoals (1024 × 1024 × 256, 2 threads): segment ≤ 15 s; all pairs of a time point "
          "≤ 1 s.\n");
  if (extrapolate)
    printf ("(measured on 512 × 512 × 256 for lack of memory: the steps are O(N), so × 4 "
            "extrapolates to 1024 × 1024 × 256; the pair count also scales × 4.)\n");
  return 0;
}
