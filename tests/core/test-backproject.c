/* test-backproject.c — slice back-projection against analytic sphere projections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "tilt-axis-phantom.h"

/* One sphere, reconstructed on the slice through its centre. */
static void
check_sphere (double axis_deg, double shift_px, KilnFilter filter)
{
  const guint w = 80, h = 72, n = 60;
  g_autofree double *angles = phantom_angles (-90, 3, n);   /* full range, 3° steps */
  PhantomSphere sphere = { 9.0, -6.0, -7.0, 6.0, 1.0 };
  g_autoptr(KilnImageStack) stack = phantom_project (&sphere, 1, angles, n, w, h, axis_deg,
                                                     shift_px);
  g_autoptr(GError) error = NULL;
  KilnBackprojectParams params;
  const guint nx = 48, nz = 40;
  g_autofree float *out = g_new (float, nx * nz);
  double pos = sphere.y, sx = 0, sz = 0, sw = 0, peak = -G_MAXDOUBLE, far = 0;
  int pi = 0, pj = 0, n_far = 0;
  guint rw = 0, rt = 0;

  kiln_backproject_params_init (&params);
  params.axis_angle_deg = axis_deg;
  params.axis_shift_px = shift_px;
  params.filter = filter;
  params.width = nx;
  params.thickness = nz;
  g_assert_true (kiln_backproject_slices (stack, &params, &pos, 1, out, &rw, &rt, NULL, NULL,
                                          NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rw, ==, nx);
  g_assert_cmpuint (rt, ==, nz);

  for (guint j = 0; j < nz; j++)
    for (guint i = 0; i < nx; i++)
      {
        double v = out[j * nx + i];
        double x = i - (nx - 1) / 2.0, z = j - (nz - 1) / 2.0;
        double d = hypot (x - sphere.x, z - sphere.z);

        if (v > peak)
          {
            peak = v;
            pi = i;
            pj = j;
          }
        if (d < sphere.r + 4)
          {
            double wgt = MAX (v, 0.0);
            sx += wgt * x;
            sz += wgt * z;
            sw += wgt;
          }
        else if (d > sphere.r + 8)
          {
            far += v;
            n_far++;
          }
      }
  g_assert_cmpfloat (sw, >, 0);
  sx /= sw;
  sz /= sw;
  /* the centroid of the reconstructed disc is at the sphere's (x, z): tolerance 0.5 px */
  g_assert_cmpfloat_with_epsilon (sx, sphere.x, 0.5);
  g_assert_cmpfloat_with_epsilon (sz, sphere.z, 0.5);
  /* the brightest pixel lies inside the disc */
  g_assert_cmpfloat (hypot (pi - (nx - 1) / 2.0 - sphere.x, pj - (nz - 1) / 2.0 - sphere.z), <,
                     sphere.r);
  if (filter != KILN_FILTER_NONE)
    {
      /* weighted BP reproduces the density: centre within 10 % of 1 (ramp), background mean
       * within 0.05 of 0 */
      double centre = out[(guint) lround (sphere.z + (nz - 1) / 2.0) * nx
                          + (guint) lround (sphere.x + (nx - 1) / 2.0)];
      g_assert_cmpfloat_with_epsilon (centre, sphere.density,
                                      filter == KILN_FILTER_RAMP ? 0.10 : 0.15);
      g_assert_cmpfloat (fabs (far / n_far), <, 0.05);
    }
  else
    {
      /* simple BP = mean of the projections: its integral over the slice is the sphere's
       * mean chord integral, so the peak must be well above the far background (factor 3) */
      g_assert_cmpfloat (peak, >, 3 * fabs (far / n_far));
    }
}

static void
test_vertical (void)
{
  check_sphere (0, 0, KILN_FILTER_RAMP);
  check_sphere (0, 5.5, KILN_FILTER_RAMP);
  check_sphere (0, -3.25, KILN_FILTER_NONE);
}

static void
test_horizontal (void)
{
  check_sphere (90, 0, KILN_FILTER_RAMP);
  check_sphere (90, -4.5, KILN_FILTER_SHEPP_LOGAN);
  check_sphere (-90, 3, KILN_FILTER_NONE);
}

static void
test_oblique (void)
{
  check_sphere (30, 2.5, KILN_FILTER_RAMP);
  check_sphere (-57, -6, KILN_FILTER_HAMMING);
  check_sphere (123.4, 1.2, KILN_FILTER_NONE);
}

/* The tilt sign: a sphere above the slice centre (z > 0) moves towards +u as θ grows. A BP
 * with the angles negated must put it at −z (checks u = x cos θ + z sin θ, not −z). */
static void
test_z_sign (void)
{
  const guint w = 64, h = 64, n = 41;
  g_autofree double *angles = phantom_angles (-60, 3, n);
  PhantomSphere sphere = { 0.0, 0.0, 10.0, 4.0, 1.0 };
  g_autoptr(KilnImageStack) stack = phantom_project (&sphere, 1, angles, n, w, h, 0, 0);
  g_autoptr(GError) error = NULL;
  KilnBackprojectParams params;
  g_autofree float *out = g_new (float, 64 * 64);
  double pos = 0, sum_top = 0, sum_bottom = 0;

  kiln_backproject_params_init (&params);
  params.filter = KILN_FILTER_RAMP;
  g_assert_true (kiln_backproject_slices (stack, &params, &pos, 1, out, NULL, NULL, NULL, NULL,
                                          NULL, &error));
  g_assert_no_error (error);
  for (guint j = 0; j < 64; j++)
    for (guint i = 28; i < 36; i++)
      {
        if (j > 40)
          sum_top += out[j * 64 + i];
        else if (j < 24)
          sum_bottom += out[j * 64 + i];
      }
  /* the disc (z = +10 → row 41.5) has mass ~ π·4² ≈ 50; the mirror position nearly none */
  g_assert_cmpfloat (sum_top, >, 25);
  g_assert_cmpfloat (fabs (sum_bottom), <, 5);
}

static void
test_weights (void)
{
  double angles[] = { 10, -10, 0, 20 };
  double w[4];

  g_assert_true (kiln_bp_angle_weights (angles, 4, w));
  /* sorted −10, 0, 10, 20; steps 10° everywhere */
  for (guint k = 0; k < 4; k++)
    g_assert_cmpfloat_with_epsilon (w[k], 10 * G_PI / 180, 1e-12);
  g_assert_false (kiln_bp_angle_weights (angles, 1, w));
  angles[1] = angles[0];
  g_assert_false (kiln_bp_angle_weights (angles, 2, w));
}

static void
test_default_width (void)
{
  g_assert_cmpuint (kiln_bp_default_width (100, 60, 0), ==, 100);
  g_assert_cmpuint (kiln_bp_default_width (100, 60, 90), ==, 60);
  /* at 45°: min(100/0.707, 60/0.707) = 84.85 */
  g_assert_cmpuint (kiln_bp_default_width (100, 60, 45), ==, 84);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  double one[] = { 0 };
  double same[] = { 5, 5, 5 };
  g_autoptr(KilnImageStack) s1 = kiln_image_stack_new (1, 16, 16, NULL);
  g_autoptr(KilnImageStack) s3 = kiln_image_stack_new (3, 16, 16, NULL);
  g_autoptr(KilnImageStack) s_noangles = kiln_image_stack_new (3, 16, 16, NULL);
  KilnBpLines *lines;

  kiln_image_stack_set_angles (s1, one, 1, NULL);
  kiln_image_stack_set_angles (s3, same, 3, NULL);
  lines = kiln_bp_lines_new (s1, 0, 0, 16, 16, 0, KILN_FILTER_NONE, 1, &error);
  g_assert_null (lines);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "at least 2"));
  g_clear_error (&error);
  lines = kiln_bp_lines_new (s3, 0, 0, 16, 16, 0, KILN_FILTER_RAMP, 1, &error);
  g_assert_null (lines);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "range"));
  g_clear_error (&error);
  lines = kiln_bp_lines_new (s_noangles, 0, 0, 16, 16, 0, KILN_FILTER_RAMP, 1, &error);
  g_assert_null (lines);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  lines = kiln_bp_lines_new (s3, NAN, 0, 16, 16, 0, KILN_FILTER_RAMP, 1, &error);
  g_assert_null (lines);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  lines = kiln_bp_lines_new (s3, 0, 0, 0, 16, 0, KILN_FILTER_RAMP, 1, &error);
  g_assert_null (lines);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

static void
test_cancel (void)
{
  const guint n = 5;
  g_autofree double *angles = phantom_angles (-60, 30, n);
  g_autoptr(KilnImageStack) stack = kiln_image_stack_new (n, 16, 16, NULL);
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnBackprojectParams params;
  g_autofree float *out = g_new0 (float, 16 * 16 * 2);
  double pos[2] = { 0, 1 };

  kiln_image_stack_set_angles (stack, angles, n, NULL);
  kiln_backproject_params_init (&params);
  g_cancellable_cancel (cancel);
  g_assert_false (kiln_backproject_slices (stack, &params, pos, 2, out, NULL, NULL, cancel,
                                           NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backproject/vertical", test_vertical);
  g_test_add_func ("/backproject/horizontal", test_horizontal);
  g_test_add_func ("/backproject/oblique", test_oblique);
  g_test_add_func ("/backproject/z-sign", test_z_sign);
  g_test_add_func ("/backproject/weights", test_weights);
  g_test_add_func ("/backproject/default-width", test_default_width);
  g_test_add_func ("/backproject/errors", test_errors);
  g_test_add_func ("/backproject/cancel", test_cancel);
  return g_test_run ();
}
