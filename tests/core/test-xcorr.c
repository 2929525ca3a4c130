/* test-xcorr.c — cross-correlation shifts, stretching, series accumulation, centre of mass
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "align-phantom.h"

static const double identity[4] = { 1, 0, 0, 1 };

/* Pure integer and sub-pixel shifts of a clean image: mov's content is moved by s, so the shift
 * that aligns mov onto ref is −s. Tolerance 0.05 px (issue 6). */
static void
test_pair_shifts (void)
{
  const guint w = 128, h = 112;
  const double s[][2] = { { 0, 0 }, { 5, -3 }, { -12, 7 }, { 2.3, -1.7 }, { 0.5, 0.25 },
                          { -4.75, 9.4 } };
  g_autofree float *ref = g_new (float, w * h);
  g_autofree float *mov = g_new (float, w * h);
  BlobPattern pat;
  KilnXcorrParams p;

  blob_pattern_init (&pat, 40, w, h, 7);
  blob_pattern_render (&pat, ref, w, h, identity, 0, 0);
  kiln_xcorr_params_init (&p);
  for (guint i = 0; i < G_N_ELEMENTS (s); i++)
    {
      g_autoptr(GError) error = NULL;
      double dx, dy, peak;

      blob_pattern_render (&pat, mov, w, h, identity, s[i][0], s[i][1]);
      g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, 1.0, 0, 0, &dx, &dy, &peak, NULL, &error));
      g_assert_no_error (error);
      g_test_message ("shift (%g, %g): found (%.4f, %.4f), peak %.3f", s[i][0], s[i][1], dx, dy,
                      peak);
      g_assert_cmpfloat (fabs (dx + s[i][0]), <, 0.05);
      g_assert_cmpfloat (fabs (dy + s[i][1]), <, 0.05);
      /* the correlation coefficient of (nearly) identical content is close to 1 (tapering and
       * the content leaving the field lower it a little) */
      g_assert_cmpfloat (peak, >, 0.8);
      g_assert_cmpfloat (peak, <=, 1.0 + 1e-6);
    }
}

/* A copy compressed perpendicular to the axis by 1/f and shifted by s is recovered with
 * stretching by f: the shift in its own frame is −s (tolerance 0.05 px). Without stretching the
 * same pair gives a clearly worse (lower) peak. */
static void
test_pair_stretch (void)
{
  const guint w = 128, h = 128;
  const double axes[] = { 0.0, 90.0, 30.0 };
  g_autofree float *ref = g_new (float, w * h);
  g_autofree float *mov = g_new (float, w * h);
  BlobPattern pat;
  KilnXcorrParams p;
  double f = kiln_xcorr_stretch_factor (20.0, 40.0);

  g_assert_cmpfloat_with_epsilon (f, cos (20 * G_PI / 180) / cos (40 * G_PI / 180), 1e-12);
  blob_pattern_init (&pat, 40, w, h, 11);
  blob_pattern_render (&pat, ref, w, h, identity, 0, 0);
  kiln_xcorr_params_init (&p);
  for (guint i = 0; i < G_N_ELEMENTS (axes); i++)
    {
      double m[4], dx, dy, peak, dx0, dy0, peak0;

      p.axis_angle_deg = axes[i];
      kiln_xcorr_stretch_matrix (axes[i], f, m);
      /* the stretch leaves the axis direction (−sin φ, cos φ) unchanged */
      {
        double ax = -sin (axes[i] * G_PI / 180), ay = cos (axes[i] * G_PI / 180);
        g_assert_cmpfloat (fabs (m[0] * ax + m[1] * ay - ax), <, 1e-12);
        g_assert_cmpfloat (fabs (m[2] * ax + m[3] * ay - ay), <, 1e-12);
      }
      /* mov(x) = P(M (x − c − s) + c) */
      blob_pattern_render (&pat, mov, w, h, m, 3.4, -2.2);
      g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, f, 0, 0, &dx, &dy, &peak, NULL, NULL));
      g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, 1.0, 0, 0, &dx0, &dy0, &peak0, NULL, NULL));
      g_test_message ("axis %g°: stretched (%.4f, %.4f) peak %.3f; unstretched peak %.3f",
                      axes[i], dx, dy, peak, peak0);
      g_assert_cmpfloat (fabs (dx + 3.4), <, 0.05);
      g_assert_cmpfloat (fabs (dy - 2.2), <, 0.05);
      g_assert_cmpfloat (peak, >, peak0 + 0.05);
    }
}

/* With max_shift_px the peak is searched near the prior. A pattern periodic in x (period 32 px)
 * has peaks every 32 px: the prior picks the lobe (the taper envelope biases a side lobe, so this
 * only checks the lobe: within 1 px; the main lobe within 0.2 px, since content fills the frame).
 * On a non-periodic pattern a prior near the truth gives the
 * truth (0.05 px), and a prior far from it keeps the result within max_shift_px of the prior. */
