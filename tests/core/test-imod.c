/* test-imod.c — IMOD .tlt/.rawtlt and .xf files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <string.h>

#include "kiln-test-util.h"

#define assert_error_names(err, dom, code, path) G_STMT_START {                          \
    g_assert_error ((err), (dom), (code));                                               \
    if (strstr ((err)->message, (path)) == NULL)                                         \
      g_error ("message “%s” does not name the file %s", (err)->message, (path));        \
  } G_STMT_END

static void
test_tlt_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("a.tlt");
  g_autofree double *back = NULL;
  double angles[41];
  guint n = 0;

  for (int i = 0; i < 41; i++)
    angles[i] = -40.0 + 2.0 * i + (i == 7 ? 0.123456789 : 0.0);
  g_assert_true (kiln_tlt_save (path, angles, 41, &error));
  g_assert_no_error (error);
  back = kiln_tlt_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 41);
  for (int i = 0; i < 41; i++)   /* written with 12 significant digits: ≤ 1e-9° for angles ≤ 180° */
    g_assert_cmpfloat_with_epsilon (back[i], angles[i], 1e-9);
}

/* IMOD's own style: "%.2f" with leading blanks, CRLF, blank lines, a .rawtlt name. */
static void
test_tlt_imod_style (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("b.rawtlt");
  const char text[] = "  -60.00\r\n  -58.50\r\n\r\n   0.00\n   1.5e1\n\n   60.00   \n";
  g_autofree double *a = NULL;
  guint n = 0;

  kiln_test_write_bytes (path, text, strlen (text));
  a = kiln_tlt_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpfloat (a[0], ==, -60.0);
  g_assert_cmpfloat (a[1], ==, -58.5);
  g_assert_cmpfloat (a[2], ==, 0.0);
  g_assert_cmpfloat (a[3], ==, 15.0);
  g_assert_cmpfloat (a[4], ==, 60.0);
}

/* The shared needle angles: 91 angles, −90 … +90° in 2° steps. */
static void
test_tlt_needle (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_shared_path ("data/etspy-needle-haadf/angles.tlt");
  g_autofree double *a = NULL;
  guint n = 0;

  if (path == NULL)
    {
      g_test_skip ("../shared/data/etspy-needle-haadf/angles.tlt not available");
      return;
    }
  a = kiln_tlt_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 91);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (a[i], -90.0 + 2.0 * i, 1e-9);
}

static void
test_tlt_bad (void)
{
  static const struct { const char *text; int code; const char *where; } cases[] = {
    { "10\n20\nabc\n", KILN_ERROR_FORMAT, ":3:" },
    { "10\n\n20 30\n", KILN_ERROR_FORMAT, ":3:" },
    { "10\n200\n", KILN_ERROR_INVALID_DATA, ":2:" },
    { "nan\n", KILN_ERROR_INVALID_DATA, ":1:" },
    { "1,5\n", KILN_ERROR_FORMAT, ":1:" },
    { "\n  \n", KILN_ERROR_INVALID_DATA, "no tilt angles" },
    { "\x01\x02\x00\x04", KILN_ERROR_FORMAT, "binary" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = kiln_test_tmpfile ("bad.tlt");
      guint n = 99;
      gsize len = i == 6 ? 4 : strlen (cases[i].text);

      kiln_test_write_bytes (path, cases[i].text, len);
      g_assert_null (kiln_tlt_load (path, &n, &error));
      assert_error_names (error, KILN_ERROR, cases[i].code, path);
      g_assert_nonnull (strstr (error->message, cases[i].where));
      g_assert_cmpuint (n, ==, 0);
    }

  {
    g_autoptr(GError) error = NULL;
    g_autofree char *path = kiln_test_tmpfile ("missing.tlt");
    guint n;
    g_assert_null (kiln_tlt_load (path, &n, &error));
    assert_error_names (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, path);
  }
}

static void
test_xf_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("a.xf");
  g_autofree KilnXf *back = NULL;
  KilnXf xf[3];
  guint n = 0;

  kiln_xf_identity (&xf[0]);
  g_assert_cmpfloat (xf[0].a11, ==, 1.0);
  g_assert_cmpfloat (xf[0].a22, ==, 1.0);
  g_assert_cmpfloat (xf[0].a12, ==, 0.0);
  g_assert_cmpfloat (xf[0].dx, ==, 0.0);
  xf[1] = (KilnXf) { cos (0.3), -sin (0.3), sin (0.3), cos (0.3), 12.345678, -3.25 };
  xf[2] = (KilnXf) { 1.01, 0.002, -0.003, 0.99, -1234.5, 0.000001 };
  g_assert_true (kiln_xf_save (path, xf, 3, &error));
  g_assert_no_error (error);
  back = kiln_xf_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      /* matrix written with 12 decimals, shifts with 6 */
      g_assert_cmpfloat_with_epsilon (back[i].a11, xf[i].a11, 1e-12);
      g_assert_cmpfloat_with_epsilon (back[i].a12, xf[i].a12, 1e-12);
      g_assert_cmpfloat_with_epsilon (back[i].a21, xf[i].a21, 1e-12);
      g_assert_cmpfloat_with_epsilon (back[i].a22, xf[i].a22, 1e-12);
      g_assert_cmpfloat_with_epsilon (back[i].dx, xf[i].dx, 1e-6);
      g_assert_cmpfloat_with_epsilon (back[i].dy, xf[i].dy, 1e-6);
    }
}

