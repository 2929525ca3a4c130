/* test-fft.c — filters and transforms
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"

static void
test_good_size (void)
{
  g_assert_cmpint (kiln_fft_good_size (1), ==, 1);
  g_assert_cmpint (kiln_fft_good_size (11), ==, 12);
  g_assert_cmpint (kiln_fft_good_size (127), ==, 128);
  g_assert_cmpint (kiln_fft_good_size (131), ==, 135);
}

static void
test_ramp_response (void)
{
  int n = 256;
  g_autofree float *r = kiln_filter_response_new (KILN_FILTER_RAMP, n, 1.0);
  g_autofree float *none = kiln_filter_response_new (KILN_FILTER_NONE, n, 1.0);
  g_autofree float *ham = kiln_filter_response_new (KILN_FILTER_HAMMING, n, 1.0);

  /* |ω| in cycles/sample, tolerance 2 % away from DC (the discrete kernel differs slightly
   * from the sampled ramp near DC, by design: it is positive there) */
  for (int k = 8; k <= n / 2; k += 8)
    g_assert_cmpfloat_with_epsilon (r[k] * n, (double) k / n, 0.02 * k / n + 1e-4);
  g_assert_cmpfloat (r[0] * n, >, 0.0);
  g_assert_cmpfloat (r[0] * n, <, 0.01);
  g_assert_cmpfloat_with_epsilon (none[5] * n, 1.0, 1e-6);
  /* Hamming at Nyquist: 0.08 of the ramp */
  g_assert_cmpfloat_with_epsilon (ham[n / 2] / r[n / 2], 0.08, 1e-3);
}

static void
test_filter_rows_constant (void)
{
  /* A ramp filter removes (nearly all of) a constant row's content in the middle, because
   * the edges are replicated: the filtered value there tends to 0 (tolerance 1 % of input). */
  guint w = 64;
  float row[64];

  for (guint i = 0; i < w; i++)
    row[i] = 10.0f;
  kiln_filter_rows (row, 1, w, KILN_FILTER_RAMP, 1.0);
  g_assert_cmpfloat (fabs (row[w / 2]), <, 0.1);
}

static void
test_transform_shift_rotate (void)
{
  guint w = 32, h = 24;
  g_autofree float *src = g_new0 (float, w * h);
  g_autofree float *dst = g_new0 (float, w * h);
  g_autofree guint8 *mask = g_new0 (guint8, w * h);
  KilnXf xf = { 1, 0, 0, 1, 3, -2 }, inv, id;

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      src[y * w + x] = (float) (x + 100 * y);
  kiln_transform_image (src, w, h, &xf, KILN_INTERP_LINEAR, -1.0f, dst, mask);
  /* content moves by (+3, −2): dst(10, 5) = src(7, 7) */
  g_assert_cmpfloat_with_epsilon (dst[5 * w + 10], src[7 * w + 7], 1e-4);
  g_assert_cmpuint (mask[0], ==, 0);      /* came from x = −3: outside */
  g_assert_cmpfloat (dst[0], ==, -1.0f);

  /* a sub-pixel shift of a linear ramp is exact with linear and cubic interpolation */
  xf.dx = 0.25;
  xf.dy = 0.0;
  kiln_transform_image (src, w, h, &xf, KILN_INTERP_CUBIC, 0.0f, dst, NULL);
  g_assert_cmpfloat_with_epsilon (dst[10 * w + 10], src[10 * w + 10] - 0.25, 1e-3);

  /* rotation then its inverse is the identity */
  kiln_xf_rotation (&xf, 30.0, 1.5, -0.5);
  g_assert_true (kiln_xf_invert (&xf, &inv));
  kiln_xf_compose (&inv, &xf, &id);
  g_assert_cmpfloat_with_epsilon (id.a11, 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (id.a12, 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (id.dx, 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (id.dy, 0.0, 1e-12);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fft/good-size", test_good_size);
  g_test_add_func ("/fft/ramp-response", test_ramp_response);
  g_test_add_func ("/fft/filter-rows-constant", test_filter_rows_constant);
  g_test_add_func ("/transform/shift-rotate", test_transform_shift_rotate);
  return g_test_run ();
}
