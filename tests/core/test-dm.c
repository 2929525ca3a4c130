/* test-dm.c — Gatan DM3/DM4 reader
 *
 * Ground truth:
 *  - the shared needle tilt series (HAADF.dm3) against stack.tif (same values, float32
 *    multi-page, read here with libtiff directly), 91 × 64 × 64, 18.0 nm, −90 … +90° step 2;
 *  - synthetic DM3/DM4 files written by the independent encoder below (both byte orders, every
 *    pixel type) with known pixels, calibration and tags; the reader must return exactly what
 *    was written (pixels compared bit-exactly after the same conversion to float);
 *  - the needle file re-encoded as DM4 (and DM3 big-endian) must read identically;
 *  - malformed files (truncated, wrong version, absurd sizes, deep nesting, corrupted bytes)
 *    must give a KILN_ERROR naming the file, never a crash.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <tiffio.h>

#include "kiln-test-util.h"

/* ---- an independent DM encoder ------------------------------------------------------- */

typedef struct
{
  gsize   size_pos;    /* DM4 tag size field, or G_MAXSIZE */
  gsize   count_pos;   /* tag count field of the group */
  guint64 count;
} EncGroup;

typedef struct
{
  GByteArray *buf;
  guint       version;
  gboolean    little;  /* byte order of the values */
  GArray     *open;    /* EncGroup */
} Enc;

#define HOST_LITTLE (G_BYTE_ORDER == G_LITTLE_ENDIAN)

static void
put_be (Enc     *e,
        guint64  v,
        guint    n)
{
  for (guint i = 0; i < n; i++)
    {
      guint8 b = (guint8) (v >> (8 * (n - 1 - i)));
      g_byte_array_append (e->buf, &b, 1);
    }
}

static void
patch_be (Enc     *e,
          gsize    pos,
          guint64  v,
          guint    n)
{
  for (guint i = 0; i < n; i++)
    e->buf->data[pos + i] = (guint8) (v >> (8 * (n - 1 - i)));
}

static guint
wide (const Enc *e)
{
  return e->version == 4 ? 8 : 4;
}

static void
push_group_header (Enc      *e,
                   gboolean  sorted,
                   gboolean  open,
                   gsize     size_pos)
{
  EncGroup g = { size_pos, 0, 0 };

  put_be (e, sorted, 1);
  put_be (e, open, 1);
  g.count_pos = e->buf->len;
  put_be (e, 0, wide (e));
  g_array_append_val (e->open, g);
}

static Enc *
enc_new (guint    version,
         gboolean little)
{
  Enc *e = g_new0 (Enc, 1);

  e->buf = g_byte_array_new ();
  e->version = version;
  e->little = little;
  e->open = g_array_new (FALSE, FALSE, sizeof (EncGroup));
  put_be (e, version, 4);
  put_be (e, 0, wide (e));     /* root size, patched at the end */
  put_be (e, little ? 1 : 0, 4);
  push_group_header (e, TRUE, FALSE, G_MAXSIZE);
  return e;
}

/* Writes kind, name (and the DM4 size placeholder); returns the size field position. */
static gsize
tag_head_raw (Enc          *e,
              guint8        kind,
              const guint8 *name,
              gsize         n)
{
  gsize pos = G_MAXSIZE;

  g_array_index (e->open, EncGroup, e->open->len - 1).count++;
  put_be (e, kind, 1);
  put_be (e, n, 2);
  g_byte_array_append (e->buf, name, (guint) n);
  if (e->version == 4)
    {
      pos = e->buf->len;
      put_be (e, 0, 8);
    }
  return pos;
}


static void
patch_size (Enc   *e,
            gsize  size_pos)
{
  if (size_pos != G_MAXSIZE)
    patch_be (e, size_pos, e->buf->len - size_pos - 8, 8);
}

static void
enc_group_begin_raw (Enc          *e,
                     const guint8 *name,
                     gsize         name_len,
                     gboolean      sorted,
                     gboolean      open)
{
  gsize pos = tag_head_raw (e, 20, name, name_len);
  push_group_header (e, sorted, open, pos);
}

static void
enc_group_begin (Enc        *e,
                 const char *name,
                 gboolean    sorted,
                 gboolean    open)
{
  enc_group_begin_raw (e, (const guint8 *) name, strlen (name), sorted, open);
}

static void
enc_group_end (Enc *e)
{
  EncGroup g = g_array_index (e->open, EncGroup, e->open->len - 1);

  g_array_set_size (e->open, e->open->len - 1);
  patch_be (e, g.count_pos, g.count, wide (e));
  patch_size (e, g.size_pos);
}

static guint
simple_bytes (guint64 code)
{
  switch (code)
    {
    case 8: case 9: case 10: return 1;
    case 2: case 4: return 2;
    case 3: case 5: case 6: return 4;
    case 7: case 11: case 12: return 8;
    default: return 0;
    }
}

/* Reverse the bytes of every primitive of the value described at info[*idx]. */
static void
swap_walk (const guint64 *info,
           guint         *idx,
           guint8        *data,
           gsize         *off)
{
  guint64 code = info[(*idx)++];
  guint n = simple_bytes (code);

  if (n > 0)
    {
      for (guint i = 0; i < n / 2; i++)
        {
          guint8 t = data[*off + i];
          data[*off + i] = data[*off + n - 1 - i];
          data[*off + n - 1 - i] = t;
        }
      *off += n;
    }
  else if (code == 18)
    *off += info[(*idx)++];
  else if (code == 15)
    {
      guint64 n_fields;

      (*idx)++;
      n_fields = info[(*idx)++];
      for (guint64 f = 0; f < n_fields; f++)
        {
          (*idx)++;
          swap_walk (info, idx, data, off);
        }
    }
  else if (code == 20)
    {
      guint start = *idx, end = start;
      guint64 count;
      gsize dummy = 0;
      g_autofree guint8 *scratch = g_malloc0 (64);

      /* find the element description's end by walking it once on scratch bytes */
      swap_walk (info, &end, scratch, &dummy);
      count = info[end];
      for (guint64 k = 0; k < count; k++)
        {
          guint j = start;
          swap_walk (info, &j, data, off);
        }
      *idx = end + 1;
    }
  else
    g_assert_not_reached ();
}

/* A data tag with type description @info and value bytes @raw in byte order @raw_little. */
static void
enc_data_raw (Enc           *e,
              const guint8  *name,
              gsize          name_len,
              const guint64 *info,
              guint          n_info,
              const guint8  *raw,
              gsize          size,
              gboolean       raw_little)
{
  gsize pos = tag_head_raw (e, 21, name, name_len);
  gsize start;

  g_byte_array_append (e->buf, (const guint8 *) "%%%%", 4);
  put_be (e, n_info, wide (e));
  for (guint i = 0; i < n_info; i++)
    put_be (e, info[i], wide (e));
  start = e->buf->len;
  g_byte_array_append (e->buf, raw, (guint) size);
  if (raw_little != e->little)
    {
      guint idx = 0;
      gsize off = 0;

      swap_walk (info, &idx, e->buf->data + start, &off);
      g_assert_cmpuint (off, ==, size);
    }
  patch_size (e, pos);
}

static void
enc_data (Enc           *e,
          const char    *name,
          const guint64 *info,
          guint          n_info,
          const guint8  *raw,
          gsize          size,
          gboolean       raw_little)
{
  enc_data_raw (e, (const guint8 *) name, strlen (name), info, n_info, raw, size, raw_little);
}

/* Pack @v as DM simple type @code in host order. */
static void
pack (guint64  code,
      double   v,
      guint8  *out)
{
  switch (code)
    {
    case 8: case 10: { guint8 x = (guint8) v; memcpy (out, &x, 1); break; }
    case 9: { gint8 x = (gint8) v; memcpy (out, &x, 1); break; }
    case 2: { gint16 x = (gint16) v; memcpy (out, &x, 2); break; }
    case 4: { guint16 x = (guint16) v; memcpy (out, &x, 2); break; }
    case 3: { gint32 x = (gint32) v; memcpy (out, &x, 4); break; }
    case 5: { guint32 x = (guint32) v; memcpy (out, &x, 4); break; }
    case 6: { float x = (float) v; memcpy (out, &x, 4); break; }
    case 7: { memcpy (out, &v, 8); break; }
    case 11: { gint64 x = (gint64) v; memcpy (out, &x, 8); break; }
    case 12: { guint64 x = (guint64) v; memcpy (out, &x, 8); break; }
    default: g_assert_not_reached ();
    }
}

