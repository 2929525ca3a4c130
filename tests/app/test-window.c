/* test-window.c — the main window starts, has a header bar and its actions, and quits
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>

#include "kiln-app-test-util.h"
#include "kiln-application.h"
#include "kiln-window.h"

static void
iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_window_basics (void)
{
  g_autoptr(KilnApplication) app = kiln_application_new ();
  g_autoptr(GError) error = NULL;
  KilnWindow *window;
  GtkWidget *titlebar;

  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
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
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 77;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/window/basics", test_window_basics);
  g_test_add_func ("/app/window/experiment", test_window_experiment);
  return g_test_run ();
}
