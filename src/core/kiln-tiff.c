/* kiln-tiff.c — TIFF tilt stacks (libtiff)
 *
 * libtiff reports problems through handlers. Every file is opened with TIFFOpenExt() and
 * per-handle handlers (libtiff ≥ 4.5) whose user data belong to that one call, so concurrent
 * loads in different threads never share state: warnings are dropped, the first error is kept
 * and becomes the GError message (with the file name). The process-wide handlers are
 * cleared once, so that the few code paths of libtiff that do not use the per-handle
 * handlers do not print on stderr either.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <tiffio.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-io.h"
#include "kiln-progress.h"
#include "kiln-tiff.h"

/* Largest strip or tile buffer accepted from a file (decoded bytes). */
#define MAX_BLOCK_BYTES ((guint64) 1 << 30)
/* Strips written are at most this large. */
#define WRITE_STRIP_BYTES ((gsize) 16 << 20)

typedef struct
{
  char *message;   /* first error libtiff reported for this handle */
} TiffErrors;

static int
on_error (TIFF       *tif,
          void       *user_data,
          const char *module,
          const char *fmt,
          va_list     ap)
{
  TiffErrors *errs = user_data;

  if (errs != NULL && errs->message == NULL)
    errs->message = g_strdup_vprintf (fmt, ap);
  return 1;   /* handled: do not call the global handlers */
}

static int
on_warning (TIFF       *tif,
            void       *user_data,
            const char *module,
            const char *fmt,
            va_list     ap)
{
  return 1;   /* silenced */
}

static gpointer
clear_global_handlers (gpointer data)
{
  TIFFSetWarningHandler (NULL);
  TIFFSetErrorHandler (NULL);
  return NULL;
}

static TIFF *
tiff_open (const char  *path,
           const char  *mode,
           TiffErrors  *errs)
{
  static GOnce once = G_ONCE_INIT;
  TIFFOpenOptions *opts;
  TIFF *tif;

  g_once (&once, clear_global_handlers, NULL);
  opts = TIFFOpenOptionsAlloc ();
  TIFFOpenOptionsSetErrorHandlerExtR (opts, on_error, errs);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, on_warning, errs);
  TIFFOpenOptionsSetMaxSingleMemAlloc (opts, (tmsize_t) MIN (kiln_memory_budget (),
                                                             (guint64) G_MAXSSIZE));
  tif = TIFFOpenExt (path, mode, opts);
  TIFFOpenOptionsFree (opts);
  return tif;
}

static void
set_tiff_error (GError     **error,
                int          code,
                const char  *path,
                TiffErrors  *errs,
                const char  *what)
{
  if (errs->message != NULL)
    g_set_error (error, KILN_ERROR, code, "%s: %s (%s)", path, what, errs->message);
  else
    g_set_error (error, KILN_ERROR, code, "%s: %s", path, what);
}

/* Checks the 8-byte header ourselves: wrong magic and truncation get precise errors. */
static gboolean
check_header (const char  *path,
              guint64     *file_size,
              GError     **error)
{
  guint8 h[16] = { 0 };
  GStatBuf st;
  gboolean le, big;
  guint64 ifd;
  FILE *f;
  gsize got;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: not a regular file", path);
      return FALSE;
    }
  *file_size = (guint64) st.st_size;
  f = g_fopen (path, "rb");
  if (f == NULL)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  got = fread (h, 1, sizeof h, f);
  fclose (f);

  le = h[0] == 'I' && h[1] == 'I';
  if (got < 4 || !((le && h[2] == 42 && h[3] == 0) || (le && h[2] == 43 && h[3] == 0) ||
                   (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43))))
    {
      if (got < 4)
        g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                     "%s: the file has %" G_GSIZE_FORMAT " bytes, too short for a TIFF header",
                     path, got);
      else
        g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                     "%s: not a TIFF file (it does not start with “II*” or “MM*”)", path);
      return FALSE;
    }
  big = (le ? h[2] : h[3]) == 43;
  if (got < (big ? 16u : 8u))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                   "%s: the file has %" G_GSIZE_FORMAT " bytes, too short for a TIFF header",
                   path, got);
      return FALSE;
    }
  ifd = 0;
  for (int i = 0; i < (big ? 8 : 4); i++)
    {
      int b = (big ? 8 : 4) + (le ? i : (big ? 7 : 3) - i);
      ifd |= (guint64) h[b] << (8 * i);
    }
  if (ifd >= *file_size)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                   "%s: the first TIFF directory is at byte %" G_GUINT64_FORMAT
                   " but the file ends at byte %" G_GUINT64_FORMAT, path, ifd, *file_size);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading                                                                                     */