static void
enc_scalar (Enc        *e,
            const char *name,
            guint64     code,
            double      v)
{
  guint8 raw[8];

  pack (code, v, raw);
  enc_data (e, name, &code, 1, raw, simple_bytes (code), HOST_LITTLE);
}

static void
enc_array (Enc           *e,
           const char    *name,
           guint64        code,
           guint64        n,
           const double  *values)
{
  guint64 info[3] = { 20, code, n };
  guint b = simple_bytes (code);
  g_autofree guint8 *raw = g_malloc0 (n * b + 1);

  for (guint64 i = 0; i < n; i++)
    pack (code, values[i], raw + i * b);
  enc_data (e, name, info, 3, raw, n * b, HOST_LITTLE);
}

/* A string the way DM stores it: an array of uint16 UTF-16 units. */
static void
enc_string (Enc        *e,
            const char *name,
            const char *utf8)
{
  glong n = 0;
  g_autofree gunichar2 *u = g_utf8_to_utf16 (utf8, -1, NULL, &n, NULL);
  guint64 info[3] = { 20, 4, (guint64) n };

  enc_data (e, name, info, 3, (const guint8 *) u, (gsize) n * 2, HOST_LITTLE);
}

static GBytes *
enc_finish (Enc *e)
{
  EncGroup root = g_array_index (e->open, EncGroup, 0);
  gsize header = e->version == 4 ? 16 : 12;

  g_assert_cmpuint (e->open->len, ==, 1);
  patch_be (e, root.count_pos, root.count, wide (e));
  put_be (e, 0, 8);                                       /* DM's trailing zeros */
  patch_be (e, 4, e->buf->len - header - 8, wide (e));
  g_array_unref (e->open);
  {
    GBytes *b = g_byte_array_free_to_bytes (e->buf);
    g_free (e);
    return b;
  }
}

/* Plain write without fsync (g_file_set_contents syncs when it replaces a file, which makes
 * the thousands of small files of the bad-input tests slow on a busy disk). */
static void
write_raw (const char *path,
           const void *data,
           gsize       len)
{
  FILE *f = g_fopen (path, "wb");

  g_assert_nonnull (f);
  g_assert_cmpuint (fwrite (data, 1, len, f), ==, len);
  g_assert_cmpint (fclose (f), ==, 0);
}

static void
write_bytes (const char *path,
             GBytes     *bytes)
{
  gsize len;
  const void *d = g_bytes_get_data (bytes, &len);

  write_raw (path, d, len);
}

/* Re-emit a parsed tree with another version and/or byte order, leaving out the tags whose
 * path (as in the dump: "/ImageList/[1]/ImageTags/Meta Data") is in @skip. */
static void
reencode_tag (Enc               *e,
              const KilnDmTag   *tag,
              const char        *path,
              gboolean           from_little,
              const char *const *skip)
{
  gsize name_len;
  const guint8 *name = kiln_dm_tag_name_bytes (tag, &name_len);

  if (skip != NULL && g_strv_contains (skip, path))
    return;
  if (kiln_dm_tag_is_group (tag))
    {
      enc_group_begin_raw (e, name, name_len, kiln_dm_tag_sorted (tag), kiln_dm_tag_open (tag));
      for (guint i = 0; i < kiln_dm_tag_n_children (tag); i++)
        {
          const KilnDmTag *child = kiln_dm_tag_child (tag, i);
          g_autofree char *sub = kiln_dm_tag_name (child)[0] != '\0'
                                   ? g_strdup_printf ("%s/%s", path, kiln_dm_tag_name (child))
                                   : g_strdup_printf ("%s/[%u]", path, i);
          reencode_tag (e, child, sub, from_little, skip);
        }
      enc_group_end (e);
    }
  else
    {
      guint n_info;
      gsize size;
      const guint64 *info = kiln_dm_tag_type_info (tag, &n_info);
      const guint8 *raw = kiln_dm_tag_data (tag, &size);

      enc_data_raw (e, name, name_len, info, n_info, raw, size, from_little);
    }
}

static GBytes *
reencode (const KilnDmFile  *file,
          guint              version,
          gboolean           little,
          const char *const *skip)
{
  Enc *e = enc_new (version, little);
  const KilnDmTag *root = kiln_dm_file_root (file);

  e->buf->data[version == 4 ? 16 : 12] = kiln_dm_tag_sorted (root);
  e->buf->data[version == 4 ? 17 : 13] = kiln_dm_tag_open (root);

  for (guint i = 0; i < kiln_dm_tag_n_children (root); i++)
    {
      const KilnDmTag *child = kiln_dm_tag_child (root, i);
      g_autofree char *sub = g_strdup_printf ("/%s", kiln_dm_tag_name (child));

      reencode_tag (e, child, sub, kiln_dm_file_little_endian (file), skip);
    }
  return enc_finish (e);
}

/* ---- synthetic images ---------------------------------------------------------------- */

typedef struct
{
  int         data_type;   /* DM image data type */
  guint64     elem_code;   /* tag type of the Data array elements */
  guint       bpp;
} PixType;

static const PixType pix_types[] = {
  { 1, 2, 2 },    /* int16 */
  { 2, 6, 4 },    /* float32 */
  { 6, 10, 1 },   /* uint8 */
  { 7, 3, 4 },    /* int32 */
  { 9, 9, 1 },    /* int8 */
  { 10, 4, 2 },   /* uint16 */
  { 11, 5, 4 },   /* uint32 */
  { 12, 7, 8 },   /* float64 */
};

/* A value of pixel @i that spans the type's range (negative, large, fractional). */
static double
pixel_value (int   data_type,
             guint i)
{
  switch (data_type)
    {
    case 1: return (double) ((i * 2731u) % 65536u) - 32768.0;
    case 2: return ((double) i - 30.0) * 0.37 + 1e-3;
    case 6: return (double) ((i * 37u) % 256u);
    case 7: return (double) ((gint64) ((i * 2654435761u) % 4294967296u) - 2147483648);
    case 9: return (double) ((i * 37u) % 256u) - 128.0;
    case 10: return (double) ((i * 2731u) % 65536u);
    case 11: return (double) ((i * 2654435761u) % 4294967296u);
    case 12: return ((double) i - 30.0) * 1.5e20 + 0.25;
    default: return i;   /* unsupported types (bad-input tests) */
    }
}

typedef enum
{
  ANGLES_NONE = 0,
  ANGLES_META = 1 << 0,       /* Meta Data/Dimension info/2/Data */
  ANGLES_TRACKING = 1 << 1,   /* Tracking data/Online tracking data */
  ANGLES_CALIBRATION = 1 << 2,
  ANGLES_SETUP = 1 << 3,
} AngleSources;

typedef struct
{
  guint        version;
  gboolean     little;
  const PixType *type;
  guint        n_dims;
  guint64      dims[3];
  const char  *unit;        /* x calibration unit */
  double       scale;       /* x calibration scale */
  AngleSources angles;
  gboolean     big_first;   /* the big image at ImageList/[0], thumbnail after it */
  gboolean     no_thumbnail;
  gboolean     tracking_duplicate;   /* two records claim the same series index */
  const char  *setup_direction;      /* NULL: "max -> min" */
  /* overrides for bad inputs */
  gboolean     data_count_override;
  guint64      data_count;
} Synth;

