/* test-mrc.c — MRC2014 reader/writer: round trips, byte-level crafted files, bad input
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-test-util.h"

#define assert_error_names(err, dom, code, path) G_STMT_START {                          \
    g_assert_error ((err), (dom), (code));                                               \
    if (strstr ((err)->message, (path)) == NULL)                                         \
      g_error ("message “%s” does not name the file %s", (err)->message, (path));        \
  } G_STMT_END

/* ------------------------------------------------------------------------------------------ */
/* A byte-level MRC writer for crafting test files independently of kiln-mrc.c                 */

typedef struct
{
  gboolean be;          /* byte order of the file */
  gboolean stamp;       /* write the machine stamp and "MAP " */
  gint32   nx, ny, nz, mode;
  gint32   mx;
  float    cella_x;
  gint32   nsymbt;
  char     exttyp[5];
  gint32   imod_flags;  /* < 0: no IMOD stamp */
} Craft;

static void
put32 (GByteArray *b,
       gsize       off,
       guint32     v,
       gboolean    be)
{
  for (int i = 0; i < 4; i++)
    b->data[off + i] = be ? (v >> (24 - 8 * i)) & 0xff : (v >> (8 * i)) & 0xff;
}

static void
putf (GByteArray *b,
      gsize       off,
      float       f,
      gboolean    be)
{
  guint32 u;
  memcpy (&u, &f, 4);
  put32 (b, off, u, be);
}

static void
put64 (guint8  *p,
       double   d,
       gboolean be)
{
  guint64 u;
  memcpy (&u, &d, 8);
  for (int i = 0; i < 8; i++)
    p[be ? 7 - i : i] = (u >> (8 * i)) & 0xff;
}

static GByteArray *
craft_header (const Craft *c)
{
  GByteArray *b = g_byte_array_new ();

  g_byte_array_set_size (b, 1024 + (c->nsymbt > 0 ? c->nsymbt : 0));
  memset (b->data, 0, b->len);
  put32 (b, 0, c->nx, c->be);
  put32 (b, 4, c->ny, c->be);
  put32 (b, 8, c->nz, c->be);
  put32 (b, 12, c->mode, c->be);
  put32 (b, 28, c->mx, c->be);
  put32 (b, 32, c->ny, c->be);
  put32 (b, 36, c->nz, c->be);
  putf (b, 40, c->cella_x, c->be);
  put32 (b, 92, c->nsymbt, c->be);
  memcpy (b->data + 104, c->exttyp, 4);
  if (c->imod_flags >= 0)
    {
      put32 (b, 152, 1146047817, c->be);
      put32 (b, 156, c->imod_flags, c->be);
    }
  if (c->stamp)
    {
      memcpy (b->data + 208, "MAP ", 4);
      b->data[212] = c->be ? 0x11 : 0x44;
      b->data[213] = c->be ? 0x11 : 0x44;
    }
  return b;
}

static void
append_value (GByteArray *b,
              int         mode,
              double      v,
              gboolean    be)
{
  guint8 tmp[4];
  guint32 u = 0;
  gsize n = mode == 0 ? 1 : (mode == 2 ? 4 : 2);

  switch (mode)
    {
    case 0: u = (guint8) (gint8) v; break;
    case 1: u = (guint16) (gint16) v; break;
    case 6: u = (guint16) v; break;
    case 2: { float f = (float) v; memcpy (&u, &f, 4); } break;
    default: g_assert_not_reached ();
    }
  for (gsize i = 0; i < n; i++)
    tmp[i] = be ? (u >> (8 * (n - 1 - i))) & 0xff : (u >> (8 * i)) & 0xff;
  g_byte_array_append (b, tmp, n);
}

static Craft
craft_default (int      mode,
               gboolean be)
{
  Craft c = { be, TRUE, 5, 3, 2, mode, 5, 52.0f, 0, "", -1 };
  return c;
}

/* Value of pixel i in the crafted files: fits every integer mode (−60 … 59). */
static double
crafted_value (int  mode,
               gsize i)
{
  double v = (double) ((gint) (i * 7 % 120)) - 60.0;
  if (mode == 6)
    v = 1000.0 + i * 311;   /* uint16, above 255 so both bytes matter */
  else if (mode == 1)
    v = -20000.0 + i * 1237;
  else if (mode == 2)
    v = -1.5e3 + i * 0.25;
  return v;
}

