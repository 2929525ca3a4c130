/* kiln-cli-denoise.c — kiln-cli denoise IN OUT [--psd KIND] [--variance V] [--profile P]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-cli-common.h"
#include "kiln-bm3d.h"

#define PAPER_VARIANCE 137.0

int
kiln_cli_denoise (int    argc,
                  char **argv)
{
  g_autofree char *psd_name = NULL, *profile_name = NULL, *flat = NULL, *transform = NULL;
  double variance = NAN, range = 0, lambda = 0, mu2 = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "psd", 0, 0, G_OPTION_ARG_STRING, &psd_name,
      "Noise model: white, g1, g2, g3, g4, g1w, g2w, g3w, g4w (default g4)", "KIND" },
    { "variance", 0, 0, G_OPTION_ARG_DOUBLE, &variance,
      "Noise variance in the image's own intensity units² (default 137, the paper's value)",
      "V" },
    { "profile", 0, 0, G_OPTION_ARG_STRING, &profile_name,
      "BM3D profile: fast or normal (default normal)", "P" },
    { "flat-region", 0, 0, G_OPTION_ARG_STRING, &flat,
      "Estimate the noise (variance and correlation) from this signal-free rectangle of the "
      "zero tilt instead of --psd/--variance", "X,Y,W,H" },
    { "intensity-range", 0, 0, G_OPTION_ARG_DOUBLE, &range,
      "Intensity span mapped to 255 for the block-matching thresholds (default: each "
      "image's max − min)", "R" },
    { "lambda", 0, 0, G_OPTION_ARG_DOUBLE, &lambda, "Hard threshold (default: 2.7 for white noise, 3.0 for correlated noise)", "L" },
    { "transform", 0, 0, G_OPTION_ARG_STRING, &transform,
      "2-D block transform of the hard-thresholding stage: dct or bior1.5 (default dct)",
      "T" },
    { "mu2", 0, 0, G_OPTION_ARG_DOUBLE, &mu2, "Wiener shrinkage μ² (default 1.0)", "M" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON object", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("IN OUT — BM3D denoising of every tilt");
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnImageStack) in = NULL, out = NULL;
  g_autoptr (KilnBm3dNoise) noise = NULL;
  KilnNoiseKind kind = KILN_NOISE_G4;
  KilnBm3dProfile profile = KILN_BM3D_PROFILE_NORMAL;
  KilnBm3dParams params;
  GCancellable *cancellable;
  gint64 t0;
  double seconds;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
    "Denoises each tilt with two-stage BM3D for stationary correlated noise; the noise is\n"
    "described by a model PSD (kiln-noise) scaled to --variance, in the image's own units.");
  if (!kiln_cli_parse (ctx, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 3)
    return kiln_cli_usage (ctx, "denoise", "expected IN and OUT");
  if (psd_name != NULL && !kiln_noise_kind_from_string (psd_name, &kind))
    return kiln_cli_usage (ctx, "denoise", "unknown --psd “%s”", psd_name);
  if (profile_name != NULL && !kiln_bm3d_profile_from_string (profile_name, &profile))
    return kiln_cli_usage (ctx, "denoise", "unknown --profile “%s” (fast or normal)",
                           profile_name);
  if (!isnan (variance) && (!isfinite (variance) || variance <= 0))
    return kiln_cli_usage (ctx, "denoise", "--variance must be > 0");
  kiln_bm3d_params_init (&params, profile);
  if (transform != NULL && !kiln_bm3d_transform_from_string (transform, &params.transform_ht))
    return kiln_cli_usage (ctx, "denoise", "unknown --transform “%s” (bior1.5 or dct)",
                           transform);
  if (range < 0 || lambda < 0 || mu2 < 0)
    return kiln_cli_usage (ctx, "denoise", "--intensity-range, --lambda and --mu2 must be > 0");
  if (flat != NULL && (psd_name != NULL || !isnan (variance)))
    return kiln_cli_usage (ctx, "denoise", "--flat-region replaces --psd and --variance");

  params.intensity_range = range;
  if (lambda > 0)
    params.lambda_ht = lambda;
  if (mu2 > 0)
    params.mu2 = mu2;

  cancellable = kiln_cli_cancellable ();
  in = kiln_io_load_stack (argv[1], cancellable, &error);
  if (in == NULL)
    return kiln_cli_fail ("denoise", error);
  if (!kiln_image_stack_check_finite (in, argv[1], &error))
    return kiln_cli_fail ("denoise", error);

  if (flat != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (flat, ",", -1);
      guint64 v[4];
      guint z = kiln_image_stack_zero_tilt (in);
      if (g_strv_length (parts) != 4)
        return kiln_cli_usage (ctx, "denoise", "--flat-region expects X,Y,W,H");
      for (int i = 0; i < 4; i++)
        if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 0, G_MAXUINT, &v[i], NULL))
          return kiln_cli_usage (ctx, "denoise", "--flat-region expects X,Y,W,H (pixels)");
      noise = kiln_bm3d_noise_new_from_region (kiln_image_stack_tilt_const (in, z), in->width,
                                               in->height, v[0], v[1], v[2], v[3], &error);
      if (noise == NULL)
        {
          g_prefix_error (&error, "%s: ", argv[1]);
          return kiln_cli_fail ("denoise", error);
        }
      variance = kiln_bm3d_noise_variance (noise);
    }
  else
    {
      if (isnan (variance))
        variance = PAPER_VARIANCE;
      noise = kiln_bm3d_noise_new_model (kind, in->width, in->height, variance, &error);
      if (noise == NULL)
        return kiln_cli_fail ("denoise", error);
    }

  t0 = g_get_monotonic_time ();
  out = kiln_bm3d_denoise_stack (in, noise, &params, cancellable, kiln_cli_progress, NULL,
                                 &error);
  if (out == NULL)
    {
      if (error->domain == KILN_ERROR)
        g_prefix_error (&error, "%s: ", argv[1]);
      return kiln_cli_fail ("denoise", error);
    }
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (!kiln_io_save_stack (out, argv[2], &error))
    return kiln_cli_fail ("denoise", error);

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "input");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, argv[2]);
      json_builder_set_member_name (b, "psd");
      json_builder_add_string_value (b, flat ? "flat-region" : kiln_noise_kind_to_string (kind));
      json_builder_set_member_name (b, "variance");
      json_builder_add_double_value (b, variance);
      json_builder_set_member_name (b, "profile");
      json_builder_add_string_value (b, kiln_bm3d_profile_to_string (profile));
      json_builder_set_member_name (b, "transform");
      json_builder_add_string_value (b, kiln_bm3d_transform_to_string (params.transform_ht));
      json_builder_set_member_name (b, "lambda");
      json_builder_add_double_value (b, kiln_bm3d_params_lambda (&params, noise));
      json_builder_set_member_name (b, "tilts");
      json_builder_add_int_value (b, in->n_tilts);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, in->width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, in->height);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    g_print ("Denoised %u tilt(s) of %u × %u (%s noise, variance %g, %s profile) in %.1f s "
             "→ %s\n", in->n_tilts, in->width, in->height,
             flat ? "flat-region" : kiln_noise_kind_to_string (kind), variance,
             kiln_bm3d_profile_to_string (profile), seconds, argv[2]);
  return KILN_CLI_OK;
}