/* Angles written by each source; distinct so that the test sees which one was used. */
static double
source_angle (AngleSources source,
              guint        i,
              guint        n)
{
  switch (source)
    {
    case ANGLES_META: return -60.0 + 3.5 * i * i / (double) n;   /* non-uniform */
    case ANGLES_TRACKING: return 50.0 - 7.0 * i;
    case ANGLES_CALIBRATION: return 1.5 * ((double) i - 2.0);     /* origin 2, scale 1.5 */
    case ANGLES_SETUP: return 40.0 - 10.0 * i;                     /* max 40, step 10, max → min */
    default: g_assert_not_reached ();
    }
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
synth_thumbnail (Enc *e)
{
  double px[4 * 3];

  for (guint i = 0; i < G_N_ELEMENTS (px); i++)
    px[i] = 1000 + i;
  enc_group_begin (e, "", TRUE, FALSE);
  enc_group_begin (e, "ImageData", TRUE, FALSE);
  enc_array (e, "Data", 3, G_N_ELEMENTS (px), px);
  enc_scalar (e, "DataType", 5, 7);
  enc_group_begin (e, "Dimensions", FALSE, FALSE);
  enc_scalar (e, "", 5, 4);
  enc_scalar (e, "", 5, 3);
  enc_group_end (e);
  enc_scalar (e, "PixelDepth", 5, 4);
  enc_group_end (e);
  enc_group_begin (e, "ImageTags", TRUE, FALSE);
  enc_group_end (e);
  enc_group_end (e);
}

static void
synth_image (Enc         *e,
             const Synth *s)
{
  guint64 n_px = 1;
  guint n = s->n_dims > 2 ? (guint) s->dims[2] : 1;
  g_autofree double *px = NULL;

  for (guint d = 0; d < s->n_dims; d++)
    n_px *= s->dims[d];
  enc_group_begin (e, "", TRUE, FALSE);
  enc_group_begin (e, "ImageData", TRUE, FALSE);

  enc_group_begin (e, "Calibrations", TRUE, FALSE);
  enc_group_begin (e, "Brightness", TRUE, FALSE);
  enc_scalar (e, "Origin", 6, 0);
  enc_scalar (e, "Scale", 6, 1);
  enc_string (e, "Units", "counts");
  enc_group_end (e);
  enc_group_begin (e, "Dimension", FALSE, FALSE);
  for (guint d = 0; d < s->n_dims; d++)
    {
      enc_group_begin (e, "", TRUE, FALSE);
      if (d < 2)
        {
          enc_scalar (e, "Origin", 6, 7.0);
          enc_scalar (e, "Scale", 6, s->scale);
          enc_string (e, "Units", s->unit);
        }
      else if (s->angles & ANGLES_CALIBRATION)
        {
          enc_scalar (e, "Origin", 6, 2.0);
          enc_scalar (e, "Scale", 6, 1.5);
          enc_string (e, "Units", "deg");
        }
      else
        {
          enc_scalar (e, "Origin", 6, 0.0);
          enc_scalar (e, "Scale", 6, 1.0);
          enc_string (e, "Units", "");
        }
      enc_group_end (e);
    }
  enc_group_end (e);
  enc_scalar (e, "DisplayCalibratedUnits", 8, 1);
  enc_group_end (e);

  {
    guint64 count = s->data_count_override ? s->data_count : n_px;
    guint64 info[3] = { 20, s->type->elem_code, count };
    gsize bytes = (gsize) MIN (count, n_px) * s->type->bpp;
    g_autofree guint8 *raw = g_malloc0 (MAX (bytes, 1));

    if (s->data_count_override)
      {
        /* a count that disagrees with the bytes written (bad input): zeros, unswapped */
        enc_data (e, "Data", info, 3, raw, bytes, e->little);
      }
    else
      {
        for (guint64 i = 0; i < n_px; i++)
          pack (s->type->elem_code, pixel_value (s->type->data_type, (guint) i),
                raw + i * s->type->bpp);
        enc_data (e, "Data", info, 3, raw, bytes, HOST_LITTLE);
      }
  }
  enc_scalar (e, "DataType", 5, s->type->data_type);
  enc_group_begin (e, "Dimensions", FALSE, FALSE);
  for (guint d = 0; d < s->n_dims; d++)
    enc_scalar (e, "", 5, (double) s->dims[d]);
  enc_group_end (e);
  enc_scalar (e, "PixelDepth", 5, s->type->bpp);
  enc_group_end (e);   /* ImageData */

  enc_group_begin (e, "ImageTags", TRUE, FALSE);
  if (s->angles & ANGLES_META)
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (names, g_strdup_printf ("%u", i));
      /* DM sorts the names as strings: 0, 1, 10, 11, …, 2, … */
      g_ptr_array_sort (names, compare_names);
      enc_group_begin (e, "Meta Data", TRUE, FALSE);
      enc_group_begin (e, "Dimension info", TRUE, FALSE);
      enc_group_begin (e, "2", TRUE, FALSE);
      enc_group_begin (e, "Data", TRUE, FALSE);
      for (guint i = 0; i < n; i++)
        {
          const char *name = g_ptr_array_index (names, i);
          enc_scalar (e, name, 7, source_angle (ANGLES_META, (guint) atoi (name), n));
        }
      enc_group_end (e);
      enc_string (e, "Label", "Tilt angle (deg)");
      enc_group_end (e);
      enc_group_end (e);
      enc_group_end (e);
    }
  if (s->angles & (ANGLES_TRACKING | ANGLES_SETUP))
    {
      enc_group_begin (e, "Tomography", TRUE, FALSE);
      if (s->angles & ANGLES_SETUP)
        {
          enc_group_begin (e, "Tomography setup", TRUE, FALSE);
          enc_group_begin (e, "Tilt angles", TRUE, FALSE);
          enc_scalar (e, "Maximum tilt angle (deg)", 7, 40.0);
          enc_scalar (e, "Minimum tilt angle (deg)", 7, 40.0 - 10.0 * (n - 1));
          enc_scalar (e, "Tilt angle step (deg)", 7, 10.0);
          enc_string (e, "Tilt direction", s->setup_direction != NULL ? s->setup_direction
                                                                      : "max -> min");
          enc_string (e, "Tilt model", "equal");
          enc_group_end (e);
          enc_group_end (e);
        }
      if (s->angles & ANGLES_TRACKING)
        {
          enc_group_begin (e, "Tracking data", TRUE, FALSE);
          enc_group_begin (e, "Online tracking data", FALSE, FALSE);
          /* acquired in reverse order: record j holds series index n−1−j */
          for (guint j = 0; j < n; j++)
            {
              guint idx = n - 1 - j;

              if (s->tracking_duplicate && j == 1)
                idx = n - 1;

              enc_group_begin (e, "", TRUE, FALSE);
              enc_scalar (e, "Acquisition index", 3, j);
              enc_scalar (e, "Index in series", 3, idx);
              enc_scalar (e, "stage angle (degree)", 7, source_angle (ANGLES_TRACKING, idx, n));
              enc_group_end (e);
            }
          enc_group_end (e);
          enc_group_end (e);
        }
      enc_group_end (e);
    }
  enc_group_end (e);   /* ImageTags */
  enc_string (e, "Name", "synthetic");
  enc_group_end (e);   /* image */
}

