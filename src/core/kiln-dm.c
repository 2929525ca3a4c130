/* kiln-dm.c — Gatan DigitalMicrograph DM3/DM4 reader
 *
 * File layout (all header integers big-endian):
 *   header   version (4 bytes: 3 or 4), root size (DM3: 4 bytes, DM4: 8 bytes),
 *            byte order of the tag values (4 bytes: 1 = little-endian, 0 = big-endian)
 *   group    sorted (1 byte), open (1 byte), tag count (DM3: 4 bytes, DM4: 8 bytes), tags
 *   tag      kind (1 byte: 20 = group, 21 = data), name length (2 bytes), name,
 *            [DM4 only: size of the rest of the tag, 8 bytes], then
 *            group: a group;  data: "%%%%", type description length n (4/8 bytes),
 *            n type description entries (4/8 bytes each), the value bytes.
 *   type     simple: [code];  string: [18, length];  struct: [15, name length, field count,
 *            (field name length, field type) …];  array: [20, element type …, length].
 *
 * The whole tree is parsed with every read checked against the file size, the recursion depth
 * and the tag count bounded; values stay in the mapped file and are decoded on demand.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-dm.h"
#include "kiln-error.h"

/* Limits against malicious files; real files have a few thousand tags, depth < 20. */
#define DM_MAX_DEPTH     64        /* nested groups */
#define DM_MAX_TYPE_DEPTH 8        /* nested array/struct type descriptions */
#define DM_MAX_INFO      4096      /* entries of one type description */
#define DM_MAX_TAGS      (1u << 22)
#define DM_MAX_NAME      65535

struct _KilnDmTag
{
  char      *name;         /* UTF-8 */
  gsize      name_offset;  /* the name as stored (8-bit, usually Latin-1) */
  gsize      name_len;
  gboolean   is_group;
  gboolean   sorted;
  gboolean   open;
  GPtrArray *children;     /* groups: KilnDmTag* */
  guint64   *info;         /* data: type description */
  guint      n_info;
  gsize      offset;       /* data: value bytes in the file */
  gsize      size;
  const KilnDmFile *file;
};

struct _KilnDmFile
{
  char        *path;
  GMappedFile *map;
  const guint8 *bytes;
  gsize        len;
  guint        version;
  gboolean     little;
  KilnDmTag   *root;
};

typedef struct
{
  KilnDmFile *file;
  gsize       pos;
  guint       n_tags;
  GError    **error;
} Parser;

static void
tag_free (gpointer data)
{
  KilnDmTag *tag = data;

  if (tag == NULL)
    return;
  g_free (tag->name);
  if (tag->children != NULL)
    g_ptr_array_unref (tag->children);
  g_free (tag->info);
  g_free (tag);
}

static gboolean
truncated (Parser     *p,
           const char *what)
{
  g_set_error (p->error, KILN_ERROR, KILN_ERROR_TRUNCATED,
               "%s: truncated DM%u file: it ends (at byte %" G_GSIZE_FORMAT ") inside %s "
               "starting at byte %" G_GSIZE_FORMAT,
               p->file->path, p->file->version, p->file->len, what, p->pos);
  return FALSE;
}

/* Big-endian unsigned integer of @n bytes (header integers). */
static gboolean
read_be (Parser     *p,
         guint       n,
         guint64    *out,
         const char *what)
{
  guint64 v = 0;

  if (p->file->len - p->pos < n)
    return truncated (p, what);
  for (guint i = 0; i < n; i++)
    v = (v << 8) | p->file->bytes[p->pos + i];
  p->pos += n;
  *out = v;
  return TRUE;
}

static gboolean
simple_size (guint64 code,
             guint64 *size)
{
  switch (code)
    {
    case KILN_DM_TYPE_BOOL:
    case KILN_DM_TYPE_INT8:
    case KILN_DM_TYPE_UINT8:
      *size = 1;
      return TRUE;
    case KILN_DM_TYPE_INT16:
    case KILN_DM_TYPE_UINT16:
      *size = 2;
      return TRUE;
    case KILN_DM_TYPE_INT32:
    case KILN_DM_TYPE_UINT32:
    case KILN_DM_TYPE_FLOAT32:
      *size = 4;
      return TRUE;
    case KILN_DM_TYPE_FLOAT64:
    case KILN_DM_TYPE_INT64:
    case KILN_DM_TYPE_UINT64:
      *size = 8;
      return TRUE;
    default:
      return FALSE;
    }
}

/* Size in bytes of the type described at info[*idx], advancing *idx past it. FALSE (with
 * no error set) when the description is malformed. */
static gboolean
type_size (const guint64 *info,
           guint          n_info,
           guint         *idx,
           guint64       *size,
           int            depth)
{
  guint64 code;

  if (*idx >= n_info || depth > DM_MAX_TYPE_DEPTH)
    return FALSE;
  code = info[(*idx)++];
  if (simple_size (code, size))
    return TRUE;
  switch (code)
    {
    case KILN_DM_TYPE_STRING:
      if (*idx >= n_info)
        return FALSE;
      *size = info[(*idx)++];
      return TRUE;
    case KILN_DM_TYPE_STRUCT:
      {
        guint64 n_fields, total = 0;

        if (n_info - *idx < 2)
          return FALSE;
        (*idx)++;                       /* struct name length (always 0) */
        n_fields = info[(*idx)++];
        if (n_fields > n_info)
          return FALSE;
        for (guint64 f = 0; f < n_fields; f++)
          {
            guint64 fs;

            if (*idx >= n_info)
              return FALSE;
            (*idx)++;                   /* field name length (always 0) */
            if (!type_size (info, n_info, idx, &fs, depth + 1))
              return FALSE;
            if (!g_uint64_checked_add (&total, total, fs))
              return FALSE;
          }
        *size = total;
        return TRUE;
      }
    case KILN_DM_TYPE_ARRAY:
      {
        guint64 es, count;

        if (!type_size (info, n_info, idx, &es, depth + 1))
          return FALSE;
        if (*idx >= n_info)
          return FALSE;
        count = info[(*idx)++];
        return g_uint64_checked_mul (size, es, count);
      }
    default:
      return FALSE;
    }
}