typedef struct
{
  guint32  width, height;
  guint16  bps, format, spp;
  gboolean is_float;
} PageInfo;

static gboolean
page_info (TIFF        *tif,
           const char  *path,
           guint        page,
           PageInfo    *pi,
           GError     **error)
{
  guint16 photometric = PHOTOMETRIC_MINISBLACK, compression = COMPRESSION_NONE;

  memset (pi, 0, sizeof *pi);
  if (!TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &pi->width) ||
      !TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &pi->height))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: page %u has no image size", path, page + 1);
      return FALSE;
    }
  if (pi->width == 0 || pi->height == 0 ||
      pi->width > KILN_MAX_EXTENT || pi->height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: impossible image size %u × %u on page %u (each must be 1 … %d)",
                   path, pi->width, pi->height, page + 1, KILN_MAX_EXTENT);
      return FALSE;
    }
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &pi->bps);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &pi->format);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &pi->spp);
  TIFFGetField (tif, TIFFTAG_PHOTOMETRIC, &photometric);
  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &compression);

  if (pi->spp != 1 || photometric == PHOTOMETRIC_PALETTE || photometric == PHOTOMETRIC_RGB)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: page %u is a colour image (%u samples per pixel, photometric %u); "
                   "Kiln reads greyscale images", path, page + 1, pi->spp, photometric);
      return FALSE;
    }
  if (!TIFFIsCODECConfigured (compression))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: page %u uses TIFF compression %u, which this libtiff cannot decode",
                   path, page + 1, compression);
      return FALSE;
    }
  if (pi->format == SAMPLEFORMAT_VOID)
    pi->format = SAMPLEFORMAT_UINT;
  if (pi->format == SAMPLEFORMAT_IEEEFP && (pi->bps == 32 || pi->bps == 64))
    pi->is_float = TRUE;
  else if ((pi->format == SAMPLEFORMAT_UINT || pi->format == SAMPLEFORMAT_INT) &&
           (pi->bps == 8 || pi->bps == 16 || pi->bps == 32))
    pi->is_float = FALSE;
  else
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: page %u has %u-bit samples of format %u; Kiln reads 8/16/32-bit "
                   "integers and 32/64-bit floats", path, page + 1, pi->bps, pi->format);
      return FALSE;
    }
  return TRUE;
}

static void
convert_samples (const void     *src,
                 float          *dst,
                 gsize           n,
                 const PageInfo *pi)
{
#define CONVERT(type) G_STMT_START {                \
    const type *s = src;                            \
    for (gsize i = 0; i < n; i++)                   \
      dst[i] = (float) s[i];                        \
  } G_STMT_END

  if (pi->format == SAMPLEFORMAT_IEEEFP)
    {
      if (pi->bps == 32)
        memcpy (dst, src, n * sizeof (float));
      else
        CONVERT (double);
    }
  else if (pi->format == SAMPLEFORMAT_INT)
    {
      if (pi->bps == 8)
        CONVERT (gint8);
      else if (pi->bps == 16)
        CONVERT (gint16);
      else
        CONVERT (gint32);
    }
  else
    {
      if (pi->bps == 8)
        CONVERT (guint8);
      else if (pi->bps == 16)
        CONVERT (guint16);
      else
        CONVERT (guint32);
    }
#undef CONVERT
}

