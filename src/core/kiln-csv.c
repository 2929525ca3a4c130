/* kiln-csv.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-csv.h"
#include "kiln-error.h"

struct _KilnCsv
{
  guint    n_columns;
  GString *text;
};

static void
append_cell (GString    *s,
             const char *cell)
{
  if (cell == NULL)
    return;
  if (strpbrk (cell, ",\"\n\r") != NULL)
    {
      g_string_append_c (s, '"');
      for (const char *p = cell; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (s, '"');
          g_string_append_c (s, *p);
        }
      g_string_append_c (s, '"');
    }
  else
    g_string_append (s, cell);
}

KilnCsv *
kiln_csv_new (const char * const *columns)
{
  KilnCsv *csv = g_new0 (KilnCsv, 1);

  csv->text = g_string_new (NULL);
  for (guint i = 0; columns[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (csv->text, ',');
      append_cell (csv->text, columns[i]);
      csv->n_columns++;
    }
  g_string_append_c (csv->text, '\n');
  return csv;
}

void
kiln_csv_free (KilnCsv *csv)
{
  if (csv == NULL)
    return;
  g_string_free (csv->text, TRUE);
  g_free (csv);
}

guint
kiln_csv_n_columns (KilnCsv *csv)
{
  return csv->n_columns;
}

void
kiln_csv_add_row (KilnCsv      *csv,
                  const double *values)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < csv->n_columns; i++)
    {
      if (i > 0)
        g_string_append_c (csv->text, ',');
      if (isfinite (values[i]))
        g_string_append (csv->text, g_ascii_formatd (buf, sizeof buf, "%.6g", values[i]));
    }
  g_string_append_c (csv->text, '\n');
}

void
kiln_csv_add_row_str (KilnCsv            *csv,
                      const char * const *cells)
{
  for (guint i = 0; i < csv->n_columns; i++)
    {
      if (i > 0)
        g_string_append_c (csv->text, ',');
      append_cell (csv->text, cells[i]);
    }
  g_string_append_c (csv->text, '\n');
}

char *
kiln_csv_to_string (KilnCsv *csv)
{
  return g_strdup (csv->text->str);
}

static gboolean
kiln_csv_save_unchecked (KilnCsv     *csv,
               const char  *path,
               GError     **error)
{
  g_autoptr(GError) local = NULL;

  if (!g_file_set_contents_full (path, csv->text->str, (gssize) csv->text->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "Cannot write %s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

static GPtrArray *
kiln_csv_load_unchecked (const char  *path,
               GError     **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;
  GPtrArray *rows;
  const char *p;
  gsize len;

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "Cannot read %s: %s", path, local->message);
      return NULL;
    }
  if (!g_utf8_validate (text, (gssize) len, NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT, "%s is not UTF-8 text", path);
      return NULL;
    }

  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  p = text;
  while (*p)
    {
      GPtrArray *cells = g_ptr_array_new ();
      GString *cell = g_string_new (NULL);
      gboolean quoted = FALSE, done = FALSE;

      while (!done)
        {
          char c = *p;
          if (c == '\0')
            done = TRUE;
          else if (quoted)
            {
              if (c == '"' && p[1] == '"')
                {
                  g_string_append_c (cell, '"');
                  p++;
                }
              else if (c == '"')
                quoted = FALSE;
              else
                g_string_append_c (cell, c);
              p++;
            }
          else if (c == '"')
            {
              quoted = TRUE;
              p++;
            }
          else if (c == ',')
            {
              g_ptr_array_add (cells, g_string_free (cell, FALSE));
              cell = g_string_new (NULL);
              p++;
            }
          else if (c == '\n' || c == '\r')
            {
              p++;
              if (c == '\r' && *p == '\n')
                p++;
              done = TRUE;
            }
          else
            {
              g_string_append_c (cell, c);
              p++;
            }
        }
      g_ptr_array_add (cells, g_string_free (cell, FALSE));
      g_ptr_array_add (cells, NULL);
      g_ptr_array_add (rows, g_ptr_array_free (cells, FALSE));
    }
  if (rows->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FORMAT,
                   "%s is empty (a CSV starts with a header row)", path);
      g_ptr_array_unref (rows);
      return NULL;
    }
  return rows;
}

GPtrArray *
kiln_csv_load (const char  *path,
               GError     **error)
{
  GPtrArray *result = kiln_csv_load_unchecked (path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}

gboolean
kiln_csv_save (KilnCsv     *csv,
               const char  *path,
               GError     **error)
{
  gboolean result = kiln_csv_save_unchecked (csv, path, error);

  /* a file name that is not UTF-8 must not make the message invalid UTF-8 */
  if (error != NULL && *error != NULL)
    kiln_error_ensure_utf8 (*error);
  return result;
}
