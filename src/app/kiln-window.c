/* kiln-window.c — the main window: welcome view, steps sidebar, panels, progress area
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-analyze-panel.h"
#include "kiln-segment-panel.h"
#include "kiln-reconstruct-panel.h"
#include "kiln-tilt-axis-panel.h"
#include "kiln-align-panel.h"
#include "kiln-denoise-panel.h"
#include "kiln-document.h"
#include "kiln-experiment-panel.h"
#include "kiln-window.h"

/* Progress reported from a worker thread, handed to the main thread through one coalesced idle
 * (sysprof's document-loader pattern). */
typedef struct
{
  GMutex      lock;
  double      fraction;
  char       *message;
  guint       idle_id;
  GWeakRef    window;
} ProgressRelay;

struct _KilnWindow
{
  GtkApplicationWindow  parent_instance;

  GSettings            *settings;
  KilnDocument         *document;
  GCancellable         *cancellable;
  ProgressRelay        *relay;
  char                 *initial_step;

  /* template children */
  GtkStack             *stack;
  GtkLabel             *title_label;
  GtkLabel             *subtitle_label;
  GtkListBox           *steps_list;
  GtkStack             *panel_stack;
  KilnExperimentPanel  *experiment_panel;
  KilnAnalyzePanel     *analyze_panel;
  KilnSegmentPanel     *segment_panel;
  KilnReconstructPanel *reconstruct_panel;
  KilnTiltAxisPanel    *tilt_axis_panel;
  KilnAlignPanel       *align_panel;
  KilnDenoisePanel     *denoise_panel;
  GtkDropDown          *time_point_dropdown;
  GtkRevealer          *status_revealer;
  GtkLabel             *status_label;
  GtkProgressBar       *progress_bar;
  GtkButton            *cancel_button;
  GtkLabel             *error_label;
  GtkRevealer          *error_revealer;
};

G_DEFINE_FINAL_TYPE (KilnWindow, kiln_window, GTK_TYPE_APPLICATION_WINDOW)

static gboolean
relay_idle (gpointer data)
{
  ProgressRelay *relay = data;
  g_autoptr(KilnWindow) self = g_weak_ref_get (&relay->window);
  g_autofree char *message = NULL;
  double fraction;

  g_mutex_lock (&relay->lock);
  relay->idle_id = 0;
  fraction = relay->fraction;
  message = g_steal_pointer (&relay->message);
  g_mutex_unlock (&relay->lock);

  if (self != NULL)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, fraction);
      if (message != NULL)
        gtk_label_set_label (self->status_label, message);
    }
  return G_SOURCE_REMOVE;
}

static void
relay_progress (double      fraction,
                const char *message,
                gpointer    data)
{
  ProgressRelay *relay = data;

  g_mutex_lock (&relay->lock);
  relay->fraction = fraction;
  if (message != NULL)
    {
      g_free (relay->message);
      relay->message = g_strdup (message);
    }
  if (relay->idle_id == 0)
    relay->idle_id = g_idle_add (relay_idle, relay);
  g_mutex_unlock (&relay->lock);
}

static void
begin_task (KilnWindow *self,
            const char *what)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  gtk_label_set_label (self->status_label, what);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  gtk_revealer_set_reveal_child (self->status_revealer, TRUE);
}

static void
end_task (KilnWindow   *self,
          const GError *error)
{
  gtk_revealer_set_reveal_child (self->status_revealer, FALSE);
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gtk_label_set_label (self->error_label, error->message);
      gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
    }
}

static void
set_step_sensitive (KilnWindow *self,
                    const char *name,
                    gboolean    sensitive)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->steps_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    if (g_strcmp0 (gtk_widget_get_name (row), name) == 0)
      gtk_widget_set_sensitive (row, sensitive);
}

static guint
current_time_point (KilnWindow *self)
{
  guint i = gtk_drop_down_get_selected (self->time_point_dropdown);

  return i == GTK_INVALID_LIST_POSITION ? 0 : i;
}

/* The sidebar's status marks: a check on each step that has a result at the current time
 * point. */
