/* test-cli-bad-input.c — the bad-input table of every kiln-cli command (issue 12)
 *
 * Each row runs kiln-cli once, as a user's script would, on a damaged input or into an output
 * place that cannot take the result, and checks: the exit code (1 runtime error, 2 usage error),
 * that stderr says "kiln-cli COMMAND:", names the offending file (its display name: a non-UTF-8
 * name shows with U+FFFD) and says what is wrong (the row's substring), that kiln-cli did not
 * crash, and that nothing was left in the output folder (no partial output, no temp file).
 *
 * Placeholders in the rows: @NAME is an input made once by the fixture (see make_inputs());
 * @o/NAME is NAME in the row's own output folder; @ro/NAME is NAME in a read-only folder (the
 * command then runs as "nobody" when the test runs as root, since root ignores permissions).
 * FULL rows run with a 4 KiB file-size limit and SIGXFSZ ignored, so write() fails with EFBIG as
 * on a full disk.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "kiln-test-util.h"

/* A failed row says why and lets the other rows run. */
#define FAIL(...) G_STMT_START { g_test_message (__VA_ARGS__); g_test_fail (); return; } G_STMT_END

enum
{
  RO = 1 << 0,     /* output folder read-only */
  FULL = 1 << 1,   /* disk full (RLIMIT_FSIZE) */
};

typedef struct
{
  const char *args[12];
  int         code;       /* expected exit status */
  const char *names;      /* the placeholder whose file name the message must show, or NULL */
  const char *what;       /* substring of stderr */
  guint       flags;
} Row;

#define U8 "-\xff\xfe"   /* a non-UTF-8 piece of a file name */

