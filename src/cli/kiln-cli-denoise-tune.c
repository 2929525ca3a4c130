/* kiln-cli-denoise-tune.c — kiln-cli denoise-tune NOISY REFERENCE [--psd KIND] [--json]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-cli-common.h"
#include "kiln-denoise-tune.h"

int
kiln_cli_denoise_tune (int    argc,
                       char **argv)
{
  g_autofree char *psd_name = NULL, *profile_name = NULL;
  double peak = 0, vmin = 0, vmax = 0;
  int tilt = -1;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "psd", 0, 0, G_OPTION_ARG_STRING, &psd_name,
      "Noise model shape: white, g1 … g4, g1w … g4w (default g4)", "KIND" },
    { "profile", 0, 0, G_OPTION_ARG_STRING, &profile_name,
      "BM3D profile: fast or normal (default normal)", "P" },
    { "tilt", 0, 0, G_OPTION_ARG_INT, &tilt,
      "Which image of each file to use (default: the zero tilt of NOISY; the reference's "
      "image of the same index, or its only image)", "N" },
    { "peak", 0, 0, G_OPTION_ARG_DOUBLE, &peak,
      "PSNR peak (default: the reference's max − min)", "P" },
    { "var-min", 0, 0, G_OPTION_ARG_DOUBLE, &vmin,
      "Coarse sweep start, image units² (default MSE(noisy, reference)/8)", "V" },
    { "var-max", 0, 0, G_OPTION_ARG_DOUBLE, &vmax,
      "Coarse sweep end (default MSE × 4)", "V" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON object", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx =
    g_option_context_new ("NOISY REFERENCE — choose the BM3D noise variance by maximum PSNR");
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnImageStack) noisy = NULL, ref = NULL;
  g_autoptr (KilnDenoiseTuneResult) res = NULL;
  KilnDenoiseTuneParams params;
  KilnBm3dProfile profile = KILN_BM3D_PROFILE_NORMAL;
  GCancellable *cancellable;
  guint kn, kr;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
    "Denoises one raw frame with BM3D at a sweep of noise variances (coarse log grid, then\n"
    "golden-section refinement) and reports the variance whose result has the highest PSNR\n"
    "against the reference (e.g. a 50-frame average). Variances are in the image's units².");
  kiln_denoise_tune_params_init (&params);
  if (!kiln_cli_parse (ctx, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 3)
    return kiln_cli_usage (ctx, "denoise-tune", "expected NOISY and REFERENCE");
  if (psd_name != NULL && !kiln_noise_kind_from_string (psd_name, &params.kind))
    return kiln_cli_usage (ctx, "denoise-tune", "unknown --psd “%s”", psd_name);
  if (profile_name != NULL && !kiln_bm3d_profile_from_string (profile_name, &profile))
    return kiln_cli_usage (ctx, "denoise-tune", "unknown --profile “%s” (fast or normal)",
                           profile_name);
  if (peak < 0 || vmin < 0 || vmax < 0 || (vmin > 0) != (vmax > 0) || (vmin > 0 && vmax <= vmin))
    return kiln_cli_usage (ctx, "denoise-tune",
                           "--peak must be > 0; --var-min and --var-max go together, min < max");
  kiln_bm3d_params_init (&params.bm3d, profile);
  params.peak = peak;
  params.var_min = vmin;
  params.var_max = vmax;

  cancellable = kiln_cli_cancellable ();
  noisy = kiln_io_load_stack (argv[1], cancellable, &error);
  if (noisy == NULL)
    return kiln_cli_fail ("denoise-tune", error);
  ref = kiln_io_load_stack (argv[2], cancellable, &error);
  if (ref == NULL)
    return kiln_cli_fail ("denoise-tune", error);
  if (noisy->width != ref->width || noisy->height != ref->height)
    {
      g_set_error (&error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "%s is %u × %u but %s is %u × %u", argv[1], noisy->width, noisy->height,
                   argv[2], ref->width, ref->height);
      return kiln_cli_fail ("denoise-tune", error);
    }
  if (tilt >= 0)
    {
      if ((guint) tilt >= noisy->n_tilts)
        return kiln_cli_usage (ctx, "denoise-tune", "--tilt %d: %s has %u image(s)", tilt,
                               argv[1], noisy->n_tilts);
      kn = (guint) tilt;
    }
  else
    kn = kiln_image_stack_zero_tilt (noisy);
  kr = ref->n_tilts == 1 ? 0 : kn;
  if (kr >= ref->n_tilts)
    {
      g_set_error (&error, KILN_ERROR, KILN_ERROR_MISMATCH, "%s has no image %u", argv[2], kr);
      return kiln_cli_fail ("denoise-tune", error);
    }
  if (!kiln_image_stack_check_finite (noisy, argv[1], &error)
      || !kiln_image_stack_check_finite (ref, argv[2], &error))
    return kiln_cli_fail ("denoise-tune", error);

  res = kiln_denoise_tune (kiln_image_stack_tilt_const (noisy, kn),
                           kiln_image_stack_tilt_const (ref, kr), noisy->width, noisy->height,
                           &params, cancellable, kiln_cli_progress, NULL, &error);
  if (res == NULL)
    {
      if (error->domain == KILN_ERROR)
        g_prefix_error (&error, "%s vs %s: ", argv[1], argv[2]);
      return kiln_cli_fail ("denoise-tune", error);
    }

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "best_variance");
      json_builder_add_double_value (b, res->best_variance);
      json_builder_set_member_name (b, "best_psnr_db");
      json_builder_add_double_value (b, res->best_psnr_db);
      json_builder_set_member_name (b, "psnr_peak");
      json_builder_add_double_value (b, res->peak);
      json_builder_set_member_name (b, "psd");
      json_builder_add_string_value (b, kiln_noise_kind_to_string (params.kind));
      json_builder_set_member_name (b, "profile");
      json_builder_add_string_value (b, kiln_bm3d_profile_to_string (profile));
      json_builder_set_member_name (b, "curve");
      json_builder_begin_array (b);
      for (guint i = 0; i < res->curve->len; i++)
        {
          KilnTunePoint *p = &g_array_index (res->curve, KilnTunePoint, i);
          json_builder_begin_array (b);
          json_builder_add_double_value (b, p->variance);
          json_builder_add_double_value (b, p->psnr_db);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      g_print ("%14s  %10s\n", "variance", "psnr_db");
      for (guint i = 0; i < res->curve->len; i++)
        {
          KilnTunePoint *p = &g_array_index (res->curve, KilnTunePoint, i);
          g_print ("%14.4g  %10.3f%s\n", p->variance, p->psnr_db,
                   p->variance == res->best_variance ? "  ← best" : "");
        }
      g_print ("Best variance %.4g (image units²), PSNR %.3f dB (peak %.4g, %s noise)\n",
               res->best_variance, res->best_psnr_db, res->peak,
               kiln_noise_kind_to_string (params.kind));
    }
  return KILN_CLI_OK;
}