/* Every kind of tag value, for the tree round trip. */
static void
synth_misc (Enc *e)
{
  guint64 s_info[] = { 15, 0, 3, 0, 2, 0, 6, 0, 7 };
  guint8 s_raw[2 + 4 + 8];
  guint64 as_info[] = { 20, 15, 0, 2, 0, 3, 0, 10, 3 };
  guint8 as_raw[3 * 5];
  guint64 str_info[] = { 18, 5 };
  const double arr[] = { -1.5, 2.25, 1e300 };

  pack (2, -1234, s_raw);
  pack (6, 0.5, s_raw + 2);
  pack (7, -3.25e-100, s_raw + 6);
  for (guint i = 0; i < 3; i++)
    {
      pack (3, -100000.0 * (i + 1), as_raw + 5 * i);
      pack (10, 200 + i, as_raw + 5 * i + 4);
    }
  enc_group_begin (e, "Misc", TRUE, TRUE);
  enc_data (e, "Struct", s_info, G_N_ELEMENTS (s_info), s_raw, sizeof s_raw, HOST_LITTLE);
  enc_data (e, "StructArray", as_info, G_N_ELEMENTS (as_info), as_raw, sizeof as_raw, HOST_LITTLE);
  enc_data (e, "String18", str_info, 2, (const guint8 *) "hello", 5, HOST_LITTLE);
  enc_array (e, "Doubles", 7, 3, arr);
  {
    /* an array of 3 arrays of 2 uint16 */
    guint64 aa_info[] = { 20, 20, 4, 2, 3 };
    guint8 aa_raw[12];

    for (guint i = 0; i < 6; i++)
      pack (4, 1000 * i + 1, aa_raw + 2 * i);
    enc_data (e, "ArrayOfArrays", aa_info, G_N_ELEMENTS (aa_info), aa_raw, sizeof aa_raw,
              HOST_LITTLE);
  }
  enc_scalar (e, "Bool", 8, 1);
  enc_scalar (e, "Int8", 9, -7);
  enc_scalar (e, "UInt8", 10, 250);
  enc_scalar (e, "Int16", 2, -32768);
  enc_scalar (e, "UInt16", 4, 65535);
  enc_scalar (e, "Int32", 3, -2147483648.0);
  enc_scalar (e, "UInt32", 5, 4294967295.0);
  enc_scalar (e, "Int64", 11, -4503599627370496.0);
  enc_scalar (e, "UInt64", 12, 9007199254740992.0);
  enc_scalar (e, "Float32", 6, 0.1f);
  enc_scalar (e, "Float64", 7, 0.1);
  enc_string (e, "Unicode", "\xc3\x85 \xc2\xb5m \xe2\x84\xab");
  enc_group_end (e);
}

static GBytes *
synth_file (const Synth *s)
{
  Enc *e = enc_new (s->version, s->little);

  enc_group_begin (e, "ImageList", FALSE, FALSE);
  if (s->no_thumbnail)
    synth_image (e, s);
  else if (s->big_first)
    {
      synth_image (e, s);
      synth_thumbnail (e);
    }
  else
    {
      synth_thumbnail (e);
      synth_image (e, s);
    }
  enc_group_end (e);
  synth_misc (e);
  enc_scalar (e, "InImageMode", 8, 1);
  return enc_finish (e);
}

static Synth
synth_default (void)
{
  Synth s = { 0 };

  s.version = 3;
  s.little = TRUE;
  s.type = &pix_types[5];   /* uint16 */
  s.n_dims = 3;
  s.dims[0] = 5;
  s.dims[1] = 4;
  s.dims[2] = 12;
  s.unit = "nm";
  s.scale = 0.75;
  s.angles = ANGLES_CALIBRATION;
  return s;
}

/* ---- helpers ------------------------------------------------------------------------- */

static void
assert_error (GError     *error,
              KilnError   code,
              const char *path)
{
  g_assert_error (error, KILN_ERROR, (gint) code);
  if (strstr (error->message, path) == NULL)
    g_error ("error message “%s” does not name the file %s", error->message, path);
}

static void
assert_stacks_equal (const KilnImageStack *a,
                     const KilnImageStack *b)
{
  g_assert_cmpuint (a->n_tilts, ==, b->n_tilts);
  g_assert_cmpuint (a->width, ==, b->width);
  g_assert_cmpuint (a->height, ==, b->height);
  g_assert_cmpmem (a->data, kiln_image_stack_n_pixels (a) * sizeof (float),
                   b->data, kiln_image_stack_n_pixels (b) * sizeof (float));
  g_assert_cmpint (a->has_angles, ==, b->has_angles);
  g_assert_cmpmem (a->angles_deg, a->n_tilts * sizeof (double),
                   b->angles_deg, b->n_tilts * sizeof (double));
  g_assert_cmpfloat (a->pixel_size_nm, ==, b->pixel_size_nm);
}

/* The dump without its first line (version and byte order). */
static char *
dump_body (const KilnDmFile *file)
{
  g_autofree char *d = kiln_dm_file_dump (file);
  char *nl = strchr (d, '\n');

  g_assert_nonnull (nl);
  return g_strdup (nl + 1);
}

static KilnImageStack *
read_tiff_stack (const char *path)
{
  TIFF *tif = TIFFOpen (path, "r");
  GArray *pages = g_array_new (FALSE, FALSE, sizeof (float));
  guint32 w = 0, h = 0;
  guint n = 0;
  KilnImageStack *stack;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (tif);
  do
    {
      guint16 bits = 0, fmt = 0, spp = 1;

      g_assert_true (TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &w));
      g_assert_true (TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &h));
      TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &bits);
      TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &fmt);
      TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
      g_assert_cmpuint (bits, ==, 32);
      g_assert_cmpuint (fmt, ==, SAMPLEFORMAT_IEEEFP);
      g_assert_cmpuint (spp, ==, 1);
      g_assert_cmpuint (TIFFScanlineSize (tif), ==, w * sizeof (float));
      for (guint32 y = 0; y < h; y++)
        {
          gsize at = pages->len;

          g_array_set_size (pages, at + w);
          g_assert_cmpint (TIFFReadScanline (tif, &g_array_index (pages, float, at), y, 0), ==, 1);
        }
      n++;
    }
  while (TIFFReadDirectory (tif));
  TIFFClose (tif);

  stack = kiln_image_stack_new (n, w, h, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pages->len, ==, (gsize) n * w * h);
  memcpy (stack->data, pages->data, pages->len * sizeof (float));
  g_array_unref (pages);
  return stack;
}

/* ---- tests --------------------------------------------------------------------------- */

static char *
needle_path (void)
{
  char *path = kiln_test_shared_path ("data/etspy-needle-haadf/HAADF.dm3");

  if (path == NULL)
    g_test_skip ("../shared/data/etspy-needle-haadf is absent");
  return path;
}

static void
test_needle (void)
{
  g_autofree char *path = needle_path ();
  g_autofree char *tif_path = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  g_autoptr(KilnImageStack) ref = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return;
  stack = kiln_dm_load_stack (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stack->n_tilts, ==, 91);
  g_assert_cmpuint (stack->width, ==, 64);
  g_assert_cmpuint (stack->height, ==, 64);
  /* 0.017995 µm from the calibration; the brief allows ±0.01 nm around 18.0 */
  g_assert_cmpfloat_with_epsilon (stack->pixel_size_nm, 18.0, 0.01);
  g_assert_true (stack->has_angles);
  for (guint k = 0; k < 91; k++)
    g_assert_cmpfloat (stack->angles_deg[k], ==, -90.0 + 2.0 * k);   /* exact: small integers */

  tif_path = kiln_test_shared_path ("data/etspy-needle-haadf/stack.tif");
  g_assert_nonnull (tif_path);
  ref = read_tiff_stack (tif_path);
  g_assert_cmpuint (ref->n_tilts, ==, 91);
  g_assert_cmpuint (ref->width, ==, 64);
  g_assert_cmpuint (ref->height, ==, 64);
  /* identical values (uint16 → float is exact) */
  g_assert_cmpmem (stack->data, kiln_image_stack_n_pixels (stack) * sizeof (float),
                   ref->data, kiln_image_stack_n_pixels (ref) * sizeof (float));
  {
    KilnStats st;
    kiln_image_stack_stats (stack, &st);
    /* the README's value range of the series */
    g_assert_cmpfloat (st.min, ==, 513.0);
    g_assert_cmpfloat (st.max, ==, 39459.0);
  }
}

