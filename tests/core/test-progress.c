/* test-progress.c — the progress/cancel convention
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-test-util.h"

static void
record (double fraction, const char *message, gpointer data)
{
  g_array_append_val ((GArray *) data, fraction);
}

static void
test_sub_ranges (void)
{
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (double));
  KilnProgress p, sub;

  kiln_progress_init (&p, record, seen);
  sub = kiln_progress_sub (&p, 0.5, 1.0);
  kiln_progress_report (&sub, 0.0, NULL);
  kiln_progress_report (&sub, 0.5, NULL);
  kiln_progress_report (&sub, 2.0, NULL); /* clamped */
  g_assert_cmpuint (seen->len, ==, 3);
  g_assert_cmpfloat_with_epsilon (g_array_index (seen, double, 0), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (g_array_index (seen, double, 1), 0.75, 1e-12);
  g_assert_cmpfloat_with_epsilon (g_array_index (seen, double, 2), 1.0, 1e-12);
}

static void
test_cancel (void)
{
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (kiln_check_cancelled (c, &error));
  g_assert_no_error (error);
  g_cancellable_cancel (c);
  g_assert_true (kiln_check_cancelled (c, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_alloc_overflow (void)
{
  g_autoptr(GError) error = NULL;
  gpointer p = kiln_alloc (G_MAXSIZE / 2, 4, FALSE, "test buffer", &error);
  gsize n;

  g_assert_null (p);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY);
  g_assert_nonnull (strstr (error->message, "test buffer"));
  g_assert_false (kiln_size_mul (&n, G_MAXSIZE / 2, 3, 1, 1));
  g_assert_true (kiln_size_mul (&n, 41, 1024, 1024, 4));
  g_assert_cmpuint (n, ==, 41u * 1024 * 1024 * 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/progress/sub-ranges", test_sub_ranges);
  g_test_add_func ("/progress/cancel", test_cancel);
  g_test_add_func ("/alloc/overflow", test_alloc_overflow);
  return g_test_run ();
}