static char *
write_crafted (const char  *name,
               const Craft *c)
{
  g_autoptr(GByteArray) b = craft_header (c);
  char *path = kiln_test_tmpfile (name);
  gsize n = (gsize) c->nx * c->ny * c->nz;

  for (gsize i = 0; i < n; i++)
    append_value (b, c->mode, crafted_value (c->mode, i), c->be);
  kiln_test_write_bytes (path, b->data, b->len);
  return path;
}

/* Every mode × byte order, crafted byte by byte, reads back the exact values. */
static void
test_modes_both_endians (void)
{
  const int modes[] = { 0, 1, 2, 6 };

  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    for (int be = 0; be < 2; be++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(KilnImageStack) s = NULL;
        g_autofree char *name = g_strdup_printf ("mode%d-%s.mrc", modes[m], be ? "be" : "le");
        Craft c = craft_default (modes[m], be);
        g_autofree char *path = write_crafted (name, &c);
        KilnMrcInfo info;

        g_assert_true (kiln_mrc_read_info (path, &info, &error));
        g_assert_no_error (error);
        g_assert_cmpint (info.mode, ==, modes[m]);
        g_assert_cmpint (info.big_endian, ==, be);
        g_assert_cmpuint (info.nx, ==, 5);
        g_assert_cmpuint (info.ny, ==, 3);
        g_assert_cmpuint (info.nz, ==, 2);
        /* cella 52 Å over mx 5 → 10.4 Å = 1.04 nm (float32 header: 1e-6 relative) */
        g_assert_cmpfloat_with_epsilon (info.pixel_size_nm, 1.04, 1e-6);

        s = kiln_mrc_load_stack (path, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (s->n_tilts, ==, 2);
        g_assert_cmpuint (s->width, ==, 5);
        g_assert_cmpuint (s->height, ==, 3);
        g_assert_cmpfloat_with_epsilon (s->pixel_size_nm, 1.04, 1e-6);
        /* exact: every crafted value is representable in float32 */
        for (gsize i = 0; i < 30; i++)
          g_assert_cmpfloat (s->data[i], ==, (float) crafted_value (modes[m], i));
      }
}

/* Mode 12 (IEEE half): known bit patterns, both byte orders. */
static void
test_mode12 (void)
{
  static const struct { guint16 bits; float value; } halves[] = {
    { 0x0000, 0.0f }, { 0x3c00, 1.0f }, { 0x3e00, 1.5f }, { 0xc000, -2.0f },
    { 0x7bff, 65504.0f }, { 0x0001, 5.9604644775390625e-8f }, { 0x0400, 6.103515625e-5f },
    { 0x3555, 0.333251953125f }, { 0xfbff, -65504.0f }, { 0x5640, 100.0f },
  };

  for (int be = 0; be < 2; be++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnImageStack) s = NULL;
      g_autofree char *path = kiln_test_tmpfile (be ? "half-be.mrc" : "half-le.mrc");
      Craft c = craft_default (12, be);
      g_autoptr(GByteArray) b = NULL;

      c.nx = 5;
      c.ny = 2;
      c.nz = 1;
      b = craft_header (&c);
      for (guint i = 0; i < G_N_ELEMENTS (halves); i++)
        {
          guint8 t[2] = { halves[i].bits & 0xff, halves[i].bits >> 8 };
          if (be)
            {
              guint8 x = t[0];
              t[0] = t[1];
              t[1] = x;
            }
          g_byte_array_append (b, t, 2);
        }
      kiln_test_write_bytes (path, b->data, b->len);
      s = kiln_mrc_load_stack (path, NULL, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < G_N_ELEMENTS (halves); i++)
        g_assert_cmpfloat (s->data[i], ==, halves[i].value);   /* exact */
    }
}

