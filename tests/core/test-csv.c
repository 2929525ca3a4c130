/* test-csv.c — CSV round trip
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"

static void
test_round_trip (void)
{
  const char *cols[] = { "label", "neck_radius_nm", "note, with comma", NULL };
  g_autoptr(KilnCsv) csv = kiln_csv_new (cols);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("t.csv");
  g_autoptr(GPtrArray) rows = NULL;
  const double r1[] = { 1, 12.5, NAN };
  const char *r2[] = { "2", "3.25", "say \"hi\"", NULL };
  char **row;

  kiln_csv_add_row (csv, r1);
  kiln_csv_add_row_str (csv, r2);
  g_assert_true (kiln_csv_save (csv, path, &error));
  g_assert_no_error (error);

  rows = kiln_csv_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 3);
  row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (row[1], ==, "neck_radius_nm");
  g_assert_cmpstr (row[2], ==, "note, with comma");
  row = g_ptr_array_index (rows, 1);
  g_assert_cmpfloat (g_ascii_strtod (row[1], NULL), ==, 12.5);
  g_assert_cmpstr (row[2], ==, "");
  row = g_ptr_array_index (rows, 2);
  g_assert_cmpstr (row[2], ==, "say \"hi\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/csv/round-trip", test_round_trip);
  return g_test_run ();
}
