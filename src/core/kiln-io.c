/* kiln-io.c — format detection, any-format load/save, atomic file replacement
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "kiln-alloc.h"
#include "kiln-dm.h"
#include "kiln-error.h"
#include "kiln-io.h"
#include "kiln-mrc.h"
#include "kiln-tiff.h"

/* ------------------------------------------------------------------------------------------ */
/* Atomic replacement                                                                          */

char *
kiln_io_temp_path (const char *path)
{
  static gint counter;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  /* Hidden, in the same folder (so rename() is atomic), unique per process and call. */
  name = g_strdup_printf (".%s.kiln-%d-%d-%08x.tmp", base, (int) getpid (),
                          g_atomic_int_add (&counter, 1), g_random_int ());
  return g_build_filename (dir, name, NULL);
}

static gboolean
fsync_path (const char  *path,
            gboolean     is_dir,
            GError     **error)
{
  int fd = g_open (path, (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC, 0);
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s to flush it: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (fsync (fd) != 0 && !is_dir)
    {
      saved = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot flush %s to disk: %s", path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

gboolean
kiln_io_commit (const char  *tmp_path,
                const char  *path,
                GError     **error)
{
  g_autofree char *dir = NULL;
  int saved;

  g_return_val_if_fail (tmp_path != NULL && path != NULL, FALSE);

  if (!fsync_path (tmp_path, FALSE, error))
    {
      kiln_io_abort (tmp_path);
      return FALSE;
    }
  if (g_rename (tmp_path, path) != 0)
    {
      saved = errno;
      kiln_io_abort (tmp_path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: renaming the temporary file failed: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  /* Make the rename itself durable; a failure here does not lose data already renamed. */
  dir = g_path_get_dirname (path);
  fsync_path (dir, TRUE, NULL);
  return TRUE;
}

void
kiln_io_abort (const char *tmp_path)
{
  if (tmp_path != NULL)
    g_unlink (tmp_path);
}

gboolean
kiln_io_write_file (const char  *path,
                    const void  *data,
                    gsize        len,
                    GError     **error)
{
  g_autofree char *tmp = kiln_io_temp_path (path);
  const guint8 *p = data;
  int fd, saved;

  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  while (len > 0)
    {
      gssize n = write (fd, p, MIN (len, (gsize) 1 << 30));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          saved = n < 0 ? errno : ENOSPC;
          close (fd);
          kiln_io_abort (tmp);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Cannot write %s: %s", path, g_strerror (saved));
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  if (close (fd) != 0)
    {
      saved = errno;
      kiln_io_abort (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot write %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return kiln_io_commit (tmp, path, error);
}

/* ------------------------------------------------------------------------------------------ */
/* Detection                                                                                   */

static gint32
get_i32 (const guint8 *p,
         gboolean      be)
{
  guint32 u = be ? ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3]
                 : ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
  return (gint32) u;
}

static gboolean
mrc_plausible (const guint8 *h,
               gboolean      be,
               guint64       file_size,
               gboolean      need_exact_size)
{
  gint32 nx = get_i32 (h, be), ny = get_i32 (h + 4, be), nz = get_i32 (h + 8, be);
  gint32 mode = get_i32 (h + 12, be), next = get_i32 (h + 92, be);
  guint64 elem;

  if (nx <= 0 || ny <= 0 || nz <= 0 || next < 0)
    return FALSE;
  switch (mode)
    {
    case 0: elem = 1; break;
    case 1: case 6: case 12: elem = 2; break;
    case 2: elem = 4; break;
    case 3: elem = 4; break;
    case 4: elem = 8; break;
    case 101: elem = 1; break;   /* approximate (4-bit); only used with "MAP " */
    default: return FALSE;
    }
  if (!need_exact_size)
    return nx <= KILN_MAX_EXTENT * 16 && ny <= KILN_MAX_EXTENT * 16 && nz <= KILN_MAX_EXTENT * 16;
  return nx <= KILN_MAX_EXTENT && ny <= KILN_MAX_EXTENT && nz <= KILN_MAX_EXTENT &&
         1024 + (guint64) next + (guint64) nx * ny * nz * elem == file_size;
}

static KilnFileFormat
format_from_extension (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  static const char *const mrc_ext[] = { ".mrc", ".mrcs", ".st", ".ali", ".preali", ".rec",
                                         ".map", NULL };

  if (g_str_has_suffix (lower, ".tif") || g_str_has_suffix (lower, ".tiff"))
    return KILN_FILE_FORMAT_TIFF;
  for (guint i = 0; mrc_ext[i] != NULL; i++)
    if (g_str_has_suffix (lower, mrc_ext[i]))
      return KILN_FILE_FORMAT_MRC;
  if (g_str_has_suffix (lower, ".dm3"))
    return KILN_FILE_FORMAT_DM3;
  if (g_str_has_suffix (lower, ".dm4"))
    return KILN_FILE_FORMAT_DM4;
  return KILN_FILE_FORMAT_UNKNOWN;
}

KilnFileFormat
kiln_file_format_detect (const char *path)
{
  guint8 h[1024] = { 0 };
  gssize got = 0;
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL, KILN_FILE_FORMAT_UNKNOWN);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
        {
          gsize have = 0;
          while (have < sizeof h)
            {
              gssize n = read (fd, h + have, sizeof h - have);
              if (n < 0 && errno == EINTR)
                continue;
              if (n <= 0)
                break;
              have += (gsize) n;
            }
          got = (gssize) have;
        }
      close (fd);
    }

  if (got >= 4)
    {
      gint32 version = get_i32 (h, TRUE);

      if ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0) ||
          (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43)))
        return KILN_FILE_FORMAT_TIFF;
      /* DM3: version 3, file size, byte order (0/1); DM4: version 4, 8-byte size, order */
      if (version == 3 && got >= 12 && (get_i32 (h + 8, TRUE) == 0 || get_i32 (h + 8, TRUE) == 1))
        return KILN_FILE_FORMAT_DM3;
      if (version == 4 && got >= 16 &&
          (get_i32 (h + 12, TRUE) == 0 || get_i32 (h + 12, TRUE) == 1))
        return KILN_FILE_FORMAT_DM4;
    }
  if (got >= 1024)
    {
      gboolean map = memcmp (h + 208, "MAP ", 4) == 0;
      for (int be = 0; be < 2; be++)
        if ((map && mrc_plausible (h, be, (guint64) st.st_size, FALSE)) ||
            mrc_plausible (h, be, (guint64) st.st_size, TRUE))
          return KILN_FILE_FORMAT_MRC;
    }
  /* Unknown content (or no file): the extension decides, so that the reader of that format
   * explains what is wrong. */
  return format_from_extension (path);
}

const char *
kiln_file_format_name (KilnFileFormat format)
{
  switch (format)
    {
    case KILN_FILE_FORMAT_TIFF: return "TIFF";
    case KILN_FILE_FORMAT_MRC: return "MRC";
    case KILN_FILE_FORMAT_DM3: return "DM3";
    case KILN_FILE_FORMAT_DM4: return "DM4";
    case KILN_FILE_FORMAT_UNKNOWN:
    default: return "unknown";
    }
}

KilnFileFormat
kiln_file_format_for_output (const char *path)
{
  KilnFileFormat f;

  g_return_val_if_fail (path != NULL, KILN_FILE_FORMAT_UNKNOWN);
  f = format_from_extension (path);
  return f == KILN_FILE_FORMAT_TIFF || f == KILN_FILE_FORMAT_MRC ? f : KILN_FILE_FORMAT_UNKNOWN;
}

/* ------------------------------------------------------------------------------------------ */
/* Dispatch                                                                                    */

static void
set_unknown_error (const char  *path,
                   GError     **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "Cannot open %s: %s", path, g_strerror (ENOENT));
  else
    g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                 "%s: unknown file format (Kiln reads TIFF, MRC, DM3 and DM4)", path);
}