/* Without machine stamp and "MAP " (old files), the plausible byte order is used. */
static void
test_no_stamp (void)
{
  for (int be = 0; be < 2; be++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnImageStack) s = NULL;
      Craft c = craft_default (1, be);
      g_autofree char *path = NULL;

      c.stamp = FALSE;
      path = write_crafted (be ? "nostamp-be.mrc" : "nostamp-le.mrc", &c);
      s = kiln_mrc_load_stack (path, NULL, &error);
      g_assert_no_error (error);
      for (gsize i = 0; i < 30; i++)
        g_assert_cmpfloat (s->data[i], ==, (float) crafted_value (1, i));
    }
}

/* Old IMOD files without the signed-bytes flag store mode 0 as unsigned. */
static void
test_imod_unsigned_bytes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = NULL;
  g_autofree char *path = kiln_test_tmpfile ("ubyte.mrc");
  Craft c = craft_default (0, FALSE);
  g_autoptr(GByteArray) b = NULL;
  guint8 v[2] = { 200, 7 };

  c.nx = 2;
  c.ny = 1;
  c.nz = 1;
  c.imod_flags = 0;
  b = craft_header (&c);
  g_byte_array_append (b, v, 2);
  kiln_test_write_bytes (path, b->data, b->len);
  s = kiln_mrc_load_stack (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (s->data[0], ==, 200.0f);
  g_assert_cmpfloat (s->data[1], ==, 7.0f);

  /* with the flag set the same byte is −56 */
  g_clear_pointer (&s, kiln_image_stack_unref);
  put32 (b, 156, 1, FALSE);
  kiln_test_write_bytes (path, b->data, b->len);
  s = kiln_mrc_load_stack (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (s->data[0], ==, -56.0f);
}

/* An extended header is skipped; FEI1 alpha tilts become the stack's angles. */
static void
test_extended_header (void)
{
  for (int fei = 0; fei < 2; fei++)
    for (int be = 0; be < 2; be++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(KilnImageStack) s = NULL;
        g_autofree char *path = kiln_test_tmpfile ("ext.mrc");
        const gint32 block = 768;
        Craft c = craft_default (2, be);
        g_autoptr(GByteArray) b = NULL;
        KilnMrcInfo info;

        c.nz = 3;
        c.nsymbt = block * c.nz + 128;   /* FEI pads; the extra bytes must be skipped too */
        if (fei)
          memcpy (c.exttyp, "FEI1", 4);
        b = craft_header (&c);
        memset (b->data + 1024, 0xab, c.nsymbt);
        for (int k = 0; k < c.nz; k++)
          {
            put32 (b, 1024 + k * block, block, be);
            put64 (b->data + 1024 + k * block + 100, -30.0 + 30.0 * k, be);
          }
        for (gsize i = 0; i < 45; i++)
          append_value (b, 2, crafted_value (2, i), be);
        kiln_test_write_bytes (path, b->data, b->len);

        g_assert_true (kiln_mrc_read_info (path, &info, &error));
        g_assert_cmpuint (info.data_offset, ==, 1024 + c.nsymbt);
        g_assert_cmpuint (info.n_ext_bytes, ==, c.nsymbt);
        g_assert_cmpstr (info.ext_type, ==, fei ? "FEI1" : "");
        s = kiln_mrc_load_stack (path, NULL, &error);
        g_assert_no_error (error);
        for (gsize i = 0; i < 45; i++)
          g_assert_cmpfloat (s->data[i], ==, (float) crafted_value (2, i));
        g_assert_cmpint (s->has_angles, ==, fei);
        if (fei)
          for (int k = 0; k < 3; k++)
            g_assert_cmpfloat (s->angles_deg[k], ==, -30.0 + 30.0 * k);
      }
}

static KilnImageStack *
make_stack (guint n,
            guint w,
            guint h)
{
  g_autoptr(GError) error = NULL;
  KilnImageStack *s = kiln_image_stack_new (n, w, h, &error);
  GRand *rand = g_rand_new_with_seed (42);

  g_assert_no_error (error);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (s); i++)
    s->data[i] = (float) g_rand_double_range (rand, -1000.0, 5000.0);
  g_rand_free (rand);
  s->pixel_size_nm = 1.04;
  return s;
}

