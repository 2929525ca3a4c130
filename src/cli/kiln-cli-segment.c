/* kiln-cli-segment.c — kiln-cli segment VOLUME OUT_LABELS [--threshold otsu|VALUE]
 *                      [--erode N] [--dilate N] [--json]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "kiln-cli-common.h"

int
kiln_cli_segment (int    argc,
                  char **argv)
{
  g_autofree char *threshold = NULL;
  int erode = 0, dilate = 0, connectivity = 26;
  gint64 min_voxels = 27;
  double split_h = KILN_WATERSHED_DEFAULT_H;
  gboolean no_split = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "threshold", 't', 0, G_OPTION_ARG_STRING, &threshold,
      "“otsu” (default) or a grey value: voxels above it are particle", "otsu|VALUE" },
    { "erode", 0, 0, G_OPTION_ARG_INT, &erode, "Erode with a ball of radius N voxels (first)", "N" },
    { "dilate", 0, 0, G_OPTION_ARG_INT, &dilate, "Then dilate with a ball of radius N voxels", "N" },
    { "connectivity", 0, 0, G_OPTION_ARG_INT, &connectivity, "6 or 26 (default 26)", "C" },
    { "min-voxels", 0, 0, G_OPTION_ARG_INT64, &min_voxels,
      "Remove particles smaller than N voxels (default 27)", "N" },
    { "no-split", 0, 0, G_OPTION_ARG_NONE, &no_split,
      "Do not split touching particles at their necks (plain connected components)", NULL },
    { "split-h", 0, 0, G_OPTION_ARG_DOUBLE, &split_h,
      "Watershed marker height: h-maxima of the distance map, voxels (default 1.5)", "H" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("VOLUME OUT_LABELS — binarise a volume and label its particles");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolume) volume = NULL;
  g_autoptr(KilnLabelVolume) labels = NULL;
  g_autoptr(GArray) parts = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  KilnSegmentParams params;
  double t, vs;
  guint32 n;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Otsu (or manual) threshold, erosion then dilation with a ball, labelling and splitting of\n"
    "touching particles at their necks (distance-map watershed). Labels are saved as MRC\n"
    "(0 = background, particles from 1). Particle centres are in nm from the centre of voxel\n"
    "(0, 0, 0); radius_nm is the equivalent-sphere radius.");
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 3)
    return kiln_cli_usage (context, "segment", "expected VOLUME and OUT_LABELS");
  kiln_segment_params_init (&params);
  if (threshold != NULL && g_ascii_strcasecmp (threshold, "otsu") != 0)
    {
      char *end = NULL;
      params.otsu = FALSE;
      params.threshold = g_ascii_strtod (threshold, &end);
      if (end == threshold || *end != '\0' || !isfinite (params.threshold))
        return kiln_cli_usage (context, "segment",
                               "--threshold must be “otsu” or a number, not “%s”", threshold);
    }
  if (erode < 0 || erode > 1000 || dilate < 0 || dilate > 1000)
    return kiln_cli_usage (context, "segment", "--erode and --dilate take 0 … 1000 voxels");
  if (connectivity != 6 && connectivity != 26)
    return kiln_cli_usage (context, "segment", "--connectivity must be 6 or 26");
  if (min_voxels < 0)
    return kiln_cli_usage (context, "segment", "--min-voxels must be ≥ 0");
  if (!(split_h > 0))
    return kiln_cli_usage (context, "segment", "--split-h must be > 0 voxels");
  params.erode = (guint) erode;
  params.dilate = (guint) dilate;
  params.connectivity = (guint) connectivity;
  params.min_voxels = (guint64) min_voxels;
  params.split = !no_split;
  params.split_h = split_h;

  cancellable = kiln_cli_cancellable ();
  volume = kiln_mrc_load_volume (argv[1], cancellable, &error);
  if (volume == NULL)
    return kiln_cli_fail ("segment", error);
  if (!(volume->voxel_size_nm > 0))
    {
      g_printerr ("kiln-cli segment: %s has no voxel size; assuming 1 nm\n", argv[1]);
      volume->voxel_size_nm = 1.0;
    }
  vs = volume->voxel_size_nm;
  labels = kiln_segment (volume, &params, &t, &n, cancellable,
                         json ? NULL : kiln_cli_progress, NULL, &error);
  if (labels == NULL)
    return kiln_cli_fail ("segment", error);
  if (!kiln_mrc_save_labels (labels, argv[2], "kiln-cli segment", &error))
    return kiln_cli_fail ("segment", error);

  parts = kiln_label_particles (labels);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "threshold");
      json_builder_add_double_value (b, t);
      json_builder_set_member_name (b, "threshold_method");
      json_builder_add_string_value (b, params.otsu ? "otsu" : "manual");
      json_builder_set_member_name (b, "voxel_size_nm");
      json_builder_add_double_value (b, vs);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, argv[2]);
      json_builder_set_member_name (b, "particles");
      json_builder_begin_array (b);
      for (guint i = 0; i < parts->len; i++)
        {
          KilnParticle *p = &g_array_index (parts, KilnParticle, i);
          if (p->voxels == 0)
            continue;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "label");
          json_builder_add_int_value (b, p->label);
          json_builder_set_member_name (b, "voxels");
          json_builder_add_int_value (b, (gint64) p->voxels);
          json_builder_set_member_name (b, "centre_nm");
          json_builder_begin_array (b);
          for (int k = 0; k < 3; k++)
            json_builder_add_double_value (b, p->centroid[k] * vs);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "radius_nm");
          json_builder_add_double_value (b, cbrt (3.0 * p->voxels / (4 * G_PI)) * vs);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      g_print ("Threshold %g (%s); %u particles; labels written to %s\n", t,
               params.otsu ? "Otsu" : "manual", n, argv[2]);
      g_print ("%6s %10s %28s %10s\n", "label", "voxels", "centre (x, y, z) nm", "radius nm");
      for (guint i = 0; i < parts->len; i++)
        {
          KilnParticle *p = &g_array_index (parts, KilnParticle, i);
          if (p->voxels == 0)
            continue;
          g_print ("%6u %10" G_GUINT64_FORMAT "   (%7.1f, %7.1f, %7.1f) %10.2f\n", p->label,
                   p->voxels, p->centroid[0] * vs, p->centroid[1] * vs, p->centroid[2] * vs,
                   cbrt (3.0 * p->voxels / (4 * G_PI)) * vs);
        }
    }
  return KILN_CLI_OK;
}
