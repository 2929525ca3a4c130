/* test-cli-segment.c — kiln-cli segment: the pipeline.md contract (options, --json keys,
 * exit codes, atomic output)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-test-phantom.h"

/* Two touching spheres (R = 8 voxels, 2 nm voxels, centres 13 voxels apart) and a separate one
 * (R = 6) on a 0.1 background with 1.0 particles. */
static char *
write_phantom (double centres[3][3], double radii[3])
{
  PhScene s = { 0 };
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(GError) error = NULL;
  char *path = kiln_test_tmpfile ("phantom.mrc");
  const double c[3][3] = { { 12.2, 14.1, 12.6 }, { 25.2, 14.1, 12.6 }, { 18.4, 34.3, 13.1 } };
  const double r[3] = { 8, 8, 6 };

  for (int i = 0; i < 3; i++)
    {
      ph_sphere (&s, c[i][0], c[i][1], c[i][2], r[i]);
      memcpy (centres[i], c[i], sizeof c[i]);
      radii[i] = r[i];
    }
  v = ph_render (&s, 40, 44, 26);
  for (gsize i = 0; i < kiln_volume_n_voxels (v); i++)
    v->data[i] = 0.1f + 0.9f * v->data[i];
  v->voxel_size_nm = 2.0;
  g_assert_true (kiln_mrc_save_volume (v, path, "phantom", &error));
  g_assert_no_error (error);
  return path;
}

static void
test_json (void)
{
  double c[3][3], r[3];
  g_autofree char *in = write_phantom (c, r);
  g_autofree char *out_path = kiln_test_tmpfile ("labels.mrc");
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelVolume) labels = NULL;
  JsonObject *root;
  JsonArray *parts;
  int status;

  status = kiln_test_run_cli (&out, &err, "segment", in, out_path, "--threshold", "otsu",
                              "--erode", "1", "--dilate", "1", "--json", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  /* Otsu between background 0.1 and particles 1.0 */
  g_assert_cmpfloat (json_object_get_double_member (root, "threshold"), >, 0.1);
  g_assert_cmpfloat (json_object_get_double_member (root, "threshold"), <, 1.0);
  parts = json_object_get_array_member (root, "particles");
  g_assert_cmpuint (json_array_get_length (parts), ==, 3);
  for (int i = 0; i < 3; i++)
    {
      gboolean found = FALSE;
      for (guint k = 0; k < 3; k++)
        {
          JsonObject *p = json_array_get_object_element (parts, k);
          JsonArray *cn = json_object_get_array_member (p, "centre_nm");
          double dx = json_array_get_double_element (cn, 0) - 2 * c[i][0];
          double dy = json_array_get_double_element (cn, 1) - 2 * c[i][1];
          double dz = json_array_get_double_element (cn, 2) - 2 * c[i][2];
          g_assert_true (json_object_has_member (p, "label"));
          g_assert_cmpint (json_object_get_int_member (p, "voxels"), >, 0);
          /* the separate sphere: centre within 1 voxel (2 nm), radius within 0.5 voxel
           * (opening with the radius-1 ball trims a few corner voxels) */
          if (sqrt (dx * dx + dy * dy + dz * dz) < 2.0 && i == 2)
            {
              g_assert_cmpfloat (fabs (json_object_get_double_member (p, "radius_nm") - 2 * r[i]),
                                 <=, 1.0);
              found = TRUE;
            }
          /* the touching ones: centres of the halves within 1.5 voxels of the sphere centres
           * (the cut at the neck moves each centre of mass away from it by ≈ 0.5 voxel) */
          if (sqrt (dx * dx + dy * dy + dz * dz) < 3.0 && i < 2)
            found = TRUE;
        }
      g_assert_true (found);
    }
  labels = kiln_mrc_load_labels (out_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_label_volume_max_label (labels), ==, 3);
  g_assert_cmpfloat_with_epsilon (labels->voxel_size_nm, 2.0, 1e-6);
}

static void
test_manual_and_human (void)
{
  double c[3][3], r[3];
  g_autofree char *in = write_phantom (c, r);
  g_autofree char *out_path = kiln_test_tmpfile ("labels2.mrc");
  g_autofree char *out = NULL, *err = NULL;
  int status;

  /* a manual threshold between the levels (0.1, 1.0): the same three particles, human summary */
  status = kiln_test_run_cli (&out, &err, "segment", in, out_path, "--threshold", "0.55", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "3 particles"));
  g_assert_true (g_file_test (out_path, G_FILE_TEST_EXISTS));
}

static void
test_errors (void)
{
  g_autofree char *out_path = kiln_test_tmpfile ("never.mrc");
  g_autofree char *bad = kiln_test_tmpfile ("bad.mrc");
  double c[3][3], r[3];
  g_autofree char *in = write_phantom (c, r);
  char *out = NULL, *err = NULL;

  g_assert_cmpint (kiln_test_run_cli (&out, &err, "segment", in, NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "segment", in, out_path, "--threshold", "abc",
                                      NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--threshold"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "segment", in, out_path, "--erode", "-1",
                                      NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  kiln_test_write_bytes (bad, "not an mrc file at all", 22);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "segment", bad, out_path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "bad.mrc"));
  g_assert_false (g_file_test (out_path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "segment", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--erode"));
  g_free (out);
  g_free (err);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/segment/json", test_json);
  g_test_add_func ("/cli/segment/manual", test_manual_and_human);
  g_test_add_func ("/cli/segment/errors", test_errors);
  return g_test_run ();
}
