/* kiln-mrc.c — MRC2014 stacks and volumes
 *
 * Header layout (1024 bytes, 4-byte words, in the byte order of the machine stamp):
 *   0 nx, 4 ny, 8 nz, 12 mode, 16…24 n[xyz]start, 28…36 m[xyz], 40…48 cella (Å),
 *   52…60 cellb (°), 64…72 mapc/mapr/maps, 76 dmin, 80 dmax, 84 dmean, 88 ispg,
 *   92 nsymbt (extended header bytes), 104 exttyp, 108 nversion, 152 IMOD stamp,
 *   156 IMOD flags, 196…204 origin, 208 "MAP ", 212 machine stamp, 216 rms, 220 nlabl,
 *   224 ten 80-character labels.  Data start at 1024 + nsymbt.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-io.h"
#include "kiln-mrc.h"
#include "kiln-progress.h"

#define MRC_HEADER_BYTES 1024
#define IMOD_STAMP       1146047817
#define IMOD_FLAG_SIGNED_BYTES 1
/* FEI1/FEI2 per-section metadata block: size (int32) at 0, alpha tilt (float64, °) at 100. */
#define FEI_ALPHA_OFFSET 100
/* Elements converted per chunk when the data need conversion or byte swapping. */
#define CHUNK_ELEMENTS   ((gsize) 1 << 18)
/* Bytes read or written per system call. 1 MiB: a chunk just read (or about to be written)
 * is still in the CPU cache when it is checked for NaN/Inf (or summed for the header). */
#define IO_CHUNK_BYTES   ((gsize) 1 << 20)

typedef struct
{
  KilnMrcInfo info;
  gboolean    swap;           /* file byte order differs from the host's */
  gboolean    signed_bytes;   /* mode 0 is int8 (MRC2014) rather than uint8 (old IMOD) */
  gsize       elem_size;
  guint64     file_size;
  guint64     data_bytes;
} MrcHeader;

/* ------------------------------------------------------------------------------------------ */
/* Byte-level helpers                                                                          */

