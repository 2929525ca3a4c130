/* test-projector.c — the matched projector pair: adjointness and analytic projections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-test-util.h"
#include "kiln-projector.h"

typedef struct
{
  guint nx, ny, nz, nu;
  guint n_tilts;
  double a0, a1;
  double shift;
} Geo;

static void
check_adjoint (const Geo *geo)
{
  g_autoptr (GError) error = NULL;
  g_autofree double *angles = g_new (double, geo->n_tilts);
  KilnProjector *proj;
  float *x, *y, *ax, *aty;
  GRand *rand = g_rand_new_with_seed (42);
  double lhs = 0.0, rhs = 0.0, nrm = 0.0;

  for (guint k = 0; k < geo->n_tilts; k++)
    angles[k] = geo->n_tilts == 1 ? geo->a0
                : geo->a0 + (geo->a1 - geo->a0) * k / (geo->n_tilts - 1);
  proj = kiln_projector_new (geo->nx, geo->ny, geo->nz, geo->nu, angles, geo->n_tilts,
                             geo->shift, &error);
  g_assert_no_error (error);
  x = kiln_projector_alloc_volume (proj, &error);
  aty = kiln_projector_alloc_volume (proj, &error);
  y = kiln_projector_alloc_sino (proj, &error);
  ax = kiln_projector_alloc_sino (proj, &error);
  g_assert_no_error (error);
  /* random data in the real slices only; padding slices stay 0 as the layout requires */
  for (guint z = 0; z < geo->nz; z++)
    for (guint xx = 0; xx < geo->nx; xx++)
      for (guint s = 0; s < geo->ny; s++)
        x[((gsize) z * geo->nx + xx) * proj->ny_pad + s] = (float) g_rand_double_range (rand, -1, 1);
  for (guint k = 0; k < geo->n_tilts; k++)
    for (guint u = 0; u < geo->nu; u++)
      for (guint s = 0; s < geo->ny; s++)
        y[((gsize) k * geo->nu + u) * proj->ny_pad + s] = (float) g_rand_double_range (rand, -1, 1);

  kiln_projector_forward (proj, x, ax, NULL, 0);
  kiln_projector_back (proj, y, aty, NULL, NULL, 0);
  for (gsize i = 0; i < kiln_projector_sino_size (proj); i++)
    {
      lhs += (double) ax[i] * y[i];
      nrm += fabs ((double) ax[i] * y[i]);
    }
  for (gsize i = 0; i < kiln_projector_volume_size (proj); i++)
    rhs += (double) x[i] * aty[i];
  /* ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ to 1e-5 relative (float sums; relative to Σ|terms| so that a
   * cancelling sum cannot hide a mismatch or fake one) */
  g_test_message ("adjoint %u×%u×%u, %u tilts %g…%g°, shift %g: %.9g vs %.9g",
                  geo->nx, geo->ny, geo->nz, geo->n_tilts, geo->a0, geo->a1, geo->shift, lhs, rhs);
  g_assert_cmpfloat (nrm, >, 0.0);
  g_assert_cmpfloat (fabs (lhs - rhs) / nrm, <, 1e-5);
  g_assert_cmpfloat (fabs (lhs - rhs) / MAX (fabs (lhs), 1e-30), <, 1e-3);

  kiln_free (x);
  kiln_free (y);
  kiln_free (ax);
  kiln_free (aty);
  kiln_projector_free (proj);
  g_rand_free (rand);
}

static void
test_adjoint (void)
{
  static const Geo geos[] = {
    { 48, 16, 32, 48, 41, -40, 40, 0 },
    { 37, 21, 19, 41, 13, -60, 60, 2.7 },      /* odd sizes, padding slices, shift */
    { 32, 5, 40, 36, 90, -90, 88, -3.25 },     /* 180°, steep tilts, Z > X */
    { 24, 33, 24, 24, 7, 0, 135, 0.5 },        /* angles beyond 90° */
    { 16, 1, 16, 16, 1, 90, 90, 0 },           /* one tilt at exactly 90° */
  };
  for (guint i = 0; i < G_N_ELEMENTS (geos); i++)
    check_adjoint (&geos[i]);
}

