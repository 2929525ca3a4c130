/* kiln-png.c — a small PNG writer with stored deflate blocks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-png.h"

#include <math.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-io.h"

static guint32 crc_table[256];

static void
init_crc_table (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      for (guint32 n = 0; n < 256; n++)
        {
          guint32 c = n;
          for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
          crc_table[n] = c;
        }
      g_once_init_leave (&done, 1);
    }
}

static guint32
crc_update (guint32 crc, const guint8 *data, gsize length)
{
  guint32 c = crc;

  for (gsize i = 0; i < length; i++)
    c = crc_table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c;
}

guint32
kiln_png_crc32 (const guint8 *data, gsize length)
{
  init_crc_table ();
  return crc_update (0xffffffffu, data, length) ^ 0xffffffffu;
}

guint32
kiln_png_adler32 (const guint8 *data, gsize length)
{
  guint32 a = 1, b = 0;

  while (length > 0)
    {
      gsize n = MIN (length, (gsize) 5552);   /* largest n without overflow before the modulo */

      length -= n;
      while (n--)
        {
          a += *data++;
          b += a;
        }
      a %= 65521;
      b %= 65521;
    }
  return (b << 16) | a;
}

static void
put_be32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (out, b, 4);
}

static void
put_chunk (GByteArray *out, const char *type, const guint8 *data, gsize length)
{
  guint32 crc;

  put_be32 (out, (guint32) length);
  g_byte_array_append (out, (const guint8 *) type, 4);
  if (length)
    g_byte_array_append (out, data, (guint) length);
  init_crc_table ();
  crc = crc_update (0xffffffffu, (const guint8 *) type, 4);
  crc = crc_update (crc, data, length) ^ 0xffffffffu;
  put_be32 (out, crc);
}

guint8 *
kiln_png_encode_gray8 (const guint8 *pixels, guint width, guint height, gsize *length)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GByteArray *out = g_byte_array_new ();
  GByteArray *z = g_byte_array_new ();
  gsize raw_len = (gsize) (width + 1) * height, pos = 0;
  guint8 *raw = g_malloc (MAX (raw_len, 1));
  guint8 ihdr[13];

  g_return_val_if_fail (pixels != NULL && width > 0 && height > 0, NULL);

  /* filter byte 0 (None) before every row */
  for (guint y = 0; y < height; y++)
    {
      raw[(gsize) y * (width + 1)] = 0;
      memcpy (raw + (gsize) y * (width + 1) + 1, pixels + (gsize) y * width, width);
    }

  /* zlib header: deflate, 32 K window, no dictionary, check bits (0x7801 % 31 == 0) */
  g_byte_array_append (z, (const guint8 *) "\x78\x01", 2);
  do
    {
      gsize n = MIN (raw_len - pos, (gsize) 65535);
      guint8 hdr[5];

      hdr[0] = pos + n >= raw_len ? 1 : 0;   /* BFINAL, BTYPE = 00 (stored) */
      hdr[1] = n & 0xff;
      hdr[2] = n >> 8;
      hdr[3] = ~n & 0xff;
      hdr[4] = (~n >> 8) & 0xff;
      g_byte_array_append (z, hdr, 5);
      g_byte_array_append (z, raw + pos, (guint) n);
      pos += n;
    }
  while (pos < raw_len);
  put_be32 (z, kiln_png_adler32 (raw, raw_len));

  g_byte_array_append (out, signature, 8);
  ihdr[0] = width >> 24;
  ihdr[1] = (width >> 16) & 0xff;
  ihdr[2] = (width >> 8) & 0xff;
  ihdr[3] = width & 0xff;
  ihdr[4] = height >> 24;
  ihdr[5] = (height >> 16) & 0xff;
  ihdr[6] = (height >> 8) & 0xff;
  ihdr[7] = height & 0xff;
  ihdr[8] = 8;    /* bit depth */
  ihdr[9] = 0;    /* greyscale */
  ihdr[10] = 0;   /* deflate */
  ihdr[11] = 0;   /* adaptive filtering */
  ihdr[12] = 0;   /* no interlace */
  put_chunk (out, "IHDR", ihdr, 13);
  put_chunk (out, "IDAT", z->data, z->len);
  put_chunk (out, "IEND", NULL, 0);

  g_free (raw);
  g_byte_array_unref (z);
  *length = out->len;
  return g_byte_array_free (out, FALSE);
}

static gboolean
kiln_png_save_gray8_unchecked (const char   *path,
                     const guint8 *pixels,
                     guint         width,
                     guint         height,
                     GError      **error)
{
  g_autofree guint8 *bytes = NULL;
  gsize len = 0;

  if (width == 0 || height == 0 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s: cannot write a PNG of %u × %u px", path, width, height);
      return FALSE;
    }
  bytes = kiln_png_encode_gray8 (pixels, width, height, &len);
  return kiln_io_write_file (path, bytes, len, error);
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static gboolean
kiln_png_save_float_unchecked (const char  *path,
                     const float *data,
                     guint        width,
                     guint        height,
                     double       lo,
                     double       hi,
                     GError     **error)
{
  gsize n = (gsize) width * height;
  guint8 *pix;
  gboolean ok;

  if (width == 0 || height == 0 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s: cannot write a PNG of %u × %u px", path, width, height);
      return FALSE;
    }
  if (!(hi > lo))
    {
      float *sorted = kiln_alloc (n, sizeof (float), FALSE, "PNG value range", error);
      gsize m = 0;

      if (sorted == NULL)
        return FALSE;
      for (gsize i = 0; i < n; i++)
        if (isfinite (data[i]))
          sorted[m++] = data[i];
      if (m > 0)
        {
          qsort (sorted, m, sizeof (float), cmp_float);
          lo = sorted[(gsize) (0.005 * (m - 1))];
          hi = sorted[(gsize) (0.995 * (m - 1))];
        }
      kiln_free (sorted);
      if (!(hi > lo))
        hi = lo + 1;
    }
  pix = kiln_alloc (n, 1, FALSE, "PNG pixels", error);
  if (pix == NULL)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      double v = isfinite (data[i]) ? (data[i] - lo) / (hi - lo) * 255.0 : 0.0;
      pix[i] = (guint8) CLAMP (lround (v), 0, 255);
    }
  ok = kiln_png_save_gray8 (path, pix, width, height, error);
  kiln_free (pix);
  return ok;
}

gboolean
kiln_png_save_gray8 (const char   *path,
                     const guint8 *pixels,
                     guint         width,
                     guint         height,
                     GError      **error)
{
  gboolean result = kiln_png_save_gray8_unchecked (path, pixels, width, height, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_png_save_float (const char  *path,
                     const float *data,
                     guint        width,
                     guint        height,
                     double       lo,
                     double       hi,
                     GError     **error)
{
  gboolean result = kiln_png_save_float_unchecked (path, data, width, height, lo, hi, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