/* Stack round trip, header statistics, label, "MAP " and machine stamp. */
static void
test_stack_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = make_stack (4, 64, 48);
  g_autoptr(KilnImageStack) r = NULL;
  g_autofree char *path = kiln_test_tmpfile ("stack.mrc");
  g_autofree char *bytes = NULL;
  gsize len;
  KilnMrcInfo info;
  KilnStats st;

  g_assert_true (kiln_mrc_save_stack (s, path, "Kiln test stack", &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpuint (len, ==, 1024 + 4 * 64 * 48 * 4);
  g_assert_cmpmem (bytes + 208, 4, "MAP ", 4);
  g_assert_cmpint ((guint8) bytes[212], ==, G_BYTE_ORDER == G_LITTLE_ENDIAN ? 0x44 : 0x11);

  g_assert_true (kiln_mrc_read_info (path, &info, &error));
  kiln_image_stack_stats (s, &st);
  g_assert_cmpint (info.mode, ==, 2);
  g_assert_cmpstr (info.label, ==, "Kiln test stack");
  /* header values are float32: relative 1e-6 */
  g_assert_cmpfloat_with_epsilon (info.pixel_size_nm, 1.04, 1e-6);
  g_assert_cmpfloat_with_epsilon (info.dmin, st.min, 1e-6 * fabs (st.min));
  g_assert_cmpfloat_with_epsilon (info.dmax, st.max, 1e-6 * fabs (st.max));
  g_assert_cmpfloat_with_epsilon (info.dmean, st.mean, 1e-6 * fabs (st.mean));
  g_assert_cmpfloat_with_epsilon (info.rms, st.rms, 1e-6 * fabs (st.rms));
  g_assert_cmpfloat (info.dmin, >=, -1000.0);
  g_assert_cmpfloat (info.dmax, <=, 5000.0);

  r = kiln_mrc_load_stack (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->n_tilts, ==, 4);
  g_assert_cmpuint (r->width, ==, 64);
  g_assert_cmpuint (r->height, ==, 48);
  g_assert_cmpmem (r->data, 4 * 64 * 48 * sizeof (float), s->data, 4 * 64 * 48 * sizeof (float));

  /* overwriting an existing file works and leaves no temporary file behind */
  g_assert_true (kiln_mrc_save_stack (r, path, NULL, &error));
  {
    g_autoptr(GDir) dir = g_dir_open (kiln_test_tmpdir (), 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_null (strstr (name, ".tmp"));
  }
}

static void
test_volume_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolume) v = kiln_volume_new (17, 9, 5, &error);
  g_autoptr(KilnVolume) r = NULL;
  g_autofree char *path = kiln_test_tmpfile ("vol.mrc");
  KilnMrcInfo info;

  for (gsize i = 0; i < kiln_volume_n_voxels (v); i++)
    v->data[i] = sinf ((float) i * 0.37f) * 100.0f;
  v->voxel_size_nm = 2.5;
  g_assert_true (kiln_mrc_save_volume (v, path, "volume", &error));
  g_assert_no_error (error);
  g_assert_true (kiln_mrc_read_info (path, &info, &error));
  g_assert_cmpuint (info.nx, ==, 17);
  g_assert_cmpuint (info.ny, ==, 9);
  g_assert_cmpuint (info.nz, ==, 5);
  r = kiln_mrc_load_volume (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->nx, ==, 17);
  g_assert_cmpfloat_with_epsilon (r->voxel_size_nm, 2.5, 1e-6);
  g_assert_cmpmem (r->data, kiln_volume_n_voxels (v) * 4, v->data, kiln_volume_n_voxels (v) * 4);
  /* x fastest: voxel (3, 2, 1) */
  g_assert_cmpfloat (KILN_VOXEL (r, 3, 2, 1), ==, v->data[(1 * 9 + 2) * 17 + 3]);
}

