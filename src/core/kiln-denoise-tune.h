/* kiln-denoise-tune.h — choose the BM3D noise variance that maximises the PSNR of the denoised
 * raw frame against a reference (e.g. the average of 50 frames), as the reference paper did.
 *
 * PSNR convention: PSNR = 10·log10(peak² / MSE(denoised, reference)) with peak = the
 * reference's max − min unless given (params.peak > 0). The paper's peak is unknown, so only
 * the location of the maximum (the variance) is meaningful across conventions; the curve shifts
 * by a constant for another peak.
 *
 * Variances are in the image's own intensity units² (see kiln-bm3d.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "kiln-bm3d.h"

G_BEGIN_DECLS

typedef struct
{
  double variance;   /* image units² */
  double psnr_db;
} KilnTunePoint;

typedef struct
{
  KilnNoiseKind  kind;       /* noise model shape (g4) */
  KilnBm3dParams bm3d;       /* BM3D parameters (normal profile) */
  double         peak;       /* PSNR peak; ≤ 0: reference max − min */
  double         var_min;    /* coarse sweep range; both 0: MSE(noisy, reference) × [1/8, 4],
                              * extended by up to 4 grid steps where the best is on an edge */
  double         var_max;
  guint          n_coarse;   /* coarse log-spaced samples (9) */
  guint          n_refine;   /* golden-section iterations in the best bracket (8) */
} KilnDenoiseTuneParams;

typedef struct
{
  double  best_variance;
  double  best_psnr_db;
  double  peak;            /* the PSNR peak used */
  GArray *curve;           /* KilnTunePoint, every evaluation, sorted by variance */
} KilnDenoiseTuneResult;

void                   kiln_denoise_tune_params_init (KilnDenoiseTuneParams *params);

/* Sweep and refine; @noisy and @reference are width × height. Returns NULL with an error on bad
 * input (sizes, non-finite pixels, identical images) or cancellation. */
KilnDenoiseTuneResult *kiln_denoise_tune             (const float                 *noisy,
                                                      const float                 *reference,
                                                      guint                        width,
                                                      guint                        height,
                                                      const KilnDenoiseTuneParams *params,
                                                      GCancellable                *cancellable,
                                                      KilnProgressFunc             progress,
                                                      gpointer                     progress_data,
                                                      GError                     **error);
void                   kiln_denoise_tune_result_free (KilnDenoiseTuneResult       *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnDenoiseTuneResult, kiln_denoise_tune_result_free)

G_END_DECLS
