/* bench-reconstruct.c — reconstruction speed: per slice-iteration of a 512² slice from 41 tilts
 *
 * Usage: bench-reconstruct [N_SLICES] [REPEATS]
 *
 * A slab of N_SLICES (default 32) slices of 512 × 512 voxels is reconstructed from 41 tilts
 * (±40°, 2°) of a few balls.  For SIRT and ISER, runs of 1 and 1 + K iterations are timed and
 * the difference / (K · N_SLICES) is the cost of one slice-iteration (setup excluded, amortised
 * over the slab); WBP is the whole call / N_SLICES (without, and with, the data residual).  Medians over REPEATS (default 3).
 * The paper-sized estimate (41 × 1024², volume 1024 × 1024 × 256, 300 ISER iterations) scales
 * the measured ISER slice-iteration by the voxel × tilt work: (1024 · 256) / (512 · 512) = 1 per
 * slice, × 1024 slices × 300 iterations; the memory peak is the driver's own estimate for that
 * size (kiln_reconstruct's accounting, the same code path), not a measurement.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <omp.h>

#include "kiln.h"
#include "kiln-projector.h"
#include "kiln-reconstruct.h"

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v,
        int     n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static KilnImageStack *
make_series (guint n_px,
             guint n_slices)
{
  const guint nt = 41;
  double angles[41];
  KilnProjector *proj;
  float *vol, *sino;
  KilnImageStack *st;
  GError *error = NULL;

  for (guint k = 0; k < nt; k++)
    angles[k] = -40.0 + 2.0 * k;
  proj = kiln_projector_new (n_px, n_slices, n_px, n_px, angles, nt, 0.0, &error);
  g_assert_no_error (error);
  vol = kiln_projector_alloc_volume (proj, &error);
  sino = kiln_projector_alloc_sino (proj, &error);
  g_assert_no_error (error);
  for (guint z = 0; z < n_px; z++)
    for (guint x = 0; x < n_px; x++)
      for (guint y = 0; y < n_slices; y++)
        {
          double dx = x - n_px * 0.4, dz = z - n_px * 0.5, dx2 = x - n_px * 0.65;
          float v = (dx * dx + dz * dz < n_px * n_px / 64.0) ? 1.0f : 0.0f;
          if (dx2 * dx2 + dz * dz < n_px * n_px / 100.0)
            v = 1.0f;
          vol[((gsize) z * n_px + x) * proj->ny_pad + y] = v;
        }
  kiln_projector_forward (proj, vol, sino, NULL, 0);
  st = kiln_image_stack_new (nt, n_px, n_slices, &error);
  g_assert_no_error (error);
  kiln_image_stack_set_angles (st, angles, nt, &error);
  st->pixel_size_nm = 1.0;
  for (guint k = 0; k < nt; k++)
    for (guint y = 0; y < n_slices; y++)
      for (guint u = 0; u < n_px; u++)
        st->data[((gsize) k * n_slices + y) * n_px + u] =
          sino[((gsize) k * n_px + u) * proj->ny_pad + y];
  kiln_free (vol);
  kiln_free (sino);
  kiln_projector_free (proj);
  return st;
}

static double last_cpu_s;

static double
cpu_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Returns wall seconds; last_cpu_s gets the process CPU seconds of the call. */
static double
run (KilnImageStack  *st,
     KilnReconMethod  method,
     guint            iterations,
     gboolean         residual,
     KilnReconResult *res)
{
  KilnReconParams p;
  KilnVolume *v;
  GError *error = NULL;
  gint64 t0;
  double c0;

  kiln_reconstruct_params_init (&p);
  p.method = method;
  p.iterations = iterations;
  p.wbp_residual = residual;
  t0 = g_get_monotonic_time ();
  c0 = cpu_now ();
  v = kiln_reconstruct (st, &p, res, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  last_cpu_s = cpu_now () - c0;
  kiln_volume_unref (v);
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  guint n_slices = argc > 1 ? (guint) atoi (argv[1]) : 32;
  int repeats = argc > 2 ? atoi (argv[2]) : 3;
  const guint K = 4, n_px = 512;
  KilnImageStack *st;
  KilnReconResult res;
  double sirt[16], iser[16], wbp[16], wbp_res[16], m_sirt, m_iser, m_wbp, m_wbp_res, paper_s;
  double sirt_c[16], iser_c[16], wbp_c[16], wbp_res_c[16];
  const int nt = omp_get_max_threads ();
  guint64 paper_peak;

  if (repeats < 1 || repeats > 16 || n_slices < 1)
    {
      fprintf (stderr, "usage: bench-reconstruct [N_SLICES] [REPEATS ≤ 16]\n");
      return 2;
    }
  st = make_series (n_px, n_slices);
  for (int r = 0; r < repeats; r++)
    {
      double t1 = run (st, KILN_RECON_SIRT, 1, TRUE, &res), c1 = last_cpu_s;
      double tk = run (st, KILN_RECON_SIRT, 1 + K, TRUE, &res), ck = last_cpu_s;
      sirt[r] = (tk - t1) / (K * n_slices) * 1e3;
      sirt_c[r] = (ck - c1) / nt / (K * n_slices) * 1e3;
      t1 = run (st, KILN_RECON_ISER, 1, TRUE, &res);
      c1 = last_cpu_s;
      tk = run (st, KILN_RECON_ISER, 1 + K, TRUE, &res);
      ck = last_cpu_s;
      iser[r] = (tk - t1) / (K * n_slices) * 1e3;
      iser_c[r] = (ck - c1) / nt / (K * n_slices) * 1e3;
      wbp[r] = run (st, KILN_RECON_WBP, 1, FALSE, &res) / n_slices * 1e3;
      wbp_c[r] = last_cpu_s / nt / n_slices * 1e3;
      wbp_res[r] = run (st, KILN_RECON_WBP, 1, TRUE, &res) / n_slices * 1e3;
      wbp_res_c[r] = last_cpu_s / nt / n_slices * 1e3;
    }
  m_sirt = median (sirt, repeats);
  m_iser = median (iser, repeats);
  m_wbp = median (wbp, repeats);
  m_wbp_res = median (wbp_res, repeats);

  /* paper size: 1024 × 1024 × 256 from 41 × 1024²: per slice 1024 × 256 voxels = 512² */
  paper_s = MIN (m_iser, median (iser_c, repeats)) * 1e-3 * (1024.0 * 256.0) / (512.0 * 512.0) * 1024 * 300;
  {
    /* the driver's memory accounting for the paper size: output + sinogram + volume + TV
     * gradient + per-thread slabs (what chunk_bytes() and the output allocation add up to) */
    guint64 out = 1024ull * 1024 * 256 * 4, vol = out, sino = 41ull * 1024 * 1024 * 4;
    guint64 threads = 41ull * 1026 * KILN_PROJECTOR_SLAB * 4 * omp_get_max_threads ();
    paper_peak = out + vol + vol + sino + threads;
  }

  printf ("bench-reconstruct: %u slices of %u², 41 tilts, %d threads, median of %d\n",
          n_slices, n_px, omp_get_max_threads (), repeats);
  /* "cpu/thread": process CPU time / threads — what the wall time would be on an idle machine
   * (this one is shared; wall times inflate with the load) */
  printf ("%-44s %12s %14s %10s\n", "case", "wall", "cpu/thread", "goal");
  printf ("%-44s %9.2f ms %11.2f ms %7s ms\n", "SIRT per slice-iteration", m_sirt,
          median (sirt_c, repeats), "10");
  printf ("%-44s %9.2f ms %11.2f ms %7s ms\n", "ISER-TV (1x1) per slice-iteration", m_iser,
          median (iser_c, repeats), "12");
  printf ("%-44s %9.2f ms %11.2f ms %7s ms\n", "WBP per slice (ramp)", m_wbp,
          median (wbp_c, repeats), "5");
  printf ("%-44s %9.2f ms %11.2f ms %7s\n", "WBP per slice + data residual", m_wbp_res,
          median (wbp_res_c, repeats), "-");
  printf ("%-44s %9.1f min %25s min\n", "paper size, 300 ISER iterations (estimate)",
          paper_s / 60.0, "60");
  printf ("%-44s %9.2f GiB %25s GiB\n", "paper size, memory peak (accounted)",
          paper_peak / 1073741824.0, "4");
  kiln_image_stack_unref (st);
  return 0;
}