static const Row rows[] = {
  /* info */
  { { "info", "@empty.mrc" },                  1, "@empty.mrc",    "0 bytes, less than the 1024-byte MRC header", 0 },
  { { "info", "@trunc.mrc" },                  1, "@trunc.mrc",    "but the file has only 41472 bytes", 0 },
  { { "info", "@magic.mrc" },                  1, "@magic.mrc",    "not an MRC file", 0 },
  { { "info", "@huge.mrc" },                   1, "@huge.mrc",     "60000 \u00d7 60000 \u00d7 60000 float32 values", 0 },
  { { "info", "@negative.mrc" },               1, "@negative.mrc", "impossible MRC dimensions", 0 },
  { { "info", "@nan.tif" },                    1, "@nan.tif",      "is NaN", 0 },
  { { "info", "@magic.dm3" },                  1, "@magic.dm3",    "not a DM3/DM4 file", 0 },
  { { "info", "@bad" U8 ".mrc" },              1, "@bad" U8 ".mrc", "not an MRC file", 0 },
  { { "info", "@missing.mrc" },                1, "@missing.mrc",  "No such file or directory", 0 },
  { { "info" },                                2, NULL,            "a FILE is needed", 0 },
  /* convert */
  { { "convert", "@empty.tif", "@o/out.mrc" },              1, "@empty.tif",    "0 bytes, too short for a TIFF header", 0 },
  { { "convert", "@trunc.tif", "@o/out.mrc" },              1, "@trunc.tif",    "broken chain of TIFF pages", 0 },
  { { "convert", "@huge.tif", "@o/out.mrc" },               1, "@huge.tif",     "but its 64 rows", 0 },
  { { "convert", "@nan.mrc", "@o/out.tif" },                1, "@nan.mrc",      "is NaN", 0 },
  { { "convert", "@stack.mrc", "@o/out.mrc", "--angles", "@three.tlt" }, 1, "@three.tlt", "holds 3 tilt angles but", 0 },
  { { "convert", "@stack.mrc", "@o/out.mrc", "--angles", "@nan.tlt" },   1, "@nan.tlt",   "tilt angle nan", 0 },
  { { "convert", "@stack.mrc", "@o/out.mrc", "--pixel-size", "-1" },     2, NULL, "--pixel-size must be a positive number", 0 },
  { { "convert", "@stack.mrc", "@o/out.mrc", "--pixel-size", "nan" },    2, NULL, "--pixel-size must be a positive number", 0 },
  { { "convert", "@stack.mrc", "@o/out.xyz" },              2, NULL,  "cannot tell the output format", 0 },
  { { "convert", "@stack.mrc", "@ro/out.mrc" },             1, "@ro/out.mrc", "Permission denied", RO },
  { { "convert", "@stack.mrc", "@o/out.mrc" },              1, "@o/out.mrc", "File too large", FULL },
  { { "convert", "@stack.mrc", "@o/out.tif" },              1, "@o/out.tif", "File too large", FULL },
  { { "convert", "@bad" U8 ".mrc", "@o/out.mrc" },          1, "@bad" U8 ".mrc", "not an MRC file", 0 },
  { { "convert", "@magic.tif", "@o/out.mrc" },              1, "@magic.tif",    "too short for a TIFF header", 0 },
  { { "convert", "@negative.mrc", "@o/out.tif" },           1, "@negative.mrc", "impossible MRC dimensions", 0 },
  /* simulate */
  { { "simulate", "@ro/sim", "--time-points", "1", "--size", "32", "--no-truth-volumes" },
    1, "@ro/sim", "Permission denied", RO },
  { { "simulate", "@o/sim", "--time-points", "1", "--size", "32", "--no-truth-volumes" },
    1, "@o/sim", "File too large", FULL },
  { { "simulate", "@o/sim", "--size", "-64" },                 2, NULL, "--size -64 px is outside", 0 },
  { { "simulate", "@o/sim", "--size", "1000000" },             2, NULL, "--size 1000000 px is outside", 0 },
  { { "simulate", "@o/sim", "--time-points", "0" },            2, NULL, "--time-points 0 is outside", 0 },
  { { "simulate", "@o/sim", "--dose", "-5" },                  1, NULL, "electron dose -5", 0 },
  { { "simulate", "@o/sim", "--seed", "-3" },                  2, NULL, "is not a non-negative integer", 0 },
  /* denoise */
  { { "denoise", "@empty.mrc", "@o/out.mrc" },              1, "@empty.mrc", "0 bytes, less than the 1024-byte MRC header", 0 },
  { { "denoise", "@magic.tif", "@o/out.mrc" },              1, "@magic.tif", "too short for a TIFF header", 0 },
  { { "denoise", "@huge.mrc", "@o/out.mrc" },               1, "@huge.mrc",  "60000 \u00d7 60000", 0 },
  { { "denoise", "@trunc.mrc", "@o/out.mrc" },              1, "@trunc.mrc", "but the file has only", 0 },
  { { "denoise", "@negative.mrc", "@o/out.mrc" },           1, "@negative.mrc", "impossible MRC dimensions", 0 },
  { { "denoise", "@nan.tif", "@o/out.mrc" },                1, "@nan.tif",   "is NaN", 0 },
  { { "denoise", "@bad" U8 ".mrc", "@o/out.mrc" },          1, "@bad" U8 ".mrc", "not an MRC file", 0 },
  { { "denoise", "@stack.mrc", "@o/out.mrc", "--variance", "-4" },  2, NULL, "--variance must be > 0", 0 },
  { { "denoise", "@stack.mrc", "@o/out.mrc", "--variance", "inf" }, 2, NULL, "--variance must be > 0", 0 },
  { { "denoise", "@stack.mrc", "@o/out.mrc", "--psd", "g9" },       2, NULL, "unknown --psd", 0 },
  { { "denoise", "@stack.mrc", "@ro/out.mrc", "--variance", "1" },  1, "@ro/out.mrc", "Permission denied", RO },
  { { "denoise", "@stack.mrc", "@o/out.mrc", "--variance", "1" },   1, "@o/out.mrc", "File too large", FULL },
  /* denoise-tune */
  { { "denoise-tune", "@empty.mrc", "@stack.mrc" },         1, "@empty.mrc", "0 bytes", 0 },
  { { "denoise-tune", "@stack.mrc", "@trunc.mrc" },         1, "@trunc.mrc", "but the file has only", 0 },
  { { "denoise-tune", "@nan.mrc", "@stack.mrc" },           1, "@nan.mrc",   "is NaN", 0 },
  { { "denoise-tune", "@stack.mrc", "@magic.tif" },         1, "@magic.tif", "too short for a TIFF header", 0 },
  { { "denoise-tune", "@stack.mrc", "@other-size.mrc" },    1, NULL, "is 64 \u00d7 64 but", 0 },
  { { "denoise-tune", "@stack.mrc" },                       2, NULL, "expected NOISY and REFERENCE", 0 },
  /* align */
  { { "align", "@stack.mrc", "@o/out.mrc", "--angles", "@three.tlt" }, 1, "@three.tlt", "has 3 angles but", 0 },
  { { "align", "@stack.mrc", "@o/out.mrc", "--angles", "@empty.tlt" }, 1, "@empty.tlt", "the file holds no tilt angles", 0 },
  { { "align", "@stack.mrc", "@o/out.mrc", "--angles", "@inf.tlt" },   1, "@inf.tlt",   "tilt angle inf", 0 },
  { { "align", "@negative.mrc", "@o/out.mrc", "--angles", "@five.tlt" }, 1, "@negative.mrc", "impossible MRC dimensions", 0 },
  { { "align", "@trunc.tif", "@o/out.mrc", "--angles", "@five.tlt" },    1, "@trunc.tif", "broken chain of TIFF pages", 0 },
  { { "align", "@nan.mrc", "@o/out.mrc", "--angles", "@five.tlt" },      1, "@nan.mrc",   "is NaN", 0 },
  { { "align", "@stack.mrc", "@o/out.mrc", "--angles", "@five.tlt", "--method", "zz" }, 2, NULL, "unknown --method", 0 },
  { { "align", "@stack.mrc", "@ro/out.mrc", "--angles", "@five.tlt" }, 1, "@ro/out.mrc", "Permission denied", RO },
  { { "align", "@stack.mrc", "@o/out.mrc", "--angles", "@five.tlt", "--xf", "@o/out.xf" },
    1, "@o/out.mrc", "File too large", FULL },
  /* tilt-axis */
  { { "tilt-axis", "@stack.mrc", "--angles", "@three.tlt" },  1, "@three.tlt", "3 tilt angles given for a stack of 5 tilts", 0 },
  { { "tilt-axis", "@stack.mrc", "--angles", "@nan.tlt" },    1, "@nan.tlt",   "tilt angle nan", 0 },
  { { "tilt-axis", "@trunc.mrc", "--angles", "@five.tlt" },   1, "@trunc.mrc", "but the file has only", 0 },
  { { "tilt-axis", "@huge.tif", "--angles", "@five.tlt" },    1, "@huge.tif",  "but its 64 rows", 0 },
  { { "tilt-axis", "@stack.mrc", "--angles", "@empty.tlt" },  1, "@empty.tlt", "the file holds no tilt angles", 0 },
  { { "tilt-axis", "@stack.mrc", "--angles", "@five.tlt", "--axis-angle", "1e9" }, 2, NULL, "--axis-angle must be within", 0 },
  /* reconstruct */
  { { "reconstruct", "@stack.mrc", "@o/v.mrc", "--angles", "@three.tlt" }, 1, "@three.tlt", "has 3 tilt angles but", 0 },
  { { "reconstruct", "@huge.mrc", "@o/v.mrc", "--angles", "@five.tlt" },   1, "@huge.mrc",  "60000 \u00d7 60000", 0 },
  { { "reconstruct", "@nan.mrc", "@o/v.mrc", "--angles", "@five.tlt" },    1, "@nan.mrc",   "is NaN", 0 },
  { { "reconstruct", "@empty.mrc", "@o/v.mrc", "--angles", "@five.tlt" },  1, "@empty.mrc", "0 bytes", 0 },
  { { "reconstruct", "@stack.mrc", "@o/v.mrc", "--angles", "@inf.tlt" },   1, "@inf.tlt",   "tilt angle inf", 0 },
  { { "reconstruct", "@bad" U8 ".mrc", "@o/v.mrc", "--angles", "@five.tlt" }, 1, "@bad" U8 ".mrc", "not an MRC file", 0 },
  { { "reconstruct", "@stack.mrc", "@o/v.mrc", "--angles", "@five.tlt", "--thickness", "-8" },
    2, NULL, "--thickness must be 1", 0 },
  { { "reconstruct", "@stack.mrc", "@o/v.mrc", "--angles", "@five.tlt", "--thickness", "99999999" },
    2, NULL, "--thickness must be 1", 0 },
  { { "reconstruct", "@stack.mrc", "@o/v.mrc", "--angles", "@five.tlt", "--iterations", "-7" },
    2, NULL, "--iterations must be at least 1", 0 },
  { { "reconstruct", "@stack.mrc", "@ro/v.mrc", "--angles", "@five.tlt", "--method", "wbp" }, 1, "@ro/v.mrc", "Permission denied", RO },
  { { "reconstruct", "@stack.mrc", "@o/v.mrc", "--angles", "@five.tlt", "--method", "wbp" },
    1, "@o/v.mrc", "File too large", FULL },
  /* segment */
  { { "segment", "@empty.mrc", "@o/l.mrc" },                1, "@empty.mrc", "0 bytes", 0 },
  { { "segment", "@nan-volume.mrc", "@o/l.mrc" },           1, "@nan-volume.mrc", "is NaN", 0 },
  { { "segment", "@trunc.mrc", "@o/l.mrc" },                1, "@trunc.mrc", "but the file has only", 0 },
  { { "segment", "@huge.mrc", "@o/l.mrc" },                 1, "@huge.mrc",  "60000 \u00d7 60000", 0 },
  { { "segment", "@negative.mrc", "@o/l.mrc" },             1, "@negative.mrc", "impossible MRC dimensions", 0 },
  { { "segment", "@volume.mrc", "@o/l.mrc", "--threshold", "nan" }, 2, NULL, "--threshold must be", 0 },
  { { "segment", "@volume.mrc", "@o/l.mrc", "--erode", "-2" },      2, NULL, "--erode and --dilate take", 0 },
  { { "segment", "@volume.mrc", "@ro/l.mrc" },              1, "@ro/l.mrc", "Permission denied", RO },
  { { "segment", "@volume.mrc", "@o/l.mrc" },               1, "@o/l.mrc", "File too large", FULL },
  /* measure */
  { { "measure", "@empty.mrc", "--pair", "1:2" },           1, "@empty.mrc", "0 bytes", 0 },
  { { "measure", "@magic.mrc", "--pair", "1:2" },           1, "@magic.mrc", "not an MRC file", 0 },
  { { "measure", "@nan-volume.mrc", "--pair", "1:2" },      1, "@nan-volume.mrc", "not a label", 0 },
  { { "measure", "@huge.mrc", "--pair", "1:2" },            1, "@huge.mrc",  "60000 \u00d7 60000", 0 },
  /* (no full-disk row for measure: its CSV is smaller than the 4 KiB limit, and a lower limit
   * makes LLVM's OpenMP runtime abort at start-up, when it sizes its shared-memory file) */
  { { "measure", "@labels.mrc", "--pair", "1:x" },          2, NULL, "--pair takes two different labels", 0 },
  { { "measure", "@labels.mrc", "--pair", "1:2", "--csv", "@ro/m.csv" }, 1, "@ro/m.csv", "Permission denied", RO },
  /* run */
  { { "run", "@missing-exp" },                              1, "@missing-exp", "no such file (not a Kiln experiment folder?)", 0 },
  { { "run", "@empty-exp" },                                1, "@empty-exp", "the top level is not a JSON object", 0 },
  { { "run", "@inf-exp" },                                  1, "@inf-exp", "is not finite", 0 },
  { { "run", "@angles-exp" },                               1, "three.tlt", "3 tilt angles given for a stack of 41 tilts", 0 },
  { { "run", "@bad" U8 "-exp" },                            1, "@bad" U8 "-exp", "Parse error", 0 },
  { { "run", "@angles-exp", "--threads", "-2" },            2, NULL, "--threads must be", 0 },
  /* methods */
  { { "methods", "@missing-exp" },                          1, "@missing-exp", "no such file (not a Kiln experiment folder?)", 0 },
  { { "methods", "@empty-exp" },                            1, "@empty-exp", "the top level is not a JSON object", 0 },
  { { "methods", "@bad" U8 "-exp" },                        1, "@bad" U8 "-exp", "Parse error", 0 },
  { { "methods" },                                          2, NULL, "expected EXPERIMENT_DIR", 0 },
};

