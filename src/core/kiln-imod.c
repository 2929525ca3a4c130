/* kiln-imod.c — IMOD text files: .tlt/.rawtlt tilt angles and .xf transforms
 *
 * .tlt/.rawtlt: one angle in degrees per line (IMOD writes "%.2f"); blank lines are ignored.
 * .xf: one line per image, "a11 a12 a21 a22 dx dy"; IMOD writes fixed 12-character
 * columns (4 × %12.7f, 2 × %12.3f), which we also parse when wide numbers touch.
 * Saves are atomic (kiln_io_write_file) and use the C locale.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-imod.h"
#include "kiln-io.h"

/* Text files larger than this are not angle or transform lists. */
#define MAX_TEXT_BYTES ((gsize) 16 << 20)

static char *
read_text (const char  *path,
           GError     **error)
{
  GStatBuf st;
  char *text = NULL;
  gsize len;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s: %s", path, g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || (guint64) st.st_size > MAX_TEXT_BYTES)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: not an IMOD text file (%s)", path,
                   S_ISREG (st.st_mode) ? "larger than 16 MiB" : "not a regular file");
      return NULL;
    }
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  if (memchr (text, '\0', len) != NULL || !g_utf8_validate (text, (gssize) len, NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s: not an IMOD text file (binary data)", path);
      g_free (text);
      return NULL;
    }
  return text;
}

/* Parses one number at *p (skipping leading blanks); FALSE if there is none. */
static gboolean
parse_number (const char **p,
              double      *value)
{
  const char *s = *p;
  char *end;

  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == ',')
    s++;
  if (*s == '\0')
    return FALSE;
  errno = 0;
  *value = g_ascii_strtod (s, &end);
  if (end == s || errno == ERANGE)
    return FALSE;
  *p = end;
  return TRUE;
}

static gboolean
only_blanks (const char *s)
{
  for (; *s != '\0'; s++)
    if (*s != ' ' && *s != '\t' && *s != '\r')
      return FALSE;
  return TRUE;
}

static char *
shorten (const char *line)
{
  g_autofree char *copy = g_strstrip (g_strdup (line));

  if (g_utf8_strlen (copy, -1) > 40)
    {
      char *end = g_utf8_offset_to_pointer (copy, 40);
      *end = '\0';
      return g_strconcat (copy, "…", NULL);
    }
  return g_steal_pointer (&copy);
}

static double *
kiln_tlt_load_unchecked (const char  *path,
               guint       *n_angles,
               GError     **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GArray) angles = NULL;

  g_return_val_if_fail (path != NULL && n_angles != NULL, NULL);
  *n_angles = 0;
  text = read_text (path, error);
  if (text == NULL)
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  angles = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = lines[i];
      double a;

      if (only_blanks (p))
        continue;
      if (!parse_number (&p, &a) || !only_blanks (p))
        {
          g_autofree char *shown = shorten (lines[i]);
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                       "%s:%u: “%s” is not a tilt angle (one number in degrees per line)",
                       path, i + 1, shown);
          return NULL;
        }
      if (!isfinite (a) || fabs (a) > 180.0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s:%u: tilt angle %g° is outside −180…180°", path, i + 1, a);
          return NULL;
        }
      if (angles->len >= KILN_MAX_EXTENT)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s:%u: more than %d tilt angles", path, i + 1, KILN_MAX_EXTENT);
          return NULL;
        }
      g_array_append_val (angles, a);
    }
  if (angles->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: the file holds no tilt angles", path);
      return NULL;
    }
  *n_angles = angles->len;
  return (double *) g_array_free (g_steal_pointer (&angles), FALSE);
}

static gboolean
kiln_tlt_save_unchecked (const char    *path,
               const double  *angles_deg,
               guint          n_angles,
               GError       **error)
{
  g_autoptr(GString) s = g_string_new (NULL);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (path != NULL && (angles_deg != NULL || n_angles == 0), FALSE);
  for (guint i = 0; i < n_angles; i++)
    {
      if (!isfinite (angles_deg[i]))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "Cannot write %s: tilt angle %u is not a number", path, i + 1);
          return FALSE;
        }
      /* %.12g: exact for IMOD's 2-decimal angles, any angle ≤ 180° to 1e-9° */
      g_string_append_printf (s, "%s\n",
                              g_ascii_formatd (buf, sizeof buf, "%.12g", angles_deg[i]));
    }
  return kiln_io_write_file (path, s->str, s->len, error);
}