static void
update_step_marks (KilnWindow *self)
{
  guint tp = current_time_point (self);

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->steps_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *box = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));
      GtkWidget *mark = g_object_get_data (G_OBJECT (row), "kiln-mark");
      gboolean done = FALSE;

      for (guint s = 0; s < KILN_DOC_N_STEPS; s++)
        if (g_strcmp0 (gtk_widget_get_name (row), kiln_doc_step_to_string (s)) == 0)
          done = kiln_document_has_result (self->document, tp, s);
      if (mark == NULL && GTK_IS_BOX (box))
        {
          mark = gtk_image_new_from_icon_name ("object-select-symbolic");
          gtk_widget_set_hexpand (mark, TRUE);
          gtk_widget_set_halign (mark, GTK_ALIGN_END);
          gtk_box_append (GTK_BOX (box), mark);
          g_object_set_data (G_OBJECT (row), "kiln-mark", mark);
        }
      if (mark != NULL)
        {
          gtk_widget_set_visible (mark, done);
          gtk_widget_set_tooltip_text (mark, done ? _("Done for this time point") : NULL);
        }
    }
}

/* The time-point list: each label ends with one dot per step done ("●●○○○"). */
static char *
time_point_label (KilnWindow *self,
                  guint       i)
{
  g_autofree char *label = kiln_document_dup_time_point_label (self->document, i);
  GString *s = g_string_new (label);

  g_string_append (s, "  ");
  for (guint step = 0; step < KILN_DOC_N_STEPS; step++)
    g_string_append (s, kiln_document_has_result (self->document, i, step) ? "●" : "○");
  return g_string_free (s, FALSE);
}

static void
on_results_changed (KilnDocument *document,
                    guint         index,
                    KilnWindow   *self)
{
  GListModel *model = gtk_drop_down_get_model (self->time_point_dropdown);

  if (GTK_IS_STRING_LIST (model) && index < g_list_model_get_n_items (model))
    {
      g_autofree char *label = time_point_label (self, index);
      const char *items[] = { label, NULL };
      guint selected = gtk_drop_down_get_selected (self->time_point_dropdown);

      if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (model), index), label) != 0)
        {
          g_signal_handlers_block_matched (self->time_point_dropdown, G_SIGNAL_MATCH_DATA,
                                           0, 0, NULL, NULL, self);
          gtk_string_list_splice (GTK_STRING_LIST (model), index, 1, items);
          gtk_drop_down_set_selected (self->time_point_dropdown, selected);
          g_signal_handlers_unblock_matched (self->time_point_dropdown, G_SIGNAL_MATCH_DATA,
                                             0, 0, NULL, NULL, self);
        }
    }
  update_step_marks (self);
}

static void
show_time_point_in_panels (KilnWindow *self,
                           guint       i)
{
  kiln_denoise_panel_set_time_point (self->denoise_panel, i);
  kiln_segment_panel_set_time_point (self->segment_panel, i);
  kiln_reconstruct_panel_set_time_point (self->reconstruct_panel, i);
  kiln_tilt_axis_panel_set_time_point (self->tilt_axis_panel, i);
  kiln_align_panel_set_time_point (self->align_panel, i);
}

static void
show_document (KilnWindow *self)
{
  g_autoptr(GtkStringList) items = gtk_string_list_new (NULL);
  guint n = kiln_document_get_n_time_points (self->document);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = time_point_label (self, i);
      gtk_string_list_append (items, label);
    }
  gtk_drop_down_set_model (self->time_point_dropdown, G_LIST_MODEL (items));
  gtk_widget_set_visible (GTK_WIDGET (self->time_point_dropdown), n > 0);
  gtk_label_set_label (self->subtitle_label, kiln_document_get_title (self->document));
  gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), TRUE);
  kiln_experiment_panel_set_stack (self->experiment_panel, kiln_document_get_stack (self->document, 0));
  kiln_analyze_panel_set_document (self->analyze_panel, self->document);
  kiln_denoise_panel_set_document (self->denoise_panel, self->document);
  set_step_sensitive (self, "analyze", kiln_document_has_volume (self->document, 0));
  set_step_sensitive (self, "denoise", TRUE);
  kiln_segment_panel_set_document (self->segment_panel, self->document);
  set_step_sensitive (self, "segment", TRUE);
  kiln_reconstruct_panel_set_document (self->reconstruct_panel, self->document);
  set_step_sensitive (self, "reconstruct", TRUE);
  kiln_tilt_axis_panel_set_document (self->tilt_axis_panel, self->document);
  set_step_sensitive (self, "tilt-axis", TRUE);
  kiln_align_panel_set_document (self->align_panel, self->document);
  set_step_sensitive (self, "align", TRUE);
  update_step_marks (self);
  gtk_stack_set_visible_child_name (self->stack, "document");
  gtk_list_box_select_row (self->steps_list, gtk_list_box_get_row_at_index (self->steps_list, 0));
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->steps_list));
       row != NULL && self->initial_step != NULL; row = gtk_widget_get_next_sibling (row))
    if (g_strcmp0 (gtk_widget_get_name (row), self->initial_step) == 0 && gtk_widget_get_sensitive (row))
      gtk_list_box_select_row (self->steps_list, GTK_LIST_BOX_ROW (row));
}