/* The forward projection of a ball approximates its analytic chord lengths 2·sqrt(R² − d²)
 * (in voxel lengths), at every tilt, including the shift. */
static void
test_ball_projection (void)
{
  const guint n = 64, ny = 4, nt = 7;
  const double R = 14.0, xc = 5.0, zc = -4.0, shift = 3.0;
  double angles[7] = { -60, -40, -20, 0, 20, 40, 60 };
  g_autoptr (GError) error = NULL;
  KilnProjector *proj = kiln_projector_new (n, ny, n, n, angles, nt, shift, &error);
  float *vol, *sino;
  const int ss = 5;

  g_assert_no_error (error);
  vol = kiln_projector_alloc_volume (proj, &error);
  sino = kiln_projector_alloc_sino (proj, &error);
  g_assert_no_error (error);
  /* partial-volume ball (5³ sub-samples per voxel) */
  for (guint z = 0; z < n; z++)
    for (guint x = 0; x < n; x++)
      {
        int inside = 0;
        for (int a = 0; a < ss; a++)
          for (int b = 0; b < ss; b++)
            {
              double dx = x - (n - 1) / 2.0 - xc + (a + 0.5) / ss - 0.5;
              double dz = z - (n - 1) / 2.0 - zc + (b + 0.5) / ss - 0.5;
              inside += dx * dx + dz * dz <= R * R;
            }
        for (guint y = 0; y < ny; y++)
          vol[((gsize) z * n + x) * proj->ny_pad + y] = (float) inside / (ss * ss);
      }
  kiln_projector_forward (proj, vol, sino, NULL, 0);
  for (guint k = 0; k < nt; k++)
    {
      double th = angles[k] * G_PI / 180.0, err = 0.0, mass = 0.0, mass_true = 0.0;
      double uc = xc * cos (th) + zc * sin (th) + (n - 1) / 2.0 + shift;
      for (guint u = 0; u < n; u++)
        {
          double d = u - uc;
          double truth = fabs (d) < R ? 2.0 * sqrt (R * R - d * d) : 0.0;
          double got = sino[((gsize) k * n + u) * proj->ny_pad + 1];
          /* the disc is a 2-D slice (cylinder along y), so a chord length per row */
          if (fabs (d) < R - 1.5 || fabs (d) > R + 1.5)
            err = MAX (err, fabs (got - truth));
          mass += got;
          mass_true += truth;
        }
      g_test_message ("tilt %g°: max |A x − chord| = %.3f voxel, mass %.2f vs %.2f",
                      angles[k], err, mass, mass_true);
      /* mass is kept to 0.5 % (partial-volume sampling); chord lengths to 0.6 voxel (2 % of
       * the diameter; the pixel-driven splat ripples by ~±0.4 at oblique tilts) away from the
       * rim, where the point-sampled truth jumps within one pixel (|d| within R ± 1.5 is
       * excluded) */
      g_assert_cmpfloat (fabs (mass - mass_true) / mass_true, <, 0.005);
      g_assert_cmpfloat (err, <, 0.6);
    }
  kiln_free (vol);
  kiln_free (sino);
  kiln_projector_free (proj);
}

static void
test_bad_geometry (void)
{
  double a = 0.0;
  g_autoptr (GError) error = NULL;
  KilnProjector *proj = kiln_projector_new (32, 4, 32, 32, &a, 1, 20.0, &error);

  g_assert_null (proj);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "shift"));
  g_clear_error (&error);
  proj = kiln_projector_new (0, 4, 32, 32, &a, 1, 0.0, &error);
  g_assert_null (proj);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/projector/adjoint", test_adjoint);
  g_test_add_func ("/projector/ball", test_ball_projection);
  g_test_add_func ("/projector/bad-geometry", test_bad_geometry);
  return g_test_run ();
}
