/* test-bad-input.c — the bad-input table of every loader and saver (issue 12)
 *
 * One table row = one loader × one kind of damage. Each valid file is made by Kiln's own saver
 * (or taken from the fuzz seed corpus for DM), then damaged in a way that is typical of real
 * failures: empty file, cut short, wrong magic, absurd or negative dimensions, NaN/Inf values,
 * angle count that disagrees with the stack, a non-UTF-8 file name. The loader must return NULL
 * with a GError whose message names the file and says what is wrong (the row's substring), never
 * crash or allocate what the header claims.
 *
 * A second table covers the savers: a read-only output folder (run as an unprivileged user when
 * the test runs as root, since root ignores permissions) and a full disk (RLIMIT_FSIZE with
 * SIGXFSZ ignored, so write() fails with EFBIG as on a full tmpfs). Each must fail with a message
 * naming the file and leave nothing behind in the folder (no temp file, no partial output).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "kiln-test-util.h"

/* A failed row says why and lets the other rows run. */
#define FAIL(...) G_STMT_START { g_test_message (__VA_ARGS__); g_test_fail (); return; } G_STMT_END

/* ------------------------------------------------------------------------------------------ */
/* Valid inputs made by Kiln itself                                                           */

#define W 16
#define H 12
#define N 3

static KilnImageStack *
make_stack (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageStack *s = kiln_image_stack_new (N, W, H, &error);
  double angles[N] = { -30, 0, 30 };

  g_assert_no_error (error);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (s); i++)
    s->data[i] = (float) (i % 17) * 0.5f;
  g_assert_true (kiln_image_stack_set_angles (s, angles, N, &error));
  s->pixel_size_nm = 0.5;
  return s;
}

static GBytes *
read_all (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

typedef enum
{
  FMT_TIFF,
  FMT_MRC,
  FMT_DM3,
  FMT_DM4,
  FMT_TLT,
  FMT_XF,
  FMT_EXPERIMENT,
  FMT_CSV,
} Fmt;

static const char *fmt_suffix[] = { ".tif", ".mrc", ".dm3", ".dm4", ".tlt", ".xf", ".json", ".csv" };

/* A valid file of format @fmt, as bytes. */
static GByteArray *
valid_bytes (Fmt fmt)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile (fmt == FMT_EXPERIMENT ? "valid-exp" : "valid");
  g_autofree char *file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(KilnImageStack) s = make_stack ();
  gsize len;
  const guint8 *d;

  switch (fmt)
    {
    case FMT_TIFF:
      file = g_strconcat (path, ".tif", NULL);
      g_assert_true (kiln_tiff_save_stack (s, file, &error));
      break;
    case FMT_MRC:
      file = g_strconcat (path, ".mrc", NULL);
      g_assert_true (kiln_mrc_save_stack (s, file, "bad-input test", &error));
      break;
    case FMT_DM3:
    case FMT_DM4:
      /* Kiln writes no DM; the seed corpus holds small real-layout files */
      file = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "dm",
                                    fmt == FMT_DM3 ? "float-3d.dm3" : "float-3d.dm4", NULL);
      break;
    case FMT_TLT:
      file = g_strconcat (path, ".tlt", NULL);
      g_assert_true (kiln_tlt_save (file, s->angles_deg, N, &error));
      break;
    case FMT_XF:
      {
        KilnXf xf[N];
        for (guint k = 0; k < N; k++)
          {
            kiln_xf_identity (&xf[k]);
            xf[k].dx = k;
          }
        file = g_strconcat (path, ".xf", NULL);
        g_assert_true (kiln_xf_save (file, xf, N, &error));
      }
      break;
    case FMT_EXPERIMENT:
      {
        g_autoptr(KilnExperiment) e = kiln_experiment_new ();
        g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
        e->pixel_size_nm = 0.5;
        kiln_experiment_add_time_point (e, "tp01", 0, 370, "tp01/tilts.mrc", "tp01/angles.tlt",
                                        NULL);
        g_assert_true (kiln_experiment_save (e, path, &error));
        file = g_build_filename (path, "experiment.json", NULL);
      }
      break;
    case FMT_CSV:
      {
        const char *cols[] = { "time_s", "radius_nm", NULL };
        const double row[] = { 1, 2.5 };
        g_autoptr(KilnCsv) csv = kiln_csv_new (cols);
        kiln_csv_add_row (csv, row);
        file = g_strconcat (path, ".csv", NULL);
        g_assert_true (kiln_csv_save (csv, file, &error));
      }
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert_no_error (error);
  bytes = read_all (file);
  d = g_bytes_get_data (bytes, &len);
  return g_byte_array_append (g_byte_array_new (), d, len);
}