static void
on_time_point_loaded (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(KilnWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = kiln_document_load_time_point_finish (KILN_DOCUMENT (source),
                                                                         result, &error);

  end_task (self, error);
  if (stack != NULL &&
      kiln_document_get_stack (self->document, gtk_drop_down_get_selected (self->time_point_dropdown)) == stack)
    {
      kiln_experiment_panel_set_stack (self->experiment_panel, stack);
      show_time_point_in_panels (self, gtk_drop_down_get_selected (self->time_point_dropdown));
    }
}

static void
on_time_point_selected (GtkDropDown *dropdown,
                        GParamSpec  *pspec,
                        KilnWindow  *self)
{
  guint i = gtk_drop_down_get_selected (dropdown);
  KilnImageStack *stack;

  if (i == GTK_INVALID_LIST_POSITION || i >= kiln_document_get_n_time_points (self->document))
    return;
  kiln_analyze_panel_set_time_point (self->analyze_panel, i);
  update_step_marks (self);
  stack = kiln_document_get_stack (self->document, i);
  if (stack != NULL)
    {
      kiln_experiment_panel_set_stack (self->experiment_panel, stack);
      show_time_point_in_panels (self, i);
      return;
    }
  begin_task (self, _("Reading the tilt series…"));
  kiln_document_load_time_point_async (self->document, i, self->cancellable,
                                       on_time_point_loaded, g_object_ref (self));
}

static void
on_step_selected (GtkListBox    *list,
                  GtkListBoxRow *row,
                  KilnWindow    *self)
{
  const char *name;

  if (row == NULL)
    return;
  name = gtk_widget_get_name (GTK_WIDGET (row));
  if (gtk_stack_get_child_by_name (self->panel_stack, name) != NULL)
    gtk_stack_set_visible_child_name (self->panel_stack, name);
}

static void
on_stack_loaded (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(KilnWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!kiln_document_open_finish (KILN_DOCUMENT (source), result, &error))
    {
      end_task (self, error);
      return;
    }
  end_task (self, NULL);
  show_document (self);
}

void
kiln_window_open_file (KilnWindow *self,
                       GFile      *file)
{
  g_autofree char *name = NULL;
  g_autofree char *what = NULL;
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
  what = g_strdup_printf (_("Opening %s…"), name);
  begin_task (self, what);
  kiln_document_open_async (self->document, file, self->cancellable,
                            relay_progress, self->relay,
                            on_stack_loaded, g_object_ref (self));
}

static void
on_demo_ready (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(KilnWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = kiln_document_make_demo_finish (result, &error);
  g_autoptr(GFile) file = NULL;

  if (dir == NULL)
    {
      end_task (self, error);
      return;
    }
  file = g_file_new_for_path (dir);
  kiln_window_open_file (self, file);
}

void
kiln_window_open_demo (KilnWindow *self)
{
  g_autofree char *dir = NULL;

  g_return_if_fail (KILN_IS_WINDOW (self));
  dir = g_build_filename (g_get_user_cache_dir (), "kiln", "demo-teaching", NULL);
  begin_task (self, _("Simulating the demo experiment…"));
  kiln_document_make_demo_async (dir, self->cancellable, relay_progress, self->relay,
                                 on_demo_ready, g_object_ref (self));
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
  const char *suffixes[] = { "tif", "tiff", "mrc", "st", "ali", "rec", "dm3", "dm4" };

  dialog = gtk_file_chooser_native_new (_("Import Tilt Series"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Tilt series (TIFF, MRC, DM3, DM4)"));
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    gtk_file_filter_add_suffix (filter, suffixes[i]);
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
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  if (kiln_document_get_n_time_points (self->document) == 0)
    return;
  if (!kiln_document_save (self->document, &error))
    end_task (self, error);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);

  if (g_str_equal (action_name, "win.undo"))
    kiln_document_undo (self->document);
  else
    kiln_document_redo (self->document);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

static void
dismiss_error_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  gtk_revealer_set_reveal_child (KILN_WINDOW (widget)->error_revealer, FALSE);
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         KilnWindow    *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  if (files == NULL)
    return FALSE;
  kiln_window_open_file (self, G_FILE (files->data));
  return TRUE;
}

static void
kiln_window_dispose (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  G_OBJECT_CLASS (kiln_window_parent_class)->dispose (object);
}

static void
kiln_window_finalize (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->document);
  g_free (self->initial_step);
  g_clear_object (&self->cancellable);
  g_mutex_lock (&self->relay->lock);
  g_clear_handle_id (&self->relay->idle_id, g_source_remove);
  g_mutex_unlock (&self->relay->lock);
  g_weak_ref_clear (&self->relay->window);
  g_mutex_clear (&self->relay->lock);
  g_free (self->relay->message);
  g_free (self->relay);
  G_OBJECT_CLASS (kiln_window_parent_class)->finalize (object);
}

static void
kiln_window_class_init (KilnWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_window_dispose;
  object_class->finalize = kiln_window_finalize;

  g_type_ensure (KILN_TYPE_EXPERIMENT_PANEL);
  g_type_ensure (KILN_TYPE_ANALYZE_PANEL);
  g_type_ensure (KILN_TYPE_SEGMENT_PANEL);
  g_type_ensure (KILN_TYPE_RECONSTRUCT_PANEL);
  g_type_ensure (KILN_TYPE_TILT_AXIS_PANEL);
  g_type_ensure (KILN_TYPE_ALIGN_PANEL);
  g_type_ensure (KILN_TYPE_DENOISE_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/kiln_tomo/Kiln/kiln-window.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, steps_list);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, panel_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, experiment_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, analyze_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, segment_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, reconstruct_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, tilt_axis_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, align_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, denoise_panel);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, time_point_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, status_revealer);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, error_revealer);
  gtk_widget_class_bind_template_callback (widget_class, on_step_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_time_point_selected);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, demo_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, undo_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save", NULL);
  gtk_widget_class_install_action (widget_class, "win.dismiss-error", NULL, dismiss_error_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.cancel", NULL);
}

