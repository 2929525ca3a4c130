/* kiln-document.h — what the window shows: an experiment's time points and their data
 *
 * A document is either a Kiln experiment folder (experiment.json, many time points) or a single
 * imported tilt series (one time point). Tilt series are loaded lazily, in worker threads.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln.h"

G_BEGIN_DECLS

#define KILN_TYPE_DOCUMENT (kiln_document_get_type ())

G_DECLARE_FINAL_TYPE (KilnDocument, kiln_document, KILN, DOCUMENT, GObject)

KilnDocument   *kiln_document_new                  (void);
const char     *kiln_document_get_title            (KilnDocument  *self);
guint           kiln_document_get_n_time_points    (KilnDocument  *self);
/* "T3 · 12 s · 370 °C" */
char           *kiln_document_dup_time_point_label (KilnDocument  *self,
                                                    guint          index);
/* The loaded tilt stack of a time point, or NULL while not loaded. */
KilnImageStack *kiln_document_get_stack            (KilnDocument  *self,
                                                    guint          index);
/* The experiment (NULL for a single imported series). */
KilnExperiment *kiln_document_get_experiment       (KilnDocument  *self);

/* PT time (s) and temperature (°C) of a time point; NAN when unknown. */
double          kiln_document_get_time_s           (KilnDocument  *self,
                                                    guint          index);
double          kiln_document_get_temperature_c    (KilnDocument  *self,
                                                    guint          index);

/* A time point's volume and labels (either may be NULL), for the 3D view and measurements:
 * today the simulator's ground truth (truth/volume.mrc, truth/labels.mrc) of the experiment. */
typedef struct
{
  KilnVolume      *volume;
  KilnLabelVolume *labels;
} KilnVolumePair;

void            kiln_volume_pair_free              (KilnVolumePair *pair);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnVolumePair, kiln_volume_pair_free)

/* Path of the label volume of time point @index, or NULL. Free with g_free. */
char           *kiln_document_dup_labels_path      (KilnDocument  *self,
                                                    guint          index);
/* TRUE when time point @index has a volume to show. */
gboolean        kiln_document_has_volume           (KilnDocument  *self,
                                                    guint          index);
