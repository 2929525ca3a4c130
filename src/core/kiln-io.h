/* kiln-io.h — format detection, any-format load/save, atomic file replacement
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_FILE_FORMAT_UNKNOWN,
  KILN_FILE_FORMAT_TIFF,
  KILN_FILE_FORMAT_MRC,
  KILN_FILE_FORMAT_DM3,
  KILN_FILE_FORMAT_DM4,
} KilnFileFormat;

/* From the file's first bytes (magic), falling back to the extension. */
KilnFileFormat  kiln_file_format_detect     (const char            *path);
const char     *kiln_file_format_name       (KilnFileFormat         format);
/* From the extension only, for writing: .mrc .st .ali .rec .map → MRC; .tif .tiff → TIFF. */
KilnFileFormat  kiln_file_format_for_output (const char            *path);

KilnImageStack *kiln_io_load_stack          (const char            *path,
                                             GCancellable          *cancellable,
                                             GError               **error);
gboolean        kiln_io_save_stack          (const KilnImageStack  *stack,
                                             const char            *path,
                                             GError               **error);
KilnVolume     *kiln_io_load_volume         (const char            *path,
                                             GCancellable          *cancellable,
                                             GError               **error);
gboolean        kiln_io_save_volume         (const KilnVolume      *volume,
                                             const char            *path,
                                             GError               **error);

/* Atomic save protocol for writers that stream into a path: write into
 * kiln_io_temp_path (path) (same folder, hidden, unique), then kiln_io_commit (tmp, path)
 * fsyncs it and renames it over @path; on any failure call kiln_io_abort (tmp). */
char           *kiln_io_temp_path           (const char            *path);
gboolean        kiln_io_commit              (const char            *tmp_path,
                                             const char            *path,
                                             GError               **error);
void            kiln_io_abort               (const char            *tmp_path);
/* Whole-buffer atomic write (temp + fsync + rename). */
gboolean        kiln_io_write_file          (const char            *path,
                                             const void            *data,
                                             gsize                  len,
                                             GError               **error);

G_END_DECLS
