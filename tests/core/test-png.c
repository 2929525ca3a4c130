/* test-png.c — the PNG writer: checksums against known values, a full decode of the stream
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "kiln-test-util.h"

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void
test_checksums (void)
{
  /* published check values: CRC-32("123456789") = 0xCBF43926,
   * Adler-32("Wikipedia") = 0x11E60398 */
  g_assert_cmphex (kiln_png_crc32 ((const guint8 *) "123456789", 9), ==, 0xcbf43926u);
  g_assert_cmphex (kiln_png_adler32 ((const guint8 *) "Wikipedia", 9), ==, 0x11e60398u);
  g_assert_cmphex (kiln_png_adler32 (NULL, 0), ==, 1u);
}

/* Decode our own PNG (stored blocks only) and check every byte of structure and pixels. */
static void
check_roundtrip (guint w, guint h)
{
  g_autofree guint8 *pix = g_new (guint8, (gsize) w * h);
  g_autofree guint8 *png = NULL;
  g_autoptr(GByteArray) raw = g_byte_array_new ();
  gsize len = 0, pos = 8, zpos;
  guint8 *idat = NULL;
  gsize idat_len = 0;

  for (gsize i = 0; i < (gsize) w * h; i++)
    pix[i] = (guint8) (i * 7 + i / w);
  png = kiln_png_encode_gray8 (pix, w, h, &len);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  while (pos < len)
    {
      guint32 clen = be32 (png + pos);
      const guint8 *type = png + pos + 4;

      g_assert_cmpuint (pos + 12 + clen, <=, len);
      /* chunk CRC covers type and data */
      g_assert_cmphex (kiln_png_crc32 (type, 4 + clen), ==, be32 (png + pos + 8 + clen));
      if (memcmp (type, "IHDR", 4) == 0)
        {
          g_assert_cmpuint (be32 (type + 4), ==, w);
          g_assert_cmpuint (be32 (type + 8), ==, h);
          g_assert_cmpuint (type[12], ==, 8);
          g_assert_cmpuint (type[13], ==, 0);
        }
      else if (memcmp (type, "IDAT", 4) == 0)
        {
          idat = (guint8 *) type + 4;
          idat_len = clen;
        }
      pos += 12 + clen;
    }
  g_assert_cmpuint (pos, ==, len);
  g_assert_nonnull (idat);
  g_assert_cmpuint ((idat[0] * 256u + idat[1]) % 31, ==, 0);
  zpos = 2;
  for (;;)
    {
      guint8 final = idat[zpos] & 1;
      guint n = idat[zpos + 1] | (idat[zpos + 2] << 8);
      guint nn = idat[zpos + 3] | (idat[zpos + 4] << 8);

      g_assert_cmpuint ((idat[zpos] >> 1) & 3, ==, 0);
      g_assert_cmpuint (n ^ 0xffff, ==, nn);
      g_byte_array_append (raw, idat + zpos + 5, n);
      zpos += 5 + n;
      if (final)
        break;
    }
  g_assert_cmpuint (zpos + 4, ==, idat_len);
  g_assert_cmphex (kiln_png_adler32 (raw->data, raw->len), ==, be32 (idat + zpos));
  g_assert_cmpuint (raw->len, ==, (gsize) (w + 1) * h);
  for (guint y = 0; y < h; y++)
    {
      g_assert_cmpuint (raw->data[(gsize) y * (w + 1)], ==, 0);
      g_assert_cmpmem (raw->data + (gsize) y * (w + 1) + 1, w, pix + (gsize) y * w, w);
    }
}

static void
test_roundtrip (void)
{
  check_roundtrip (1, 1);
  check_roundtrip (37, 11);
  check_roundtrip (300, 260);   /* > 65535 bytes: several stored blocks */
}

static void
test_save_float (void)
{
  g_autofree char *path = kiln_test_tmpfile ("ramp.png");
  g_autofree char *bytes = NULL;
  g_autoptr(GError) error = NULL;
  float data[4 * 2] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  gsize len;

  g_assert_true (kiln_png_save_float (path, data, 4, 2, 0, 7, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  /* pixels sit after signature (8) + IHDR (25) + IDAT header (8) + zlib (2) + block (5) + filter */
  g_assert_cmpuint ((guint8) bytes[8 + 25 + 8 + 2 + 5 + 1], ==, 0);
  g_assert_cmpuint ((guint8) bytes[8 + 25 + 8 + 2 + 5 + 1 + 5 + 3], ==, 255);   /* row 2, last */
  g_assert_false (kiln_png_save_float (path, data, 0, 2, 0, 1, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/png/checksums", test_checksums);
  g_test_add_func ("/png/roundtrip", test_roundtrip);
  g_test_add_func ("/png/save-float", test_save_float);
  return g_test_run ();
}
