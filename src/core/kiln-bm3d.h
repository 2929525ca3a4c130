/* kiln-bm3d.h — BM3D denoising for stationary correlated noise (PSD-aware), with a
 * region-of-interest preview that equals the full-image result inside the region.
 *
 * Algorithm (docs/denoise.md; ../shared/design/algorithms.md part 1): two stages, hard
 * thresholding then empirical Wiener, each grouping 8 × 8 blocks by block matching, with a
 * 2-D transform per block (orthonormal DCT, or optionally the bior1.5 wavelet in stage 1) and a Haar transform along the group. The noise variance of
 * every 3-D coefficient is computed exactly from the noise PSD (Mäkinen–Azzari–Foi 2020): the
 * autocovariance of each DCT coefficient at every displacement is tabulated once, and the
 * group variances are quadratic forms over the blocks' relative positions. White noise takes a
 * shortcut (every coefficient has the variance σ²).
 *
 * Intensity scale: the noise variance / PSD is given in the image's own intensity units (the
 * paper's "variance 137" is on the scale of the image it was applied to). Thresholding and
 * Wiener shrinkage are scale-covariant; only the block-matching thresholds (tau, per-pixel mean
 * squared difference on a 0–255 scale, as in Lebrun/Tampere) depend on a scale. Internally the
 * image is mapped to z' = (z − min) / range · 255 with range = params.intensity_range, or the
 * image's max − min when that is 0, and the PSD is scaled by (255/range)² consistently; the
 * result is mapped back. So denoise(a·z + b, a²·var) = a·denoise(z, var) + b.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"
#include "kiln-noise.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_BM3D_PROFILE_FAST,    /* steps 6/5, search 25 × 25, groups 16/16 */
  KILN_BM3D_PROFILE_NORMAL,  /* steps 3/3, search 39 × 39, groups 16/32 (Tampere 'np') */
} KilnBm3dProfile;

gboolean    kiln_bm3d_profile_from_string (const char *name, KilnBm3dProfile *profile);
const char *kiln_bm3d_profile_to_string   (KilnBm3dProfile profile);

/* The 2-D transform of the 8 × 8 blocks in stage 1 (stage 2 always uses the DCT). */
typedef enum
{
  KILN_BM3D_TRANSFORM_DCT,     /* orthonormal DCT-II (default) */
  KILN_BM3D_TRANSFORM_BIOR15,  /* biorthogonal 1.5 wavelet, 3-level Mallat decomposition with
                                * periodic extension at each level (as Lebrun's IPOL BM3D and
                                * the Tampere BM3D); ≈ +0.1 dB on camera.png, but it moves the
                                * PSNR-optimal variance of the tuner (docs/denoise.md) */
} KilnBm3dTransform;

#define KILN_BM3D_N_TRANSFORMS 2

gboolean    kiln_bm3d_transform_from_string (const char *name, KilnBm3dTransform *transform);
const char *kiln_bm3d_transform_to_string   (KilnBm3dTransform transform);

/* Block size is fixed at 8 × 8. */
#define KILN_BM3D_BLOCK 8
/* Largest allowed search half-width. */
#define KILN_BM3D_MAX_HALF_SEARCH 24

typedef struct
{
  KilnBm3dProfile profile;
  guint    step_ht;            /* reference-block step, stage 1 */
  guint    step_wiener;        /* reference-block step, stage 2 */
  guint    half_search_ht;     /* search window (2h + 1)², stage 1 */
  guint    half_search_wiener;
  guint    group_ht;           /* max group size (power of two ≤ 32), stage 1 */
  guint    group_wiener;
  double   tau_ht;             /* matching threshold, per-pixel MSD on the 0–255 scale (3000) */
  double   tau_wiener;         /* (400) */
  double   lambda_ht;          /* hard threshold, multiple of the coefficient std; 0 (default)
                                * = automatic, see kiln_bm3d_params_lambda () */
  double   mu2;                /* Wiener shrinkage μ² (1.0) */
  double   kaiser_beta;        /* aggregation window (2.0) */
  double   intensity_range;    /* image units mapped to 255 for matching; 0 = max − min */
  gboolean psd_matching;       /* stage-1 distance corrected for the noise correlation at
                                * each displacement (adds 2·R(Δ)); TRUE */
  gboolean wiener;             /* run stage 2 (TRUE); FALSE returns the basic estimate */
  KilnBm3dTransform transform_ht; /* stage-1 2-D transform (DCT) */
} KilnBm3dParams;

