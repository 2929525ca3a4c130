/* bench-simulate.c — time to generate one simulated time point (teaching and paper presets)
 *
 * Prints a table: preset, size, stage, median wall and CPU (all threads) seconds over the runs.
 * Usage: bench-simulate [--quick]   (--quick: paper preset once, teaching 3×)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#ifdef _OPENMP
# include <omp.h>
#endif

#include "kiln.h"

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* CPU seconds of the process (all threads): the machine is shared, so report both */
static double
cpu (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void
bench_preset (KilnSimPreset preset,
              guint         runs)
{
  KilnSimParams p;
  kiln_sim_params_init (&p, preset);
  guint n_angles;
  g_autofree double *angles = kiln_sim_nominal_angles (&p, &n_angles);
  double *t_proj = g_new (double, runs), *t_vox = g_new (double, runs);
  double *t_tp = g_new (double, runs), *t_tp_novol = g_new (double, runs);
  double *t_ref = g_new (double, runs);
  double *c_proj = g_new (double, runs), *c_vox = g_new (double, runs), *c_tp = g_new (double, runs);
  double *c_tp_novol = g_new (double, runs), *c_ref = g_new (double, runs);
  for (guint r = 0; r < runs; r++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (KilnPhantom) ph = kiln_sim_phantom (&p, 5 % p.n_time_points, &error);
      g_assert_no_error (error);
      float *out = g_new (float, (gsize) n_angles * p.size_px * p.size_px);
      double t0 = now (), c0 = cpu ();
      kiln_phantom_project (ph, angles, n_angles, p.size_px, p.size_px, p.pixel_size_nm,
                            p.axis_angle_deg, p.axis_shift_px, out, NULL, NULL, NULL, &error);
      t_proj[r] = now () - t0;
      c_proj[r] = cpu () - c0;
      g_free (out);
      KilnVolume *v = NULL;
      KilnLabelVolume *l = NULL;
      t0 = now ();
      c0 = cpu ();
      kiln_phantom_voxelize (ph, p.size_px, p.size_px, p.depth_px, p.pixel_size_nm, p.supersample,
                             &v, &l, NULL, NULL, NULL, NULL, &error);
      t_vox[r] = now () - t0;
      c_vox[r] = cpu () - c0;
      kiln_volume_unref (v);
      kiln_label_volume_unref (l);

      t0 = now ();
      c0 = cpu ();
      KilnSimTimePoint *s = kiln_sim_time_point_new (&p, 5 % p.n_time_points, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      t_tp[r] = now () - t0;
      c_tp[r] = cpu () - c0;
      kiln_sim_time_point_free (s);

      p.make_volume = FALSE;
      t0 = now ();
      c0 = cpu ();
      s = kiln_sim_time_point_new (&p, 5 % p.n_time_points, NULL, NULL, NULL, &error);
      t_tp_novol[r] = now () - t0;
      c_tp_novol[r] = cpu () - c0;
      kiln_sim_time_point_free (s);
      p.make_volume = TRUE;

      float *raw = NULL, *avg = NULL;
      t0 = now ();
      c0 = cpu ();
      kiln_sim_reference_pair (&p, &raw, &avg, NULL, &error);
      t_ref[r] = now () - t0;
      c_ref[r] = cpu () - c0;
      g_free (raw);
      g_free (avg);
    }
  const char *name = kiln_sim_preset_to_string (preset);
  char size[64];
  g_snprintf (size, sizeof size, "%u²×%u, %u tilts", p.size_px, p.depth_px, n_angles);
  printf ("| %-8s | %-22s | %-34s | %8.2f | %8.2f |\n", name, size, "projection (analytic)", median (t_proj, runs), median (c_proj, runs));
  printf ("| %-8s | %-22s | %-34s | %8.2f | %8.2f |\n", name, size, "voxelisation (volume + labels)", median (t_vox, runs), median (c_vox, runs));
  printf ("| %-8s | %-22s | %-34s | %8.2f | %8.2f |\n", name, size, "time point, with truth volumes", median (t_tp, runs), median (c_tp, runs));
  printf ("| %-8s | %-22s | %-34s | %8.2f | %8.2f |\n", name, size, "time point, no truth volumes", median (t_tp_novol, runs), median (c_tp_novol, runs));
  printf ("| %-8s | %-22s | %-34s | %8.2f | %8.2f |\n", name, size, "reference pair (raw + 50 frames)", median (t_ref, runs), median (c_ref, runs));
  fflush (stdout);
  g_free (t_proj);
  g_free (t_vox);
  g_free (t_tp);
  g_free (t_tp_novol);
  g_free (t_ref);
  g_free (c_proj);
  g_free (c_vox);
  g_free (c_tp);
  g_free (c_tp_novol);
  g_free (c_ref);
}

int
main (int argc, char **argv)
{
  gboolean quick = argc > 1 && strcmp (argv[1], "--quick") == 0;
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads ();
#endif
  printf ("bench-simulate: median wall seconds, %d OpenMP threads\n\n", threads);
  printf ("| preset   | size                   | stage                              | wall s   | cpu s    |\n");
  printf ("|----------|------------------------|------------------------------------|----------|----------|\n");
  bench_preset (KILN_SIM_PRESET_TEACHING, 5);
  bench_preset (KILN_SIM_PRESET_PAPER, quick ? 1 : 3);
  return 0;
}
