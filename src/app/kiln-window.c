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
  guint                 autosave_id;       /* every minute */
  guint                 step_autosave_id;  /* shortly after a step finished */
  gboolean              restore_pending;   /* the restore bar waits for an answer */

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
  GtkRevealer          *autosave_revealer;
  GtkBox               *recent_box;
  GtkListBox           *recent_list;
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

/* ---- Autosave (the state, not the data) ---------------------------------------------------- */

static void
do_autosave (KilnWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->restore_pending || kiln_document_get_n_time_points (self->document) == 0 ||
      !kiln_document_get_modified (self->document))
    return;
  if (!kiln_document_autosave (self->document, &error))
    g_message ("%s", error->message);
}

static gboolean
autosave_tick (gpointer data)
{
  do_autosave (KILN_WINDOW (data));
  return G_SOURCE_CONTINUE;
}

static gboolean
step_autosave_idle (gpointer data)
{
  KilnWindow *self = KILN_WINDOW (data);

  self->step_autosave_id = 0;
  do_autosave (self);
  return G_SOURCE_REMOVE;
}

/* After a step finished (a result changed): autosave once things settle. */
static void
schedule_step_autosave (KilnWindow *self)
{
  if (self->step_autosave_id == 0)
    self->step_autosave_id = g_timeout_add_seconds (2, step_autosave_idle, self);
}

void
kiln_window_autosave_now (KilnWindow *self)
{
  g_return_if_fail (KILN_IS_WINDOW (self));
  do_autosave (self);
}

gboolean
kiln_window_get_restore_offered (KilnWindow *self)
{
  g_return_val_if_fail (KILN_IS_WINDOW (self), FALSE);
  return self->restore_pending;
}

static void
offer_restore (KilnWindow *self)
{
  self->restore_pending = kiln_document_has_newer_autosave (self->document);
  gtk_revealer_set_reveal_child (self->autosave_revealer, self->restore_pending);
}

static void
restore_autosave_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  self->restore_pending = FALSE;
  gtk_revealer_set_reveal_child (self->autosave_revealer, FALSE);
  if (g_str_equal (action_name, "win.discard-autosave"))
    {
      kiln_document_remove_autosave (self->document);
      return;
    }
  if (!kiln_document_restore_autosave (self->document, &error))
    end_task (self, error);
}

/* ---- Recent experiments (welcome view) ---------------------------------------------------- */

static void
populate_recent (KilnWindow *self)
{
  g_auto(GStrv) recent = g_settings_get_strv (self->settings, "recent-experiments");
  GtkWidget *child;
  guint shown = 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);
  for (guint i = 0; recent[i] != NULL; i++)
    {
      g_autofree char *json = g_build_filename (recent[i], "experiment.json", NULL);
      g_autofree char *base = NULL;
      GtkWidget *row, *box, *title, *path;

      if (!g_file_test (json, G_FILE_TEST_IS_REGULAR))
        continue;
      base = g_path_get_basename (recent[i]);
      box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      gtk_widget_set_margin_start (box, 12);
      gtk_widget_set_margin_end (box, 12);
      gtk_widget_set_margin_top (box, 6);
      gtk_widget_set_margin_bottom (box, 6);
      title = gtk_label_new (base);
      gtk_label_set_xalign (GTK_LABEL (title), 0);
      path = gtk_label_new (recent[i]);
      gtk_label_set_xalign (GTK_LABEL (path), 0);
      gtk_label_set_ellipsize (GTK_LABEL (path), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_add_css_class (path, "dim-label");
      gtk_widget_add_css_class (path, "caption");
      gtk_box_append (GTK_BOX (box), title);
      gtk_box_append (GTK_BOX (box), path);
      row = gtk_list_box_row_new ();
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_widget_set_name (row, recent[i]);
      gtk_widget_set_tooltip_text (row, _("Open this experiment"));
      gtk_list_box_append (self->recent_list, row);
      shown++;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->recent_box), shown > 0);
}