void        kiln_bm3d_params_init         (KilnBm3dParams         *params,
                                           KilnBm3dProfile         profile);

/* The noise description BM3D uses: the autocovariance R(d) of the (stationary) noise for
 * |dx|, |dy| ≤ KILN_BM3D_MAX_LAG, in image intensity units². Thread-safe, immutable after
 * creation (internal tables are built lazily under a lock). */
typedef struct _KilnBm3dNoise KilnBm3dNoise;

#define KILN_BM3D_MAX_LAG (2 * KILN_BM3D_MAX_HALF_SEARCH + KILN_BM3D_BLOCK - 1)

/* From a PSD on the width × height DFT grid (kiln-noise.h convention). */
KilnBm3dNoise *kiln_bm3d_noise_new_psd    (const float            *psd,
                                           guint                   width,
                                           guint                   height,
                                           GError                **error);
/* From a noise model (kiln-noise.h) at the image size width × height. */
KilnBm3dNoise *kiln_bm3d_noise_new_model  (KilnNoiseKind           kind,
                                           guint                   width,
                                           guint                   height,
                                           double                  variance,
                                           GError                **error);
/* Estimated from a flat (signal-free) rectangle of @image: a plane is fitted and removed, the
 * sample autocovariance is tapered (Bartlett) to zero at half the rectangle's smaller side.
 * The rectangle must lie inside the image and be at least 16 × 16. */
KilnBm3dNoise *kiln_bm3d_noise_new_from_region (const float       *image,
                                           guint                   width,
                                           guint                   height,
                                           guint                   x,
                                           guint                   y,
                                           guint                   rect_width,
                                           guint                   rect_height,
                                           GError                **error);
/* A copy with the autocovariance multiplied by @factor (> 0), e.g. to sweep the variance. */
KilnBm3dNoise *kiln_bm3d_noise_new_scaled (const KilnBm3dNoise    *noise,
                                           double                  factor);
KilnBm3dNoise *kiln_bm3d_noise_ref        (KilnBm3dNoise          *noise);
void           kiln_bm3d_noise_unref      (KilnBm3dNoise          *noise);
/* R(0), image units². */
double         kiln_bm3d_noise_variance   (const KilnBm3dNoise    *noise);
/* R(dx, dy) for |dx|, |dy| ≤ KILN_BM3D_MAX_LAG. */
double         kiln_bm3d_noise_autocovariance (const KilnBm3dNoise *noise,
                                           int                     dx,
                                           int                     dy);
/* Whether R vanishes (≤ 1e-6 R(0)) at every non-zero lag. */
gboolean       kiln_bm3d_noise_is_white   (const KilnBm3dNoise    *noise);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnBm3dNoise, kiln_bm3d_noise_unref)

/* The hard threshold λ BM3D uses: params->lambda_ht when > 0, else 2.7 for white noise (Dabov
 * et al. 2007, Lebrun's IPOL BM3D) and 3.0 for correlated noise (the Tampere BM3D's value for
 * PSD input, under which the paper's "variance 137" was tuned). */
double         kiln_bm3d_params_lambda    (const KilnBm3dParams   *params,
                                           const KilnBm3dNoise    *noise);

/* The noise variance (image units²) of every 3-D transform coefficient of a group of @n
 * (a power of two ≤ 32) 8 × 8 blocks at positions (px[j], py[j]) (pairwise displacements
 * ≤ 48): var[k·64 + v·8 + u] for Haar index k (0 = group mean; the detail of the dyadic node
 * of size s starting at block a is k = n/s + a/s) and orthonormal DCT-II frequency (u, v).
 * This is what the thresholds use; exposed for validation. FALSE on bad arguments. */