static inline guint32
rd_u32 (const guint8 *p,
        gboolean      be)
{
  if (be)
    return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
  return ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

static inline gint32
rd_i32 (const guint8 *p,
        gboolean      be)
{
  return (gint32) rd_u32 (p, be);
}

static inline float
rd_f32 (const guint8 *p,
        gboolean      be)
{
  guint32 u = rd_u32 (p, be);
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

static inline double
rd_f64 (const guint8 *p,
        gboolean      be)
{
  guint64 u = 0;
  double d;

  for (int i = 0; i < 8; i++)
    u |= (guint64) p[be ? 7 - i : i] << (8 * i);
  memcpy (&d, &u, sizeof d);
  return d;
}

static inline void
wr_i32 (guint8 *p,
        gint32  v)
{
  memcpy (p, &v, 4);   /* host order; the machine stamp says which */
}

static inline void
wr_f32 (guint8 *p,
        float   v)
{
  memcpy (p, &v, 4);
}

static float half_table[65536];

static gpointer
init_half_table (gpointer data)
{
  for (guint h = 0; h < 65536; h++)
    {
      guint e = (h >> 10) & 0x1f, m = h & 0x3ff;
      float v;

      if (e == 0)
        v = ldexpf ((float) m, -24);
      else if (e == 31)
        v = m != 0 ? NAN : INFINITY;
      else
        v = ldexpf ((float) (m | 0x400), (int) e - 25);
      half_table[h] = (h & 0x8000) ? -v : v;
    }
  return NULL;
}

static const float *
get_half_table (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_half_table, NULL);
  return half_table;
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

typedef struct
{
  double min, max, sum, sum2;
  gsize  n, n_bad;
} StatsAcc;

static void
stats_acc_init (StatsAcc *a)
{
  *a = (StatsAcc) { INFINITY, -INFINITY, 0.0, 0.0, 0, 0 };
}

/* Adds @n values; the vectorised path when all are finite, else skipping the bad ones. */
static void
stats_acc_add (StatsAcc    *a,
               const float *d,
               gsize        n)
{
  if (all_finite (d, n))
    {
      float lo = INFINITY, hi = -INFINITY;
      double s = 0.0, s2 = 0.0;

#pragma omp simd reduction(min:lo) reduction(max:hi) reduction(+:s,s2)
      for (gsize i = 0; i < n; i++)
        {
          float v = d[i];
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
          s += v;
          s2 += (double) v * v;
        }
      a->min = MIN (a->min, lo);
      a->max = MAX (a->max, hi);
      a->sum += s;
      a->sum2 += s2;
      a->n += n;
    }
  else
    for (gsize i = 0; i < n; i++)
      {
        if (!isfinite (d[i]))
          {
            a->n_bad++;
            continue;
          }
        a->min = MIN (a->min, d[i]);
        a->max = MAX (a->max, d[i]);
        a->sum += d[i];
        a->sum2 += (double) d[i] * d[i];
        a->n++;
      }
}

/* The same definitions as kiln_stats_compute(): rms is the standard deviation. */
static void
stats_acc_finish (const StatsAcc *a,
                  KilnStats      *st)
{
  st->n_nonfinite = a->n_bad;
  if (a->n == 0)
    {
      st->min = st->max = st->mean = st->rms = 0.0;
      return;
    }
  st->min = a->min;
  st->max = a->max;
  st->mean = a->sum / (double) a->n;
  st->rms = sqrt (MAX (0.0, a->sum2 / (double) a->n - st->mean * st->mean));
}

static gboolean
pread_all (int          fd,
           void        *buf,
           gsize        len,
           guint64      offset,
           const char  *path,
           GError     **error)
{
  guint8 *p = buf;

  while (len > 0)
    {
      gssize n = pread (fd, p, MIN (len, IO_CHUNK_BYTES), (off_t) offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "%s: read error: %s", path, g_strerror (saved));
          return FALSE;
        }
      if (n == 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                       "%s: the file ends at byte %" G_GUINT64_FORMAT
                       " before the data its header announces", path, offset);
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

static gboolean
write_all (int          fd,
           const void  *buf,
           gsize        len,
           const char  *path,
           GError     **error)
{
  const guint8 *p = buf;

  while (len > 0)
    {
      gssize n = write (fd, p, MIN (len, IO_CHUNK_BYTES));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : ENOSPC;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Cannot write %s: %s", path, g_strerror (saved));
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Header                                                                                       */

static gsize
mode_elem_size (int mode)
{
  switch (mode)
    {
    case 0: return 1;
    case 1: return 2;
    case 2: return 4;
    case 6: return 2;
    case 12: return 2;
    default: return 0;
    }
}

static const char *
mode_name (int mode)
{
  switch (mode)
    {
    case 0: return "int8";
    case 1: return "int16";
    case 2: return "float32";
    case 3: return "complex int16";
    case 4: return "complex float32";
    case 6: return "uint16";
    case 12: return "float16";
    case 101: return "packed 4-bit";
    default: return "unknown";
    }
}

static gboolean
header_plausible (const guint8 *hdr,
                  gboolean      be)
{
  gint32 nx = rd_i32 (hdr, be), ny = rd_i32 (hdr + 4, be), nz = rd_i32 (hdr + 8, be);
  gint32 mode = rd_i32 (hdr + 12, be);

  if (nx <= 0 || ny <= 0 || nz <= 0 ||
      nx > KILN_MAX_EXTENT || ny > KILN_MAX_EXTENT || nz > KILN_MAX_EXTENT)
    return FALSE;
  return mode == 0 || mode == 1 || mode == 2 || mode == 3 || mode == 4 || mode == 6 ||
         mode == 12 || mode == 101;
}

static void
copy_text (char         *dst,
           const guint8 *src,
           gsize         len)
{
  gsize n = 0;

  for (gsize i = 0; i < len && src[i] != '\0'; i++)
    dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char) src[i] : '?';
  while (n > 0 && dst[n - 1] == ' ')
    n--;
  dst[n] = '\0';
}

/* Parses and validates the header; on success the file is known to hold all the data. */
static gboolean
parse_header (const char    *path,
              const guint8  *hdr,
              guint64        file_size,
              MrcHeader     *h,
              GError       **error)
{
  gboolean be;
  gint32 nx, ny, nz, mode, mx, nsymbt;
  float cella_x;
  guint64 expected;

  memset (h, 0, sizeof *h);
  h->file_size = file_size;

  if (hdr[212] == 0x44 && (hdr[213] == 0x44 || hdr[213] == 0x41))
    be = FALSE;
  else if (hdr[212] == 0x11 && hdr[213] == 0x11)
    be = TRUE;
  else   /* no valid machine stamp (old files): the byte order that makes sense */
    be = !header_plausible (hdr, FALSE) && header_plausible (hdr, TRUE);

  if (memcmp (hdr + 208, "MAP ", 4) != 0 && !header_plausible (hdr, be))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: not an MRC file (no “MAP ” at byte 208 and no plausible header)", path);
      return FALSE;
    }

  nx = rd_i32 (hdr, be);
  ny = rd_i32 (hdr + 4, be);
  nz = rd_i32 (hdr + 8, be);
  mode = rd_i32 (hdr + 12, be);
  if (nx <= 0 || ny <= 0 || nz <= 0 ||
      nx > KILN_MAX_EXTENT || ny > KILN_MAX_EXTENT || nz > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: impossible MRC dimensions %" G_GINT32_FORMAT " × %" G_GINT32_FORMAT
                   " × %" G_GINT32_FORMAT " (each must be 1 … %d)",
                   path, nx, ny, nz, KILN_MAX_EXTENT);
      return FALSE;
    }
  h->elem_size = mode_elem_size (mode);
  if (h->elem_size == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: MRC data mode %" G_GINT32_FORMAT " (%s) is not supported "
                   "(Kiln reads modes 0, 1, 2, 6 and 12)", path, mode, mode_name (mode));
      return FALSE;
    }
  nsymbt = rd_i32 (hdr + 92, be);
  if (nsymbt < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: negative extended header size %" G_GINT32_FORMAT " in the MRC header",
                   path, nsymbt);
      return FALSE;
    }

  h->info.nx = (guint) nx;
  h->info.ny = (guint) ny;
  h->info.nz = (guint) nz;
  h->info.mode = mode;
  h->info.big_endian = be;
  h->info.n_ext_bytes = (guint) nsymbt;
  h->info.data_offset = MRC_HEADER_BYTES + (gsize) nsymbt;
  h->swap = be != (G_BYTE_ORDER == G_BIG_ENDIAN);
  h->data_bytes = (guint64) nx * (guint64) ny * (guint64) nz * h->elem_size;

  expected = (guint64) h->info.data_offset + h->data_bytes;
  if (file_size < expected)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                   "%s: the header announces %d × %d × %d %s values (%" G_GUINT64_FORMAT
                   " bytes from byte %" G_GSIZE_FORMAT "), but the file has only %"
                   G_GUINT64_FORMAT " bytes", path, nx, ny, nz, mode_name (mode),
                   h->data_bytes, h->info.data_offset, file_size);
      return FALSE;
    }
  if (file_size > expected)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: the file has %" G_GUINT64_FORMAT " bytes more than its header announces "
                   "(%d × %d × %d %s values after a %" G_GINT32_FORMAT "-byte extended header); "
                   "the header is probably wrong", path, file_size - expected, nx, ny, nz,
                   mode_name (mode), nsymbt);
      return FALSE;
    }

  mx = rd_i32 (hdr + 28, be);
  cella_x = rd_f32 (hdr + 40, be);
  if (mx > 0 && isfinite (cella_x) && cella_x > 0.0f)
    h->info.pixel_size_nm = (double) cella_x / mx / 10.0;   /* Å → nm */
  h->info.dmin = rd_f32 (hdr + 76, be);
  h->info.dmax = rd_f32 (hdr + 80, be);
  h->info.dmean = rd_f32 (hdr + 84, be);
  h->info.rms = rd_f32 (hdr + 216, be);
  copy_text (h->info.ext_type, hdr + 104, 4);
  if (rd_i32 (hdr + 220, be) > 0)
    copy_text (h->info.label, hdr + 224, 80);

  /* MRC2014: mode 0 is signed. Old IMOD files (stamp without the signed flag) are unsigned. */
  h->signed_bytes = TRUE;
  if (rd_i32 (hdr + 152, be) == IMOD_STAMP && !(rd_i32 (hdr + 156, be) & IMOD_FLAG_SIGNED_BYTES))
    h->signed_bytes = FALSE;
  return TRUE;
}