static char *
decode_name (const guint8 *s,
             gsize         n)
{
  if (g_utf8_validate ((const char *) s, n, NULL) && memchr (s, 0, n) == NULL)
    return g_strndup ((const char *) s, n);
  /* DM names are 8-bit; treat invalid UTF-8 as Latin-1, NUL as '?' */
  {
    GString *str = g_string_sized_new (n + 8);

    for (gsize i = 0; i < n; i++)
      {
        if (s[i] == 0)
          g_string_append_c (str, '?');
        else
          g_string_append_unichar (str, s[i]);
      }
    return g_string_free (str, FALSE);
  }
}

static gboolean parse_group (Parser *p, KilnDmTag *group, int depth);

static KilnDmTag *
parse_tag (Parser *p,
           int     depth)
{
  KilnDmTag *tag;
  guint64 kind, name_len, v;
  guint wide = p->file->version == 4 ? 8 : 4;
  gsize start = p->pos;

  if (++p->n_tags > DM_MAX_TAGS)
    {
      g_set_error (p->error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: more than %u tags in the DM tag tree", p->file->path, DM_MAX_TAGS);
      return NULL;
    }
  if (!read_be (p, 1, &kind, "a tag") || !read_be (p, 2, &name_len, "a tag name length"))
    return NULL;
  if (p->file->len - p->pos < name_len)
    {
      truncated (p, "a tag name");
      return NULL;
    }
  if (kind != 20 && kind != 21)
    {
      g_set_error (p->error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: invalid DM tag kind %u at byte %" G_GSIZE_FORMAT " (expected 20 or 21)",
                   p->file->path, (guint) kind, start);
      return NULL;
    }

  tag = g_new0 (KilnDmTag, 1);
  tag->file = p->file;
  tag->name = decode_name (p->file->bytes + p->pos, name_len);
  tag->name_offset = p->pos;
  tag->name_len = name_len;
  p->pos += name_len;
  if (wide == 8 && !read_be (p, 8, &v, "a DM4 tag size"))
    goto fail;

  if (kind == 20)
    {
      tag->is_group = TRUE;
      if (!parse_group (p, tag, depth + 1))
        goto fail;
      return tag;
    }

  /* data tag */
  {
    guint64 n_info, size;
    guint idx = 0;

    if (p->file->len - p->pos < 4)
      {
        truncated (p, "a data tag");
        goto fail;
      }
    if (memcmp (p->file->bytes + p->pos, "%%%%", 4) != 0)
      {
        g_set_error (p->error, KILN_ERROR, KILN_ERROR_FORMAT,
                     "%s: data tag “%s” at byte %" G_GSIZE_FORMAT " lacks its %%%%%%%% marker",
                     p->file->path, tag->name, start);
        goto fail;
      }
    p->pos += 4;
    if (!read_be (p, wide, &n_info, "a type description length"))
      goto fail;
    if (n_info == 0 || n_info > DM_MAX_INFO)
      {
        g_set_error (p->error, KILN_ERROR, KILN_ERROR_FORMAT,
                     "%s: data tag “%s” has a type description of %" G_GUINT64_FORMAT
                     " entries (expected 1 … %u)", p->file->path, tag->name, n_info, DM_MAX_INFO);
        goto fail;
      }
    if ((p->file->len - p->pos) / wide < n_info)
      {
        truncated (p, "a type description");
        goto fail;
      }
    tag->n_info = (guint) n_info;
    tag->info = g_new (guint64, n_info);
    for (guint i = 0; i < n_info; i++)
      read_be (p, wide, &tag->info[i], "a type description");

    if (!type_size (tag->info, tag->n_info, &idx, &size, 0) || idx != tag->n_info)
      {
        g_set_error (p->error, KILN_ERROR, KILN_ERROR_FORMAT,
                     "%s: data tag “%s” at byte %" G_GSIZE_FORMAT " has an invalid or "
                     "unsupported type description (type %" G_GUINT64_FORMAT ")",
                     p->file->path, tag->name, start, tag->info[0]);
        goto fail;
      }
    if (size > p->file->len - p->pos)
      {
        g_set_error (p->error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                     "%s: data tag “%s” announces %" G_GUINT64_FORMAT " bytes at byte %"
                     G_GSIZE_FORMAT " but the file has only %" G_GSIZE_FORMAT " bytes",
                     p->file->path, tag->name, size, p->pos, p->file->len);
        goto fail;
      }
    tag->offset = p->pos;
    tag->size = (gsize) size;
    p->pos += (gsize) size;
  }
  return tag;

fail:
  tag_free (tag);
  return NULL;
}

static gboolean
parse_group (Parser    *p,
             KilnDmTag *group,
             int        depth)
{
  guint64 sorted, open, n;
  guint wide = p->file->version == 4 ? 8 : 4;

  if (depth > DM_MAX_DEPTH)
    {
      g_set_error (p->error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: DM tag groups nested deeper than %d levels at byte %" G_GSIZE_FORMAT,
                   p->file->path, DM_MAX_DEPTH, p->pos);
      return FALSE;
    }
  if (!read_be (p, 1, &sorted, "a tag group header") ||
      !read_be (p, 1, &open, "a tag group header") ||
      !read_be (p, wide, &n, "a tag group header"))
    return FALSE;
  group->sorted = sorted != 0;
  group->open = open != 0;
  /* a tag takes at least 4 bytes: no count beyond what the file can hold */
  if (n > (p->file->len - p->pos) / 4)
    {
      g_set_error (p->error, KILN_ERROR, KILN_ERROR_TRUNCATED,
                   "%s: tag group “%s” announces %" G_GUINT64_FORMAT " tags but only %"
                   G_GSIZE_FORMAT " bytes remain", p->file->path,
                   group->name != NULL ? group->name : "",
                   n, p->file->len - p->pos);
      return FALSE;
    }
  group->children = g_ptr_array_new_with_free_func (tag_free);
  for (guint64 i = 0; i < n; i++)
    {
      KilnDmTag *child = parse_tag (p, depth);

      if (child == NULL)
        return FALSE;
      g_ptr_array_add (group->children, child);
    }
  return TRUE;
}

void
kiln_dm_file_free (KilnDmFile *file)
{
  if (file == NULL)
    return;
  tag_free (file->root);
  if (file->map != NULL)
    g_mapped_file_unref (file->map);
  g_free (file->path);
  g_free (file);
}

static KilnDmFile *
kiln_dm_file_open_unchecked (const char  *path,
                   GError     **error)
{
  g_autoptr(KilnDmFile) file = g_new0 (KilnDmFile, 1);
  g_autoptr(GError) local = NULL;
  Parser p = { 0 };
  guint64 version, root_size, order;

  g_return_val_if_fail (path != NULL, NULL);

  file->path = g_strdup (path);
  file->map = g_mapped_file_new (path, FALSE, &local);
  if (file->map == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "%s: %s", path, local->message);
      return NULL;
    }
  file->bytes = (const guint8 *) g_mapped_file_get_contents (file->map);
  file->len = g_mapped_file_get_length (file->map);
  file->version = 3;
  p.file = file;
  p.error = error;

  if (!read_be (&p, 4, &version, "the file header"))
    return NULL;
  if (version != 3 && version != 4)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: not a DM3/DM4 file (version field %" G_GUINT64_FORMAT ", expected 3 or 4)",
                   path, version);
      return NULL;
    }
  file->version = (guint) version;
  if (!read_be (&p, version == 4 ? 8 : 4, &root_size, "the file header") ||
      !read_be (&p, 4, &order, "the file header"))
    return NULL;
  if (order > 1)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: invalid DM byte order flag %" G_GUINT64_FORMAT " (expected 0 or 1)",
                   path, order);
      return NULL;
    }
  file->little = order == 1;

  file->root = g_new0 (KilnDmTag, 1);
  file->root->name = g_strdup ("");
  file->root->is_group = TRUE;
  file->root->file = file;
  if (!parse_group (&p, file->root, 0))
    return NULL;
  return g_steal_pointer (&file);
}