/* ------------------------------------------------------------------------------------------ */
/* Byte-level helpers for damaging files                                                      */

static void
put32 (GByteArray *b,
       gsize       off,
       guint32     v,
       gboolean    little)
{
  g_assert_cmpuint (off + 4, <=, b->len);
  for (int i = 0; i < 4; i++)
    b->data[off + i] = little ? (v >> (8 * i)) & 0xff : (v >> (8 * (3 - i))) & 0xff;
}

static guint64
get_be (const GByteArray *b,
        gsize             off,
        guint             n)
{
  guint64 v = 0;

  g_assert_cmpuint (off + n, <=, b->len);
  for (guint i = 0; i < n; i++)
    v = (v << 8) | b->data[off + i];
  return v;
}

static guint32
get_le32 (const GByteArray *b,
          gsize             off)
{
  g_assert_cmpuint (off + 4, <=, b->len);
  return b->data[off] | b->data[off + 1] << 8 | b->data[off + 2] << 16 | (guint32) b->data[off + 3] << 24;
}

static gsize
find_bytes (const GByteArray *b,
            gsize             from,
            const void       *needle,
            gsize             n)
{
  for (gsize i = from; i + n <= b->len; i++)
    if (memcmp (b->data + i, needle, n) == 0)
      return i;
  g_assert_not_reached ();
  return 0;
}

/* TIFF (classic, little-endian as libtiff writes it here): offset of the value field of @tag in
 * the first IFD. */
static gsize
tiff_tag_value_offset (const GByteArray *b,
                       guint             tag)
{
  gsize ifd;
  guint n;

  g_assert_true (b->data[0] == 'I' && b->data[1] == 'I');
  ifd = get_le32 (b, 4);
  n = b->data[ifd] | b->data[ifd + 1] << 8;
  for (guint i = 0; i < n; i++)
    {
      gsize e = ifd + 2 + 12 * (gsize) i;
      if ((guint) (b->data[e] | b->data[e + 1] << 8) == tag)
        return e + 8;
    }
  g_assert_not_reached ();
  return 0;
}

/* DM: offset of the value of the first data tag named @name (its first element). */
static gsize
dm_value_offset (const GByteArray *b,
                 const char       *name)
{
  guint version = (guint) get_be (b, 0, 4);
  guint k = version == 4 ? 8 : 4;
  guint8 key[64];
  gsize len = strlen (name), at, pct, n_info;

  key[0] = 0;
  key[1] = (guint8) len;
  memcpy (key + 2, name, len);
  at = find_bytes (b, 0, key, len + 2);
  pct = find_bytes (b, at, "%%%%", 4);
  n_info = get_be (b, pct + 4, k);
  return pct + 4 + k + n_info * k;
}

static gboolean
dm_little (const GByteArray *b)
{
  /* DM3: version, size (4), order (4); DM4: version, size (8), order (4) */
  return get_be (b, 0, 4) == 4 ? get_be (b, 12, 4) == 1 : get_be (b, 8, 4) == 1;
}

/* ------------------------------------------------------------------------------------------ */
/* The loader table                                                                           */

typedef enum
{
  BAD_EMPTY,
  BAD_TRUNCATED,
  BAD_MAGIC,
  BAD_HUGE,
  BAD_NEGATIVE,
  BAD_NAN,
  BAD_INF,
  BAD_ANGLE_COUNT,
  BAD_NON_UTF8,      /* a damaged file whose name is not UTF-8 */
  OK_NON_UTF8,       /* a valid file whose name is not UTF-8: must load */
} Bad;

typedef struct
{
  Fmt         fmt;
  Bad         bad;
  GQuark      (*domain) (void);
  int         code;          /* -1: any code of @domain (the loader's choice) */
  const char *what;          /* what is wrong: a substring of the message (which must also
                              * name the file) */
} LoadCase;

