/* kiln-document.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "kiln-document.h"

typedef struct
{
  char           *name;
  double          pt_time_s;
  double          temperature_c;
  char           *path;          /* absolute */
  char           *angles_path;   /* absolute, or NULL */
  char           *truth_dir;     /* absolute, or NULL */
  KilnImageStack *stack;
  KilnVolumePair *volumes;       /* cached */
  /* step results */
  KilnImageStack *denoised;
  KilnImageStack *aligned;
  KilnXf         *xf;
  guint           n_xf;
  gboolean        has_axis;
  double          axis_angle_deg;
  double          axis_shift_px;
  KilnVolume     *recon;
  KilnLabelVolume *labels;
  gboolean        results_loaded;
  /* saved result files (absolute), from experiment.json */
  char           *saved_denoised;
  char           *saved_aligned;
  char           *saved_xf;
  char           *saved_recon;
  char           *saved_labels;
  /* provenance: the step parameters a result set by the app was computed with (NULL: not set
   * by the app since the last save), recorded in tpNN/results.json when saved */
  JsonObject     *made_with[KILN_DOC_N_STEPS];
  gboolean        axis_from_pipeline;   /* the axis is kiln-cli run's, not set in the app */
} TimePoint;

struct _KilnDocument
{
  GObject         parent_instance;
  char           *title;
  KilnExperiment *experiment;
  GPtrArray      *time_points;
  gboolean        modified;
  GQueue          undo;           /* of ParamChange*, most recent first */
  GQueue          redo;
  gint64          last_change_us;
};

/* One undoable parameter change: the step's parameters before (NULL: none) and after. */
typedef struct
{
  KilnDocStep    step;
  JsonObject *before;
  JsonObject *after;
} ParamChange;

static void   apply_metadata       (KilnDocument *self,
                                    JsonObject   *snapshot);
static gint64 modification_time_us (const char   *path);
static double json_number_or_nan   (JsonObject   *o,
                                    const char   *key);
static gboolean path_is_inside     (const char   *path,
                                    const char   *dir);
static void   pipeline_output      (KilnExperiment *experiment,
                                    JsonObject     *steps,
                                    const char     *step,
                                    const char     *tp_name,
                                    const char     *file,
                                    char          **slot);

static void
param_change_free (gpointer data)
{
  ParamChange *c = data;

  g_clear_pointer (&c->before, json_object_unref);
  g_clear_pointer (&c->after, json_object_unref);
  g_free (c);
}

enum {
  SIGNAL_RESULTS_CHANGED,
  SIGNAL_PARAMS_CHANGED,
  SIGNAL_METADATA_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_TITLE,
  PROP_N_TIME_POINTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (KilnDocument, kiln_document, G_TYPE_OBJECT)

static void
time_point_free (gpointer data)
{
  TimePoint *tp = data;

  g_free (tp->name);
  g_free (tp->path);
  g_free (tp->angles_path);
  g_free (tp->truth_dir);
  g_clear_pointer (&tp->stack, kiln_image_stack_unref);
  g_clear_pointer (&tp->volumes, kiln_volume_pair_free);
  g_clear_pointer (&tp->denoised, kiln_image_stack_unref);
  g_clear_pointer (&tp->aligned, kiln_image_stack_unref);
  g_free (tp->xf);
  g_clear_pointer (&tp->recon, kiln_volume_unref);
  g_clear_pointer (&tp->labels, kiln_label_volume_unref);
  g_free (tp->saved_denoised);
  g_free (tp->saved_aligned);
  g_free (tp->saved_xf);
  g_free (tp->saved_recon);
  g_free (tp->saved_labels);
  for (guint s = 0; s < KILN_DOC_N_STEPS; s++)
    g_clear_pointer (&tp->made_with[s], json_object_unref);
  g_free (tp);
}

static void
kiln_document_finalize (GObject *object)
{
  KilnDocument *self = KILN_DOCUMENT (object);

  g_free (self->title);
  g_clear_pointer (&self->experiment, kiln_experiment_free);
  g_ptr_array_unref (self->time_points);
  g_queue_clear_full (&self->undo, param_change_free);
  g_queue_clear_full (&self->redo, param_change_free);
  G_OBJECT_CLASS (kiln_document_parent_class)->finalize (object);
}

static void
kiln_document_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  KilnDocument *self = KILN_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_N_TIME_POINTS:
      g_value_set_uint (value, self->time_points->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_document_class_init (KilnDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_document_finalize;
  object_class->get_property = kiln_document_get_property;

  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_TIME_POINTS] = g_param_spec_uint ("n-time-points", NULL, NULL, 0, G_MAXUINT, 0,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* ::results-changed (guint index): a step result of time point @index was set or cleared. */
  signals[SIGNAL_RESULTS_CHANGED] = g_signal_new ("results-changed", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 1, G_TYPE_UINT);
  /* ::params-changed (guint step): the parameters of a step were restored by undo/redo. */
  signals[SIGNAL_PARAMS_CHANGED] = g_signal_new ("params-changed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_UINT);
  /* ::metadata-changed: pixel size, PT times, temperatures, angle files or the time points
   * themselves changed (edit, undo/redo, import). */
  signals[SIGNAL_METADATA_CHANGED] = g_signal_new ("metadata-changed", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 0);
}

static void
kiln_document_init (KilnDocument *self)
{
  self->time_points = g_ptr_array_new_with_free_func (time_point_free);
}

KilnDocument *
kiln_document_new (void)
{
  return g_object_new (KILN_TYPE_DOCUMENT, NULL);
}

const char *
kiln_document_get_title (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  return self->title;
}

KilnExperiment *
kiln_document_get_experiment (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  return self->experiment;
}

guint
kiln_document_get_n_time_points (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), 0);
  return self->time_points->len;
}

char *
kiln_document_dup_time_point_label (KilnDocument *self,
                                    guint         index)
{
  TimePoint *tp;
  GString *s;

  g_return_val_if_fail (index < self->time_points->len, NULL);
  tp = g_ptr_array_index (self->time_points, index);
  s = g_string_new (NULL);
  g_string_append_printf (s, "T%u", index + 1);
  if (isfinite (tp->pt_time_s))
    g_string_append_printf (s, " · %g s", tp->pt_time_s);
  if (isfinite (tp->temperature_c))
    g_string_append_printf (s, " · %g °C", tp->temperature_c);
  return g_string_free (s, FALSE);
}

KilnImageStack *
kiln_document_get_stack (KilnDocument *self,
                         guint         index)
{
  TimePoint *tp;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  if (index >= self->time_points->len)
    return NULL;
  tp = g_ptr_array_index (self->time_points, index);
  return tp->stack;
}

/* Saved step results of one time point, read in a worker. */
typedef struct
{
  char           *denoised_path;
  char           *aligned_path;
  char           *xf_path;
  KilnImageStack *denoised;
  KilnImageStack *aligned;
  KilnXf         *xf;
  guint           n_xf;
} SavedResults;

static void
saved_results_free (SavedResults *r)
{
  if (r == NULL)
    return;
  g_free (r->denoised_path);
  g_free (r->aligned_path);
  g_free (r->xf_path);
  g_clear_pointer (&r->denoised, kiln_image_stack_unref);
  g_clear_pointer (&r->aligned, kiln_image_stack_unref);
  g_free (r->xf);
  g_free (r);
}

static char *
result_path (KilnExperiment *experiment,
             JsonObject     *entry,
             const char     *key)
{
  const char *rel;

  if (entry == NULL || !json_object_has_member (entry, key))
    return NULL;
  rel = json_object_get_string_member_with_default (entry, key, NULL);
  if (rel == NULL || g_path_is_absolute (rel) || strstr (rel, "..") != NULL)
    return NULL;
  return kiln_experiment_path (experiment, rel);
}

static JsonObject *
results_entry (KilnExperiment *experiment,
               const char     *tp_name)
{
  JsonObject *results;

  if (experiment == NULL)
    return NULL;
  results = kiln_experiment_get_step (experiment, "results");
  if (results == NULL || !json_object_has_member (results, tp_name))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_object_get_member (results, tp_name)))
    return NULL;
  return json_object_get_object_member (results, tp_name);
}

static SavedResults *
saved_results_new (KilnExperiment *experiment,
                   const char     *tp_name)
{
  JsonObject *entry = results_entry (experiment, tp_name);
  SavedResults *r = g_new0 (SavedResults, 1);

  r->denoised_path = result_path (experiment, entry, "denoised");
  r->aligned_path = result_path (experiment, entry, "aligned");
  r->xf_path = result_path (experiment, entry, "alignment");
  /* what kiln-cli run computed, for what the app did not record */
  for (guint i = 0; i < experiment->time_points->len; i++)
    {
      KilnExperimentTimePoint *etp = g_ptr_array_index (experiment->time_points, i);
      g_autoptr(JsonObject) results = NULL;
      JsonObject *steps;

      if (!g_str_equal (etp->name, tp_name))
        continue;
      results = kiln_pipeline_load_results (experiment, i, NULL);
      if (results == NULL)
        break;
      steps = json_object_get_object_member (results, "steps");
      pipeline_output (experiment, steps, "denoise", tp_name, "denoised.mrc", &r->denoised_path);
      if (r->aligned_path == NULL)
        {
          g_clear_pointer (&r->xf_path, g_free);
          pipeline_output (experiment, steps, "align", tp_name, "aligned.mrc", &r->aligned_path);
          pipeline_output (experiment, steps, "align", tp_name, "align.xf", &r->xf_path);
        }
      break;
    }
  return r;
}

/* Worker: read the saved stacks/transforms named in @r; errors name the file. */
static gboolean
saved_results_read (SavedResults  *r,
                    double         pixel_size_nm,
                    GCancellable  *cancellable,
                    GError       **error)
{
  if (r->denoised_path != NULL && g_file_test (r->denoised_path, G_FILE_TEST_EXISTS))
    {
      r->denoised = kiln_mrc_load_stack (r->denoised_path, cancellable, error);
      if (r->denoised == NULL)
        return FALSE;
    }
  if (r->aligned_path != NULL && r->xf_path != NULL &&
      g_file_test (r->aligned_path, G_FILE_TEST_EXISTS))
    {
      r->aligned = kiln_mrc_load_stack (r->aligned_path, cancellable, error);
      if (r->aligned == NULL)
        return FALSE;
      r->xf = kiln_xf_load (r->xf_path, &r->n_xf, error);
      if (r->xf == NULL)
        return FALSE;
      if (r->n_xf != r->aligned->n_tilts)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                       _("%s has %u transforms but %s has %u tilts"), r->xf_path, r->n_xf,
                       r->aligned_path, r->aligned->n_tilts);
          return FALSE;
        }
    }
  if (r->denoised != NULL && r->denoised->pixel_size_nm <= 0)
    r->denoised->pixel_size_nm = pixel_size_nm;
  if (r->aligned != NULL && r->aligned->pixel_size_nm <= 0)
    r->aligned->pixel_size_nm = pixel_size_nm;
  return TRUE;
}

/* Main thread: adopt what was read (unless set meanwhile). */
static void
time_point_adopt_results (TimePoint    *tp,
                          SavedResults *r)
{
  if (r == NULL || tp->results_loaded)
    return;
  tp->results_loaded = TRUE;
  if (tp->denoised == NULL && r->denoised != NULL)
    tp->denoised = g_steal_pointer (&r->denoised);
  if (tp->aligned == NULL && r->aligned != NULL)
    {
      tp->aligned = g_steal_pointer (&r->aligned);
      g_free (tp->xf);
      tp->xf = g_steal_pointer (&r->xf);
      tp->n_xf = r->n_xf;
    }
}

