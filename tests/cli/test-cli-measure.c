/* test-cli-measure.c — kiln-cli measure: the pipeline.md contract, tracked series over several
 * label files, CSV output
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-test-phantom.h"

/* Time point @tp: two equal spheres (R = 9 voxels, 1.5 nm voxels) whose centres approach,
 * 17 − tp voxels apart along x (neck radius √(81 − (17 − tp)²/4)), and a third separate one.
 * Saved as labels via the core segmentation (threshold 0.5 of the occupancy). */
static char *
write_labels (int tp, double *d_vox)
{
  PhScene s = { 0 };
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) l = NULL;
  g_autoptr(GError) error = NULL;
  KilnSegmentParams p;
  g_autofree char *name = g_strdup_printf ("labels-%d.mrc", tp);
  char *path = kiln_test_tmpfile (name);
  double d = 17 - tp;

  ph_sphere (&s, 24.3 - d / 2, 14.2, 13.6, 9);
  ph_sphere (&s, 24.3 + d / 2, 14.2, 13.6, 9);
  ph_sphere (&s, 24, 36, 13, 6);
  v = ph_render (&s, 48, 46, 28);
  v->voxel_size_nm = 1.5;
  kiln_segment_params_init (&p);
  p.otsu = FALSE;
  p.threshold = 0.5;
  l = kiln_segment (v, &p, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_mrc_save_labels (l, path, "test", &error));
  g_assert_no_error (error);
  *d_vox = d;
  return path;
}

static void
test_series (void)
{
  double d[3];
  g_autofree char *f0 = write_labels (0, &d[0]);
  g_autofree char *f1 = write_labels (2, &d[1]);
  g_autofree char *f2 = write_labels (4, &d[2]);
  g_autofree char *csv = kiln_test_tmpfile ("series.csv");
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelVolume) l0 = kiln_mrc_load_labels (f0, NULL, NULL);
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *pair = NULL;
  JsonArray *pairs;
  guint32 a, b;
  int status;

  /* the labels of the two touching spheres in the first file */
  a = KILN_VOXEL (l0, 16, 14, 14);
  b = KILN_VOXEL (l0, 32, 14, 14);
  g_assert_cmpuint (a, !=, 0);
  g_assert_cmpuint (b, !=, 0);
  pair = g_strdup_printf ("%u:%u", a, b);
  status = kiln_test_run_cli (&out, &err, "measure", f0, f1, f2, "--pair", pair, "--csv", csv,
                              "--pt-times", "0,5,12", "--temperatures", "372,370,370", "--json",
                              NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  pairs = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                        "pairs");
  g_assert_cmpuint (json_array_get_length (pairs), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *o = json_array_get_object_element (pairs, i);
      const char *keys[] = { "a", "b", "time_point", "pt_time_s", "r_n_nm", "d_xy_nm", "d_z_nm",
                             "d_nm", "r_p_nm", "h_over_w", "neck_radius_3d_nm", "distance_3d_nm",
                             "radius_3d_nm", "r_n_err_nm", "neck_radius_3d_err_nm" };
      double neck = sqrt (81 - d[i] * d[i] / 4) * 1.5;
      const double pts[3] = { 0, 5, 12 };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        g_assert_true (json_object_has_member (o, keys[k]));
      g_assert_cmpint (json_object_get_int_member (o, "a"), ==, a);
      g_assert_cmpint (json_object_get_int_member (o, "b"), ==, b);
      g_assert_cmpint (json_object_get_int_member (o, "time_point"), ==, i);
      g_assert_cmpfloat (json_object_get_double_member (o, "pt_time_s"), ==, pts[i]);
      /* the neck of the lens: within 1 voxel (1.5 nm) */
      g_assert_cmpfloat (fabs (json_object_get_double_member (o, "neck_radius_3d_nm") - neck), <=, 1.5);
      /* the axis lies in the xy plane: the projected neck is the neck */
      g_assert_cmpfloat (fabs (json_object_get_double_member (o, "r_n_nm") - neck), <=, 1.5);
      g_assert_cmpfloat (json_object_get_double_member (o, "d_z_nm"), <=, 1.5);
      g_assert_cmpfloat (json_object_get_double_member (o, "r_n_err_nm"), >=, 0);
    }
  /* the CSV: header with units, one row per time point */
  rows = kiln_csv_load (csv, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 4);
  g_assert_cmpstr (((char **) g_ptr_array_index (rows, 0))[0], ==, "time_point");
  g_assert_cmpstr (((char **) g_ptr_array_index (rows, 0))[1], ==, "pt_time_s");
  g_assert_cmpstr (((char **) g_ptr_array_index (rows, 0))[2], ==, "temperature_C");
  g_assert_cmpstr (((char **) g_ptr_array_index (rows, 0))[3], ==, "pair");
  g_assert_cmpstr (((char **) g_ptr_array_index (rows, 2))[2], ==, "370");
  g_assert_cmpstr (((char **) g_ptr_array_index (rows, 2))[3], ==, pair);
}

static void
test_errors (void)
{
  double d;
  g_autofree char *f0 = write_labels (0, &d);
  g_autofree char *csv = kiln_test_tmpfile ("never.csv");
  char *out = NULL, *err = NULL;

  g_assert_cmpint (kiln_test_run_cli (&out, &err, "measure", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "measure", f0, "--pair", "1-2", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "measure", f0, "--pair", "1:2", "--pt-times",
                                      "0,5", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* a label that does not exist: runtime error naming it, no CSV written */
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "measure", f0, "--pair", "1:9", "--csv", csv,
                                      NULL), ==, 1);
  g_assert_nonnull (strstr (err, "9"));
  g_assert_false (g_file_test (csv, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "measure", "/nonexistent/x.mrc", "--pair", "1:2",
                                      NULL), ==, 1);
  g_assert_nonnull (strstr (err, "x.mrc"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* human output lists every touching pair by default */
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "measure", f0, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "r_n nm"));
  g_free (out);
  g_free (err);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/measure/series", test_series);
  g_test_add_func ("/cli/measure/errors", test_errors);
  return g_test_run ();
}