#define K kiln_error_quark
#define KE(code) K, KILN_ERROR_##code
static const LoadCase load_cases[] = {
  /* TIFF */
  { FMT_TIFF, BAD_EMPTY,       KE (TRUNCATED),    "0 bytes, too short for a TIFF header" },
  { FMT_TIFF, BAD_TRUNCATED,   KE (FORMAT),       "broken chain of TIFF pages" },
  { FMT_TIFF, BAD_MAGIC,       KE (FORMAT),       "not a TIFF file" },
  { FMT_TIFF, BAD_HUGE,        K, -1,             "beyond the end of the file" },
  { FMT_TIFF, BAD_NEGATIVE,    KE (FORMAT),       "cannot read the TIFF file" },
  { FMT_TIFF, BAD_NAN,         KE (INVALID_DATA), "pixel (x 5, y 0) of tilt 1 is NaN" },
  { FMT_TIFF, BAD_INF,         KE (INVALID_DATA), "pixel (x 5, y 0) of tilt 1 is infinite" },
  { FMT_TIFF, BAD_ANGLE_COUNT, KE (MISMATCH),     "5 tilt angles given for a stack of 3 tilts" },
  { FMT_TIFF, BAD_NON_UTF8,    KE (FORMAT),       "not a TIFF file" },
  { FMT_TIFF, OK_NON_UTF8,     NULL, 0,           NULL },
  /* MRC */
  { FMT_MRC, BAD_EMPTY,        K, -1,             "0 bytes, less than the 1024-byte MRC header" },
  { FMT_MRC, BAD_TRUNCATED,    KE (TRUNCATED),    "but the file has only 2218 bytes" },
  { FMT_MRC, BAD_MAGIC,        KE (INVALID_DATA), "impossible MRC dimensions" },
  { FMT_MRC, BAD_HUGE,         K, -1,             "60000 \u00d7 60000 \u00d7 60000 float32 values" },
  { FMT_MRC, BAD_NEGATIVE,     KE (INVALID_DATA), "impossible MRC dimensions 16 \u00d7 -12 \u00d7 3" },
  { FMT_MRC, BAD_NAN,          KE (INVALID_DATA), "pixel (x 7, y 0) of tilt 1 is NaN" },
  { FMT_MRC, BAD_INF,          KE (INVALID_DATA), "pixel (x 7, y 0) of tilt 1 is infinite" },
  { FMT_MRC, BAD_ANGLE_COUNT,  KE (MISMATCH),     "5 tilt angles given for a stack of 3 tilts" },
  { FMT_MRC, BAD_NON_UTF8,     KE (INVALID_DATA), "impossible MRC dimensions" },
  { FMT_MRC, OK_NON_UTF8,      NULL, 0,           NULL },
  /* DM3 / DM4 */
  { FMT_DM3, BAD_EMPTY,        K, -1,             "ends (at byte 0) inside the file header" },
  { FMT_DM3, BAD_TRUNCATED,    K, -1,             "but the file has only 428 bytes" },
  { FMT_DM3, BAD_MAGIC,        K, -1,             "not a DM3/DM4 file (version field 7" },
  { FMT_DM3, BAD_HUGE,         KE (INVALID_DATA), "absurd dimensions 2147483647" },
  { FMT_DM3, BAD_NEGATIVE,     KE (INVALID_DATA), "absurd dimensions 4294967293" },
  { FMT_DM3, BAD_NAN,          KE (INVALID_DATA), "pixel (x 2, y 0) of tilt 1 is NaN" },
  { FMT_DM3, BAD_ANGLE_COUNT,  KE (MISMATCH),     "4 tilt angles given for a stack of 2 tilts" },
  { FMT_DM3, BAD_NON_UTF8,     K, -1,             "not a DM3/DM4 file" },
  { FMT_DM3, OK_NON_UTF8,      NULL, 0,           NULL },
  { FMT_DM4, BAD_EMPTY,        K, -1,             "ends (at byte 0) inside the file header" },
  { FMT_DM4, BAD_TRUNCATED,    K, -1,             "truncated DM4 file" },
  { FMT_DM4, BAD_MAGIC,        K, -1,             "not a DM3/DM4 file (version field 7" },
  { FMT_DM4, BAD_HUGE,         KE (INVALID_DATA), "absurd dimensions 2147483647" },
  { FMT_DM4, BAD_NEGATIVE,     KE (INVALID_DATA), "absurd dimensions 4294967293" },
  { FMT_DM4, BAD_NAN,          KE (INVALID_DATA), "pixel (x 2, y 0) of tilt 1 is NaN" },
  { FMT_DM4, BAD_NON_UTF8,     K, -1,             "not a DM3/DM4 file" },
  { FMT_DM4, OK_NON_UTF8,      NULL, 0,           NULL },
  /* .tlt */
  { FMT_TLT, BAD_EMPTY,        K, -1,             "the file holds no tilt angles" },
  { FMT_TLT, BAD_TRUNCATED,    K, -1,             ":2: \u201c-1.5e\u201d is not a tilt angle" },
  { FMT_TLT, BAD_MAGIC,        K, -1,             ":1: \u201cangles: -30 0 30\u201d is not a tilt angle" },
  { FMT_TLT, BAD_HUGE,         K, -1,             ":65537: more than 65536 tilt angles" },
  { FMT_TLT, BAD_NAN,          K, -1,             ":2: tilt angle nan" },
  { FMT_TLT, BAD_INF,          K, -1,             ":2: tilt angle inf" },
  { FMT_TLT, BAD_NON_UTF8,     K, -1,             "is not a tilt angle" },
  { FMT_TLT, OK_NON_UTF8,      NULL, 0,           NULL },
  /* .xf */
  { FMT_XF, BAD_EMPTY,         K, -1,             "the file holds no transforms" },
  { FMT_XF, BAD_TRUNCATED,     K, -1,             ":1: \u201c1.0 0.0 0.0 1.0 0.5\u201d is not a transform" },
  { FMT_XF, BAD_MAGIC,         K, -1,             "is not a transform (six numbers" },
  { FMT_XF, BAD_HUGE,          K, -1,             ":65537: more than 65536 transforms" },
  { FMT_XF, BAD_NAN,           K, -1,             ":2: the transform holds a value that is not a number" },
  { FMT_XF, BAD_INF,           K, -1,             ":2: the transform holds a value that is not a number" },
  { FMT_XF, BAD_NON_UTF8,      K, -1,             "is not a transform" },
  { FMT_XF, OK_NON_UTF8,       NULL, 0,           NULL },
  /* experiment.json */
  { FMT_EXPERIMENT, BAD_EMPTY,     KE (FORMAT),      "the top level is not a JSON object" },
  { FMT_EXPERIMENT, BAD_TRUNCATED, KE (FORMAT),      "Parse error" },
  { FMT_EXPERIMENT, BAD_MAGIC,     KE (FORMAT),      ":1:1: Parse error: unexpected character" },
  { FMT_EXPERIMENT, BAD_HUGE,      KE (UNSUPPORTED), "format_version 1e+300 is not supported" },
  { FMT_EXPERIMENT, BAD_NEGATIVE,  KE (FORMAT),      "pixel_size_nm -0.5 must be > 0" },
  { FMT_EXPERIMENT, BAD_INF,       KE (FORMAT),      "is not finite" },
  { FMT_EXPERIMENT, BAD_NON_UTF8,  KE (FORMAT),      "Parse error" },
  { FMT_EXPERIMENT, OK_NON_UTF8,   NULL, 0,          NULL },
  /* CSV */
  { FMT_CSV, BAD_EMPTY,        KE (FORMAT),       "is empty (a CSV starts with a header row)" },
  { FMT_CSV, BAD_MAGIC,        KE (FORMAT),       "is not UTF-8 text" },
  { FMT_CSV, BAD_NON_UTF8,     KE (FORMAT),       "is not UTF-8 text" },
  { FMT_CSV, OK_NON_UTF8,      NULL, 0,           NULL },
};
#undef KE
#undef K