/* Opens @path and reads its header; returns the descriptor or -1. */
static int
mrc_open (const char  *path,
          MrcHeader   *h,
          GError     **error)
{
  guint8 hdr[MRC_HEADER_BYTES];
  struct stat st;
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s: %s", path, g_strerror (saved));
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s: not a regular file", path);
      close (fd);
      return -1;
    }
  if ((guint64) st.st_size < MRC_HEADER_BYTES)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                   "%s: the file has %" G_GUINT64_FORMAT " bytes, less than the %d-byte MRC "
                   "header", path, (guint64) st.st_size, MRC_HEADER_BYTES);
      close (fd);
      return -1;
    }
  if (!pread_all (fd, hdr, sizeof hdr, 0, path, error) ||
      !parse_header (path, hdr, (guint64) st.st_size, h, error))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* FEI1/FEI2 extended headers hold one metadata block per section with the alpha tilt.
 * Returns a newly allocated array of nz angles, or NULL when absent or implausible. */
static double *
read_fei_angles (int              fd,
                 const MrcHeader *h)
{
  g_autofree guint8 *ext = NULL;
  g_autofree double *angles = NULL;
  gint32 block;
  guint nz = h->info.nz;

  if (strcmp (h->info.ext_type, "FEI1") != 0 && strcmp (h->info.ext_type, "FEI2") != 0)
    return NULL;
  if (h->info.n_ext_bytes < 4 + FEI_ALPHA_OFFSET + 8)
    return NULL;

  {
    guint8 word[4];
    if (!pread_all (fd, word, 4, MRC_HEADER_BYTES, "", NULL))
      return NULL;
    block = rd_i32 (word, h->info.big_endian);
  }
  if (block < FEI_ALPHA_OFFSET + 8 || block > (1 << 20) ||
      (guint64) block * nz > h->info.n_ext_bytes)
    return NULL;
  /* at most the extended header, whose size was checked against the file's */
  ext = g_malloc ((gsize) block * nz);
  if (!pread_all (fd, ext, (gsize) block * nz, MRC_HEADER_BYTES, "", NULL))
    return NULL;
  angles = g_new (double, nz);
  for (guint k = 0; k < nz; k++)
    {
      angles[k] = rd_f64 (ext + (gsize) k * (gsize) block + FEI_ALPHA_OFFSET,
                          h->info.big_endian);
      if (!isfinite (angles[k]) || fabs (angles[k]) > 180.0)
        return NULL;
    }
  return g_steal_pointer (&angles);
}

