/* test-phantom.c — analytic phantom: chords, voxelisation, necks, truth tables
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#ifdef _OPENMP
# include <omp.h>
#endif

#include "kiln-test-util.h"

static double
chord (double r,
       double rho2)
{
  return rho2 < r * r ? 2 * sqrt (r * r - rho2) : 0;
}

/* Analytic projection of one off-centre sphere with a rotated, shifted tilt axis: every pixel
 * must equal the analytic chord. Tolerance: 1 % of the diameter (the spec asks 1 %); the
 * projector is analytic so the observed error is ~1e-6. */
static void
test_sphere_chord (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  const double r = 11.5, x0 = 4.2, y0 = -3.1, z0 = 6.0, pix = 1.0;
  kiln_phantom_add_core (ph, x0, y0, z0, r, r, r);
  const double angles[] = { -40, -12, 0, 26, 40 };
  const double alpha = 17.0, shift = 2.5;
  const guint w = 64, h = 56;
  g_autofree float *out = g_new (float, 5 * w * h);
  gboolean ok = kiln_phantom_project (ph, angles, 5, w, h, pix, alpha, shift, out, NULL, NULL,
                                      NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  double ca = cos (alpha * G_PI / 180), sa = sin (alpha * G_PI / 180);
  double maxerr = 0, maxval = 0;
  for (guint k = 0; k < 5; k++)
    {
      double th = angles[k] * G_PI / 180;
      double uc = x0 * cos (th) + z0 * sin (th), vc = y0;
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            double dx = x - (w - 1) / 2.0, dy = y - (h - 1) / 2.0;
            double u = dx * ca + dy * sa - shift, v = -dx * sa + dy * ca;
            double e = chord (r, (u - uc) * (u - uc) + (v - vc) * (v - vc));
            double got = out[(k * h + y) * w + x];
            maxerr = MAX (maxerr, fabs (got - e));
            maxval = MAX (maxval, got);
          }
    }
  g_assert_cmpfloat (maxval, >, 0.99 * 2 * r);
  g_assert_cmpfloat (maxerr, <, 0.01 * 2 * r);
}

/* The anti-aliased voxel volume of a sphere: its z-sums match the analytic chord to 1 % of the
 * diameter (chord averaged over the pixel footprint), its total to
 * 0.5 % of the sphere volume, and the label coverage volume to 0.5 %. */