/* Every strip/tile must lie inside the file: a truncated file is reported as such. */
static gboolean
check_blocks (TIFF           *tif,
              const char     *path,
              guint           page,
              const PageInfo *pi,
              guint64         file_size,
              GError        **error)
{
  guint32 n = TIFFIsTiled (tif) ? TIFFNumberOfTiles (tif) : TIFFNumberOfStrips (tif);
  guint16 compression = COMPRESSION_NONE;
  guint64 need = 0;   /* bytes of one full block when uncompressed */

  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &compression);
  if (compression == COMPRESSION_NONE)
    {
      guint32 bw = pi->width, bh = pi->height;
      if (TIFFIsTiled (tif))
        {
          TIFFGetField (tif, TIFFTAG_TILEWIDTH, &bw);
          TIFFGetField (tif, TIFFTAG_TILELENGTH, &bh);
        }
      else
        TIFFGetFieldDefaulted (tif, TIFFTAG_ROWSPERSTRIP, &bh);
      need = (guint64) bw * MIN (bh, pi->height) * (pi->bps / 8);
    }

  for (guint32 s = 0; s < n; s++)
    {
      int err = 0;
      guint64 off = TIFFGetStrileOffsetWithErr (tif, s, &err);
      guint64 cnt = TIFFGetStrileByteCountWithErr (tif, s, &err);

      if (err != 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                       "%s: page %u: cannot read the position of block %u", path, page + 1, s);
          return FALSE;
        }
      if (off > file_size || cnt > file_size - off)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                       "%s: page %u: image data at bytes %" G_GUINT64_FORMAT " … %"
                       G_GUINT64_FORMAT " lie beyond the end of the file (%" G_GUINT64_FORMAT
                       " bytes)", path, page + 1, off, off + cnt, file_size);
          return FALSE;
        }
      if (need > 0 && !TIFFIsTiled (tif))
        {
          /* the last strip may hold fewer rows */
          guint32 rps = pi->height;
          guint64 rows;
          TIFFGetFieldDefaulted (tif, TIFFTAG_ROWSPERSTRIP, &rps);
          rps = MIN (MAX (rps, 1), pi->height);
          rows = MIN ((guint64) rps, pi->height - MIN ((guint64) s * rps, pi->height));
          if (cnt < rows * pi->width * (pi->bps / 8))
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                           "%s: page %u: strip %u holds %" G_GUINT64_FORMAT " bytes but its "
                           "%" G_GUINT64_FORMAT " rows of %u %u-bit pixels need %" G_GUINT64_FORMAT,
                           path, page + 1, s, cnt, rows, pi->width, pi->bps,
                           rows * pi->width * (pi->bps / 8));
              return FALSE;
            }
        }
      else if (need > 0 && cnt < need)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                       "%s: page %u: tile %u holds %" G_GUINT64_FORMAT " bytes but needs %"
                       G_GUINT64_FORMAT, path, page + 1, s, cnt, need);
          return FALSE;
        }
    }
  return TRUE;
}

