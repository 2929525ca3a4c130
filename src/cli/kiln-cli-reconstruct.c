/* kiln-cli-reconstruct.c — kiln-cli reconstruct IN OUT --angles TLT [...]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "kiln-cli-common.h"
#include "kiln-reconstruct.h"

#define CMD "reconstruct"

int
kiln_cli_reconstruct (int    argc,
                      char **argv)
{
  g_autofree char *angles_path = NULL, *method_s = NULL, *times_s = NULL, *slices_s = NULL;
  g_autofree char *filter_s = NULL;
  int iterations = -1, thickness = 0, subsets = 0;
  double sensitivity = 1.0, axis_angle = 0.0, axis_shift = 0.0, cutoff = 1.0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "angles", 0, 0, G_OPTION_ARG_FILENAME, &angles_path, "Tilt angles, one per line (.tlt), degrees", "TLT" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method_s, "wbp, sirt or iser (default iser)", "METHOD" },
    { "iterations", 0, 0, G_OPTION_ARG_INT, &iterations, "Iterations of sirt/iser (default 300)", "N" },
    { "application-times", 0, 0, G_OPTION_ARG_STRING, &times_s,
      "iser: data passes × TV steps per iteration (default 1x1)", "AxB" },
    { "sensitivity", 0, 0, G_OPTION_ARG_DOUBLE, &sensitivity,
      "iser: TV step relative to the data step (default 1; 0 = no TV)", "S" },
    { "subsets", 0, 0, G_OPTION_ARG_INT, &subsets,
      "Ordered subsets per data pass (default: sirt 1, iser one per ~10 tilts)", "N" },
    { "filter", 0, 0, G_OPTION_ARG_STRING, &filter_s,
      "wbp: ramp, shepp-logan, hamming, hann, cosine or none (default ramp)", "NAME" },
    { "cutoff", 0, 0, G_OPTION_ARG_DOUBLE, &cutoff, "wbp: apodisation cutoff, fraction of Nyquist (default 1)", "F" },
    { "axis-angle", 0, 0, G_OPTION_ARG_DOUBLE, &axis_angle,
      "Tilt-axis angle, degrees counter-clockwise from image y (default 0)", "DEG" },
    { "axis-shift", 0, 0, G_OPTION_ARG_DOUBLE, &axis_shift,
      "Tilt-axis shift from the image centre, px, + toward +x (default 0)", "PX" },
    { "thickness", 0, 0, G_OPTION_ARG_INT, &thickness, "Volume thickness Z, px (default: image width)", "PX" },
    { "slices", 0, 0, G_OPTION_ARG_STRING, &slices_s, "Rows A … B−1 along the axis (default all)", "A:B" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("IN OUT — reconstruct a volume from a tilt series");
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnImageStack) stack = NULL;
  g_autoptr (KilnVolume) volume = NULL;
  g_autofree double *angles = NULL;
  guint n_angles = 0;
  KilnReconParams p;
  KilnReconResult res;
  const char *in, *out;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 3)
    return kiln_cli_usage (context, CMD, "expected IN and OUT");
  in = argv[1];
  out = argv[2];
  if (angles_path == NULL)
    return kiln_cli_usage (context, CMD, "--angles TLT is required");

  kiln_reconstruct_params_init (&p);
  if (method_s != NULL && !kiln_recon_method_from_string (method_s, &p.method))
    return kiln_cli_usage (context, CMD, "unknown --method '%s' (wbp, sirt or iser)", method_s);
  if (iterations != -1)
    {
      if (iterations < 1)
        return kiln_cli_usage (context, CMD, "--iterations must be at least 1");
      p.iterations = (guint) iterations;
    }
  if (times_s != NULL && !kiln_cli_parse_times (times_s, &p.data_passes, &p.tv_steps))
    return kiln_cli_usage (context, CMD, "--application-times must look like 1x1, not '%s'", times_s);
  if (times_s != NULL && p.data_passes < 1)
    return kiln_cli_usage (context, CMD, "--application-times needs at least one data pass");
  if (!(sensitivity >= 0.0) || !isfinite (sensitivity))
    return kiln_cli_usage (context, CMD, "--sensitivity must be ≥ 0");
  p.sensitivity = sensitivity;
  if (subsets < 0)
    return kiln_cli_usage (context, CMD, "--subsets must be ≥ 0");
  p.subsets = (guint) subsets;
  if (filter_s != NULL && !kiln_filter_from_string (filter_s, &p.filter))
    return kiln_cli_usage (context, CMD, "unknown --filter '%s'", filter_s);
  if (!(cutoff > 0.0 && cutoff <= 1.0))
    return kiln_cli_usage (context, CMD, "--cutoff must be in (0, 1]");
  p.filter_cutoff = cutoff;
  if (!isfinite (axis_angle) || !isfinite (axis_shift))
    return kiln_cli_usage (context, CMD, "--axis-angle and --axis-shift must be numbers");
  p.axis_angle_deg = axis_angle;
  p.axis_shift_px = axis_shift;
  if (thickness < 0 || thickness > KILN_MAX_EXTENT)
    return kiln_cli_usage (context, CMD, "--thickness must be 1 … %d px", KILN_MAX_EXTENT);
  p.thickness = (guint) thickness;
  if (slices_s != NULL)
    {
      if (!kiln_cli_parse_range (slices_s, &p.slice_start, &p.slice_end)
          || p.slice_end <= p.slice_start)
        return kiln_cli_usage (context, CMD, "--slices must be A:B with A < B, not '%s'", slices_s);
    }

  stack = kiln_io_load_stack (in, kiln_cli_cancellable (), &error);
  if (stack == NULL)
    return kiln_cli_fail (CMD, error);
  angles = kiln_tlt_load (angles_path, &n_angles, &error);
  if (angles == NULL)
    return kiln_cli_fail (CMD, error);
  if (n_angles != stack->n_tilts)
    {
      g_printerr ("kiln-cli %s: %s has %u tilt angles but %s has %u tilts\n", CMD, angles_path,
                  n_angles, in, stack->n_tilts);
      return KILN_CLI_RUNTIME_ERROR;
    }
  if (!kiln_image_stack_set_angles (stack, angles, n_angles, &error))
    return kiln_cli_fail (CMD, error);
  if (stack->pixel_size_nm <= 0.0)
    {
      g_printerr ("kiln-cli %s: %s has no pixel size; assuming 1 nm\n", CMD, in);
      stack->pixel_size_nm = 1.0;
    }
  if (fabs (p.axis_shift_px) >= stack->width / 2.0)
    {
      g_printerr ("kiln-cli %s: --axis-shift %g px lies beyond the %u px wide image of %s\n",
                  CMD, p.axis_shift_px, stack->width, in);
      return KILN_CLI_RUNTIME_ERROR;
    }

  volume = kiln_reconstruct (stack, &p, &res, kiln_cli_cancellable (), json ? NULL : kiln_cli_progress,
                             NULL, &error);
  if (volume == NULL)
    return kiln_cli_fail (CMD, error);
  if (!kiln_mrc_save_volume (volume, out, "kiln-cli reconstruct", &error))
    return kiln_cli_fail (CMD, error);

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, kiln_recon_method_to_string (p.method));
      json_builder_set_member_name (b, "iterations_done");
      json_builder_add_int_value (b, res.iterations_done);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, res.seconds);
      json_builder_set_member_name (b, "residual");
      json_builder_add_double_value (b, res.residual);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, out);
      json_builder_set_member_name (b, "stopped");
      json_builder_add_boolean_value (b, res.stopped);
      json_builder_set_member_name (b, "tv");
      json_builder_add_double_value (b, res.tv);
      json_builder_set_member_name (b, "subsets");
      json_builder_add_int_value (b, res.subsets);
      json_builder_set_member_name (b, "size_px");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, volume->nx);
      json_builder_add_int_value (b, volume->ny);
      json_builder_add_int_value (b, volume->nz);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "voxel_size_nm");
      json_builder_add_double_value (b, volume->voxel_size_nm);
      json_builder_set_member_name (b, "axis_angle_deg");
      json_builder_add_double_value (b, p.axis_angle_deg);
      json_builder_set_member_name (b, "axis_shift_px");
      json_builder_add_double_value (b, p.axis_shift_px);
      json_builder_set_member_name (b, "chunks");
      json_builder_add_int_value (b, res.n_chunks);
      json_builder_set_member_name (b, "peak_memory_bytes");
      json_builder_add_int_value (b, (gint64) res.peak_bytes);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      g_print ("%s: %u × %u × %u voxels of %.4g nm, %s, %u iterations%s, residual %.4f, %.1f s\n",
               out, volume->nx, volume->ny, volume->nz, volume->voxel_size_nm,
               kiln_recon_method_to_string (p.method), res.iterations_done,
               res.stopped ? " (stopped)" : "", res.residual, res.seconds);
    }
  if (res.stopped)
    {
      g_printerr ("kiln-cli %s: interrupted; saved the volume after %u iterations to %s\n", CMD,
                  res.iterations_done, out);
      return KILN_CLI_RUNTIME_ERROR;
    }
  return KILN_CLI_OK;
}
