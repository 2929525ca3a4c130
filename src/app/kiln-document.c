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
  else
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

void
kiln_document_set_axis (KilnDocument *self,
                        guint         index,
                        double        angle_deg,
                        double        shift_px)
{
  TimePoint *tp = get_tp (self, index);

  g_return_if_fail (tp != NULL);
  g_return_if_fail (isfinite (angle_deg) && isfinite (shift_px));
  tp->has_axis = TRUE;
  tp->axis_angle_deg = angle_deg;
  tp->axis_shift_px = shift_px;
  results_changed (self, index);
}

void
kiln_document_clear_axis (KilnDocument *self,
                          guint         index)
{
  TimePoint *tp = get_tp (self, index);

  g_return_if_fail (tp != NULL);
  tp->has_axis = FALSE;
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

  if (c == NULL || self->experiment == NULL)
    return FALSE;
  value = step_params_copy (undo ? c->before : c->after);
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
  g_autofree char *rel = g_build_filename ("results", tp_name, file_name, NULL);
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
  for (guint i = 0; i < self->time_points->len; i++)
    {
      TimePoint *tp = g_ptr_array_index (self->time_points, i);
      g_autoptr(JsonObject) entry = json_object_new ();

      if (tp->denoised != NULL)
        {
          if (!save_result (self, entry, tp->name, "denoised", "denoised.mrc", tp->denoised,
                            &tp->saved_denoised, error))
            return FALSE;
        }
      else if (!tp->results_loaded)
        keep_saved (self, entry, "denoised", tp->saved_denoised);
      if (tp->aligned != NULL)
        {
          if (!save_result (self, entry, tp->name, "aligned", "aligned.mrc", tp->aligned,
                            &tp->saved_aligned, error) ||
              !save_result (self, entry, tp->name, "alignment", "aligned.xf", tp,
                            &tp->saved_xf, error))
            return FALSE;
        }
      else if (!tp->results_loaded)
        {
          keep_saved (self, entry, "aligned", tp->saved_aligned);
          keep_saved (self, entry, "alignment", tp->saved_xf);
        }
      if (tp->has_axis)
        {
          json_object_set_double_member (entry, "axis_angle_deg", tp->axis_angle_deg);
          json_object_set_double_member (entry, "axis_shift_px", tp->axis_shift_px);
        }
      if (tp->recon != NULL)
        {
          if (!save_result (self, entry, tp->name, "reconstruction", "reconstruction.mrc",
                            tp->recon, &tp->saved_recon, error))
            return FALSE;
        }
      else
        keep_saved (self, entry, "reconstruction", tp->saved_recon);
      if (tp->labels != NULL)
        {
          if (!save_result (self, entry, tp->name, "labels", "labels.mrc", tp->labels,
                            &tp->saved_labels, error))
            return FALSE;
        }
      else
        keep_saved (self, entry, "labels", tp->saved_labels);
      if (json_object_get_size (entry) > 0)
        json_object_set_object_member (results, tp->name, json_object_ref (entry));
    }
  kiln_experiment_set_step (self->experiment, "results", results);
  if (!kiln_experiment_save (self->experiment, self->experiment->dir, error))
    return FALSE;
  self->modified = FALSE;
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