static const char *bad_name[] = {
  "empty", "truncated", "magic", "huge", "negative", "nan", "inf", "angle-count",
  "non-utf8", "ok-non-utf8",
};
static const char *fmt_name[] = { "tiff", "mrc", "dm3", "dm4", "tlt", "xf", "experiment", "csv" };

/* Damage @b (a valid file of @fmt) according to @bad. */
static void
damage (GByteArray *b,
        Fmt         fmt,
        Bad         bad)
{
  const float nan_f = NAN, inf_f = INFINITY;
  guint32 nan_bits, inf_bits;

  memcpy (&nan_bits, &nan_f, 4);
  memcpy (&inf_bits, &inf_f, 4);

  if (bad == BAD_EMPTY)
    {
      g_byte_array_set_size (b, 0);
      return;
    }
  if (bad == BAD_TRUNCATED)
    {
      /* text formats: cut in the middle of a number / JSON value; binary: inside the data */
      g_byte_array_set_size (b, fmt == FMT_TLT ? 0 : b->len * 2 / 3);
      if (fmt == FMT_TLT)   /* cut inside an exponent */
        g_byte_array_append (b, (const guint8 *) "-30.0\n-1.5e", 11);
      if (fmt == FMT_XF)
        {
          g_byte_array_set_size (b, 0);
          g_byte_array_append (b, (const guint8 *) " 1.0 0.0 0.0 1.0 0.5\n", 21);
        }
      return;
    }
  if (bad == BAD_NON_UTF8 || bad == OK_NON_UTF8)
    {
      if (bad == BAD_NON_UTF8)
        damage (b, fmt, BAD_MAGIC);
      return;
    }

  switch (fmt)
    {
    case FMT_TIFF:
      if (bad == BAD_MAGIC)
        memcpy (b->data, "XX", 2);
      else if (bad == BAD_HUGE)   /* ImageWidth 4 000 000 000 */
        put32 (b, tiff_tag_value_offset (b, 256), 4000000000u, TRUE);
      else if (bad == BAD_NEGATIVE)  /* TIFF sizes are unsigned: 0 and "−1" */
        {
          put32 (b, tiff_tag_value_offset (b, 256), 0, TRUE);
          put32 (b, tiff_tag_value_offset (b, 257), 0xffffffffu, TRUE);
        }
      else if (bad == BAD_NAN || bad == BAD_INF)
        put32 (b, get_le32 (b, tiff_tag_value_offset (b, 273)) + 4 * 5,
               bad == BAD_NAN ? nan_bits : inf_bits, TRUE);
      break;
    case FMT_MRC:
      if (bad == BAD_MAGIC)   /* MRC has no strict magic (old files lack "MAP "): a PNG named .mrc */
        memcpy (b->data, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x40", 20);
      else if (bad == BAD_HUGE)
        {
          put32 (b, 0, 60000, TRUE);
          put32 (b, 4, 60000, TRUE);
          put32 (b, 8, 60000, TRUE);
        }
      else if (bad == BAD_NEGATIVE)
        put32 (b, 4, (guint32) -12, TRUE);
      else if (bad == BAD_NAN || bad == BAD_INF)
        put32 (b, 1024 + get_le32 (b, 92) + 4 * 7, bad == BAD_NAN ? nan_bits : inf_bits, TRUE);
      break;
    case FMT_DM3:
    case FMT_DM4:
      if (bad == BAD_MAGIC)
        put32 (b, 0, 7, FALSE);   /* version 7 */
      else if (bad == BAD_HUGE)
        put32 (b, dm_value_offset (b, "Dimensions"), 0x7fffffffu, dm_little (b));
      else if (bad == BAD_NEGATIVE)
        put32 (b, dm_value_offset (b, "Dimensions"), (guint32) -3, dm_little (b));
      else if (bad == BAD_NAN)
        put32 (b, dm_value_offset (b, "Data") + 8, 0xffffffffu, FALSE);  /* NaN either order */
      break;
    case FMT_TLT:
    case FMT_XF:
      {
        g_autoptr(GString) s = g_string_new (NULL);
        if (bad == BAD_MAGIC)
          g_string_append (s, fmt == FMT_TLT ? "angles: -30 0 30\n" : "a11 a12 a21 a22 dx dy\n");
        else if (bad == BAD_HUGE)
          for (guint i = 0; i < KILN_MAX_EXTENT + 1; i++)
            g_string_append (s, fmt == FMT_TLT ? "0\n" : "1 0 0 1 0 0\n");
        else if (bad == BAD_NAN)
          g_string_append (s, fmt == FMT_TLT ? "-30\nnan\n30\n" : "1 0 0 1 0 0\n1 0 0 1 nan 0\n");
        else if (bad == BAD_INF)
          g_string_append (s, fmt == FMT_TLT ? "-30\ninf\n30\n" : "1 0 0 1 0 0\n1 0 0 1 0 -inf\n");
        g_byte_array_set_size (b, 0);
        g_byte_array_append (b, (const guint8 *) s->str, s->len);
      }
      break;
    case FMT_EXPERIMENT:
      {
        const char *text = NULL;
        if (bad == BAD_MAGIC)
          text = "<?xml version=\"1.0\"?><experiment/>";
        else if (bad == BAD_HUGE)
          text = "{\"format_version\": 1e300, \"pixel_size_nm\": 1, "
                 "\"time_points\": [{\"name\": \"a\", \"pt_time_s\": 0, \"tilts\": \"a.mrc\"}]}";
        else if (bad == BAD_NEGATIVE)
          text = "{\"format_version\": 1, \"pixel_size_nm\": -0.5, "
                 "\"time_points\": [{\"name\": \"a\", \"pt_time_s\": 0, \"tilts\": \"a.mrc\"}]}";
        else if (bad == BAD_INF)
          text = "{\"format_version\": 1, \"pixel_size_nm\": 1, "
                 "\"time_points\": [{\"name\": \"a\", \"pt_time_s\": 1e999, \"tilts\": \"a.mrc\"}]}";
        g_assert_nonnull (text);
        g_byte_array_set_size (b, 0);
        g_byte_array_append (b, (const guint8 *) text, strlen (text));
      }
      break;
    case FMT_CSV:
      if (bad == BAD_MAGIC)
        {
          static const guint8 bin[] = { 0x89, 'P', 'N', 'G', 0, 0, 0xff, 0xfe, 0, 1 };
          g_byte_array_set_size (b, 0);
          g_byte_array_append (b, bin, sizeof bin);
        }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Load @path with the loader of @fmt; for BAD_ANGLE_COUNT, also apply a .tlt of the wrong length.
 * Returns TRUE on success. */
static gboolean
load (Fmt         fmt,
      Bad         bad,
      const char *path,
      GError    **error)
{
  switch (fmt)
    {
    case FMT_TIFF:
    case FMT_MRC:
    case FMT_DM3:
    case FMT_DM4:
      {
        g_autoptr(KilnImageStack) s = kiln_io_load_stack (path, NULL, error);
        if (s == NULL)
          return FALSE;
        g_assert_cmpuint (s->n_tilts, >, 0);
        if (bad == BAD_ANGLE_COUNT)
          {
            const double angles[] = { -60, -30, 0, 30, 60, 70, 80 };
            return kiln_image_stack_set_angles (s, angles, s->n_tilts + 2, error);
          }
        return TRUE;
      }
    case FMT_TLT:
      {
        guint n = 0;
        g_autofree double *a = kiln_tlt_load (path, &n, error);
        return a != NULL;
      }
    case FMT_XF:
      {
        guint n = 0;
        g_autofree KilnXf *xf = kiln_xf_load (path, &n, error);
        return xf != NULL;
      }
    case FMT_EXPERIMENT:
      {
        g_autoptr(KilnExperiment) e = kiln_experiment_load (path, error);
        return e != NULL;
      }
    case FMT_CSV:
      {
        g_autoptr(GPtrArray) rows = kiln_csv_load (path, error);
        return rows != NULL;
      }
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

/* The message names the file (its display name's base) and is valid UTF-8. */
static void
assert_names_file (const GError *error,
                   const char   *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *display = g_filename_display_name (base);

  if (!g_utf8_validate (error->message, -1, NULL))
    FAIL ("message is not valid UTF-8: %s", error->message);
  if (strstr (error->message, display) == NULL)
    FAIL ("message “%s” does not name the file “%s”", error->message, display);
}

static void
test_load_case (gconstpointer data)
{
  const LoadCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) b = valid_bytes (c->fmt);
  g_autofree char *name = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  gboolean ok;

  damage (b, c->fmt, c->bad);
  /* the file name is the row (plus \xff\xfe for the non-UTF-8 rows) */
  name = g_strdup_printf ("%s-%s%s%s", fmt_name[c->fmt], bad_name[c->bad],
                          (c->bad == BAD_NON_UTF8 || c->bad == OK_NON_UTF8) ? "-\xff\xfe" : "",
                          c->fmt == FMT_EXPERIMENT ? "" : fmt_suffix[c->fmt]);
  if (c->fmt == FMT_EXPERIMENT)
    {
      /* experiment.json has a fixed name: the folder carries the row's name */
      dir = kiln_test_tmpfile (name);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      path = g_build_filename (dir, "experiment.json", NULL);
    }
  else
    path = kiln_test_tmpfile (name);
  kiln_test_write_bytes (path, b->data, b->len);

  ok = load (c->fmt, c->bad, path, &error);
  if (c->domain == NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      return;
    }
  if (ok || error == NULL)
    FAIL ("%s: loaded without an error", name);
  g_test_message ("%s", error->message);
  if (error->domain != c->domain () || (c->code >= 0 && error->code != c->code))
    FAIL ("%s: expected %s code %d, got %s code %d: %s", name,
          g_quark_to_string (c->domain ()), c->code,
          g_quark_to_string (error->domain), error->code, error->message);
  if (c->what != NULL && strstr (error->message, c->what) == NULL)
    FAIL ("%s: message “%s” lacks “%s”", name, error->message, c->what);
  if (c->bad == BAD_ANGLE_COUNT)
    return;   /* kiln_image_stack_set_angles does not know the file */
  assert_names_file (error, c->fmt == FMT_EXPERIMENT ? dir : path);
}

/* ------------------------------------------------------------------------------------------ */
/* The saver table: read-only folder and full disk                                            */

typedef enum
{
  SAVE_MRC_STACK,
  SAVE_MRC_VOLUME,
  SAVE_TIFF_STACK,
  SAVE_IO_STACK,
  SAVE_TLT,
  SAVE_XF,
  SAVE_CSV,
  SAVE_PNG,
  SAVE_EXPERIMENT,
} Saver;

typedef struct
{
  Saver       saver;
  const char *file;       /* output name */
  gboolean    disk_full;  /* FALSE: read-only folder */
} SaveCase;

static const SaveCase save_cases[] = {
  { SAVE_MRC_STACK,  "out.mrc",  FALSE }, { SAVE_MRC_STACK,  "out.mrc",  TRUE },
  { SAVE_MRC_VOLUME, "vol.mrc",  FALSE }, { SAVE_MRC_VOLUME, "vol.mrc",  TRUE },
  { SAVE_TIFF_STACK, "out.tif",  FALSE }, { SAVE_TIFF_STACK, "out.tif",  TRUE },
  { SAVE_IO_STACK,   "io.mrc",   FALSE }, { SAVE_IO_STACK,   "io.tif",   TRUE },
  { SAVE_TLT,        "a.tlt",    FALSE }, { SAVE_TLT,        "a.tlt",    TRUE },
  { SAVE_XF,         "a.xf",     FALSE }, { SAVE_XF,         "a.xf",     TRUE },
  { SAVE_CSV,        "m.csv",    FALSE }, { SAVE_CSV,        "m.csv",    TRUE },
  { SAVE_PNG,        "s.png",    FALSE }, { SAVE_PNG,        "s.png",    TRUE },
  { SAVE_EXPERIMENT, "experiment.json", FALSE }, { SAVE_EXPERIMENT, "experiment.json", TRUE },
  /* output names that are not UTF-8: the message must still be valid UTF-8 and name them */
  { SAVE_MRC_STACK,  "out-\xff\xfe.mrc", FALSE }, { SAVE_TIFF_STACK, "out-\xff.tif", TRUE },
  { SAVE_TLT,        "a-\xfe.tlt",      TRUE },  { SAVE_CSV,        "m-\xff.csv",  FALSE },
  { SAVE_PNG,        "s-\xff.png",      TRUE },
};

/* The outputs are big enough that a 4 KiB file-size limit stops them: 64 × 64 × 4 floats. */
static gboolean
save (Saver       saver,
      const char *path,
      GError    **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (4, 64, 64, &local);
  g_assert_no_error (local);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (s); i++)
    s->data[i] = (float) (i % 7);

  switch (saver)
    {
    case SAVE_MRC_STACK:
      return kiln_mrc_save_stack (s, path, NULL, error);
    case SAVE_MRC_VOLUME:
      {
        g_autoptr(KilnVolume) v = kiln_volume_new (32, 32, 32, &local);
        g_assert_no_error (local);
        return kiln_mrc_save_volume (v, path, NULL, error);
      }
    case SAVE_TIFF_STACK:
      return kiln_tiff_save_stack (s, path, error);
    case SAVE_IO_STACK:
      return kiln_io_save_stack (s, path, error);
    case SAVE_TLT:
      {
        double a[2000];
        for (guint i = 0; i < G_N_ELEMENTS (a); i++)
          a[i] = -60 + 120.0 * i / G_N_ELEMENTS (a);
        return kiln_tlt_save (path, a, G_N_ELEMENTS (a), error);
      }
    case SAVE_XF:
      {
        KilnXf xf[500];
        for (guint i = 0; i < G_N_ELEMENTS (xf); i++)
          kiln_xf_identity (&xf[i]);
        return kiln_xf_save (path, xf, G_N_ELEMENTS (xf), error);
      }
    case SAVE_CSV:
      {
        const char *cols[] = { "time_s", "radius_nm", "neck_radius_nm", NULL };
        g_autoptr(KilnCsv) csv = kiln_csv_new (cols);
        for (guint i = 0; i < 1000; i++)
          {
            const double row[] = { i, 2.5 * i, 1.25 * i };
            kiln_csv_add_row (csv, row);
          }
        return kiln_csv_save (csv, path, error);
      }
    case SAVE_PNG:
      /* noise-like content, so that deflate cannot squeeze it under the limit */
      for (gsize i = 0; i < 64 * 64; i++)
        s->data[i] = (float) ((i * 2654435761u) % 251);
      return kiln_png_save_float (path, s->data, 64, 64, 0, 250, error);
    case SAVE_EXPERIMENT:
      {
        g_autoptr(KilnExperiment) e = kiln_experiment_new ();
        e->pixel_size_nm = 1;
        for (guint i = 0; i < 100; i++)
          {
            g_autofree char *n = g_strdup_printf ("time-point-%03u", i);
            g_autofree char *t = g_strdup_printf ("%s/tilts.mrc", n);
            kiln_experiment_add_time_point (e, n, i * 5.0, 370, t, NULL, NULL);
          }
        g_autofree char *dir = g_path_get_dirname (path);
        return kiln_experiment_save (e, dir, error);
      }
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

/* Lists the names in @dir (sorted, joined by spaces) — what a failed save left behind. */
static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *n;

  if (d == NULL)
    return g_strdup ("");
  while ((n = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (n));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* In the subprocess: restrict, save, print "ok" or the error message on stdout. */
static void
save_child (const SaveCase *c,
            const char     *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, c->file, NULL);

  if (c->disk_full)
    {
      struct rlimit rl = { 4096, 4096 };
      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
    }
  else if (geteuid () == 0)
    {
      /* root writes anywhere: become "nobody" so that the folder's permissions apply */
      g_assert_cmpint (setgid (65534), ==, 0);
      g_assert_cmpint (setuid (65534), ==, 0);
    }
  if (save (c->saver, path, &error))
    printf ("ok\n");
  else if (!g_utf8_validate (error->message, -1, NULL))
    printf ("invalid UTF-8 message\n");
  else
    printf ("error: %s\n", error->message);
  fflush (stdout);
}

static void
test_save_case (gconstpointer data)
{
  const SaveCase *c = data;
  g_autofree char *row = g_strdup_printf ("save-%u-%s", (guint) c->saver,
                                          c->disk_full ? "full" : "ro");
  g_autofree char *dir = NULL;
  g_autofree char *left = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *display = NULL;

  if (g_test_subprocess ())
    {
      save_child (c, g_getenv ("KILN_BAD_INPUT_DIR"));
      return;
    }
  dir = kiln_test_tmpfile (row);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  /* the test's tmpdir is 0700: let "nobody" reach the folder (and find it read-only) */
  g_assert_cmpint (g_chmod (kiln_test_tmpdir (), 0755), ==, 0);
  if (!c->disk_full)
    g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
  g_setenv ("KILN_BAD_INPUT_DIR", dir, TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_chmod (dir, 0755);
  g_test_trap_assert_passed ();
  /* the message names the output and the reason */
  display = g_filename_display_name (c->file);
  pattern = g_strdup_printf ("error: *%s*%s*\n", display,
                             c->disk_full ? "too large" : "ermission denied");
  g_test_trap_assert_stdout (pattern);
  /* nothing half-written, no temp file left */
  left = list_dir (dir);
  g_assert_cmpstr (left, ==, "");
}

/* ------------------------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (load_cases); i++)
    {
      const LoadCase *c = &load_cases[i];
      g_autofree char *p = g_strdup_printf ("/bad-input/load/%s/%s", fmt_name[c->fmt],
                                            bad_name[c->bad]);
      g_test_add_data_func (p, c, test_load_case);
    }
  for (guint i = 0; i < G_N_ELEMENTS (save_cases); i++)
    {
      const SaveCase *c = &save_cases[i];
      g_autofree char *name = g_utf8_make_valid (c->file, -1);
      g_autofree char *p = g_strdup_printf ("/bad-input/save/%s/%s", name,
                                            c->disk_full ? "disk-full" : "read-only-folder");
      g_test_add_data_func (p, c, test_save_case);
    }
  return g_test_run ();
}