/* Worker: read a tilt series and its angles. */
static KilnImageStack *
read_stack (const char    *path,
            const char    *angles_path,
            double         pixel_size_nm,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(KilnImageStack) stack = kiln_io_load_stack (path, cancellable, error);

  if (stack == NULL)
    return NULL;
  if (angles_path != NULL)
    {
      guint n = 0;
      g_autofree double *angles = kiln_tlt_load (angles_path, &n, error);
      if (angles == NULL)
        return NULL;
      if (!kiln_image_stack_set_angles (stack, angles, n, error))
        {
          g_prefix_error (error, "%s: ", angles_path);
          return NULL;
        }
    }
  if (stack->pixel_size_nm <= 0 && pixel_size_nm > 0)
    stack->pixel_size_nm = pixel_size_nm;
  return g_steal_pointer (&stack);
}

typedef struct
{
  char             *path;
  KilnProgressFunc  progress;
  gpointer          progress_data;
  KilnExperiment   *experiment;   /* result, for experiments */
  KilnImageStack   *stack;        /* result: first time point */
  SavedResults     *results;      /* its saved results */
} OpenData;

static void
open_data_free (OpenData *d)
{
  g_free (d->path);
  g_clear_pointer (&d->experiment, kiln_experiment_free);
  g_clear_pointer (&d->stack, kiln_image_stack_unref);
  saved_results_free (d->results);
  g_free (d);
}

static gboolean
is_experiment_path (const char *path)
{
  /* a folder is an experiment (kiln_experiment_load says so if it holds no experiment.json) */
  return g_str_has_suffix (path, "experiment.json") || g_file_test (path, G_FILE_TEST_IS_DIR);
}

static void
open_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OpenData *d = task_data;
  GError *error = NULL;

  kiln_report (d->progress, d->progress_data, 0.0, _("Reading"));
  if (is_experiment_path (d->path))
    {
      KilnExperimentTimePoint *tp;
      g_autofree char *tilts = NULL;
      g_autofree char *angles = NULL;

      d->experiment = kiln_experiment_load (d->path, &error);
      if (d->experiment == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      tp = g_ptr_array_index (d->experiment->time_points, 0);
      tilts = kiln_experiment_path (d->experiment, tp->tilts);
      angles = kiln_experiment_path (d->experiment, tp->angles);
      d->stack = read_stack (tilts, angles, d->experiment->pixel_size_nm, cancellable, &error);
      d->results = saved_results_new (d->experiment, tp->name);
      if (d->stack != NULL &&
          !saved_results_read (d->results, d->experiment->pixel_size_nm, cancellable, &error))
        g_clear_pointer (&d->stack, kiln_image_stack_unref);
    }
  else
    d->stack = read_stack (d->path, NULL, 0, cancellable, &error);

  if (d->stack == NULL)
    g_task_return_error (task, error);
  else
    {
      kiln_report (d->progress, d->progress_data, 1.0, NULL);
      g_task_return_boolean (task, TRUE);
    }
}

void
kiln_document_open_async (KilnDocument        *self,
                          GFile               *file,
                          GCancellable        *cancellable,
                          KilnProgressFunc     progress,
                          gpointer             progress_data,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  OpenData *d = g_new0 (OpenData, 1);

  d->path = g_file_get_path (file);
  d->progress = progress;
  d->progress_data = progress_data;
  g_task_set_source_tag (task, kiln_document_open_async);
  g_task_set_task_data (task, d, (GDestroyNotify) open_data_free);
  if (d->path == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Only local files can be opened"));
      return;
    }
  g_task_run_in_thread (task, open_thread);
}

/* @slot (NULL so far) gets DIR/tpNN/@file when the pipeline's record of @step lists it as an
 * output and it exists. */
static void
pipeline_output (KilnExperiment *experiment,
                 JsonObject     *steps,
                 const char     *step,
                 const char     *tp_name,
                 const char     *file,
                 char          **slot)
{
  g_autofree char *rel = g_strdup_printf ("%s/%s", tp_name, file);
  g_autofree char *path = NULL;
  JsonObject *rec, *outputs;

  if (*slot != NULL || !json_object_has_member (steps, step) ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (steps, step)))
    return;
  rec = json_object_get_object_member (steps, step);
  if (!json_object_has_member (rec, "outputs") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (rec, "outputs")))
    return;
  outputs = json_object_get_object_member (rec, "outputs");
  if (!json_object_has_member (outputs, rel))
    return;
  path = kiln_experiment_path (experiment, rel);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    *slot = g_steal_pointer (&path);
}

/* Results that `kiln-cli run` computed (DIR/tpNN/results.json and its outputs) for what the app
 * has not recorded itself. */
static void
adopt_pipeline_results (KilnDocument *self,
                        TimePoint    *tp,
                        guint         index)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) results = kiln_pipeline_load_results (self->experiment, index, &error);
  JsonObject *steps;

  if (results == NULL)
    {
      if (error != NULL)
        g_warning ("%s", error->message);
      return;
    }
  steps = json_object_get_object_member (results, "steps");
  pipeline_output (self->experiment, steps, "denoise", tp->name, "denoised.mrc", &tp->saved_denoised);
  if (tp->saved_aligned == NULL)
    {
      g_autofree char *aligned = NULL;
      g_autofree char *xf = NULL;

      pipeline_output (self->experiment, steps, "align", tp->name, "aligned.mrc", &aligned);
      pipeline_output (self->experiment, steps, "align", tp->name, "align.xf", &xf);
      if (aligned != NULL && xf != NULL)
        {
          g_free (tp->saved_xf);
          tp->saved_aligned = g_steal_pointer (&aligned);
          tp->saved_xf = g_steal_pointer (&xf);
        }
    }
  g_autofree char *axis_json = NULL;
  pipeline_output (self->experiment, steps, "axis", tp->name, "axis.json", &axis_json);
  if (!tp->has_axis && axis_json != NULL && json_object_has_member (steps, "axis") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (steps, "axis")))
    {
      JsonObject *axis = json_object_get_object_member (steps, "axis");
      JsonObject *details = json_object_has_member (axis, "details") &&
                            JSON_NODE_HOLDS_OBJECT (json_object_get_member (axis, "details"))
        ? json_object_get_object_member (axis, "details") : NULL;
      double angle = json_number_or_nan (details, "axis_angle_deg");
      double shift = json_number_or_nan (details, "axis_shift_px");

      if (isfinite (angle) && isfinite (shift))
        {
          tp->has_axis = TRUE;
          tp->axis_angle_deg = angle;
          tp->axis_shift_px = shift;
          /* found by kiln-cli run (an axis set in the app stays the app's) */
          tp->axis_from_pipeline =
            g_strcmp0 (json_object_get_string_member_with_default (details, "source", ""),
                       "manual") != 0;
        }
    }
  pipeline_output (self->experiment, steps, "reconstruct", tp->name, "reconstruction.mrc", &tp->saved_recon);
  pipeline_output (self->experiment, steps, "segment", tp->name, "labels.mrc", &tp->saved_labels);
}

gboolean
kiln_document_open_finish (KilnDocument  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  OpenData *d;

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  d = g_task_get_task_data (G_TASK (result));

  g_ptr_array_set_size (self->time_points, 0);
  g_clear_pointer (&self->experiment, kiln_experiment_free);
  g_free (self->title);

  if (d->experiment != NULL)
    {
      self->experiment = g_steal_pointer (&d->experiment);
      for (guint i = 0; i < self->experiment->time_points->len; i++)
        {
          KilnExperimentTimePoint *etp = g_ptr_array_index (self->experiment->time_points, i);
          TimePoint *tp = g_new0 (TimePoint, 1);

          tp->name = g_strdup (etp->name);
          tp->pt_time_s = etp->time_s;
          tp->temperature_c = etp->temperature_c;
          tp->path = kiln_experiment_path (self->experiment, etp->tilts);
          tp->angles_path = kiln_experiment_path (self->experiment, etp->angles);
          tp->truth_dir = kiln_experiment_path (self->experiment, etp->truth);
          {
            JsonObject *entry = results_entry (self->experiment, etp->name);
            tp->saved_denoised = result_path (self->experiment, entry, "denoised");
            tp->saved_aligned = result_path (self->experiment, entry, "aligned");
            tp->saved_xf = result_path (self->experiment, entry, "alignment");
            tp->saved_recon = result_path (self->experiment, entry, "reconstruction");
            tp->saved_labels = result_path (self->experiment, entry, "labels");
            if (entry != NULL && json_object_has_member (entry, "axis_angle_deg") &&
                json_object_has_member (entry, "axis_shift_px"))
              {
                tp->has_axis = TRUE;
                tp->axis_angle_deg = json_object_get_double_member (entry, "axis_angle_deg");
                tp->axis_shift_px = json_object_get_double_member (entry, "axis_shift_px");
              }
          }
          adopt_pipeline_results (self, tp, i);
          g_ptr_array_add (self->time_points, tp);
        }
      self->title = g_strdup (self->experiment->title && *self->experiment->title
                              ? self->experiment->title : _("Experiment"));
    }
  else
    {
      TimePoint *tp = g_new0 (TimePoint, 1);

      tp->name = g_strdup ("T1");
      tp->pt_time_s = d->stack->time_s;
      tp->temperature_c = d->stack->temperature_c;
      tp->path = g_strdup (d->path);
      g_ptr_array_add (self->time_points, tp);
      self->title = g_path_get_basename (d->path);
    }
  ((TimePoint *) g_ptr_array_index (self->time_points, 0))->stack = g_steal_pointer (&d->stack);
  time_point_adopt_results (g_ptr_array_index (self->time_points, 0), d->results);
  self->modified = FALSE;
  g_queue_clear_full (&self->undo, param_change_free);
  g_queue_clear_full (&self->redo, param_change_free);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TIME_POINTS]);
  return TRUE;
}

typedef struct
{
  guint           index;
  char           *path;
  char           *angles_path;
  double          pixel_size_nm;
  SavedResults   *results;
} LoadTpData;

static void
load_tp_data_free (LoadTpData *d)
{
  g_free (d->path);
  g_free (d->angles_path);
  saved_results_free (d->results);
  g_free (d);
}

static void
load_tp_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  LoadTpData *d = task_data;
  GError *error = NULL;
  KilnImageStack *stack = read_stack (d->path, d->angles_path, d->pixel_size_nm, cancellable, &error);

  if (stack != NULL && !saved_results_read (d->results, d->pixel_size_nm, cancellable, &error))
    g_clear_pointer (&stack, kiln_image_stack_unref);
  if (stack == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, stack, (GDestroyNotify) kiln_image_stack_unref);
}

void
kiln_document_load_time_point_async (KilnDocument        *self,
                                     guint                index,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  TimePoint *tp;
  LoadTpData *d;

  g_task_set_source_tag (task, kiln_document_load_time_point_async);
  if (index >= self->time_points->len)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("There is no time point %u"), index + 1);
      return;
    }
  tp = g_ptr_array_index (self->time_points, index);
  if (tp->stack != NULL)
    {
      g_task_return_pointer (task, kiln_image_stack_ref (tp->stack),
                             (GDestroyNotify) kiln_image_stack_unref);
      return;
    }
  d = g_new0 (LoadTpData, 1);
  d->index = index;
  d->path = g_strdup (tp->path);
  d->angles_path = g_strdup (tp->angles_path);
  d->pixel_size_nm = self->experiment ? self->experiment->pixel_size_nm : 0;
  d->results = g_new0 (SavedResults, 1);
  if (!tp->results_loaded)
    {
      d->results->denoised_path = g_strdup (tp->saved_denoised);
      d->results->aligned_path = g_strdup (tp->saved_aligned);
      d->results->xf_path = g_strdup (tp->saved_xf);
    }
  g_task_set_task_data (task, d, (GDestroyNotify) load_tp_data_free);
  g_task_run_in_thread (task, load_tp_thread);
}

