/* kiln-simulate.h — a simulated time-resolved sintering experiment with ground truth
 *
 * The scene (kiln-phantom.h) evolves over the paper's 18 process times (pipeline.md); each time
 * point is acquired as a HAADF tilt series:
 *
 *   P_k      = line integrals of the phantom (weight × px), axis angle/shift applied,
 *              at the true angles (nominal + angle error)                     → projections
 *   E_k      = offset + gain · N_e · σ · (G_probe ⊛ P_k)                        → clean
 *              (N_e = dose per tilt × pixel area, σ = scatter_per_nm × pixel size: the HAADF
 *              scattering fraction per pixel of weight 1, gain = detector units per detected electron)
 *   D_k      = E_k moved by the drift transform drift[k] (IMOD .xf semantics: the content moves
 *              by (dx, dy))                                                    → noise_free
 *   tilts_k  = offset + gain · Poisson(N_e σ (D_k − offset)/(gain N_e σ)) + scan noise
 *              (kiln_noise_realize, kind scan_noise, variance scan_noise_variance)
 *
 * Determinism: every random draw comes from a GRand seeded from (seed, time point, tilt,
 * purpose), so OpenMP scheduling never changes results.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"
#include "kiln-imod.h"
#include "kiln-noise.h"
#include "kiln-phantom.h"
#include "kiln-progress.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_SIM_PRESET_TEACHING,   /* 128², 6 time points, a few particles, < 10 s */
  KILN_SIM_PRESET_PAPER,      /* 1024², 1.04 nm/px, 41 tilts, 18 time points */
} KilnSimPreset;

/* The paper's 18 series T1…T18. */
#define KILN_SIM_N_SCHEDULE 18

typedef struct
{
  /* scene */
  guint64       seed;
  guint         n_time_points;        /* 1 … 18; spread over the schedule, first and last kept */
  guint         size_px;              /* image width = height = volume nx = ny */
  guint         depth_px;             /* volume nz */
  double        pixel_size_nm;        /* nm per pixel and per voxel */
  guint         n_particles;          /* core particles */
  double        core_diameter_nm;     /* mean core diameter */
  double        core_diameter_sd_nm;  /* spread (normal, clipped at ±2 sd) */
  double        h_over_w_sd;          /* spread of rz/rx around 1 */
  gboolean      shell;                /* dim ~10 nm shell particles */
  double        shell_diameter_nm;
  double        shell_coverage;       /* shell particles per core surface, as area fraction */
  gboolean      membrane;
  double        membrane_thickness_nm;
  gboolean      scenario;             /* sintering pairs, P1 (approach) and P2 (disturbed) */
  /* acquisition */
  double        tilt_min_deg;
  double        tilt_max_deg;
  double        tilt_step_deg;
  double        angle_error_sd_deg;   /* random error of the true angles (0 = none) */
  double        axis_angle_deg;       /* tilt axis, CCW from image y */
  double        axis_shift_px;        /* ⟂ axis, + towards +x */
  double        probe_sigma_nm;       /* Gaussian probe blur (0 = none) */
  double        dose_e_nm2;           /* per series, > 0 */
  gboolean      shot_noise;           /* Poisson at that dose */
  double        scatter_per_nm;       /* fraction scattered to the detector per nm of weight 1 */
  double        detector_gain;        /* detector units per detected electron */
  double        detector_offset;      /* detector units of vacuum */
  KilnNoiseKind scan_noise;
  double        scan_noise_variance;  /* detector units², 0 = none */
  double        drift_sigma_px;       /* per tilt, per axis (normal), 0 = none */
  guint         supersample;          /* anti-aliasing sub-samples per axis (voxelisation) */
  gboolean      make_volume;          /* voxelise the truth volume/labels and 2D pair truth */
  guint         reference_frames;     /* frames averaged for reference/average50.tif */
} KilnSimParams;

void         kiln_sim_params_init          (KilnSimParams        *params,
                                            KilnSimPreset         preset);
gboolean     kiln_sim_preset_from_string   (const char           *name,
                                            KilnSimPreset        *preset);
