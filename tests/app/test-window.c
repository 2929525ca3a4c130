/* test-window.c — the main window starts, has a header bar and its actions, and quits
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>

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
  return g_test_run ();
}