KilnImageStack *
kiln_document_load_time_point_finish (KilnDocument  *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  KilnImageStack *stack = g_task_propagate_pointer (G_TASK (result), error);
  LoadTpData *d = g_task_get_task_data (G_TASK (result));

  if (stack != NULL && d != NULL && d->index < self->time_points->len)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, d->index);
      if (tp->stack == NULL)
        tp->stack = kiln_image_stack_ref (stack);
      if (!tp->results_loaded)
        {
          time_point_adopt_results (tp, d->results);
          g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, d->index);
        }
    }
  return stack;
}

typedef struct
{
  char             *dir;
  KilnProgressFunc  progress;
  gpointer          progress_data;
} DemoData;

static void
demo_data_free (DemoData *d)
{
  g_free (d->dir);
  g_free (d);
}

static void
demo_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  DemoData *d = task_data;
  g_autofree char *json = g_build_filename (d->dir, "experiment.json", NULL);
  g_autofree char *tmp = NULL;
  KilnSimParams params;
  GError *error = NULL;

  if (g_file_test (json, G_FILE_TEST_EXISTS))
    {
      g_autoptr(KilnExperiment) e = kiln_experiment_load (d->dir, NULL);
      if (e != NULL)
        {
          g_task_return_pointer (task, g_strdup (d->dir), g_free);
          return;
        }
    }

  /* write into a fresh sibling folder, then move it in place: never a half-written demo */
  tmp = g_strdup_printf ("%s.tmp-%u", d->dir, g_random_int ());
  kiln_sim_params_init (&params, KILN_SIM_PRESET_TEACHING);
  params.seed = 2023;
  if (g_mkdir_with_parents (tmp, 0755) != 0 ||
      !kiln_sim_write_experiment (&params, tmp, cancellable, d->progress, d->progress_data, &error))
    {
      if (error == NULL)
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot create %s"), tmp);
      g_task_return_error (task, error);
      return;
    }
  if (g_file_test (d->dir, G_FILE_TEST_IS_DIR))
    {
      /* an unusable old demo is moved aside, never deleted */
      g_autofree char *old = g_strdup_printf ("%s.old-%u", d->dir, g_random_int ());
      if (g_rename (d->dir, old) != 0)
        g_warning ("Cannot move %s aside", d->dir);
    }
  if (g_rename (tmp, d->dir) != 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("Cannot move the demo experiment into %s"), d->dir);
      return;
    }
  g_task_return_pointer (task, g_strdup (d->dir), g_free);
}

void
kiln_document_make_demo_async (const char          *dir,
                               GCancellable        *cancellable,
                               KilnProgressFunc     progress,
                               gpointer             progress_data,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  DemoData *d = g_new0 (DemoData, 1);

  d->dir = g_strdup (dir);
  d->progress = progress;
  d->progress_data = progress_data;
  g_task_set_source_tag (task, kiln_document_make_demo_async);
  g_task_set_task_data (task, d, (GDestroyNotify) demo_data_free);
  g_task_run_in_thread (task, demo_thread);
}

char *
kiln_document_make_demo_finish (GAsyncResult  *result,
                                GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

double
kiln_document_get_time_s (KilnDocument *self,
                          guint         index)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NAN);
  if (index >= self->time_points->len)
    return NAN;
  return ((TimePoint *) g_ptr_array_index (self->time_points, index))->pt_time_s;
}

double
kiln_document_get_temperature_c (KilnDocument *self,
                                 guint         index)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NAN);
  if (index >= self->time_points->len)
    return NAN;
  return ((TimePoint *) g_ptr_array_index (self->time_points, index))->temperature_c;
}

void
kiln_volume_pair_free (KilnVolumePair *pair)
{
  if (pair == NULL)
    return;
  g_clear_pointer (&pair->volume, kiln_volume_unref);
  g_clear_pointer (&pair->labels, kiln_label_volume_unref);
  g_free (pair);
}

static KilnVolumePair *
volume_pair_copy (const KilnVolumePair *pair)
{
  KilnVolumePair *copy = g_new0 (KilnVolumePair, 1);

  copy->volume = pair->volume ? kiln_volume_ref (pair->volume) : NULL;
  copy->labels = pair->labels ? kiln_label_volume_ref (pair->labels) : NULL;
  return copy;
}

gboolean
kiln_document_has_volume (KilnDocument *self,
                          guint         index)
{
  TimePoint *tp;

  if (index >= self->time_points->len)
    return FALSE;
  tp = g_ptr_array_index (self->time_points, index);
  return tp->volumes != NULL || tp->recon != NULL || tp->saved_recon != NULL ||
         tp->truth_dir != NULL;
}

typedef struct
{
  guint  index;
  char  *vpath;
  char  *lpath;
  gboolean from_results;
} LoadVolData;

static void
load_vol_data_free (LoadVolData *d)
{
  g_free (d->vpath);
  g_free (d->lpath);
  g_free (d);
}

static void
load_volume_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  LoadVolData *d = task_data;
  const char *vpath = d->vpath;
  const char *lpath = d->lpath;
  g_autoptr(KilnVolumePair) pair = g_new0 (KilnVolumePair, 1);
  GError *error = NULL;

  pair->volume = kiln_mrc_load_volume (vpath, cancellable, &error);
  if (pair->volume == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (lpath != NULL && g_file_test (lpath, G_FILE_TEST_EXISTS))
    {
      pair->labels = kiln_mrc_load_labels (lpath, cancellable, &error);
      if (pair->labels == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      if (pair->labels->nx != pair->volume->nx || pair->labels->ny != pair->volume->ny ||
          pair->labels->nz != pair->volume->nz)
        {
          g_task_return_new_error (task, KILN_ERROR, KILN_ERROR_MISMATCH,
                                   _("%s and %s differ in size"), vpath, lpath);
          return;
        }
      if (pair->labels->voxel_size_nm <= 0)
        pair->labels->voxel_size_nm = pair->volume->voxel_size_nm;
    }
  g_task_return_pointer (task, g_steal_pointer (&pair), (GDestroyNotify) kiln_volume_pair_free);
}

void
kiln_document_load_volume_async (KilnDocument        *self,
                                 guint                index,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  TimePoint *tp;
  LoadVolData *d;

  g_task_set_source_tag (task, kiln_document_load_volume_async);
  if (index >= self->time_points->len)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("There is no time point %u"), index + 1);
      return;
    }
  tp = g_ptr_array_index (self->time_points, index);
  if (tp->volumes != NULL)
    {
      g_task_return_pointer (task, volume_pair_copy (tp->volumes), (GDestroyNotify) kiln_volume_pair_free);
      return;
    }
  if (tp->recon != NULL)
    {
      /* the reconstruction in memory, with the segmentation's labels when they match it */
      KilnVolumePair *pair = g_new0 (KilnVolumePair, 1);

      pair->volume = kiln_volume_ref (tp->recon);
      if (tp->labels != NULL && tp->labels->nx == tp->recon->nx &&
          tp->labels->ny == tp->recon->ny && tp->labels->nz == tp->recon->nz)
        pair->labels = kiln_label_volume_ref (tp->labels);
      g_task_return_pointer (task, pair, (GDestroyNotify) kiln_volume_pair_free);
      return;
    }
  d = g_new0 (LoadVolData, 1);
  d->index = index;
  if (tp->saved_recon != NULL && g_file_test (tp->saved_recon, G_FILE_TEST_EXISTS))
    {
      d->from_results = TRUE;
      d->vpath = g_strdup (tp->saved_recon);
      d->lpath = g_strdup (tp->saved_labels);
    }
  else if (tp->truth_dir != NULL)
    {
      d->vpath = g_build_filename (tp->truth_dir, "volume.mrc", NULL);
      d->lpath = g_build_filename (tp->truth_dir, "labels.mrc", NULL);
    }
  else
    {
      load_vol_data_free (d);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Time point %u has no reconstructed volume yet"), index + 1);
      return;
    }
  g_task_set_task_data (task, d, (GDestroyNotify) load_vol_data_free);
  g_task_run_in_thread (task, load_volume_thread);
}

KilnVolumePair *
kiln_document_load_volume_finish (KilnDocument  *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  KilnVolumePair *pair = g_task_propagate_pointer (G_TASK (result), error);
  LoadVolData *d = g_task_get_task_data (G_TASK (result));

  if (pair != NULL && d != NULL && d->index < self->time_points->len)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, d->index);
      if (tp->volumes == NULL)
        tp->volumes = volume_pair_copy (pair);
      if (d->from_results && tp->recon == NULL)
        {
          tp->recon = kiln_volume_ref (pair->volume);
          if (pair->labels != NULL && tp->labels == NULL)
            tp->labels = kiln_label_volume_ref (pair->labels);
        }
    }
  return pair;
}

char *
kiln_document_dup_labels_path (KilnDocument *self,
                               guint         index)
{
  TimePoint *tp;

  if (index >= self->time_points->len)
    return NULL;
  tp = g_ptr_array_index (self->time_points, index);
  if (tp->saved_labels != NULL && g_file_test (tp->saved_labels, G_FILE_TEST_EXISTS))
    return g_strdup (tp->saved_labels);
  return tp->truth_dir ? g_build_filename (tp->truth_dir, "labels.mrc", NULL) : NULL;
}

/* ---- Step results ------------------------------------------------------------------------ */

static const char *const step_names[KILN_DOC_N_STEPS] = {
  "denoise", "align", "tilt-axis", "reconstruct", "segment",
};



const char *
kiln_doc_step_to_string (KilnDocStep step)
{
  return step < KILN_DOC_N_STEPS ? step_names[step] : NULL;
}

static TimePoint *
get_tp (KilnDocument *self,
        guint         index)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  if (index >= self->time_points->len)
    return NULL;
  return g_ptr_array_index (self->time_points, index);
}

static void
results_changed (KilnDocument *self,
                 guint         index)
{
  self->modified = TRUE;
  g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, index);
}

gboolean
kiln_document_has_result (KilnDocument *self,
                          guint         index,
                          KilnDocStep      step)
{
  TimePoint *tp = get_tp (self, index);

  if (tp == NULL)
    return FALSE;
  switch (step)
    {
    case KILN_DOC_STEP_DENOISE:
      return tp->denoised != NULL || (!tp->results_loaded && tp->saved_denoised != NULL);
    case KILN_DOC_STEP_ALIGN:
      return tp->aligned != NULL || (!tp->results_loaded && tp->saved_aligned != NULL);
    case KILN_DOC_STEP_TILT_AXIS:
      return tp->has_axis;
    case KILN_DOC_STEP_RECONSTRUCT:
      return tp->recon != NULL || tp->saved_recon != NULL;
    case KILN_DOC_STEP_SEGMENT:
      return tp->labels != NULL || tp->saved_labels != NULL;
    case KILN_DOC_N_STEPS:
    default:
      return FALSE;
    }
}

KilnImageStack *
kiln_document_get_input_stack (KilnDocument *self,
                               guint         index,
                               KilnDocStep      step)
{
  TimePoint *tp = get_tp (self, index);

  if (tp == NULL)
    return NULL;
  if (step > KILN_DOC_STEP_ALIGN && tp->aligned != NULL)
    return tp->aligned;
  if (step > KILN_DOC_STEP_DENOISE && tp->denoised != NULL)
    return tp->denoised;
  return tp->stack;
}

KilnImageStack *
kiln_document_get_denoised (KilnDocument *self,
                            guint         index)
{
  TimePoint *tp = get_tp (self, index);

  return tp ? tp->denoised : NULL;
}

static JsonObject *step_params_copy (JsonObject *o);