guint
kiln_dm_file_version (const KilnDmFile *file)
{
  return file->version;
}

gboolean
kiln_dm_file_little_endian (const KilnDmFile *file)
{
  return file->little;
}

const KilnDmTag *
kiln_dm_file_root (const KilnDmFile *file)
{
  return file->root;
}

gboolean
kiln_dm_tag_is_group (const KilnDmTag *tag)
{
  return tag->is_group;
}

const char *
kiln_dm_tag_name (const KilnDmTag *tag)
{
  return tag->name;
}

const guint8 *
kiln_dm_tag_name_bytes (const KilnDmTag *tag,
                        gsize           *len)
{
  *len = tag->name_len;
  return tag->file->bytes + tag->name_offset;
}

gboolean
kiln_dm_tag_sorted (const KilnDmTag *tag)
{
  return tag->sorted;
}

gboolean
kiln_dm_tag_open (const KilnDmTag *tag)
{
  return tag->open;
}

guint
kiln_dm_tag_n_children (const KilnDmTag *tag)
{
  return tag->children != NULL ? tag->children->len : 0;
}

const KilnDmTag *
kiln_dm_tag_child (const KilnDmTag *tag,
                   guint            index)
{
  if (tag->children == NULL || index >= tag->children->len)
    return NULL;
  return g_ptr_array_index (tag->children, index);
}

const KilnDmTag *
kiln_dm_tag_lookup (const KilnDmTag *tag,
                    const char      *path)
{
  g_auto(GStrv) parts = NULL;

  if (tag == NULL || path == NULL)
    return NULL;
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL && tag != NULL; i++)
    {
      const char *part = parts[i];
      gsize n = strlen (part);
      const KilnDmTag *next = NULL;

      if (n == 0)
        continue;
      if (tag->children == NULL)
        return NULL;
      if (part[0] == '[' && part[n - 1] == ']' && n > 2)
        {
          char *end = NULL;
          guint64 index = g_ascii_strtoull (part + 1, &end, 10);

          if (end == part + n - 1)
            next = kiln_dm_tag_child (tag, index > G_MAXUINT ? G_MAXUINT : (guint) index);
        }
      else
        {
          for (guint c = 0; c < tag->children->len; c++)
            {
              const KilnDmTag *child = g_ptr_array_index (tag->children, c);

              if (strcmp (child->name, part) == 0)
                {
                  next = child;
                  break;
                }
            }
        }
      tag = next;
    }
  return tag;
}