static void
test_needle_tree (void)
{
  g_autofree char *path = needle_path ();
  g_autoptr(KilnDmFile) file = NULL;
  g_autoptr(GError) error = NULL;
  const KilnDmTag *root, *t;
  g_autofree char *units = NULL;
  double v;

  if (path == NULL)
    return;
  file = kiln_dm_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_dm_file_version (file), ==, 3);
  g_assert_true (kiln_dm_file_little_endian (file));
  root = kiln_dm_file_root (file);
  t = kiln_dm_tag_lookup (root, "ImageList");
  g_assert_nonnull (t);
  g_assert_cmpuint (kiln_dm_tag_n_children (t), ==, 2);
  /* the thumbnail: 128 × 128, 4 bytes per pixel, DM data type 23 (RGBA) */
  g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (root, "ImageList/[0]/ImageData/DataType"), &v));
  g_assert_cmpfloat (v, ==, 23);
  g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (root, "ImageList/[0]/ImageData/Dimensions/[0]"), &v));
  g_assert_cmpfloat (v, ==, 128);
  units = kiln_dm_tag_get_string (kiln_dm_tag_lookup (root, "ImageList/[1]/ImageData/Calibrations/Dimension/[0]/Units"));
  g_assert_cmpstr (units, ==, "\xc2\xb5m");
  g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (root, "ImageList/[1]/ImageData/Calibrations/Dimension/[2]/Origin"), &v));
  g_assert_cmpfloat (v, ==, 45);
  /* the per-tilt list is sorted as strings: child [2] is named "10" */
  t = kiln_dm_tag_lookup (root, "ImageList/[1]/ImageTags/Meta Data/Dimension info/2/Data/[2]");
  g_assert_cmpstr (kiln_dm_tag_name (t), ==, "10");
  g_assert_true (kiln_dm_tag_get_double (t, &v));
  g_assert_cmpfloat (v, ==, -70);
  g_assert_true (kiln_dm_tag_get_array_double (kiln_dm_tag_lookup (root, "ImageList/[1]/ImageData/Data"), 0, &v));
  g_assert_cmpfloat (v, ==, 524);   /* first pixel, also stack.tif's */
  g_assert_false (kiln_dm_tag_get_array_double (kiln_dm_tag_lookup (root, "ImageList/[1]/ImageData/Data"), 91 * 64 * 64, &v));
  g_assert_null (kiln_dm_tag_lookup (root, "ImageList/[2]"));
  g_assert_null (kiln_dm_tag_lookup (root, "ImageList/[x]"));
  g_assert_null (kiln_dm_tag_lookup (root, "NoSuchTag"));
}

/* The needle re-encoded as DM4 (both byte orders) and as big-endian DM3 reads identically. */
static void
test_needle_reencoded (void)
{
  g_autofree char *path = needle_path ();
  g_autoptr(KilnDmFile) file = NULL;
  g_autoptr(KilnImageStack) orig = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  const struct { guint version; gboolean little; } variants[] = {
    { 4, TRUE }, { 4, FALSE }, { 3, FALSE }, { 3, TRUE },
  };

  if (path == NULL)
    return;
  file = kiln_dm_file_open (path, &error);
  g_assert_no_error (error);
  orig = kiln_dm_load_stack (path, NULL, &error);
  g_assert_no_error (error);
  body = dump_body (file);

  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_autoptr(GBytes) bytes = reencode (file, variants[v].version, variants[v].little, NULL);
      g_autofree char *out = g_strdup_printf ("needle-%u-%d.dm%u", variants[v].version,
                                              variants[v].little, variants[v].version);
      g_autofree char *out_path = kiln_test_tmpfile (out);
      g_autoptr(KilnDmFile) again = NULL;
      g_autoptr(KilnImageStack) stack = NULL;
      g_autofree char *body2 = NULL;

      write_bytes (out_path, bytes);
      if (variants[v].version == 3 && variants[v].little)
        {
          /* re-encoding with the same version and order reproduces the file byte for byte */
          g_autofree char *orig_bytes = NULL;
          gsize len;

          g_assert_true (g_file_get_contents (path, &orig_bytes, &len, NULL));
          g_assert_cmpmem (orig_bytes, len, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
        }
      again = kiln_dm_file_open (out_path, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (kiln_dm_file_version (again), ==, variants[v].version);
      g_assert_cmpint (kiln_dm_file_little_endian (again), ==, variants[v].little);
      body2 = dump_body (again);
      g_assert_cmpstr (body2, ==, body);
      stack = kiln_dm_load_stack (out_path, NULL, &error);
      g_assert_no_error (error);
      assert_stacks_equal (stack, orig);
    }
}

/* The needle's angles from each of its sources in turn, by removing the preferred ones: all
 * agree on −90 … +90° step 2 (this checks DM's calibration convention, value =
 * scale · (index − origin), on real data: origin 45, scale 2). */
static void
test_needle_angle_sources (void)
{
  g_autofree char *path = needle_path ();
  g_autoptr(KilnDmFile) file = NULL;
  g_autoptr(GError) error = NULL;
  const char *const skip_meta[] = { "/ImageList/[1]/ImageTags/Meta Data", NULL };
  const char *const skip_tracking[] = { "/ImageList/[1]/ImageTags/Meta Data",
                                        "/ImageList/[1]/ImageTags/Tomography/Tracking data", NULL };
  const char *const skip_cal[] = { "/ImageList/[1]/ImageTags/Meta Data",
                                   "/ImageList/[1]/ImageTags/Tomography/Tracking data",
                                   "/ImageList/[1]/ImageData/Calibrations/Dimension/[2]", NULL };
  const char *const skip_all[] = { "/ImageList/[1]/ImageTags/Meta Data",
                                   "/ImageList/[1]/ImageTags/Tomography",
                                   "/ImageList/[1]/ImageData/Calibrations/Dimension/[2]", NULL };
  const char *const *skips[] = { skip_meta, skip_tracking, skip_cal, skip_all };
  gsize full_size;

  if (path == NULL)
    return;
  file = kiln_dm_file_open (path, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GBytes) full = reencode (file, 4, TRUE, NULL);
    full_size = g_bytes_get_size (full);
  }
  for (guint v = 0; v < G_N_ELEMENTS (skips); v++)
    {
      g_autoptr(GBytes) bytes = reencode (file, 4, TRUE, skips[v]);
      g_autofree char *out_path = kiln_test_tmpfile ("needle-skip.dm4");
      g_autoptr(KilnImageStack) stack = NULL;
      gboolean last = v == G_N_ELEMENTS (skips) - 1;

      g_assert_cmpuint (g_bytes_get_size (bytes), <, full_size);   /* something was left out */
      write_bytes (out_path, bytes);
      stack = kiln_dm_load_stack (out_path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (stack->has_angles, ==, !last);
      for (guint k = 0; k < 91 && !last; k++)
        g_assert_cmpfloat (stack->angles_deg[k], ==, -90.0 + 2.0 * k);   /* exact */
      g_assert_cmpfloat_with_epsilon (stack->pixel_size_nm, 18.0, 0.01);
    }
}

/* Every pixel type, DM3 and DM4, both byte orders: exactly the written pixels. */
static void
test_synthetic_types (void)
{
  for (guint t = 0; t < G_N_ELEMENTS (pix_types); t++)
    for (guint version = 3; version <= 4; version++)
      for (int little = 0; little <= 1; little++)
        {
          Synth s = synth_default ();
          g_autoptr(GBytes) bytes = NULL;
          g_autofree char *path = kiln_test_tmpfile ("types.dm");
          g_autoptr(KilnImageStack) stack = NULL;
          g_autoptr(GError) error = NULL;

          s.version = version;
          s.little = little;
          s.type = &pix_types[t];
          s.big_first = t % 2 == 0;
          bytes = synth_file (&s);
          write_bytes (path, bytes);
          stack = kiln_dm_load_stack (path, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (stack->width, ==, 5);
          g_assert_cmpuint (stack->height, ==, 4);
          g_assert_cmpuint (stack->n_tilts, ==, 12);
          for (guint i = 0; i < 5 * 4 * 12; i++)
            {
              /* the value as written, converted to float once: bit-exact */
              float expect = (float) pixel_value (pix_types[t].data_type, i);
              if (stack->data[i] != expect)
                g_error ("type %d DM%u %s: pixel %u is %.9g, expected %.9g",
                         pix_types[t].data_type, version, little ? "LE" : "BE", i,
                         stack->data[i], expect);
            }
          /* x calibration 0.75 nm (float32 exact) */
          g_assert_cmpfloat (stack->pixel_size_nm, ==, 0.75);
          g_assert_true (stack->has_angles);
          for (guint k = 0; k < 12; k++)
            g_assert_cmpfloat (stack->angles_deg[k], ==, source_angle (ANGLES_CALIBRATION, k, 12));
        }
}

/* The tree of a synthetic file with every kind of value, in all four encodings. */
static void
test_synthetic_tree (void)
{
  g_autofree char *first = NULL;

  for (guint version = 3; version <= 4; version++)
    for (int little = 0; little <= 1; little++)
      {
        Synth s = synth_default ();
        g_autoptr(GBytes) bytes = NULL;
        g_autofree char *path = kiln_test_tmpfile ("tree.dm");
        g_autoptr(KilnDmFile) file = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *body = NULL;
        g_autofree char *str = NULL;
        const KilnDmTag *root, *misc;
        double v;

        s.version = version;
        s.little = little;
        bytes = synth_file (&s);
        write_bytes (path, bytes);
        file = kiln_dm_file_open (path, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (kiln_dm_file_version (file), ==, version);
        g_assert_cmpint (kiln_dm_file_little_endian (file), ==, little);
        root = kiln_dm_file_root (file);
        misc = kiln_dm_tag_lookup (root, "Misc");
        g_assert_nonnull (misc);
        g_assert_true (kiln_dm_tag_sorted (misc));
        g_assert_true (kiln_dm_tag_open (misc));

        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Int8"), &v));
        g_assert_cmpfloat (v, ==, -7);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "UInt8"), &v));
        g_assert_cmpfloat (v, ==, 250);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Int16"), &v));
        g_assert_cmpfloat (v, ==, -32768);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "UInt16"), &v));
        g_assert_cmpfloat (v, ==, 65535);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Int32"), &v));
        g_assert_cmpfloat (v, ==, -2147483648.0);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "UInt32"), &v));
        g_assert_cmpfloat (v, ==, 4294967295.0);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Int64"), &v));
        g_assert_cmpfloat (v, ==, -4503599627370496.0);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "UInt64"), &v));
        g_assert_cmpfloat (v, ==, 9007199254740992.0);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Float32"), &v));
        g_assert_cmpfloat (v, ==, (double) 0.1f);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Float64"), &v));
        g_assert_cmpfloat (v, ==, 0.1);
        g_assert_true (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Bool"), &v));
        g_assert_cmpfloat (v, ==, 1);
        g_assert_true (kiln_dm_tag_get_array_double (kiln_dm_tag_lookup (misc, "Doubles"), 2, &v));
        g_assert_cmpfloat (v, ==, 1e300);
        g_assert_false (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Doubles"), &v));
        g_assert_false (kiln_dm_tag_get_double (kiln_dm_tag_lookup (misc, "Struct"), &v));
        str = kiln_dm_tag_get_string (kiln_dm_tag_lookup (misc, "String18"));
        g_assert_cmpstr (str, ==, "hello");
        g_clear_pointer (&str, g_free);
        str = kiln_dm_tag_get_string (kiln_dm_tag_lookup (misc, "Unicode"));
        g_assert_cmpstr (str, ==, "\xc3\x85 \xc2\xb5m \xe2\x84\xab");
        g_clear_pointer (&str, g_free);
        g_assert_null (kiln_dm_tag_get_string (kiln_dm_tag_lookup (misc, "Doubles")));

        body = dump_body (file);
        /* structs and arrays of structs decode field by field in every byte order */
        g_assert_nonnull (strstr (body, "/Misc/Struct = struct {int16 -1234, float32 0.5, "
                                        "float64 -3.2500000000000001e-100}\n"));
        g_assert_nonnull (strstr (body, "/Misc/StructArray = array[3] of [struct {int32 -100000, "
                                        "uint8 200}, struct {int32 -200000, uint8 201}, "
                                        "struct {int32 -300000, uint8 202}]\n"));
        g_assert_nonnull (strstr (body, "/Misc/String18 = string \"hello\"\n"));
        g_assert_nonnull (strstr (body, "/Misc/ArrayOfArrays = array[3] of [array[2] of uint16, "
                                        "array[2] of uint16, array[2] of uint16]\n"));
        {
          /* the last element of the last inner array: 5th uint16 → 5001 */
          gsize size;
          const guint8 *raw = kiln_dm_tag_data (kiln_dm_tag_lookup (misc, "ArrayOfArrays"), &size);
          guint16 u;

          g_assert_cmpuint (size, ==, 12);
          memcpy (&u, raw + 10, 2);
          if (little != HOST_LITTLE)
            u = GUINT16_SWAP_LE_BE (u);
          g_assert_cmpuint (u, ==, 5001);
        }
        g_assert_nonnull (strstr (body, "/Misc/Doubles = array[3] of [float64 -1.5, float64 2.25, "
                                        "float64 1.0000000000000001e+300]\n"));
        g_assert_nonnull (strstr (body, "/ImageList/[1]/Name = array[9] of uint16 \"synthetic\"\n"));
        /* the same tree in all four encodings */
        if (first == NULL)
          first = g_steal_pointer (&body);
        else
          g_assert_cmpstr (body, ==, first);
      }
}