/* The result of @step was just computed by the app: remember its parameters (provenance). */
static void
note_made_with (KilnDocument *self,
                TimePoint    *tp,
                KilnDocStep   step,
                gboolean      has_result)
{
  JsonObject *now;

  g_clear_pointer (&tp->made_with[step], json_object_unref);
  if (!has_result || self->experiment == NULL)
    return;
  now = kiln_experiment_get_step (self->experiment, step_names[step]);
  tp->made_with[step] = now != NULL ? step_params_copy (now) : json_object_new ();
  /* the Align panel resamples the aligned stack linearly (kiln-align-panel.c) */
  if (step == KILN_DOC_STEP_ALIGN && !json_object_has_member (tp->made_with[step], "interpolation"))
    json_object_set_string_member (tp->made_with[step], "interpolation", "linear");
}

/* An alignment made in the app is about to be saved: experiment.json's align parameters say
 * how the app resamples (linear), so that kiln-cli run reproduces it and skips it. */
static void
record_app_interpolation (KilnDocument *self)
{
  JsonObject *now = kiln_experiment_get_step (self->experiment, step_names[KILN_DOC_STEP_ALIGN]);
  g_autoptr(JsonObject) o = NULL;
  gboolean app_aligned = FALSE;

  for (guint i = 0; i < self->time_points->len; i++)
    app_aligned |= ((TimePoint *) g_ptr_array_index (self->time_points, i))->made_with[KILN_DOC_STEP_ALIGN] != NULL;
  if (!app_aligned || (now != NULL && json_object_has_member (now, "interpolation")))
    return;
  o = now != NULL ? step_params_copy (now) : json_object_new ();
  json_object_set_string_member (o, "interpolation", "linear");
  kiln_experiment_set_step (self->experiment, step_names[KILN_DOC_STEP_ALIGN], o);
}

void
kiln_document_set_denoised (KilnDocument   *self,
                            guint           index,
                            KilnImageStack *stack)
{
  TimePoint *tp = get_tp (self, index);

  g_return_if_fail (tp != NULL);
  if (stack != NULL)
    kiln_image_stack_ref (stack);
  g_clear_pointer (&tp->denoised, kiln_image_stack_unref);
  tp->denoised = stack;
  note_made_with (self, tp, KILN_DOC_STEP_DENOISE, stack != NULL);
  if (stack == NULL)
    g_clear_pointer (&tp->saved_denoised, g_free);
  results_changed (self, index);
}

KilnImageStack *
kiln_document_get_aligned (KilnDocument *self,
                           guint         index)
{
  TimePoint *tp = get_tp (self, index);

  return tp ? tp->aligned : NULL;
}

const KilnXf *
kiln_document_get_alignment (KilnDocument *self,
                             guint         index,
                             guint        *n_xf)
{
  TimePoint *tp = get_tp (self, index);

  if (n_xf != NULL)
    *n_xf = tp && tp->aligned ? tp->n_xf : 0;
  return tp && tp->aligned ? tp->xf : NULL;
}

void
kiln_document_set_aligned (KilnDocument   *self,
                           guint           index,
                           const KilnXf   *xf,
                           KilnImageStack *aligned)
{
  TimePoint *tp = get_tp (self, index);

  g_return_if_fail (tp != NULL);
  g_return_if_fail (aligned == NULL || xf != NULL);
  g_clear_pointer (&tp->aligned, kiln_image_stack_unref);
  g_clear_pointer (&tp->xf, g_free);
  tp->n_xf = 0;
  if (aligned != NULL)
    {
      tp->aligned = kiln_image_stack_ref (aligned);
      tp->n_xf = aligned->n_tilts;
      tp->xf = g_memdup2 (xf, sizeof (KilnXf) * aligned->n_tilts);
    }
  note_made_with (self, tp, KILN_DOC_STEP_ALIGN, aligned != NULL);
  if (aligned == NULL)
    {
      g_clear_pointer (&tp->saved_aligned, g_free);
      g_clear_pointer (&tp->saved_xf, g_free);
    }
  results_changed (self, index);
}

gboolean
kiln_document_get_axis (KilnDocument *self,
                        guint         index,
                        double       *angle_deg,
                        double       *shift_px)
{
  TimePoint *tp = get_tp (self, index);

  if (tp == NULL || !tp->has_axis)
    return FALSE;
  if (angle_deg != NULL)
    *angle_deg = tp->axis_angle_deg;
  if (shift_px != NULL)
    *shift_px = tp->axis_shift_px;
  return TRUE;
}

/* The axis of time point @index as an undo snapshot. */
static JsonObject *
axis_snapshot (TimePoint *tp,
               guint      index)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "index", index);
  json_object_set_boolean_member (o, "has_axis", tp->has_axis);
  json_object_set_double_member (o, "axis_angle_deg", tp->axis_angle_deg);
  json_object_set_double_member (o, "axis_shift_px", tp->axis_shift_px);
  json_object_set_boolean_member (o, "from_pipeline", tp->axis_from_pipeline);
  return o;
}

/* Record an axis change of @index (@before owned); a change of the same time point's axis
 * within 0.6 s extends the last undo step (the slider still moving). */
static void
push_axis_change (KilnDocument *self,
                  guint         index,
                  JsonObject   *before)
{
  TimePoint *tp = g_ptr_array_index (self->time_points, index);
  ParamChange *top = g_queue_peek_head (&self->undo);
  gint64 now = g_get_monotonic_time ();

  if (top != NULL && top->step == KILN_DOC_AXIS_EDIT && top->after != NULL &&
      json_object_get_int_member (top->after, "index") == index &&
      now - self->last_change_us < 600 * 1000)
    {
      json_object_unref (before);
      json_object_unref (top->after);
      top->after = axis_snapshot (tp, index);
    }
  else
    {
      ParamChange *c = g_new0 (ParamChange, 1);
      c->step = KILN_DOC_AXIS_EDIT;
      c->before = before;
      c->after = axis_snapshot (tp, index);
      g_queue_push_head (&self->undo, c);
      while (self->undo.length > 200)
        param_change_free (g_queue_pop_tail (&self->undo));
    }
  g_queue_clear_full (&self->redo, param_change_free);
  self->last_change_us = now;
}

/* Undo/redo: put back the axis of a snapshot. */
static void
apply_axis (KilnDocument *self,
            JsonObject   *o)
{
  guint index = json_object_get_int_member (o, "index");
  TimePoint *tp = get_tp (self, index);

  if (tp == NULL)
    return;
  tp->has_axis = json_object_get_boolean_member (o, "has_axis");
  tp->axis_angle_deg = json_object_get_double_member (o, "axis_angle_deg");
  tp->axis_shift_px = json_object_get_double_member (o, "axis_shift_px");
  tp->axis_from_pipeline = json_object_get_boolean_member (o, "from_pipeline");
  self->modified = TRUE;
  results_changed (self, index);
}

void
kiln_document_set_axis (KilnDocument *self,
                        guint         index,
                        double        angle_deg,
                        double        shift_px)
{
  TimePoint *tp = get_tp (self, index);
  JsonObject *before;

  g_return_if_fail (tp != NULL);
  g_return_if_fail (isfinite (angle_deg) && isfinite (shift_px));
  /* the same axis again (e.g. shown by the panel) stays kiln-cli run's if it was, and is no
   * undo step */
  if (tp->has_axis && tp->axis_angle_deg == angle_deg && tp->axis_shift_px == shift_px)
    {
      results_changed (self, index);
      return;
    }
  before = axis_snapshot (tp, index);
  tp->axis_from_pipeline = FALSE;
  tp->has_axis = TRUE;
  tp->axis_angle_deg = angle_deg;
  tp->axis_shift_px = shift_px;
  push_axis_change (self, index, before);
  results_changed (self, index);
}

void
kiln_document_clear_axis (KilnDocument *self,
                          guint         index)
{
  TimePoint *tp = get_tp (self, index);
  JsonObject *before;

  g_return_if_fail (tp != NULL);
  if (!tp->has_axis)
    return;
  before = axis_snapshot (tp, index);
  tp->has_axis = FALSE;
  tp->axis_from_pipeline = FALSE;
  push_axis_change (self, index, before);
  results_changed (self, index);
}

KilnVolume *
kiln_document_get_reconstruction (KilnDocument *self,
                                  guint         index)
{
  TimePoint *tp = get_tp (self, index);

  return tp ? tp->recon : NULL;
}

void
kiln_document_set_reconstruction (KilnDocument *self,
                                  guint         index,
                                  KilnVolume   *volume)
{
  TimePoint *tp = get_tp (self, index);

  g_return_if_fail (tp != NULL);
  if (volume != NULL)
    kiln_volume_ref (volume);
  g_clear_pointer (&tp->recon, kiln_volume_unref);
  tp->recon = volume;
  note_made_with (self, tp, KILN_DOC_STEP_RECONSTRUCT, volume != NULL);
  g_clear_pointer (&tp->saved_recon, g_free);
  g_clear_pointer (&tp->volumes, kiln_volume_pair_free);
  results_changed (self, index);
}

KilnLabelVolume *
kiln_document_get_labels (KilnDocument *self,
                          guint         index)
{
  TimePoint *tp = get_tp (self, index);

  return tp ? tp->labels : NULL;
}

void
kiln_document_set_labels (KilnDocument    *self,
                          guint            index,
                          KilnLabelVolume *labels)
{
  TimePoint *tp = get_tp (self, index);

  g_return_if_fail (tp != NULL);
  if (labels != NULL)
    kiln_label_volume_ref (labels);
  g_clear_pointer (&tp->labels, kiln_label_volume_unref);
  tp->labels = labels;
  note_made_with (self, tp, KILN_DOC_STEP_SEGMENT, labels != NULL);
  g_clear_pointer (&tp->saved_labels, g_free);
  g_clear_pointer (&tp->volumes, kiln_volume_pair_free);
  results_changed (self, index);
}

static gboolean
step_params_equal (JsonObject *a,
                   JsonObject *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return json_object_equal (a, b);
}

static JsonObject *
step_params_copy (JsonObject *o)
{
  g_autoptr(JsonNode) n = NULL;
  g_autoptr(JsonNode) copy = NULL;

  if (o == NULL)
    return NULL;
  n = json_node_init_object (json_node_alloc (), o);
  copy = json_node_copy (n);
  return json_object_ref (json_node_get_object (copy));
}

static void
put_step_params (KilnDocument *self,
                 KilnDocStep      step,
                 JsonObject   *params)
{
  if (params != NULL)
    kiln_experiment_set_step (self->experiment, step_names[step], params);
  else if (json_object_has_member (self->experiment->steps, step_names[step]))
    json_object_remove_member (self->experiment->steps, step_names[step]);
  self->modified = TRUE;
}

void
kiln_document_set_step_params (KilnDocument *self,
                               KilnDocStep      step,
                               JsonObject   *params)
{
  JsonObject *before;
  ParamChange *top;
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (KILN_IS_DOCUMENT (self));
  g_return_if_fail (step < KILN_DOC_N_STEPS);
  if (self->experiment == NULL || params == NULL)
    return;
  before = kiln_experiment_get_step (self->experiment, step_names[step]);
  if (step_params_equal (before, params))
    return;
  top = g_queue_peek_head (&self->undo);
  if (top != NULL && top->step == step && now - self->last_change_us < 600 * 1000)
    {
      /* the same control still moving: extend the last undo step */
      g_clear_pointer (&top->after, json_object_unref);
      top->after = step_params_copy (params);
    }
  else
    {
      ParamChange *c = g_new0 (ParamChange, 1);
      c->step = step;
      c->before = step_params_copy (before);
      c->after = step_params_copy (params);
      g_queue_push_head (&self->undo, c);
      while (self->undo.length > 200)
        param_change_free (g_queue_pop_tail (&self->undo));
    }
  g_queue_clear_full (&self->redo, param_change_free);
  self->last_change_us = now;
  put_step_params (self, step, params);
}

