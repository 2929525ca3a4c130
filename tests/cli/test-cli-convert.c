/* test-cli-convert.c — kiln-cli convert: round trips between formats, angles, pixel size,
 * exit codes, nothing written on failure
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

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

static KilnImageStack *
make_stack (guint n,
            guint w,
            guint h)
{
  g_autoptr(GError) error = NULL;
  KilnImageStack *s = kiln_image_stack_new (n, w, h, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (s); i++)
    s->data[i] = sinf ((float) i * 0.01f) * 1000.0f + 17.0f;
  return s;
}

static void
assert_same_pixels (const KilnImageStack *a,
                    const KilnImageStack *b)
{
  g_assert_cmpuint (a->n_tilts, ==, b->n_tilts);
  g_assert_cmpuint (a->width, ==, b->width);
  g_assert_cmpuint (a->height, ==, b->height);
  g_assert_cmpmem (a->data, kiln_image_stack_n_pixels (a) * 4,
                   b->data, kiln_image_stack_n_pixels (b) * 4);   /* exact: float32 → float32 */
}

/* TIFF → MRC with --angles and --pixel-size; then MRC → TIFF; pixels exact throughout. */
static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = make_stack (5, 24, 16);
  g_autoptr(KilnImageStack) m = NULL;
  g_autoptr(KilnImageStack) t = NULL;
  g_autofree char *tif = kiln_test_tmpfile ("in.tif");
  g_autofree char *tlt = kiln_test_tmpfile ("in-angles.tlt");
  g_autofree char *mrc = kiln_test_tmpfile ("out.mrc");
  g_autofree char *mrc_tlt = kiln_test_tmpfile ("out.tlt");
  g_autofree char *tif2 = kiln_test_tmpfile ("back.tiff");
  g_autofree char *tif2_tlt = kiln_test_tmpfile ("back.tlt");
  g_autofree char *out = NULL;
  g_autofree double *angles = NULL;
  const double in_angles[5] = { -60, -30, 0, 30, 60 };
  guint n;

  g_assert_true (kiln_tiff_save_stack (s, tif, &error));
  g_assert_true (kiln_tlt_save (tlt, in_angles, 5, &error));

  g_assert_cmpint (kiln_test_run_cli (&out, junk_slot (), "convert", tif, mrc, "--angles", tlt,
                                      "--pixel-size", "2.5", NULL), ==, 0);
  g_assert_nonnull (strstr (out, mrc));
  g_assert_cmpint (kiln_file_format_detect (mrc), ==, KILN_FILE_FORMAT_MRC);
  m = kiln_mrc_load_stack (mrc, NULL, &error);
  g_assert_no_error (error);
  assert_same_pixels (m, s);
  g_assert_cmpfloat_with_epsilon (m->pixel_size_nm, 2.5, 1e-6);   /* float32 header */
  angles = kiln_tlt_load (mrc_tlt, &n, &error);   /* written next to OUT */
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpfloat (angles[i], ==, in_angles[i]);

  /* and back to TIFF, with --json; the pixel size travels in the MRC header */
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *o;
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (kiln_test_run_cli (&out, junk_slot (), "convert", mrc, tif2, "--angles", mrc_tlt,
                                        "--json", NULL), ==, 0);
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    o = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "TIFF");
    g_assert_cmpstr (json_object_get_string_member (o, "output"), ==, tif2);
    g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 5);
    g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 24);
    g_assert_cmpint (json_object_get_int_member (o, "height"), ==, 16);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "pixel_size_nm"), 2.5,
                                    1e-6);
    g_assert_cmpstr (json_object_get_string_member (o, "angles_file"), ==, tif2_tlt);
  }
  t = kiln_tiff_load_stack (tif2, NULL, &error);
  g_assert_no_error (error);
  assert_same_pixels (t, s);
  g_assert_cmpfloat_with_epsilon (t->pixel_size_nm, 2.5, 1e-6);
  g_assert_true (g_file_test (tif2_tlt, G_FILE_TEST_EXISTS));
}

/* Without angles no .tlt is written. */
static void
test_no_angles (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = make_stack (2, 8, 8);
  g_autofree char *in = kiln_test_tmpfile ("plain.mrc");
  g_autofree char *out = kiln_test_tmpfile ("plain-out.tif");
  g_autofree char *tlt = kiln_test_tmpfile ("plain-out.tlt");
  g_autofree char *err = NULL;

  g_assert_true (kiln_mrc_save_stack (s, in, NULL, &error));
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "convert", in, out, NULL), ==, 0);
  g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tlt, G_FILE_TEST_EXISTS));
  /* no pixel size: said on stderr */
  g_assert_nonnull (strstr (err, "--pixel-size"));
}

