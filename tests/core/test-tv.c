/* test-tv.c — the isotropic TV gradient, and ISER-style TV on the simulator's tilt series
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "kiln-test-util.h"
#include "kiln-reconstruct.h"
#include "kiln-reconstruct-private.h"

/* The analytic TV gradient equals central finite differences of the TV value, on a random
 * volume with odd sizes (faces, padding slices). */
static void
test_tv_gradient (void)
{
  const double a = 0.0;
  g_autoptr (GError) error = NULL;
  KilnProjector *proj = kiln_projector_new (7, 19, 6, 7, &a, 1, 0.0, &error);
  GRand *rand = g_rand_new_with_seed (5);
  float *vol, *g;
  double tv, g2, max_err = 0.0, max_g = 0.0;

  g_assert_no_error (error);
  vol = kiln_projector_alloc_volume (proj, &error);
  g = kiln_projector_alloc_volume (proj, &error);
  g_assert_no_error (error);
  for (guint z = 0; z < proj->nz; z++)
    for (guint x = 0; x < proj->nx; x++)
      for (guint y = 0; y < proj->ny; y++)
        vol[((gsize) z * proj->nx + x) * proj->ny_pad + y] = (float) g_rand_double (rand);
  g2 = kiln_tv_gradient (proj, vol, g, &tv);
  g_assert_cmpfloat (fabs (tv - kiln_tv_value (proj, vol)) / tv, <, 1e-5);
  for (guint z = 0; z < proj->nz; z++)
    for (guint x = 0; x < proj->nx; x++)
      for (guint y = 0; y < proj->ny; y++)
        {
          gsize i = ((gsize) z * proj->nx + x) * proj->ny_pad + y;
          float v = vol[i];
          const float h = 1e-2f;
          double up, dn, fd;
          vol[i] = v + h;
          up = kiln_tv_value (proj, vol);
          vol[i] = v - h;
          dn = kiln_tv_value (proj, vol);
          vol[i] = v;
          fd = (up - dn) / (2.0 * h);
          max_err = MAX (max_err, fabs (fd - g[i]));
          max_g = MAX (max_g, fabs (g[i]));
        }
  g_test_message ("TV gradient: max |analytic − finite difference| = %.2e (max |g| %.2f), "
                  "‖g‖² %.1f", max_err, max_g, g2);
  /* float sums of ~800 terms, h = 0.01 on a random (non-smooth) field: agree to 2 % of max|g| */
  g_assert_cmpfloat (max_err, <, 0.02 * max_g);
  /* the padding slices are left alone */
  for (guint z = 0; z < proj->nz; z++)
    for (guint x = 0; x < proj->nx; x++)
      for (guint y = proj->ny; y < proj->ny_pad; y++)
        g_assert_cmpfloat (vol[((gsize) z * proj->nx + x) * proj->ny_pad + y], ==, 0.0f);

  /* a descent step lowers the TV */
  kiln_tv_descend (proj, vol, g, 0.05 / sqrt (g2));
  g_assert_cmpfloat (kiln_tv_value (proj, vol), <, tv);

  kiln_free (vol);
  kiln_free (g);
  kiln_projector_free (proj);
  g_rand_free (rand);
}

static guint8 *
binarise_otsu (const KilnVolume *v)
{
  gsize n = kiln_volume_n_voxels (v);
  double lo = v->data[0], hi = v->data[0], best = -1, thr = 0, total = n, sum = 0, wb = 0, sb = 0;
  double hist[256] = { 0 };
  guint8 *out = g_new (guint8, n);

  for (gsize i = 0; i < n; i++)
    {
      lo = MIN (lo, v->data[i]);
      hi = MAX (hi, v->data[i]);
    }
  for (gsize i = 0; i < n; i++)
    hist[MIN (255, (int) ((v->data[i] - lo) / (hi - lo) * 256))]++;
  for (int i = 0; i < 256; i++)
    sum += i * hist[i];
  for (int i = 0; i < 256; i++)
    {
      double wf, between;
      wb += hist[i];
      sb += i * hist[i];
      wf = total - wb;
      if (wb == 0 || wf == 0)
        continue;
      between = wb * wf * pow (sb / wb - (sum - sb) / wf, 2);
      if (between > best)
        {
          best = between;
          thr = lo + (i + 1) * (hi - lo) / 256;
        }
    }
  for (gsize i = 0; i < n; i++)
    out[i] = v->data[i] > thr;
  return out;
}

static double
dice_vs_labels (const guint8          *bin,
                const KilnLabelVolume *lab)
{
  gsize both = 0, a = 0, b = 0, n = kiln_label_volume_n_voxels (lab);
  for (gsize i = 0; i < n; i++)
    {
      both += bin[i] && lab->data[i];
      a += bin[i] != 0;
      b += lab->data[i] != 0;
    }
  return 2.0 * both / (double) (a + b);
}

/* Worst over the labelled core particles of |z extent − true z extent| / true z extent, the
 * extents being the length along z of the run through the particle's centre (mean over its
 * 3 × 3 central columns): in the binarised volume (gaps of ≤ 2 voxels bridged) and in the
 * true labels. */
