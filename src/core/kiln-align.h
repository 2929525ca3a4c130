/* kiln-align.h — whole tilt-series alignment: coarse cross-correlation (or centre of mass), then
 * optional Mattes-MI refinement of each adjacent pair; per-tilt IMOD-style transforms, the aligned
 * stack with a mask of valid pixels, and a per-tilt residual table
 *
 * Every tilt k gets a transform X_k (KilnXf, IMOD .xf semantics about the image centre: X_k moves
 * the content of raw tilt k onto the common frame). The tilt nearest 0° is the reference
 * (X = identity). Translations: the content moves by +dx, +dy.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-csv.h"
#include "kiln-image-stack.h"
#include "kiln-imod.h"
#include "kiln-mattes-mi.h"
#include "kiln-progress.h"
#include "kiln-transform.h"
#include "kiln-xcorr.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_ALIGN_XCORR,   /* cross-correlation of adjacent tilts only */
  KILN_ALIGN_MI,      /* cross-correlation, then Mattes MI refinement of each pair */
  KILN_ALIGN_COM,     /* centre of mass only */
} KilnAlignMethod;

gboolean     kiln_align_method_from_string (const char         *name,
                                            KilnAlignMethod    *method);
const char  *kiln_align_method_to_string   (KilnAlignMethod     method);

/**
 * KilnAlignMiStretch:
 * @KILN_ALIGN_MI_STRETCH_OFF: the MI stage compares each pair by a rigid transform only
 * @KILN_ALIGN_MI_STRETCH_ON: the MI stage compares with the cosine stretch the coarse stage kept
 * @KILN_ALIGN_MI_STRETCH_AUTO: the MI stage refines every pair both unstretched and with the
 *   cosine stretch cos θ_r / cos θ_k (same fixed-image samples, so the values are comparable) and
 *   keeps the stretched refinements for the whole series when they raise its total MI by ≥ 10 %,
 *   else the unstretched ones (costs two refinements per pair)
 */
typedef enum
{
  KILN_ALIGN_MI_STRETCH_OFF = 0,
  KILN_ALIGN_MI_STRETCH_ON = 1,
  KILN_ALIGN_MI_STRETCH_AUTO = 2,
} KilnAlignMiStretch;

/**
 * KilnAlignParams:
 * @method: see #KilnAlignMethod (default MI)
 * @xcorr: the coarse stage (its axis_angle_deg is the tilt axis, default 0°)
 * @mi: the refinement stage (rotation off by default)
 * @mi_stretch: whether the MI stage compares each pair with a cosine stretch (default AUTO: the
 *   stretch is kept for the whole series when it raises the total MI by ≥ 10 %; a thin specimen
 *   filling the field is foreshortened by cos θ, which no translation absorbs, while compact
 *   objects are not foreshortened themselves)
 * @specimen_frame: fix what alignment cannot observe (a 3-D translation of the specimen, whose
 *   projection moves by X cos θ + Z sin θ across the axis) by putting the specimen's centre of
 *   mass on the tilt axis (default TRUE; methods xcorr and mi, not with a kept stretch; applied
 *   only where the centre of mass is meaningful, see KilnAlignResult.specimen_frame)
 */
typedef struct
{
  KilnAlignMethod      method;
  KilnXcorrParams      xcorr;
  KilnMiRegisterParams mi;
  KilnAlignMiStretch   mi_stretch;
  gboolean             specimen_frame;
} KilnAlignParams;

void         kiln_align_params_init        (KilnAlignParams    *params);

/**
 * KilnAlignTilt:
 * @angle_deg: the tilt angle (NAN without angles)
 * @neighbour: the tilt it was registered to (itself for the reference)
 * @dx_px, @dy_px: the translation of its transform (content moves by +dx, +dy)
 * @rotation_deg: the rotation of its transform (counter-clockwise, mathematical sense in x, y)
 * @xcorr_peak: normalised correlation coefficient with the neighbour at the xcorr peak (NAN if
 *   not computed; 1 for the reference)
 * @mi_nats: Mattes MI with the neighbour after refinement (NAN if not computed)
 * @refine_px: length of the correction the MI stage made to the pair's coarse shift (NAN if none)
 * @stretch: the cosine-stretch factor with which the pair was matched in the last stage that
 *   compared it (1 = unstretched; 1 for the reference and for centre-of-mass alignment)
 */
