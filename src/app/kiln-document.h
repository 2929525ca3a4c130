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

G_END_DECLS