void
kiln_xf_identity (KilnXf *xf)
{
  g_return_if_fail (xf != NULL);
  *xf = (KilnXf) { 1.0, 0.0, 0.0, 1.0, 0.0, 0.0 };
}

/* IMOD's fixed format: 6 columns of 12 characters. */
static gboolean
parse_fixed_xf (const char *line,
                double     *v)
{
  gsize len = strlen (line);

  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
    len--;
  if (len < 6 * 12 - 11 || len > 6 * 12)
    return FALSE;
  for (int i = 0; i < 6; i++)
    {
      char field[13] = { 0 };
      const char *p = field;
      gsize start = (gsize) i * 12;

      if (start >= len)
        return FALSE;
      memcpy (field, line + start, MIN (12, len - start));
      if (!parse_number (&p, &v[i]) || !only_blanks (p))
        return FALSE;
    }
  return TRUE;
}

static KilnXf *
kiln_xf_load_unchecked (const char  *path,
              guint       *n_xf,
              GError     **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GArray) xfs = NULL;

  g_return_val_if_fail (path != NULL && n_xf != NULL, NULL);
  *n_xf = 0;
  text = read_text (path, error);
  if (text == NULL)
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  xfs = g_array_new (FALSE, FALSE, sizeof (KilnXf));
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = lines[i];
      double v[6];
      int n = 0;
      KilnXf xf;

      if (only_blanks (p))
        continue;
      while (n < 6 && parse_number (&p, &v[n]))
        n++;
      if ((n != 6 || !only_blanks (p)) && !parse_fixed_xf (lines[i], v))
        {
          g_autofree char *shown = shorten (lines[i]);
          g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                       "%s:%u: “%s” is not a transform (six numbers: a11 a12 a21 a22 dx dy)",
                       path, i + 1, shown);
          return NULL;
        }
      for (int j = 0; j < 6; j++)
        if (!isfinite (v[j]))
          {
            g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                         "%s:%u: the transform holds a value that is not a number",
                         path, i + 1);
            return NULL;
          }
      if (xfs->len >= KILN_MAX_EXTENT)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                       "%s:%u: more than %d transforms", path, i + 1, KILN_MAX_EXTENT);
          return NULL;
        }
      xf = (KilnXf) { v[0], v[1], v[2], v[3], v[4], v[5] };
      g_array_append_val (xfs, xf);
    }
  if (xfs->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s: the file holds no transforms", path);
      return NULL;
    }
  *n_xf = xfs->len;
  return (KilnXf *) g_array_free (g_steal_pointer (&xfs), FALSE);
}

static gboolean
kiln_xf_save_unchecked (const char    *path,
              const KilnXf  *xf,
              guint          n_xf,
              GError       **error)
{
  g_autoptr(GString) s = g_string_new (NULL);

  g_return_val_if_fail (path != NULL && (xf != NULL || n_xf == 0), FALSE);
  for (guint i = 0; i < n_xf; i++)
    {
      const double v[6] = { xf[i].a11, xf[i].a12, xf[i].a21, xf[i].a22, xf[i].dx, xf[i].dy };

      for (int j = 0; j < 6; j++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          if (!isfinite (v[j]))
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                           "Cannot write %s: transform %u holds a value that is not a number",
                           path, i + 1);
              return FALSE;
            }
          /* IMOD reads free format; keep full precision (1e-12 relative) */
          g_ascii_formatd (buf, sizeof buf, j < 4 ? "%.12f" : "%.6f", v[j]);
          g_string_append_printf (s, "%s%*s", j > 0 ? " " : "", 14, buf);
        }
      g_string_append_c (s, '\n');
    }
  return kiln_io_write_file (path, s->str, s->len, error);
}

double *
kiln_tlt_load (const char  *path,
               guint       *n_angles,
               GError     **error)
{
  double *result = kiln_tlt_load_unchecked (path, n_angles, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

KilnXf *
kiln_xf_load (const char  *path,
              guint       *n_xf,
              GError     **error)
{
  KilnXf *result = kiln_xf_load_unchecked (path, n_xf, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_tlt_save (const char    *path,
               const double  *angles_deg,
               guint          n_angles,
               GError       **error)
{
  gboolean result = kiln_tlt_save_unchecked (path, angles_deg, n_angles, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_xf_save (const char    *path,
              const KilnXf  *xf,
              guint          n_xf,
              GError       **error)
{
  gboolean result = kiln_xf_save_unchecked (path, xf, n_xf, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