void
kiln_document_set_step_params_discrete (KilnDocument *self,
                                        KilnDocStep   step,
                                        JsonObject   *params)
{
  g_return_if_fail (KILN_IS_DOCUMENT (self));
  self->last_change_us = 0;
  kiln_document_set_step_params (self, step, params);
  self->last_change_us = 0;
}

gboolean
kiln_document_can_undo (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return self->undo.length > 0;
}

gboolean
kiln_document_can_redo (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return self->redo.length > 0;
}

static gboolean
undo_redo (KilnDocument *self,
           GQueue       *from,
           GQueue       *to,
           gboolean      undo)
{
  ParamChange *c = g_queue_pop_head (from);
  g_autoptr(JsonObject) value = NULL;

  if (c == NULL || (self->experiment == NULL && c->step != KILN_DOC_EXPERIMENT_EDIT &&
                    c->step != KILN_DOC_AXIS_EDIT))
    {
      if (c != NULL)
        g_queue_push_head (from, c);
      return FALSE;
    }
  value = step_params_copy (undo ? c->before : c->after);
  if (c->step == KILN_DOC_EXPERIMENT_EDIT)
    apply_metadata (self, value);
  else if (c->step == KILN_DOC_AXIS_EDIT)
    apply_axis (self, value);
  else
    put_step_params (self, c->step, value);
  g_queue_push_head (to, c);
  self->last_change_us = 0;   /* the next change is a new undo step */
  g_signal_emit (self, signals[SIGNAL_PARAMS_CHANGED], 0, (guint) c->step);
  return TRUE;
}

gboolean
kiln_document_undo (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return undo_redo (self, &self->undo, &self->redo, TRUE);
}

gboolean
kiln_document_redo (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return undo_redo (self, &self->redo, &self->undo, FALSE);
}

JsonObject *
kiln_document_get_step_params (KilnDocument *self,
                               KilnDocStep      step)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (step < KILN_DOC_N_STEPS, NULL);
  if (self->experiment == NULL)
    return NULL;
  return kiln_experiment_get_step (self->experiment, step_names[step]);
}

gboolean
kiln_document_get_modified (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return self->modified;
}

/* Save one result file atomically (the MRC/xf writers write a temporary file and rename). */
static gboolean
save_result (KilnDocument *self,
             JsonObject   *entry,
             const char   *tp_name,
             const char   *key,
             const char   *file_name,
             gconstpointer object,
             char        **saved_path,
             GError      **error)
{
  /* the pipeline's layout (docs/pipeline.md): DIR/tpNN/denoised.mrc, … */
  g_autofree char *rel = g_strdup_printf ("%s/%s", tp_name, file_name);
  g_autofree char *path = kiln_experiment_path (self->experiment, rel);
  g_autofree char *dir = g_path_get_dirname (path);
  gboolean ok;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Cannot create the folder %s: %s"), dir, g_strerror (errsv));
      return FALSE;
    }
  if (g_str_equal (key, "denoised") || g_str_equal (key, "aligned"))
    ok = kiln_mrc_save_stack (object, path, "kiln", error);
  else if (g_str_equal (key, "reconstruction"))
    ok = kiln_mrc_save_volume (object, path, "kiln reconstruction", error);
  else if (g_str_equal (key, "labels"))
    ok = kiln_mrc_save_labels (object, path, "kiln labels", error);
  else
    {
      const TimePoint *tp = object;
      ok = kiln_xf_save (path, tp->xf, tp->n_xf, error);
    }
  if (!ok)
    return FALSE;
  json_object_set_string_member (entry, key, rel);
  if (saved_path != NULL)
    {
      g_free (*saved_path);
      *saved_path = g_steal_pointer (&path);
    }
  return TRUE;
}

/* DIR/tpNN/axis.json as the pipeline's axis step writes it (kiln-cli run reads it). */
static gboolean
save_axis_json (KilnDocument  *self,
                TimePoint     *tp,
                GError       **error)
{
  g_autofree char *rel = g_strdup_printf ("%s/axis.json", tp->name);
  g_autofree char *path = kiln_experiment_path (self->experiment, rel);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(JsonObject) o = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autofree char *with_nl = NULL;
  GError *local = NULL;

  json_object_set_double_member (o, "axis_angle_deg", tp->axis_angle_deg);
  json_object_set_double_member (o, "axis_shift_px", tp->axis_shift_px);
  json_object_set_boolean_member (o, "searched", FALSE);
  /* set in the app: kiln-cli run keeps it (docs/pipeline.md) */
  json_object_set_string_member (o, "source", "manual");
  node = json_node_init_object (json_node_alloc (), o);
  text = json_to_string (node, TRUE);
  with_nl = g_strconcat (text, "\n", NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0 || !g_file_set_contents (path, with_nl, -1, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s: cannot save: %s"), path,
                   local != NULL ? local->message : g_strerror (errno));
      g_clear_error (&local);
      return FALSE;
    }
  return TRUE;
}

/* The axis was cleared in the app: an axis.json it saved earlier must not be kept by
 * kiln-cli run. */
static void
remove_manual_axis_json (KilnDocument *self,
                         TimePoint    *tp)
{
  g_autofree char *rel = g_strdup_printf ("%s/axis.json", tp->name);
  g_autofree char *path = kiln_experiment_path (self->experiment, rel);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || !json_parser_load_from_file (parser, path, NULL))
    return;
  root = json_parser_get_root (parser);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
      g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "source", ""),
                 "manual") == 0)
    g_unlink (path);
}

/* Record in tpNN/results.json, for each result the app computed and just saved, the pipeline's
 * provenance (hash of the parameters it was made with and of its inputs, its outputs' hashes;
 * kiln_pipeline_record_step), so that `kiln-cli run` skips those steps while nothing changes.
 * A result that cannot be recorded (e.g. aligned from the raw tilts, which the pipeline never
 * does) is left to kiln-cli run, which says so in tpNN/run.log. */
static void
record_provenance (KilnDocument *self,
                   TimePoint    *tp,
                   guint         index)
{
  for (guint s = 0; s < KILN_DOC_N_STEPS; s++)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(JsonObject) details = NULL;
      JsonObject *params = tp->made_with[s];

      if (s == KILN_DOC_STEP_TILT_AXIS)
        {
          if (!tp->has_axis || tp->axis_from_pipeline)
            continue;
          details = json_object_new ();
          json_object_set_double_member (details, "axis_angle_deg", tp->axis_angle_deg);
          json_object_set_double_member (details, "axis_shift_px", tp->axis_shift_px);
          json_object_set_boolean_member (details, "searched", FALSE);
          json_object_set_string_member (details, "source", "manual");
          params = NULL;   /* the pipeline's steps.axis: the app's axis is not searched */
        }
      else if (params == NULL)
        continue;
      else if (s == KILN_DOC_STEP_RECONSTRUCT && tp->has_axis)
        {
          details = json_object_new ();
          json_object_set_double_member (details, "axis_angle_deg", tp->axis_angle_deg);
          json_object_set_double_member (details, "axis_shift_px", tp->axis_shift_px);
        }
      /* KilnDocStep and KilnStep list the steps in the same order */
      if (kiln_pipeline_record_step (self->experiment, index, (KilnStep) s, params, details,
                                     "app", &local))
        g_clear_pointer (&tp->made_with[s], json_object_unref);
      else
        g_debug ("%s", local->message);
    }
}

/* A result in memory that was read from (or saved to) @abs_path and not computed again since:
 * its file is kept as it is (rewriting it would change its bytes for kiln-cli run's hashes). */
static gboolean
unchanged_on_disk (KilnDocument *self,
                   TimePoint    *tp,
                   KilnDocStep   step,
                   const char   *abs_path)
{
  return tp->made_with[step] == NULL && abs_path != NULL &&
         path_is_inside (abs_path, self->experiment->dir) &&
         g_file_test (abs_path, G_FILE_TEST_IS_REGULAR);
}

/* Keep a result saved earlier (and not loaded since) in the new entry. */
static void
keep_saved (KilnDocument *self,
            JsonObject   *entry,
            const char   *key,
            const char   *abs_path)
{
  g_autofree char *prefix = NULL;

  if (abs_path == NULL || self->experiment->dir == NULL)
    return;
  prefix = g_strconcat (self->experiment->dir, G_DIR_SEPARATOR_S, NULL);
  if (g_str_has_prefix (abs_path, prefix))
    json_object_set_string_member (entry, key, abs_path + strlen (prefix));
}

gboolean
kiln_document_save (KilnDocument  *self,
                    GError       **error)
{
  g_autoptr(JsonObject) results = json_object_new ();

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (self->experiment == NULL || self->experiment->dir == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("Only an experiment folder can be saved (this is a single imported tilt series)"));
      return FALSE;
    }
  /* series imported from outside the folder are copied in first (experiment.json holds
   * relative paths only) */
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);

      if (!path_is_inside (tp->path, self->experiment->dir) ||
          (tp->angles_path != NULL && !path_is_inside (tp->angles_path, self->experiment->dir)))
        {
          g_autofree char *dir = g_strdup (self->experiment->dir);
          return kiln_document_save_as (self, dir, error);
        }
    }
  record_app_interpolation (self);
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      g_autoptr(JsonObject) entry = json_object_new ();

      if (tp->denoised != NULL && !unchanged_on_disk (self, tp, KILN_DOC_STEP_DENOISE, tp->saved_denoised))
        {
          if (!save_result (self, entry, tp->name, "denoised", "denoised.mrc", tp->denoised,
                            &tp->saved_denoised, error))
            return FALSE;
        }
      else if (tp->denoised != NULL || !tp->results_loaded)
        keep_saved (self, entry, "denoised", tp->saved_denoised);
      if (tp->aligned != NULL &&
          !(unchanged_on_disk (self, tp, KILN_DOC_STEP_ALIGN, tp->saved_aligned) &&
            unchanged_on_disk (self, tp, KILN_DOC_STEP_ALIGN, tp->saved_xf)))
        {
          if (!save_result (self, entry, tp->name, "aligned", "aligned.mrc", tp->aligned,
                            &tp->saved_aligned, error) ||
              !save_result (self, entry, tp->name, "alignment", "align.xf", tp,
                            &tp->saved_xf, error))
            return FALSE;
        }
      else if (tp->aligned != NULL || !tp->results_loaded)
        {
          keep_saved (self, entry, "aligned", tp->saved_aligned);
          keep_saved (self, entry, "alignment", tp->saved_xf);
        }
      if (tp->has_axis && !tp->axis_from_pipeline)
        {
          json_object_set_double_member (entry, "axis_angle_deg", tp->axis_angle_deg);
          json_object_set_double_member (entry, "axis_shift_px", tp->axis_shift_px);
          if (!save_axis_json (self, tp, error))
            return FALSE;
        }
      else if (!tp->has_axis)
        remove_manual_axis_json (self, tp);
      if (tp->recon != NULL && !unchanged_on_disk (self, tp, KILN_DOC_STEP_RECONSTRUCT, tp->saved_recon))
        {
          if (!save_result (self, entry, tp->name, "reconstruction", "reconstruction.mrc",
                            tp->recon, &tp->saved_recon, error))
            return FALSE;
        }
      else
        keep_saved (self, entry, "reconstruction", tp->saved_recon);
      if (tp->labels != NULL && !unchanged_on_disk (self, tp, KILN_DOC_STEP_SEGMENT, tp->saved_labels))
        {
          if (!save_result (self, entry, tp->name, "labels", "labels.mrc", tp->labels,
                            &tp->saved_labels, error))
            return FALSE;
        }
      else
        keep_saved (self, entry, "labels", tp->saved_labels);
      if (json_object_get_size (entry) > 0)
        json_object_set_object_member (results, tp->name, json_object_ref (entry));
      record_provenance (self, tp, i);
    }
  kiln_experiment_set_step (self->experiment, "results", results);
  if (!kiln_experiment_save (self->experiment, self->experiment->dir, error))
    return FALSE;
  self->modified = FALSE;
  kiln_document_remove_autosave (self);   /* the saved state supersedes it */
  return TRUE;
}

