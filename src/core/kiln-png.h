/* kiln-png.h — a small PNG writer (8-bit greyscale, stored deflate blocks: no compression
 * library needed) for previews and figures
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The PNG file bytes of a @width × @height 8-bit greyscale image (row-major, @pixels[y*width+x]),
 * zlib stream of stored (uncompressed) deflate blocks. Free with g_free. */
guint8  *kiln_png_encode_gray8     (const guint8  *pixels,
                                    guint          width,
                                    guint          height,
                                    gsize         *length);

/* Save as PNG, atomically. */
gboolean kiln_png_save_gray8       (const char    *path,
                                    const guint8  *pixels,
                                    guint          width,
                                    guint          height,
                                    GError       **error);

/* Save float data as 8-bit greyscale, mapping [@lo, @hi] to [0, 255] (clamped); when lo ≥ hi the
 * 0.5 % and 99.5 % percentiles of the finite values are used. NaN → 0. */
gboolean kiln_png_save_float       (const char    *path,
                                    const float   *data,
                                    guint          width,
                                    guint          height,
                                    double         lo,
                                    double         hi,
                                    GError       **error);

/* CRC-32 (ISO 3309, as PNG uses) and Adler-32 (zlib), exposed for tests. */
guint32  kiln_png_crc32            (const guint8  *data,
                                    gsize          length);
guint32  kiln_png_adler32          (const guint8  *data,
                                    gsize          length);

G_END_DECLS
