/* kiln-noise.h — stationary correlated noise models (BM3D "experiment" kernels)
 *
 * Convention (../shared/design/algorithms.md §1.2–1.4): noise eta = k ⊛ nu with nu i.i.d.
 * N(0, 1), sum(k²) = variance, and PSD(ξ) = |DFT_{M×N}(k)(ξ)|² · M · N on the W × H image DFT
 * grid, so mean(PSD) = M·N·variance. White noise of std σ has PSD = σ²·M·N everywhere.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  KILN_NOISE_WHITE,
  KILN_NOISE_G1,
  KILN_NOISE_G2,
  KILN_NOISE_G3,
  KILN_NOISE_G4,
  KILN_NOISE_G1W,
  KILN_NOISE_G2W,
  KILN_NOISE_G3W,
  KILN_NOISE_G4W,
} KilnNoiseKind;

gboolean    kiln_noise_kind_from_string (const char     *name,
                                         KilnNoiseKind  *kind);
const char *kiln_noise_kind_to_string   (KilnNoiseKind   kind);

/* The kernel k of @kind for an image of width × height, normalised so sum(k²) = variance.
 * Returns a newly allocated kernel (free with g_free) centred in a kw × kh array. */
float      *kiln_noise_kernel_new       (KilnNoiseKind   kind,
                                         guint           width,
                                         guint           height,
                                         double          variance,
                                         guint          *kw,
                                         guint          *kh,
                                         GError        **error);

/* The PSD on the full width × height DFT grid (row-major, height rows of width, DC at [0]),
 * in the convention above. Free with g_free. */
float      *kiln_noise_psd_new          (KilnNoiseKind   kind,
                                         guint           width,
                                         guint           height,
                                         double          variance,
                                         GError        **error);

/* A realisation of the noise (not circulant: a larger white field convolved with k and
 * cropped, §1.4), written to @out (width × height). Deterministic for a given @seed. */
gboolean    kiln_noise_realize          (KilnNoiseKind   kind,
                                         guint           width,
                                         guint           height,
                                         double          variance,
                                         guint64         seed,
                                         float          *out,
                                         GError        **error);

G_END_DECLS
