/* test-cli-denoise.c — kiln-cli denoise and denoise-tune: outputs, JSON keys, exit codes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "kiln-test-util.h"
#include "kiln-bm3d.h"
#include "kiln-noise.h"
#include "../core/bm3d-test-phantom.h"

#define W 96
#define H 80
#define VAR 137.0

static char *noisy_path, *clean_path;
static KilnImageStack *noisy_stack, *clean_stack;

static void
setup (void)
{
  g_autoptr (GError) error = NULL;
  if (noisy_path != NULL)
    return;
  noisy_stack = kiln_image_stack_new (2, W, H, &error);
  clean_stack = kiln_image_stack_new (1, W, H, &error);
  g_assert_no_error (error);
  bm3d_test_phantom (clean_stack->data, W, H);
  for (int k = 0; k < 2; k++)
    {
      float *t = kiln_image_stack_tilt (noisy_stack, k);
      g_assert_true (kiln_noise_realize (KILN_NOISE_G4, W, H, VAR, 11 + k, t, &error));
      for (int i = 0; i < W * H; i++)
        t[i] += clean_stack->data[i];
    }
  noisy_path = kiln_test_tmpfile ("noisy.mrc");
  clean_path = kiln_test_tmpfile ("clean.tif");
  g_assert_true (kiln_io_save_stack (noisy_stack, noisy_path, &error));
  g_assert_true (kiln_io_save_stack (clean_stack, clean_path, &error));
}

static JsonObject *
parse_json (const char *text, JsonParser **parser)
{
  g_autoptr (GError) error = NULL;
  *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (*parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (*parser));
}

static void
test_denoise (void)
{
  /* The CLI writes exactly what the core computes (same floats) for every tilt, and the result
   * is closer to the clean image (PSNR gain ≥ 3 dB on this small image; ≈ 6 dB measured).
   * Run with the bior1.5 stage-1 transform; λ is automatic (3.0 for correlated noise). */
  g_autofree char *out_path = kiln_test_tmpfile ("den.mrc");
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (KilnImageStack) res = NULL, expect = NULL;
  g_autoptr (KilnBm3dNoise) noise = NULL;
  g_autoptr (GError) error = NULL;
  KilnBm3dParams p;
  JsonObject *o;

  setup ();
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise", noisy_path, out_path, "--psd", "g4",
                                      "--variance", "137", "--profile", "fast",
                                      "--transform", "bior1.5", "--json", NULL),
                   ==, 0);
  o = parse_json (out, &parser);
  g_assert_cmpstr (json_object_get_string_member (o, "psd"), ==, "g4");
  g_assert_cmpfloat (json_object_get_double_member (o, "variance"), ==, 137.0);
  g_assert_cmpstr (json_object_get_string_member (o, "profile"), ==, "fast");
  g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (o, "transform"), ==, "bior1.5");
  g_assert_cmpfloat (json_object_get_double_member (o, "lambda"), ==, 3.0);
  res = kiln_io_load_stack (out_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (res->n_tilts, ==, 2);
  g_assert_cmpuint (res->width, ==, W);
  g_assert_cmpuint (res->height, ==, H);

  kiln_bm3d_params_init (&p, KILN_BM3D_PROFILE_FAST);
  p.transform_ht = KILN_BM3D_TRANSFORM_BIOR15;
  noise = kiln_bm3d_noise_new_model (KILN_NOISE_G4, W, H, VAR, &error);
  expect = kiln_bm3d_denoise_stack (noisy_stack, noise, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (res->data, W * H * 2 * sizeof (float), expect->data, W * H * 2 * sizeof (float));
  for (int k = 0; k < 2; k++)
    g_assert_cmpfloat (kiln_psnr (kiln_image_stack_tilt (res, k), clean_stack->data, W * H, 255),
                       >=, kiln_psnr (kiln_image_stack_tilt (noisy_stack, k), clean_stack->data,
                                      W * H, 255) + 3.0);
}

static void
test_denoise_errors (void)
{
  g_autofree char *out_path = kiln_test_tmpfile ("never.mrc");
  g_autofree char *missing = kiln_test_tmpfile ("missing.mrc");
  g_autofree char *out = NULL, *err = NULL;

  setup ();
  /* usage errors: exit 2 */
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise", noisy_path, NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise", noisy_path, out_path, "--psd", "g9",
                                      NULL), ==, 2);
  g_assert_nonnull (strstr (err, "g9"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise", noisy_path, out_path, "--profile",
                                      "slow", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise", noisy_path, out_path, "--transform",
                                      "haar", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "haar"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* runtime error: exit 1, message names the file, nothing written */
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise", missing, out_path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "missing.mrc"));
  g_assert_false (g_file_test (out_path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise-tune", noisy_path, NULL), ==, 2);
}

static void
test_denoise_tune (void)
{
  /* JSON contract keys; the curve's best point is the reported one; on this small 96 × 80 image
   * with the fast profile the best variance is within a factor 1.5 of the true 137. */
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o;
  JsonArray *curve;
  double best, best_psnr, maxp = -INFINITY;

  setup ();
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "denoise-tune", noisy_path, clean_path,
                                      "--psd", "g4", "--profile", "fast", "--tilt", "0", "--json",
                                      NULL), ==, 0);
  o = parse_json (out, &parser);
  best = json_object_get_double_member (o, "best_variance");
  best_psnr = json_object_get_double_member (o, "best_psnr_db");
  curve = json_object_get_array_member (o, "curve");
  g_assert_cmpuint (json_array_get_length (curve), >=, 10);
  for (guint i = 0; i < json_array_get_length (curve); i++)
    {
      JsonArray *pt = json_array_get_array_element (curve, i);
      g_assert_cmpuint (json_array_get_length (pt), ==, 2);
      maxp = MAX (maxp, json_array_get_double_element (pt, 1));
    }
  g_test_message ("CLI tune: best variance %.1f, PSNR %.2f dB", best, best_psnr);
  g_assert_cmpfloat (maxp, ==, best_psnr);
  g_assert_cmpfloat (best, >=, VAR / 1.5);
  g_assert_cmpfloat (best, <=, VAR * 1.5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/denoise/run", test_denoise);
  g_test_add_func ("/cli/denoise/errors", test_denoise_errors);
  g_test_add_func ("/cli/denoise-tune/run", test_denoise_tune);
  return g_test_run ();
}
