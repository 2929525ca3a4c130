/* test-cli-info.c — kiln-cli info: the --json contract, human output, exit codes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <tiffio.h>

#include "kiln-test-util.h"

/* Runs kiln-cli with stdout and stderr captured (an inherited stdout would corrupt TAP). */
#define RUN_QUIET(...) __extension__ ({                                  \
    g_autofree char *q_out_ = NULL;                                      \
    g_autofree char *q_err_ = NULL;                                      \
    kiln_test_run_cli (&q_out_, &q_err_, __VA_ARGS__);                   \
  })

/* Where output we do not look at goes; freed on the next use. */
static char **
junk_slot (void)
{
  static char *junk;

  g_clear_pointer (&junk, g_free);
  return &junk;
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

static JsonObject *
info_json (const char *path,
           const char *angles)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int rc;

  if (angles != NULL)
    rc = kiln_test_run_cli (&out, &err, "info", path, "--json", "--angles", angles, NULL);
  else
    rc = kiln_test_run_cli (&out, &err, "info", path, "--json", NULL);
  if (rc != 0)
    g_error ("kiln-cli info %s failed (%d): %s", path, rc, err);
  return parse_object (out);
}

/* The needle TIFF: 91 tilts of 64 × 64 float32, 513 … 39459; the mean is computed here from
 * the pixels read by libtiff directly (double sum; compared to 1e-9 relative). */
static void
test_needle_tiff (void)
{
  g_autofree char *path = kiln_test_shared_path ("data/etspy-needle-haadf/stack.tif");
  g_autofree char *tlt = kiln_test_shared_path ("data/etspy-needle-haadf/angles.tlt");
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(JsonObject) oa = NULL;
  JsonArray *angles;
  double sum = 0.0;
  gsize count = 0;
  TIFF *tif;

  if (path == NULL || tlt == NULL)
    {
      g_test_skip ("../shared/data/etspy-needle-haadf not available");
      return;
    }
  tif = TIFFOpen (path, "r");
  g_assert_nonnull (tif);
  do
    {
      float row[64];
      for (guint y = 0; y < 64; y++)
        {
          g_assert_cmpint (TIFFReadScanline (tif, row, y, 0), ==, 1);
          for (guint x = 0; x < 64; x++)
            sum += row[x];
          count += 64;
        }
    }
  while (TIFFReadDirectory (tif));
  TIFFClose (tif);
  g_assert_cmpuint (count, ==, 91 * 64 * 64);

  o = info_json (path, NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "TIFF");
  g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 91);
  g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 64);
  g_assert_cmpint (json_object_get_int_member (o, "height"), ==, 64);
  g_assert_cmpint (json_object_get_int_member (o, "depth"), ==, 91);
  g_assert_cmpstr (json_object_get_string_member (o, "dtype"), ==, "float32");
  g_assert_true (json_object_get_null_member (o, "pixel_size_nm"));
  g_assert_true (json_object_get_null_member (o, "angles_deg"));
  g_assert_cmpfloat (json_object_get_double_member (o, "min"), ==, 513.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "max"), ==, 39459.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "mean"), sum / count,
                                  1e-9 * sum / count);

  oa = info_json (path, tlt);
  angles = json_object_get_array_member (oa, "angles_deg");
  g_assert_nonnull (angles);
  g_assert_cmpuint (json_array_get_length (angles), ==, 91);
  for (guint i = 0; i < 91; i++)   /* the .tlt file holds −90 … 90 in 2° steps */
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (angles, i),
                                    -90.0 + 2.0 * i, 1e-9);
}

/* The DM3 original: uint16 data, pixel size 18.0 nm (0.017995 µm) and angles from the tags. */
static void
test_needle_dm3 (void)
{
  g_autofree char *path = kiln_test_shared_path ("data/etspy-needle-haadf/HAADF.dm3");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonObject) o = NULL;
  JsonArray *angles;
  int rc;

  if (path == NULL)
    {
      g_test_skip ("../shared/data/etspy-needle-haadf not available");
      return;
    }
  rc = kiln_test_run_cli (&out, &err, "info", path, "--json", NULL);
  if (rc == 1 && strstr (err, "not available in this build") != NULL)
    {
      g_test_skip ("the DM3/DM4 reader is not in this build");
      return;
    }
  g_assert_cmpint (rc, ==, 0);
  o = parse_object (out);
  g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "DM3");
  g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 91);
  g_assert_cmpstr (json_object_get_string_member (o, "dtype"), ==, "uint16");
  /* README: 0.017995 µm; the calibration is float32 */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "pixel_size_nm"), 17.995,
                                  1e-3);
  angles = json_object_get_array_member (o, "angles_deg");
  g_assert_cmpuint (json_array_get_length (angles), ==, 91);
  g_assert_cmpfloat_with_epsilon (json_array_get_double_element (angles, 0), -90.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (json_array_get_double_element (angles, 90), 90.0, 1e-6);
  g_assert_cmpfloat (json_object_get_double_member (o, "min"), ==, 513.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "max"), ==, 39459.0);
}