static char *inputs;   /* folder of the fixture inputs */

/* ------------------------------------------------------------------------------------------ */

static void
save_stack (const char *name,
            guint       n,
            guint       w)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (n, w, w, &error);
  g_autofree char *path = g_build_filename (inputs, name, NULL);

  g_assert_no_error (error);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (s); i++)
    {
      guint x = i % w, y = (i / w) % w;
      s->data[i] = ((x - w / 2.0) * (x - w / 2.0) + (y - w / 2.0) * (y - w / 2.0) < w * w / 16.0)
                   ? 10.0f : 1.0f + (float) (i % 3);
    }
  s->pixel_size_nm = 1;
  g_assert_true (kiln_io_save_stack (s, path, &error));
  g_assert_no_error (error);
}

static void
write_text (const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (inputs, name, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  kiln_test_write_bytes (path, text, strlen (text));
}

static GByteArray *
read_input (const char *name)
{
  g_autofree char *path = g_build_filename (inputs, name, NULL);
  char *c = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &c, &len, NULL));
  return g_byte_array_new_take ((guint8 *) c, len);
}

static void
write_input (const char *name,
             GByteArray *b)
{
  g_autofree char *path = g_build_filename (inputs, name, NULL);
  kiln_test_write_bytes (path, b->data, b->len);
}