/* ---- Teaching: the simulator's ground truth of a time point ------------------------------ */

char *
kiln_document_dup_truth_path (KilnDocument *self,
                               guint         index,
                               const char   *name)
{
  KilnExperimentTimePoint *etp;
  g_autofree char *truth = NULL;
  char *path;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  if (self->experiment == NULL || index >= self->experiment->time_points->len)
    return NULL;
  etp = g_ptr_array_index (self->experiment->time_points, index);
  if (etp->truth == NULL)
    return NULL;
  truth = kiln_experiment_path (self->experiment, etp->truth);
  path = g_build_filename (truth, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&path, g_free);
  return path;
}

gboolean
kiln_document_get_sim_params (KilnDocument  *self,
                              KilnSimParams *p)
{
  JsonObject *o;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (self->experiment == NULL || self->experiment->simulation == NULL)
    return FALSE;
  o = self->experiment->simulation;
#define GET_D(field, key) p->field = json_object_get_double_member_with_default (o, key, p->field)
#define GET_I(field, key) p->field = json_object_get_int_member_with_default (o, key, p->field)
#define GET_B(field, key) p->field = json_object_get_boolean_member_with_default (o, key, p->field)
  kiln_sim_params_init (p, (json_object_get_int_member_with_default (o, "size_px", 128) > 512)
                           ? KILN_SIM_PRESET_PAPER : KILN_SIM_PRESET_TEACHING);
  p->seed = (guint64) json_object_get_int_member_with_default (o, "seed", (gint64) p->seed);
  GET_I (n_time_points, "time_points");
  GET_I (size_px, "size_px");
  GET_I (depth_px, "depth_px");
  GET_D (pixel_size_nm, "pixel_size_nm");
  GET_I (n_particles, "particles");
  GET_D (core_diameter_nm, "core_diameter_nm");
  GET_D (core_diameter_sd_nm, "core_diameter_sd_nm");
  GET_D (h_over_w_sd, "h_over_w_sd");
  GET_B (shell, "shell");
  GET_D (shell_diameter_nm, "shell_diameter_nm");
  GET_D (shell_coverage, "shell_coverage");
  GET_B (membrane, "membrane");
  GET_D (membrane_thickness_nm, "membrane_thickness_nm");
  GET_B (scenario, "scenario");
  GET_D (tilt_min_deg, "tilt_min_deg");
  GET_D (tilt_max_deg, "tilt_max_deg");
  GET_D (tilt_step_deg, "tilt_step_deg");
  GET_D (angle_error_sd_deg, "angle_error_sd_deg");
  GET_D (axis_angle_deg, "axis_angle_deg");
  GET_D (axis_shift_px, "axis_shift_px");
  GET_D (probe_sigma_nm, "probe_sigma_nm");
  GET_D (dose_e_nm2, "dose_e_nm2");
  GET_B (shot_noise, "shot_noise");
  GET_D (scatter_per_nm, "scatter_per_nm");
  GET_D (detector_gain, "detector_gain");
  GET_D (detector_offset, "detector_offset");
  kiln_noise_kind_from_string (json_object_get_string_member_with_default (o, "scan_noise", "g4"),
                               &p->scan_noise);
  GET_D (scan_noise_variance, "scan_noise_variance");
  GET_D (drift_sigma_px, "drift_sigma_px");
  GET_I (supersample, "supersample");
  GET_B (make_volume, "truth_volumes");
  GET_I (reference_frames, "reference_frames");
#undef GET_D
#undef GET_I
#undef GET_B
  return kiln_sim_params_validate (p, NULL);
}

/* ---- Experiment metadata (the Experiment panel) -------------------------------------------- */

static double
json_number_or_nan (JsonObject *o,
                    const char *key)
{
  JsonNode *n = o != NULL && json_object_has_member (o, key) ? json_object_get_member (o, key) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  return json_node_get_double (n);
}

static void
json_set_number_or_null (JsonObject *o,
                         const char *key,
                         double      v)
{
  if (isfinite (v))
    json_object_set_double_member (o, key, v);
  else
    json_object_set_null_member (o, key);
}

static KilnExperimentTimePoint *
get_etp (KilnDocument *self,
         guint         index)
{
  if (self->experiment == NULL || index >= self->experiment->time_points->len)
    return NULL;
  return g_ptr_array_index (self->experiment->time_points, index);
}

/* A path as experiment.json stores it: relative inside the folder, else absolute (unsaved). */
static char *
experiment_relative (KilnDocument *self,
                     const char   *abs_path)
{
  g_autofree char *prefix = NULL;

  if (abs_path == NULL)
    return NULL;
  if (self->experiment == NULL || self->experiment->dir == NULL)
    return g_strdup (abs_path);
  prefix = g_strconcat (self->experiment->dir, G_DIR_SEPARATOR_S, NULL);
  if (g_str_has_prefix (abs_path, prefix))
    return g_strdup (abs_path + strlen (prefix));
  return g_strdup (abs_path);
}

double
kiln_document_get_pixel_size_nm (KilnDocument *self)
{
  TimePoint *tp;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), 0);
  if (self->experiment != NULL)
    return self->experiment->pixel_size_nm > 0 ? self->experiment->pixel_size_nm : 0;
  tp = get_tp (self, 0);
  return tp != NULL && tp->stack != NULL && tp->stack->pixel_size_nm > 0 ? tp->stack->pixel_size_nm : 0;
}

const char *
kiln_document_get_time_point_path (KilnDocument *self,
                                   guint         index)
{
  TimePoint *tp = get_tp (self, index);

  return tp != NULL ? tp->path : NULL;
}

const char *
kiln_document_get_angles_path (KilnDocument *self,
                               guint         index)
{
  TimePoint *tp = get_tp (self, index);

  return tp != NULL ? tp->angles_path : NULL;
}

/* Everything the Experiment panel edits, as one JSON object (the undo unit). */
static JsonObject *
metadata_snapshot (KilnDocument *self)
{
  JsonObject *o = json_object_new ();
  JsonArray *a = json_array_new ();

  json_set_number_or_null (o, "pixel_size_nm", kiln_document_get_pixel_size_nm (self));
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      JsonObject *t = json_object_new ();

      json_object_set_string_member (t, "name", tp->name);
      json_set_number_or_null (t, "pt_time_s", tp->pt_time_s);
      json_set_number_or_null (t, "temperature_C", tp->temperature_c);
      if (tp->angles_path != NULL)
        json_object_set_string_member (t, "angles", tp->angles_path);
      else
        json_object_set_null_member (t, "angles");
      json_array_add_object_element (a, t);
    }
  json_object_set_array_member (o, "time_points", a);
  return o;
}

static void
set_stack_pixel_size (KilnImageStack *stack,
                      double          nm)
{
  if (stack != NULL)
    stack->pixel_size_nm = nm;
}

static void
apply_pixel_size (KilnDocument *self,
                  double        nm)
{
  if (!(nm > 0))
    return;
  if (self->experiment != NULL)
    self->experiment->pixel_size_nm = nm;
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      set_stack_pixel_size (tp->stack, nm);
      set_stack_pixel_size (tp->denoised, nm);
      set_stack_pixel_size (tp->aligned, nm);
    }
}

/* Give the loaded stack of @tp the angles of @path (when their count fits); NULL puts back the
 * angles the series file had. */
static void
apply_angles (KilnDocument *self,
              guint         index,
              const char   *path)
{
  TimePoint *tp = get_tp (self, index);
  KilnExperimentTimePoint *etp = get_etp (self, index);
  double *file_angles;

  if (g_strcmp0 (tp->angles_path, path) == 0)
    return;
  g_free (tp->angles_path);
  tp->angles_path = g_strdup (path);
  if (etp != NULL)
    {
      g_free (etp->angles);
      etp->angles = experiment_relative (self, path);
    }
  if (tp->stack == NULL)
    return;
  /* the series' own angles are kept once, so that going back to them needs no re-read */
  file_angles = g_object_get_data (G_OBJECT (self), tp->name);
  if (file_angles == NULL && tp->stack->has_angles)
    {
      file_angles = g_memdup2 (tp->stack->angles_deg, sizeof (double) * tp->stack->n_tilts);
      g_object_set_data_full (G_OBJECT (self), tp->name, file_angles, g_free);
    }
  if (path != NULL)
    {
      guint n = 0;
      g_autofree double *angles = kiln_tlt_load (path, &n, NULL);

      if (angles != NULL && n == tp->stack->n_tilts)
        kiln_image_stack_set_angles (tp->stack, angles, n, NULL);
    }
  else if (file_angles != NULL)
    kiln_image_stack_set_angles (tp->stack, file_angles, tp->stack->n_tilts, NULL);
}

static void
apply_metadata (KilnDocument *self,
                JsonObject   *snapshot)
{
  JsonArray *a;

  if (snapshot == NULL)
    return;
  apply_pixel_size (self, json_number_or_nan (snapshot, "pixel_size_nm"));
  a = json_object_has_member (snapshot, "time_points")
    ? json_object_get_array_member (snapshot, "time_points") : NULL;
  for (guint i = 0; a != NULL && i < MIN (json_array_get_length (a), self->time_points->len); i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      KilnExperimentTimePoint *etp = get_etp (self, i);
      JsonObject *t = json_array_get_object_element (a, i);
      const char *angles;

      if (t == NULL)
        continue;
      tp->pt_time_s = json_number_or_nan (t, "pt_time_s");
      tp->temperature_c = json_number_or_nan (t, "temperature_C");
      if (etp != NULL)
        {
          etp->time_s = tp->pt_time_s;
          etp->temperature_c = tp->temperature_c;
        }
      angles = json_object_get_string_member_with_default (t, "angles", NULL);
      apply_angles (self, i, angles);
    }
  self->modified = TRUE;
  g_signal_emit (self, signals[SIGNAL_METADATA_CHANGED], 0);
}

/* Record one metadata edit: @before is the snapshot taken before the change (owned). */
static void
push_metadata_change (KilnDocument *self,
                      JsonObject   *before)
{
  ParamChange *c = g_new0 (ParamChange, 1);

  c->step = KILN_DOC_EXPERIMENT_EDIT;
  c->before = before;
  c->after = metadata_snapshot (self);
  g_queue_push_head (&self->undo, c);
  while (self->undo.length > 200)
    param_change_free (g_queue_pop_tail (&self->undo));
  g_queue_clear_full (&self->redo, param_change_free);
  self->last_change_us = 0;
  self->modified = TRUE;
  g_signal_emit (self, signals[SIGNAL_METADATA_CHANGED], 0);
}

gboolean
kiln_document_set_pixel_size_nm (KilnDocument *self,
                                 double        pixel_size_nm)
{
  JsonObject *before;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (!(pixel_size_nm > 0) || !isfinite (pixel_size_nm) || self->time_points->len == 0 ||
      pixel_size_nm == kiln_document_get_pixel_size_nm (self))
    return FALSE;
  before = metadata_snapshot (self);
  apply_pixel_size (self, pixel_size_nm);
  push_metadata_change (self, before);
  return TRUE;
}