static void
test_labels_round_trip (void)
{
  const guint32 maxima[] = { 65535, 70000 };

  for (guint t = 0; t < G_N_ELEMENTS (maxima); t++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnLabelVolume) l = kiln_label_volume_new (8, 6, 4, &error);
      g_autoptr(KilnLabelVolume) r = NULL;
      g_autofree char *path = kiln_test_tmpfile ("labels.mrc");
      KilnMrcInfo info;
      gsize n = kiln_label_volume_n_voxels (l);

      for (gsize i = 0; i < n; i++)
        l->data[i] = (guint32) (i * 37 % 1000);
      l->data[n - 1] = maxima[t];
      l->voxel_size_nm = 1.5;
      g_assert_true (kiln_mrc_save_labels (l, path, "labels", &error));
      g_assert_no_error (error);
      g_assert_true (kiln_mrc_read_info (path, &info, &error));
      /* mode 6 (uint16) while every label fits, else mode 2 */
      g_assert_cmpint (info.mode, ==, maxima[t] <= 65535 ? 6 : 2);
      g_assert_cmpfloat (info.dmax, ==, maxima[t]);
      r = kiln_mrc_load_labels (path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (r->data, n * 4, l->data, n * 4);
      g_assert_cmpfloat_with_epsilon (r->voxel_size_nm, 1.5, 1e-6);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Bad input                                                                                   */

static void
test_bad_truncated_header (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("short.mrc");
  Craft c = craft_default (2, FALSE);
  g_autoptr(GByteArray) b = craft_header (&c);

  kiln_test_write_bytes (path, b->data, 500);
  g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_TRUNCATED, path);
}

static void
test_bad_data_size (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *bytes = NULL;
  gsize len;
  Craft c = craft_default (2, FALSE);

  path = write_crafted ("size.mrc", &c);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));

  /* fewer data than announced */
  kiln_test_write_bytes (path, bytes, len - 6);
  g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_TRUNCATED, path);
  g_clear_error (&error);
  g_assert_false (kiln_mrc_read_info (path, &(KilnMrcInfo) { 0 }, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_TRUNCATED, path);
  g_clear_error (&error);

  /* more data than announced: the header is wrong */
  {
    g_autofree char *more = g_malloc0 (len + 40);
    memcpy (more, bytes, len);
    kiln_test_write_bytes (path, more, len + 40);
  }
  g_assert_null (kiln_mrc_load_volume (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_FORMAT, path);
}

/* 10⁶ × 10⁶ (beyond KILN_MAX_EXTENT), and 65536³ within the extent but not in the file:
 * both refused before any allocation. */
static void
test_bad_dimensions (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("huge.mrc");
  Craft c = craft_default (2, FALSE);
  g_autoptr(GByteArray) b = NULL;

  c.nx = 1000000;
  c.ny = 1000000;
  c.nz = 1;
  b = craft_header (&c);
  kiln_test_write_bytes (path, b->data, b->len);
  g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_INVALID_DATA, path);
  g_clear_error (&error);

  g_byte_array_unref (b);
  c.nx = c.ny = c.nz = 65536;
  b = craft_header (&c);
  kiln_test_write_bytes (path, b->data, b->len);
  g_assert_null (kiln_mrc_load_volume (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_TRUNCATED, path);
  g_clear_error (&error);

  /* negative extended header size */
  g_byte_array_unref (b);
  c = craft_default (2, FALSE);
  c.nsymbt = -5;
  b = craft_header (&c);
  kiln_test_write_bytes (path, b->data, b->len);
  g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_FORMAT, path);
}

static void
test_bad_mode (void)
{
  const int modes[] = { 3, 4, 101, 7 };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = kiln_test_tmpfile ("mode.mrc");
      Craft c = craft_default (modes[i], FALSE);
      g_autoptr(GByteArray) b = craft_header (&c);

      g_byte_array_set_size (b, b->len + 5 * 3 * 2 * 8);
      kiln_test_write_bytes (path, b->data, b->len);
      g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
      assert_error_names (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED, path);
      g_assert_nonnull (strstr (error->message, "mode"));
    }
}

static void
test_bad_magic (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("text.mrc");
  g_autofree char *text = g_malloc (2048);

  for (int i = 0; i < 2048; i++)
    text[i] = "Not an MRC file at all. "[i % 24];
  kiln_test_write_bytes (path, text, 2048);
  g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_FORMAT, path);
}