const guint64 *
kiln_dm_tag_type_info (const KilnDmTag *tag,
                       guint           *n_info)
{
  if (n_info != NULL)
    *n_info = tag->n_info;
  return tag->info;
}

const guint8 *
kiln_dm_tag_data (const KilnDmTag *tag,
                  gsize           *size)
{
  if (size != NULL)
    *size = tag->is_group ? 0 : tag->size;
  if (tag->is_group)
    return NULL;
  return tag->file->bytes + tag->offset;
}

/* Decode one simple value of type @code at @s (byte order @little) as a double. */
static double
decode_simple (guint64       code,
               const guint8 *s,
               gboolean      little)
{
  guint8 b[8];
  guint64 size = 0;

  simple_size (code, &size);
  for (guint i = 0; i < size; i++)
    b[i] = little == (G_BYTE_ORDER == G_LITTLE_ENDIAN) ? s[i] : s[size - 1 - i];
  switch (code)
    {
    case KILN_DM_TYPE_BOOL:
    case KILN_DM_TYPE_UINT8:
      return b[0];
    case KILN_DM_TYPE_INT8:
      return (gint8) b[0];
    case KILN_DM_TYPE_INT16:
      { gint16 v; memcpy (&v, b, 2); return v; }
    case KILN_DM_TYPE_UINT16:
      { guint16 v; memcpy (&v, b, 2); return v; }
    case KILN_DM_TYPE_INT32:
      { gint32 v; memcpy (&v, b, 4); return v; }
    case KILN_DM_TYPE_UINT32:
      { guint32 v; memcpy (&v, b, 4); return v; }
    case KILN_DM_TYPE_FLOAT32:
      { float v; memcpy (&v, b, 4); return v; }
    case KILN_DM_TYPE_FLOAT64:
      { double v; memcpy (&v, b, 8); return v; }
    case KILN_DM_TYPE_INT64:
      { gint64 v; memcpy (&v, b, 8); return (double) v; }
    case KILN_DM_TYPE_UINT64:
      { guint64 v; memcpy (&v, b, 8); return (double) v; }
    default:
      return NAN;
    }
}

gboolean
kiln_dm_tag_get_double (const KilnDmTag *tag,
                        double          *value)
{
  guint64 size;

  if (tag == NULL || tag->is_group || tag->n_info != 1 || !simple_size (tag->info[0], &size))
    return FALSE;
  *value = decode_simple (tag->info[0], tag->file->bytes + tag->offset, tag->file->little);
  return TRUE;
}

gboolean
kiln_dm_tag_get_array_double (const KilnDmTag *tag,
                              guint64          index,
                              double          *value)
{
  guint64 size;

  if (tag == NULL || tag->is_group || tag->n_info != 3 || tag->info[0] != KILN_DM_TYPE_ARRAY ||
      !simple_size (tag->info[1], &size) || index >= tag->info[2])
    return FALSE;
  *value = decode_simple (tag->info[1], tag->file->bytes + tag->offset + index * size,
                          tag->file->little);
  return TRUE;
}

char *
kiln_dm_tag_get_string (const KilnDmTag *tag)
{
  const guint8 *s;

  if (tag == NULL || tag->is_group)
    return NULL;
  s = tag->file->bytes + tag->offset;
  if (tag->n_info == 2 && tag->info[0] == KILN_DM_TYPE_STRING)
    return decode_name (s, strnlen ((const char *) s, tag->size));
  if (tag->n_info == 3 && tag->info[0] == KILN_DM_TYPE_ARRAY &&
      tag->info[1] == KILN_DM_TYPE_UINT16)
    {
      gsize n = tag->info[2];
      g_autofree gunichar2 *u = g_new (gunichar2, n + 1);
      char *out;
      gsize len = 0;

      for (gsize i = 0; i < n; i++)
        {
          guint16 c = tag->file->little ? (guint16) (s[2 * i] | (s[2 * i + 1] << 8))
                                        : (guint16) ((s[2 * i] << 8) | s[2 * i + 1]);
          if (c == 0)
            break;
          u[len++] = c;
        }
      u[len] = 0;
      out = g_utf16_to_utf8 (u, (glong) len, NULL, NULL, NULL);
      if (out == NULL)   /* unpaired surrogates: keep what is printable */
        {
          GString *str = g_string_new (NULL);

          for (gsize i = 0; i < len; i++)
            g_string_append_unichar (str, (u[i] >= 0xd800 && u[i] < 0xe000) ? 0xfffd : u[i]);
          out = g_string_free (str, FALSE);
        }
      return out;
    }
  if (tag->n_info == 3 && tag->info[0] == KILN_DM_TYPE_ARRAY &&
      (tag->info[1] == KILN_DM_TYPE_INT8 || tag->info[1] == KILN_DM_TYPE_UINT8))
    return decode_name (s, strnlen ((const char *) s, tag->size));
  return NULL;
}

/* ---- dump ---------------------------------------------------------------------------- */

static const char *
type_name (guint64 code)
{
  switch (code)
    {
    case KILN_DM_TYPE_INT16: return "int16";
    case KILN_DM_TYPE_INT32: return "int32";
    case KILN_DM_TYPE_UINT16: return "uint16";
    case KILN_DM_TYPE_UINT32: return "uint32";
    case KILN_DM_TYPE_FLOAT32: return "float32";
    case KILN_DM_TYPE_FLOAT64: return "float64";
    case KILN_DM_TYPE_BOOL: return "bool";
    case KILN_DM_TYPE_INT8: return "int8";
    case KILN_DM_TYPE_UINT8: return "uint8";
    case KILN_DM_TYPE_INT64: return "int64";
    case KILN_DM_TYPE_UINT64: return "uint64";
    case KILN_DM_TYPE_STRUCT: return "struct";
    case KILN_DM_TYPE_STRING: return "string";
    case KILN_DM_TYPE_ARRAY: return "array";
    default: return "?";
    }
}