static gboolean
set_time_point_number (KilnDocument *self,
                       guint         index,
                       gboolean      is_time,
                       double        value)
{
  TimePoint *tp = get_tp (self, index);
  KilnExperimentTimePoint *etp = get_etp (self, index);
  JsonObject *before;

  if (tp == NULL || !isfinite (value) ||
      (is_time ? tp->pt_time_s : tp->temperature_c) == value)
    return FALSE;
  before = metadata_snapshot (self);
  if (is_time)
    tp->pt_time_s = value;
  else
    tp->temperature_c = value;
  if (etp != NULL)
    {
      etp->time_s = tp->pt_time_s;
      etp->temperature_c = tp->temperature_c;
    }
  push_metadata_change (self, before);
  return TRUE;
}

gboolean
kiln_document_set_time_s (KilnDocument *self,
                          guint         index,
                          double        time_s)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return set_time_point_number (self, index, TRUE, time_s);
}

gboolean
kiln_document_set_temperature_c (KilnDocument *self,
                                 guint         index,
                                 double        temperature_c)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  return set_time_point_number (self, index, FALSE, temperature_c);
}

gboolean
kiln_document_set_angles_path (KilnDocument  *self,
                               guint          index,
                               const char    *path,
                               GError       **error)
{
  TimePoint *tp = get_tp (self, index);
  JsonObject *before;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (tp == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("There is no time point %u"),
                   index + 1);
      return FALSE;
    }
  if (path != NULL)
    {
      guint n = 0;
      g_autofree double *angles = kiln_tlt_load (path, &n, error);
      if (angles == NULL)
        return FALSE;
    }
  if (g_strcmp0 (tp->angles_path, path) == 0)
    return TRUE;
  before = metadata_snapshot (self);
  apply_angles (self, index, path);
  push_metadata_change (self, before);
  return TRUE;
}

static void
strv_take (GStrvBuilder *b,
           char         *s)
{
  g_strv_builder_add (b, s);
  g_free (s);
}

char **
kiln_document_validate (KilnDocument *self)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  double last_time = NAN;
  guint last_index = 0;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  if (self->time_points->len > 0 && !(kiln_document_get_pixel_size_nm (self) > 0))
    g_strv_builder_add (b, _("The pixel size is unknown: enter it (nm) before reconstructing or measuring."));
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);

      if (!isfinite (tp->pt_time_s))
        {
          if (self->time_points->len > 1)
            strv_take (b, g_strdup_printf (_("T%u has no PT time (s)."), i + 1));
        }
      else
        {
          if (isfinite (last_time) && tp->pt_time_s <= last_time)
            strv_take (b, g_strdup_printf (_("PT times do not increase: T%u is at %g s, after T%u at %g s."),
                                                     i + 1, tp->pt_time_s, last_index + 1, last_time));
          last_time = tp->pt_time_s;
          last_index = i;
        }
      if (tp->stack == NULL)
        continue;
      if (tp->angles_path != NULL)
        {
          guint n = 0;
          g_autoptr(GError) error = NULL;
          g_autofree double *angles = kiln_tlt_load (tp->angles_path, &n, &error);

          if (angles == NULL)
            strv_take (b, g_strdup_printf ("T%u: %s", i + 1, error->message));
          else if (n != tp->stack->n_tilts)
            strv_take (b, g_strdup_printf (_("T%u: %s has %u angles but the series has %u tilts."),
                                                     i + 1, tp->angles_path, n, tp->stack->n_tilts));
        }
      else if (!tp->stack->has_angles)
        strv_take (b, g_strdup_printf (_("T%u: the series has no tilt angles; load a .tlt file."),
                                                 i + 1));
    }
  return g_strv_builder_end (b);
}

const char *
kiln_document_get_folder (KilnDocument *self)
{
  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  return self->experiment != NULL ? self->experiment->dir : NULL;
}

/* A single series becomes an unsaved experiment of one time point. */
static void
ensure_experiment (KilnDocument *self)
{
  if (self->experiment != NULL)
    return;
  self->experiment = kiln_experiment_new ();
  self->experiment->title = g_strdup (_("New experiment"));
  self->experiment->pixel_size_nm = kiln_document_get_pixel_size_nm (self);
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);

      g_free (tp->name);
      tp->name = g_strdup_printf ("tp%02u", i + 1);
      kiln_experiment_add_time_point (self->experiment, tp->name, tp->pt_time_s, tp->temperature_c,
                                      tp->path, tp->angles_path, NULL);
      tp->results_loaded = TRUE;
    }
  g_free (self->title);
  self->title = g_strdup (self->experiment->title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

typedef struct
{
  char           *path;
  char           *angles_path;
  char           *sort_key;
  double          sort_time;   /* s: the series' time, else its first tilt's, else the file's mtime */
  KilnImageStack *stack;
} ImportItem;

static void
import_item_clear (gpointer data)
{
  ImportItem *it = data;

  g_free (it->path);
  g_free (it->angles_path);
  g_free (it->sort_key);
  g_clear_pointer (&it->stack, kiln_image_stack_unref);
}

typedef struct
{
  GArray           *items;   /* of ImportItem */
  KilnImportOrder   order;
  KilnProgressFunc  progress;
  gpointer          progress_data;
} ImportData;

static void
import_data_free (ImportData *d)
{
  g_array_unref (d->items);
  g_free (d);
}

static int
import_compare (gconstpointer a,
                gconstpointer b,
                gpointer      data)
{
  const ImportItem *x = a, *y = b;
  KilnImportOrder order = GPOINTER_TO_INT (data);

  if (order == KILN_IMPORT_BY_TIME)
    {
      gboolean fx = isfinite (x->sort_time), fy = isfinite (y->sort_time);
      if (fx != fy)
        return fx ? -1 : 1;   /* unknown times last */
      if (fx && x->sort_time != y->sort_time)
        return x->sort_time < y->sort_time ? -1 : 1;
    }
  return strcmp (x->sort_key, y->sort_key);
}

/* NAME.tlt or NAME.rawtlt next to the series, or NULL. */
static char *
sibling_tlt (const char *path)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, G_DIR_SEPARATOR);
  g_autofree char *stem = dot != NULL && (slash == NULL || dot > slash)
    ? g_strndup (path, dot - path) : g_strdup (path);
  const char *suffixes[] = { ".tlt", ".rawtlt" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (stem, suffixes[i], NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&p);
    }
  return NULL;
}

static void
import_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ImportData *d = task_data;
  GError *error = NULL;

  for (guint i = 0; i < d->items->len; i++)
    {
      ImportItem *it = &g_array_index (d->items, ImportItem, i);
      g_autofree char *base = g_path_get_basename (it->path);
      g_autofree char *what = g_strdup_printf (_("Reading %s"), base);

      kiln_report (d->progress, d->progress_data, (double) i / d->items->len, what);
      it->stack = kiln_io_load_stack (it->path, cancellable, &error);
      if (it->stack == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      it->angles_path = sibling_tlt (it->path);
      if (it->angles_path != NULL)
        {
          guint n = 0;
          g_autofree double *angles = kiln_tlt_load (it->angles_path, &n, NULL);
          /* a count that does not fit is left for the validation message */
          if (angles != NULL && n == it->stack->n_tilts)
            kiln_image_stack_set_angles (it->stack, angles, n, NULL);
        }
      it->sort_key = g_utf8_collate_key_for_filename (base, -1);
      if (isfinite (it->stack->time_s))
        it->sort_time = it->stack->time_s;
      else if (it->stack->meta != NULL && isfinite (it->stack->meta[0].time_s))
        it->sort_time = it->stack->meta[0].time_s;
      else
        {
          gint64 us = modification_time_us (it->path);
          it->sort_time = us >= 0 ? us / 1e6 : NAN;
        }
    }
  g_array_sort_with_data (d->items, import_compare, GINT_TO_POINTER (d->order));
  kiln_report (d->progress, d->progress_data, 1.0, NULL);
  g_task_return_boolean (task, TRUE);
}

void
kiln_document_import_async (KilnDocument        *self,
                            GFile              **files,
                            guint                n_files,
                            KilnImportOrder      order,
                            GCancellable        *cancellable,
                            KilnProgressFunc     progress,
                            gpointer             progress_data,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  ImportData *d = g_new0 (ImportData, 1);

  d->items = g_array_new (FALSE, TRUE, sizeof (ImportItem));
  g_array_set_clear_func (d->items, import_item_clear);
  d->order = order;
  d->progress = progress;
  d->progress_data = progress_data;
  g_task_set_source_tag (task, kiln_document_import_async);
  g_task_set_task_data (task, d, (GDestroyNotify) import_data_free);
  for (guint i = 0; i < n_files; i++)
    {
      ImportItem it = { 0 };

      it.path = g_file_get_path (files[i]);
      if (it.path == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                   _("Only local files can be imported"));
          return;
        }
      g_array_append_val (d->items, it);
    }
  if (n_files == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("No tilt series to import"));
      return;
    }
  g_task_run_in_thread (task, import_thread);
}

static gboolean
time_point_named (KilnDocument *self,
                  const char   *name)
{
  for (guint j = 0; j < self->time_points->len; j++)
    if (g_str_equal (((TimePoint *) g_ptr_array_index (self->time_points, j))->name, name))
      return TRUE;
  return FALSE;
}

guint
kiln_document_import_finish (KilnDocument  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  ImportData *d;
  guint added = 0;

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return 0;
  d = g_task_get_task_data (G_TASK (result));
  ensure_experiment (self);
  for (guint i = 0; i < d->items->len; i++)
    {
      ImportItem *it = &g_array_index (d->items, ImportItem, i);
      TimePoint *tp = g_new0 (TimePoint, 1);
      guint number = self->time_points->len + 1;
      g_autofree char *tilts = NULL;
      g_autofree char *angles = NULL;

      /* a name no other time point has */
      do
        {
          g_free (tp->name);
          tp->name = g_strdup_printf ("tp%02u", number++);
        }
      while (results_entry (self->experiment, tp->name) != NULL || time_point_named (self, tp->name));
      tp->pt_time_s = it->stack->time_s;
      tp->temperature_c = it->stack->temperature_c;
      tp->path = g_strdup (it->path);
      tp->angles_path = g_strdup (it->angles_path);
      tp->stack = g_steal_pointer (&it->stack);
      tp->results_loaded = TRUE;
      if (!(self->experiment->pixel_size_nm > 0) && tp->stack->pixel_size_nm > 0)
        self->experiment->pixel_size_nm = tp->stack->pixel_size_nm;
      else if (tp->stack->pixel_size_nm <= 0)
        tp->stack->pixel_size_nm = self->experiment->pixel_size_nm;
      tilts = experiment_relative (self, tp->path);
      angles = experiment_relative (self, tp->angles_path);
      kiln_experiment_add_time_point (self->experiment, tp->name, tp->pt_time_s, tp->temperature_c,
                                      tilts, angles, NULL);
      g_ptr_array_add (self->time_points, tp);
      added++;
    }
  self->modified = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TIME_POINTS]);
  g_signal_emit (self, signals[SIGNAL_METADATA_CHANGED], 0);
  return added;
}

static gboolean
path_is_inside (const char *path,
                const char *dir)
{
  g_autofree char *prefix = g_strconcat (dir, G_DIR_SEPARATOR_S, NULL);

  return path != NULL && g_str_has_prefix (path, prefix);
}