static void
put_le32 (GByteArray *b,
          gsize       off,
          guint32     v)
{
  g_assert_cmpuint (off + 4, <=, b->len);
  for (int i = 0; i < 4; i++)
    b->data[off + i] = (v >> (8 * i)) & 0xff;
}

static void
make_inputs (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) b = NULL;
  const float nan_f = NAN;
  guint32 nan_bits;
  guint32 ifd;

  memcpy (&nan_bits, &nan_f, 4);
  inputs = kiln_test_tmpfile ("in");
  g_assert_cmpint (g_mkdir_with_parents (inputs, 0755), ==, 0);
  /* "nobody" must reach the inputs and kiln-cli */
  g_assert_cmpint (g_chmod (kiln_test_tmpdir (), 0755), ==, 0);

  /* valid: 5 tilts of 64², ±60° */
  save_stack ("stack.mrc", 5, 64);
  save_stack ("stack.tif", 5, 64);
  save_stack ("other-size.mrc", 5, 48);
  write_text ("five.tlt", "-60\n-30\n0\n30\n60\n");
  write_text ("three.tlt", "-30\n0\n30\n");
  write_text ("nan.tlt", "-60\n-30\nnan\n30\n60\n");
  write_text ("inf.tlt", "-60\n-30\ninf\n30\n60\n");
  write_text ("empty.tlt", "");
  write_text ("empty.mrc", "");
  write_text ("empty.tif", "");
  write_text ("magic.dm3", "this is not a Digital Micrograph file, just some text here\n");
  write_text ("magic.tif", "MM\0");
  {
    g_autoptr(KilnVolume) v = kiln_volume_new (32, 32, 16, &error);
    g_autoptr(KilnLabelVolume) l = kiln_label_volume_new (32, 32, 16, &error);
    g_autofree char *vp = g_build_filename (inputs, "volume.mrc", NULL);
    g_autofree char *lp = g_build_filename (inputs, "labels.mrc", NULL);
    g_assert_no_error (error);
    for (guint z = 0; z < 16; z++)
      for (guint y = 0; y < 32; y++)
        for (guint x = 0; x < 32; x++)
          {
            gsize i = ((gsize) z * 32 + y) * 32 + x;
            double d1 = hypot (hypot (x - 10.0, y - 16.0), z - 8.0);
            double d2 = hypot (hypot (x - 21.0, y - 16.0), z - 8.0);
            v->data[i] = (d1 < 6 || d2 < 6) ? 1.0f : 0.0f;
            l->data[i] = d1 < 6 ? 1 : d2 < 6 ? 2 : 0;
          }
    g_assert_true (kiln_mrc_save_volume (v, vp, NULL, &error));
    g_assert_true (kiln_mrc_save_labels (l, lp, NULL, &error));
    g_assert_no_error (error);
  }

  /* damaged MRC */
  b = read_input ("stack.mrc");
  g_byte_array_set_size (b, b->len / 2);
  write_input ("trunc.mrc", b);
  g_byte_array_unref (b);
  b = read_input ("stack.mrc");
  memcpy (b->data + 208, "PAM ", 4);
  memcpy (b->data, "JUNK", 4);
  write_input ("magic.mrc", b);
  write_input ("bad" U8 ".mrc", b);
  g_byte_array_unref (b);
  b = read_input ("stack.mrc");
  put_le32 (b, 0, 60000);
  put_le32 (b, 4, 60000);
  put_le32 (b, 8, 60000);
  write_input ("huge.mrc", b);
  g_byte_array_unref (b);
  b = read_input ("stack.mrc");
  put_le32 (b, 4, (guint32) -64);
  write_input ("negative.mrc", b);
  g_byte_array_unref (b);
  b = read_input ("stack.mrc");
  put_le32 (b, 1024 + 4 * 100, nan_bits);
  write_input ("nan.mrc", b);
  g_byte_array_unref (b);
  b = read_input ("volume.mrc");
  put_le32 (b, b->len - 4 * 10, nan_bits);
  write_input ("nan-volume.mrc", b);
  g_byte_array_unref (b);

  /* damaged TIFF (libtiff writes little-endian classic TIFF here) */
  b = read_input ("stack.tif");
  g_byte_array_set_size (b, b->len / 3);
  write_input ("trunc.tif", b);
  g_byte_array_unref (b);
  b = read_input ("stack.tif");
  g_assert_true (b->data[0] == 'I');
  ifd = b->data[4] | b->data[5] << 8 | b->data[6] << 16 | (guint32) b->data[7] << 24;
  {
    guint n = b->data[ifd] | b->data[ifd + 1] << 8;
    guint32 strip = 0;
    for (guint i = 0; i < n; i++)
      {
        gsize e = ifd + 2 + 12 * (gsize) i;
        guint tag = b->data[e] | b->data[e + 1] << 8;
        if (tag == 273)
          strip = b->data[e + 8] | b->data[e + 9] << 8 | b->data[e + 10] << 16
                  | (guint32) b->data[e + 11] << 24;
      }
    g_assert_cmpuint (strip, >, 0);
    put_le32 (b, strip + 4 * 33, nan_bits);
    write_input ("nan.tif", b);
    for (guint i = 0; i < n; i++)
      {
        gsize e = ifd + 2 + 12 * (gsize) i;
        guint tag = b->data[e] | b->data[e + 1] << 8;
        if (tag == 256 || tag == 257)
          put_le32 (b, e + 8, 3000000000u);
      }
    write_input ("huge.tif", b);
  }

  /* experiments: a valid one made by simulate, then damaged copies */
  {
    g_autofree char *sim = g_build_filename (inputs, "angles-exp", NULL);
    g_autofree char *err = NULL;
    g_autofree char *sim_out = NULL;   /* captured: stdout is the TAP stream */
    g_autofree char *exp = NULL;
    g_autofree char *tlt = NULL;
    g_autofree char *json = NULL;
    int rc = kiln_test_run_cli (&sim_out, &err, "simulate", sim, "--time-points", "1", "--size", "32",
                                "--no-truth-volumes", NULL);
    if (rc != 0)
      g_error ("simulate failed: %s", err);
    /* the angle file now holds 3 angles for a longer tilt series */
    exp = g_build_filename (sim, "experiment.json", NULL);
    g_assert_true (g_file_get_contents (exp, &json, NULL, NULL));
    {
      g_autoptr(KilnExperiment) e = kiln_experiment_load (exp, &error);
      g_assert_no_error (error);
      KilnExperimentTimePoint *tp = g_ptr_array_index (e->time_points, 0);
      g_assert_nonnull (tp->angles);
      tlt = g_build_filename (sim, tp->angles, NULL);
      g_assert_true (g_file_set_contents (tlt, "-30\n0\n30\n", -1, NULL));
      g_free (tp->angles);
      tp->angles = g_strdup ("three.tlt");
      {
        g_autofree char *three = g_build_filename (sim, "three.tlt", NULL);
        g_assert_cmpint (g_rename (tlt, three), ==, 0);
      }
      g_assert_true (kiln_experiment_save (e, sim, &error));
      g_assert_no_error (error);
    }
    write_text ("empty-exp/experiment.json", "");
    write_text ("bad" U8 "-exp/experiment.json", "{\"format_version\": 1, ");
    write_text ("inf-exp/experiment.json",
                "{\"format_version\": 1, \"pixel_size_nm\": 1e999, \"time_points\": "
                "[{\"name\": \"a\", \"pt_time_s\": 0, \"tilts\": \"a.mrc\"}]}");
  }
}