typedef struct
{
  double angle_deg;
  guint  neighbour;
  double dx_px;
  double dy_px;
  double rotation_deg;
  double xcorr_peak;
  double mi_nats;
  double refine_px;
  double stretch;
} KilnAlignTilt;

/**
 * KilnAlignResult:
 * @n_tilts: number of tilts
 * @reference: the index of the reference tilt (nearest 0°)
 * @method: how it was obtained
 * @xf: n_tilts transforms
 * @tilts: n_tilts per-tilt rows of the residual table
 * @has_rotation: whether rotations were estimated
 * @mi_evaluations: MI metric evaluations done
 * @specimen_frame: whether the specimen-frame step was applied (it needs angles, ≥ 7 tilts over
 *   ≥ 30°, a net signal of one sign in every tilt, and a centre-of-mass track that follows the
 *   rigid-body form c0 + c1 cos θ + c2 sin θ across the axis within 0.5 px RMS)
 * @specimen_fit_rms_px: RMS (px) of the centre-of-mass track about that form (NAN if not measured)
 */
typedef struct
{
  guint           n_tilts;
  guint           reference;
  KilnAlignMethod method;
  KilnXf         *xf;
  KilnAlignTilt  *tilts;
  gboolean        has_rotation;
  guint64         mi_evaluations;
  gboolean        specimen_frame;
  double          specimen_fit_rms_px;
} KilnAlignResult;

void             kiln_align_result_free    (KilnAlignResult    *result);
/* A result holding just transforms (e.g. loaded from an .xf file, to start from). */
KilnAlignResult *kiln_align_result_new_from_xf (const KilnXf   *xf,
                                                guint           n_tilts);

/* Align @stack (needs ≥ 1 tilt of ≥ 16 × 16 pixels; angles used for stretching, to pick the
 * reference and for the specimen frame). @start (nullable; e.g. the previous time point's result, same tilt count): with
 * method MI the coarse stage is skipped and each pair's refinement starts from @start's relative
 * transform; with XCORR and xcorr.max_shift_px > 0 the peak search is centred on @start's shifts.
 * Inputs are untouched. */
KilnAlignResult *kiln_align_series         (const KilnImageStack   *stack,
                                            const KilnAlignParams  *params,
                                            const KilnAlignResult  *start,
                                            GCancellable           *cancellable,
                                            KilnProgressFunc        progress,
                                            gpointer                progress_data,
                                            GError                **error);

/* Resample every tilt through its transform (@xf, n_tilts of them) with @interp; pixels with no
 * source get the tilt's mean. @mask (nullable) gets a newly kiln_alloc'ed n_tilts × height ×
 * width array, 1 where the pixel came from inside the raw tilt (free with kiln_free). */
KilnImageStack  *kiln_align_apply          (const KilnImageStack   *stack,
                                            const KilnXf           *xf,
                                            KilnInterp              interp,
                                            guint8                **mask,
                                            GCancellable           *cancellable,
                                            KilnProgressFunc        progress,
                                            gpointer                progress_data,
                                            GError                **error);

/* The residual table: tilt, angle_deg, neighbour, dx_px, dy_px, rotation_deg, xcorr_peak,
 * mi_nats, refine_px, stretch. */
KilnCsv         *kiln_align_residual_table (const KilnAlignResult  *result);

/* RMS (px) over @n tilts of the residual r_k = a_k + b_k of two sets of translations (@a NULL:
 * zero; typically a = the alignment found, b = the known drift) after removing what no
 * alignment of projections can observe: along the axis a constant, across it
 * c0 + c1·cos θ + c2·sin θ (the axis offset and the projection of a 3-D translation of the
 * object), fitted by least squares. @axis_deg: tilt axis, CCW from image y. */
double           kiln_align_rms_error_unobservable_removed (const KilnXf *a,
                                                            const KilnXf *b,
                                                            const double *angles_deg,
                                                            double        axis_deg,
                                                            guint         n);

G_END_DECLS
