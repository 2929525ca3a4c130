/* kiln-cli-tilt-axis.c — kiln-cli tilt-axis IN --angles TLT [--axis-angle DEG] [--slices N]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-cli-common.h"
#include "kiln-backproject.h"
#include "kiln-png.h"
#include "kiln-tilt-axis.h"

/* Preview PNGs of the back-projected slices at the suggested axis: PREFIX-N.png. */
static gboolean
write_previews (const KilnImageStack     *stack,
                const KilnTiltAxisResult *res,
                const char               *prefix,
                KilnFilter                filter,
                GPtrArray                *written,
                GCancellable             *cancellable,
                GError                  **error)
{
  KilnBackprojectParams bp;
  guint w = 0, t = 0;
  float *out;
  gboolean ok = TRUE;

  kiln_backproject_params_init (&bp);
  bp.axis_angle_deg = res->axis_angle_deg;
  bp.axis_shift_px = res->axis_shift_px;
  bp.filter = filter;
  bp.width = 0;
  if (!kiln_backproject_slices (stack, &bp, res->slice_pos_px, res->n_slices, NULL, &w, &t,
                                NULL, NULL, NULL, error))
    return FALSE;
  /* thickness: half the width, as for scoring */
  bp.width = w;
  bp.thickness = MAX (8u, w / 2);
  out = kiln_alloc ((gsize) res->n_slices * w * bp.thickness, sizeof (float), FALSE,
                    "preview slices", error);
  if (out == NULL)
    return FALSE;
  if (!kiln_backproject_slices (stack, &bp, res->slice_pos_px, res->n_slices, out, &w, &t,
                                cancellable, NULL, NULL, error))
    {
      kiln_free (out);
      return FALSE;
    }
  for (guint i = 0; i < res->n_slices && ok; i++)
    {
      char *path = g_strdup_printf ("%s-%u.png", prefix, i);

      ok = kiln_png_save_float (path, out + (gsize) i * w * t, w, t, 0, 0, error);
      g_ptr_array_add (written, path);
    }
  kiln_free (out);
  return ok;
}