/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  guint flags;
} ChildSetup;

static void
child_setup (gpointer data)
{
  const ChildSetup *cs = data;

  if (cs->flags & FULL)
    {
      struct rlimit rl = { 4096, 4096 };
      signal (SIGXFSZ, SIG_IGN);   /* stays ignored across exec */
      setrlimit (RLIMIT_FSIZE, &rl);
    }
  if ((cs->flags & RO) && geteuid () == 0)
    {
      /* root ignores permissions: run as nobody so that the read-only folder refuses writes */
      if (setgid (65534) != 0 || setuid (65534) != 0)
        _exit (99);
    }
}

/* Whether user "nobody" can run kiln-cli and read the inputs (every folder above them must let
 * others through); the read-only rows need it when the test runs as root. */
static gboolean
nobody_can_run (void)
{
  static int cached = -1;

  if (cached < 0)
    {
      pid_t pid = fork ();
      int status = 0;

      if (pid == 0)
        {
          if (setgid (65534) != 0 || setuid (65534) != 0)
            _exit (1);
          _exit (access (g_getenv ("KILN_CLI"), X_OK) == 0 && access (inputs, R_OK | X_OK) == 0
                 ? 0 : 1);
        }
      cached = pid > 0 && waitpid (pid, &status, 0) == pid && WIFEXITED (status) &&
               WEXITSTATUS (status) == 0;
    }
  return cached;
}