static double
worst_z_error (const guint8          *bin,
               const KilnLabelVolume *lab)
{
  guint32 nl = kiln_label_volume_max_label (lab);
  double worst = 0.0;

  for (guint32 l = 1; l <= nl; l++)
    {
      double sx = 0, sy = 0, sz = 0, cnt = 0;
      int cx, cy, cz, t0, t1, r0, r1;
      for (guint z = 0; z < lab->nz; z++)
        for (guint y = 0; y < lab->ny; y++)
          for (guint x = 0; x < lab->nx; x++)
            if (KILN_VOXEL (lab, x, y, z) == l)
              {
                sx += x;
                sy += y;
                sz += z;
                cnt++;
              }
      if (cnt < 500)   /* only the cores (≥ 500 voxels), not shell specks */
        continue;
      cx = (int) lround (sx / cnt);
      cy = (int) lround (sy / cnt);
      cz = (int) lround (sz / cnt);
      if (KILN_VOXEL (lab, cx, cy, cz) != l)
        continue;
      {
        /* mean over the 3 × 3 central columns; gaps of ≤ 2 voxels (noise holes) bridged */
        double got = 0, truth = 0;
        for (int dx = -1; dx <= 1; dx++)
          for (int dy = -1; dy <= 1; dy++)
            {
              gsize col = (gsize) (cy + dy) * lab->nx + cx + dx, plane = (gsize) lab->nx * lab->ny;
              t0 = t1 = r0 = r1 = cz;
              while (t0 > 0 && lab->data[(t0 - 1) * plane + col] == l)
                t0--;
              while (t1 + 1 < (int) lab->nz && lab->data[(t1 + 1) * plane + col] == l)
                t1++;
              for (int z = cz - 1, gap = 0; z >= 0 && gap <= 2; z--)
                if (bin[z * plane + col])
                  r0 = z, gap = 0;
                else
                  gap++;
              for (int z = cz + 1, gap = 0; z < (int) lab->nz && gap <= 2; z++)
                if (bin[z * plane + col])
                  r1 = z, gap = 0;
                else
                  gap++;
              got += (r1 - r0 + 1) / 9.0;
              truth += (t1 - t0 + 1) / 9.0;
            }
        g_test_message ("particle %u: z extent %.2f voxels (true %.2f)", l, got, truth);
        worst = MAX (worst, fabs (got - truth) / truth);
      }
    }
  return worst;
}

/* The simulator's ±40° noisy series (shot noise + g4 scan noise at the paper's dose), known
 * geometry: ISER-style TV with the paper's parameters vs SIRT against the true labels. */
static void
test_simulator (void)
{
  KilnSimParams sp;
  g_autoptr (KilnSimTimePoint) tp = NULL;
  g_autoptr (KilnImageStack) st = NULL;
  g_autoptr (KilnVolume) iser = NULL, sirt = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *b_iser = NULL, *b_sirt = NULL;
  KilnReconParams p;
  KilnReconResult res;
  double d_iser, d_sirt, z_iser;

  kiln_sim_params_init (&sp, KILN_SIM_PRESET_TEACHING);
  sp.n_time_points = 1;
  sp.size_px = 80;
  sp.depth_px = 48;
  sp.pixel_size_nm = 4.0;
  sp.n_particles = 3;
  sp.shell = FALSE;
  sp.membrane = FALSE;
  sp.scenario = FALSE;
  sp.drift_sigma_px = 0.0;
  sp.reference_frames = 1;
  tp = kiln_sim_time_point_new (&sp, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tp->labels);

  /* detector units → line integrals (weight × px) */
  st = kiln_image_stack_copy (tp->tilts, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (st); i++)
    st->data[i] = (float) ((st->data[i] - sp.detector_offset) / tp->counts_per_unit);

  kiln_reconstruct_params_init (&p);  /* ISER, 300, 1×1, sensitivity 1 */
  p.axis_angle_deg = tp->axis_angle_deg;
  p.axis_shift_px = tp->axis_shift_px;
  p.thickness = sp.depth_px;
  iser = kiln_reconstruct (st, &p, &res, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("ISER on the simulator: %.1f s, residual %.3f", res.seconds, res.residual);
  g_assert_cmpuint (iser->nx, ==, tp->labels->nx);
  g_assert_cmpuint (iser->ny, ==, tp->labels->ny);
  g_assert_cmpuint (iser->nz, ==, tp->labels->nz);
  p.method = KILN_RECON_SIRT;
  sirt = kiln_reconstruct (st, &p, &res, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  b_iser = binarise_otsu (iser);
  b_sirt = binarise_otsu (sirt);
  d_iser = dice_vs_labels (b_iser, tp->labels);
  d_sirt = dice_vs_labels (b_sirt, tp->labels);
  z_iser = worst_z_error (b_iser, tp->labels);
  g_test_message ("simulator: Dice ISER %.4f, SIRT %.4f; worst ISER z-extent error %.1f %%",
                  d_iser, d_sirt, 100 * z_iser);
  /* Issue 8's goals, on this raw (not denoised) series at the paper's defaults (300, 1×1,
   * sensitivity 1): Dice ≥ 0.95 and higher than SIRT's, every particle's z extent within 10 % of
   * the truth.  Measured: Dice ISER 0.964 vs SIRT 0.845, worst z-extent error 4.0 % (too short,
   * not elongated). */
  g_assert_cmpfloat (d_iser, >=, 0.95);
  g_assert_cmpfloat (d_iser, >, d_sirt);
  g_assert_cmpfloat (z_iser, <=, 0.10);
}

int
main (int argc, char **argv)
{
  /* The iterative methods run several OpenMP regions per iteration; on a shared, oversubscribed
   * machine libgomp's default active waiting makes that 3–6× slower.  The policy is read when
   * libgomp loads, so set it and start again. */
  if (g_getenv ("OMP_WAIT_POLICY") == NULL)
    {
      g_setenv ("OMP_WAIT_POLICY", "passive", TRUE);
      execv ("/proc/self/exe", argv);
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tv/gradient", test_tv_gradient);
  g_test_add_func ("/tv/simulator", test_simulator);
  return g_test_run ();
}
