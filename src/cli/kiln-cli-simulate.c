/* kiln-cli-simulate.c — kiln-cli simulate OUTDIR [--preset teaching|paper] [--seed N] …
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-cli-common.h"

int
kiln_cli_simulate (int    argc,
                   char **argv)
{
  g_autofree char *preset_name = NULL;
  g_autofree char *seed_text = NULL;
  int time_points = -1, size = -1;
  double dose = NAN;
  gboolean json = FALSE, no_volumes = FALSE, no_noise = FALSE;
  GOptionEntry entries[] = {
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset_name, "Scene and acquisition preset: teaching "
      "(128 px, 6 time points, default) or paper (1024 px, 1.04 nm/px, 18 time points)", "NAME" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Random seed (default 1); same seed, same "
      "output", "N" },
    { "time-points", 0, 0, G_OPTION_ARG_INT, &time_points, "Number of time points (1–18), spread "
      "over the paper's PT schedule", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Image width = height in px; the field of view (nm) "
      "is kept, so the pixel size scales", "PX" },
    { "dose", 0, 0, G_OPTION_ARG_DOUBLE, &dose, "Electron dose per tilt series, e⁻/nm² (default "
      "250)", "E" },
    { "no-noise", 0, 0, G_OPTION_ARG_NONE, &no_noise, "No shot noise and no scan noise", NULL },
    { "no-truth-volumes", 0, 0, G_OPTION_ARG_NONE, &no_volumes, "Skip truth/volume.mrc and "
      "truth/labels.mrc (and the 2D pair measures, which need them)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("OUTDIR");
  g_option_context_set_summary (ctx, "Write a simulated time-resolved sintering experiment with "
                                "ground truth (pipeline.md layout) into the new folder OUTDIR.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!kiln_cli_parse (ctx, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 2)
    return kiln_cli_usage (ctx, "simulate", "expected one output folder, got %d arguments",
                           argc - 1);

  KilnSimPreset preset = KILN_SIM_PRESET_TEACHING;
  if (preset_name && !kiln_sim_preset_from_string (preset_name, &preset))
    return kiln_cli_usage (ctx, "simulate", "unknown preset “%s” (teaching or paper)", preset_name);
  KilnSimParams p;
  kiln_sim_params_init (&p, preset);
  if (seed_text)
    {
      guint64 s;
      if (!g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXUINT64, &s, NULL))
        return kiln_cli_usage (ctx, "simulate", "--seed “%s” is not a non-negative integer",
                               seed_text);
      p.seed = s;
    }
  if (time_points != -1)
    {
      if (time_points < 1 || time_points > KILN_SIM_N_SCHEDULE)
        return kiln_cli_usage (ctx, "simulate", "--time-points %d is outside 1…%d", time_points,
                               KILN_SIM_N_SCHEDULE);
      p.n_time_points = (guint) time_points;
    }
  if (size != -1)
    {
      if (size < 16 || size > 8192)
        return kiln_cli_usage (ctx, "simulate", "--size %d px is outside 16…8192", size);
      double f = (double) p.size_px / size;
      p.pixel_size_nm *= f;
      p.depth_px = MAX (8u, (guint) lround (p.depth_px / f));
      p.axis_shift_px /= f;
      p.drift_sigma_px /= f;
      p.size_px = (guint) size;
    }
  if (!isnan (dose))
    p.dose_e_nm2 = dose;
  if (no_noise)
    {
      p.shot_noise = FALSE;
      p.scan_noise_variance = 0;
    }
  if (no_volumes)
    p.make_volume = FALSE;

  g_autoptr (GError) error = NULL;
  /* parameters are checked before any work or any file is touched */
  if (!kiln_sim_params_validate (&p, &error))
    return kiln_cli_fail ("simulate", error);

  const char *outdir = argv[1];
  gint64 t0 = g_get_monotonic_time ();
  if (!kiln_sim_write_experiment (&p, outdir, kiln_cli_cancellable (), kiln_cli_progress, NULL,
                                  &error))
    return kiln_cli_fail ("simulate", error);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;

  guint n_tilts = kiln_sim_n_tilts (&p);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, outdir);
      json_builder_set_member_name (b, "preset");
      json_builder_add_string_value (b, kiln_sim_preset_to_string (preset));
      json_builder_set_member_name (b, "seed");
      json_builder_add_int_value (b, (gint64) p.seed);
      json_builder_set_member_name (b, "tilts");
      json_builder_add_int_value (b, n_tilts);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, p.size_px);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, p.size_px);
      json_builder_set_member_name (b, "depth");
      json_builder_add_int_value (b, p.depth_px);
      json_builder_set_member_name (b, "pixel_size_nm");
      json_builder_add_double_value (b, p.pixel_size_nm);
      json_builder_set_member_name (b, "particles");
      json_builder_add_int_value (b, p.n_particles);
      json_builder_set_member_name (b, "dose_e_nm2");
      json_builder_add_double_value (b, p.dose_e_nm2);
      json_builder_set_member_name (b, "axis_angle_deg");
      json_builder_add_double_value (b, p.axis_angle_deg);
      json_builder_set_member_name (b, "axis_shift_px");
      json_builder_add_double_value (b, p.axis_shift_px);
      json_builder_set_member_name (b, "time_points");
      json_builder_begin_array (b);
      for (guint i = 0; i < p.n_time_points; i++)
        {
          double t, temp;
          kiln_sim_schedule_entry (kiln_sim_schedule_index (&p, i), &t, &temp);
          g_autofree char *name = g_strdup_printf ("tp%02u", i + 1);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, name);
          json_builder_set_member_name (b, "pt_time_s");
          json_builder_add_double_value (b, t);
          json_builder_set_member_name (b, "temperature_C");
          json_builder_add_double_value (b, temp);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    g_print ("Simulated experiment written to %s\n"
             "  preset %s, seed %" G_GUINT64_FORMAT ", %u time points × %u tilts of %u × %u px "
             "(%.3g nm/px), %u particles\n"
             "  tilt axis %.2f° from y, shift %.2f px; dose %.4g e⁻/nm² per series; %.1f s\n",
             outdir, kiln_sim_preset_to_string (preset), p.seed, p.n_time_points, n_tilts,
             p.size_px, p.size_px, p.pixel_size_nm, p.n_particles, p.axis_angle_deg,
             p.axis_shift_px, p.dose_e_nm2, seconds);
  return KILN_CLI_OK;
}
