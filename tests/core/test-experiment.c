/* test-experiment.c — experiment.json: round trip and validation errors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-test-util.h"

static void
test_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnExperiment) e = kiln_experiment_new ();
  e->title = g_strdup ("Round trip");
  e->pixel_size_nm = 1.04;
  kiln_experiment_add_time_point (e, "tp01", 0, 372, "tp01/tilts.mrc", "tp01/angles.tlt",
                                  "tp01/truth");
  kiln_experiment_add_time_point (e, "tp02", 5, 370, "tp02/tilts.mrc", NULL, NULL);
  e->reference_raw = g_strdup ("reference/raw.tif");
  e->reference_average = g_strdup ("reference/average50.tif");
  g_autoptr (JsonObject) step = json_object_new ();
  json_object_set_double_member (step, "variance", 137);
  kiln_experiment_set_step (e, "denoise", step);
  g_autofree char *dir = kiln_test_tmpfile ("rt");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_true (kiln_experiment_save (e, dir, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (e->dir, ==, dir);

  g_autoptr (KilnExperiment) l = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (l->title, ==, "Round trip");
  g_assert_cmpfloat (l->pixel_size_nm, ==, 1.04);
  g_assert_cmpuint (l->time_points->len, ==, 2);
  KilnExperimentTimePoint *t1 = g_ptr_array_index (l->time_points, 0);
  KilnExperimentTimePoint *t2 = g_ptr_array_index (l->time_points, 1);
  g_assert_cmpstr (t1->name, ==, "tp01");
  g_assert_cmpfloat (t1->temperature_c, ==, 372);
  g_assert_cmpstr (t1->truth, ==, "tp01/truth");
  g_assert_cmpfloat (t2->time_s, ==, 5);
  g_assert_null (t2->angles);
  g_assert_cmpstr (l->reference_average, ==, "reference/average50.tif");
  JsonObject *d = kiln_experiment_get_step (l, "denoise");
  g_assert_nonnull (d);
  g_assert_cmpfloat (json_object_get_double_member (d, "variance"), ==, 137);
  g_assert_null (kiln_experiment_get_step (l, "align"));
  g_autofree char *abs = kiln_experiment_path (l, t1->tilts);
  g_autofree char *want = g_build_filename (dir, "tp01/tilts.mrc", NULL);
  g_assert_cmpstr (abs, ==, want);

  /* loading the file itself works too; no temporary file is left behind (atomic save) */
  g_autofree char *file = g_build_filename (dir, "experiment.json", NULL);
  g_autoptr (KilnExperiment) l2 = kiln_experiment_load (file, &error);
  g_assert_no_error (error);
  g_autoptr (GDir) gd = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (gd), ==, "experiment.json");
  g_assert_null (g_dir_read_name (gd));
}

static void
expect_invalid (const char *json,
                int         code,
                const char *fragment)
{
  g_autoptr (GError) error = NULL;
  static int n = 0;
  g_autofree char *name = g_strdup_printf ("bad%d.json", n++);
  g_autofree char *path = kiln_test_tmpfile (name);
  kiln_test_write_bytes (path, json, strlen (json));
  g_autoptr (KilnExperiment) e = kiln_experiment_load (path, &error);
  g_assert_null (e);
  g_assert_error (error, KILN_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, fragment));
}

#define TP "\"time_points\": [{\"name\": \"tp01\", \"pt_time_s\": 0, \"tilts\": \"a.mrc\"}]"

static void
test_invalid (void)
{
  expect_invalid ("{ not json", KILN_ERROR_FORMAT, "");
  expect_invalid ("[1, 2]", KILN_ERROR_FORMAT, "not a JSON object");
  expect_invalid ("{\"pixel_size_nm\": 1, " TP "}", KILN_ERROR_FORMAT, "format_version");
  expect_invalid ("{\"format_version\": 7, \"pixel_size_nm\": 1, " TP "}", KILN_ERROR_UNSUPPORTED,
                  "format_version 7");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 0, " TP "}", KILN_ERROR_FORMAT,
                  "pixel_size_nm");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": \"x\", " TP "}", KILN_ERROR_FORMAT,
                  "must be a number");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, \"time_points\": []}",
                  KILN_ERROR_FORMAT, "time_points");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, \"time_points\": [{\"name\": "
                  "\"a\", \"pt_time_s\": 0, \"tilts\": \"/etc/passwd\"}]}", KILN_ERROR_FORMAT,
                  "relative");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, \"time_points\": [{\"name\": "
                  "\"a\", \"pt_time_s\": 0, \"tilts\": \"../x.mrc\"}]}", KILN_ERROR_FORMAT, "..");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, \"time_points\": [{\"name\": "
                  "\"a\", \"tilts\": \"x.mrc\"}]}", KILN_ERROR_FORMAT, "pt_time_s");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, \"time_points\": [{\"name\": "
                  "\"a\", \"pt_time_s\": 0}]}", KILN_ERROR_FORMAT, "tilts");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, \"time_points\": [{\"name\": "
                  "\"a\", \"pt_time_s\": 0, \"tilts\": \"x\"}, {\"name\": \"a\", \"pt_time_s\": 1, "
                  "\"tilts\": \"y\"}]}", KILN_ERROR_FORMAT, "twice");
  expect_invalid ("{\"format_version\": 1, \"pixel_size_nm\": 1, " TP ", \"steps\": 3}",
                  KILN_ERROR_FORMAT, "steps");

  g_autoptr (GError) error = NULL;
  g_autofree char *missing = kiln_test_tmpfile ("nowhere");
  g_assert_null (kiln_experiment_load (missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/experiment/round-trip", test_round_trip);
  g_test_add_func ("/experiment/invalid", test_invalid);
  return g_test_run ();
}