static KilnImageStack *
kiln_io_load_stack_unchecked (const char    *path,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  switch (kiln_file_format_detect (path))
    {
    case KILN_FILE_FORMAT_TIFF:
      return kiln_tiff_load_stack (path, cancellable, error);
    case KILN_FILE_FORMAT_MRC:
      return kiln_mrc_load_stack (path, cancellable, error);
    case KILN_FILE_FORMAT_DM3:
    case KILN_FILE_FORMAT_DM4:
      return kiln_dm_load_stack (path, cancellable, error);
    case KILN_FILE_FORMAT_UNKNOWN:
    default:
      set_unknown_error (path, error);
      return NULL;
    }
}

static KilnVolume *
kiln_io_load_volume_unchecked (const char    *path,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(KilnImageStack) stack = NULL;
  KilnVolume *vol;

  g_return_val_if_fail (path != NULL, NULL);

  switch (kiln_file_format_detect (path))
    {
    case KILN_FILE_FORMAT_MRC:
      return kiln_mrc_load_volume (path, cancellable, error);
    case KILN_FILE_FORMAT_TIFF:
      stack = kiln_tiff_load_stack (path, cancellable, error);
      break;
    case KILN_FILE_FORMAT_DM3:
    case KILN_FILE_FORMAT_DM4:
      stack = kiln_dm_load_stack (path, cancellable, error);
      break;
    case KILN_FILE_FORMAT_UNKNOWN:
    default:
      set_unknown_error (path, error);
      return NULL;
    }
  if (stack == NULL)
    return NULL;

  /* Pages are z sections. The stack is ours alone: hand its buffer to the volume instead of
   * copying it (both are kiln_alloc'ed float arrays of the same layout). */
  vol = kiln_volume_new (1, 1, 1, error);
  if (vol == NULL)
    return NULL;
  kiln_free (vol->data);
  vol->data = g_steal_pointer (&stack->data);
  vol->nx = stack->width;
  vol->ny = stack->height;
  vol->nz = stack->n_tilts;
  vol->voxel_size_nm = stack->pixel_size_nm;
  return vol;
}