gboolean
kiln_document_save_as (KilnDocument  *self,
                       const char    *dir,
                       GError       **error)
{
  g_autofree char *abs_dir = NULL;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);
  if (self->time_points->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("There is nothing to save"));
      return FALSE;
    }
  if (!(kiln_document_get_pixel_size_nm (self) > 0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   _("Cannot save the experiment into %s: enter the pixel size (nm) first"), dir);
      return FALSE;
    }
  abs_dir = g_canonicalize_filename (dir, NULL);
  if (g_mkdir_with_parents (abs_dir, 0755) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Cannot create the folder %s: %s"), abs_dir, g_strerror (errsv));
      return FALSE;
    }
  ensure_experiment (self);
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      g_autoptr(KilnImageStack) stack = NULL;
      g_autofree char *rel = NULL;
      g_autofree char *abs = NULL;
      g_autofree char *tp_dir = NULL;

      if (path_is_inside (tp->path, abs_dir) &&
          (tp->angles_path == NULL || path_is_inside (tp->angles_path, abs_dir)))
        continue;
      /* copy the series (and its angles) into the folder, as kiln-cli simulate lays them out */
      stack = tp->stack != NULL ? kiln_image_stack_ref (tp->stack)
        : read_stack (tp->path, tp->angles_path, self->experiment->pixel_size_nm, NULL, error);
      if (stack == NULL)
        return FALSE;
      tp_dir = g_build_filename (abs_dir, tp->name, NULL);
      if (g_mkdir_with_parents (tp_dir, 0755) != 0)
        {
          int errsv = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       _("Cannot create the folder %s: %s"), tp_dir, g_strerror (errsv));
          return FALSE;
        }
      abs = g_build_filename (tp_dir, "tilts.mrc", NULL);
      if (!kiln_mrc_save_stack (stack, abs, "kiln import", error))
        return FALSE;
      g_free (tp->path);
      tp->path = g_steal_pointer (&abs);
      g_clear_pointer (&tp->angles_path, g_free);
      if (stack->has_angles)
        {
          abs = g_build_filename (tp_dir, "angles.tlt", NULL);
          if (!kiln_tlt_save (abs, stack->angles_deg, stack->n_tilts, error))
            return FALSE;
          tp->angles_path = g_steal_pointer (&abs);
        }
    }
  /* every path now lies in the folder: store them relative to it */
  g_free (self->experiment->dir);
  self->experiment->dir = g_strdup (abs_dir);
  if (self->experiment->title == NULL || g_str_equal (self->experiment->title, _("New experiment")))
    {
      /* a new experiment is named after its folder */
      g_free (self->experiment->title);
      self->experiment->title = g_path_get_basename (abs_dir);
      g_free (self->title);
      self->title = g_strdup (self->experiment->title);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      KilnExperimentTimePoint *etp = get_etp (self, i);

      g_free (etp->tilts);
      etp->tilts = experiment_relative (self, tp->path);
      g_free (etp->angles);
      etp->angles = experiment_relative (self, tp->angles_path);
    }
  if (!kiln_document_save (self, error))
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_METADATA_CHANGED], 0);
  return TRUE;
}

/* ---- Methods paragraph ----------------------------------------------------------------------- */

static JsonObject *
json_object_deep_copy (JsonObject *o)
{
  return step_params_copy (o);
}

KilnExperiment *
kiln_document_dup_pipeline_experiment (KilnDocument *self)
{
  KilnExperiment *e;
  g_autoptr(JsonObject) axis = NULL;
  JsonObject *axis_results;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  if (self->experiment == NULL)
    return NULL;
  e = kiln_experiment_new ();
  e->title = g_strdup (self->experiment->title);
  e->pixel_size_nm = self->experiment->pixel_size_nm;
  e->dir = g_strdup (self->experiment->dir);
  for (guint i = 0; i < self->experiment->time_points->len; i++)
    {
      KilnExperimentTimePoint *etp = g_ptr_array_index (self->experiment->time_points, i);
      kiln_experiment_add_time_point (e, etp->name, etp->time_s, etp->temperature_c, etp->tilts,
                                      etp->angles, etp->truth);
    }
  /* the pipeline's steps, keeping only the parameters kiln-cli run knows (the app's own keys,
   * e.g. the tilt-axis preview, are not part of the analysis) */
  for (guint st = 0; st < KILN_N_STEPS; st++)
    {
      const char *name = kiln_step_to_string (st);
      JsonObject *rec = kiln_experiment_get_step (self->experiment, name);
      g_autoptr(JsonObject) defaults = kiln_pipeline_step_defaults (st);
      g_autoptr(JsonObject) copy = NULL;
      g_autoptr(GList) members = NULL;

      if (rec == NULL)
        continue;
      copy = json_object_deep_copy (rec);
      members = json_object_get_members (copy);
      for (GList *l = members; l != NULL; l = l->next)
        if (!g_str_equal (l->data, "results") && !json_object_has_member (defaults, l->data))
          json_object_remove_member (copy, l->data);
      kiln_experiment_set_step (e, name, copy);
    }
  /* the axes chosen in the app, as the pipeline's per-time-point results */
  axis = kiln_experiment_get_step (e, "axis") != NULL
    ? json_object_ref (kiln_experiment_get_step (e, "axis")) : json_object_new ();
  if (!json_object_has_member (axis, "results") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (axis, "results")))
    json_object_set_object_member (axis, "results", json_object_new ());
  axis_results = json_object_get_object_member (axis, "results");
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      JsonObject *entry, *details;

      if (!tp->has_axis)
        continue;
      entry = json_object_new ();
      details = json_object_new ();
      json_object_set_double_member (details, "axis_angle_deg", tp->axis_angle_deg);
      json_object_set_double_member (details, "axis_shift_px", tp->axis_shift_px);
      json_object_set_object_member (entry, "details", details);
      json_object_set_object_member (axis_results, tp->name, entry);
    }
  if (json_object_get_size (axis_results) > 0)
    kiln_experiment_set_step (e, "axis", axis);
  return e;
}

char *
kiln_document_dup_methods (KilnDocument  *self,
                           GError       **error)
{
  g_autoptr(KilnExperiment) e = NULL;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  e = kiln_document_dup_pipeline_experiment (self);
  if (e == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("The methods paragraph needs an experiment (this is a single tilt series)"));
      return NULL;
    }
  return kiln_pipeline_methods (e, error);
}

/* ---- Autosave ------------------------------------------------------------------------------ */

char *
kiln_document_dup_autosave_path (KilnDocument *self)
{
  g_autoptr(GChecksum) sum = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), NULL);
  if (self->experiment != NULL && self->experiment->dir != NULL)
    return g_build_filename (self->experiment->dir, ".experiment.autosave.json", NULL);
  if (self->time_points->len == 0)
    return NULL;
  /* unsaved: named after the series it holds, so that reopening them finds it */
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      g_checksum_update (sum, (const guchar *) tp->path, -1);
      g_checksum_update (sum, (const guchar *) "\n", 1);
    }
  name = g_strdup_printf ("%.16s.json", g_checksum_get_string (sum));
  return g_build_filename (g_get_user_state_dir (), "kiln", "autosave", name, NULL);
}

gboolean
kiln_document_autosave (KilnDocument  *self,
                        GError       **error)
{
  g_autofree char *path = kiln_document_dup_autosave_path (self);
  g_autofree char *dir = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  JsonObject *steps = json_object_new ();
  JsonObject *axes = json_object_new ();
  GError *local = NULL;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("There is nothing to autosave"));
      return FALSE;
    }
  json_object_set_string_member (root, "format", "kiln-autosave");
  json_object_set_int_member (root, "format_version", 1);
  json_object_set_int_member (root, "saved_at_unix_us", g_get_real_time ());
  json_object_set_object_member (root, "metadata", metadata_snapshot (self));
  for (guint st = 0; st < KILN_DOC_N_STEPS; st++)
    {
      JsonObject *p = kiln_document_get_step_params (self, st);
      if (p != NULL)
        json_object_set_object_member (steps, step_names[st], step_params_copy (p));
    }
  json_object_set_object_member (root, "steps", steps);
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      JsonObject *a;

      if (!tp->has_axis)
        continue;
      a = json_object_new ();
      json_object_set_double_member (a, "axis_angle_deg", tp->axis_angle_deg);
      json_object_set_double_member (a, "axis_shift_px", tp->axis_shift_px);
      json_object_set_object_member (axes, tp->name, a);
    }
  json_object_set_object_member (root, "axes", axes);

  node = json_node_init_object (json_node_alloc (), root);
  text = json_to_string (node, TRUE);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Cannot create the folder %s: %s"), dir, g_strerror (errsv));
      return FALSE;
    }
  /* temporary file + rename: a crash leaves the previous autosave or the new one */
  if (!g_file_set_contents (path, text, -1, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s: cannot autosave: %s"), path,
                   local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

static gint64
modification_time_us (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                                                 G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                                                 G_FILE_QUERY_INFO_NONE, NULL, NULL);
  g_autoptr(GDateTime) t = NULL;

  if (info == NULL)
    return -1;
  t = g_file_info_get_modification_date_time (info);
  return t != NULL ? g_date_time_to_unix (t) * G_USEC_PER_SEC + g_date_time_get_microsecond (t) : -1;
}

gboolean
kiln_document_has_newer_autosave (KilnDocument *self)
{
  g_autofree char *path = kiln_document_dup_autosave_path (self);
  gint64 autosaved;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (path == NULL)
    return FALSE;
  autosaved = modification_time_us (path);
  if (autosaved < 0)
    return FALSE;
  if (self->experiment != NULL && self->experiment->dir != NULL)
    {
      g_autofree char *json = g_build_filename (self->experiment->dir, "experiment.json", NULL);
      return autosaved > modification_time_us (json);
    }
  return TRUE;
}

gboolean
kiln_document_restore_autosave (KilnDocument  *self,
                                GError       **error)
{
  g_autofree char *path = kiln_document_dup_autosave_path (self);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *steps, *axes;
  JsonNode *node;

  g_return_val_if_fail (KILN_IS_DOCUMENT (self), FALSE);
  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There is no autosave"));
      return FALSE;
    }
  if (!json_parser_load_from_file (parser, path, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  node = json_parser_get_root (parser);
  root = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (root == NULL ||
      g_strcmp0 (json_object_get_string_member_with_default (root, "format", NULL), "kiln-autosave") != 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA, _("%s is not a Kiln autosave"), path);
      return FALSE;
    }
  if (json_object_has_member (root, "metadata") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "metadata")))
    {
      JsonObject *before = metadata_snapshot (self);
      apply_metadata (self, json_object_get_object_member (root, "metadata"));
      push_metadata_change (self, before);
    }
  steps = json_object_has_member (root, "steps") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "steps"))
    ? json_object_get_object_member (root, "steps") : NULL;
  for (guint st = 0; steps != NULL && st < KILN_DOC_N_STEPS; st++)
    if (json_object_has_member (steps, step_names[st]) &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (steps, step_names[st])))
      {
        kiln_document_set_step_params (self, st, json_object_get_object_member (steps, step_names[st]));
        self->last_change_us = 0;
        g_signal_emit (self, signals[SIGNAL_PARAMS_CHANGED], 0, (guint) st);
      }
  axes = json_object_has_member (root, "axes") &&
         JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "axes"))
    ? json_object_get_object_member (root, "axes") : NULL;
  for (guint i = 0; axes != NULL && i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      JsonObject *a;
      double angle, shift;

      if (!json_object_has_member (axes, tp->name) ||
          !JSON_NODE_HOLDS_OBJECT (json_object_get_member (axes, tp->name)))
        continue;
      a = json_object_get_object_member (axes, tp->name);
      angle = json_number_or_nan (a, "axis_angle_deg");
      shift = json_number_or_nan (a, "axis_shift_px");
      if (isfinite (angle) && isfinite (shift))
        kiln_document_set_axis (self, i, angle, shift);
    }
  self->modified = TRUE;
  return TRUE;
}

void
kiln_document_remove_autosave (KilnDocument *self)
{
  g_autofree char *path = kiln_document_dup_autosave_path (self);

  g_return_if_fail (KILN_IS_DOCUMENT (self));
  if (path != NULL)
    g_unlink (path);
}