gboolean       kiln_bm3d_noise_group_variances (const KilnBm3dNoise *noise,
                                           guint                   n,
                                           const int              *px,
                                           const int              *py,
                                           float                  *var);
/* The same for the 2-D transform @transform (kiln_bm3d_noise_group_variances is the DCT's). */
gboolean       kiln_bm3d_noise_group_variances_transform (const KilnBm3dNoise *noise,
                                           KilnBm3dTransform       transform,
                                           guint                   n,
                                           const int              *px,
                                           const int              *py,
                                           float                  *var);
/* The orthonormal 8 × 8 DCT-II and Haar-along-the-group transform used by BM3D, applied to
 * @n blocks (n × 64 floats, row-major 8 × 8 each) in place; for validation. */
void           kiln_bm3d_transform_group  (float                  *blocks,
                                           guint                   n);
/* The 2-D block transform @transform of one 8 × 8 block (row-major; coefficient (r, c) at
 * r·8 + c), forward (@inverse FALSE) or inverse; @in and @out may not overlap. For bior1.5
 * the coefficients of the 3-level Mallat decomposition are laid out as in Lebrun's IPOL code
 * (LL3 at (0, 0); the level-l sub-bands in the [0, 8/2^(l−1))² square). For validation. */
void           kiln_bm3d_transform_block  (KilnBm3dTransform       transform,
                                           gboolean                inverse,
                                           const float            *in,
                                           float                  *out);

/* Denoise one width × height image (width, height ≥ 16) into @out (which may be @in: it is
 * written only at the end). Deterministic and independent of the thread count.
 * Cancelled → G_IO_ERROR_CANCELLED, @in and @out untouched. */
gboolean    kiln_bm3d_denoise             (const float            *in,
                                           guint                   width,
                                           guint                   height,
                                           const KilnBm3dNoise    *noise,
                                           const KilnBm3dParams   *params,
                                           float                  *out,
                                           GCancellable           *cancellable,
                                           KilnProgressFunc        progress,
                                           gpointer                progress_data,
                                           GError                **error);

/* Live preview: the denoised values of the rectangle (x, y, roi_width, roi_height) of @in,
 * written to @out (roi_width × roi_height), equal to the corresponding pixels of
 * kiln_bm3d_denoise() on the whole image (same float operations in the same order). Only the
 * reference blocks that influence the rectangle are processed (margin ≈ 2 × (half search +
 * block) pixels, clipped to the image). */
gboolean    kiln_bm3d_denoise_roi         (const float            *in,
                                           guint                   width,
                                           guint                   height,
                                           const KilnBm3dNoise    *noise,
                                           const KilnBm3dParams   *params,
                                           guint                   x,
                                           guint                   y,
                                           guint                   roi_width,
                                           guint                   roi_height,
                                           float                  *out,
                                           GCancellable           *cancellable,
                                           KilnProgressFunc        progress,
                                           gpointer                progress_data,
                                           GError                **error);

/* Every tilt of @stack, one after the other (each image in parallel). @noise must describe
 * the stack's image size (its PSD is size-dependent for g4). Returns a new stack with the same
 * metadata, or NULL. */
KilnImageStack *kiln_bm3d_denoise_stack   (const KilnImageStack   *stack,
                                           const KilnBm3dNoise    *noise,
                                           const KilnBm3dParams   *params,
                                           GCancellable           *cancellable,
                                           KilnProgressFunc        progress,
                                           gpointer                progress_data,
                                           GError                **error);

/* PSNR in dB of @a against @reference: 10·log10(peak² / MSE). @peak ≤ 0 means the
 * reference's max − min. Returns +inf for identical images. */
double      kiln_psnr                     (const float            *a,
                                           const float            *reference,
                                           gsize                   n,
                                           double                  peak);

G_END_DECLS
