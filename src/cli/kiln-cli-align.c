/* kiln-cli-align.c — kiln-cli align IN OUT --angles TLT [--method xcorr|mi] [--axis-angle DEG]
 *                                   [--xf OUT.xf] [--json]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-cli-common.h"

int
kiln_cli_align (int    argc,
                char **argv)
{
  g_autofree char *angles_path = NULL;
  g_autofree char *method_name = NULL;
  g_autofree char *xf_path = NULL;
  g_autofree char *start_path = NULL;
  g_autofree char *residuals_path = NULL;
  g_autofree char *mask_path = NULL;
  g_autofree char *interp_name = NULL;
  double axis_angle = 0.0;
  gboolean json = FALSE, rotation = FALSE, mi_stretch = FALSE, no_mi_stretch = FALSE;
  gboolean no_specimen_frame = FALSE;
  GOptionEntry entries[] = {
    { "angles", 0, 0, G_OPTION_ARG_FILENAME, &angles_path,
      "Tilt angles, one per line (IMOD .tlt); default: the input's own", "TLT" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method_name,
      "xcorr (cross-correlation), mi (xcorr then Mattes MI, default) or com (centre of mass)",
      "METHOD" },
    { "axis-angle", 0, 0, G_OPTION_ARG_DOUBLE, &axis_angle,
      "Tilt axis angle, degrees counter-clockwise from the image y axis (default 0)", "DEG" },
    { "xf", 0, 0, G_OPTION_ARG_FILENAME, &xf_path, "Write the per-tilt transforms (IMOD .xf)",
      "OUT.xf" },
    { "start-xf", 0, 0, G_OPTION_ARG_FILENAME, &start_path,
      "Start from these transforms (e.g. the previous time point's .xf)", "IN.xf" },
    { "rotation", 0, 0, G_OPTION_ARG_NONE, &rotation,
      "Also estimate a small rotation per tilt (method mi)", NULL },
    { "mi-stretch", 0, 0, G_OPTION_ARG_NONE, &mi_stretch,
      "Method mi: always compare each pair with the cosine stretch the coarse stage kept "
      "(default: per pair, stretched or not, whichever matches better)", NULL },
    { "no-mi-stretch", 0, 0, G_OPTION_ARG_NONE, &no_mi_stretch,
      "Method mi: never stretch (rigid match only)", NULL },
    { "no-specimen-frame", 0, 0, G_OPTION_ARG_NONE, &no_specimen_frame,
      "Keep the frame the pairwise alignment gives instead of putting the specimen's centre of "
      "mass on the tilt axis", NULL },
    { "interp", 0, 0, G_OPTION_ARG_STRING, &interp_name,
      "Resampling of the aligned stack: linear or cubic (default)", "KIND" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path,
      "Write the mask of valid pixels (1 = from inside the raw tilt) as a stack", "OUT" },
    { "residuals", 0, 0, G_OPTION_ARG_FILENAME, &residuals_path,
      "Write the per-tilt residual table (CSV)", "OUT.csv" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("IN OUT — align a tilt series");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  g_autoptr(KilnImageStack) aligned = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  KilnAlignResult *start = NULL, *result = NULL;
  KilnAlignParams params;
  KilnInterp interp = KILN_INTERP_CUBIC;
  GCancellable *cancellable;
  guint8 *mask = NULL;
  gint64 t0;
  int rc = KILN_CLI_RUNTIME_ERROR;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Aligns each tilt to its neighbour towards the tilt nearest 0°: band-passed cross-correlation\n"
    "with cosine stretching, then (method mi) Mattes mutual information refined by a (1+1)\n"
    "evolution strategy. Writes the aligned stack (edges filled with the tilt's mean).");
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 3)
    return kiln_cli_usage (context, "align", "expected IN and OUT, got %d file argument(s)",
                           argc - 1);
  kiln_align_params_init (&params);
  if (method_name != NULL && !kiln_align_method_from_string (method_name, &params.method))
    return kiln_cli_usage (context, "align", "unknown --method “%s” (xcorr, mi or com)",
                           method_name);
  if (!isfinite (axis_angle) || fabs (axis_angle) > 360.0)
    return kiln_cli_usage (context, "align", "--axis-angle must be within ±360 degrees");
  if (interp_name != NULL)
    {
      if (g_strcmp0 (interp_name, "linear") == 0)
        interp = KILN_INTERP_LINEAR;
      else if (g_strcmp0 (interp_name, "cubic") == 0)
        interp = KILN_INTERP_CUBIC;
      else
        return kiln_cli_usage (context, "align", "unknown --interp “%s” (linear or cubic)",
                               interp_name);
    }
  if (kiln_file_format_for_output (argv[2]) == KILN_FILE_FORMAT_UNKNOWN)
    return kiln_cli_usage (context, "align",
                           "cannot tell the output format of “%s” (use .mrc, .ali, .st, .tif)",
                           argv[2]);
  if (mask_path != NULL && kiln_file_format_for_output (mask_path) == KILN_FILE_FORMAT_UNKNOWN)
    return kiln_cli_usage (context, "align",
                           "cannot tell the output format of “%s” (use .mrc, .tif)", mask_path);
  params.xcorr.axis_angle_deg = axis_angle;
  params.mi.rotation = rotation;
  if (mi_stretch && no_mi_stretch)
    return kiln_cli_usage (context, "align", "--mi-stretch and --no-mi-stretch exclude each other");
  params.specimen_frame = !no_specimen_frame;
  if (mi_stretch)
    params.mi_stretch = KILN_ALIGN_MI_STRETCH_ON;
  else if (no_mi_stretch)
    params.mi_stretch = KILN_ALIGN_MI_STRETCH_OFF;

  cancellable = kiln_cli_cancellable ();
  stack = kiln_io_load_stack (argv[1], cancellable, &error);
  if (stack == NULL)
    return kiln_cli_fail ("align", error);
  if (angles_path != NULL)
    {
      guint n_angles = 0;
      g_autofree double *angles = kiln_tlt_load (angles_path, &n_angles, &error);

      if (angles == NULL)
        return kiln_cli_fail ("align", error);
      if (n_angles != stack->n_tilts)
        {
          g_printerr ("kiln-cli align: %s has %u angles but %s has %u tilts\n", angles_path,
                      n_angles, argv[1], stack->n_tilts);
          return KILN_CLI_RUNTIME_ERROR;
        }
      if (!kiln_image_stack_set_angles (stack, angles, n_angles, &error))
        return kiln_cli_fail ("align", error);
    }
  else if (!stack->has_angles)
    return kiln_cli_usage (context, "align", "%s has no tilt angles: give --angles TLT",
                           argv[1]);
  if (!kiln_image_stack_check_finite (stack, argv[1], &error))
    return kiln_cli_fail ("align", error);
  if (start_path != NULL)
    {
      guint n_xf = 0;
      g_autofree KilnXf *xf = kiln_xf_load (start_path, &n_xf, &error);

      if (xf == NULL)
        return kiln_cli_fail ("align", error);
      if (n_xf != stack->n_tilts)
        {
          g_printerr ("kiln-cli align: %s has %u transforms but %s has %u tilts\n", start_path,
                      n_xf, argv[1], stack->n_tilts);
          return KILN_CLI_RUNTIME_ERROR;
        }
      start = kiln_align_result_new_from_xf (xf, n_xf);
    }

  t0 = g_get_monotonic_time ();
  result = kiln_align_series (stack, &params, start, cancellable, kiln_cli_progress, NULL, &error);
  if (result == NULL)
    goto fail;
  aligned = kiln_align_apply (stack, result->xf, interp, mask_path ? &mask : NULL, cancellable,
                              kiln_cli_progress, NULL, &error);
  if (aligned == NULL)
    goto fail;
  if (!kiln_io_save_stack (aligned, argv[2], &error))
    goto fail;
  if (xf_path != NULL && !kiln_xf_save (xf_path, result->xf, result->n_tilts, &error))
    goto fail;
  if (mask_path != NULL)
    {
      g_autoptr(KilnImageStack) m = kiln_image_stack_new_like (stack, &error);
      if (m == NULL)
        goto fail;
      for (gsize i = 0; i < kiln_image_stack_n_pixels (m); i++)
        m->data[i] = mask[i];
      if (!kiln_io_save_stack (m, mask_path, &error))
        goto fail;
    }
  if (residuals_path != NULL)
    {
      g_autoptr(KilnCsv) csv = kiln_align_residual_table (result);
      if (!kiln_csv_save (csv, residuals_path, &error))
        goto fail;
    }

  if (json)
    {
      b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, kiln_align_method_to_string (result->method));
      json_builder_set_member_name (b, "shifts_px");
      json_builder_begin_array (b);
      for (guint k = 0; k < result->n_tilts; k++)
        {
          json_builder_begin_array (b);
          json_builder_add_double_value (b, result->xf[k].dx);
          json_builder_add_double_value (b, result->xf[k].dy);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      if (result->has_rotation)
        {
          json_builder_set_member_name (b, "rotation_deg");
          json_builder_begin_array (b);
          for (guint k = 0; k < result->n_tilts; k++)
            json_builder_add_double_value (b, result->tilts[k].rotation_deg);
          json_builder_end_array (b);
        }
      json_builder_set_member_name (b, "reference_tilt");
      json_builder_add_int_value (b, result->reference);
      json_builder_set_member_name (b, "axis_angle_deg");
      json_builder_add_double_value (b, axis_angle);
      json_builder_set_member_name (b, "tilts");
      json_builder_add_int_value (b, result->n_tilts);
      json_builder_set_member_name (b, "mi_evaluations");
      json_builder_add_int_value (b, (gint64) result->mi_evaluations);
      json_builder_set_member_name (b, "specimen_frame");
      json_builder_add_boolean_value (b, result->specimen_frame);
      if (result->method == KILN_ALIGN_MI)
        {
          gboolean stretched = FALSE;
          for (guint k = 0; k < result->n_tilts; k++)
            if (result->tilts[k].stretch != 1.0)
              stretched = TRUE;
          /* whether the MI stage matched the pairs with the cosine stretch */
          json_builder_set_member_name (b, "mi_stretched");
          json_builder_add_boolean_value (b, stretched);
        }
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, (g_get_monotonic_time () - t0) / 1e6);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, argv[2]);
      if (xf_path != NULL)
        {
          json_builder_set_member_name (b, "xf");
          json_builder_add_string_value (b, xf_path);
        }
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      double mx = 0.0;
      for (guint k = 0; k < result->n_tilts; k++)
        mx = MAX (mx, hypot (result->xf[k].dx, result->xf[k].dy));
      g_print ("Aligned %u tilts of %s (method %s, axis %g°, reference tilt %u at %g°): "
               "largest shift %.2f px; wrote %s%s%s\n",
               result->n_tilts, argv[1], kiln_align_method_to_string (result->method),
               axis_angle, result->reference, stack->angles_deg[result->reference], mx, argv[2],
               xf_path ? " and " : "", xf_path ? xf_path : "");
    }
  rc = KILN_CLI_OK;
  goto out;

fail:
  rc = kiln_cli_fail ("align", error);
out:
  kiln_free (mask);
  kiln_align_result_free (result);
  kiln_align_result_free (start);
  return rc;
}
