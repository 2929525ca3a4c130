/* test-cli-tilt-axis.c — the kiln-cli tilt-axis contract
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "kiln-test-util.h"
#include "tilt-axis-phantom.h"

static char *series_path, *tlt_path;
static const double true_angle = 92.5, true_shift = -11.0;

/* A synthetic series of spheres, 96² px, ±60° in 4° steps, horizontal-ish axis. */
static void
make_series (void)
{
  const guint n = 31;
  g_autofree double *angles = phantom_angles (-60, 4, n);
  PhantomSphere spheres[12];
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(KilnImageStack) stack = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (spheres); i++)
    {
      spheres[i].x = g_rand_double_range (rand, -16, 16);
      spheres[i].y = g_rand_double_range (rand, -36, 36);
      spheres[i].z = g_rand_double_range (rand, -10, 10);
      spheres[i].r = g_rand_double_range (rand, 2.5, 5);
      spheres[i].density = g_rand_double_range (rand, 0.5, 1.0);
    }
  stack = phantom_project (spheres, G_N_ELEMENTS (spheres), angles, n, 96, 96, true_angle,
                           true_shift);
  series_path = kiln_test_tmpfile ("series.tif");
  tlt_path = kiln_test_tmpfile ("series.tlt");
  g_assert_true (kiln_io_save_stack (stack, series_path, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_tlt_save (tlt_path, angles, n, &error));
  g_assert_no_error (error);
}

static void
test_json (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *prefix = kiln_test_tmpfile ("preview");
  g_autofree char *png0 = g_strdup_printf ("%s-0.png", prefix);
  g_autofree char *png_bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *o;
  JsonArray *curve;
  int rc;
  gsize len;
  double best_score = 0, best_shift = NAN;

  rc = kiln_test_run_cli (&out, &err, "tilt-axis", series_path, "--angles", tlt_path,
                          "--axis-angle", "91", "--slices", "5", "--preview-png", prefix,
                          "--json", NULL);
  g_assert_cmpint (rc, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  /* contract keys; tolerances of issue 7: 0.3° and 0.5 px */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "axis_angle_deg"),
                                  true_angle, 0.3);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "axis_shift_px"),
                                  true_shift, 0.5);
  g_assert_cmpfloat (json_object_get_double_member (o, "confidence"), >, 0.1);
  g_assert_cmpfloat (json_object_get_double_member (o, "confidence"), <=, 1.0);
  curve = json_object_get_array_member (o, "curve");
  g_assert_cmpuint (json_array_get_length (curve), >=, 5);
  for (guint j = 0; j < json_array_get_length (curve); j++)
    {
      JsonArray *pt = json_array_get_array_element (curve, j);

      g_assert_cmpuint (json_array_get_length (pt), ==, 2);
      if (json_array_get_double_element (pt, 1) > best_score)
        {
          best_score = json_array_get_double_element (pt, 1);
          best_shift = json_array_get_double_element (pt, 0);
        }
    }
  /* the curve peaks (score 1) within one coarse step of the suggestion */
  g_assert_cmpfloat_with_epsilon (best_score, 1.0, 1e-9);
  g_assert_cmpfloat (fabs (best_shift - true_shift), <=, 1.5);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "previews")), ==, 5);
  /* previews are PNG files */
  g_assert_true (g_file_get_contents (png0, &png_bytes, &len, NULL));
  g_assert_cmpuint (len, >, 8);
  g_assert_cmpmem (png_bytes, 8, "\x89PNG\r\n\x1a\n", 8);
}

static void
test_human (void)
{
  g_autofree char *out = NULL, *err = NULL;
  int rc;

  rc = kiln_test_run_cli (&out, &err, "tilt-axis", series_path, "--angles", tlt_path,
                          "--axis-angle", "92.5", "--fix-angle", "--slices", "3", NULL);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (strstr (out, "angle  92.50°"));
  g_assert_nonnull (strstr (out, "shift"));
}

static void
test_errors (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *one_path = kiln_test_tmpfile ("one.tif");
  g_autofree char *one_tlt = kiln_test_tmpfile ("one.tlt");
  g_autofree char *bad_tlt = kiln_test_tmpfile ("bad.tlt");
  g_autoptr(KilnImageStack) one = kiln_image_stack_new (1, 32, 32, NULL);
  g_autoptr(GError) error = NULL;
  double a0 = 0, two[2] = { -10, 10 };
  int rc;

  g_assert_true (kiln_io_save_stack (one, one_path, &error));
  g_assert_true (kiln_tlt_save (one_tlt, &a0, 1, &error));
  g_assert_true (kiln_tlt_save (bad_tlt, two, 2, &error));

  /* single tilt: runtime error naming the problem */
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", one_path, "--angles", one_tlt, NULL);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (err, "only 1 tilt"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* angle count ≠ tilt count */
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", series_path, "--angles", bad_tlt, NULL);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (err, "bad.tlt"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* missing file */
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", "/nonexistent/x.tif", "--angles", tlt_path,
                          NULL);
  g_assert_cmpint (rc, ==, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* usage errors */
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", NULL);
  g_assert_cmpint (rc, ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", series_path, "--slices", "0", NULL);
  g_assert_cmpint (rc, ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", series_path, "--score", "magic", NULL);
  g_assert_cmpint (rc, ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", series_path, "--fix-angle", NULL);
  g_assert_cmpint (rc, ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  rc = kiln_test_run_cli (&out, &err, "tilt-axis", "--help", NULL);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (strstr (out, "--axis-angle"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_series ();
  g_test_add_func ("/cli/tilt-axis/json", test_json);
  g_test_add_func ("/cli/tilt-axis/human", test_human);
  g_test_add_func ("/cli/tilt-axis/errors", test_errors);
  return g_test_run ();
}