static void
convert_chunk (const MrcHeader *h,
               const guint8    *src,
               float           *dst,
               gsize            n)
{
  switch (h->info.mode)
    {
    case 0:
      if (h->signed_bytes)
        for (gsize i = 0; i < n; i++)
          dst[i] = (float) (gint8) src[i];
      else
        for (gsize i = 0; i < n; i++)
          dst[i] = (float) src[i];
      break;
    case 1:
      for (gsize i = 0; i < n; i++)
        {
          guint16 u;
          memcpy (&u, src + 2 * i, 2);
          if (h->swap)
            u = GUINT16_SWAP_LE_BE (u);
          dst[i] = (float) (gint16) u;
        }
      break;
    case 6:
      for (gsize i = 0; i < n; i++)
        {
          guint16 u;
          memcpy (&u, src + 2 * i, 2);
          if (h->swap)
            u = GUINT16_SWAP_LE_BE (u);
          dst[i] = (float) u;
        }
      break;
    case 12:
      {
        const float *table = get_half_table ();
        for (gsize i = 0; i < n; i++)
          {
            guint16 u;
            memcpy (&u, src + 2 * i, 2);
            if (h->swap)
              u = GUINT16_SWAP_LE_BE (u);
            dst[i] = table[u];
          }
      }
      break;
    case 2:
      for (gsize i = 0; i < n; i++)
        {
          guint32 u;
          memcpy (&u, src + 4 * i, 4);
          u = GUINT32_SWAP_LE_BE (u);   /* only reached when swapping */
          memcpy (dst + i, &u, 4);
        }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Reads all nx·ny·nz values as floats into @dst; *finite is FALSE when any value read is NaN
 * or infinite (checked chunk by chunk while the chunk is in the cache). */
static gboolean
read_data (int              fd,
           const char      *path,
           const MrcHeader *h,
           float           *dst,
           gboolean        *finite,
           GCancellable    *cancellable,
           GError         **error)
{
  gsize n = (gsize) h->info.nx * h->info.ny * h->info.nz;
  guint64 offset = h->info.data_offset;
  gboolean is_float = h->info.mode == 2 || h->info.mode == 12;
  gboolean ok = TRUE;

  if (h->info.mode == 2 && !h->swap)
    {
      guint8 *p = (guint8 *) dst;
      gsize left = n * sizeof (float);

      while (left > 0)
        {
          gsize len = MIN (left, IO_CHUNK_BYTES);
          if (kiln_check_cancelled (cancellable, error) ||
              !pread_all (fd, p, len, offset, path, error))
            return FALSE;
          ok &= all_finite ((const float *) p, len / sizeof (float));
          p += len;
          offset += len;
          left -= len;
        }
    }
  else
    {
      g_autofree guint8 *buf = g_malloc (CHUNK_ELEMENTS * h->elem_size);

      for (gsize i = 0; i < n; i += CHUNK_ELEMENTS)
        {
          gsize m = MIN (CHUNK_ELEMENTS, n - i);
          if (kiln_check_cancelled (cancellable, error) ||
              !pread_all (fd, buf, m * h->elem_size, offset, path, error))
            return FALSE;
          convert_chunk (h, buf, dst + i, m);
          if (is_float)
            ok &= all_finite (dst + i, m);
          offset += m * h->elem_size;
        }
    }
  *finite = ok;
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Public readers                                                                              */

static gboolean
kiln_mrc_read_info_unchecked (const char   *path,
                    KilnMrcInfo  *info,
                    GError      **error)
{
  MrcHeader h;
  int fd;

  g_return_val_if_fail (path != NULL && info != NULL, FALSE);
  fd = mrc_open (path, &h, error);
  if (fd < 0)
    return FALSE;
  close (fd);
  *info = h.info;
  return TRUE;
}

static KilnImageStack *
kiln_mrc_load_stack_unchecked (const char    *path,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(KilnImageStack) stack = NULL;
  g_autofree double *angles = NULL;
  gboolean finite;
  MrcHeader h;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  fd = mrc_open (path, &h, error);
  if (fd < 0)
    return NULL;
  stack = kiln_image_stack_new (h.info.nz, h.info.nx, h.info.ny, error);
  if (stack == NULL || !read_data (fd, path, &h, stack->data, &finite, cancellable, error))
    {
      close (fd);
      return NULL;
    }
  angles = read_fei_angles (fd, &h);
  close (fd);

  stack->pixel_size_nm = h.info.pixel_size_nm;
  if (angles != NULL)
    kiln_image_stack_set_angles (stack, angles, h.info.nz, NULL);
  /* the full check (which names the first bad pixel) only when a chunk had one */
  if (!finite && !kiln_image_stack_check_finite (stack, path, error))
    return NULL;
  return g_steal_pointer (&stack);
}

static gboolean
check_finite_volume (const float  *data,
                     guint         nx,
                     guint         ny,
                     guint         nz,
                     const char   *path,
                     GError      **error)
{
  gsize n = (gsize) nx * ny * nz;

  for (gsize i = 0; i < n; i++)
    if (!isfinite (data[i]))
      {
        gsize x = i % nx, y = (i / nx) % ny, z = i / ((gsize) nx * ny);
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "%s: voxel (x %" G_GSIZE_FORMAT ", y %" G_GSIZE_FORMAT ", z %"
                     G_GSIZE_FORMAT ") is %s", path, x, y, z,
                     isnan (data[i]) ? "NaN" : "infinite");
        return FALSE;
      }
  return TRUE;
}

static KilnVolume *
kiln_mrc_load_volume_unchecked (const char    *path,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(KilnVolume) vol = NULL;
  gboolean finite;
  MrcHeader h;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  fd = mrc_open (path, &h, error);
  if (fd < 0)
    return NULL;
  vol = kiln_volume_new (h.info.nx, h.info.ny, h.info.nz, error);
  if (vol == NULL || !read_data (fd, path, &h, vol->data, &finite, cancellable, error))
    {
      close (fd);
      return NULL;
    }
  close (fd);
  vol->voxel_size_nm = h.info.pixel_size_nm;
  if (!finite && !check_finite_volume (vol->data, vol->nx, vol->ny, vol->nz, path, error))
    return NULL;
  return g_steal_pointer (&vol);
}

static KilnLabelVolume *
kiln_mrc_load_labels_unchecked (const char    *path,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(KilnLabelVolume) labels = NULL;
  gboolean finite;
  MrcHeader h;
  gsize n;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  fd = mrc_open (path, &h, error);
  if (fd < 0)
    return NULL;
  labels = kiln_label_volume_new (h.info.nx, h.info.ny, h.info.nz, error);
  /* Floats and uint32 have the same size: read as floats in place, then convert. */
  G_STATIC_ASSERT (sizeof (float) == sizeof (guint32));
  if (labels == NULL ||
      !read_data (fd, path, &h, (float *) labels->data, &finite, cancellable, error))
    {
      close (fd);
      return NULL;
    }
  close (fd);
  labels->voxel_size_nm = h.info.pixel_size_nm;

  n = kiln_label_volume_n_voxels (labels);
  for (gsize i = 0; i < n; i++)
    {
      float f;
      memcpy (&f, labels->data + i, sizeof f);
      /* float32 holds every integer up to 2^24 exactly */
      if (!(f >= 0.0f && f <= 16777216.0f) || f != floorf (f))
        {
          gsize x = i % labels->nx, y = (i / labels->nx) % labels->ny;
          gsize z = i / ((gsize) labels->nx * labels->ny);
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s: voxel (x %" G_GSIZE_FORMAT ", y %" G_GSIZE_FORMAT ", z %"
                       G_GSIZE_FORMAT ") is %g, not a label (labels are integers ≥ 0)",
                       path, x, y, z, (double) f);
          return NULL;
        }
      labels->data[i] = (guint32) f;
    }
  return g_steal_pointer (&labels);
}

/* ------------------------------------------------------------------------------------------ */
/* Writers                                                                                     */

/* Converts @count elements from element @start of the source into @out (file layout). */
typedef void (*ChunkFunc) (gconstpointer src,
                           gsize         start,
                           gsize         count,
                           guint8       *out);

static void
labels_to_u16 (gconstpointer src,
               gsize         start,
               gsize         count,
               guint8       *out)
{
  const guint32 *s = (const guint32 *) src + start;
  guint16 *o = (guint16 *) out;

  for (gsize i = 0; i < count; i++)
    o[i] = (guint16) s[i];
}

static void
labels_to_f32 (gconstpointer src,
               gsize         start,
               gsize         count,
               guint8       *out)
{
  const guint32 *s = (const guint32 *) src + start;
  float *o = (float *) out;

  for (gsize i = 0; i < count; i++)
    o[i] = (float) s[i];
}

static void
fill_header (guint8          *hdr,
             guint            nx,
             guint            ny,
             guint            nz,
             int              mode,
             int              ispg,
             double           pixel_size_nm,
             const KilnStats *st,
             const char      *label)
{
  gsize len;

  memset (hdr, 0, MRC_HEADER_BYTES);
  wr_i32 (hdr + 0, (gint32) nx);
  wr_i32 (hdr + 4, (gint32) ny);
  wr_i32 (hdr + 8, (gint32) nz);
  wr_i32 (hdr + 12, mode);
  wr_i32 (hdr + 28, (gint32) nx);
  wr_i32 (hdr + 32, (gint32) ny);
  wr_i32 (hdr + 36, (gint32) nz);
  if (pixel_size_nm > 0.0 && isfinite (pixel_size_nm))
    {
      /* cella in Å: pixel size × sampling */
      wr_f32 (hdr + 40, (float) (nx * pixel_size_nm * 10.0));
      wr_f32 (hdr + 44, (float) (ny * pixel_size_nm * 10.0));
      wr_f32 (hdr + 48, (float) (nz * pixel_size_nm * 10.0));
    }
  wr_f32 (hdr + 52, 90.0f);
  wr_f32 (hdr + 56, 90.0f);
  wr_f32 (hdr + 60, 90.0f);
  wr_i32 (hdr + 64, 1);
  wr_i32 (hdr + 68, 2);
  wr_i32 (hdr + 72, 3);
  wr_f32 (hdr + 76, (float) st->min);
  wr_f32 (hdr + 80, (float) st->max);
  wr_f32 (hdr + 84, (float) st->mean);
  wr_i32 (hdr + 88, ispg);
  wr_i32 (hdr + 92, 0);
  wr_i32 (hdr + 108, 20140);
  memcpy (hdr + 208, "MAP ", 4);
  if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
    {
      hdr[212] = 0x44;
      hdr[213] = 0x44;
    }
  else
    {
      hdr[212] = 0x11;
      hdr[213] = 0x11;
    }
  wr_f32 (hdr + 216, (float) st->rms);
  wr_i32 (hdr + 220, 1);

  /* One label, printable ASCII, space-padded to 80 characters. */
  memset (hdr + 224, ' ', 80);
  if (label == NULL || *label == '\0')
    label = "Kiln " PACKAGE_VERSION;
  len = MIN (strlen (label), 80);
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = (guint8) label[i];
      hdr[224 + i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  memset (hdr + 304, ' ', 9 * 80);
}

/* Writes a header and nx·ny·nz elements of @file_elem_size bytes. With @func NULL the source
 * is already in file layout (float32, host order) and is written directly. */
/* Close the temporary file of an atomic save and move it over @path (or drop it on error). */
static gboolean
close_and_commit (int          fd,
                  const char  *tmp,
                  const char  *path,
                  GError     **error)
{
  if (close (fd) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: %s", path, g_strerror (saved));
      kiln_io_abort (tmp);
      return FALSE;
    }
  return kiln_io_commit (tmp, path, error);
}

static gboolean
mrc_write (const char      *path,
           const guint8    *hdr,
           gconstpointer    data,
           gsize            n,
           gsize            file_elem_size,
           ChunkFunc        func,
           GError         **error)
{
  g_autofree char *tmp = kiln_io_temp_path (path);
  int fd;

  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (!write_all (fd, hdr, MRC_HEADER_BYTES, path, error))
    goto fail;
  if (func == NULL)
    {
      if (!write_all (fd, data, n * file_elem_size, path, error))
        goto fail;
    }
  else
    {
      g_autofree guint8 *buf = g_malloc (CHUNK_ELEMENTS * file_elem_size);
      for (gsize i = 0; i < n; i += CHUNK_ELEMENTS)
        {
          gsize m = MIN (CHUNK_ELEMENTS, n - i);
          func (data, i, m, buf);
          if (!write_all (fd, buf, m * file_elem_size, path, error))
            goto fail;
        }
    }
  return close_and_commit (fd, tmp, path, error);

fail:
  close (fd);
  kiln_io_abort (tmp);
  return FALSE;
}

/* float32 data in host order: the header statistics are accumulated chunk by chunk just
 * before each chunk is written (one pass over memory), and the header is written last. */
static gboolean
mrc_write_floats (const char   *path,
                  const float  *data,
                  guint         nx,
                  guint         ny,
                  guint         nz,
                  int           ispg,
                  double        pixel_size_nm,
                  const char   *label,
                  GError      **error)
{
  g_autofree char *tmp = kiln_io_temp_path (path);
  guint8 hdr[MRC_HEADER_BYTES];
  gsize n = (gsize) nx * ny * nz;
  gsize chunk = IO_CHUNK_BYTES / sizeof (float);
  StatsAcc acc;
  KilnStats st;
  int fd;

  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  stats_acc_init (&acc);
  memset (hdr, 0, sizeof hdr);
  if (!write_all (fd, hdr, MRC_HEADER_BYTES, path, error))
    goto fail;
  for (gsize i = 0; i < n; i += chunk)
    {
      gsize m = MIN (chunk, n - i);
      stats_acc_add (&acc, data + i, m);
      if (!write_all (fd, data + i, m * sizeof (float), path, error))
        goto fail;
    }
  stats_acc_finish (&acc, &st);
  fill_header (hdr, nx, ny, nz, 2, ispg, pixel_size_nm, &st, label);
  if (pwrite (fd, hdr, MRC_HEADER_BYTES, 0) != MRC_HEADER_BYTES)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: %s", path, g_strerror (saved));
      goto fail;
    }
  return close_and_commit (fd, tmp, path, error);

fail:
  close (fd);
  kiln_io_abort (tmp);
  return FALSE;
}

static gboolean
kiln_mrc_save_stack_unchecked (const KilnImageStack  *stack,
                     const char            *path,
                     const char            *label,
                     GError               **error)
{
  g_return_val_if_fail (stack != NULL && path != NULL, FALSE);
  return mrc_write_floats (path, stack->data, stack->width, stack->height, stack->n_tilts, 0,
                           stack->pixel_size_nm, label, error);
}

static gboolean
kiln_mrc_save_volume_unchecked (const KilnVolume  *volume,
                      const char        *path,
                      const char        *label,
                      GError           **error)
{
  g_return_val_if_fail (volume != NULL && path != NULL, FALSE);
  return mrc_write_floats (path, volume->data, volume->nx, volume->ny, volume->nz, 1,
                           volume->voxel_size_nm, label, error);
}

static gboolean
kiln_mrc_save_labels_unchecked (const KilnLabelVolume  *labels,
                      const char             *path,
                      const char             *label,
                      GError                **error)
{
  guint8 hdr[MRC_HEADER_BYTES];
  KilnStats st = { 0 };
  gsize n;
  double sum = 0.0, sum2 = 0.0;
  guint32 lo = G_MAXUINT32, hi = 0;
  gboolean small;

  g_return_val_if_fail (labels != NULL && path != NULL, FALSE);
  n = kiln_label_volume_n_voxels (labels);
  for (gsize i = 0; i < n; i++)
    {
      guint32 v = labels->data[i];
      lo = MIN (lo, v);
      hi = MAX (hi, v);
      sum += v;
    }
  st.min = lo;
  st.max = hi;
  st.mean = sum / (double) n;
  for (gsize i = 0; i < n; i++)
    {
      double d = labels->data[i] - st.mean;
      sum2 += d * d;
    }
  st.rms = sqrt (sum2 / (double) n);

  if (hi > 16777216u)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cannot write %s: label %u does not fit an MRC file exactly "
                   "(at most 16777216 labels)", path, hi);
      return FALSE;
    }
  small = hi <= G_MAXUINT16;
  fill_header (hdr, labels->nx, labels->ny, labels->nz, small ? 6 : 2, 1,
               labels->voxel_size_nm, &st, label);
  return mrc_write (path, hdr, labels->data, n, small ? 2 : 4,
                    small ? labels_to_u16 : labels_to_f32, error);
}