/* Which tag gives the angles, with the documented priority. */
static void
test_angle_sources (void)
{
  const AngleSources cases[][2] = {
    /* written, expected */
    { ANGLES_META, ANGLES_META },
    { ANGLES_TRACKING, ANGLES_TRACKING },
    { ANGLES_CALIBRATION, ANGLES_CALIBRATION },
    { ANGLES_SETUP, ANGLES_SETUP },
    { ANGLES_META | ANGLES_TRACKING | ANGLES_CALIBRATION | ANGLES_SETUP, ANGLES_META },
    { ANGLES_TRACKING | ANGLES_CALIBRATION | ANGLES_SETUP, ANGLES_TRACKING },
    { ANGLES_CALIBRATION | ANGLES_SETUP, ANGLES_CALIBRATION },
    { ANGLES_NONE, ANGLES_NONE },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases) + 1; c++)
    for (guint version = 3; version <= 4; version++)
      {
        Synth s = synth_default ();
        const AngleSources *expect_case;
        /* the last case: tracking records with a duplicate series index are not used */
        const AngleSources dup_case[2] = { ANGLES_TRACKING | ANGLES_CALIBRATION, ANGLES_CALIBRATION };
        g_autoptr(GBytes) bytes = NULL;
        g_autofree char *path = kiln_test_tmpfile ("angles.dm");
        g_autoptr(KilnImageStack) stack = NULL;
        g_autoptr(GError) error = NULL;

        s.version = version;
        s.little = version == 3;
        expect_case = c < G_N_ELEMENTS (cases) ? cases[c] : dup_case;
        s.tracking_duplicate = c == G_N_ELEMENTS (cases);
        s.angles = expect_case[0];
        bytes = synth_file (&s);
        write_bytes (path, bytes);
        stack = kiln_dm_load_stack (path, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (stack->has_angles, ==, expect_case[1] != ANGLES_NONE);
        for (guint k = 0; k < 12; k++)
          {
            double expect = expect_case[1] != ANGLES_NONE ? source_angle (expect_case[1], k, 12) : 0.0;
            /* float64 tags and small-integer float32 calibrations: exact */
            g_assert_cmpfloat (stack->angles_deg[k], ==, expect);
          }
      }

  /* a tilt order that min/max/step cannot describe gives no angles */
  {
    Synth s = synth_default ();
    g_autoptr(GBytes) bytes = NULL;
    g_autofree char *path = kiln_test_tmpfile ("bidir.dm");
    g_autoptr(KilnImageStack) stack = NULL;
    g_autoptr(GError) error = NULL;

    s.angles = ANGLES_SETUP;
    s.setup_direction = "0 -> max, then 0 -> min";
    bytes = synth_file (&s);
    write_bytes (path, bytes);
    stack = kiln_dm_load_stack (path, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (stack->has_angles);
  }
}

static void
test_units (void)
{
  const struct { const char *unit; double scale; double nm; } cases[] = {
    { "nm", 0.75, 0.75 },
    { "\xc2\xb5m", 0.015625, 15.625 },     /* µ (micro sign) */
    { "\xce\xbcm", 0.015625, 15.625 },     /* μ (Greek mu) */
    { "um", 2.0, 2000.0 },
    { "\xc3\x85", 2.5, 0.25 },             /* Å */
    { "\xe2\x84\xab", 2.5, 0.25 },         /* Å (Angstrom sign) */
    { "pm", 125.0, 0.125 },
    { "1/nm", 0.5, 0.0 },                  /* reciprocal space: unknown pixel size */
    { "", 1.0, 0.0 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      Synth s = synth_default ();
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *path = kiln_test_tmpfile ("units.dm3");
      g_autoptr(KilnImageStack) stack = NULL;
      g_autoptr(GError) error = NULL;

      s.unit = cases[c].unit;
      s.scale = cases[c].scale;
      bytes = synth_file (&s);
      write_bytes (path, bytes);
      stack = kiln_dm_load_stack (path, NULL, &error);
      g_assert_no_error (error);
      /* scales are powers of two (exact in float32); the unit factor is one rounding: 1e-12 */
      g_assert_cmpfloat_with_epsilon (stack->pixel_size_nm, cases[c].nm, 1e-12);
    }
}

/* A 2D image is one tilt without angles; the largest image is chosen wherever it is. */
static void
test_2d_and_choice (void)
{
  Synth s = synth_default ();
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *path = kiln_test_tmpfile ("2d.dm4");
  g_autoptr(KilnImageStack) stack = NULL;
  g_autoptr(GError) error = NULL;

  s.version = 4;
  s.n_dims = 2;
  s.dims[0] = 9;
  s.dims[1] = 7;
  s.type = &pix_types[1];
  s.big_first = TRUE;
  bytes = synth_file (&s);
  write_bytes (path, bytes);
  stack = kiln_dm_load_stack (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stack->n_tilts, ==, 1);
  g_assert_cmpuint (stack->width, ==, 9);
  g_assert_cmpuint (stack->height, ==, 7);
  g_assert_false (stack->has_angles);
  for (guint i = 0; i < 63; i++)
    g_assert_cmpfloat (stack->data[i], ==, (float) pixel_value (2, i));

  /* a 2 × 2 image is smaller than the 4 × 3 thumbnail: the thumbnail (int32 1000 + i) wins */
  {
    Synth t = synth_default ();
    g_autoptr(GBytes) b2 = NULL;
    g_autoptr(KilnImageStack) st2 = NULL;

    t.n_dims = 2;
    t.dims[0] = 2;
    t.dims[1] = 2;
    b2 = synth_file (&t);
    write_bytes (path, b2);
    st2 = kiln_dm_load_stack (path, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st2->width, ==, 4);
    g_assert_cmpuint (st2->height, ==, 3);
    for (guint i = 0; i < 12; i++)
      g_assert_cmpfloat (st2->data[i], ==, 1000 + i);
  }
}

static void
test_cancel (void)
{
  Synth s = synth_default ();
  g_autoptr(GBytes) bytes = synth_file (&s);
  g_autofree char *path = kiln_test_tmpfile ("cancel.dm3");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnImageStack *stack;

  write_bytes (path, bytes);
  g_cancellable_cancel (cancellable);
  stack = kiln_dm_load_stack (path, cancellable, &error);
  g_assert_null (stack);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* ---- bad input ----------------------------------------------------------------------- */

static void
expect_load_error (GBytes     *bytes,
                   const char *name,
                   KilnError   code)
{
  g_autofree char *path = kiln_test_tmpfile (name);
  g_autoptr(GError) error = NULL;
  KilnImageStack *stack;

  write_bytes (path, bytes);
  stack = kiln_dm_load_stack (path, NULL, &error);
  g_assert_null (stack);
  assert_error (error, code, path);
}

/* Load @len first bytes of @data: either an error naming the file or (only when @may_load) a
 * stack. */
static void
load_cut (const char   *path,
          const guint8 *data,
          gsize         len,
          gboolean      may_load)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = NULL;

  write_raw (path, data, len);
  stack = kiln_dm_load_stack (path, NULL, &error);
  if (stack == NULL)
    {
      g_assert_nonnull (error);
      if (error->domain != KILN_ERROR || strstr (error->message, path) == NULL)
        g_error ("cut at %" G_GSIZE_FORMAT ": unexpected error “%s”", len, error->message);
    }
  else if (!may_load)
    g_error ("cut at %" G_GSIZE_FORMAT " of a file loaded without error", len);
}

static void
test_truncated (void)
{
  g_autofree char *needle = needle_path ();
  g_autofree char *path = kiln_test_tmpfile ("cut.dm3");
  const guint versions[] = { 3, 4 };

  /* synthetic DM3 and DM4: every cut before the 8 trailing zero bytes fails */
  for (guint v = 0; v < G_N_ELEMENTS (versions); v++)
    {
      Synth s = synth_default ();
      g_autoptr(GBytes) bytes = NULL;
      gsize len;
      const guint8 *d;

      s.version = versions[v];
      bytes = synth_file (&s);
      d = g_bytes_get_data (bytes, &len);
      for (gsize cut = 0; cut < len - 8; cut += 7)
        load_cut (path, d, cut, FALSE);
      load_cut (path, d, len - 9, FALSE);
      load_cut (path, d, len - 8, TRUE);
    }

  if (needle != NULL)
    {
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (needle, &contents, &len, NULL));
      /* every 97 bytes of the first 8 KB and of the last 8 KB, and inside the image data */
      for (gsize cut = 0; cut < 8192; cut += 97)
        load_cut (path, (const guint8 *) contents, cut, FALSE);
      for (gsize cut = len - 8192; cut < len - 8; cut += 97)
        load_cut (path, (const guint8 *) contents, cut, FALSE);
      for (gsize cut = 8192; cut < len - 8192; cut += len / 13)
        load_cut (path, (const guint8 *) contents, cut, FALSE);
      load_cut (path, (const guint8 *) contents, len - 9, FALSE);
    }
}

static void
test_bad_header (void)
{
  const guint8 tiff[] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
  const guint8 v5[] = { 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 };
  const guint8 order[] = { 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 7, 1, 0, 0, 0, 0, 0 };
  const guint8 empty_root[] = { 0, 0, 0, 3, 0, 0, 0, 6, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 };
  /* root announces 2^60 tags: refused from the size left, no allocation */
  const guint8 many[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
                          0x10, 0, 0, 0, 0, 0, 0, 0 };
  g_autoptr(GBytes) b = NULL;

  b = g_bytes_new_static (tiff, sizeof tiff);
  expect_load_error (b, "tiff.dm3", KILN_ERROR_FORMAT);
  g_clear_pointer (&b, g_bytes_unref);
  b = g_bytes_new_static (v5, sizeof v5);
  expect_load_error (b, "v5.dm3", KILN_ERROR_FORMAT);
  g_clear_pointer (&b, g_bytes_unref);
  b = g_bytes_new_static (order, sizeof order);
  expect_load_error (b, "order.dm3", KILN_ERROR_FORMAT);
  g_clear_pointer (&b, g_bytes_unref);
  b = g_bytes_new_static (empty_root, sizeof empty_root);
  expect_load_error (b, "noimage.dm3", KILN_ERROR_FORMAT);   /* no ImageList */
  g_clear_pointer (&b, g_bytes_unref);
  b = g_bytes_new_static (many, sizeof many);
  expect_load_error (b, "many.dm4", KILN_ERROR_TRUNCATED);
  g_clear_pointer (&b, g_bytes_unref);
  b = g_bytes_new_static ("", 0);
  expect_load_error (b, "empty.dm3", KILN_ERROR_TRUNCATED);

  {
    g_autoptr(GError) error = NULL;
    g_autofree char *missing = kiln_test_tmpfile ("missing.dm3");

    g_assert_null (kiln_dm_load_stack (missing, NULL, &error));
    assert_error (error, KILN_ERROR_FAILED, missing);
  }
}

static void
test_bad_image (void)
{
  for (guint version = 3; version <= 4; version++)
    {
      Synth s;
      g_autoptr(GBytes) b = NULL;

      /* absurd dimensions: 10⁶ × 10⁶ with a 12-pixel data array */
      s = synth_default ();
      s.version = version;
      s.n_dims = 2;
      s.dims[0] = 1000000;
      s.dims[1] = 1000000;
      s.data_count_override = TRUE;
      s.data_count = 12;
      b = synth_file (&s);
      expect_load_error (b, "absurd.dm", KILN_ERROR_INVALID_DATA);
      g_clear_pointer (&b, g_bytes_unref);

      /* a zero dimension */
      s = synth_default ();
      s.version = version;
      s.dims[1] = 0;
      s.no_thumbnail = TRUE;     /* else the thumbnail is the largest image */
      s.data_count_override = TRUE;
      s.data_count = 0;
      b = synth_file (&s);
      expect_load_error (b, "zero.dm", KILN_ERROR_INVALID_DATA);
      g_clear_pointer (&b, g_bytes_unref);

      /* data array announcing 2³⁰ elements in a small file */
      s = synth_default ();
      s.version = version;
      s.data_count_override = TRUE;
      s.data_count = G_GUINT64_CONSTANT (1) << 30;
      b = synth_file (&s);
      expect_load_error (b, "beyond.dm", KILN_ERROR_TRUNCATED);
      g_clear_pointer (&b, g_bytes_unref);

      /* element count × size overflowing 64 bits */
      s = synth_default ();
      s.version = version;
      s.data_count_override = TRUE;
      s.data_count = G_GUINT64_CONSTANT (1) << 63;
      b = synth_file (&s);
      expect_load_error (b, "overflow.dm", KILN_ERROR_FORMAT);
      g_clear_pointer (&b, g_bytes_unref);

      /* header/data mismatch: fewer pixels than the dimensions */
      s = synth_default ();
      s.version = version;
      s.data_count_override = TRUE;
      s.data_count = 5 * 4 * 11;
      b = synth_file (&s);
      expect_load_error (b, "mismatch.dm", KILN_ERROR_MISMATCH);
      g_clear_pointer (&b, g_bytes_unref);

      {
        /* complex and RGB images are refused as unsupported */
        const PixType complex64 = { 3, 6, 8 };
        const PixType rgb = { 23, 5, 4 };
        Synth c = synth_default ();

        c.version = version;
        c.type = &complex64;
        c.data_count_override = TRUE;
        c.data_count = 2 * 5 * 4 * 12;   /* float32 pairs */
        b = synth_file (&c);
        expect_load_error (b, "complex.dm", KILN_ERROR_UNSUPPORTED);
        g_clear_pointer (&b, g_bytes_unref);
        c.type = &rgb;
        c.data_count_override = FALSE;
        b = synth_file (&c);
        expect_load_error (b, "rgb.dm", KILN_ERROR_UNSUPPORTED);
        g_clear_pointer (&b, g_bytes_unref);
      }
    }
}

/* Groups nested 10 000 deep: refused at the depth limit, no stack overflow. */
static void
test_deep_nesting (void)
{
  for (guint version = 3; version <= 4; version++)
    {
      Enc *e = enc_new (version, TRUE);
      g_autoptr(GBytes) b = NULL;

      for (guint i = 0; i < 10000; i++)
        enc_group_begin (e, "g", FALSE, FALSE);
      for (guint i = 0; i < 10000; i++)
        enc_group_end (e);
      b = enc_finish (e);
      expect_load_error (b, "deep.dm", KILN_ERROR_INVALID_DATA);
    }
  /* a type description nesting arrays 100 deep */
  {
    Enc *e = enc_new (3, TRUE);
    g_autoptr(GBytes) b = NULL;
    guint64 info[201];

    for (guint i = 0; i < 100; i++)
      info[i] = 20;
    info[100] = 4;
    for (guint i = 101; i < 201; i++)
      info[i] = 1;
    enc_data (e, "deep", info, G_N_ELEMENTS (info), (const guint8 *) "ab", 2, TRUE);
    b = enc_finish (e);
    expect_load_error (b, "deeptype.dm3", KILN_ERROR_FORMAT);
  }
  /* an unknown type code */
  {
    Enc *e = enc_new (4, TRUE);
    g_autoptr(GBytes) b = NULL;
    guint64 info[] = { 13 };

    enc_data (e, "bad", info, 1, (const guint8 *) "abcdefgh", 8, TRUE);
    b = enc_finish (e);
    expect_load_error (b, "badtype.dm4", KILN_ERROR_FORMAT);
  }
}

/* Random byte corruption of a small synthetic file: never a crash, only KILN_ERROR or a
 * stack of the right geometry. */
static void
test_corrupted (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);
  g_autofree char *path = kiln_test_tmpfile ("corrupt.dm");
  guint n_loaded = 0, n_refused = 0;

  for (guint version = 3; version <= 4; version++)
    {
      Synth s = synth_default ();
      g_autoptr(GBytes) bytes = NULL;
      gsize len;
      const guint8 *d;
      g_autofree guint8 *buf = NULL;

      s.version = version;
      s.angles = ANGLES_META | ANGLES_TRACKING | ANGLES_CALIBRATION | ANGLES_SETUP;
      bytes = synth_file (&s);
      d = g_bytes_get_data (bytes, &len);
      buf = g_malloc (len);
      for (guint trial = 0; trial < 700; trial++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(KilnImageStack) stack = NULL;
          guint n_flips = 1 + g_rand_int_range (rand, 0, 4);

          memcpy (buf, d, len);
          for (guint f = 0; f < n_flips; f++)
            {
              gsize at = g_rand_int_range (rand, 0, (gint32) len);
              /* mostly in the tag structure: bytes 0xff, 0x00 or random */
              switch (g_rand_int_range (rand, 0, 3))
                {
                case 0: buf[at] = 0xff; break;
                case 1: buf[at] = 0x00; break;
                default: buf[at] = (guint8) g_rand_int_range (rand, 0, 256); break;
                }
            }
          write_raw (path, buf, len);
          {
            /* the tree listing of whatever parses must not crash either */
            g_autoptr(KilnDmFile) file = kiln_dm_file_open (path, NULL);
            if (file != NULL)
              g_free (kiln_dm_file_dump (file));
          }
          stack = kiln_dm_load_stack (path, NULL, &error);
          if (stack == NULL)
            {
              g_assert_nonnull (error);
              g_assert_true (error->domain == KILN_ERROR);
              g_assert_nonnull (strstr (error->message, path));
              n_refused++;
            }
          else
            {
              n_loaded++;
              g_assert_cmpuint (kiln_image_stack_n_pixels (stack), >, 0);
              if (stack->has_angles)
                for (guint k = 0; k < stack->n_tilts; k++)
                  g_assert_true (isfinite (stack->angles_deg[k]));
            }
        }
    }
  /* both outcomes occur, so both paths were exercised */
  g_test_message ("corrupted files: %u loaded, %u refused", n_loaded, n_refused);
  g_assert_cmpuint (n_loaded, >, 0);
  g_assert_cmpuint (n_refused, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dm/needle", test_needle);
  g_test_add_func ("/dm/needle-tree", test_needle_tree);
  g_test_add_func ("/dm/needle-reencoded", test_needle_reencoded);
  g_test_add_func ("/dm/needle-angle-sources", test_needle_angle_sources);
  g_test_add_func ("/dm/synthetic-types", test_synthetic_types);
  g_test_add_func ("/dm/synthetic-tree", test_synthetic_tree);
  g_test_add_func ("/dm/angle-sources", test_angle_sources);
  g_test_add_func ("/dm/units", test_units);
  g_test_add_func ("/dm/2d-and-choice", test_2d_and_choice);
  g_test_add_func ("/dm/cancel", test_cancel);
  g_test_add_func ("/dm/bad/truncated", test_truncated);
  g_test_add_func ("/dm/bad/header", test_bad_header);
  g_test_add_func ("/dm/bad/image", test_bad_image);
  g_test_add_func ("/dm/bad/deep-nesting", test_deep_nesting);
  g_test_add_func ("/dm/bad/corrupted", test_corrupted);
  return g_test_run ();
}
