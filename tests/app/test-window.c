/* test-window.c — the main window starts, has a header bar and its actions, and quits; an
 * experiment left with an autosave (a crash) offers the restore bar, which restores or discards
 * it; the experiment joins the welcome view's recent list; the methods paragraph dialog shows
 * the pipeline's paragraph and copies it; an opened experiment shows its time points (the
 * screenshot of the Experiment step in docs/guide.md)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>

#include <string.h>

#include "kiln-app-test-util.h"
#include "kiln-application.h"
#include "kiln-window.h"

static void
iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* one registered application for all tests (its D-Bus path can be exported once) */
static KilnApplication *app;

static void
test_window_basics (void)
{
  KilnWindow *window;
  GtkWidget *titlebar;

  window = kiln_window_new (app);
  g_assert_true (KILN_IS_WINDOW (window));
  gtk_window_present (GTK_WINDOW (window));
  iterate ();

  titlebar = gtk_window_get_titlebar (GTK_WINDOW (window));
  g_assert_true (GTK_IS_HEADER_BAR (titlebar));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Kiln");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-demo", NULL));
  iterate ();
  /* the open action exists (activating it would show a file chooser) */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "quit"));

  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
}

static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
file_exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static gboolean
second_loaded (gpointer doc)
{
  return kiln_document_get_stack (doc, 1) != NULL;
}

static gboolean
restore_offered (gpointer window)
{
  return kiln_window_get_restore_offered (window);
}

/* Leave an autosave as a crashed session would: parameters changed, autosaved, no clean close. */
static void
crash_with_autosave (const char *dir,
                     double      variance)
{
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autoptr(JsonObject) p = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (p, "psd", "g2");
  json_object_set_double_member (p, "variance", variance);
  json_object_set_string_member (p, "profile", "fast");
  kiln_document_set_step_params (doc, KILN_DOC_STEP_DENOISE, p);
  g_assert_true (kiln_document_autosave (doc, &error));
  g_assert_no_error (error);
}

static KilnWindow *
open_in_window (KilnApplication *app,
                const char      *dir)
{
  KilnWindow *window = kiln_window_new (app);
  g_autoptr(GFile) file = g_file_new_for_path (dir);

  gtk_window_present (GTK_WINDOW (window));
  kiln_window_open_file (window, file);
  app_test_wait (restore_offered, window, 60);
  return window;
}

static void
test_window_restore (void)
{
  g_autofree char *dir = app_test_simulate ("window-restore", 2, NULL);
  g_autofree char *autosave = g_build_filename (dir, ".experiment.autosave.json", NULL);
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_auto(GStrv) recent = NULL;
  KilnWindow *window;
  KilnDocument *doc;
  JsonObject *p;
  GtkWindow *dialog;

  /* restore */
  crash_with_autosave (dir, 0.25);
  window = open_in_window (app, dir);
  doc = kiln_window_get_document (window);
  g_assert_null (kiln_document_get_step_params (doc, KILN_DOC_STEP_DENOISE));
  recent = g_settings_get_strv (settings, "recent-experiments");
  g_assert_cmpstr (recent[0], ==, dir);
  g_assert_nonnull (find_named (GTK_WIDGET (window), dir));   /* its row in the welcome view */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.restore-autosave", NULL));
  g_assert_false (kiln_window_get_restore_offered (window));
  p = kiln_document_get_step_params (doc, KILN_DOC_STEP_DENOISE);
  g_assert_nonnull (p);
  g_assert_cmpfloat (json_object_get_double_member (p, "variance"), ==, 0.25);

  /* the T2 button of the experiment table shows (and loads) time point 2 */
  g_assert_null (kiln_document_get_stack (doc, 1));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-time-point", "u", 1));
  app_test_wait (second_loaded, doc, 60);

  /* the methods paragraph, with the restored parameters, and its Copy button */
  dialog = kiln_window_show_methods (window);
  g_assert_nonnull (dialog);
  {
    GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (find_named (GTK_WIDGET (dialog), "methods-text")));
    GtkTextIter start, end;
    g_autofree char *text = NULL;
    GdkContentProvider *content;
    GValue value = G_VALUE_INIT;

    gtk_text_buffer_get_bounds (buffer, &start, &end);
    text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    g_assert_nonnull (strstr (text, "variance = 0.25"));
    g_assert_nonnull (strstr (text, "Kiln " PACKAGE_VERSION));
    g_signal_emit_by_name (find_named (GTK_WIDGET (dialog), "methods-copy"), "clicked");
    content = gdk_clipboard_get_content (gtk_widget_get_clipboard (GTK_WIDGET (dialog)));
    g_assert_nonnull (content);
    g_value_init (&value, G_TYPE_STRING);
    g_assert_true (gdk_content_provider_get_value (content, &value, NULL));
    g_assert_cmpstr (g_value_get_string (&value), ==, text);
    g_value_unset (&value);
  }
  gtk_window_destroy (dialog);

  /* a finished step (here: an axis set) autosaves by itself 2 s later (first let the autosave
   * scheduled by loading T2 happen, and delete it) */
  {
    gint64 end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
    while (g_get_monotonic_time () < end)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (10000);
  }
  kiln_document_remove_autosave (doc);
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));
  kiln_document_set_axis (doc, 0, 1.5, 0.5);
  app_test_wait (file_exists, autosave, 20);
  /* an autosave written by this session (modified) goes away with a clean close */
  kiln_window_autosave_now (window);
  g_assert_true (g_file_test (autosave, G_FILE_TEST_EXISTS));
  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));

  /* discard */
  crash_with_autosave (dir, 0.75);
  window = open_in_window (app, dir);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.discard-autosave", NULL));
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));
  p = kiln_document_get_step_params (kiln_window_get_document (window), KILN_DOC_STEP_DENOISE);
  g_assert_null (p);
  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
}

