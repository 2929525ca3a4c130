/* kiln-cli-measure.c — kiln-cli measure LABELS [LABELS…] --pair A:B [--csv OUT.csv] [--json]
 *
 * Several label files are the time points of one experiment, in order: particles are tracked
 * from one to the next and each pair (named by its labels in the first file) is measured at
 * every time point.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-cli-common.h"

static gboolean
parse_list (const char  *text,
            guint        n,
            double     **out)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  if (g_strv_length (parts) != n)
    return FALSE;
  *out = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      char *end = NULL;
      (*out)[i] = g_ascii_strtod (g_strstrip (parts[i]), &end);
      if (end == parts[i] || *end != '\0' || !isfinite ((*out)[i]))
        {
          g_clear_pointer (out, g_free);
          return FALSE;
        }
    }
  return TRUE;
}

static void
add_number (JsonBuilder *b,
            const char  *name,
            double       v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

int
kiln_cli_measure (int    argc,
                  char **argv)
{
  g_auto(GStrv) pair_args = NULL;
  g_autofree char *csv_path = NULL, *times_arg = NULL, *temps_arg = NULL;
  gboolean json = FALSE, no_errors = FALSE;
  GOptionEntry entries[] = {
    { "pair", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &pair_args,
      "Particle pair A:B (labels of the first file); repeat for several; default: every "
      "touching pair of the first file", "A:B" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "Write the series to a CSV file", "OUT.csv" },
    { "pt-times", 0, 0, G_OPTION_ARG_STRING, &times_arg,
      "Process time of each file, s (comma-separated)", "T1,T2,…" },
    { "temperatures", 0, 0, G_OPTION_ARG_STRING, &temps_arg,
      "Process temperature of each file, °C (comma-separated)", "C1,C2,…" },
    { "no-errors", 0, 0, G_OPTION_ARG_NONE, &no_errors,
      "Skip the error bars (morphology ±1 voxel re-measurements)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("LABELS [LABELS…] — neck radius, distances and shape of particle pairs");
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(KilnTracking) tracking = NULL;
  g_autoptr(GPtrArray) volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_label_volume_unref);
  g_autoptr(GArray) pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autofree double *pt = NULL, *temp = NULL;
  guint n_files;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "The paper's 2D protocol (r_n, d_xy, d_z, d, r_p, H/W on the z-projection of the pair) and\n"
    "true 3D measures (neck radius from the smallest cross-section, centre-of-mass distance,\n"
    "equivalent-sphere radius), in nm, each with an error bar from re-measuring after eroding\n"
    "and after dilating the particles by one voxel.");
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc < 2)
    return kiln_cli_usage (context, "measure", "expected at least one LABELS file");
  n_files = (guint) argc - 1;
  if (times_arg != NULL && !parse_list (times_arg, n_files, &pt))
    return kiln_cli_usage (context, "measure",
                           "--pt-times needs %u comma-separated numbers (one per file)", n_files);
  if (temps_arg != NULL && !parse_list (temps_arg, n_files, &temp))
    return kiln_cli_usage (context, "measure",
                           "--temperatures needs %u comma-separated numbers (one per file)",
                           n_files);
  for (guint i = 0; pair_args != NULL && pair_args[i] != NULL; i++)
    {
      guint a, b;
      if (!kiln_cli_parse_range (pair_args[i], &a, &b) || a == 0 || b == 0 || a == b)
        return kiln_cli_usage (context, "measure",
                               "--pair takes two different labels ≥ 1 as A:B, not “%s”",
                               pair_args[i]);
      g_array_append_val (pairs, a);
      g_array_append_val (pairs, b);
    }

  cancellable = kiln_cli_cancellable ();
  tracking = kiln_tracking_new (NULL);
  for (guint i = 0; i < n_files; i++)
    {
      KilnLabelVolume *l = kiln_mrc_load_labels (argv[i + 1], cancellable, &error);
      if (l == NULL)
        return kiln_cli_fail ("measure", error);
      if (!(l->voxel_size_nm > 0))
        {
          g_printerr ("kiln-cli measure: %s has no voxel size; assuming 1 nm\n", argv[i + 1]);
          l->voxel_size_nm = 1.0;
        }
      g_ptr_array_add (volumes, l);
      if (!kiln_tracking_add (tracking, l, cancellable, &error))
        {
          g_prefix_error (&error, "%s: ", argv[i + 1]);
          return kiln_cli_fail ("measure", error);
        }
    }
  if (pairs->len == 0)
    {
      g_autoptr(GArray) touching = kiln_measure_touching_pairs (g_ptr_array_index (volumes, 0));
      g_array_append_vals (pairs, touching->data, touching->len);
    }
  for (guint i = 0; i < pairs->len; i += 2)
    {
      guint32 a = g_array_index (pairs, guint32, i), b = g_array_index (pairs, guint32, i + 1);
      KilnLabelVolume *first = g_ptr_array_index (volumes, 0);
      GArray *rows;

      if (kiln_tracking_track_of (tracking, 0, a) == 0 || kiln_tracking_track_of (tracking, 0, b) == 0)
        {
          g_set_error (&error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "%s has no particle %u (labels 1 … %u)", argv[1],
                       kiln_tracking_track_of (tracking, 0, a) == 0 ? a : b,
                       kiln_label_volume_max_label (first));
          return kiln_cli_fail ("measure", error);
        }
      rows = kiln_pair_series (tracking, (KilnLabelVolume *const *) volumes->pdata, pt, temp,
                               a, b, !no_errors, cancellable, &error);
      if (rows == NULL)
        return kiln_cli_fail ("measure", error);
      g_ptr_array_add (series, rows);
    }

  if (csv_path != NULL)
    {
      g_autoptr(KilnCsv) csv = kiln_pair_series_csv_new ();
      for (guint i = 0; i < series->len; i++)
        kiln_pair_series_csv_append (csv, g_ptr_array_index (series, i),
                                     g_array_index (pairs, guint32, 2 * i),
                                     g_array_index (pairs, guint32, 2 * i + 1));
      if (!kiln_csv_save (csv, csv_path, &error))
        return kiln_cli_fail ("measure", error);
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "pairs");
      json_builder_begin_array (b);
      for (guint i = 0; i < series->len; i++)
        {
          GArray *rows = g_ptr_array_index (series, i);
          for (guint r = 0; r < rows->len; r++)
            {
              KilnPairSeriesRow *row = &g_array_index (rows, KilnPairSeriesRow, r);
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "a");
              json_builder_add_int_value (b, g_array_index (pairs, guint32, 2 * i));
              json_builder_set_member_name (b, "b");
              json_builder_add_int_value (b, g_array_index (pairs, guint32, 2 * i + 1));
              json_builder_set_member_name (b, "time_point");
              json_builder_add_int_value (b, row->time_point);
              add_number (b, "pt_time_s", row->pt_time_s);
              add_number (b, "temperature_C", row->temperature_C);
              json_builder_set_member_name (b, "file");
              json_builder_add_string_value (b, argv[row->time_point + 1]);
              json_builder_set_member_name (b, "present");
              json_builder_add_boolean_value (b, row->present);
              json_builder_set_member_name (b, "label_a");
              json_builder_add_int_value (b, row->measure.a);
              json_builder_set_member_name (b, "label_b");
              json_builder_add_int_value (b, row->measure.b);
              json_builder_set_member_name (b, "touching");
              json_builder_add_boolean_value (b, row->present && row->measure.touching);
              for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
                {
                  const char *unit = kiln_measure_value_unit (k);
                  const char *name = kiln_measure_value_name (k);
                  g_autofree char *key = *unit ? g_strdup_printf ("%s_%s", name, unit)
                                               : g_strdup (name);
                  g_autofree char *ekey = *unit ? g_strdup_printf ("%s_err_%s", name, unit)
                                                : g_strdup_printf ("%s_err", name);
                  add_number (b, key, row->present ? row->measure.value[k] : NAN);
                  add_number (b, ekey, row->present ? row->measure.error[k] : NAN);
                }
              json_builder_end_object (b);
            }
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      g_print ("%-7s %3s %8s %8s %8s %8s %8s %8s %6s %9s %9s %9s\n", "pair", "tp", "r_n nm",
               "d_xy nm", "d_z nm", "d nm", "r_p nm", "H/W", "", "rn3D nm", "d3D nm", "r3D nm");
      for (guint i = 0; i < series->len; i++)
        {
          GArray *rows = g_ptr_array_index (series, i);
          for (guint r = 0; r < rows->len; r++)
            {
              KilnPairSeriesRow *row = &g_array_index (rows, KilnPairSeriesRow, r);
              g_autofree char *name = g_strdup_printf ("%u:%u", g_array_index (pairs, guint32, 2 * i),
                                                       g_array_index (pairs, guint32, 2 * i + 1));
              const double *v = row->measure.value;
              if (!row->present)
                {
                  g_print ("%-7s %3u  (a particle of the pair is gone or the two merged)\n", name,
                           row->time_point);
                  continue;
                }
              g_print ("%-7s %3u %8.2f %8.2f %8.2f %8.2f %8.2f %8.3f %6s %9.2f %9.2f %9.2f\n", name,
                       row->time_point, v[KILN_MEASURE_R_N], v[KILN_MEASURE_D_XY],
                       v[KILN_MEASURE_D_Z], v[KILN_MEASURE_D], v[KILN_MEASURE_R_P],
                       v[KILN_MEASURE_H_OVER_W], "", v[KILN_MEASURE_NECK_RADIUS_3D],
                       v[KILN_MEASURE_DISTANCE_3D], v[KILN_MEASURE_RADIUS_3D]);
            }
        }
      if (csv_path != NULL)
        g_print ("Series written to %s\n", csv_path);
    }
  return KILN_CLI_OK;
}
