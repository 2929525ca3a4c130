/* kiln-pipeline.h — run the recorded steps of an experiment (denoise → align → axis →
 * reconstruct → segment → measure) for one time point, skipping unchanged steps
 *
 * Parameters come from experiment.json "steps" (one object per step; missing keys take the
 * defaults of docs/pipeline.md, unknown keys are an error). Outputs are written next to the
 * experiment (tpNN/denoised.mrc, …) atomically. Each step's content hash — SHA-256 over the
 * step name, the canonical JSON of its effective parameters and the bytes of its input files —
 * is recorded with its outputs in tpNN/results.json (written atomically by the process that ran
 * the time point; experiment.json is only read by workers); a step whose hash is unchanged and
 * whose outputs still have their recorded SHA-256 is skipped. kiln_pipeline_merge() copies every
 * time point's results into experiment.json ("steps".STEP."results".tpNN). A log with timings
 * is appended to tpNN/run.log. An axis set in the app (tpNN/axis.json with "source": "manual")
 * is kept by the axis step, never searched again; results saved by the app carry the same
 * provenance (kiln_pipeline_record_step), so a run skips them while nothing changed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-experiment.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_STEP_DENOISE,
  KILN_STEP_ALIGN,
  KILN_STEP_AXIS,
  KILN_STEP_RECONSTRUCT,
  KILN_STEP_SEGMENT,
  KILN_STEP_MEASURE,
  KILN_N_STEPS
} KilnStep;

#define KILN_STEPS_ALL ((1u << KILN_N_STEPS) - 1)

const char *kiln_step_to_string          (KilnStep               step);
gboolean    kiln_step_from_string        (const char            *name,
                                          KilnStep              *step);
/* "denoise,align,…" → a bit mask (1 << KilnStep); error names the bad step. */
gboolean    kiln_steps_parse             (const char            *list,
                                          guint                 *mask,
                                          GError               **error);

/* The effective parameters of @step: defaults overlaid with experiment.json's
 * "steps".STEP (without "results"). Error on unknown keys or wrong types. New object. */
JsonObject *kiln_pipeline_step_params    (const KilnExperiment  *experiment,
                                          KilnStep               step,
                                          GError               **error);
/* The default parameters of @step (new object). */
JsonObject *kiln_pipeline_step_defaults  (KilnStep               step);
/* Compact JSON with object members sorted by name, recursively (what the hash covers). */
char       *kiln_pipeline_canonical_json (JsonNode              *node);

/* What one step did for one time point. */
typedef struct
{
  KilnStep step;
  gboolean skipped;     /* unchanged: outputs kept */
  double   seconds;     /* of this run (0 when skipped) */
  char    *hash;        /* hex SHA-256 */
} KilnStepReport;

/* Run the steps in @steps_mask (in pipeline order) for time point @index of @experiment
 * (which must have been loaded from its folder). @force: run even when unchanged. Returns the
 * time point's results object (as written to tpNN/results.json; new reference) or NULL.
 * @reports (nullable) gets one KilnStepReport per step run or skipped (free the hashes with
 * kiln_step_report_clear, or use g_array_set_clear_func). Cancelled → G_IO_ERROR_CANCELLED,
 * earlier steps' outputs and results kept, the current step's outputs untouched. */
JsonObject *kiln_pipeline_run_time_point (const KilnExperiment  *experiment,
                                          guint                  index,
                                          guint                  steps_mask,
                                          gboolean               force,
                                          GArray                *reports,
                                          GCancellable          *cancellable,
                                          KilnProgressFunc       progress,
                                          gpointer               progress_data,
                                          GError               **error);
void        kiln_step_report_clear       (gpointer               report);

/* Record in tpNN/results.json that the outputs of @step for time point @index, already saved
 * in the pipeline layout (tpNN/aligned.mrc, …) by someone else (@origin, e.g. "app"), were made
 * from @params (a "steps".STEP object as experiment.json holds it; NULL = the experiment's
 * current one): the same hash, parameters, inputs and outputs kiln_pipeline_run_time_point
 * would record (plus "origin"), so that a following run skips the step while nothing changed.
 * @details (nullable) is copied. A missing input or output is an error naming the file; the
 * outcome is also appended to tpNN/run.log. */
gboolean    kiln_pipeline_record_step    (const KilnExperiment  *experiment,
                                          guint                  index,
                                          KilnStep               step,
                                          JsonObject            *params,
                                          JsonObject            *details,
                                          const char            *origin,
                                          GError               **error);

/* The results of time point @index (tpNN/results.json), or NULL (no error) when absent. */
JsonObject *kiln_pipeline_load_results   (const KilnExperiment  *experiment,
                                          guint                  index,
                                          GError               **error);

/* Merge every time point's results.json into @experiment ("steps".STEP."results".NAME, plus
 * the parameters stay as recorded) and save experiment.json atomically. Returns the
 * number of time points that had results. */
gboolean    kiln_pipeline_merge          (KilnExperiment        *experiment,
                                          guint                 *n_merged,
                                          GError               **error);

/* The methods paragraph (plain text) from @experiment's parameters and merged results. */
char       *kiln_pipeline_methods        (const KilnExperiment  *experiment,
                                          GError               **error);

G_END_DECLS