static gboolean
first_time_point_shown (gpointer data)
{
  KilnDocument *doc = kiln_window_get_document (KILN_WINDOW (data));

  return kiln_document_get_n_time_points (doc) == 2 && kiln_document_get_stack (doc, 0) != NULL;
}

/* An experiment opened in the window: its time points and the first tilt series are there, as
 * the simulator wrote them (the screenshot of the Experiment step in docs/guide.md). */
static void
test_window_experiment (void)
{
  g_autoptr(KilnApplication) app = kiln_application_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GFile) file = NULL;
  KilnSimParams params;
  KilnWindow *window;
  KilnDocument *doc;
  KilnImageStack *stack;

  /* another id than the first test's application, which may still be exported on the bus */
  g_application_set_application_id (G_APPLICATION (app), APP_ID ".TestExperiment");
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  dir = app_test_simulate ("window-experiment", 2, &params);
  window = kiln_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 680);
  gtk_window_present (GTK_WINDOW (window));
  file = g_file_new_for_path (dir);
  kiln_window_open_file (window, file);
  app_test_wait (first_time_point_shown, window, 60);

  doc = kiln_window_get_document (window);
  g_assert_cmpuint (kiln_document_get_n_time_points (doc), ==, 2);
  stack = kiln_document_get_stack (doc, 0);
  g_assert_nonnull (stack);
  /* exactly the simulated series: 41 tilts of size_px² */
  g_assert_cmpuint (stack->n_tilts, ==, kiln_sim_n_tilts (&params));
  g_assert_cmpuint (stack->width, ==, params.size_px);
  g_assert_cmpuint (stack->height, ==, params.size_px);
  /* the time points are in process-time order */
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 0), <, kiln_document_get_time_s (doc, 1));
  {
    /* let the welcome page's cross-fade finish before the picture */
    gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
    while (g_get_monotonic_time () < end)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5000);
  }
  app_test_screenshot (GTK_WIDGET (window), "experiment");

  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
}

int
main (int argc, char **argv)
{
  int status;

  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 77;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/window/basics", test_window_basics);
  g_test_add_func ("/app/window/experiment", test_window_experiment);
  g_test_add_func ("/app/window/restore-recent-methods", test_window_restore);
  app = kiln_application_new ();
  {
    g_autoptr(GError) error = NULL;
    g_application_register (G_APPLICATION (app), NULL, &error);
    g_assert_no_error (error);
  }
  status = g_test_run ();
  g_object_unref (app);
  return status;
}