/* Append the value of type info[*idx] at data[*off] (nothing when !@show); arrays show
 * their first 8 elements, arrays inside arrays only their length, so that the listing stays
 * short whatever the file holds. */
static void
dump_value (GString         *out,
            const KilnDmTag *tag,
            guint           *idx,
            gsize           *off,
            gboolean         show,
            gboolean         nested)
{
  guint64 code = tag->info[(*idx)++];
  guint64 size;

  if (simple_size (code, &size))
    {
      if (show)
        g_string_append_printf (out, "%s %.17g", type_name (code),
                                decode_simple (code, tag->file->bytes + tag->offset + *off,
                                               tag->file->little));
      *off += size;
      return;
    }
  if (code == KILN_DM_TYPE_STRING)
    {
      guint64 n = tag->info[(*idx)++];

      if (show)
        {
          g_autofree char *s = decode_name (tag->file->bytes + tag->offset + *off, n);
          g_string_append_printf (out, "string \"%s\"", s);
        }
      *off += n;
      return;
    }
  if (code == KILN_DM_TYPE_STRUCT)
    {
      guint64 n_fields;

      (*idx)++;
      n_fields = tag->info[(*idx)++];
      if (show)
        g_string_append (out, "struct {");
      for (guint64 f = 0; f < n_fields; f++)
        {
          (*idx)++;
          if (show && f > 0)
            g_string_append (out, ", ");
          dump_value (out, tag, idx, off, show, nested);
        }
      if (show)
        g_string_append (out, "}");
      return;
    }
  /* array */
  {
    guint start = *idx;
    guint64 es = 0, count;
    guint j = start;

    type_size (tag->info, tag->n_info, &j, &es, 0);
    count = tag->info[j];
    if (show)
      {
        g_string_append_printf (out, "array[%" G_GUINT64_FORMAT "] of ", count);
        if (nested)
          g_string_append_printf (out, "%s", type_name (tag->info[start]));
        else if (tag->info[start] == KILN_DM_TYPE_UINT16 && count <= 256 && *idx == 1)
          {
            g_autofree char *s = kiln_dm_tag_get_string (tag);
            g_string_append_printf (out, "uint16 \"%s\"", s);
          }
        else
          {
            guint64 n_show = MIN (count, 8);
            gsize o = *off;

            g_string_append (out, "[");
            for (guint64 e = 0; e < n_show; e++)
              {
                guint k = start;

                if (e > 0)
                  g_string_append (out, ", ");
                dump_value (out, tag, &k, &o, TRUE, TRUE);
              }
            if (count > n_show)
              g_string_append (out, ", …");
            if (count == 0)
              {
                guint k = start;
                gsize o2 = 0;
                dump_value (out, tag, &k, &o2, FALSE, TRUE);
                g_string_append (out, type_name (tag->info[start]));
              }
            g_string_append (out, "]");
          }
      }
    *idx = j + 1;
    *off += (gsize) (es * count);
  }
}

static void
dump_tag (GString         *out,
          const KilnDmTag *tag,
          const char      *path)
{
  if (tag->is_group)
    {
      g_string_append_printf (out, "%s/ (group, %u tags%s%s)\n", path, tag->children->len,
                              tag->sorted ? ", sorted" : "", tag->open ? ", open" : "");
      for (guint i = 0; i < tag->children->len; i++)
        {
          const KilnDmTag *child = g_ptr_array_index (tag->children, i);
          g_autofree char *sub = child->name[0] != '\0'
                                   ? g_strdup_printf ("%s/%s", path, child->name)
                                   : g_strdup_printf ("%s/[%u]", path, i);
          dump_tag (out, child, sub);
        }
    }
  else
    {
      guint idx = 0;
      gsize off = 0;

      g_string_append_printf (out, "%s = ", path);
      dump_value (out, tag, &idx, &off, TRUE, FALSE);
      g_string_append_c (out, '\n');
    }
}

char *
kiln_dm_file_dump (const KilnDmFile *file)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "DM%u, %s-endian values\n", file->version,
                          file->little ? "little" : "big");
  dump_tag (out, file->root, "");
  return g_string_free (out, FALSE);
}

/* ---- the image ----------------------------------------------------------------------- */

typedef struct
{
  guint        index;       /* in ImageList */
  const KilnDmTag *image;   /* ImageList/[index] */
  const KilnDmTag *data;    /* ImageData/Data */
  guint        n_dims;
  guint64      dims[4];
  guint64      n_pixels;
  int          data_type;   /* ImageData/DataType */
} Candidate;

/* Bytes per pixel and whether Kiln reads the DM image data type; @name set for messages. */
static gboolean
dm_data_type (int          data_type,
              guint       *bpp,
              const char **name)
{
  switch (data_type)
    {
    case 1: *bpp = 2; *name = "int16"; return TRUE;
    case 2: *bpp = 4; *name = "float32"; return TRUE;
    case 3: *bpp = 8; *name = "complex64"; return FALSE;
    case 5: *bpp = 8; *name = "packed complex"; return FALSE;
    case 6: *bpp = 1; *name = "uint8"; return TRUE;
    case 7: *bpp = 4; *name = "int32"; return TRUE;
    case 8: *bpp = 4; *name = "RGB"; return FALSE;
    case 9: *bpp = 1; *name = "int8"; return TRUE;
    case 10: *bpp = 2; *name = "uint16"; return TRUE;
    case 11: *bpp = 4; *name = "uint32"; return TRUE;
    case 12: *bpp = 8; *name = "float64"; return TRUE;
    case 13: *bpp = 16; *name = "complex128"; return FALSE;
    case 14: *bpp = 1; *name = "binary"; return TRUE;
    case 23: *bpp = 4; *name = "RGBA"; return FALSE;
    default: *bpp = 0; *name = "unknown"; return FALSE;
    }
}

