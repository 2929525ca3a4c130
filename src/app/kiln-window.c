/* kiln-window.c — the main window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-window.h"

struct _KilnWindow
{
  GtkApplicationWindow  parent_instance;

  GSettings            *settings;

  /* template children */
  GtkStack             *stack;
  GtkLabel             *title_label;
  GtkLabel             *subtitle_label;
  GtkLabel             *status_label;
};

G_DEFINE_FINAL_TYPE (KilnWindow, kiln_window, GTK_TYPE_APPLICATION_WINDOW)

static void
set_document (KilnWindow *self,
              const char *subtitle,
              const char *status)
{
  gtk_label_set_label (self->subtitle_label, subtitle);
  gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), subtitle != NULL);
  gtk_label_set_label (self->status_label, status);
  gtk_stack_set_visible_child_name (self->stack, "document");
}

void
kiln_window_open_file (KilnWindow *self,
                       GFile      *file)
{
  g_autofree char *name = NULL;
  g_autoptr(GFile) parent = NULL;

  g_return_if_fail (KILN_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  name = g_file_get_basename (file);
  parent = g_file_get_parent (file);
  if (parent != NULL)
    {
      g_autofree char *folder = g_file_get_path (parent);
      if (folder != NULL)
        g_settings_set_string (self->settings, "last-folder", folder);
    }
  set_document (self, name, name);
}

void
kiln_window_open_demo (KilnWindow *self)
{
  g_return_if_fail (KILN_IS_WINDOW (self));
  set_document (self, _("Demo experiment"), _("Simulated sintering experiment (teaching preset)"));
}

static void
on_open_response (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  KilnWindow *self = KILN_WINDOW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        kiln_window_open_file (self, file);
    }
  g_object_unref (dialog);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autofree char *last = g_settings_get_string (self->settings, "last-folder");
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Import Tilt Series"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Tilt series (TIFF, MRC, DM3, DM4)"));
  gtk_file_filter_add_suffix (filter, "tif");
  gtk_file_filter_add_suffix (filter, "tiff");
  gtk_file_filter_add_suffix (filter, "mrc");
  gtk_file_filter_add_suffix (filter, "st");
  gtk_file_filter_add_suffix (filter, "ali");
  gtk_file_filter_add_suffix (filter, "dm3");
  gtk_file_filter_add_suffix (filter, "dm4");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  if (last != NULL && *last != '\0')
    {
      g_autoptr(GFile) folder = g_file_new_for_path (last);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
    }
  g_signal_connect (dialog, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
demo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  kiln_window_open_demo (KILN_WINDOW (widget));
}

static void
kiln_window_finalize (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);

  g_clear_object (&self->settings);
  G_OBJECT_CLASS (kiln_window_parent_class)->finalize (object);
}

static void
kiln_window_class_init (KilnWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = kiln_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/kiln_tomo/Kiln/kiln-window.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, status_label);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, demo_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
}

static void
kiln_window_init (KilnWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

KilnWindow *
kiln_window_new (KilnApplication *application)
{
  return g_object_new (KILN_TYPE_WINDOW, "application", application, NULL);
}