/* Reads the current directory (already checked by page_info) into @dst (width × height). */
static gboolean
read_page (TIFF           *tif,
           TiffErrors     *errs,
           const char     *path,
           guint           page,
           const PageInfo *pi,
           guint64         file_size,
           float          *dst,
           GError        **error)
{
  gsize bytes = pi->bps / 8;
  guint32 w = pi->width, h = pi->height;
  g_autofree char *what = NULL;

  if (!check_blocks (tif, path, page, pi, file_size, error))
    return FALSE;

  if (TIFFIsTiled (tif))
    {
      guint32 tw = 0, th = 0;
      guint8 *buf;
      tmsize_t tsize;

      if (!TIFFGetField (tif, TIFFTAG_TILEWIDTH, &tw) ||
          !TIFFGetField (tif, TIFFTAG_TILELENGTH, &th) || tw == 0 || th == 0 ||
          (guint64) tw * th * bytes > MAX_BLOCK_BYTES)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                       "%s: page %u has an invalid tile size %u × %u", path, page + 1, tw, th);
          return FALSE;
        }
      tsize = TIFFTileSize (tif);
      if (tsize <= 0 || (guint64) tsize < (guint64) tw * th * bytes)
        {
          set_tiff_error (error, KILN_ERROR_FORMAT, path, errs, "invalid tile layout");
          return FALSE;
        }
      what = g_strdup_printf ("a TIFF tile of %u × %u", tw, th);
      buf = kiln_alloc ((gsize) tsize, 1, FALSE, what, error);
      if (buf == NULL)
        return FALSE;
      for (guint32 ty = 0; ty < h; ty += th)
        for (guint32 tx = 0; tx < w; tx += tw)
          {
            guint32 tile = TIFFComputeTile (tif, tx, ty, 0, 0);
            guint32 rows = MIN (th, h - ty), cols = MIN (tw, w - tx);

            if (TIFFReadEncodedTile (tif, tile, buf, tsize) < 0)
              {
                g_autofree char *msg = g_strdup_printf ("cannot decode tile %u of page %u",
                                                        tile, page + 1);
                set_tiff_error (error, KILN_ERROR_FORMAT, path, errs, msg);
                kiln_free (buf);
                return FALSE;
              }
            for (guint32 r = 0; r < rows; r++)
              convert_samples (buf + (gsize) r * tw * bytes, dst + (gsize) (ty + r) * w + tx,
                               cols, pi);
          }
      kiln_free (buf);
    }
  else
    {
      guint32 rps = h;
      gboolean direct = pi->format == SAMPLEFORMAT_IEEEFP && pi->bps == 32;
      guint8 *buf = NULL;
      guint32 n_strips = TIFFNumberOfStrips (tif);

      TIFFGetFieldDefaulted (tif, TIFFTAG_ROWSPERSTRIP, &rps);
      if (rps == 0 || rps > h)
        rps = h;
      if ((guint64) rps * w * bytes > MAX_BLOCK_BYTES && !direct)
        rps = (guint32) MAX (1, MAX_BLOCK_BYTES / ((guint64) w * bytes));
      if (n_strips < (h + rps - 1) / rps)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                       "%s: page %u has %u strips, too few for %u rows", path, page + 1,
                       n_strips, h);
          return FALSE;
        }
      if (!direct)
        {
          what = g_strdup_printf ("a TIFF strip of %u × %u", w, rps);
          buf = kiln_alloc ((gsize) rps * w, bytes, FALSE, what, error);
          if (buf == NULL)
            return FALSE;
        }
      for (guint32 s = 0; s * (guint64) rps < h; s++)
        {
          guint32 row0 = s * rps, rows = MIN (rps, h - row0);
          tmsize_t want = (tmsize_t) rows * w * bytes;
          tmsize_t got;
          float *out = dst + (gsize) row0 * w;

          got = TIFFReadEncodedStrip (tif, s, direct ? (void *) out : (void *) buf, want);
          if (got != want)
            {
              g_autofree char *msg = g_strdup_printf ("cannot decode strip %u of page %u",
                                                      s, page + 1);
              set_tiff_error (error, got < 0 ? KILN_ERROR_FORMAT : KILN_ERROR_TRUNCATED,
                              path, errs, msg);
              kiln_free (buf);
              return FALSE;
            }
          if (!direct)
            convert_samples (buf, out, (gsize) rows * w, pi);
        }
      kiln_free (buf);
    }
  return TRUE;
}

static double
unit_to_nm (const char *unit)
{
  if (g_str_equal (unit, "nm") || g_str_equal (unit, "nanometer") ||
      g_str_equal (unit, "nanometers"))
    return 1.0;
  if (g_str_equal (unit, "micron") || g_str_equal (unit, "um") || g_str_equal (unit, "µm") ||
      g_str_equal (unit, "\\u00B5m") || g_str_equal (unit, "microns"))
    return 1e3;
  if (g_str_equal (unit, "A") || g_str_equal (unit, "Å") || g_str_equal (unit, "angstrom"))
    return 0.1;
  if (g_str_equal (unit, "mm"))
    return 1e6;
  return 0.0;
}

static double
pixel_size_nm (TIFF *tif)
{
  const char *desc = NULL;
  float xres = 0.0f;
  guint16 unit = RESUNIT_INCH;
  gboolean has_res;

  has_res = TIFFGetField (tif, TIFFTAG_XRESOLUTION, &xres) && isfinite (xres) && xres > 0.0f;
  TIFFGetFieldDefaulted (tif, TIFFTAG_RESOLUTIONUNIT, &unit);

  if (TIFFGetField (tif, TIFFTAG_IMAGEDESCRIPTION, &desc) && desc != NULL &&
      g_str_has_prefix (desc, "ImageJ="))
    {
      g_auto(GStrv) lines = g_strsplit (desc, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "unit="))
          {
            double f = unit_to_nm (g_strstrip (lines[i] + 5));
            if (f > 0.0 && has_res)
              return f / xres;
          }
    }
  if (has_res && unit == RESUNIT_CENTIMETER)
    return 1e7 / xres;
  return 0.0;
}