static gboolean
check_output (const char      *path,
              KilnFileFormat  *format,
              GError         **error)
{
  *format = kiln_file_format_for_output (path);
  if (*format == KILN_FILE_FORMAT_UNKNOWN)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cannot write %s: unknown output format (use .mrc, .st, .ali, .rec, .map, "
                   ".tif or .tiff)", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
kiln_io_save_stack_unchecked (const KilnImageStack  *stack,
                    const char            *path,
                    GError               **error)
{
  KilnFileFormat f;

  g_return_val_if_fail (stack != NULL && path != NULL, FALSE);
  if (!check_output (path, &f, error))
    return FALSE;
  if (f == KILN_FILE_FORMAT_MRC)
    return kiln_mrc_save_stack (stack, path, NULL, error);
  return kiln_tiff_save_stack (stack, path, error);
}

static gboolean
kiln_io_save_volume_unchecked (const KilnVolume  *volume,
                     const char        *path,
                     GError           **error)
{
  KilnFileFormat f;

  g_return_val_if_fail (volume != NULL && path != NULL, FALSE);
  if (!check_output (path, &f, error))
    return FALSE;
  if (f == KILN_FILE_FORMAT_MRC)
    return kiln_mrc_save_volume (volume, path, NULL, error);
  return kiln_tiff_save_volume (volume, path, error);
}

KilnImageStack *
kiln_io_load_stack (const char    *path,
                    GCancellable  *cancellable,
                    GError       **error)
{
  KilnImageStack *result = kiln_io_load_stack_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnVolume *
kiln_io_load_volume (const char    *path,
                     GCancellable  *cancellable,
                     GError       **error)
{
  KilnVolume *result = kiln_io_load_volume_unchecked (path, cancellable, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_io_save_stack (const KilnImageStack  *stack,
                    const char            *path,
                    GError               **error)
{
  gboolean result = kiln_io_save_stack_unchecked (stack, path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_io_save_volume (const KilnVolume  *volume,
                     const char        *path,
                     GError           **error)
{
  gboolean result = kiln_io_save_volume_unchecked (volume, path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
