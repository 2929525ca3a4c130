/* test-cli-align.c — the kiln-cli align contract: options, --json keys, .xf output, exit codes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "../core/align-phantom.h"

#define N_TILTS 7

static const double truth[N_TILTS][2] = {
  { 1.5, -2 }, { 0.3, 4.2 }, { -3, 1 }, { 0, 0 }, { 5.5, 2.5 }, { 2.25, -6 }, { -1, 0.75 }
};

/* Seven "tilts" (−3 … 3°, negligible foreshortening) of one blob pattern, tilt k's content moved
 * by truth[k]; tilt 3 (0°) is not moved. */
static void
write_series (const char *tif,
              const char *tlt)
{
  const guint w = 96, h = 80;
  const double id[4] = { 1, 0, 0, 1 };
  double angles[N_TILTS];
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (N_TILTS, w, h, NULL);
  g_autoptr(GError) error = NULL;
  BlobPattern pat;

  blob_pattern_init (&pat, 30, w, h, 13);
  for (guint k = 0; k < N_TILTS; k++)
    {
      blob_pattern_render (&pat, kiln_image_stack_tilt (st, k), w, h, id, truth[k][0],
                           truth[k][1]);
      angles[k] = -3.0 + k;
    }
  g_assert_true (kiln_tiff_save_stack (st, tif, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_tlt_save (tlt, angles, N_TILTS, &error));
  g_assert_no_error (error);
}

/* --json: shifts_px per tilt is the translation that aligns it: −truth (tolerance 0.05 px,
 * clean images); method is echoed; the .xf file holds the same shifts; the output stack has the
 * input's geometry. */
static void
test_json_and_xf (void)
{
  g_autofree char *tif = kiln_test_tmpfile ("series.tif");
  g_autofree char *tlt = kiln_test_tmpfile ("series.tlt");
  g_autofree char *out = kiln_test_tmpfile ("aligned.mrc");
  g_autofree char *xf = kiln_test_tmpfile ("series.xf");
  const char *methods[] = { "xcorr", "mi" };

  write_series (tif, tlt);
  for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
    {
      g_autofree char *stdout_text = NULL;
      g_autofree char *stderr_text = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnImageStack) aligned = NULL;
      g_autofree KilnXf *xfs = NULL;
      JsonObject *root;
      JsonArray *shifts;
      guint n_xf = 0;
      int rc;

      rc = kiln_test_run_cli (&stdout_text, &stderr_text, "align", tif, out, "--angles", tlt,
                              "--method", methods[m], "--xf", xf, "--json", NULL);
      g_assert_cmpint (rc, ==, 0);
      g_assert_true (json_parser_load_from_data (parser, stdout_text, -1, &error));
      g_assert_no_error (error);
      root = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpstr (json_object_get_string_member (root, "method"), ==, methods[m]);
      g_assert_false (json_object_has_member (root, "rotation_deg"));
      /* method mi says whether it kept the cosine stretch: not for these unforeshortened tilts */
      g_assert_true (json_object_has_member (root, "mi_stretched") == (m == 1));
      if (m == 1)
        g_assert_false (json_object_get_boolean_member (root, "mi_stretched"));
      /* seven tilts over 6°: too narrow a span for the specimen frame */
      g_assert_false (json_object_get_boolean_member (root, "specimen_frame"));
      shifts = json_object_get_array_member (root, "shifts_px");
      g_assert_cmpuint (json_array_get_length (shifts), ==, N_TILTS);
      xfs = kiln_xf_load (xf, &n_xf, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n_xf, ==, N_TILTS);
      for (guint k = 0; k < N_TILTS; k++)
        {
          JsonArray *s = json_array_get_array_element (shifts, k);
          double dx = json_array_get_double_element (s, 0), dy = json_array_get_double_element (s, 1);
          g_assert_cmpfloat (fabs (dx + truth[k][0]), <, 0.05);
          g_assert_cmpfloat (fabs (dy + truth[k][1]), <, 0.05);
          g_assert_cmpfloat (fabs (xfs[k].dx - dx), <, 1e-4);
          g_assert_cmpfloat (fabs (xfs[k].dy - dy), <, 1e-4);
        }
      aligned = kiln_mrc_load_stack (out, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (aligned->n_tilts, ==, N_TILTS);
      g_assert_cmpuint (aligned->width, ==, 96);
      g_assert_cmpuint (aligned->height, ==, 80);
    }

  /* start from the previous .xf (a later time point): same shifts, with rotation estimated */
  {
    g_autofree char *stdout_text = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *root;
    JsonArray *shifts, *rot;
    int rc = kiln_test_run_cli (&stdout_text, NULL, "align", tif, out, "--angles", tlt,
                                "--start-xf", xf, "--rotation", "--json", NULL);
    g_assert_cmpint (rc, ==, 0);
    g_assert_true (json_parser_load_from_data (parser, stdout_text, -1, NULL));
    root = json_node_get_object (json_parser_get_root (parser));
    shifts = json_object_get_array_member (root, "shifts_px");
    rot = json_object_get_array_member (root, "rotation_deg");
    g_assert_cmpuint (json_array_get_length (rot), ==, N_TILTS);
    for (guint k = 0; k < N_TILTS; k++)
      {
        JsonArray *s = json_array_get_array_element (shifts, k);
        /* no rotation in the data: the estimate stays near 0 (0.05°) */
        g_assert_cmpfloat (fabs (json_array_get_double_element (rot, k)), <, 0.05);
        g_assert_cmpfloat (fabs (json_array_get_double_element (s, 0) + truth[k][0]), <, 0.1);
        g_assert_cmpfloat (fabs (json_array_get_double_element (s, 1) + truth[k][1]), <, 0.1);
      }
  }
}

/* Usage errors exit 2, runtime errors exit 1 with a message naming the file; nothing is written
 * on failure. */
static void
test_errors (void)
{
  g_autofree char *tif = kiln_test_tmpfile ("series2.tif");
  g_autofree char *tlt = kiln_test_tmpfile ("series2.tlt");
  g_autofree char *bad_tlt = kiln_test_tmpfile ("short.tlt");
  g_autofree char *out = kiln_test_tmpfile ("never.mrc");
  g_autofree char *missing = kiln_test_tmpfile ("missing.tif");
  g_autofree char *err = NULL;
  double three[3] = { -1, 0, 1 };

  write_series (tif, tlt);
  g_assert_true (kiln_tlt_save (bad_tlt, three, 3, NULL));
  g_assert_cmpint (kiln_test_run_cli (NULL, &err, "align", tif, NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (NULL, &err, "align", tif, out, "--angles", tlt, "--method",
                                      "fourier", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "fourier"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (NULL, &err, "align", tif, out, "--angles", tlt,
                                      "--axis-angle", "abc", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (NULL, &err, "align", tif, out, "--angles", tlt,
                                      "--mi-stretch", "--no-mi-stretch", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--no-mi-stretch"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (NULL, &err, "align", missing, out, "--angles", tlt, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "missing.tif"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (NULL, &err, "align", tif, out, "--angles", bad_tlt, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "short.tlt"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  {
    g_autofree char *help = NULL;
    g_assert_cmpint (kiln_test_run_cli (&help, NULL, "align", "--help", NULL), ==, 0);
    g_assert_nonnull (strstr (help, "--axis-angle"));
    g_assert_nonnull (strstr (help, "--no-mi-stretch"));
    g_assert_nonnull (strstr (help, "--no-specimen-frame"));
  }
}

/* A DM3 input carries its own tilt angles, so --angles may be left out (the real needle series;
 * skipped when ../shared is absent): 91 shifts, the reference (0°, tilt 45) unmoved. */
static void
test_dm3_own_angles (void)
{
  g_autofree char *dm3 = kiln_test_shared_path ("data/etspy-needle-haadf/HAADF.dm3");
  g_autofree char *out = kiln_test_tmpfile ("needle.mrc");
  g_autofree char *stdout_text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *shifts, *s45;

  if (dm3 == NULL)
    {
      g_test_skip ("../shared/data/etspy-needle-haadf is absent");
      return;
    }
  g_assert_cmpint (kiln_test_run_cli (&stdout_text, NULL, "align", dm3, out, "--axis-angle", "90",
                                      "--method", "xcorr", "--json", NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, stdout_text, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  shifts = json_object_get_array_member (root, "shifts_px");
  g_assert_cmpuint (json_array_get_length (shifts), ==, 91);
  g_assert_cmpint (json_object_get_int_member (root, "reference_tilt"), ==, 45);
  s45 = json_array_get_array_element (shifts, 45);
  g_assert_cmpfloat (json_array_get_double_element (s45, 0), ==, 0.0);
  g_assert_cmpfloat (json_array_get_double_element (s45, 1), ==, 0.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/align/json-and-xf", test_json_and_xf);
  g_test_add_func ("/cli/align/errors", test_errors);
  g_test_add_func ("/cli/align/dm3-own-angles", test_dm3_own_angles);
  return g_test_run ();
}
