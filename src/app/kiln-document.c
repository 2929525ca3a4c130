/* kiln-document.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-document.h"

typedef struct
{
  char           *name;
  double          pt_time_s;
  double          temperature_c;
  char           *path;
  KilnImageStack *stack;
} TimePoint;

struct _KilnDocument
{
  GObject    parent_instance;
  char      *title;
  GPtrArray *time_points;
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
  g_clear_pointer (&tp->stack, kiln_image_stack_unref);
  g_free (tp);
}

static void
kiln_document_finalize (GObject *object)
{
  KilnDocument *self = KILN_DOCUMENT (object);

  g_free (self->title);
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
  s = g_string_new (tp->name);
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

typedef struct
{
  char             *path;
  KilnProgressFunc  progress;
  gpointer          progress_data;
} LoadData;

static void
load_data_free (LoadData *d)
{
  g_free (d->path);
  g_free (d);
}

static void
load_stack_thread (GTask        *task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  LoadData *d = task_data;
  GError *error = NULL;
  KilnImageStack *stack;

  kiln_report (d->progress, d->progress_data, 0.0, _("Reading the tilt series"));
  stack = kiln_io_load_stack (d->path, cancellable, &error);
  if (stack == NULL)
    g_task_return_error (task, error);
  else
    {
      kiln_report (d->progress, d->progress_data, 1.0, NULL);
      g_task_return_pointer (task, stack, (GDestroyNotify) kiln_image_stack_unref);
    }
}

void
kiln_document_load_stack_async (KilnDocument        *self,
                                GFile               *file,
                                GCancellable        *cancellable,
                                KilnProgressFunc     progress,
                                gpointer             progress_data,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  LoadData *d = g_new0 (LoadData, 1);

  d->path = g_file_get_path (file);
  d->progress = progress;
  d->progress_data = progress_data;
  g_task_set_source_tag (task, kiln_document_load_stack_async);
  g_task_set_task_data (task, d, (GDestroyNotify) load_data_free);
  if (d->path == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Only local files can be opened"));
      return;
    }
  g_task_run_in_thread (task, load_stack_thread);
}

gboolean
kiln_document_load_stack_finish (KilnDocument  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  LoadData *d = g_task_get_task_data (G_TASK (result));
  KilnImageStack *stack = g_task_propagate_pointer (G_TASK (result), error);
  TimePoint *tp;

  if (stack == NULL)
    return FALSE;

  g_ptr_array_set_size (self->time_points, 0);
  tp = g_new0 (TimePoint, 1);
  tp->name = g_strdup ("T1");
  tp->pt_time_s = stack->time_s;
  tp->temperature_c = stack->temperature_c;
  tp->path = g_strdup (d->path);
  tp->stack = stack;
  g_ptr_array_add (self->time_points, tp);

  g_free (self->title);
  self->title = g_path_get_basename (d->path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TIME_POINTS]);
  return TRUE;
}
