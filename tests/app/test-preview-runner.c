/* test-preview-runner.c — the debounced preview: changes closer than the delay start one run
 * for the latest values; a change while a run works cancels it, drops its result and runs
 * again; a runner disposed while a run works drops its result safely. (GLib only: no display.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "kiln-preview-runner.h"

typedef struct
{
  KilnPreviewRunner *runner;
  guint              starts;
  guint              shown;
  guint              shown_generation;
  guint              stale;
  guint              ended;
  guint              work_ms;
} Fixture;

static void
work_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Fixture *f = task_data;
  gint64 end = g_get_monotonic_time () + f->work_ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
          return;
        }
      g_usleep (1000);
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Fixture *f = data;
  guint generation = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "generation"));

  if (kiln_preview_runner_done (f->runner, generation))
    {
      f->shown++;
      f->shown_generation = generation;
    }
  else
    f->stale++;
  f->ended++;
}

static gboolean
start (gpointer      owner,
       GCancellable *cancellable,
       guint         generation)
{
  Fixture *f = owner;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, on_done, f);

  f->starts++;
  g_object_set_data (G_OBJECT (task), "generation", GUINT_TO_POINTER (generation));
  g_task_set_task_data (task, f, NULL);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, work_thread);
  return TRUE;
}

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

static void
wait_idle (Fixture *f)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!kiln_preview_runner_is_idle (f->runner) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (kiln_preview_runner_is_idle (f->runner));
}

static void
test_debounce (void)
{
  Fixture f = { 0 };

  f.work_ms = 20;
  f.runner = kiln_preview_runner_new (60, start, &f);
  g_assert_cmpuint (kiln_preview_runner_get_delay (f.runner), ==, 60);
  g_assert_true (kiln_preview_runner_is_idle (f.runner));
  /* five changes 10 ms apart (< the 60 ms delay): one run, for the fifth */
  for (guint i = 0; i < 5; i++)
    {
      kiln_preview_runner_schedule (f.runner);
      g_assert_false (kiln_preview_runner_is_idle (f.runner));
      run_for (10);
    }
  wait_idle (&f);
  g_assert_cmpuint (f.starts, ==, 1);
  g_assert_cmpuint (f.shown, ==, 1);
  g_assert_cmpuint (f.shown_generation, ==, 5);
  g_assert_cmpuint (f.stale, ==, 0);
  g_clear_object (&f.runner);
}

static void
test_stale (void)
{
  Fixture f = { 0 };
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  f.work_ms = 400;
  f.runner = kiln_preview_runner_new (20, start, &f);
  kiln_preview_runner_schedule (f.runner);
  while (f.starts == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f.starts, ==, 1);
  /* a change while it works: that run is cancelled and dropped, a second one shows */
  f.work_ms = 20;
  kiln_preview_runner_schedule (f.runner);
  wait_idle (&f);
  g_assert_cmpuint (f.starts, ==, 2);
  g_assert_cmpuint (f.stale, ==, 1);
  g_assert_cmpuint (f.shown, ==, 1);
  g_assert_cmpuint (f.shown_generation, ==, 2);
  g_clear_object (&f.runner);
}

static void
test_dispose_while_running (void)
{
  Fixture f = { 0 };
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  f.work_ms = 400;
  f.runner = kiln_preview_runner_new (10, start, &f);
  kiln_preview_runner_schedule (f.runner);
  while (f.starts == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  /* the owner goes away: the run is cancelled and its result dropped (done (NULL) is FALSE) */
  g_clear_object (&f.runner);
  while (f.ended == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f.ended, ==, 1);
  g_assert_cmpuint (f.shown, ==, 0);
  g_assert_cmpuint (f.stale, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/preview-runner/debounce", test_debounce);
  g_test_add_func ("/app/preview-runner/stale", test_stale);
  g_test_add_func ("/app/preview-runner/dispose-while-running", test_dispose_while_running);
  return g_test_run ();
}
