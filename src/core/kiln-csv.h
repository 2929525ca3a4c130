/* kiln-csv.h — UTF-8 CSV tables with a unit-bearing header row, saved atomically
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KilnCsv KilnCsv;

/* Column names carry their unit: "neck_radius_nm", "time_s", "temperature_C". */
KilnCsv  *kiln_csv_new          (const char * const *columns);
void      kiln_csv_free         (KilnCsv            *csv);
guint     kiln_csv_n_columns    (KilnCsv            *csv);
/* Append a row: numbers are written with %.6g (NaN as empty), strings quoted when needed. */
void      kiln_csv_add_row      (KilnCsv            *csv,
                                 const double       *values);
void      kiln_csv_add_row_str  (KilnCsv            *csv,
                                 const char * const *cells);
char     *kiln_csv_to_string    (KilnCsv            *csv);
gboolean  kiln_csv_save         (KilnCsv            *csv,
                                 const char         *path,
                                 GError            **error);

/* Read a CSV written by kiln_csv_save (header row + numeric or text cells). Returns the rows as
 * a GPtrArray of GStrv (first row = header). */
GPtrArray *kiln_csv_load        (const char         *path,
                                 GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnCsv, kiln_csv_free)

G_END_DECLS