static gboolean
read_candidate (const KilnDmTag *image,
                guint            index,
                Candidate       *c)
{
  const KilnDmTag *dims = kiln_dm_tag_lookup (image, "ImageData/Dimensions");
  double v;

  memset (c, 0, sizeof *c);
  c->index = index;
  c->image = image;
  c->data = kiln_dm_tag_lookup (image, "ImageData/Data");
  if (dims == NULL || !dims->is_group || c->data == NULL || c->data->is_group)
    return FALSE;
  if (!kiln_dm_tag_get_double (kiln_dm_tag_lookup (image, "ImageData/DataType"), &v))
    return FALSE;
  c->data_type = (v >= 0 && v < 1000) ? (int) v : -1;
  c->n_dims = dims->children->len;
  c->n_pixels = 1;
  for (guint d = 0; d < c->n_dims; d++)
    {
      double e;

      if (!kiln_dm_tag_get_double (g_ptr_array_index (dims->children, d), &e) ||
          !(e >= 0 && e <= 1e15))
        e = 0;
      if (d < G_N_ELEMENTS (c->dims))
        c->dims[d] = (guint64) e;
      if (!g_uint64_checked_mul (&c->n_pixels, c->n_pixels, (guint64) e))
        c->n_pixels = G_MAXUINT64;
    }
  return TRUE;
}

/* Scale of a length unit to nm; 0 if not a length. */
static double
unit_to_nm (const char *unit)
{
  g_autofree char *u = g_strstrip (g_strdup (unit));

  if (strcmp (u, "nm") == 0)
    return 1.0;
  if (strcmp (u, "\xc2\xb5m") == 0 || strcmp (u, "\xce\xbcm") == 0 || strcmp (u, "um") == 0 ||
      strcmp (u, "micron") == 0)
    return 1e3;
  if (strcmp (u, "\xc3\x85") == 0 || strcmp (u, "\xe2\x84\xab") == 0 || strcmp (u, "A") == 0 ||
      strcmp (u, "Angstrom") == 0 || strcmp (u, "\xc3\x85ngstr\xc3\xb6m") == 0)
    return 0.1;
  if (strcmp (u, "pm") == 0)
    return 1e-3;
  if (strcmp (u, "mm") == 0)
    return 1e6;
  if (strcmp (u, "m") == 0)
    return 1e9;
  return 0.0;
}

static gboolean
unit_is_degrees (const char *unit)
{
  g_autofree char *u = g_strstrip (g_strdup (unit));

  return strcmp (u, "deg") == 0 || strcmp (u, "\xc2\xb0") == 0 || strcmp (u, "degree") == 0 ||
         strcmp (u, "degrees") == 0 || strcmp (u, "Deg") == 0 || strcmp (u, "Degrees") == 0;
}

static gboolean
angles_plausible (const double *a,
                  guint         n)
{
  for (guint i = 0; i < n; i++)
    if (!isfinite (a[i]) || fabs (a[i]) > 180.0)
      return FALSE;
  return TRUE;
}

/* Per-tilt values of group @t whose children are named "0" … "n−1" (DM sorts them as
 * strings: "0", "1", "10", …) or, when unnamed, are in order. */
static gboolean
indexed_list (const KilnDmTag *t,
              guint            n,
              double          *values)
{
  if (t == NULL || !t->is_group || t->children->len != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      const KilnDmTag *child = g_ptr_array_index (t->children, i);

      if (child->name[0] != '\0')
        {
          char key[16];

          g_snprintf (key, sizeof key, "%u", i);
          child = kiln_dm_tag_lookup (t, key);
        }
      if (child == NULL || !kiln_dm_tag_get_double (child, &values[i]))
        return FALSE;
    }
  return TRUE;
}

/* Tilt angles for @n tilts of image @image, from the first of these that is complete:
 * (1) ImageTags/Meta Data/Dimension info/2/Data/0 … n−1 (the per-tilt list),
 * (2) ImageTags/Tomography/Tracking data/Online tracking data/[i]/stage angle (degree),
 *     placed at "Index in series",
 * (3) the third dimension's calibration in degrees: angle_i = scale · (i − origin),
 * (4) the tomography setup: minimum, maximum and step for the "equal" tilt model.
 * Returns the source or NULL. */
