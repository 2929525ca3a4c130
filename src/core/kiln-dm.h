/* kiln-dm.h — Gatan DigitalMicrograph DM3 and DM4 files
 *
 * Parses the tag tree, takes the largest image (the tilt series), its calibration (pixel size
 * and unit → nm) and the tilt angles from the third dimension's calibration or the tomography
 * tags.
 *
 * The tag tree is also available read-only (KilnDmFile) for inspection and tests: the tree
 * keeps the file mapped and decodes values only when asked, so large arrays (the image data)
 * are never copied.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"

G_BEGIN_DECLS

KilnImageStack *kiln_dm_load_stack (const char    *path,
                                    GCancellable  *cancellable,
                                    GError       **error);

/**
 * KilnDmType:
 *
 * The type codes of DM tag data (the first entry of a data tag's type description).
 */
typedef enum
{
  KILN_DM_TYPE_INT16   = 2,
  KILN_DM_TYPE_INT32   = 3,
  KILN_DM_TYPE_UINT16  = 4,
  KILN_DM_TYPE_UINT32  = 5,
  KILN_DM_TYPE_FLOAT32 = 6,
  KILN_DM_TYPE_FLOAT64 = 7,
  KILN_DM_TYPE_BOOL    = 8,
  KILN_DM_TYPE_INT8    = 9,
  KILN_DM_TYPE_UINT8   = 10,
  KILN_DM_TYPE_INT64   = 11,
  KILN_DM_TYPE_UINT64  = 12,
  KILN_DM_TYPE_STRUCT  = 15,
  KILN_DM_TYPE_STRING  = 18,
  KILN_DM_TYPE_ARRAY   = 20,
} KilnDmType;

typedef struct _KilnDmFile KilnDmFile;
typedef struct _KilnDmTag  KilnDmTag;

/* Parse the whole tag tree (values stay in the mapped file). */
KilnDmFile      *kiln_dm_file_open          (const char        *path,
                                             GError           **error);
void             kiln_dm_file_free          (KilnDmFile        *file);
/* 3 or 4. */
guint            kiln_dm_file_version       (const KilnDmFile  *file);
/* Byte order of the tag values and image data (the header's flag). */
gboolean         kiln_dm_file_little_endian (const KilnDmFile  *file);
/* The root group. */
const KilnDmTag *kiln_dm_file_root          (const KilnDmFile  *file);
/* Text listing of the tree, one tag per line ("path = value"), for debugging and tests. */
char            *kiln_dm_file_dump          (const KilnDmFile  *file);

gboolean         kiln_dm_tag_is_group       (const KilnDmTag   *tag);
/* "" for unnamed tags (list entries). */
const char      *kiln_dm_tag_name           (const KilnDmTag   *tag);
/* The name as stored in the file (8-bit, not NUL-terminated; DM uses Latin-1 in names such
 * as "Emission Current (µA)"); kiln_dm_tag_name() is its UTF-8 form. */
const guint8    *kiln_dm_tag_name_bytes     (const KilnDmTag   *tag,
                                             gsize             *len);
/* Groups: the sorted and open flags of the group header. */
gboolean         kiln_dm_tag_sorted         (const KilnDmTag   *tag);
gboolean         kiln_dm_tag_open           (const KilnDmTag   *tag);
guint            kiln_dm_tag_n_children     (const KilnDmTag   *tag);
const KilnDmTag *kiln_dm_tag_child          (const KilnDmTag   *tag,
                                             guint              index);
/* Look up a descendant by a '/'-separated path of names; "[i]" selects the i-th child
 * (0-based), as used for unnamed list entries: "ImageList/[1]/ImageData/Dimensions/[0]".
 * NULL when absent. */
const KilnDmTag *kiln_dm_tag_lookup         (const KilnDmTag   *tag,
                                             const char        *path);
/* Data tags: the type description as stored (first entry a KilnDmType), and the raw value
 * bytes in the file's byte order (they point into the mapped file). */
const guint64   *kiln_dm_tag_type_info      (const KilnDmTag   *tag,
                                             guint             *n_info);
const guint8    *kiln_dm_tag_data           (const KilnDmTag   *tag,
                                             gsize             *size);
/* A simple numeric or boolean value as a double; FALSE for other types. */
gboolean         kiln_dm_tag_get_double     (const KilnDmTag   *tag,
                                             double            *value);
/* A string (type 18, or an array of uint16 UTF-16 units or of 8-bit chars) as UTF-8;
 * NULL for other types. Free with g_free(). */
char            *kiln_dm_tag_get_string     (const KilnDmTag   *tag);
/* The i-th element of an array of simple numbers as a double; FALSE if out of range or not
 * such an array. */
gboolean         kiln_dm_tag_get_array_double (const KilnDmTag *tag,
                                               guint64          index,
                                               double          *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnDmFile, kiln_dm_file_free)

G_END_DECLS
