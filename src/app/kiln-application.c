/* kiln-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-application.h"
#include "kiln-window.h"

struct _KilnApplication
{
  GtkApplication parent_instance;
  gboolean       demo;
  char          *step;
};

G_DEFINE_FINAL_TYPE (KilnApplication, kiln_application, GTK_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "demo", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
    N_("Open the built-in simulated sintering experiment"), NULL },
  { "version", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL, N_("Print the version and quit"), NULL },
  { "step", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING, NULL,
    N_("Show this step once the document is open (experiment, denoise, align, tilt-axis, reconstruct, segment, analyze)"),
    N_("STEP") },
  { NULL }
};

static KilnWindow *
get_window (KilnApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    {
      window = GTK_WINDOW (kiln_window_new (self));
      if (self->step != NULL)
        kiln_window_set_initial_step (KILN_WINDOW (window), self->step);
    }
  return KILN_WINDOW (window);
}

/* For bench/bench-app-start: with KILN_BENCH_START set, print "first-frame" once the window has
 * painted its first frame and "document-frame" once a frame shows an opened document (then
 * quit when KILN_BENCH_START=quit). Times are measured by the bench, from process start. */
static void
on_bench_after_paint (GdkFrameClock *clock,
                      GtkWidget     *window)
{
  gboolean *first = g_object_get_data (G_OBJECT (window), "kiln-bench-first");
  GtkWidget *stack = gtk_window_get_child (GTK_WINDOW (window));

  if (first == NULL)
    {
      g_print ("first-frame\n");
      fflush (stdout);
      g_object_set_data (G_OBJECT (window), "kiln-bench-first", GINT_TO_POINTER (1));
    }
  /* the window's content: a box holding the welcome/document stack */
  for (stack = stack != NULL ? gtk_widget_get_first_child (stack) : NULL;
       stack != NULL && !GTK_IS_STACK (stack); stack = gtk_widget_get_next_sibling (stack))
    ;
  if (GTK_IS_STACK (stack) && g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (stack)), "document") == 0)
    {
      g_print ("document-frame\n");
      fflush (stdout);
      g_signal_handlers_disconnect_by_func (clock, on_bench_after_paint, window);
      if (g_strcmp0 (g_getenv ("KILN_BENCH_START"), "quit") == 0)
        g_application_quit (G_APPLICATION (gtk_window_get_application (GTK_WINDOW (window))));
    }
}

static void
on_bench_realize (GtkWidget *window)
{
  g_signal_connect_object (gtk_widget_get_frame_clock (window), "after-paint",
                           G_CALLBACK (on_bench_after_paint), window, 0);
}

static void
kiln_application_activate (GApplication *app)
{
  KilnApplication *self = KILN_APPLICATION (app);
  KilnWindow *window = get_window (self);

  if (g_getenv ("KILN_BENCH_START") != NULL && !gtk_widget_get_realized (GTK_WIDGET (window)))
    g_signal_connect (window, "realize", G_CALLBACK (on_bench_realize), NULL);
  if (self->demo)
    kiln_window_open_demo (window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
kiln_application_open (GApplication  *app,
                       GFile        **files,
                       int            n_files,
                       const char    *hint)
{
  KilnWindow *window = get_window (KILN_APPLICATION (app));

  if (n_files > 0)
    kiln_window_open_file (window, files[0]);
  gtk_window_present (GTK_WINDOW (window));
}

static int
kiln_application_handle_local_options (GApplication *app,
                                       GVariantDict *options)
{
  KilnApplication *self = KILN_APPLICATION (app);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("kiln %s\n", PACKAGE_VERSION);
      return 0;
    }
  self->demo = g_variant_dict_contains (options, "demo");
  g_variant_dict_lookup (options, "step", "s", &self->step);
  return -1;
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *param,
                 gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *authors[] = { "The Kiln developers", NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (app),
                         "program-name", "Kiln",
                         "logo-icon-name", APP_ID,
                         "version", PACKAGE_VERSION,
                         "comments", _("Time-resolved electron tomography of sintering nanoparticles"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors,
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated },
  { "about", about_activated },
};

static void
kiln_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *help_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (kiln_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.show-help-overlay", help_accels);
  gtk_window_set_default_icon_name (APP_ID);
}

static void
kiln_application_finalize (GObject *object)
{
  g_free (KILN_APPLICATION (object)->step);
  G_OBJECT_CLASS (kiln_application_parent_class)->finalize (object);
}

static void
kiln_application_class_init (KilnApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = kiln_application_finalize;

  app_class->activate = kiln_application_activate;
  app_class->open = kiln_application_open;
  app_class->startup = kiln_application_startup;
  app_class->handle_local_options = kiln_application_handle_local_options;
}

static void
kiln_application_init (KilnApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
}

KilnApplication *
kiln_application_new (void)
{
  return g_object_new (KILN_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "resource-base-path", "/io/github/kiln_tomo/Kiln",
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       NULL);
}