/* FALSE if any value is NaN or ±Inf (exponent bits all set). Vectorisable. */
static gboolean
all_finite (const float *data,
            gsize        n)
{
  const guint32 *u = (const guint32 *) data;
  guint32 bad = 0;

#pragma omp simd reduction(|:bad)
  for (gsize i = 0; i < n; i++)
    bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
  return bad == 0;
}

static gboolean
is_reduced (TIFF *tif)
{
  guint32 sub = 0;

  return TIFFGetField (tif, TIFFTAG_SUBFILETYPE, &sub) && (sub & FILETYPE_REDUCEDIMAGE);
}

static KilnImageStack *
kiln_tiff_load_stack_unchecked (const char    *path,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(KilnImageStack) stack = NULL;
  TiffErrors errs = { NULL };
  guint64 file_size;
  gboolean any_bad = FALSE;
  guint n = 0, k;
  PageInfo first;
  TIFF *tif;

  g_return_val_if_fail (path != NULL, NULL);
  if (!check_header (path, &file_size, error))
    return NULL;
  tif = tiff_open (path, "rm", &errs);
  if (tif == NULL)
    {
      set_tiff_error (error, KILN_ERROR_FORMAT, path, &errs, "cannot read the TIFF file");
      g_free (errs.message);
      return NULL;
    }

  /* Count the full-resolution pages (thumbnails are skipped). */
  do
    {
      if (!is_reduced (tif))
        n++;
      if (n > KILN_MAX_EXTENT)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s: more than %d pages", path, KILN_MAX_EXTENT);
          goto fail;
        }
    }
  while (TIFFReadDirectory (tif));
  if (errs.message != NULL)
    {
      set_tiff_error (error, KILN_ERROR_FORMAT, path, &errs, "broken chain of TIFF pages");
      goto fail;
    }
  if (n == 0 || !TIFFSetDirectory (tif, 0))
    {
      set_tiff_error (error, KILN_ERROR_FORMAT, path, &errs, "no image in the file");
      goto fail;
    }
  while (is_reduced (tif))
    TIFFReadDirectory (tif);
  if (!page_info (tif, path, 0, &first, error))
    goto fail;
  stack = kiln_image_stack_new (n, first.width, first.height, error);
  if (stack == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      goto fail;
    }
  stack->pixel_size_nm = pixel_size_nm (tif);

  k = 0;
  do
    {
      PageInfo pi;

      if (is_reduced (tif))
        continue;
      if (kiln_check_cancelled (cancellable, error) ||
          !page_info (tif, path, k, &pi, error))
        goto fail;
      if (pi.width != first.width || pi.height != first.height)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                       "%s: page %u is %u × %u but page 1 is %u × %u", path, k + 1,
                       pi.width, pi.height, first.width, first.height);
          goto fail;
        }
      if (!read_page (tif, &errs, path, k, &pi, file_size, kiln_image_stack_tilt (stack, k),
                      error))
        goto fail;
      /* pages just read are still in the cache: a cheap check now, the full one (which
       * names the pixel) only if needed */
      if (pi.is_float && !all_finite (kiln_image_stack_tilt (stack, k),
                                      (gsize) pi.width * pi.height))
        any_bad = TRUE;
      k++;
    }
  while (k < n && TIFFReadDirectory (tif));
  if (k != n)
    {
      set_tiff_error (error, KILN_ERROR_FORMAT, path, &errs, "pages changed while reading");
      goto fail;
    }
  TIFFClose (tif);
  g_free (errs.message);

  if (any_bad && !kiln_image_stack_check_finite (stack, path, error))
    return NULL;
  return g_steal_pointer (&stack);

fail:
  TIFFClose (tif);
  g_free (errs.message);
  return NULL;
}