static void
test_bad_nonfinite (void)
{
  const float bad[] = { NAN, INFINITY, -INFINITY };

  for (guint t = 0; t < G_N_ELEMENTS (bad); t++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = kiln_test_tmpfile ("nan.mrc");
      Craft c = craft_default (2, t == 1);
      g_autoptr(GByteArray) b = craft_header (&c);

      for (gsize i = 0; i < 30; i++)
        append_value (b, 2, i == 17 ? bad[t] : 1.0, c.be);
      kiln_test_write_bytes (path, b->data, b->len);
      g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
      assert_error_names (error, KILN_ERROR, KILN_ERROR_INVALID_DATA, path);
      /* pixel 17 of 5 × 3 × 2: tilt 2 (1-based), x 2, y 0 */
      g_assert_nonnull (strstr (error->message, "x 2, y 0"));
      g_assert_nonnull (strstr (error->message, "tilt 2"));
      g_clear_error (&error);
      g_assert_null (kiln_mrc_load_volume (path, NULL, &error));
      assert_error_names (error, KILN_ERROR, KILN_ERROR_INVALID_DATA, path);
      g_assert_nonnull (strstr (error->message, "x 2, y 0, z 1"));
    }
}

static void
test_bad_labels (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("badlabels.mrc");
  Craft c = craft_default (2, FALSE);
  g_autoptr(GByteArray) b = craft_header (&c);

  for (gsize i = 0; i < 30; i++)
    append_value (b, 2, i == 4 ? 2.5 : 1.0, FALSE);
  kiln_test_write_bytes (path, b->data, b->len);
  g_assert_null (kiln_mrc_load_labels (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_INVALID_DATA, path);
  g_clear_error (&error);

  /* mode 1 with a negative value */
  g_byte_array_unref (b);
  c = craft_default (1, FALSE);
  b = craft_header (&c);
  for (gsize i = 0; i < 30; i++)
    append_value (b, 1, i == 4 ? -3 : 1, FALSE);
  kiln_test_write_bytes (path, b->data, b->len);
  g_assert_null (kiln_mrc_load_labels (path, NULL, &error));
  assert_error_names (error, KILN_ERROR, KILN_ERROR_INVALID_DATA, path);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("does-not-exist.mrc");

  g_assert_null (kiln_mrc_load_stack (path, NULL, &error));
  assert_error_names (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, path);
}

static void
test_cancelled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(KilnImageStack) s = make_stack (2, 16, 16);
  g_autofree char *path = kiln_test_tmpfile ("cancel.mrc");

  g_assert_true (kiln_mrc_save_stack (s, path, NULL, &error));
  g_cancellable_cancel (cancel);
  g_assert_null (kiln_mrc_load_stack (path, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* A save into a folder that does not exist fails cleanly and names the file. */
static void
test_save_fails (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = make_stack (1, 8, 8);
  g_autofree char *path = kiln_test_tmpfile ("no-such-dir/out.mrc");

  g_assert_false (kiln_mrc_save_stack (s, path, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mrc/modes-both-endians", test_modes_both_endians);
  g_test_add_func ("/mrc/mode12", test_mode12);
  g_test_add_func ("/mrc/no-stamp", test_no_stamp);
  g_test_add_func ("/mrc/imod-unsigned-bytes", test_imod_unsigned_bytes);
  g_test_add_func ("/mrc/extended-header", test_extended_header);
  g_test_add_func ("/mrc/stack-round-trip", test_stack_round_trip);
  g_test_add_func ("/mrc/volume-round-trip", test_volume_round_trip);
  g_test_add_func ("/mrc/labels-round-trip", test_labels_round_trip);
  g_test_add_func ("/mrc/bad/truncated-header", test_bad_truncated_header);
  g_test_add_func ("/mrc/bad/data-size", test_bad_data_size);
  g_test_add_func ("/mrc/bad/dimensions", test_bad_dimensions);
  g_test_add_func ("/mrc/bad/mode", test_bad_mode);
  g_test_add_func ("/mrc/bad/magic", test_bad_magic);
  g_test_add_func ("/mrc/bad/nonfinite", test_bad_nonfinite);
  g_test_add_func ("/mrc/bad/labels", test_bad_labels);
  g_test_add_func ("/mrc/bad/missing", test_missing_file);
  g_test_add_func ("/mrc/cancelled", test_cancelled);
  g_test_add_func ("/mrc/save-fails", test_save_fails);
  return g_test_run ();
}
