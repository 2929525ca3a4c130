/* kiln-preview-runner.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-preview-runner.h"

struct _KilnPreviewRunner
{
  GObject               parent_instance;

  guint                 delay_ms;
  KilnPreviewStartFunc  start;
  gpointer              owner;

  guint                 source;       /* the pending delay */
  GCancellable         *cancellable;  /* of the running worker */
  guint                 generation;   /* of the latest control change */
  gboolean              running;
};

G_DEFINE_FINAL_TYPE (KilnPreviewRunner, kiln_preview_runner, G_TYPE_OBJECT)

static gboolean
on_timeout (gpointer data)
{
  KilnPreviewRunner *self = data;

  self->source = 0;
  if (self->running)
    return G_SOURCE_REMOVE;   /* the running one restarts when it ends */
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->running = self->start (self->owner, self->cancellable, self->generation);
  return G_SOURCE_REMOVE;
}

static void
kiln_preview_runner_dispose (GObject *object)
{
  KilnPreviewRunner *self = KILN_PREVIEW_RUNNER (object);

  g_clear_handle_id (&self->source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (kiln_preview_runner_parent_class)->dispose (object);
}

static void
kiln_preview_runner_class_init (KilnPreviewRunnerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = kiln_preview_runner_dispose;
}

static void
kiln_preview_runner_init (KilnPreviewRunner *self)
{
}

KilnPreviewRunner *
kiln_preview_runner_new (guint                delay_ms,
                         KilnPreviewStartFunc start,
                         gpointer             owner)
{
  KilnPreviewRunner *self = g_object_new (KILN_TYPE_PREVIEW_RUNNER, NULL);

  g_return_val_if_fail (start != NULL, self);
  self->delay_ms = delay_ms;
  self->start = start;
  self->owner = owner;
  return self;
}

void
kiln_preview_runner_schedule (KilnPreviewRunner *self)
{
  g_return_if_fail (KILN_IS_PREVIEW_RUNNER (self));
  self->generation++;
  if (self->running && self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->source, g_source_remove);
  self->source = g_timeout_add (self->delay_ms, on_timeout, self);
}

gboolean
kiln_preview_runner_done (KilnPreviewRunner *self,
                          guint              generation)
{
  if (self == NULL)
    return FALSE;
  g_return_val_if_fail (KILN_IS_PREVIEW_RUNNER (self), FALSE);
  self->running = FALSE;
  if (generation == self->generation)
    return TRUE;
  /* stale: the controls moved while it ran; run again for them unless a delay is pending */
  if (self->source == 0)
    self->source = g_timeout_add (self->delay_ms, on_timeout, self);
  return FALSE;
}

gboolean
kiln_preview_runner_is_idle (KilnPreviewRunner *self)
{
  g_return_val_if_fail (KILN_IS_PREVIEW_RUNNER (self), TRUE);
  return self->source == 0 && !self->running;
}

guint
kiln_preview_runner_get_delay (KilnPreviewRunner *self)
{
  g_return_val_if_fail (KILN_IS_PREVIEW_RUNNER (self), 0);
  return self->delay_ms;
}
