/* bench-pipeline.c — time of each pipeline step on one simulated time point, and the pipeline's
 * own overhead (hashing the inputs and outputs) when every step is skipped
 *
 *   bench-pipeline [SIZE [ITERATIONS]]   (default 128 px — the teaching preset — and 20 ISER
 *                                          iterations)
 *
 * One time point of the teaching preset at SIZE² px (field of view kept), 41 tilts, with fast
 * BM3D, MI alignment, the axis angle given (shift searched) and ITERATIONS ISER iterations.
 * Timed (median of 3 runs): every step forced, then a run where every step is skipped (the
 * content-hash check alone). Wall-clock seconds; the machine is shared.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <omp.h>

#include "kiln.h"

#define RUNS 3

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v)
{
  qsort (v, RUNS, sizeof *v, cmp_double);
  return v[RUNS / 2];
}

int
main (int argc, char **argv)
{
  guint size = argc > 1 ? (guint) atoi (argv[1]) : 128;
  guint iterations = argc > 2 ? (guint) atoi (argv[2]) : 20;
  g_autoptr(GError) error = NULL;
  KilnSimParams p;
  double t[KILN_N_STEPS][RUNS], skip[RUNS];

  if (size < 32 || size > 2048 || iterations < 1 || iterations > 1000)
    {
      fprintf (stderr, "usage: bench-pipeline [SIZE 32…2048 [ITERATIONS 1…1000]]\n");
      return 2;
    }
  g_autofree char *tmp = g_dir_make_tmp ("kiln-bench-pipeline-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_build_filename (tmp, "exp", NULL);

  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  double f = (double) p.size_px / size;
  p.pixel_size_nm *= f;
  p.depth_px = MAX (8u, (guint) (p.depth_px / f + 0.5));
  p.axis_shift_px /= f;
  p.drift_sigma_px /= f;
  p.size_px = size;
  p.n_time_points = 1;
  p.reference_frames = 2;
  if (!kiln_sim_write_experiment (&p, dir, NULL, NULL, NULL, &error))
    {
      fprintf (stderr, "bench-pipeline: %s\n", error->message);
      return 1;
    }
  g_autoptr(KilnExperiment) e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  g_autoptr(JsonObject) den = json_object_new ();
  json_object_set_string_member (den, "profile", "fast");
  kiln_experiment_set_step (e, "denoise", den);
  g_autoptr(JsonObject) axis = json_object_new ();
  json_object_set_double_member (axis, "axis_angle_deg", p.axis_angle_deg);
  json_object_set_boolean_member (axis, "refine_angle", FALSE);
  kiln_experiment_set_step (e, "axis", axis);
  g_autoptr(JsonObject) rec = json_object_new ();
  json_object_set_int_member (rec, "iterations", iterations);
  kiln_experiment_set_step (e, "reconstruct", rec);

  for (guint run = 0; run < RUNS; run++)
    {
      g_autoptr(GArray) reports = g_array_new (FALSE, TRUE, sizeof (KilnStepReport));
      g_array_set_clear_func (reports, kiln_step_report_clear);
      g_autoptr(JsonObject) r = kiln_pipeline_run_time_point (e, 0, KILN_STEPS_ALL, TRUE,
                                                              reports, NULL, NULL, NULL, &error);
      if (r == NULL)
        {
          fprintf (stderr, "bench-pipeline: %s\n", error->message);
          return 1;
        }
      for (guint k = 0; k < reports->len; k++)
        t[k][run] = g_array_index (reports, KilnStepReport, k).seconds;

      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(JsonObject) r2 = kiln_pipeline_run_time_point (e, 0, KILN_STEPS_ALL, FALSE,
                                                               NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      skip[run] = (g_get_monotonic_time () - t0) / 1e6;
    }

  printf ("pipeline, one time point: %u² px × 41 tilts, %.2f nm/px, fast BM3D, MI alignment, "
          "%u ISER iterations, %d threads (median of %d)\n", size, p.pixel_size_nm, iterations,
          omp_get_max_threads (), RUNS);
  printf ("%-28s %10s\n", "step", "seconds");
  double total = 0;
  for (guint k = 0; k < KILN_N_STEPS; k++)
    {
      double m = median (t[k]);
      total += m;
      printf ("%-28s %10.3f\n", kiln_step_to_string (k), m);
    }
  printf ("%-28s %10.3f\n", "total", total);
  printf ("%-28s %10.3f\n", "all skipped (hash checks)", median (skip));

  /* remove the experiment */
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (cmd) != 0)
    fprintf (stderr, "bench-pipeline: could not remove %s\n", tmp);
  return 0;
}