/* IMOD's fixed columns, including numbers that touch. */
static void
test_xf_imod_style (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("b.xf");
  const char text[] =
    "   0.9999996  -0.0008727   0.0008727   0.9999996     -12.345       3.210\n"
    "\n"
    "   1.0000000   0.0000000   0.0000000   1.0000000-123456.789-987654.321\r\n";
  g_autofree KilnXf *xf = NULL;
  guint n = 0;

  kiln_test_write_bytes (path, text, strlen (text));
  xf = kiln_xf_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpfloat (xf[0].a11, ==, 0.9999996);
  g_assert_cmpfloat (xf[0].a12, ==, -0.0008727);
  g_assert_cmpfloat (xf[0].a21, ==, 0.0008727);
  g_assert_cmpfloat (xf[0].dx, ==, -12.345);
  g_assert_cmpfloat (xf[0].dy, ==, 3.21);
  g_assert_cmpfloat (xf[1].a22, ==, 1.0);
  g_assert_cmpfloat (xf[1].dx, ==, -123456.789);
  g_assert_cmpfloat (xf[1].dy, ==, -987654.321);
}

static void
test_xf_bad (void)
{
  static const struct { const char *text; int code; const char *where; } cases[] = {
    { "1 0 0 1 0 0\n1 0 0 1 0\n", KILN_ERROR_FORMAT, ":2:" },
    { "1 0 0 1 0 0 7\n", KILN_ERROR_FORMAT, ":1:" },
    { "1 0 0 1 0 0\n\n1 0 x 1 0 0\n", KILN_ERROR_FORMAT, ":3:" },
    { "1 0 0 1 nan 0\n", KILN_ERROR_INVALID_DATA, ":1:" },
    { "", KILN_ERROR_INVALID_DATA, "no transforms" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = kiln_test_tmpfile ("bad.xf");
      guint n = 99;

      kiln_test_write_bytes (path, cases[i].text, strlen (cases[i].text));
      g_assert_null (kiln_xf_load (path, &n, &error));
      assert_error_names (error, KILN_ERROR, cases[i].code, path);
      g_assert_nonnull (strstr (error->message, cases[i].where));
    }
}

/* A comma-decimal locale changes neither writing nor reading. */
static void
test_locale (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("loc.tlt");
  g_autofree char *text = NULL;
  g_autofree double *a = NULL;
  const double in[2] = { -1.5, 2.25 };
  guint n;

  if (setlocale (LC_NUMERIC, "de_DE.UTF-8") == NULL)
    {
      g_test_skip ("de_DE.UTF-8 locale not installed");
      return;
    }
  g_assert_true (kiln_tlt_save (path, in, 2, &error));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "-1.5\n2.25\n");
  a = kiln_tlt_load (path, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (a[1], ==, 2.25);
  setlocale (LC_NUMERIC, "C");
}

static void
test_save_atomic_failure (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("nodir/x.tlt");
  const double a[1] = { 0.0 };
  const double bad[1] = { NAN };
  g_autofree char *ok = kiln_test_tmpfile ("nan.tlt");

  g_assert_false (kiln_tlt_save (path, a, 1, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_false (kiln_tlt_save (ok, bad, 1, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, ok);
  g_assert_false (g_file_test (ok, G_FILE_TEST_EXISTS));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/imod/tlt/round-trip", test_tlt_round_trip);
  g_test_add_func ("/imod/tlt/imod-style", test_tlt_imod_style);
  g_test_add_func ("/imod/tlt/needle", test_tlt_needle);
  g_test_add_func ("/imod/tlt/bad", test_tlt_bad);
  g_test_add_func ("/imod/xf/round-trip", test_xf_round_trip);
  g_test_add_func ("/imod/xf/imod-style", test_xf_imod_style);
  g_test_add_func ("/imod/xf/bad", test_xf_bad);
  g_test_add_func ("/imod/locale", test_locale);
  g_test_add_func ("/imod/save-failure", test_save_atomic_failure);
  return g_test_run ();
}
