/* test-denoise-tune.c — the PSNR-maximising variance sweep finds the true noise variance
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-denoise-tune.h"
#include "bm3d-test-phantom.h"

#define W 160
#define H 144
#define VAR 137.0

static float clean[W * H], noisy[W * H];

static void
setup_data (void)
{
  static gboolean done;
  float nz[W * H];
  if (done)
    return;
  bm3d_test_phantom (clean, W, H);
  g_assert_true (kiln_noise_realize (KILN_NOISE_G4, W, H, VAR, 7, nz, NULL));
  for (int i = 0; i < W * H; i++)
    noisy[i] = clean[i] + nz[i];
  done = TRUE;
}

static void
test_finds_true_variance (void)
{
  /* g4 noise of variance 137 on the synthetic phantom, reference = the clean image (the ideal
   * "50-frame average"): the best variance is within ±20 % of 137 (issue 5). The curve is
   * sorted, contains the best point, and the golden-section refinement put ≥ 6 points inside
   * the coarse bracket. */
  KilnDenoiseTuneParams p;
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnDenoiseTuneResult) r = NULL;
  guint near = 0;

  setup_data ();
  kiln_denoise_tune_params_init (&p);
  p.n_coarse = 7;   /* fewer evaluations than the defaults (9 + 2 + 8) to keep the test short */
  p.n_refine = 6;
  r = kiln_denoise_tune (noisy, clean, W, H, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_test_message ("best variance %.1f, PSNR %.2f dB (peak %.1f), %u evaluations",
                  r->best_variance, r->best_psnr_db, r->peak, r->curve->len);
  for (guint i = 0; i < r->curve->len; i++)
    {
      KilnTunePoint *pt = &g_array_index (r->curve, KilnTunePoint, i);
      g_test_message ("  %8.2f  %.3f", pt->variance, pt->psnr_db);
      if (i > 0)
        g_assert_cmpfloat (pt->variance, >=, g_array_index (r->curve, KilnTunePoint, i - 1).variance);
      g_assert_cmpfloat (pt->psnr_db, <=, r->best_psnr_db);
      if (pt->variance > r->best_variance / 1.6 && pt->variance < r->best_variance * 1.6)
        near++;
    }
  g_assert_cmpuint (r->curve->len, ==, p.n_coarse + 2 + p.n_refine);
  g_assert_cmpuint (near, >=, 6);
  g_assert_cmpfloat (r->best_variance, >=, 0.8 * VAR);
  g_assert_cmpfloat (r->best_variance, <=, 1.2 * VAR);
}

static void
test_extends_range (void)
{
  /* g1 noise (the most strongly correlated kernel) of variance 137, tuned with the white model:
   * its power sits in few frequencies, so the white variance that removes it best lies above the
   * automatic range's top (4 × MSE). The grid must extend past it until the best is bracketed:
   * the best point has a sampled neighbour above it, or the extension limit (4 steps) is used. */
  KilnDenoiseTuneParams p;
  g_autoptr (GError) error = NULL;
  g_autoptr (KilnDenoiseTuneResult) r = NULL;
  static float g1[W * H];
  float nz[W * H];
  double mse = 0, top;
  guint above = 0, best_i = 0;

  setup_data ();
  g_assert_true (kiln_noise_realize (KILN_NOISE_G1, W, H, VAR, 11, nz, NULL));
  for (int i = 0; i < W * H; i++)
    {
      g1[i] = clean[i] + nz[i];
      mse += (double) nz[i] * nz[i];
    }
  mse /= W * H;
  kiln_denoise_tune_params_init (&p);
  kiln_bm3d_params_init (&p.bm3d, KILN_BM3D_PROFILE_FAST);
  p.kind = KILN_NOISE_WHITE;
  p.n_coarse = 5;
  p.n_refine = 4;
  r = kiln_denoise_tune (g1, clean, W, H, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  top = 4 * mse * 1.0001;
  for (guint i = 0; i < r->curve->len; i++)
    {
      KilnTunePoint *pt = &g_array_index (r->curve, KilnTunePoint, i);
      g_test_message ("  %8.2f  %.3f", pt->variance, pt->psnr_db);
      if (pt->variance > top)
        above++;
      if (pt->variance == r->best_variance)
        best_i = i;
    }
  g_test_message ("MSE %.1f, best white variance %.1f, %u points above 4 × MSE", mse,
                  r->best_variance, above);
  g_assert_cmpfloat (r->best_variance, >, top);     /* the case this test is about */
  g_assert_cmpuint (above, >=, 1);
  g_assert_true (best_i + 1 < r->curve->len || above >= 4);
}

static void
cancel_soon (double fraction, const char *message, gpointer data)
{
  if (fraction > 0.05)
    g_cancellable_cancel (G_CANCELLABLE (data));
}

static void
test_cancel_and_bad_input (void)
{
  KilnDenoiseTuneParams p;
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) c = g_cancellable_new ();

  setup_data ();
  kiln_denoise_tune_params_init (&p);
  p.bm3d.profile = KILN_BM3D_PROFILE_FAST;
  g_assert_null (kiln_denoise_tune (noisy, clean, W, H, &p, c, cancel_soon, c, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  /* identical images: nothing to tune */
  g_assert_null (kiln_denoise_tune (clean, clean, W, H, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  p.var_min = 10;
  p.var_max = 5;
  g_assert_null (kiln_denoise_tune (noisy, clean, W, H, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/denoise-tune/finds-true-variance", test_finds_true_variance);
  g_test_add_func ("/denoise-tune/extends-range", test_extends_range);
  g_test_add_func ("/denoise-tune/cancel-and-bad-input", test_cancel_and_bad_input);
  return g_test_run ();
}