/* An MRC file written here with known values: 0, 1, …, n−1 (mean (n−1)/2, exact). */
static void
test_mrc (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (3, 20, 10, &error);
  g_autofree char *path = kiln_test_tmpfile ("info.mrc");
  g_autofree char *out = NULL;
  g_autoptr(JsonObject) o = NULL;

  for (guint i = 0; i < 600; i++)
    s->data[i] = (float) i;
  s->pixel_size_nm = 1.04;
  g_assert_true (kiln_mrc_save_stack (s, path, "cli test", &error));
  o = info_json (path, NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "MRC");
  g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 20);
  g_assert_cmpint (json_object_get_int_member (o, "height"), ==, 10);
  g_assert_cmpint (json_object_get_int_member (o, "depth"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (o, "dtype"), ==, "float32");
  g_assert_cmpint (json_object_get_int_member (o, "mrc_mode"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (o, "label"), ==, "cli test");
  /* float32 header: 1e-6 relative */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "pixel_size_nm"), 1.04, 1e-6);
  g_assert_cmpfloat (json_object_get_double_member (o, "min"), ==, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "max"), ==, 599.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "mean"), 299.5, 1e-9);

  /* human summary */
  g_assert_cmpint (kiln_test_run_cli (&out, junk_slot (), "info", path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "3 images of 20 × 10 pixels, float32"));
  g_assert_nonnull (strstr (out, "1.04 nm"));
}

/* An int16 TIFF: dtype from the file, values unchanged. */
static void
test_tiff_int16 (void)
{
  g_autofree char *path = kiln_test_tmpfile ("i16.tif");
  g_autoptr(JsonObject) o = NULL;
  TIFF *tif = TIFFOpen (path, "w");
  gint16 row[5] = { -300, -2, 0, 7, 1200 };

  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, 5);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, 1);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField (tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_INT);
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFWriteScanline (tif, row, 0, 0);
  TIFFClose (tif);
  o = info_json (path, NULL);
  g_assert_cmpstr (json_object_get_string_member (o, "dtype"), ==, "int16");
  g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (o, "min"), ==, -300.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "max"), ==, 1200.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "mean"), 181.0, 1e-9);
}

static void
test_exit_codes (void)
{
  g_autofree char *text = kiln_test_tmpfile ("notes.txt");
  g_autofree char *missing = kiln_test_tmpfile ("missing.tif");
  g_autofree char *mrc = kiln_test_tmpfile ("codes.mrc");
  g_autofree char *tlt = kiln_test_tmpfile ("two.tlt");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (3, 4, 4, &error);

  g_assert_true (kiln_mrc_save_stack (s, mrc, NULL, &error));
  kiln_test_write_bytes (text, "not an image\n", 13);
  kiln_test_write_bytes (tlt, "-10\n10\n", 7);

  /* usage errors: 2 */
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "info", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "FILE"));
  g_assert_cmpint (RUN_QUIET ("info", mrc, mrc, NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET ("info", "--no-such-option", mrc, NULL), ==, 2);

  /* help: 0 */
  g_assert_cmpint (kiln_test_run_cli (&out, junk_slot (), "info", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--json"));

  /* runtime errors: 1, message names the file */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "info", missing, NULL), ==, 1);
  g_assert_nonnull (strstr (err, missing));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "info", text, "--json", NULL), ==, 1);
  g_assert_nonnull (strstr (err, text));

  /* angle count ≠ tilt count: 1, both files named */
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "info", mrc, "--angles", tlt, NULL), ==, 1);
  g_assert_nonnull (strstr (err, tlt));
  g_assert_nonnull (strstr (err, mrc));
  g_assert_nonnull (strstr (err, "2 tilt angles"));
  g_assert_cmpstr (out, ==, "");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/info/needle-tiff", test_needle_tiff);
  g_test_add_func ("/cli/info/needle-dm3", test_needle_dm3);
  g_test_add_func ("/cli/info/mrc", test_mrc);
  g_test_add_func ("/cli/info/tiff-int16", test_tiff_int16);
  g_test_add_func ("/cli/info/exit-codes", test_exit_codes);
  return g_test_run ();
}
