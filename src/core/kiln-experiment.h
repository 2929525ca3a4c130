/* kiln-experiment.h — a Kiln experiment folder and its experiment.json
 *
 * experiment.json (format_version 1):
 * {
 *   "format_version": 1,
 *   "title": "…",
 *   "pixel_size_nm": 1.04,
 *   "time_points": [
 *     { "name": "tp01", "pt_time_s": 0, "temperature_C": 372,
 *       "tilts": "tp01/tilts.mrc", "angles": "tp01/angles.tlt",
 *       "truth": "tp01/truth" },                  // "truth" optional
 *     …
 *   ],
 *   "reference": { "raw": "reference/raw.tif", "average": "reference/average50.tif" },  // optional
 *   "simulation": { … },                          // optional: parameters of kiln-cli simulate
 *   "steps": { "denoise": { … }, "align": { … }, … }  // optional: per-step parameters/results
 * }
 * Paths are relative to the folder (no absolute paths, no "..").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define KILN_EXPERIMENT_FORMAT_VERSION 1

typedef struct
{
  char   *name;            /* "tp01" */
  double  time_s;          /* PT time, s */
  double  temperature_c;   /* process temperature, °C */
  char   *tilts;           /* relative path of the tilt series */
  char   *angles;          /* relative path of the .tlt, or NULL */
  char   *truth;           /* relative path of the truth folder, or NULL */
} KilnExperimentTimePoint;

typedef struct
{
  int         format_version;
  char       *title;
  double      pixel_size_nm;
  GPtrArray  *time_points;      /* of KilnExperimentTimePoint* (owned) */
  char       *reference_raw;    /* relative, or NULL */
  char       *reference_average;
  JsonObject *simulation;       /* or NULL */
  JsonObject *steps;            /* never NULL (may be empty) */
  char       *dir;              /* folder it was loaded from / saved to, or NULL */
} KilnExperiment;

KilnExperiment *kiln_experiment_new             (void);
void            kiln_experiment_free            (KilnExperiment        *self);
KilnExperimentTimePoint *
                kiln_experiment_add_time_point  (KilnExperiment        *self,
                                                 const char            *name,
                                                 double                 time_s,
                                                 double                 temperature_c,
                                                 const char            *tilts,
                                                 const char            *angles,
                                                 const char            *truth);
/* Absolute path of a relative path in the experiment (NULL-safe). Free with g_free. */
char           *kiln_experiment_path            (const KilnExperiment  *self,
                                                 const char            *relative);
/* Set (replace) the object of one step ("denoise", …); takes a reference to @object. */
void            kiln_experiment_set_step        (KilnExperiment        *self,
                                                 const char            *step,
                                                 JsonObject            *object);
JsonObject     *kiln_experiment_get_step        (const KilnExperiment  *self,
                                                 const char            *step);

JsonNode       *kiln_experiment_to_json         (const KilnExperiment  *self);
/* Validates: format_version (known), pixel_size_nm > 0, ≥ 1 time point, each with a unique
 * name, finite pt_time_s, and a relative "tilts" path without ".."; errors name @source. */
KilnExperiment *kiln_experiment_from_json       (JsonNode              *node,
                                                 const char            *source,
                                                 GError               **error);
/* @path: the folder or its experiment.json. Does not check that the named files exist. */
KilnExperiment *kiln_experiment_load            (const char            *path,
                                                 GError               **error);
/* Writes DIR/experiment.json atomically and sets self->dir. */
gboolean        kiln_experiment_save            (KilnExperiment        *self,
                                                 const char            *dir,
                                                 GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnExperiment, kiln_experiment_free)

G_END_DECLS