static void
test_pair_prior (void)
{
  const guint w = 128, h = 64;
  g_autofree float *ref = g_new (float, w * h);
  g_autofree float *mov = g_new (float, w * h);
  KilnXcorrParams p;
  BlobPattern pat;
  double dx, dy;

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        ref[y * w + x] = (float) (sin (2 * G_PI * x / 32.0) + cos (2 * G_PI * y / 21.0));
        mov[y * w + x] = (float) (sin (2 * G_PI * (x - 3.0) / 32.0) + cos (2 * G_PI * y / 21.0));
      }
  kiln_xcorr_params_init (&p);
  p.max_shift_px = 8;
  g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, 1.0, 29.0, 0.0, &dx, &dy, NULL, NULL, NULL));
  g_assert_cmpfloat (fabs (dx - 29.0), <, 1.0);
  g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, 1.0, -3.0, 0.0, &dx, &dy, NULL, NULL, NULL));
  /* content fills the whole frame and enters/leaves at the edges: 0.2 px */
  g_assert_cmpfloat (fabs (dx + 3.0), <, 0.2);

  blob_pattern_init (&pat, 40, w, h, 5);
  blob_pattern_render (&pat, ref, w, h, identity, 0, 0);
  blob_pattern_render (&pat, mov, w, h, identity, -6.3, 2.1);
  g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, 1.0, 4.0, 0.0, &dx, &dy, NULL, NULL, NULL));
  g_assert_cmpfloat (fabs (dx - 6.3), <, 0.05);
  g_assert_cmpfloat (fabs (dy + 2.1), <, 0.05);
  p.max_shift_px = 3;
  g_assert_true (kiln_xcorr_pair (ref, mov, w, h, &p, 1.0, -10.0, 0.0, &dx, &dy, NULL, NULL, NULL));
  g_assert_cmpfloat (hypot (dx + 10.0, dy), <=, 3.0 + 2.0); /* pass 2 may move ≤ 2 px more */
}

/* A series of shifted copies: accumulated shifts equal the truth relative to the tilt nearest
 * 0° (tolerance 0.05 px per tilt: sub-pixel errors accumulate over at most 3 pairs here, each
 * well below 0.02 px for clean images). Centre-of-mass mode on the same series, same tolerance. */
static void
test_series (void)
{
  const guint w = 96, h = 96, n = 7;
  const double t[7][2] = { { 1.5, -2 }, { 0.3, 4.2 }, { -3, 1 }, { 0.7, -0.4 }, { 5.5, 2.5 },
                           { 2.25, -6 }, { -1, 0 } };
  const double angles[7] = { -30, -20, -10, 0, 10, 20, 30 };
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (n, w, h, NULL);
  g_autoptr(GError) error = NULL;
  BlobPattern pat;
  KilnXcorrParams p;
  double shifts[14], peaks[7];

  blob_pattern_init (&pat, 30, w, h, 3);
  for (guint k = 0; k < n; k++)
    blob_pattern_render (&pat, kiln_image_stack_tilt (st, k), w, h, identity, t[k][0], t[k][1]);
  g_assert_true (kiln_image_stack_set_angles (st, angles, n, NULL));
  kiln_xcorr_params_init (&p);
  p.stretch = FALSE;   /* identical content at every "tilt" */
  g_assert_true (kiln_xcorr_series (st, &p, NULL, shifts, peaks, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < n; k++)
    {
      /* aligning k onto tilt 3 means moving its content by t3 − tk */
      g_assert_cmpfloat (fabs (shifts[2 * k] - (t[3][0] - t[k][0])), <, 0.05);
      g_assert_cmpfloat (fabs (shifts[2 * k + 1] - (t[3][1] - t[k][1])), <, 0.05);
    }
  g_assert_cmpfloat (peaks[3], ==, 1.0);

  g_assert_true (kiln_com_series (st, shifts, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < n; k++)
    {
      g_assert_cmpfloat (fabs (shifts[2 * k] - (t[3][0] - t[k][0])), <, 0.05);
      g_assert_cmpfloat (fabs (shifts[2 * k + 1] - (t[3][1] - t[k][1])), <, 0.05);
    }
}

static void
cancel_now (double fraction, const char *message, gpointer data)
{
  (void) fraction;
  (void) message;
  g_cancellable_cancel (data);
}

static void
test_series_cancel (void)
{
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (5, 32, 32, NULL);
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnXcorrParams p;
  double shifts[10];

  kiln_xcorr_params_init (&p);
  g_cancellable_cancel (c);
  g_assert_false (kiln_xcorr_series (st, &p, NULL, shifts, NULL, NULL, c, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_cancellable_reset (c);
  g_assert_false (kiln_xcorr_series (st, &p, NULL, shifts, NULL, NULL, c, cancel_now, c, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_bad_size (void)
{
  float img[16] = { 0 };
  KilnXcorrParams p;
  double dx, dy;
  g_autoptr(GError) error = NULL;

  kiln_xcorr_params_init (&p);
  g_assert_false (kiln_xcorr_pair (img, img, 4, 4, &p, 1.0, 0, 0, &dx, &dy, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xcorr/pair-shifts", test_pair_shifts);
  g_test_add_func ("/xcorr/pair-stretch", test_pair_stretch);
  g_test_add_func ("/xcorr/pair-prior", test_pair_prior);
  g_test_add_func ("/xcorr/series", test_series);
  g_test_add_func ("/xcorr/series-cancel", test_series_cancel);
  g_test_add_func ("/xcorr/bad-size", test_bad_size);
  return g_test_run ();
}