static void
test_sphere_voxels (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  const double r = 10.3;
  kiln_phantom_add_core (ph, 0.25, -0.4, 0.1, r, r, r);
  g_autoptr (KilnVolume) vol = NULL;
  g_autoptr (KilnLabelVolume) lab = NULL;
  g_autofree double *lv = NULL;
  gboolean ok = kiln_phantom_voxelize (ph, 32, 32, 32, 1.0, 4, &vol, &lab, &lv, NULL, NULL, NULL,
                                       &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  double total = 0, maxerr = 0;
  guint64 nlab = 0;
  for (gsize i = 0; i < kiln_volume_n_voxels (vol); i++)
    {
      total += vol->data[i];
      nlab += lab->data[i] == 1;
      g_assert_cmpuint (lab->data[i], <=, 1);
    }
  double vs = 4.0 / 3.0 * G_PI * r * r * r;
  g_assert_cmpfloat (fabs (total - vs) / vs, <, 0.005);
  g_assert_cmpfloat (fabs (lv[1] - vs) / vs, <, 0.005);
  /* majority labelling: voxel count within 2 % */
  g_assert_cmpfloat (fabs (nlab - vs) / vs, <, 0.02);
  for (guint y = 0; y < 32; y++)
    for (guint x = 0; x < 32; x++)
      {
        double s = 0;
        for (guint z = 0; z < 32; z++)
          s += KILN_VOXEL (vol, x, y, z);
        /* the voxel column integrates the chord over the pixel's square footprint */
        double e = 0;
        for (int sy = 0; sy < 16; sy++)
          for (int sx = 0; sx < 16; sx++)
            {
              double dx = x - 15.5 - 0.25 + (sx + 0.5) / 16 - 0.5;
              double dy = y - 15.5 + 0.4 + (sy + 0.5) / 16 - 0.5;
              e += chord (r, dx * dx + dy * dy) / 256;
            }
        maxerr = MAX (maxerr, fabs (s - e));
      }
  g_assert_cmpfloat (maxerr, <, 0.01 * 2 * r);
}

/* Cross-section area of the core material in the plane ⟂ e at distance t from @c0, sampled on
 * a grid of step @h nm. Returns the equivalent radius. */
static double
section_radius (KilnPhantom  *ph,
                const double  c0[3],
                const double  e[3],
                double        t,
                double        half,
                double        h)
{
  double u[3] = { -e[1], e[0], 0 };
  double nu = sqrt (u[0] * u[0] + u[1] * u[1]);
  if (nu < 1e-9)
    {
      u[0] = 1;
      u[1] = 0;
      nu = 1;
    }
  for (int i = 0; i < 3; i++)
    u[i] /= nu;
  double w[3] = { e[1] * u[2] - e[2] * u[1], e[2] * u[0] - e[0] * u[2], e[0] * u[1] - e[1] * u[0] };
  guint64 n = 0;
  for (double a = -half; a <= half; a += h)
    for (double b = -half; b <= half; b += h)
      {
        double p[3];
        for (int i = 0; i < 3; i++)
          p[i] = c0[i] + t * e[i] + a * u[i] + b * w[i];
        if (kiln_phantom_material_at (ph, p, NULL) == KILN_MATERIAL_CORE)
          n++;
      }
  return sqrt (n * h * h / G_PI);
}

/* The neck's minimal cross-section between the centres is exactly r_n: the sampled
 * equivalent radius of the section at t0 matches r_n to 2 % (grid step r_n/40), and every other
 * section between the centres is at least as large (within that sampling tolerance). Holds
 * for spheres and for ellipsoids with a tilted pair axis. Labels split at t0. */
static void
check_neck (KilnPhantom *ph,
            double       want_rn)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = kiln_phantom_add_neck (ph, 1, 2, want_rn, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  const KilnPhantomNeck *nk = &ph->necks[ph->n_necks - 1];
  double rn = nk->radius_nm;
  g_assert_cmpfloat (rn, >=, want_rn);
  g_assert_cmpfloat (nk->section_nm * 1.02, <=, rn + 1e-9);
  const double *a = ph->cores[0].centre_nm, *b = ph->cores[1].centre_nm;
  double e[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
  double d = sqrt (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]);
  for (int i = 0; i < 3; i++)
    e[i] /= d;
  double h = rn / 40, half = 1.3 * rn + 2;
  double at_t0 = section_radius (ph, a, e, nk->t0_nm, half, h);
  g_assert_cmpfloat (fabs (at_t0 - rn) / rn, <, 0.02);
  for (double t = 0.1 * d; t <= 0.9 * d; t += 0.05 * d)
    {
      double s = section_radius (ph, a, e, t, MAX (half, 30), h * 2);
      g_assert_cmpfloat (s, >=, 0.97 * rn);
    }
  /* split: points on the axis just before/after t0 */
  double p[3];
  guint32 l;
  for (int i = 0; i < 3; i++)
    p[i] = a[i] + (nk->t0_nm - 0.05) * e[i];
  g_assert_cmpint (kiln_phantom_material_at (ph, p, &l), ==, KILN_MATERIAL_CORE);
  g_assert_cmpuint (l, ==, 1);
  for (int i = 0; i < 3; i++)
    p[i] = a[i] + (nk->t0_nm + 0.05) * e[i];
  g_assert_cmpint (kiln_phantom_material_at (ph, p, &l), ==, KILN_MATERIAL_CORE);
  g_assert_cmpuint (l, ==, 2);
}

static void
test_neck_spheres (void)
{
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  kiln_phantom_add_core (ph, -11, 0, 0, 12, 12, 12);
  kiln_phantom_add_core (ph, 10, 1, 0, 10, 10, 10);
  check_neck (ph, 6.0);
  /* a neck request thinner than the lens is widened so the truth stays exact */
  g_autoptr (KilnPhantom) ph2 = kiln_phantom_new ();
  kiln_phantom_add_core (ph2, -9, 0, 0, 10, 10, 10);
  kiln_phantom_add_core (ph2, 9, 0, 0, 10, 10, 10);
  check_neck (ph2, 1.0);
  /* lens radius sqrt(100 − 81) = 4.36; used radius = 1.02 × that */
  g_assert_cmpfloat (fabs (ph2->necks[0].radius_nm - 1.02 * sqrt (19.0)), <, 1e-6);
}

static void
test_neck_ellipsoids (void)
{
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  kiln_phantom_add_core (ph, -12, 0, -1, 12, 12, 9.5);
  kiln_phantom_add_core (ph, 10.5, 2, 1.5, 11, 11, 13);
  check_neck (ph, 5.0);
}

static void
test_neck_bad (void)
{
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  g_autoptr (GError) error = NULL;
  kiln_phantom_add_core (ph, -30, 0, 0, 10, 10, 10);
  kiln_phantom_add_core (ph, 30, 0, 0, 10, 10, 10);
  g_assert_false (kiln_phantom_add_neck (ph, 1, 2, 4, &error));   /* too far apart */
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (kiln_phantom_add_neck (ph, 1, 1, 4, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (kiln_phantom_add_neck (ph, 1, 7, 4, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  kiln_phantom_add_core (ph, 48, 0, 0, 10, 10, 10);
  g_assert_false (kiln_phantom_add_neck (ph, 2, 3, 12, &error));  /* neck wider than particle */
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (ph->n_necks, ==, 0);
}

/* Membrane and shell: line integral of a vertical ray is weight × thickness (exact), a ray
 * through a shell particle adds weight × chord, and the core hides what it overlaps. */
static void
test_materials (void)
{
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  kiln_phantom_set_membrane (ph, -20, -12);
  kiln_phantom_add_core (ph, 0, 0, 0, 12, 12, 12);
  kiln_phantom_add_shell (ph, 40, 0, 0, 5);
  kiln_phantom_add_shell (ph, 0, 0, 14, 5);   /* half inside the core */
  double dir[3] = { 0, 0, 1 };
  double o1[3] = { 80, 0, 0 };
  g_assert_cmpfloat_with_epsilon (kiln_phantom_line_integral (ph, o1, dir),
                                  8 * ph->weight[KILN_MATERIAL_MEMBRANE], 1e-9);
  double o2[3] = { 40, 0, 0 };
  g_assert_cmpfloat_with_epsilon (kiln_phantom_line_integral (ph, o2, dir),
                                  8 * ph->weight[KILN_MATERIAL_MEMBRANE]
                                  + 10 * ph->weight[KILN_MATERIAL_SHELL], 1e-9);
  double o3[3] = { 0, 0, 0 };
  /* core −12…12, shell 9…19 → shell adds 7 nm outside the core */
  g_assert_cmpfloat_with_epsilon (kiln_phantom_line_integral (ph, o3, dir),
                                  8 * ph->weight[KILN_MATERIAL_MEMBRANE] + 24
                                  + 7 * ph->weight[KILN_MATERIAL_SHELL], 1e-9);
  double p[3] = { 0, 0, 17 };
  g_assert_cmpint (kiln_phantom_material_at (ph, p, NULL), ==, KILN_MATERIAL_SHELL);
  p[2] = -15;
  p[0] = 50;
  g_assert_cmpint (kiln_phantom_material_at (ph, p, NULL), ==, KILN_MATERIAL_MEMBRANE);
}

/* Truth tables against the voxelised labels: two spheres side by side in x at the same z with
 * a neck. Tolerances: 3D neck radius exact (it is the definition); label centroids within 0.6
 * voxel of the analytic centres shifted by the neck's mass (checked against the table's own
 * COM distance: within 1 voxel of the centre distance); 2D r_n within 1 voxel of the 3D neck
 * radius (pixel footprint); d_z = 0 within half a voxel; r_p within 3 % of the lateral radius. */
static void
test_pair_truth (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  kiln_phantom_add_core (ph, -10.5, 0.3, 0, 11, 11, 11);
  kiln_phantom_add_core (ph, 10.5, 0.3, 0, 11, 11, 11);
  g_assert_true (kiln_phantom_add_neck (ph, 1, 2, 6.5, &error));
  g_autoptr (KilnLabelVolume) lab = NULL;
  g_autofree double *lv = NULL;
  g_assert_true (kiln_phantom_voxelize (ph, 64, 40, 32, 1.0, 4, NULL, &lab, &lv, NULL, NULL, NULL,
                                        &error));
  g_assert_no_error (error);
  KilnPairTruth t;
  g_assert_true (kiln_phantom_pair_truth (ph, lab, 1, 2, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (t.neck_radius_3d_nm, ==, ph->necks[0].radius_nm);
  g_assert_cmpfloat (fabs (t.centre_distance_nm - 21.0), <, 1e-9);
  g_assert_cmpfloat (fabs (t.distance_3d_nm - 21.0), <, 1.0);
  g_assert_cmpfloat (fabs (t.r_n_nm - 6.5), <, 1.0);
  g_assert_cmpfloat (t.d_z_nm, <, 0.5);
  g_assert_cmpfloat (fabs (t.d_nm - t.d_xy_nm), <, 0.5);
  g_assert_cmpfloat (fabs (t.r_p_nm - 11) / 11, <, 0.03);
  g_assert_cmpfloat (fabs (t.h_over_w - 1), <, 0.1);

  guint n;
  g_autofree KilnParticleTruth *pt = kiln_phantom_particle_truth (ph, lab, lv, &n);
  g_assert_cmpuint (n, ==, 2);
  /* equal spheres: symmetric halves; each label's volume = half the union, within 1 % */
  g_assert_cmpfloat (fabs (pt[0].volume_nm3 - pt[1].volume_nm3) / pt[0].volume_nm3, <, 0.01);
  g_assert_cmpfloat (fabs ((double) pt[0].voxels - pt[0].volume_nm3) / pt[0].volume_nm3, <, 0.03);
  g_assert_cmpfloat (pt[0].h_over_w, ==, 1.0);

  /* the 2D protocol fails clearly on a missing label */
  g_assert_false (kiln_phantom_pair_truth (ph, lab, 1, 3, &t, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

/* Line integrals through a necked pair (ellipsoids, tilted axis, shell and membrane) agree with
 * a brute-force integration of kiln_phantom_material_at along the ray (step 0.005 nm): within
 * 0.03 nm × weight per ray (the brute force's own error is ~2 × 0.005 nm per boundary). */
static void
test_line_integral_neck (void)
{
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  kiln_phantom_add_core (ph, -12, 0, -1, 12, 12, 9.5);
  kiln_phantom_add_core (ph, 10.5, 2, 1.5, 11, 11, 13);
  g_assert_true (kiln_phantom_add_neck (ph, 1, 2, 6.0, NULL));
  kiln_phantom_add_shell (ph, 0, 9, 0, 2.5);
  kiln_phantom_set_membrane (ph, -16, -12);
  g_autoptr (GRand) r = g_rand_new_with_seed (7);
  double worst = 0;
  for (int k = 0; k < 60; k++)
    {
      double th = g_rand_double_range (r, -0.7, 0.7);
      double dir[3] = { -sin (th), 0, cos (th) };
      double o[3] = { g_rand_double_range (r, -6, 6), g_rand_double_range (r, -8, 8), 0 };
      double got = kiln_phantom_line_integral (ph, o, dir);
      double want = 0, h = 0.005;
      for (double s = -40; s < 40; s += h)
        {
          double p[3] = { o[0] + (s + 0.5 * h) * dir[0], o[1], o[2] + (s + 0.5 * h) * dir[2] };
          want += ph->weight[kiln_phantom_material_at (ph, p, NULL)] * h;
        }
      worst = MAX (worst, fabs (got - want));
    }
  g_assert_cmpfloat (worst, <, 0.03);
}

/* Determinism of the parallel voxeliser: 1 and 2 threads give identical bytes. */
static void
test_voxel_threads (void)
{
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  kiln_phantom_add_core (ph, -8, 0, 0, 9, 9, 7);
  kiln_phantom_add_core (ph, 8.5, 1, 1, 8, 8, 9);
  g_assert_true (kiln_phantom_add_neck (ph, 1, 2, 4, NULL));
  kiln_phantom_add_shell (ph, 0, 10, 0, 2.5);
  kiln_phantom_set_membrane (ph, -14, -10);
  g_autoptr (KilnVolume) v1 = NULL;
  g_autoptr (KilnVolume) v2 = NULL;
  g_autoptr (KilnLabelVolume) l1 = NULL;
  g_autoptr (KilnLabelVolume) l2 = NULL;
#ifdef _OPENMP
  omp_set_num_threads (1);
#endif
  g_assert_true (kiln_phantom_voxelize (ph, 40, 32, 32, 1.0, 3, &v1, &l1, NULL, NULL, NULL, NULL, NULL));
#ifdef _OPENMP
  omp_set_num_threads (2);
#endif
  g_assert_true (kiln_phantom_voxelize (ph, 40, 32, 32, 1.0, 3, &v2, &l2, NULL, NULL, NULL, NULL, NULL));
  g_assert_cmpmem (v1->data, kiln_volume_n_voxels (v1) * 4, v2->data, kiln_volume_n_voxels (v2) * 4);
  g_assert_cmpmem (l1->data, kiln_label_volume_n_voxels (l1) * 4, l2->data,
                   kiln_label_volume_n_voxels (l2) * 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/phantom/sphere-chord", test_sphere_chord);
  g_test_add_func ("/phantom/sphere-voxels", test_sphere_voxels);
  g_test_add_func ("/phantom/neck-spheres", test_neck_spheres);
  g_test_add_func ("/phantom/neck-ellipsoids", test_neck_ellipsoids);
  g_test_add_func ("/phantom/neck-bad", test_neck_bad);
  g_test_add_func ("/phantom/materials", test_materials);
  g_test_add_func ("/phantom/pair-truth", test_pair_truth);
  g_test_add_func ("/phantom/voxel-threads", test_voxel_threads);
  g_test_add_func ("/phantom/line-integral-neck", test_line_integral_neck);
  return g_test_run ();
}