static void
add_recent (KilnWindow *self,
            const char *folder)
{
  g_auto(GStrv) recent = g_settings_get_strv (self->settings, "recent-experiments");
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;
  guint n = 1;

  g_strv_builder_add (b, folder);
  for (guint i = 0; recent[i] != NULL && n < 8; i++)
    if (g_strcmp0 (recent[i], folder) != 0)
      {
        g_strv_builder_add (b, recent[i]);
        n++;
      }
  list = g_strv_builder_end (b);
  g_settings_set_strv (self->settings, "recent-experiments", (const char *const *) list);
  populate_recent (self);
}

static void
on_recent_activated (GtkListBox    *list,
                     GtkListBoxRow *row,
                     KilnWindow    *self)
{
  g_autoptr(GFile) file = g_file_new_for_path (gtk_widget_get_name (GTK_WIDGET (row)));

  kiln_window_open_file (self, file);
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
  schedule_step_autosave (self);
}

/* Time points added (import) or their PT time / temperature edited: refresh the list. */
static void
on_metadata_changed (KilnDocument *document,
                     KilnWindow   *self)
{
  GListModel *model = gtk_drop_down_get_model (self->time_point_dropdown);
  guint n = kiln_document_get_n_time_points (document);

  if (!GTK_IS_STRING_LIST (model) || g_list_model_get_n_items (model) != n)
    {
      guint selected = current_time_point (self);
      g_autoptr(GtkStringList) items = gtk_string_list_new (NULL);

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *label = time_point_label (self, i);
          gtk_string_list_append (items, label);
        }
      g_signal_handlers_block_matched (self->time_point_dropdown, G_SIGNAL_MATCH_DATA,
                                       0, 0, NULL, NULL, self);
      gtk_drop_down_set_model (self->time_point_dropdown, G_LIST_MODEL (items));
      gtk_drop_down_set_selected (self->time_point_dropdown, MIN (selected, n > 0 ? n - 1 : 0));
      g_signal_handlers_unblock_matched (self->time_point_dropdown, G_SIGNAL_MATCH_DATA,
                                         0, 0, NULL, NULL, self);
      gtk_widget_set_visible (GTK_WIDGET (self->time_point_dropdown), n > 0);
    }
  else
    for (guint i = 0; i < n; i++)
      on_results_changed (document, i, self);
  gtk_label_set_label (self->subtitle_label, kiln_document_get_title (document));
}

static void
show_time_point_in_panels (KilnWindow *self,
                           guint       i)
{
  kiln_experiment_panel_set_time_point (self->experiment_panel, i);
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
  kiln_experiment_panel_set_document (self->experiment_panel, self->document);
  kiln_experiment_panel_set_time_point (self->experiment_panel, 0);
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
  if (kiln_document_get_folder (self->document) != NULL)
    add_recent (self, kiln_document_get_folder (self->document));
  offer_restore (self);
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
  /* leaving the current document is a clean close of it (unless its restore is undecided) */
  if (!self->restore_pending && kiln_document_get_n_time_points (self->document) > 0)
    kiln_document_remove_autosave (self->document);
  self->restore_pending = FALSE;
  gtk_revealer_set_reveal_child (self->autosave_revealer, FALSE);
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
open_experiment_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);
  GtkFileChooserNative *dialog;
  g_autofree char *last = g_settings_get_string (self->settings, "last-folder");

  dialog = gtk_file_chooser_native_new (_("Open Experiment Folder"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"), _("_Cancel"));
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
  if (kiln_document_get_folder (self->document) == NULL)
    {
      /* an imported series or set of series: choose the experiment folder first */
      gtk_widget_activate_action (widget, "win.save-as", NULL);
      return;
    }
  if (!kiln_document_save (self->document, &error))
    end_task (self, error);
}

static void
on_save_as_response (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  KilnWindow *self = KILN_WINDOW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL)
        {
          kiln_document_remove_autosave (self->document);
          if (!kiln_document_save_as (self->document, path, &error))
            end_task (self, error);
          else
            {
              add_recent (self, kiln_document_get_folder (self->document));
              gtk_label_set_label (self->subtitle_label, kiln_document_get_title (self->document));
            }
        }
    }
  g_object_unref (dialog);
}