const char  *kiln_sim_preset_to_string     (KilnSimPreset         preset);
/* Checks every field and the memory one time point needs (against kiln_memory_budget()). */
gboolean     kiln_sim_params_validate      (const KilnSimParams  *params,
                                            GError              **error);
guint        kiln_sim_n_tilts              (const KilnSimParams  *params);
/* Nominal angles (free with g_free). */
double      *kiln_sim_nominal_angles       (const KilnSimParams  *params,
                                            guint                *n_angles);
/* PT time (s) and process temperature (°C) of schedule entry @index (0…17: T1…T18). */
void         kiln_sim_schedule_entry       (guint                 index,
                                            double               *time_s,
                                            double               *temperature_c);
/* Schedule index (0…17) of time point @tp (0-based) of @params. */
guint        kiln_sim_schedule_index       (const KilnSimParams  *params,
                                            guint                 tp);

/* The scene at time point @tp (0-based). Labels are stable across time points. */
KilnPhantom *kiln_sim_phantom              (const KilnSimParams  *params,
                                            guint                 tp,
                                            GError              **error);
/* The pairs tracked in the truth tables (pairs.csv): labels, n_pairs × 2. */
guint32     *kiln_sim_tracked_pairs        (const KilnSimParams  *params,
                                            guint                *n_pairs);

typedef struct
{
  KilnSimParams      params;
  guint              time_point;           /* 0-based */
  double             time_s;
  double             temperature_c;
  guint              n_tilts;
  KilnImageStack    *tilts;                /* noisy, drifted; nominal angles; detector units */
  KilnImageStack    *noise_free;           /* expectation of @tilts (drifted, blurred) */
  KilnImageStack    *clean;                /* noise-free, undrifted, blurred; detector units */
  KilnImageStack    *projections;          /* line integrals (weight × px), undrifted, no blur */
  double            *true_angles_deg;      /* n_tilts: nominal + angle error */
  KilnXf            *drift;                /* n_tilts: drift applied (content moved by dx, dy) */
  double             axis_angle_deg;
  double             axis_shift_px;
  double             electrons_per_px;     /* N_e per tilt */
  double             counts_per_unit;      /* gain · N_e · σ: detector units per weight × px */
  KilnPhantom       *phantom;
  KilnVolume        *volume;               /* NULL unless make_volume */
  KilnLabelVolume   *labels;               /* NULL unless make_volume */
  guint              n_particles;
  KilnParticleTruth *particles;
  guint              n_pairs;
  KilnPairTruth     *pairs;                /* 2D fields NAN without make_volume */
} KilnSimTimePoint;

KilnSimTimePoint *kiln_sim_time_point_new  (const KilnSimParams  *params,
                                            guint                 tp,
                                            GCancellable         *cancellable,
                                            KilnProgressFunc      progress,
                                            gpointer              progress_data,
                                            GError              **error);
void         kiln_sim_time_point_free      (KilnSimTimePoint     *self);

/* The BM3D tuning pair: one raw frame and the mean of @params->reference_frames independent
 * frames of the same view (time point 0, 0° tilt, no drift), each width × height (size_px²),
 * newly allocated with g_free. */
gboolean     kiln_sim_reference_pair       (const KilnSimParams  *params,
                                            float               **raw,
                                            float               **average,
                                            GCancellable         *cancellable,
                                            GError              **error);

/* Writes the whole experiment (pipeline.md): OUTDIR/experiment.json, tpNN/tilts.mrc,
 * tpNN/angles.tlt, tpNN/truth/{volume.mrc,labels.mrc,particles.csv,pairs.csv,drift.xf,axis.json},
 * reference/raw.tif, reference/average50.tif. OUTDIR may exist only if empty. */
gboolean     kiln_sim_write_experiment     (const KilnSimParams  *params,
                                            const char           *outdir,
                                            GCancellable         *cancellable,
                                            KilnProgressFunc      progress,
                                            gpointer              progress_data,
                                            GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnSimTimePoint, kiln_sim_time_point_free)

G_END_DECLS
