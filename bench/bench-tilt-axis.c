/* bench-tilt-axis.c — back-projection previews and the automatic tilt-axis search
 *
 * Goals (issue 7, 2 threads): one BP slice 1024 wide, 41 tilts, thickness 512 ≤ 20 ms; three
 * slices ≤ 60 ms; full automatic search on 41 × 1024² ≤ 5 s. Run with OMP_NUM_THREADS=2.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kiln.h"
#include "kiln-backproject.h"
#include "kiln-tilt-axis.h"

/* 41 tilts (±60°) of random spheres, projected analytically (no supersampling: speed). */
static KilnImageStack *
make_series (guint size, guint n, double axis_deg, double shift_px)
{
  KilnImageStack *stack = kiln_image_stack_new (n, size, size, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  double *angles = g_new (double, n);
  enum { N_SPHERES = 60 };
  double sx[N_SPHERES], sy[N_SPHERES], sz[N_SPHERES], sr[N_SPHERES];
  double a = axis_deg * G_PI / 180.0, c = (size - 1) / 2.0;

  for (guint k = 0; k < n; k++)
    angles[k] = -60.0 + 120.0 * k / (n - 1);
  kiln_image_stack_set_angles (stack, angles, n, NULL);
  for (int i = 0; i < N_SPHERES; i++)
    {
      sx[i] = g_rand_double_range (rand, -0.2, 0.2) * size;
      sy[i] = g_rand_double_range (rand, -0.4, 0.4) * size;
      sz[i] = g_rand_double_range (rand, -0.1, 0.1) * size;
      sr[i] = g_rand_double_range (rand, 0.01, 0.03) * size;
    }
#pragma omp parallel for schedule(dynamic)
  for (gint64 k = 0; k < (gint64) n; k++)
    {
      float *img = kiln_image_stack_tilt (stack, (guint) k);
      double t = angles[k] * G_PI / 180.0;

      for (int i = 0; i < N_SPHERES; i++)
        {
          double u0 = sx[i] * cos (t) + sz[i] * sin (t) + shift_px;
          double px = c + u0 * cos (a) - sy[i] * sin (a);
          double py = c + u0 * sin (a) + sy[i] * cos (a);
          int x0 = MAX (0, (int) (px - sr[i] - 1)), x1 = MIN ((int) size - 1, (int) (px + sr[i] + 1));
          int y0 = MAX (0, (int) (py - sr[i] - 1)), y1 = MIN ((int) size - 1, (int) (py + sr[i] + 1));

          for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
              {
                double q = sr[i] * sr[i] - (x - px) * (x - px) - (y - py) * (y - py);
                if (q > 0)
                  img[(gsize) y * size + x] += (float) (2 * sqrt (q));
              }
        }
    }
  g_free (angles);
  return stack;
}

/* Process CPU time in ms: on a machine shared with other jobs, CPU time per thread estimates
 * the wall time the same work takes on idle cores (OMP_WAIT_POLICY=passive keeps idle OpenMP
 * threads from spinning into it). */
static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

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

int
main (int argc, char **argv)
{
  const guint size = 1024, n = 41, width = 1024, thickness = 512;
  const double axis = 2.0, shift = 13.3;
  g_autoptr(KilnImageStack) stack = NULL;
  g_autoptr(GError) error = NULL;
  float *out = g_new (float, (gsize) 3 * width * thickness);
  double t[9], c[9], pos3[3] = { -200, 0, 200 };
  int reps = 9;
  KilnBpLines *lines;
  KilnBackprojectParams bp;
  KilnTiltAxisResult *res = NULL;

  printf ("# bench-tilt-axis: %d threads, %u tilts of %u², BP slice %u × %u\n",
          omp_get_max_threads (), n, size, width, thickness);
  stack = make_series (size, n, axis, shift);

  /* warm-up (FFTW plans, page faults) */
  kiln_backproject_params_init (&bp);
  bp.axis_angle_deg = axis;
  bp.axis_shift_px = shift;
  bp.filter = KILN_FILTER_RAMP;
  bp.width = width;
  bp.thickness = thickness;
  kiln_backproject_slices (stack, &bp, pos3, 1, out, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  printf ("%-48s %10s %14s %8s\n", "case", "wall ms", "cpu/thread ms", "goal ms");

  /* BP only (the live preview when only the shift moves) */
  lines = kiln_bp_lines_new (stack, axis, 0, width, thickness, 64, KILN_FILTER_RAMP, 1, &error);
  g_assert_no_error (error);
  for (int r = 0; r < reps; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_ms ();
      kiln_bp_lines_backproject (lines, shift, width, thickness, out);
      t[r] = (g_get_monotonic_time () - t0) * 1e-3;
      c[r] = (cpu_ms () - c0) / omp_get_max_threads ();
    }
  printf ("%-48s %10.1f %14.1f %8s\n", "1 slice, back-projection only (shift drag)",
          median (t, reps), median (c, reps), "-");
  kiln_bp_lines_free (lines);

  /* one slice, simple and weighted, lines included (angle or slice drag) */
  for (int f = 0; f < 2; f++)
    {
      bp.filter = f == 0 ? KILN_FILTER_NONE : KILN_FILTER_RAMP;
      for (int r = 0; r < reps; r++)
        {
          gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_ms ();
          kiln_backproject_slices (stack, &bp, pos3 + 1, 1, out, NULL, NULL, NULL, NULL, NULL,
                                   &error);
          t[r] = (g_get_monotonic_time () - t0) * 1e-3;
      c[r] = (cpu_ms () - c0) / omp_get_max_threads ();
        }
      printf ("%-48s %10.1f %14.1f %8s\n",
              f == 0 ? "1 slice, simple BP (sample + BP)" : "1 slice, ramp BP (sample + filter + BP)",
              median (t, reps), median (c, reps), "20");
    }
  for (int f = 0; f < 2; f++)
    {
      bp.filter = f == 0 ? KILN_FILTER_NONE : KILN_FILTER_RAMP;
      for (int r = 0; r < reps; r++)
        {
          gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_ms ();
          kiln_backproject_slices (stack, &bp, pos3, 3, out, NULL, NULL, NULL, NULL, NULL,
                                   &error);
          t[r] = (g_get_monotonic_time () - t0) * 1e-3;
      c[r] = (cpu_ms () - c0) / omp_get_max_threads ();
        }
      printf ("%-48s %10.1f %14.1f %8s\n",
              f == 0 ? "3 slices, simple BP" : "3 slices, ramp-weighted BP",
              median (t, reps), median (c, reps), "60");
    }
  g_assert_no_error (error);

  /* the full automatic search */
  reps = argc > 1 ? atoi (argv[1]) : 3;
  reps = CLAMP (reps, 1, 9);
  for (int r = 0; r < reps; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_ms ();
      res = kiln_tilt_axis_find (stack, NULL, NULL, NULL, NULL, &error);
      t[r] = (g_get_monotonic_time () - t0) * 1e-3;
      c[r] = (cpu_ms () - c0) / omp_get_max_threads ();
      g_assert_no_error (error);
      if (r + 1 < reps)
        kiln_tilt_axis_result_free (res);
    }
  printf ("%-48s %10.1f %14.1f %8s\n", "automatic search, 41 × 1024²", median (t, reps),
          median (c, reps), "5000");
  printf ("# found %.3f° %.3f px (true %.3f° %.3f px), confidence %.3f\n", res->axis_angle_deg,
          res->axis_shift_px, axis, shift, res->confidence);
  kiln_tilt_axis_result_free (res);
  g_free (out);
  return 0;
}
