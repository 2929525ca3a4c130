/* kiln-io.c — format detection, any-format load/save, atomic file replacement
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "kiln-error.h"
#include "kiln-io.h"

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