static const char *
find_angles (const KilnDmTag *image,
             guint            n,
             double          *angles)
{
  const KilnDmTag *t;

  /* (1) explicit per-tilt angles */
  if (indexed_list (kiln_dm_tag_lookup (image, "ImageTags/Meta Data/Dimension info/2/Data"),
                    n, angles) && angles_plausible (angles, n))
    return "ImageTags/Meta Data/Dimension info/2/Data";

  /* (2) online tracking records */
  t = kiln_dm_tag_lookup (image, "ImageTags/Tomography/Tracking data/Online tracking data");
  if (t != NULL && t->is_group && t->children->len == n)
    {
      g_autofree gboolean *seen = g_new0 (gboolean, n);
      guint i;

      for (i = 0; i < n; i++)
        {
          const KilnDmTag *rec = g_ptr_array_index (t->children, i);
          double index = i, angle;

          if (!rec->is_group ||
              !kiln_dm_tag_get_double (kiln_dm_tag_lookup (rec, "stage angle (degree)"), &angle))
            break;
          kiln_dm_tag_get_double (kiln_dm_tag_lookup (rec, "Index in series"), &index);
          if (!(index >= 0 && index < n) || seen[(guint) index])
            break;
          seen[(guint) index] = TRUE;
          angles[(guint) index] = angle;
        }
      if (i == n && angles_plausible (angles, n))
        return "ImageTags/Tomography/Tracking data/Online tracking data";
    }

  /* (3) calibration of the third dimension: value = scale · (index − origin) */
  t = kiln_dm_tag_lookup (image, "ImageData/Calibrations/Dimension/[2]");
  if (t != NULL && t->is_group)
    {
      double origin, scale;
      g_autofree char *unit = kiln_dm_tag_get_string (kiln_dm_tag_lookup (t, "Units"));

      if (unit != NULL && unit_is_degrees (unit) &&
          kiln_dm_tag_get_double (kiln_dm_tag_lookup (t, "Origin"), &origin) &&
          kiln_dm_tag_get_double (kiln_dm_tag_lookup (t, "Scale"), &scale) && scale != 0.0)
        {
          for (guint i = 0; i < n; i++)
            angles[i] = scale * ((double) i - origin);
          if (angles_plausible (angles, n))
            return "ImageData/Calibrations/Dimension/2";
        }
    }

  /* (4) tomography setup */
  t = kiln_dm_tag_lookup (image, "ImageTags/Tomography/Tomography setup/Tilt angles");
  if (t != NULL && t->is_group)
    {
      double lo, hi, step;
      g_autofree char *model = kiln_dm_tag_get_string (kiln_dm_tag_lookup (t, "Tilt model"));
      g_autofree char *dir = kiln_dm_tag_get_string (kiln_dm_tag_lookup (t, "Tilt direction"));
      gboolean down = dir != NULL && strcmp (dir, "max -> min") == 0;

      if ((model == NULL || strcmp (model, "equal") == 0) &&
          (dir == NULL || down || strcmp (dir, "min -> max") == 0) &&
          kiln_dm_tag_get_double (kiln_dm_tag_lookup (t, "Minimum tilt angle (deg)"), &lo) &&
          kiln_dm_tag_get_double (kiln_dm_tag_lookup (t, "Maximum tilt angle (deg)"), &hi) &&
          kiln_dm_tag_get_double (kiln_dm_tag_lookup (t, "Tilt angle step (deg)"), &step) &&
          step > 0 && isfinite (lo) && isfinite (hi) && hi >= lo &&
          fabs ((hi - lo) / step + 1 - n) < 1e-3)
        {
          for (guint i = 0; i < n; i++)
            angles[i] = down ? hi - step * i : lo + step * i;
          if (angles_plausible (angles, n))
            return "ImageTags/Tomography/Tomography setup/Tilt angles";
        }
    }
  return NULL;
}

static void
convert_pixels (float        *dst,
                const guint8 *src,
                gsize         n,
                int           data_type,
                gboolean      little)
{
  gboolean swap = little != (G_BYTE_ORDER == G_LITTLE_ENDIAN);

/* separate loops for the two byte orders, so that the common one vectorises */
#define CONVERT(ctype, swapfn)                                   \
  if (swap)                                                      \
    for (gsize i = 0; i < n; i++)                                \
      {                                                          \
        ctype v;                                                 \
        memcpy (&v, src + i * sizeof (ctype), sizeof (ctype));  \
        dst[i] = (float) swapfn (v);                             \
      }                                                          \
  else                                                           \
    for (gsize i = 0; i < n; i++)                                \
      {                                                          \
        ctype v;                                                 \
        memcpy (&v, src + i * sizeof (ctype), sizeof (ctype));  \
        dst[i] = (float) v;                                      \
      }
#define NOSWAP(x) (x)

  switch (data_type)
    {
    case 6:
    case 14:
      CONVERT (guint8, NOSWAP);
      break;
    case 9:
      CONVERT (gint8, NOSWAP);
      break;
    case 1:
      CONVERT (gint16, (gint16) GUINT16_SWAP_LE_BE);
      break;
    case 10:
      CONVERT (guint16, GUINT16_SWAP_LE_BE);
      break;
    case 7:
      CONVERT (gint32, (gint32) GUINT32_SWAP_LE_BE);
      break;
    case 11:
      CONVERT (guint32, GUINT32_SWAP_LE_BE);
      break;
    case 2:
      if (!swap)
        memcpy (dst, src, n * sizeof (float));
      else
        for (gsize i = 0; i < n; i++)
          {
            guint32 u;
            memcpy (&u, src + 4 * i, 4);
            u = GUINT32_SWAP_LE_BE (u);
            memcpy (&dst[i], &u, 4);
          }
      break;
    case 12:
      for (gsize i = 0; i < n; i++)
        {
          guint64 u;
          double d;
          memcpy (&u, src + 8 * i, 8);
          if (swap)
            u = GUINT64_SWAP_LE_BE (u);
          memcpy (&d, &u, 8);
          dst[i] = (float) d;
        }
      break;
    default:
      g_assert_not_reached ();
    }
#undef CONVERT
#undef NOSWAP
}

