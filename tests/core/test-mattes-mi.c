/* test-mattes-mi.c — Mattes mutual information, the (1+1)-ES, MI registration
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "align-phantom.h"

static const double identity[4] = { 1, 0, 0, 1 };

/* MI of an image with itself is its entropy (positive) and drops when shifted; MI is invariant
 * to an inverting linear remapping of the moving intensities (the bins are mirrored; tolerance 2 %
 * for the Parzen windows' asymmetry at the ends), and a non-linear monotone remapping still
 * scores far above a misaligned copy (the joint histogram stays concentrated on a curve). */
static void
test_metric (void)
{
  const guint w = 96, h = 96;
  g_autofree float *a = g_new (float, w * h);
  g_autofree float *b = g_new (float, w * h);
  g_autofree float *c = g_new (float, w * h);
  BlobPattern pat;
  KilnMattesParams mp;
  KilnXf id = { 1, 0, 0, 1, 0, 0 }, sh = { 1, 0, 0, 1, 1.5, 0 };
  double m0, m1, m2, m3;

  blob_pattern_init (&pat, 40, w, h, 21);
  blob_pattern_render (&pat, a, w, h, identity, 0, 0);
  for (guint i = 0; i < w * h; i++)
    {
      b[i] = 5.0f - 3.0f * a[i];
      c[i] = 5.0f - 3.0f * sqrtf (a[i]);
    }
  kiln_mattes_params_init (&mp);
  {
    g_autoptr(GError) error = NULL;
    KilnMattesMI *mi = kiln_mattes_mi_new (a, a, w, h, 4, &mp, &error);
    KilnMattesMI *mi2;

    g_assert_no_error (error);
    m0 = kiln_mattes_mi_eval (mi, &id);
    m1 = kiln_mattes_mi_eval (mi, &sh);
    kiln_mattes_mi_free (mi);
    mi2 = kiln_mattes_mi_new (a, b, w, h, 4, &mp, &error);
    g_assert_no_error (error);
    m2 = kiln_mattes_mi_eval (mi2, &id);
    kiln_mattes_mi_free (mi2);
    mi2 = kiln_mattes_mi_new (a, c, w, h, 4, &mp, &error);
    g_assert_no_error (error);
    m3 = kiln_mattes_mi_eval (mi2, &id);
    kiln_mattes_mi_free (mi2);
  }
  g_test_message ("MI self %.4f, shifted %.4f, inverted %.4f, sqrt-remapped %.4f nats", m0, m1,
                  m2, m3);
  g_assert_cmpfloat (m0, >, 0.5);
  g_assert_cmpfloat (m1, <, 0.8 * m0);
  g_assert_cmpfloat (fabs (m2 - m0), <, 0.02 * m0);
  g_assert_cmpfloat (m3, >, 1.2 * m1);

  /* bad parameters are errors, not crashes */
  {
    g_autoptr(GError) error = NULL;
    mp.n_bins = 3;
    g_assert_null (kiln_mattes_mi_new (a, a, w, h, 4, &mp, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  }
}

static double
neg_quadratic (const double *x, gpointer data)
{
  const double *c = data;
  return -((x[0] - c[0]) * (x[0] - c[0]) + 4 * (x[1] - c[1]) * (x[1] - c[1]) +
           (x[2] - c[2]) * (x[2] - c[2]));
}

/* The (1+1)-ES finds the maximum of a quadratic (tolerance 1e-3 after 2000 iterations, from a
 * start 5 units away); the 1/5th rule shrinks the search so the last steps are tiny. */
static void
test_one_plus_one (void)
{
  double c[3] = { 1.5, -2.25, 0.75 }, x[3] = { -1.0, 1.0, 3.0 };
  KilnOnePlusOneParams p;
  guint evals = 0;
  double best;

  kiln_one_plus_one_params_init (&p);
  g_assert_cmpfloat_with_epsilon (p.shrink, pow (0.95, 0.25), 1e-12);
  g_assert_cmpfloat_with_epsilon (p.growth, 1.05, 1e-12);
  p.max_iterations = 2000;
  p.epsilon = 1e-6;
  best = kiln_one_plus_one_maximise (neg_quadratic, c, x, 3, &p, NULL, &evals, NULL);
  g_test_message ("ES: best %.3g after %u evaluations", best, evals);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (fabs (x[i] - c[i]), <, 1e-3);
  g_assert_cmpuint (evals, <=, 2001);
}

/* MI registration recovers integer and sub-pixel translations of a clean image to 0.05 px
 * (issue 6), starting 1–3 px away (as after the coarse stage). */
static void
test_register_translation (void)
{
  const guint w = 128, h = 128;
  const double s[][2] = { { 4, -3 }, { 2.3, -1.7 }, { 0.5, 0.25 }, { -6.6, 3.35 } };
  g_autofree float *ref = g_new (float, w * h);
  g_autofree float *mov = g_new (float, w * h);
  BlobPattern pat;
  KilnMiRegisterParams p;

  blob_pattern_init (&pat, 50, w, h, 8);
  blob_pattern_render (&pat, ref, w, h, identity, 0, 0);
  kiln_mi_register_params_init (&p);
  for (guint i = 0; i < G_N_ELEMENTS (s); i++)
    {
      g_autoptr(GError) error = NULL;
      double dx = -s[i][0] + 1.2, dy = -s[i][1] - 0.8, rot = 0.0, mi;
      guint evals;

      blob_pattern_render (&pat, mov, w, h, identity, s[i][0], s[i][1]);
      g_assert_true (kiln_mi_register (ref, mov, w, h, &p, &dx, &dy, &rot, &mi, &evals, NULL,
                                       &error));
      g_assert_no_error (error);
      g_test_message ("shift (%g, %g): found (%.4f, %.4f), MI %.3f, %u evaluations", s[i][0],
                      s[i][1], dx, dy, mi, evals);
      g_assert_cmpfloat (fabs (dx + s[i][0]), <, 0.05);
      g_assert_cmpfloat (fabs (dy + s[i][1]), <, 0.05);
      g_assert_cmpfloat (rot, ==, 0.0);
    }
}

/* Rotation-only case: the moving image is the pattern rotated by 2° (and shifted by 0.4 px);
 * with rotation enabled the registration finds −2° (0.05°) and the shift (0.05 px). */
static void
test_register_rotation (void)
{
  const guint w = 128, h = 128;
  const double ang = 2.0 * G_PI / 180.0;
  /* mov(x) = P(A (x − c − t) + c) with A = R(−2°): content rotated by +2° */
  const double a[4] = { cos (ang), sin (ang), -sin (ang), cos (ang) };
  g_autofree float *ref = g_new (float, w * h);
  g_autofree float *mov = g_new (float, w * h);
  g_autoptr(GError) error = NULL;
  BlobPattern pat;
  KilnMiRegisterParams p;
  double dx = 0, dy = 0, rot = 0, mi;

  blob_pattern_init (&pat, 50, w, h, 9);
  blob_pattern_render (&pat, ref, w, h, identity, 0, 0);
  blob_pattern_render (&pat, mov, w, h, a, 0.4, 0.0);
  kiln_mi_register_params_init (&p);
  p.rotation = TRUE;
  p.optimizer.max_iterations = 300;
  g_assert_true (kiln_mi_register (ref, mov, w, h, &p, &dx, &dy, &rot, &mi, NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("rotation: found %.4f° (%.4f, %.4f)", rot, dx, dy);
  g_assert_cmpfloat (fabs (rot + 2.0), <, 0.05);
  /* undoing a rotation by −2° about the centre after a shift t: the translation is R(−2°)(−t) */
  g_assert_cmpfloat (fabs (dx - (-0.4 * cos (ang))), <, 0.05);
  g_assert_cmpfloat (fabs (dy - (0.4 * sin (ang))), <, 0.05);
}

static void
test_register_cancel (void)
{
  const guint w = 64, h = 64;
  g_autofree float *img = g_new0 (float, w * h);
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnMiRegisterParams p;
  double dx = 0, dy = 0;

  kiln_mi_register_params_init (&p);
  g_cancellable_cancel (c);
  g_assert_false (kiln_mi_register (img, img, w, h, &p, &dx, &dy, NULL, NULL, NULL, c, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (kiln_mi_register (img, img, 8, 8, &p, &dx, &dy, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mattes-mi/metric", test_metric);
  g_test_add_func ("/mattes-mi/one-plus-one", test_one_plus_one);
  g_test_add_func ("/mattes-mi/register-translation", test_register_translation);
  g_test_add_func ("/mattes-mi/register-rotation", test_register_rotation);
  g_test_add_func ("/mattes-mi/register-cancel", test_register_cancel);
  return g_test_run ();
}