static void
save_as_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);
  GtkFileChooserNative *dialog;

  if (kiln_document_get_n_time_points (self->document) == 0)
    return;
  dialog = gtk_file_chooser_native_new (_("Save Experiment Into Folder"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Save"), _("_Cancel"));
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_as_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- Methods paragraph ---------------------------------------------------------------------- */

static void
on_methods_copy (GtkButton *button,
                 GtkWidget *text_view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (text_view));
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (text_view), text);
  gtk_button_set_label (button, _("Copied"));
}

GtkWindow *
kiln_window_show_methods (KilnWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  GtkWidget *dialog, *box, *scrolled, *view, *buttons, *copy;

  g_return_val_if_fail (KILN_IS_WINDOW (self), NULL);
  text = kiln_document_dup_methods (self->document, &error);
  if (text == NULL)
    {
      end_task (self, error);
      return NULL;
    }
  dialog = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (dialog), _("Methods Paragraph"));
  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (self));
  gtk_window_set_modal (GTK_WINDOW (dialog), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (dialog), 640, 440);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  scrolled = gtk_scrolled_window_new ();
  gtk_widget_set_vexpand (scrolled, TRUE);
  view = gtk_text_view_new ();
  gtk_widget_set_name (view, "methods-text");
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 6);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 6);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), g_strchomp (text), -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_box_append (GTK_BOX (box), scrolled);
  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  copy = gtk_button_new_with_mnemonic (_("_Copy"));
  gtk_widget_set_name (copy, "methods-copy");
  gtk_widget_set_tooltip_text (copy, _("Copy the paragraph to the clipboard"));
  gtk_widget_add_css_class (copy, "suggested-action");
  g_signal_connect (copy, "clicked", G_CALLBACK (on_methods_copy), view);
  gtk_box_append (GTK_BOX (buttons), copy);
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_window_set_child (GTK_WINDOW (dialog), box);
  gtk_window_present (GTK_WINDOW (dialog));
  return GTK_WINDOW (dialog);
}

static void
methods_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);

  if (kiln_document_get_n_time_points (self->document) > 0)
    kiln_window_show_methods (self);
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
show_time_point_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  KilnWindow *self = KILN_WINDOW (widget);
  guint i = g_variant_get_uint32 (param);

  if (i < kiln_document_get_n_time_points (self->document))
    gtk_drop_down_set_selected (self->time_point_dropdown, i);
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
  g_clear_handle_id (&self->autosave_id, g_source_remove);
  g_clear_handle_id (&self->step_autosave_id, g_source_remove);
  if (self->document != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->document, self);
      /* a clean exit: no restore to offer next time (unless this one is still undecided) */
      if (!self->restore_pending && kiln_document_get_n_time_points (self->document) > 0)
        kiln_document_remove_autosave (self->document);
    }
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
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, autosave_revealer);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, recent_box);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, recent_list);
  gtk_widget_class_bind_template_callback (widget_class, on_recent_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_step_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_time_point_selected);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, demo_action);
  gtk_widget_class_install_action (widget_class, "win.open-experiment", NULL, open_experiment_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL, save_as_action);
  gtk_widget_class_install_action (widget_class, "win.methods", NULL, methods_action);
  gtk_widget_class_install_action (widget_class, "win.show-time-point", "u", show_time_point_action);
  gtk_widget_class_install_action (widget_class, "win.restore-autosave", NULL, restore_autosave_action);
  gtk_widget_class_install_action (widget_class, "win.discard-autosave", NULL, restore_autosave_action);
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
  g_signal_connect (self->document, "metadata-changed", G_CALLBACK (on_metadata_changed), self);
  self->autosave_id = g_timeout_add_seconds (60, autosave_tick, self);
  self->relay = g_new0 (ProgressRelay, 1);
  g_mutex_init (&self->relay->lock);
  g_weak_ref_init (&self->relay->window, self);

  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
  populate_recent (self);

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