int
kiln_cli_tilt_axis (int    argc,
                    char **argv)
{
  g_autofree char *angles_path = NULL;
  g_autofree char *score_name = NULL;
  g_autofree char *png_prefix = NULL;
  g_autofree char *preview_filter_name = NULL;
  double axis_angle = NAN, max_shift = 0;
  int n_slices = 7;
  gboolean json = FALSE, fix_angle = FALSE;
  GOptionEntry entries[] = {
    { "angles", 0, 0, G_OPTION_ARG_FILENAME, &angles_path,
      "Tilt angles, one per line (IMOD .tlt); default: the input's own", "TLT" },
    { "axis-angle", 0, 0, G_OPTION_ARG_DOUBLE, &axis_angle,
      "Start angle of the tilt axis, degrees counter-clockwise from the image y axis "
      "(searched within ±5°; default: estimated over all directions)", "DEG" },
    { "fix-angle", 0, 0, G_OPTION_ARG_NONE, &fix_angle,
      "Keep --axis-angle as given; only search the shift", NULL },
    { "slices", 0, 0, G_OPTION_ARG_INT, &n_slices,
      "Number of slices across the axis used for scoring (default 7)", "N" },
    { "max-shift", 0, 0, G_OPTION_ARG_DOUBLE, &max_shift,
      "Shift search range ± px (default a quarter of the smaller image side)", "PX" },
    { "score", 0, 0, G_OPTION_ARG_STRING, &score_name,
      "sharpness (default), tv, l1 or entropy", "SCORE" },
    { "preview-png", 0, 0, G_OPTION_ARG_FILENAME, &png_prefix,
      "Write the back-projected slices at the suggested axis as PREFIX-N.png", "PREFIX" },
    { "preview-filter", 0, 0, G_OPTION_ARG_STRING, &preview_filter_name,
      "Filter of the previews: none (simple back-projection), ramp, shepp-logan, "
      "hamming (default), hann, cosine", "FILTER" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("IN — find the tilt axis angle and shift");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  g_autoptr(KilnTiltAxisResult) res = NULL;
  g_autoptr(GPtrArray) previews = g_ptr_array_new_with_free_func (g_free);
  KilnTiltAxisParams params;
  KilnFilter preview_filter = KILN_FILTER_HAMMING;
  GCancellable *cancellable;
  gint64 t0;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Suggests the tilt axis angle and shift (pixels from the image centre, across the axis,\n"
    "positive towards +x of the image turned so that the axis is vertical): the angle from the\n"
    "common line of the tilts, the shift (and a refined angle) from the sharpness of weighted\n"
    "back-projections of several slices across the axis. Prints the score curve over shifts.");
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 2)
    return kiln_cli_usage (context, "tilt-axis", "expected one input file, got %d", argc - 1);
  kiln_tilt_axis_params_init (&params);
  if (!isnan (axis_angle) && (!isfinite (axis_angle) || fabs (axis_angle) > 360.0))
    return kiln_cli_usage (context, "tilt-axis", "--axis-angle must be within ±360 degrees");
  if (fix_angle && isnan (axis_angle))
    return kiln_cli_usage (context, "tilt-axis", "--fix-angle needs --axis-angle");
  if (n_slices < 1 || n_slices > 64)
    return kiln_cli_usage (context, "tilt-axis", "--slices must be 1 … 64, not %d", n_slices);
  if (!isfinite (max_shift) || max_shift < 0)
    return kiln_cli_usage (context, "tilt-axis", "--max-shift must be a positive number of px");
  if (score_name != NULL && !kiln_axis_score_from_string (score_name, &params.score))
    return kiln_cli_usage (context, "tilt-axis",
                           "unknown --score “%s” (sharpness, tv, l1 or entropy)", score_name);
  if (preview_filter_name != NULL && !kiln_filter_from_string (preview_filter_name,
                                                               &preview_filter))
    return kiln_cli_usage (context, "tilt-axis", "unknown --preview-filter “%s”",
                           preview_filter_name);
  params.axis_angle_deg = axis_angle;
  params.refine_angle = !fix_angle;
  params.n_slices = (guint) n_slices;
  params.max_shift_px = max_shift;

  cancellable = kiln_cli_cancellable ();
  stack = kiln_io_load_stack (argv[1], cancellable, &error);
  if (stack == NULL)
    return kiln_cli_fail ("tilt-axis", error);
  if (angles_path != NULL)
    {
      guint n = 0;
      g_autofree double *angles = kiln_tlt_load (angles_path, &n, &error);

      if (angles == NULL)
        return kiln_cli_fail ("tilt-axis", error);
      if (!kiln_image_stack_set_angles (stack, angles, n, &error))
        {
          g_prefix_error (&error, "%s and %s: ", argv[1], angles_path);
          return kiln_cli_fail ("tilt-axis", error);
        }
    }
  else if (!stack->has_angles)
    {
      g_set_error (&error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "%s has no tilt angles; give them with --angles TLT", argv[1]);
      return kiln_cli_fail ("tilt-axis", error);
    }
  if (!kiln_image_stack_check_finite (stack, argv[1], &error))
    return kiln_cli_fail ("tilt-axis", error);

  t0 = g_get_monotonic_time ();
  res = kiln_tilt_axis_find (stack, &params, cancellable,
                             json ? NULL : kiln_cli_progress, NULL, &error);
  if (res == NULL)
    {
      g_prefix_error (&error, "%s: ", argv[1]);
      return kiln_cli_fail ("tilt-axis", error);
    }
  if (png_prefix != NULL
      && !write_previews (stack, res, png_prefix, preview_filter, previews, cancellable,
                          &error))
    return kiln_cli_fail ("tilt-axis", error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "axis_angle_deg");
      json_builder_add_double_value (b, res->axis_angle_deg);
      json_builder_set_member_name (b, "axis_shift_px");
      json_builder_add_double_value (b, res->axis_shift_px);
      json_builder_set_member_name (b, "confidence");
      json_builder_add_double_value (b, res->confidence);
      json_builder_set_member_name (b, "curve");
      json_builder_begin_array (b);
      for (guint j = 0; j < res->n_curve; j++)
        {
          json_builder_begin_array (b);
          json_builder_add_double_value (b, res->curve_shift_px[j]);
          json_builder_add_double_value (b, res->curve_score[j]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "common_line_angle_deg");
      if (isnan (res->common_line_angle_deg))
        json_builder_add_null_value (b);
      else
        json_builder_add_double_value (b, res->common_line_angle_deg);
      json_builder_set_member_name (b, "score");
      json_builder_add_string_value (b, kiln_axis_score_to_string (params.score));
      json_builder_set_member_name (b, "slices");
      json_builder_begin_array (b);
      for (guint i = 0; i < res->n_slices; i++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "position_px");
          json_builder_add_double_value (b, res->slice_pos_px[i]);
          json_builder_set_member_name (b, "shift_px");
          json_builder_add_double_value (b, res->slice_shift_px[i]);
          json_builder_set_member_name (b, "weight");
          json_builder_add_double_value (b, res->slice_weight[i]);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "previews");
      json_builder_begin_array (b);
      for (guint i = 0; i < previews->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (previews, i));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, (g_get_monotonic_time () - t0) * 1e-6);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      g_print ("Tilt axis of %s (%u tilts of %u × %u px):\n", argv[1], stack->n_tilts,
               stack->width, stack->height);
      g_print ("  angle  %.2f° (counter-clockwise from image y)\n", res->axis_angle_deg);
      g_print ("  shift  %.2f px (across the axis, from the image centre)\n",
               res->axis_shift_px);
      g_print ("  confidence %.2f (0 = flat score curve, 1 = sharp minimum)\n",
               res->confidence);
      if (!isnan (res->common_line_angle_deg))
        g_print ("  common-line start angle %.2f°\n", res->common_line_angle_deg);
      for (guint i = 0; i < previews->len; i++)
        g_print ("  preview %s\n", (const char *) g_ptr_array_index (previews, i));
    }
  return KILN_CLI_OK;
}
