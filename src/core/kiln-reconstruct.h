/* kiln-reconstruct.h — tomographic reconstruction: WBP, SIRT, ISER-style TV (one entry point)
 *
 * Geometry (pipeline.md): parallel beam, single tilt axis.  The axis makes @axis_angle_deg
 * (counter-clockwise from image y; 0 = vertical) in the tilt images and sits @axis_shift_px
 * from the image centre perpendicular to it (+ toward +x).  For a non-zero angle the images
 * are first rotated by −axis_angle about their centre (kiln_transform_image, linear) so the
 * axis is vertical; then every image row y is one slice.  The volume has X = image width
 * (or @width), Y = the selected rows, Z = @thickness; voxel size = pixel size.
 *
 * Methods (docs/reconstruct.md has the details and the parameter mapping):
 *  - WBP: ramp (or apodised ramp) filter along x, then Σ_θ Δθ(rad) · back-projection.
 *  - SIRT: x ← x + λ C Aᵀ R (b − Ax) (OS-SART with @subsets > 1), non-negativity, support.
 *  - ISER: each iteration, @data_passes OS-SART passes, then @tv_steps normalised
 *    gradient-descent steps on the isotropic 3-D TV with the adaptive step of ASD-POCS; the TV
 *    step relative to the data step is set by @sensitivity.
 *
 * Live use: @iteration_func is called after every iteration (from the calling thread) with the
 * residual, the TV and — at most every @preview_interval_s — a copy of one slice.
 * Stop-and-keep: when @cancellable is cancelled during an iterative method, the current
 * volume (the last complete pass/step) is returned as a valid result with result->stopped
 * set and no error (set @keep_on_cancel = FALSE to get G_IO_ERROR_CANCELLED instead).
 * Resume: pass the volume to continue from as @initial.  Preview: reconstruct a few slices
 * only with @slice_start/@slice_end (kiln_reconstruct_params_preview()).
 *
 * Memory: the volume is reconstructed in the slab layout (kiln-projector.h); with ISER a TV
 * gradient buffer of the same size is added.  When the whole does not fit in the memory
 * budget (kiln-alloc.h), the slices are processed in chunks along y (ISER chunks overlap by
 * 16 slices each side, which are discarded; the TV then couples slices only within a chunk).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-fft.h"
#include "kiln-image-stack.h"
#include "kiln-progress.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_RECON_WBP,
  KILN_RECON_SIRT,
  KILN_RECON_ISER,
} KilnReconMethod;

gboolean    kiln_recon_method_from_string (const char      *name,
                                           KilnReconMethod *method);
const char *kiln_recon_method_to_string   (KilnReconMethod  method);

/**
 * KilnReconIteration:
 *
 * What an iteration callback gets.  Pointers are valid during the call only.
 */
typedef struct
{
  guint        iteration;         /* 1-based, within the current chunk */
  guint        n_iterations;
  guint        chunk;             /* 0-based chunk along y (0 when not chunked) */
  guint        n_chunks;
  double       residual;          /* ‖b − Ax‖ / ‖b‖ met during this iteration's data pass */
  double       tv;                /* TV of the volume (voxel values × voxel area) */
  double       tv_step;           /* ISER: the current TV step length (0 otherwise) */
  double       elapsed_s;
  /* preview (NULL when not due this time): slice @preview_y (volume slice index) as
   * preview_nx × preview_nz floats, x fastest */
  const float *preview;
  guint        preview_nx;
  guint        preview_nz;
  guint        preview_y;
  double       preview_residual;  /* reprojection error ‖b − Ax‖/‖b‖ of that slice */
} KilnReconIteration;

typedef void (*KilnReconIterationFunc) (const KilnReconIteration *it,
                                        gpointer                  user_data);

typedef struct
{
  KilnReconMethod method;
  guint        iterations;        /* SIRT/ISER iterations (300) */
  guint        data_passes;       /* ISER "application times" a (1) */
  guint        tv_steps;          /* ISER "application times" b (1) */
  double       sensitivity;       /* ISER TV step relative to the data step (1) */
  double       relaxation;        /* SIRT λ (1) */
  guint        subsets;           /* ordered subsets of tilts in a data pass (1 = SIRT, OS-SART
                                   * above); 0 = automatic: 1 for SIRT, one per ~10 tilts for
                                   * ISER (4 for 41 tilts) */
  gboolean     nonneg;            /* clamp at 0 after every data update (TRUE) */
  const guint8 *support;          /* nullable: X × Y × Z in the output layout, 0 = outside */
  const KilnVolume *initial;      /* nullable: resume from this volume (same output size) */
  KilnFilter   filter;            /* WBP filter (KILN_FILTER_RAMP) */
  double       filter_cutoff;     /* WBP apodisation cutoff, fraction of Nyquist (1) */
  double       axis_angle_deg;    /* 0 */
  double       axis_shift_px;     /* 0 */
  guint        thickness;         /* Z; 0 = image width */
  guint        width;             /* X; 0 = image width */
  guint        slice_start;       /* rows [slice_start, slice_end) along the axis; */
  guint        slice_end;         /* 0, 0 = all rows */
  gboolean     keep_on_cancel;    /* TRUE: stop-and-keep */
  gboolean     wbp_residual;      /* WBP: also compute the data residual (one forward
                                   * projection; TRUE) — FALSE leaves result->residual NAN */
  KilnReconIterationFunc iteration_func;
  gpointer     iteration_data;
  int          preview_y;         /* volume slice for previews; −1 = middle */
  double       preview_interval_s;/* minimum time between previews (1 s; 0 = every iteration) */
} KilnReconParams;

typedef struct
{
  guint    iterations_done;       /* complete iterations (of the last chunk) */
  gboolean stopped;               /* cancelled, the volume is the last complete iterate */
  double   residual;              /* ‖b − Ax‖/‖b‖ of the returned volume */
  double   tv;                    /* TV of the returned volume */
  double   seconds;
  guint    n_chunks;
  guint    subsets;               /* ordered subsets used per data pass */
  guint64  peak_bytes;            /* estimated peak of the buffers this call allocated */
} KilnReconResult;

/* Defaults: ISER, 300 iterations, 1×1, sensitivity 1, λ 1, automatic subsets, non-negativity,
 * ramp filter, all slices, keep on cancel, previews every 1 s of the middle slice. */
void        kiln_reconstruct_params_init    (KilnReconParams *params);
/* A quick look: reconstruct only @n_slices rows centred on row @centre_row. */
void        kiln_reconstruct_params_preview (KilnReconParams *params,
                                             guint            centre_row,
                                             guint            n_slices);

/* Reconstruct @stack (needs angles).  Returns a new volume (X × Y × Z, voxel size = pixel size)
 * or NULL with an error; fills @result (nullable). */
KilnVolume *kiln_reconstruct                (const KilnImageStack  *stack,
                                             const KilnReconParams *params,
                                             KilnReconResult       *result,
                                             GCancellable          *cancellable,
                                             KilnProgressFunc       progress,
                                             gpointer               progress_data,
                                             GError               **error);

G_END_DECLS
