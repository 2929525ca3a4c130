/* kiln-document.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

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
} TimePoint;

struct _KilnDocument
{
  GObject         parent_instance;
  char           *title;
  KilnExperiment *experiment;
  GPtrArray      *time_points;
};

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
  g_free (tp);
}

static void
kiln_document_finalize (GObject *object)
{
  KilnDocument *self = KILN_DOCUMENT (object);

  g_free (self->title);
  g_clear_pointer (&self->experiment, kiln_experiment_free);
  g_ptr_array_unref (self->time_points);
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

/* Runs in a worker: read a tilt series and its angles. */
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
} OpenData;

static void
open_data_free (OpenData *d)
{
  g_free (d->path);
  g_clear_pointer (&d->experiment, kiln_experiment_free);
  g_clear_pointer (&d->stack, kiln_image_stack_unref);
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
} LoadTpData;

static void
load_tp_data_free (LoadTpData *d)
{
  g_free (d->path);
  g_free (d->angles_path);
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
  return tp->volumes != NULL || tp->truth_dir != NULL;
}

typedef struct
{
  guint  index;
  char  *dir;
} LoadVolData;

static void
load_vol_data_free (LoadVolData *d)
{
  g_free (d->dir);
  g_free (d);
}

static void
load_volume_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  LoadVolData *d = task_data;
  g_autofree char *vpath = g_build_filename (d->dir, "volume.mrc", NULL);
  g_autofree char *lpath = g_build_filename (d->dir, "labels.mrc", NULL);
  g_autoptr(KilnVolumePair) pair = g_new0 (KilnVolumePair, 1);
  GError *error = NULL;

  pair->volume = kiln_mrc_load_volume (vpath, cancellable, &error);
  if (pair->volume == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_file_test (lpath, G_FILE_TEST_EXISTS))
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
  if (tp->truth_dir == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Time point %u has no reconstructed volume yet"), index + 1);
      return;
    }
  d = g_new0 (LoadVolData, 1);
  d->index = index;
  d->dir = g_strdup (tp->truth_dir);
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
  return tp->truth_dir ? g_build_filename (tp->truth_dir, "labels.mrc", NULL) : NULL;
}