static KilnImageStack *
kiln_dm_load_stack_unchecked (const char    *path,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(KilnDmFile) file = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  const KilnDmTag *list, *cal;
  Candidate best = { 0 };
  gboolean have = FALSE;
  guint bpp = 0;
  const char *type_str = NULL;
  guint width, height, n_tilts;
  gsize data_size, plane;

  g_return_val_if_fail (path != NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  file = kiln_dm_file_open (path, error);
  if (file == NULL)
    return NULL;

  list = kiln_dm_tag_lookup (file->root, "ImageList");
  if (list == NULL || !list->is_group)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: DM%u file has no ImageList", path, file->version);
      return NULL;
    }
  /* the largest image; among equal sizes a readable type, then the later one */
  for (guint i = 0; i < list->children->len; i++)
    {
      Candidate c;
      guint b;
      const char *s;

      if (!read_candidate (g_ptr_array_index (list->children, i), i, &c))
        continue;
      if (!have || c.n_pixels > best.n_pixels ||
          (c.n_pixels == best.n_pixels &&
           dm_data_type (c.data_type, &b, &s) >= dm_data_type (best.data_type, &b, &s)))
        {
          best = c;
          have = TRUE;
        }
    }
  if (!have)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: DM%u file holds no image (ImageList has no entry with ImageData "
                   "Data, DataType and Dimensions)", path, file->version);
      return NULL;
    }

  if (!dm_data_type (best.data_type, &bpp, &type_str))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: image %u has DM data type %d (%s); Kiln reads integer and real images only",
                   path, best.index, best.data_type, type_str);
      return NULL;
    }
  if (best.n_dims < 2 || best.n_dims > 3)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: image %u has %u dimensions; Kiln reads 2D images and 3D tilt series",
                   path, best.index, best.n_dims);
      return NULL;
    }
  for (guint d = 0; d < best.n_dims; d++)
    if (best.dims[d] == 0 || best.dims[d] > KILN_MAX_EXTENT)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "%s: image %u has absurd dimensions %" G_GUINT64_FORMAT " × %"
                     G_GUINT64_FORMAT " × %" G_GUINT64_FORMAT " (each must be 1 … %u)",
                     path, best.index, best.dims[0], best.dims[1],
                     best.n_dims > 2 ? best.dims[2] : 1, KILN_MAX_EXTENT);
        return NULL;
      }
  width = (guint) best.dims[0];
  height = (guint) best.dims[1];
  n_tilts = best.n_dims > 2 ? (guint) best.dims[2] : 1;
  if (!kiln_size_mul (&data_size, width, height, n_tilts, bpp) ||
      data_size != best.data->size)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "%s: image %u of %u × %u × %u %s pixels needs %" G_GUINT64_FORMAT
                   " bytes but its data tag holds %" G_GSIZE_FORMAT,
                   path, best.index, width, height, n_tilts, type_str,
                   (guint64) width * height * n_tilts * bpp, best.data->size);
      return NULL;
    }

  stack = kiln_image_stack_new (n_tilts, width, height, error);
  if (stack == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  plane = (gsize) width * height;
  {
    const guint8 *src = file->bytes + best.data->offset;
    float *dst = stack->data;
    int data_type = best.data_type;
    gboolean little = file->little;
    int cancelled = 0;

    /* tilt by tilt, in parallel for large series (a thread team costs more than converting
     * a small one); cancellation is checked before each tilt */
#pragma omp parallel for schedule(dynamic, 1) if (data_size >= ((gsize) 8 << 20) && n_tilts > 1)
    for (guint k = 0; k < n_tilts; k++)
      {
        int stop;

#pragma omp atomic read
        stop = cancelled;
        if (stop)
          continue;
        if (g_cancellable_is_cancelled (cancellable))
          {
#pragma omp atomic write
            cancelled = 1;
            continue;
          }
        convert_pixels (dst + k * plane, src + k * plane * bpp, plane, data_type, little);
      }
    if (cancelled || g_cancellable_set_error_if_cancelled (cancellable, error))
      {
        if (cancelled)
          g_cancellable_set_error_if_cancelled (cancellable, error);
        return NULL;
      }
  }

  /* NaN/Inf pixels (real types) would poison every later step: refuse them as MRC and TIFF do */
  if (!kiln_image_stack_check_finite (stack, path, error))
    return NULL;

  /* pixel size: calibration of dimension 0 (x), value = scale · (index − origin) */
  cal = kiln_dm_tag_lookup (best.image, "ImageData/Calibrations/Dimension/[0]");
  if (cal != NULL && cal->is_group)
    {
      double scale;
      g_autofree char *unit = kiln_dm_tag_get_string (kiln_dm_tag_lookup (cal, "Units"));

      if (unit != NULL && kiln_dm_tag_get_double (kiln_dm_tag_lookup (cal, "Scale"), &scale) &&
          isfinite (scale) && scale != 0.0 && unit_to_nm (unit) > 0.0)
        stack->pixel_size_nm = fabs (scale) * unit_to_nm (unit);
    }

  if (best.n_dims == 3 && find_angles (best.image, n_tilts, stack->angles_deg) != NULL)
    stack->has_angles = TRUE;
  else
    memset (stack->angles_deg, 0, n_tilts * sizeof (double));

  return g_steal_pointer (&stack);
}

KilnDmFile *
kiln_dm_file_open (const char  *path,
                   GError     **error)
{
  KilnDmFile *result = kiln_dm_file_open_unchecked (path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnImageStack *
kiln_dm_load_stack (const char    *path,
                    GCancellable  *cancellable,
                    GError       **error)
{
  KilnImageStack *result = kiln_dm_load_stack_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