static KilnImageStack *
kiln_tiff_load_series_unchecked (const char * const  *paths,
                       GCancellable        *cancellable,
                       GError             **error)
{
  g_autoptr(KilnImageStack) stack = NULL;
  gboolean any_float = FALSE;
  guint n;

  g_return_val_if_fail (paths != NULL, NULL);
  n = g_strv_length ((char **) paths);
  if (n == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "An empty TIFF series");
      return NULL;
    }

  for (guint k = 0; k < n; k++)
    {
      const char *path = paths[k];
      TiffErrors errs = { NULL };
      guint64 file_size;
      PageInfo pi;
      TIFF *tif;
      gboolean ok;

      if (kiln_check_cancelled (cancellable, error) || !check_header (path, &file_size, error))
        return NULL;
      tif = tiff_open (path, "rm", &errs);
      if (tif == NULL)
        {
          set_tiff_error (error, KILN_ERROR_FORMAT, path, &errs, "cannot read the TIFF file");
          g_free (errs.message);
          return NULL;
        }
      while (is_reduced (tif) && TIFFReadDirectory (tif))
        ;
      ok = page_info (tif, path, 0, &pi, error);
      if (ok && stack == NULL)
        {
          stack = kiln_image_stack_new (n, pi.width, pi.height, error);
          ok = stack != NULL;
          if (!ok)
            g_prefix_error (error, "%s: ", path);
          if (ok)
            stack->pixel_size_nm = pixel_size_nm (tif);
        }
      if (ok && (pi.width != stack->width || pi.height != stack->height))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                       "%s is %u × %u but %s (the first of the series) is %u × %u", path,
                       pi.width, pi.height, paths[0], stack->width, stack->height);
          ok = FALSE;
        }
      if (ok)
        ok = read_page (tif, &errs, path, 0, &pi, file_size, kiln_image_stack_tilt (stack, k),
                        error);
      if (ok)
        {
          guint extra = 0;
          while (TIFFReadDirectory (tif))
            extra += !is_reduced (tif);
          if (extra > 0)
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                           "%s has %u pages; each file of a series must hold one image",
                           path, extra + 1);
              ok = FALSE;
            }
        }
      any_float |= pi.is_float;
      TIFFClose (tif);
      g_free (errs.message);
      if (!ok)
        return NULL;
    }

  if (any_float && !kiln_image_stack_check_finite (stack, paths[0], error))
    return NULL;
  return g_steal_pointer (&stack);
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                     */

static char *
imagej_description (guint  n_pages,
                    double pixel_size_nm,
                    double spacing_nm)
{
  GString *s = g_string_new ("ImageJ=1.11a\n");
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (n_pages > 1)
    g_string_append_printf (s, "images=%u\nslices=%u\n", n_pages, n_pages);
  if (pixel_size_nm > 0.0)
    g_string_append (s, "unit=nm\n");
  if (spacing_nm > 0.0)
    g_string_append_printf (s, "spacing=%s\n", g_ascii_dtostr (buf, sizeof buf, spacing_nm));
  if (n_pages > 1)
    g_string_append (s, "loop=false\n");
  return g_string_free (s, FALSE);
}