static void
kiln_window_init (KilnWindow *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->document = kiln_document_new ();
  g_signal_connect (self->document, "results-changed", G_CALLBACK (on_results_changed), self);
  self->relay = g_new0 (ProgressRelay, 1);
  g_mutex_init (&self->relay->lock);
  g_weak_ref_init (&self->relay->window, self);

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

KilnWindow *
kiln_window_new (KilnApplication *application)
{
  return g_object_new (KILN_TYPE_WINDOW, "application", application, NULL);
}

KilnDocument *
kiln_window_get_document (KilnWindow *self)
{
  g_return_val_if_fail (KILN_IS_WINDOW (self), NULL);
  return self->document;
}

GCancellable *
kiln_window_begin_task (KilnWindow       *self,
                        const char       *what,
                        KilnProgressFunc *progress,
                        gpointer         *progress_data)
{
  g_return_val_if_fail (KILN_IS_WINDOW (self), NULL);
  begin_task (self, what);
  if (progress != NULL)
    *progress = relay_progress;
  if (progress_data != NULL)
    *progress_data = self->relay;
  return self->cancellable;
}

void
kiln_window_end_task (KilnWindow   *self,
                      const GError *error)
{
  g_return_if_fail (KILN_IS_WINDOW (self));
  end_task (self, error);
}

void
kiln_window_set_initial_step (KilnWindow *self,
                              const char *step)
{
  g_return_if_fail (KILN_IS_WINDOW (self));
  g_free (self->initial_step);
  self->initial_step = g_strdup (step);
}

GCancellable *
kiln_window_begin_task_for (GtkWidget        *widget,
                            const char       *what,
                            KilnProgressFunc *progress,
                            gpointer         *progress_data)
{
  GtkWidget *window = gtk_widget_get_ancestor (widget, KILN_TYPE_WINDOW);

  if (window != NULL)
    return g_object_ref (kiln_window_begin_task (KILN_WINDOW (window), what, progress, progress_data));
  if (progress != NULL)
    *progress = NULL;
  if (progress_data != NULL)
    *progress_data = NULL;
  return g_cancellable_new ();
}

void
kiln_window_end_task_for (GtkWidget    *widget,
                          const GError *error)
{
  GtkWidget *window = gtk_widget_get_ancestor (widget, KILN_TYPE_WINDOW);

  if (window != NULL)
    kiln_window_end_task (KILN_WINDOW (window), error);
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("%s", error->message);
}