/* DM3 → TIFF: the same pixels as the shared stack.tif, angles from the DM tags. */
static void
test_dm3 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dm3 = kiln_test_shared_path ("data/etspy-needle-haadf/HAADF.dm3");
  g_autofree char *ref = kiln_test_shared_path ("data/etspy-needle-haadf/stack.tif");
  g_autofree char *out = kiln_test_tmpfile ("needle.tif");
  g_autofree char *tlt = kiln_test_tmpfile ("needle.tlt");
  g_autofree char *err = NULL;
  g_autoptr(KilnImageStack) a = NULL;
  g_autoptr(KilnImageStack) b = NULL;
  g_autofree double *angles = NULL;
  guint n;
  int rc;

  if (dm3 == NULL || ref == NULL)
    {
      g_test_skip ("../shared/data/etspy-needle-haadf not available");
      return;
    }
  rc = kiln_test_run_cli (junk_slot (), &err, "convert", dm3, out, NULL);
  if (rc == 1 && strstr (err, "not available in this build") != NULL)
    {
      g_test_skip ("the DM3/DM4 reader is not in this build");
      return;
    }
  g_assert_cmpint (rc, ==, 0);
  a = kiln_tiff_load_stack (out, NULL, &error);
  g_assert_no_error (error);
  b = kiln_tiff_load_stack (ref, NULL, &error);
  g_assert_no_error (error);
  assert_same_pixels (a, b);
  g_assert_cmpfloat_with_epsilon (a->pixel_size_nm, 17.995, 1e-3);
  angles = kiln_tlt_load (tlt, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 91);
  g_assert_cmpfloat_with_epsilon (angles[0], -90.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (angles[90], 90.0, 1e-6);
}

static void
test_exit_codes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = make_stack (3, 8, 8);
  g_autofree char *in = kiln_test_tmpfile ("codes.mrc");
  g_autofree char *trunc = kiln_test_tmpfile ("codes-trunc.mrc");
  g_autofree char *tlt = kiln_test_tmpfile ("codes.tlt");
  g_autofree char *out = kiln_test_tmpfile ("codes-out.tif");
  g_autofree char *keep = kiln_test_tmpfile ("keep.tif");
  g_autofree char *missing = kiln_test_tmpfile ("missing.mrc");
  g_autofree char *bad_ext = kiln_test_tmpfile ("codes-out.xyz");
  g_autofree char *err = NULL;
  g_autofree char *bytes = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize len, len_before, len_after;

  g_assert_true (kiln_mrc_save_stack (s, in, NULL, &error));
  g_assert_true (g_file_get_contents (in, &bytes, &len, NULL));
  kiln_test_write_bytes (trunc, bytes, len - 100);
  kiln_test_write_bytes (tlt, "1\n2\n", 4);

  /* usage errors: 2, nothing written */
  g_assert_cmpint (RUN_QUIET ("convert", in, NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET ("convert", NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET ("convert", in, out, "extra", NULL), ==, 2);
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "convert", in, bad_ext, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "output format"));
  g_assert_false (g_file_test (bad_ext, G_FILE_TEST_EXISTS));
  g_assert_cmpint (RUN_QUIET ("convert", in, out, "--pixel-size", "-1",
                                      NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET ("convert", in, out, "--pixel-size", "abc",
                                      NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET ("convert", in, out, "--bogus", NULL), ==, 2);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_cmpint (RUN_QUIET ("convert", "--help", NULL), ==, 0);

  /* runtime errors: 1, the message names the file, nothing written */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "convert", missing, out, NULL), ==, 1);
  g_assert_nonnull (strstr (err, missing));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "convert", trunc, out, NULL), ==, 1);
  g_assert_nonnull (strstr (err, trunc));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* angle count ≠ tilt count: 1, an existing output stays as it was */
  g_assert_true (kiln_tiff_save_stack (s, keep, &error));
  g_assert_true (g_file_get_contents (keep, &before, &len_before, NULL));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (junk_slot (), &err, "convert", in, keep, "--angles", tlt, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, tlt));
  g_assert_nonnull (strstr (err, "2 tilt angles"));
  g_assert_nonnull (strstr (err, "3 tilts"));
  g_assert_true (g_file_get_contents (keep, &after, &len_after, NULL));
  g_assert_cmpmem (after, len_after, before, len_before);

  /* no temporary files are left behind by any of this */
  {
    g_autoptr(GDir) dir = g_dir_open (kiln_test_tmpdir (), 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_null (strstr (name, ".tmp"));
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/convert/round-trip", test_round_trip);
  g_test_add_func ("/cli/convert/no-angles", test_no_angles);
  g_test_add_func ("/cli/convert/dm3", test_dm3);
  g_test_add_func ("/cli/convert/exit-codes", test_exit_codes);
  return g_test_run ();
}