static gboolean
write_pages (const char   *path,
             const float  *data,
             guint         n_pages,
             guint         width,
             guint         height,
             double        pixel_size_nm,
             double        spacing_nm,
             GError      **error)
{
  g_autofree char *tmp = kiln_io_temp_path (path);
  g_autofree char *desc = NULL;
  TiffErrors errs = { NULL };
  gsize page = (gsize) width * height;
  gsize row_bytes = (gsize) width * sizeof (float);
  guint32 rps = (guint32) CLAMP (WRITE_STRIP_BYTES / row_bytes, 1, height);
  gboolean big = (guint64) page * n_pages * sizeof (float) > ((guint64) 4000 << 20);
  gboolean has_px = pixel_size_nm > 0.0 && isfinite (pixel_size_nm);
  int io_errno = 0;
  TIFF *tif;

  tif = tiff_open (tmp, big ? "w8" : "w", &errs);
  if (tif == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write %s%s%s", path,
                   errs.message ? ": " : "", errs.message ? errs.message : "");
      g_free (errs.message);
      kiln_io_abort (tmp);
      return FALSE;
    }
  desc = imagej_description (n_pages, has_px ? pixel_size_nm : 0.0, spacing_nm);

  for (guint k = 0; k < n_pages; k++)
    {
      const float *src = data + (gsize) k * page;

      TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, (guint32) width);
      TIFFSetField (tif, TIFFTAG_IMAGELENGTH, (guint32) height);
      TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 32);
      TIFFSetField (tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
      TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField (tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
      TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, rps);
      if (n_pages > 1)
        {
          TIFFSetField (tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
          TIFFSetField (tif, TIFFTAG_PAGENUMBER, (guint16) MIN (k, G_MAXUINT16),
                        (guint16) MIN (n_pages, G_MAXUINT16));
        }
      if (k == 0)
        TIFFSetField (tif, TIFFTAG_IMAGEDESCRIPTION, desc);
      if (has_px)
        {
          /* ImageJ convention: unit=nm in the description, resolution in pixels per nm */
          TIFFSetField (tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_NONE);
          TIFFSetField (tif, TIFFTAG_XRESOLUTION, (float) (1.0 / pixel_size_nm));
          TIFFSetField (tif, TIFFTAG_YRESOLUTION, (float) (1.0 / pixel_size_nm));
        }
      for (guint32 s = 0; (guint64) s * rps < height; s++)
        {
          guint32 rows = MIN (rps, height - s * rps);
          errno = 0;
          if (TIFFWriteEncodedStrip (tif, s, (void *) (src + (gsize) s * rps * width),
                                     (tmsize_t) rows * row_bytes) < 0)
            {
              io_errno = errno;
              goto fail;
            }
        }
      errno = 0;
      if (!TIFFWriteDirectory (tif))
        {
          io_errno = errno;
          goto fail;
        }
    }
  TIFFClose (tif);
  tif = NULL;
  if (errs.message != NULL)
    goto fail;
  g_free (errs.message);
  return kiln_io_commit (tmp, path, error);

fail:
  if (tif != NULL)
    TIFFClose (tif);
  /* libtiff says "Write error"; the system's reason (disk full, …) is what the user needs */
  g_set_error (error, G_IO_ERROR, io_errno ? g_io_error_from_errno (io_errno) : G_IO_ERROR_FAILED,
               "Cannot write %s: %s%s%s%s", path, errs.message ? errs.message : "libtiff failed",
               io_errno ? " (" : "", io_errno ? g_strerror (io_errno) : "", io_errno ? ")" : "");
  g_free (errs.message);
  kiln_io_abort (tmp);
  return FALSE;
}

static gboolean
kiln_tiff_save_stack_unchecked (const KilnImageStack  *stack,
                      const char            *path,
                      GError               **error)
{
  g_return_val_if_fail (stack != NULL && path != NULL, FALSE);
  return write_pages (path, stack->data, stack->n_tilts, stack->width, stack->height,
                      stack->pixel_size_nm, 0.0, error);
}

static gboolean
kiln_tiff_save_volume_unchecked (const KilnVolume  *volume,
                       const char        *path,
                       GError           **error)
{
  g_return_val_if_fail (volume != NULL && path != NULL, FALSE);
  return write_pages (path, volume->data, volume->nz, volume->nx, volume->ny,
                      volume->voxel_size_nm, volume->voxel_size_nm, error);
}

static gboolean
kiln_tiff_save_image_unchecked (const float  *data,
                      guint         width,
                      guint         height,
                      double        pixel_size_nm,
                      const char   *path,
                      GError      **error)
{
  g_return_val_if_fail (data != NULL && path != NULL, FALSE);
  if (width == 0 || height == 0 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cannot write %s: invalid image size %u × %u", path, width, height);
      return FALSE;
    }
  return write_pages (path, data, 1, width, height, pixel_size_nm, 0.0, error);
}

KilnImageStack *
kiln_tiff_load_stack (const char    *path,
                      GCancellable  *cancellable,
                      GError       **error)
{
  KilnImageStack *result = kiln_tiff_load_stack_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnImageStack *
kiln_tiff_load_series (const char * const  *paths,
                       GCancellable        *cancellable,
                       GError             **error)
{
  KilnImageStack *result = kiln_tiff_load_series_unchecked (paths, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_tiff_save_stack (const KilnImageStack  *stack,
                      const char            *path,
                      GError               **error)
{
  gboolean result = kiln_tiff_save_stack_unchecked (stack, path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_tiff_save_volume (const KilnVolume  *volume,
                       const char        *path,
                       GError           **error)
{
  gboolean result = kiln_tiff_save_volume_unchecked (volume, path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_tiff_save_image (const float  *data,
                      guint         width,
                      guint         height,
                      double        pixel_size_nm,
                      const char   *path,
                      GError      **error)
{
  gboolean result = kiln_tiff_save_image_unchecked (data, width, height, pixel_size_nm, path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