gboolean
kiln_mrc_read_info (const char   *path,
                    KilnMrcInfo  *info,
                    GError      **error)
{
  gboolean result = kiln_mrc_read_info_unchecked (path, info, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnImageStack *
kiln_mrc_load_stack (const char    *path,
                     GCancellable  *cancellable,
                     GError       **error)
{
  KilnImageStack *result = kiln_mrc_load_stack_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnVolume *
kiln_mrc_load_volume (const char    *path,
                      GCancellable  *cancellable,
                      GError       **error)
{
  KilnVolume *result = kiln_mrc_load_volume_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnLabelVolume *
kiln_mrc_load_labels (const char    *path,
                      GCancellable  *cancellable,
                      GError       **error)
{
  KilnLabelVolume *result = kiln_mrc_load_labels_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_mrc_save_stack (const KilnImageStack  *stack,
                     const char            *path,
                     const char            *label,
                     GError               **error)
{
  gboolean result = kiln_mrc_save_stack_unchecked (stack, path, label, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_mrc_save_volume (const KilnVolume  *volume,
                      const char        *path,
                      const char        *label,
                      GError           **error)
{
  gboolean result = kiln_mrc_save_volume_unchecked (volume, path, label, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_mrc_save_labels (const KilnLabelVolume  *labels,
                      const char             *path,
                      const char             *label,
                      GError                **error)
{
  gboolean result = kiln_mrc_save_labels_unchecked (labels, path, label, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
