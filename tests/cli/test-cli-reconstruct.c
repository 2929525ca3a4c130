/* test-cli-reconstruct.c — the `kiln-cli reconstruct` contract
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "kiln-test-util.h"

#define N 48
#define NY 8
#define NT 36
#define R 12.0

static char *series_path, *tlt_path, *short_tlt_path;

/* A ball of radius R (density 1) at the centre, as analytic chord lengths, 36 tilts over 180°,
 * pixel size 2.5 nm, written as MRC + .tlt. */
static void
make_inputs (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnImageStack) st = kiln_image_stack_new (NT, N, NY, &error);
  double angles[NT];

  g_assert_no_error (error);
  for (guint k = 0; k < NT; k++)
    angles[k] = -90.0 + 5.0 * k;
  kiln_image_stack_set_angles (st, angles, NT, &error);
  g_assert_no_error (error);
  st->pixel_size_nm = 2.5;
  for (guint k = 0; k < NT; k++)
    for (guint y = 0; y < NY; y++)
      for (guint u = 0; u < N; u++)
        {
          double du = u - (N - 1) / 2.0, dy = y - (NY - 1) / 2.0;
          double q = R * R - du * du - dy * dy;
          kiln_image_stack_tilt (st, k)[y * N + u] = q > 0 ? (float) (2.0 * sqrt (q)) : 0.0f;
        }
  series_path = kiln_test_tmpfile ("series.mrc");
  tlt_path = kiln_test_tmpfile ("series.tlt");
  short_tlt_path = kiln_test_tmpfile ("short.tlt");
  g_assert_true (kiln_mrc_save_stack (st, series_path, "test", &error));
  g_assert_true (kiln_tlt_save (tlt_path, angles, NT, &error));
  g_assert_true (kiln_tlt_save (short_tlt_path, angles, NT - 1, &error));
  g_assert_no_error (error);
}

static JsonObject *
parse_json (const char *text,
            JsonParser **parser)
{
  g_autoptr (GError) error = NULL;

  *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (*parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (*parser));
}

static void
test_wbp_json (void)
{
  g_autofree char *out = kiln_test_tmpfile ("wbp.mrc"), *stdout_ = NULL, *stderr_ = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (KilnVolume) vol = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *o;
  int rc;
  double centre = 0.0;

  rc = kiln_test_run_cli (&stdout_, &stderr_, "reconstruct", series_path, out, "--angles", tlt_path,
                          "--method", "wbp", "--thickness", "40", "--json", NULL);
  g_assert_cmpint (rc, ==, 0);
  o = parse_json (stdout_, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "wbp");
  g_assert_cmpint (json_object_get_int_member (o, "iterations_done"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (o, "seconds"), >=, 0.0);
  g_assert_cmpstr (json_object_get_string_member (o, "output"), ==, out);
  /* WBP of a full 180° set reproduces the data to within 10 % (relative residual; 36 tilts) */
  g_assert_cmpfloat (json_object_get_double_member (o, "residual"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "residual"), <, 0.10);

  vol = kiln_mrc_load_volume (out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vol->nx, ==, N);
  g_assert_cmpuint (vol->ny, ==, NY);
  g_assert_cmpuint (vol->nz, ==, 40);
  g_assert_cmpfloat_with_epsilon (vol->voxel_size_nm, 2.5, 1e-4);
  /* centre of the ball: density 1 (object units); 180° WBP is within 5 % there */
  for (guint z = 18; z < 22; z++)
    for (guint x = 22; x < 26; x++)
      centre += KILN_VOXEL (vol, x, NY / 2, z) / 16.0;
  g_test_message ("WBP centre value %.3f (truth 1)", centre);
  g_assert_cmpfloat (fabs (centre - 1.0), <, 0.05);
}

static void
test_iser_slices (void)
{
  g_autofree char *out = kiln_test_tmpfile ("iser.mrc"), *stdout_ = NULL, *stderr_ = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (KilnVolume) vol = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *o;
  int rc;

  rc = kiln_test_run_cli (&stdout_, &stderr_, "reconstruct", series_path, out, "--angles", tlt_path,
                          "--method", "iser", "--iterations", "30", "--application-times", "1x2",
                          "--sensitivity", "1", "--axis-shift", "0.5", "--axis-angle", "0",
                          "--slices", "2:6", "--json", NULL);
  g_assert_cmpint (rc, ==, 0);
  o = parse_json (stdout_, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "iser");
  g_assert_cmpint (json_object_get_int_member (o, "iterations_done"), ==, 30);
  /* 30 iterations fit the noise-free data to better than 10 % */
  g_assert_cmpfloat (json_object_get_double_member (o, "residual"), <, 0.10);
  vol = kiln_mrc_load_volume (out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vol->ny, ==, 4);
  g_assert_cmpuint (vol->nz, ==, N);
}

static void
test_errors (void)
{
  g_autofree char *out = kiln_test_tmpfile ("bad.mrc");
  char *stderr_ = NULL;
  int rc;

  /* angle count ≠ tilt count: runtime error naming both files */
  rc = kiln_test_run_cli (NULL, &stderr_, "reconstruct", series_path, out, "--angles",
                          short_tlt_path, NULL);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (stderr_, "35 tilt angles"));
  g_assert_nonnull (strstr (stderr_, "36 tilts"));
  g_clear_pointer (&stderr_, g_free);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* an axis shift beyond the image */
  rc = kiln_test_run_cli (NULL, &stderr_, "reconstruct", series_path, out, "--angles", tlt_path,
                          "--axis-shift", "30", NULL);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (stderr_, "shift"));
  g_clear_pointer (&stderr_, g_free);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* usage errors */
  rc = kiln_test_run_cli (NULL, &stderr_, "reconstruct", series_path, out, "--angles", tlt_path,
                          "--method", "fbp", NULL);
  g_assert_cmpint (rc, ==, 2);
  g_clear_pointer (&stderr_, g_free);
  rc = kiln_test_run_cli (NULL, &stderr_, "reconstruct", series_path, out, NULL);
  g_assert_cmpint (rc, ==, 2);
  g_assert_nonnull (strstr (stderr_, "--angles"));
  g_clear_pointer (&stderr_, g_free);
  rc = kiln_test_run_cli (NULL, &stderr_, "reconstruct", series_path, out, "--angles", tlt_path,
                          "--application-times", "2by3", NULL);
  g_assert_cmpint (rc, ==, 2);
  g_clear_pointer (&stderr_, g_free);
  /* slices outside the image: runtime error from the core, nothing written */
  rc = kiln_test_run_cli (NULL, &stderr_, "reconstruct", series_path, out, "--angles", tlt_path,
                          "--slices", "4:20", NULL);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (stderr_, "4:20"));
  g_clear_pointer (&stderr_, g_free);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_inputs ();
  g_test_add_func ("/cli/reconstruct/wbp-json", test_wbp_json);
  g_test_add_func ("/cli/reconstruct/iser-slices", test_iser_slices);
  g_test_add_func ("/cli/reconstruct/errors", test_errors);
  return g_test_run ();
}
