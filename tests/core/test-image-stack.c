/* test-image-stack.c — KilnImageStack basics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"

static void
test_new_and_layout (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (3, 5, 4, &error);

  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_cmpuint (s->n_tilts, ==, 3);
  g_assert_cmpuint (s->width, ==, 5);
  g_assert_cmpuint (s->height, ==, 4);
  g_assert_cmpuint (kiln_image_stack_n_pixels (s), ==, 60);
  /* zero-initialised */
  for (guint i = 0; i < 60; i++)
    g_assert_cmpfloat (s->data[i], ==, 0.0f);
  g_assert_true (kiln_image_stack_tilt (s, 2) == s->data + 40);
  g_assert_false (s->has_angles);
  g_assert_true (isnan (s->time_s));
}

static void
test_bad_dimensions (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageStack *s = kiln_image_stack_new (0, 5, 4, &error);

  g_assert_null (s);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* 10⁶ × 10⁶: refused before any allocation */
  s = kiln_image_stack_new (1, 1000000, 1000000, &error);
  g_assert_null (s);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* within extents but beyond a small budget: a NO_MEMORY error that names the size */
  kiln_set_memory_budget (1 << 20);
  s = kiln_image_stack_new (41, 1024, 1024, &error);
  kiln_set_memory_budget (0);
  g_assert_null (s);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY);
  g_assert_nonnull (strstr (error->message, "164"));
}

static void
test_angles (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (3, 2, 2, &error);
  const double good[] = { -2.0, 0.5, 2.0 };
  const double bad[] = { -2.0, NAN, 2.0 };

  g_assert_false (kiln_image_stack_set_angles (s, good, 2, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_false (kiln_image_stack_set_angles (s, bad, 3, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_true (kiln_image_stack_set_angles (s, good, 3, &error));
  g_assert_no_error (error);
  g_assert_true (s->has_angles);
  g_assert_cmpuint (kiln_image_stack_zero_tilt (s), ==, 1);
}

static void
test_copy_ref_stats (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (2, 2, 2, &error);
  g_autoptr(KilnImageStack) c = NULL;
  KilnStats st;

  for (guint i = 0; i < 8; i++)
    s->data[i] = (float) i;
  s->pixel_size_nm = 1.04;
  kiln_image_stack_ensure_meta (s);
  s->meta[1].time_s = 12.0;
  c = kiln_image_stack_copy (s, &error);
  g_assert_no_error (error);
  s->data[0] = 100.0f;
  g_assert_cmpfloat (c->data[0], ==, 0.0f);
  g_assert_cmpfloat (c->data[7], ==, 7.0f);
  g_assert_cmpfloat_with_epsilon (c->pixel_size_nm, 1.04, 1e-12);
  g_assert_cmpfloat (c->meta[1].time_s, ==, 12.0);
  g_assert_true (isnan (c->meta[0].time_s));

  kiln_image_stack_stats (c, &st);
  g_assert_cmpfloat (st.min, ==, 0.0);
  g_assert_cmpfloat (st.max, ==, 7.0);
  g_assert_cmpfloat_with_epsilon (st.mean, 3.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (st.rms, sqrt (5.25), 1e-9);

  kiln_image_stack_ref (c);
  kiln_image_stack_unref (c);
  g_assert_cmpfloat (c->data[7], ==, 7.0f);
}

static void
test_nonfinite (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (2, 3, 3, &error);

  g_assert_true (kiln_image_stack_check_finite (s, "x.tif", &error));
  s->data[9 + 4] = INFINITY;
  g_assert_false (kiln_image_stack_check_finite (s, "x.tif", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "x.tif"));
  g_assert_nonnull (strstr (error->message, "tilt 2"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image-stack/new", test_new_and_layout);
  g_test_add_func ("/image-stack/bad-dimensions", test_bad_dimensions);
  g_test_add_func ("/image-stack/angles", test_angles);
  g_test_add_func ("/image-stack/copy-ref-stats", test_copy_ref_stats);
  g_test_add_func ("/image-stack/nonfinite", test_nonfinite);
  return g_test_run ();
}