/* Expand a placeholder into a path. */
static char *
expand (const char *arg,
        const char *out_dir,
        const char *ro_dir)
{
  if (g_str_has_prefix (arg, "@o/"))
    return g_build_filename (out_dir, arg + 3, NULL);
  if (g_str_has_prefix (arg, "@ro/"))
    return g_build_filename (ro_dir, arg + 4, NULL);
  if (arg[0] == '@')
    return g_build_filename (inputs, arg + 1, NULL);
  return g_strdup (arg);
}

static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GString) s = g_string_new (NULL);
  const char *n;

  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    g_string_append_printf (s, "%s ", n);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_row (gconstpointer data)
{
  const Row *r = data;
  guint index = (guint) (r - rows);
  g_autofree char *row_dir = g_strdup_printf ("%s/row-%03u", kiln_test_tmpdir (), index);
  g_autofree char *out_dir = g_build_filename (row_dir, "o", NULL);
  g_autofree char *ro_dir = g_build_filename (row_dir, "ro", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL, *left = NULL, *left_ro = NULL;
  g_autofree char *prefix = NULL;
  ChildSetup cs = { r->flags };
  int status = 0, code;
  gint64 t0;

  if (inputs == NULL)
    make_inputs ();
  if ((r->flags & RO) && geteuid () == 0 && !nobody_can_run ())
    {
      g_test_skip ("running as root, and user nobody cannot reach kiln-cli or the inputs "
                   "(a folder above them is not world-readable)");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (out_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (ro_dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (row_dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (ro_dir, 0555), ==, 0);

  g_ptr_array_add (argv, g_strdup (g_getenv ("KILN_CLI")));
  for (guint i = 0; i < G_N_ELEMENTS (r->args) && r->args[i] != NULL; i++)
    g_ptr_array_add (argv, expand (r->args[i], out_dir, ro_dir));
  g_ptr_array_add (argv, NULL);

  t0 = g_get_monotonic_time ();
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, child_setup, &cs,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_chmod (ro_dir, 0755);
  if (!WIFEXITED (status))
    FAIL ("kiln-cli %s crashed (signal %d): %s", r->args[0], WTERMSIG (status), err);
  code = WEXITSTATUS (status);
  g_test_message ("exit %d after %.2f s, stderr: %s", code,
                  (g_get_monotonic_time () - t0) / 1e6, err);
  if (code != r->code)
    FAIL ("kiln-cli %s: exit %d, expected %d; stderr: %s", r->args[0], code, r->code, err);

  prefix = g_strdup_printf ("kiln-cli %s:", r->args[0]);
  if (strstr (err, prefix) == NULL)
    FAIL ("stderr lacks “%s”: %s", prefix, err);
  if (strstr (err, r->what) == NULL)
    FAIL ("stderr lacks “%s”: %s", r->what, err);
  if (r->names != NULL)
    {
      g_autofree char *path = expand (r->names, out_dir, ro_dir);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *display = g_filename_display_name (base);
      if (strstr (err, display) == NULL)
        FAIL ("stderr does not name “%s”: %s", display, err);
    }
  g_assert_true (g_utf8_validate (err, -1, NULL));
  /* nothing half-written, no temp file left */
  left = list_dir (out_dir);
  left_ro = list_dir (ro_dir);
  g_assert_cmpstr (left, ==, "");
  g_assert_cmpstr (left_ro, ==, "");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *r = &rows[i];
      g_autofree char *p = g_strdup_printf ("/cli/bad-input/%s/%03u%s%s", r->args[0], i,
                                            r->flags & RO ? "-read-only" : "",
                                            r->flags & FULL ? "-disk-full" : "");
      g_test_add_data_func (p, r, test_row);
    }
  return g_test_run ();
}
