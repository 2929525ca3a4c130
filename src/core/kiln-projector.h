/* kiln-projector.h — the matched parallel-beam projector pair of the reconstructions
 *
 * Geometry (pipeline.md): single tilt axis along the volume's y, which must already be
 * vertical in the tilt images (kiln_reconstruct() rotates the images by −axis_angle with
 * kiln_transform_image() first).  Volume voxel (x, z) of every slice y projects at tilt θ to
 *
 *   t = (x − cx)·cos θ + (z − cz)·sin θ + cu + shift,   cx = (X−1)/2, cz = (Z−1)/2, cu = (W−1)/2
 *
 * on the detector row of that slice (W detector pixels, voxel size = pixel size).
 *
 * Model: pixel-driven linear interpolation.  A (forward) splats each voxel onto the two
 * detector pixels floor(t), floor(t)+1 with weights 1−w, w (w = t − floor t); Aᵀ (back-projection)
 * reads the detector at t with the same two weights (linear interpolation).  Both use the same
 * weights, so they are exact adjoints: ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ up to float rounding.  A voxel whose
 * footprint falls (partly) outside the detector loses that part in both directions.  Σ_u (Ax)(u)
 * = Σ_voxels x (mass is kept), so Ax approximates the line integral in voxel lengths.
 *
 * Memory layout ("slab layout", y fastest): because the weights of a tilt do not depend on the
 * slice y, every kernel works on slabs of KILN_PROJECTOR_SLAB consecutive slices at once, with
 * the innermost loop over y (SIMD), and OpenMP over slabs:
 *
 *   volume   vol [(z·X + x)·Yp + y]      Yp = Y rounded up to a multiple of the slab size
 *   sinogram sino[(k·W + u)·Yp + y]      k = tilt index
 *
 * Slices y ∈ [Y, Yp) are padding: keep them zero.  Buffers from kiln_projector_alloc_* carry
 * a small tail so that vector loads near the end stay in bounds.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KILN_PROJECTOR_SLAB 16

typedef struct
{
  guint   nx, ny, nz;   /* volume X (across the axis), Y (slices, along the axis), Z (beam) */
  guint   ny_pad;       /* Y rounded up to KILN_PROJECTOR_SLAB */
  guint   n_slabs;
  guint   n_tilts;
  guint   nu;           /* detector width W */
  double  shift_px;     /* axis shift, + toward +x */
  double *angles_deg;   /* n_tilts */
  float  *cos_t;        /* n_tilts */
  float  *sin_t;        /* n_tilts */
} KilnProjector;

/* Validates the sizes (none zero, none above KILN_MAX_EXTENT) and angles (finite, |θ| ≤ 90°…
 * any finite value is accepted; cos/sin are used) and the shift (|shift| < W). */
KilnProjector *kiln_projector_new          (guint          nx,
                                            guint          ny,
                                            guint          nz,
                                            guint          nu,
                                            const double  *angles_deg,
                                            guint          n_tilts,
                                            double         shift_px,
                                            GError       **error);
void           kiln_projector_free         (KilnProjector *proj);

gsize          kiln_projector_volume_size  (const KilnProjector *proj);   /* X·Z·Yp floats */
gsize          kiln_projector_sino_size    (const KilnProjector *proj);   /* n·W·Yp floats */
/* Zeroed, 64-byte aligned, checked against the memory budget; free with kiln_free(). */
float         *kiln_projector_alloc_volume (const KilnProjector *proj,
                                            GError             **error);
float         *kiln_projector_alloc_sino   (const KilnProjector *proj,
                                            GError             **error);

/* sino = A vol for the @n_sel tilts listed in @tilts (NULL: all, in order); the other tilts of
 * @sino are left as they are.  OpenMP over slabs. */
void           kiln_projector_forward      (const KilnProjector *proj,
                                            const float         *vol,
                                            float               *sino,
                                            const guint         *tilts,
                                            guint                n_sel);
/* vol = Aᵀ sino (over the selected tilts) multiplied per tilt by @tilt_weight (NULL: 1).
 * OpenMP over slabs. */
void           kiln_projector_back         (const KilnProjector *proj,
                                            const float         *sino,
                                            float               *vol,
                                            const float         *tilt_weight,
                                            const guint         *tilts,
                                            guint                n_sel);

/* Slab kernels (one slab of KILN_PROJECTOR_SLAB slices starting at slice @y0), for the
 * iterative methods.  A slab sinogram is slab[(j·(W+2) + u + 1)·SLAB + s] for the j-th selected
 * tilt: one guard pixel each side, which the forward kernel may write and the back kernel
 * reads, so keep the guards zero before calling the back kernel. */
gsize          kiln_projector_slab_sino_size (const KilnProjector *proj,
                                              guint                n_sel);
/* Per-thread scratch (floats) that the slab kernels need. */
gsize          kiln_projector_work_size    (const KilnProjector *proj);
/* slab = A vol (overwrites the slab sinogram, guards included). */
void           kiln_projector_forward_slab (const KilnProjector *proj,
                                            const float         *vol,
                                            guint                y0,
                                            const guint         *tilts,
                                            guint                n_sel,
                                            float               *slab,
                                            float               *work);

typedef enum
{
  KILN_BACK_SET,       /* vol = Σ_j weight_j · Aᵀ_j slab */
  KILN_BACK_UPDATE,    /* vol = clamp(vol + scale(x,z) · Σ_j Aᵀ_j slab) (SIRT update) */
} KilnBackMode;

typedef struct
{
  const float  *tilt_weight;  /* KILN_BACK_SET: per selected tilt (NULL: 1) */
  const float  *scale;        /* KILN_BACK_UPDATE: X·Z per-voxel step (z·X + x) */
  gboolean      nonneg;       /* KILN_BACK_UPDATE: clamp at 0 */
  const guint8 *support;      /* KILN_BACK_UPDATE: slab layout, 0 = force to 0 (nullable) */
} KilnBackOptions;

/* Returns Σ (new − old)² over the slab for KILN_BACK_UPDATE (0 for SET). */
double         kiln_projector_back_slab    (const KilnProjector   *proj,
                                            const float           *slab,
                                            const guint           *tilts,
                                            guint                  n_sel,
                                            KilnBackMode           mode,
                                            const KilnBackOptions *opt,
                                            float                 *vol,
                                            guint                  y0,
                                            float                 *work);

/* Row sums A·1 (n_sel × W, one slice; the same for every slice) and column sums Aᵀ·1 (Z × X). */
void           kiln_projector_row_sums     (const KilnProjector *proj,
                                            const guint         *tilts,
                                            guint                n_sel,
                                            float               *row_sums);
void           kiln_projector_col_sums     (const KilnProjector *proj,
                                            const guint         *tilts,
                                            guint                n_sel,
                                            float               *col_sums);

/* Layout conversions between a KilnVolume-layout array (X × vol_ny × Z, x fastest) and the
 * slab layout.  to_slab: slab slices 0 … Y−1 ← volume slices vol_y0 … vol_y0+Y−1 (padding
 * slices set to 0).  to_volume: volume slices vol_y0 … ← slab slices slab_y0 … (@n_slices). */
void           kiln_projector_volume_to_slab (const KilnProjector *proj,
                                              const float         *vol_xyz,
                                              guint                vol_ny,
                                              guint                vol_y0,
                                              float               *slab_vol);
void           kiln_projector_slab_to_volume (const KilnProjector *proj,
                                              const float         *slab_vol,
                                              guint                slab_y0,
                                              guint                n_slices,
                                              float               *vol_xyz,
                                              guint                vol_ny,
                                              guint                vol_y0);

G_END_DECLS