void            kiln_document_load_volume_async    (KilnDocument        *self,
                                                    guint                index,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
KilnVolumePair *kiln_document_load_volume_finish   (KilnDocument        *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

/* Open @file: a folder holding experiment.json, an experiment.json, or a tilt-series file
 * (TIFF, MRC, DM3, DM4). Loads the first time point's tilts. */
void            kiln_document_open_async           (KilnDocument        *self,
                                                    GFile               *file,
                                                    GCancellable        *cancellable,
                                                    KilnProgressFunc     progress,
                                                    gpointer             progress_data,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean        kiln_document_open_finish          (KilnDocument        *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

/* Load the tilts of time point @index if they are not loaded yet. */
void            kiln_document_load_time_point_async  (KilnDocument        *self,
                                                      guint                index,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
KilnImageStack *kiln_document_load_time_point_finish (KilnDocument        *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

/* Create the demo experiment (simulator, teaching preset, fixed seed) in @dir if it does not
 * hold one yet; returns the folder through the task. */
void            kiln_document_make_demo_async      (const char          *dir,
                                                    GCancellable        *cancellable,
                                                    KilnProgressFunc     progress,
                                                    gpointer             progress_data,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
char           *kiln_document_make_demo_finish     (GAsyncResult        *result,
                                                    GError             **error);


/* ---- Results of the processing steps, per time point ------------------------------------- */

/* The processing steps after Experiment, in pipeline order. */
typedef enum
{
  KILN_DOC_STEP_DENOISE,
  KILN_DOC_STEP_ALIGN,
  KILN_DOC_STEP_TILT_AXIS,
  KILN_DOC_STEP_RECONSTRUCT,
  KILN_DOC_STEP_SEGMENT,
  KILN_DOC_N_STEPS
} KilnDocStep;

/* "denoise", "align", "tilt-axis", "reconstruct", "segment" (the sidebar row names). */
const char     *kiln_doc_step_to_string                (KilnDocStep       step);

/* Whether time point @index has the result of @step. */
gboolean        kiln_document_has_result           (KilnDocument  *self,
                                                    guint          index,
                                                    KilnDocStep       step);
/* The input a step works on: the latest earlier result, e.g. the aligned stack for the tilt
 * axis, else the denoised one, else the raw tilts (NULL while not loaded). */
KilnImageStack *kiln_document_get_input_stack      (KilnDocument  *self,
                                                    guint          index,
                                                    KilnDocStep       step);
/* Results (getters return borrowed pointers or NULL; setters keep a reference / copy and emit
 * "results-changed" with the time point index). NULL clears. */
KilnImageStack *kiln_document_get_denoised         (KilnDocument  *self,
                                                    guint          index);
void            kiln_document_set_denoised         (KilnDocument  *self,
                                                    guint          index,
                                                    KilnImageStack *stack);
/* @xf: n_tilts transforms of the aligned stack (copied). */
KilnImageStack *kiln_document_get_aligned          (KilnDocument  *self,
                                                    guint          index);
const KilnXf   *kiln_document_get_alignment        (KilnDocument  *self,
                                                    guint          index,
                                                    guint         *n_xf);
void            kiln_document_set_aligned          (KilnDocument  *self,
                                                    guint          index,
                                                    const KilnXf  *xf,
                                                    KilnImageStack *aligned);
gboolean        kiln_document_get_axis             (KilnDocument  *self,
                                                    guint          index,
                                                    double        *angle_deg,
                                                    double        *shift_px);
void            kiln_document_set_axis             (KilnDocument  *self,
                                                    guint          index,
                                                    double         angle_deg,
                                                    double         shift_px);
void            kiln_document_clear_axis           (KilnDocument  *self,
                                                    guint          index);
KilnVolume     *kiln_document_get_reconstruction   (KilnDocument  *self,
                                                    guint          index);
void            kiln_document_set_reconstruction   (KilnDocument  *self,
                                                    guint          index,
                                                    KilnVolume    *volume);
KilnLabelVolume *kiln_document_get_labels          (KilnDocument  *self,
                                                    guint          index);
void            kiln_document_set_labels           (KilnDocument  *self,
                                                    guint          index,
                                                    KilnLabelVolume *labels);
/* Record the parameters of a step in the experiment ("steps" of experiment.json); takes a
 * reference. No-op for a single imported series. */
void            kiln_document_set_step_params      (KilnDocument  *self,
                                                    KilnDocStep       step,
                                                    JsonObject    *params);
/* The same, as an undo step of its own (never merged with a change before or after it): for
 * discrete edits such as a hand fix, as opposed to a slider drag. */
void            kiln_document_set_step_params_discrete (KilnDocument *self,
                                                        KilnDocStep   step,
                                                        JsonObject   *params);
JsonObject     *kiln_document_get_step_params      (KilnDocument  *self,
                                                    KilnDocStep       step);
/* Undo/redo of parameter changes (kiln_document_set_step_params). Changes of the same step
 * within 0.6 s are one undo step (a slider drag). Undo/redo emit "params-changed" (KilnDocStep as
 * guint) so that panels reload their controls from kiln_document_get_step_params(). */
gboolean        kiln_document_can_undo             (KilnDocument  *self);
gboolean        kiln_document_can_redo             (KilnDocument  *self);
gboolean        kiln_document_undo                 (KilnDocument  *self);
gboolean        kiln_document_redo                 (KilnDocument  *self);
/* TRUE when results or parameters changed since opening / the last save. */
gboolean        kiln_document_get_modified         (KilnDocument  *self);
/* Save the results as MRC/.xf files under DIR/results/<time point>/ and the parameters and
 * result paths into DIR/experiment.json (every file atomically). Needs an experiment folder. */
gboolean        kiln_document_save                 (KilnDocument  *self,
                                                    GError       **error);


/* ---- Experiment metadata (the Experiment panel) -------------------------------------------- */

/* "params-changed" carries this value when undo/redo restored the experiment's metadata (pixel
 * size, PT times, temperatures, angle files) rather than a step's parameters. */
#define KILN_DOC_EXPERIMENT_EDIT KILN_DOC_N_STEPS
/* "params-changed" carries this value when undo/redo restored a time point's tilt axis
 * (kiln_document_set_axis / _clear_axis are undoable; changes of the same time point's axis
 * within 0.6 s are one undo step, like a slider drag). */
#define KILN_DOC_AXIS_EDIT (KILN_DOC_N_STEPS + 1)

/* Pixel size (nm) of the experiment (of the series for a single one); 0 when unknown. */
double          kiln_document_get_pixel_size_nm    (KilnDocument  *self);
/* Undoable edits (one undo step per control, like step parameters). Values must be finite
 * (pixel size > 0); return FALSE (nothing changed) otherwise. */
gboolean        kiln_document_set_pixel_size_nm    (KilnDocument  *self,
                                                    double         pixel_size_nm);
gboolean        kiln_document_set_time_s           (KilnDocument  *self,
                                                    guint          index,
                                                    double         time_s);
gboolean        kiln_document_set_temperature_c    (KilnDocument  *self,
                                                    guint          index,
                                                    double         temperature_c);
/* The tilt-series file and the .tlt of a time point (absolute; angles NULL when from the file). */
const char     *kiln_document_get_time_point_path  (KilnDocument  *self,
                                                    guint          index);
const char     *kiln_document_get_angles_path      (KilnDocument  *self,
                                                    guint          index);
/* Take the tilt angles of time point @index from the .tlt @path (NULL: from the series file).
 * Undoable. A loaded stack gets the angles when their count matches its tilts; otherwise
 * kiln_document_validate() reports the mismatch. Error when @path cannot be read. */
gboolean        kiln_document_set_angles_path      (KilnDocument  *self,
                                                    guint          index,
                                                    const char    *path,
                                                    GError       **error);
/* Problems that make the experiment unusable or suspicious, one sentence each (NULL-terminated,
 * empty when all is well): missing pixel size, unknown or non-monotonic PT times, angle count ≠
 * tilt count, series without angles. Free with g_strfreev. */
char          **kiln_document_validate             (KilnDocument  *self);

typedef enum
{
  KILN_IMPORT_BY_NAME,      /* natural order of the file names */
  KILN_IMPORT_BY_TIME,      /* acquisition time: the series metadata, else the file modification time */
} KilnImportOrder;

/* Import tilt series (TIFF, MRC, DM3, DM4) as new time points, read in a worker. Each file's
 * sibling NAME.tlt (or NAME.rawtlt), if present, gives its angles. A document holding a single
 * series becomes an unsaved experiment (save it with kiln_document_save_as). Undo history of
 * the metadata is kept. */
void            kiln_document_import_async         (KilnDocument        *self,
                                                    GFile              **files,
                                                    guint                n_files,
                                                    KilnImportOrder      order,
                                                    GCancellable        *cancellable,
                                                    KilnProgressFunc     progress,
                                                    gpointer             progress_data,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* Returns the number of time points added. */
guint           kiln_document_import_finish        (KilnDocument        *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
/* Folder of the experiment (NULL for a single series or an unsaved import). */
const char     *kiln_document_get_folder           (KilnDocument  *self);
/* Save into folder @dir (created if needed): series outside it are written as
 * DIR/tpNN/tilts.mrc (+ angles.tlt), then as kiln_document_save(). Needs a pixel size. */
gboolean        kiln_document_save_as              (KilnDocument  *self,
                                                    const char    *dir,
                                                    GError       **error);

/* ---- Methods paragraph ----------------------------------------------------------------------- */

/* The experiment as kiln-cli run sees it: the app's step parameters translated to the
 * pipeline's keys (docs/pipeline.md) and the per-time-point axes as steps.axis.results.
 * NULL for a single series. */
KilnExperiment *kiln_document_dup_pipeline_experiment (KilnDocument *self);
/* The methods paragraph of the current analysis (kiln_pipeline_methods). */
char           *kiln_document_dup_methods          (KilnDocument  *self,
                                                    GError       **error);

/* ---- Autosave ------------------------------------------------------------------------------ */

/* Where the autosave of this document goes: DIR/.experiment.autosave.json, or for documents
 * without a folder $XDG_STATE_HOME/kiln/autosave/<hash of the series paths>.json. */
char           *kiln_document_dup_autosave_path    (KilnDocument  *self);
/* Write the state (metadata, step parameters, per-time-point axes; no image data) atomically. */
gboolean        kiln_document_autosave             (KilnDocument  *self,
                                                    GError       **error);
/* TRUE when an autosave exists that is newer than the saved experiment.json (the previous
 * session did not end cleanly). */
gboolean        kiln_document_has_newer_autosave   (KilnDocument  *self);
/* Apply the autosave (marks the document modified; the restore is one undo step per part). */
gboolean        kiln_document_restore_autosave     (KilnDocument  *self,
                                                    GError       **error);
void            kiln_document_remove_autosave      (KilnDocument  *self);

G_END_DECLS

G_BEGIN_DECLS
/* Teaching. Path of file @name (e.g. "volume.mrc", "labels.mrc", "drift.xf") in the simulator's
 * truth folder of time point @index, or NULL when the experiment has none. Free with g_free. */
char           *kiln_document_dup_truth_path       (KilnDocument  *self,
                                                    guint          index,
                                                    const char    *name);
/* The simulator's parameters of a simulated experiment ("simulation" of experiment.json), so
 * that a time point's noise-free tilts can be made again (kiln_sim_time_point_new); FALSE when
 * the experiment was not simulated or the parameters are invalid. */
gboolean        kiln_document_get_sim_params       (KilnDocument  *self,
                                                    KilnSimParams *params);
G_END_DECLS
