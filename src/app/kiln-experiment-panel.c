/* kiln-experiment-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-experiment-panel.h"
#include "kiln-image-view.h"
#include "kiln-window.h"

struct _KilnExperimentPanel
{
  GtkWidget       parent_instance;

  KilnImageStack *stack;
  guint           tilt;
  KilnDocument   *document;
  guint           time_point;
  guint           n_rows;        /* time-point rows in tp_grid */
  GCancellable   *import_cancellable;

  /* template children */
  GtkWidget      *paned;
  GtkWidget      *box;
  KilnImageView  *view;
  GtkScale       *tilt_scale;
  GtkAdjustment  *tilt_adjustment;
  GtkLabel       *tilt_label;
  GtkLabel       *info_label;
  GtkLabel       *readout_label;
  GtkDropDown    *order_dropdown;
  GtkEntry       *pixel_entry;
  GtkLabel       *validation_label;
  GtkGrid        *tp_grid;
  GtkLabel       *angles_title;
  GtkGrid        *angles_grid;
};

G_DEFINE_FINAL_TYPE (KilnExperimentPanel, kiln_experiment_panel, GTK_TYPE_WIDGET)

static void
update_tilt (KilnExperimentPanel *self)
{
  g_autofree char *text = NULL;

  if (self->stack == NULL)
    {
      kiln_image_view_set_image (self->view, NULL, 0, 0, 0);
      gtk_label_set_label (self->tilt_label, "");
      return;
    }
  kiln_image_view_set_image (self->view, kiln_image_stack_tilt_const (self->stack, self->tilt),
                             self->stack->width, self->stack->height, self->stack->pixel_size_nm);
  if (self->stack->has_angles)
    text = g_strdup_printf (_("Tilt %u of %u · %+.1f°"), self->tilt + 1, self->stack->n_tilts,
                            self->stack->angles_deg[self->tilt]);
  else
    text = g_strdup_printf (_("Tilt %u of %u · angle unknown"), self->tilt + 1, self->stack->n_tilts);
  gtk_label_set_label (self->tilt_label, text);
}

static void
on_tilt_changed (GtkAdjustment       *adjustment,
                 KilnExperimentPanel *self)
{
  guint t = (guint) lround (gtk_adjustment_get_value (adjustment));

  if (self->stack == NULL || t == self->tilt)
    return;
  self->tilt = MIN (t, self->stack->n_tilts - 1);
  update_tilt (self);
}

static void
on_readout (KilnImageView       *view,
            GParamSpec          *pspec,
            KilnExperimentPanel *self)
{
  gtk_label_set_label (self->readout_label, kiln_image_view_get_readout (view));
}

/* ---- The time-point table, the angle preview and the validation messages ------------------ */

static char *
format_number (double v)
{
  return isfinite (v) ? g_strdup_printf ("%g", v) : g_strdup ("");
}

/* A number typed into an entry: FALSE (entry marked) when it is not one. */
static gboolean
parse_entry (GtkEntry *entry,
             double   *value)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  char *end = NULL;
  double v;

  while (g_ascii_isspace (*text))
    text++;
  if (*text == '\0')
    {
      /* left empty: nothing to apply (the value stays unknown or as it was) */
      gtk_widget_remove_css_class (GTK_WIDGET (entry), "error");
      return FALSE;
    }
  v = g_ascii_strtod (text, &end);
  if (end != text)
    while (g_ascii_isspace (*end))
      end++;
  if (end == text || *end != '\0' || !isfinite (v))
    {
      gtk_widget_add_css_class (GTK_WIDGET (entry), "error");
      return FALSE;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (entry), "error");
  *value = v;
  return TRUE;
}

static void
on_focus_leave (GtkEventControllerFocus *focus,
                gpointer                 data)
{
  GtkWidget *entry = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (focus));

  g_signal_emit_by_name (entry, "activate");
}

static void
add_focus_commit (GtkWidget *entry,
                  GCallback  commit,
                  gpointer   data)
{
  GtkEventController *focus = gtk_event_controller_focus_new ();

  g_signal_connect (focus, "leave", G_CALLBACK (on_focus_leave), NULL);
  gtk_widget_add_controller (entry, focus);
}

static void refresh (KilnExperimentPanel *self);

static void
on_pixel_entry_commit (GtkEntry            *entry,
                       KilnExperimentPanel *self)
{
  double v;

  if (self->document == NULL)
    return;
  if (!parse_entry (entry, &v))
    {
      if (!gtk_widget_has_css_class (GTK_WIDGET (entry), "error"))
        refresh (self);   /* emptied: show the value again */
      return;
    }
  if (!(v > 0))
    {
      gtk_widget_add_css_class (GTK_WIDGET (entry), "error");
      return;
    }
  kiln_document_set_pixel_size_nm (self->document, v);
}

static void
on_number_commit (GtkEntry            *entry,
                  KilnExperimentPanel *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (entry), "kiln-tp"));
  gboolean is_time = g_object_get_data (G_OBJECT (entry), "kiln-time") != NULL;
  double v;

  if (self->document == NULL)
    return;
  if (!parse_entry (entry, &v))
    {
      if (!gtk_widget_has_css_class (GTK_WIDGET (entry), "error"))
        refresh (self);   /* emptied: show the value again */
      return;
    }
  if (is_time)
    kiln_document_set_time_s (self->document, index, v);
  else
    kiln_document_set_temperature_c (self->document, index, v);
}

static void
on_tlt_response (GtkNativeDialog *dialog,
                 int              response,
                 gpointer         user_data)
{
  KilnExperimentPanel *self = KILN_EXPERIMENT_PANEL (user_data);
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (dialog), "kiln-tp"));

  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL && !kiln_document_set_angles_path (self->document, index, path, &error))
        kiln_window_end_task_for (GTK_WIDGET (self), error);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
on_angles_clicked (GtkButton           *button,
                   KilnExperimentPanel *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "kiln-tp"));
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Tilt Angles"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Tilt angles (.tlt, .rawtlt)"));
  gtk_file_filter_add_suffix (filter, "tlt");
  gtk_file_filter_add_suffix (filter, "rawtlt");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_set_data (G_OBJECT (dialog), "kiln-tp", GUINT_TO_POINTER (index));
  g_signal_connect (dialog, "response", G_CALLBACK (on_tlt_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static GtkWidget *
header_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  /* long headers ("Temperature (°C)") wrap, so the table fits beside the viewer */
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 8);
  gtk_widget_set_valign (label, GTK_ALIGN_END);
  gtk_widget_add_css_class (label, "heading");
  return label;
}

static GtkWidget *
number_entry (KilnExperimentPanel *self,
              guint                index,
              gboolean             is_time,
              const char          *tooltip)
{
  GtkWidget *entry = gtk_entry_new ();
  g_autofree char *name = g_strdup_printf ("%s-%u", is_time ? "time" : "temperature", index);

  gtk_widget_set_name (entry, name);
  gtk_editable_set_width_chars (GTK_EDITABLE (entry), 5);
  gtk_editable_set_max_width_chars (GTK_EDITABLE (entry), 6);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_NUMBER);
  gtk_widget_set_tooltip_text (entry, tooltip);
  g_object_set_data (G_OBJECT (entry), "kiln-tp", GUINT_TO_POINTER (index));
  if (is_time)
    g_object_set_data (G_OBJECT (entry), "kiln-time", GINT_TO_POINTER (1));
  g_signal_connect (entry, "activate", G_CALLBACK (on_number_commit), self);
  add_focus_commit (entry, G_CALLBACK (on_number_commit), self);
  return entry;
}

/* Rebuild the rows when the number of time points changed. Columns: name, file, tilts,
 * PT time (s), temperature (°C), angles source. */
static void
build_rows (KilnExperimentPanel *self)
{
  guint n = self->document != NULL ? kiln_document_get_n_time_points (self->document) : 0;
  GtkWidget *child;

  if (n == self->n_rows && gtk_grid_get_child_at (self->tp_grid, 0, 0) != NULL)
    return;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->tp_grid))) != NULL)
    gtk_grid_remove (self->tp_grid, child);
  gtk_grid_attach (self->tp_grid, header_label (_("Time point")), 0, 0, 1, 1);
  gtk_grid_attach (self->tp_grid, header_label (_("File")), 1, 0, 1, 1);
  gtk_grid_attach (self->tp_grid, header_label (_("Tilts")), 2, 0, 1, 1);
  gtk_grid_attach (self->tp_grid, header_label (_("PT time (s)")), 3, 0, 1, 1);
  gtk_grid_attach (self->tp_grid, header_label (_("Temperature (°C)")), 4, 0, 1, 1);
  gtk_grid_attach (self->tp_grid, header_label (_("Angles")), 5, 0, 1, 1);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("T%u", i + 1);
      GtkWidget *file = gtk_label_new (NULL);
      GtkWidget *tilts = gtk_label_new (NULL);
      GtkWidget *angles = gtk_button_new ();

      GtkWidget *show = gtk_button_new_with_label (name);

      /* show this time point everywhere (the window's time-point selector) */
      gtk_widget_add_css_class (show, "flat");
      gtk_widget_set_tooltip_text (show, _("Show this time point"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (show), "win.show-time-point");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (show), "u", i);
      gtk_grid_attach (self->tp_grid, show, 0, i + 1, 1, 1);
      gtk_label_set_ellipsize (GTK_LABEL (file), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_width_chars (GTK_LABEL (file), 8);
      gtk_label_set_max_width_chars (GTK_LABEL (file), 16);
      gtk_label_set_xalign (GTK_LABEL (file), 0);
      gtk_grid_attach (self->tp_grid, file, 1, i + 1, 1, 1);
      gtk_grid_attach (self->tp_grid, tilts, 2, i + 1, 1, 1);
      gtk_grid_attach (self->tp_grid, number_entry (self, i, TRUE, _("Process (PT) time of this series in s (Enter to apply)")),
                       3, i + 1, 1, 1);
      gtk_grid_attach (self->tp_grid, number_entry (self, i, FALSE, _("Process temperature in °C (Enter to apply)")),
                       4, i + 1, 1, 1);
      gtk_widget_add_css_class (angles, "flat");
      gtk_widget_set_tooltip_text (angles, _("Take the tilt angles from a .tlt file"));
      g_object_set_data (G_OBJECT (angles), "kiln-tp", GUINT_TO_POINTER (i));
      g_signal_connect (angles, "clicked", G_CALLBACK (on_angles_clicked), self);
      gtk_grid_attach (self->tp_grid, angles, 5, i + 1, 1, 1);
    }
  self->n_rows = n;
}

static void
set_entry_text (GtkWidget  *entry,
                const char *text)
{
  if (GTK_IS_EDITABLE (entry) && g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (entry)), text) != 0)
    gtk_editable_set_text (GTK_EDITABLE (entry), text);
  gtk_widget_remove_css_class (entry, "error");
}

static void
update_angles_table (KilnExperimentPanel *self)
{
  KilnImageStack *stack = self->stack;
  const char *tlt = self->document ? kiln_document_get_angles_path (self->document, self->time_point) : NULL;
  g_autofree char *base = tlt != NULL ? g_path_get_basename (tlt) : NULL;
  g_autofree char *title = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->angles_grid))) != NULL)
    gtk_grid_remove (self->angles_grid, child);
  if (stack == NULL)
    {
      gtk_label_set_label (self->angles_title, "");
      return;
    }
  if (!stack->has_angles)
    title = g_strdup_printf (_("Tilt angles of T%u: none"), self->time_point + 1);
  else if (base != NULL)
    title = g_strdup_printf (_("Tilt angles of T%u (from %s)"), self->time_point + 1, base);
  else
    title = g_strdup_printf (_("Tilt angles of T%u (from the series file)"), self->time_point + 1);
  gtk_label_set_label (self->angles_title, title);
  if (!stack->has_angles)
    return;
  gtk_grid_attach (self->angles_grid, header_label (_("Tilt")), 0, 0, 1, 1);
  gtk_grid_attach (self->angles_grid, header_label (_("Angle (°)")), 1, 0, 1, 1);
  for (guint k = 0; k < stack->n_tilts; k++)
    {
      g_autofree char *index = g_strdup_printf ("%u", k + 1);
      g_autofree char *angle = g_strdup_printf ("%+.2f", stack->angles_deg[k]);
      g_autofree char *name = g_strdup_printf ("angle-%u", k);
      GtkWidget *a = gtk_label_new (angle);

      gtk_widget_set_name (a, name);
      gtk_label_set_xalign (GTK_LABEL (a), 1);
      gtk_grid_attach (self->angles_grid, gtk_label_new (index), 0, k + 1, 1, 1);
      gtk_grid_attach (self->angles_grid, a, 1, k + 1, 1, 1);
    }
}

/* Fill the table from the document (values only, so an entry being edited keeps its place). */
static void
refresh (KilnExperimentPanel *self)
{
  guint n;
  g_auto(GStrv) messages = NULL;
  g_autofree char *pixel = NULL;

  build_rows (self);
  if (self->document == NULL)
    return;
  n = kiln_document_get_n_time_points (self->document);
  pixel = kiln_document_get_pixel_size_nm (self->document) > 0
    ? g_strdup_printf ("%g", kiln_document_get_pixel_size_nm (self->document)) : g_strdup ("");
  set_entry_text (GTK_WIDGET (self->pixel_entry), pixel);
  for (guint i = 0; i < n; i++)
    {
      const char *path = kiln_document_get_time_point_path (self->document, i);
      const char *tlt = kiln_document_get_angles_path (self->document, i);
      KilnImageStack *stack = kiln_document_get_stack (self->document, i);
      g_autofree char *base = path != NULL ? g_path_get_basename (path) : g_strdup ("");
      g_autofree char *tilts = stack != NULL ? g_strdup_printf ("%u", stack->n_tilts) : g_strdup ("–");
      g_autofree char *time = format_number (kiln_document_get_time_s (self->document, i));
      g_autofree char *temp = format_number (kiln_document_get_temperature_c (self->document, i));
      g_autofree char *tlt_base = tlt != NULL ? g_path_get_basename (tlt) : NULL;
      GtkWidget *file = gtk_grid_get_child_at (self->tp_grid, 1, i + 1);
      GtkWidget *angles = gtk_grid_get_child_at (self->tp_grid, 5, i + 1);

      gtk_label_set_label (GTK_LABEL (file), base);
      gtk_widget_set_tooltip_text (file, path);
      gtk_label_set_label (GTK_LABEL (gtk_grid_get_child_at (self->tp_grid, 2, i + 1)), tilts);
      set_entry_text (gtk_grid_get_child_at (self->tp_grid, 3, i + 1), time);
      set_entry_text (gtk_grid_get_child_at (self->tp_grid, 4, i + 1), temp);
      gtk_button_set_label (GTK_BUTTON (angles), tlt_base != NULL ? tlt_base : _("from file…"));
    }
  messages = kiln_document_validate (self->document);
  if (messages[0] != NULL)
    {
      g_autofree char *joined = g_strjoinv ("\n", messages);
      g_autofree char *text = g_strconcat ("⚠ ", joined, NULL);
      gtk_label_set_label (self->validation_label, text);
    }
  else
    gtk_label_set_label (self->validation_label, "");
  gtk_widget_set_visible (GTK_WIDGET (self->validation_label), messages[0] != NULL);
  update_angles_table (self);
}

static void
on_metadata_changed (KilnDocument        *document,
                     KilnExperimentPanel *self)
{
  KilnImageStack *stack = kiln_document_get_stack (document, self->time_point);

  refresh (self);
  if (stack != NULL && stack == self->stack)
    update_tilt (self);   /* the angle in the tilt label */
}

/* ---- Import ------------------------------------------------------------------------------ */

static void
on_imported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnExperimentPanel) self = user_data;
  g_autoptr(GError) error = NULL;

  kiln_document_import_finish (KILN_DOCUMENT (source), result, &error);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  g_clear_object (&self->import_cancellable);
}

void
kiln_experiment_panel_import_files (KilnExperimentPanel *self,
                                    GFile              **files,
                                    guint                n_files)
{
  KilnProgressFunc progress = NULL;
  gpointer progress_data = NULL;
  KilnImportOrder order;

  g_return_if_fail (KILN_IS_EXPERIMENT_PANEL (self));
  if (self->document == NULL || n_files == 0)
    return;
  order = gtk_drop_down_get_selected (self->order_dropdown) == 1 ? KILN_IMPORT_BY_TIME
                                                                  : KILN_IMPORT_BY_NAME;
  g_clear_object (&self->import_cancellable);
  self->import_cancellable = kiln_window_begin_task_for (GTK_WIDGET (self), _("Importing tilt series…"),
                                                         &progress, &progress_data);
  kiln_document_import_async (self->document, files, n_files, order, self->import_cancellable,
                              progress, progress_data, on_imported, g_object_ref (self));
}

static void
import_file_list (KilnExperimentPanel *self,
                  GListModel          *list)
{
  guint n = g_list_model_get_n_items (list);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (files, g_list_model_get_item (list, i));
  kiln_experiment_panel_import_files (self, (GFile **) files->pdata, files->len);
}

static void
on_import_response (GtkNativeDialog *dialog,
                    int              response,
                    gpointer         user_data)
{
  KilnExperimentPanel *self = KILN_EXPERIMENT_PANEL (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) list = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      import_file_list (self, list);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
import_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  KilnExperimentPanel *self = KILN_EXPERIMENT_PANEL (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  const char *suffixes[] = { "tif", "tiff", "mrc", "st", "ali", "dm3", "dm4" };

  dialog = gtk_file_chooser_native_new (_("Add Tilt Series"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (dialog), TRUE);
  gtk_file_filter_set_name (filter, _("Tilt series (TIFF, MRC, DM3, DM4)"));
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    gtk_file_filter_add_suffix (filter, suffixes[i]);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_signal_connect (dialog, "response", G_CALLBACK (on_import_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static gboolean
on_drop (GtkDropTarget       *target,
         const GValue        *value,
         double               x,
         double               y,
         KilnExperimentPanel *self)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new ();

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST) || self->document == NULL)
    return FALSE;
  for (GSList *l = g_value_get_boxed (value); l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  if (files->len == 0)
    return FALSE;
  kiln_experiment_panel_import_files (self, (GFile **) files->pdata, files->len);
  return TRUE;
}

static void
kiln_experiment_panel_dispose (GObject *object)
{
  KilnExperimentPanel *self = KILN_EXPERIMENT_PANEL (object);

  g_clear_pointer (&self->stack, kiln_image_stack_unref);
  if (self->import_cancellable != NULL)
    g_cancellable_cancel (self->import_cancellable);
  g_clear_object (&self->import_cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_EXPERIMENT_PANEL);
  G_OBJECT_CLASS (kiln_experiment_panel_parent_class)->dispose (object);
}

static void
kiln_experiment_panel_class_init (KilnExperimentPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_experiment_panel_dispose;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-experiment-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, paned);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tilt_scale);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tilt_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tilt_label);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, readout_label);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, order_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, pixel_entry);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, validation_label);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tp_grid);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, angles_title);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, angles_grid);
  gtk_widget_class_bind_template_callback (widget_class, on_tilt_changed);
  gtk_widget_class_install_action (widget_class, "experiment.import", NULL, import_action);
  gtk_widget_class_bind_template_callback (widget_class, on_readout);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_experiment_panel_init (KilnExperimentPanel *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self->pixel_entry, "activate", G_CALLBACK (on_pixel_entry_commit), self);
  add_focus_commit (GTK_WIDGET (self->pixel_entry), G_CALLBACK (on_pixel_entry_commit), self);
  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiment.import", FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pixel_entry), FALSE);
}

GtkWidget *
kiln_experiment_panel_new (void)
{
  return g_object_new (KILN_TYPE_EXPERIMENT_PANEL, NULL);
}

void
kiln_experiment_panel_set_stack (KilnExperimentPanel *self,
                                 KilnImageStack      *stack)
{
  g_autofree char *info = NULL;

  g_return_if_fail (KILN_IS_EXPERIMENT_PANEL (self));

  if (stack != NULL)
    kiln_image_stack_ref (stack);
  g_clear_pointer (&self->stack, kiln_image_stack_unref);
  self->stack = stack;

  if (stack == NULL)
    {
      gtk_label_set_label (self->info_label, "");
      update_tilt (self);
      update_angles_table (self);
      return;
    }

  self->tilt = kiln_image_stack_zero_tilt (stack);
  if (stack->pixel_size_nm > 0)
    info = g_strdup_printf (_("%u tilts · %u × %u px · %.3g nm/px · field %.0f × %.0f nm"),
                            stack->n_tilts, stack->width, stack->height, stack->pixel_size_nm,
                            stack->width * stack->pixel_size_nm, stack->height * stack->pixel_size_nm);
  else
    info = g_strdup_printf (_("%u tilts · %u × %u px · pixel size unknown"),
                            stack->n_tilts, stack->width, stack->height);
  gtk_label_set_label (self->info_label, info);

  g_signal_handlers_block_by_func (self->tilt_adjustment, on_tilt_changed, self);
  gtk_adjustment_configure (self->tilt_adjustment, self->tilt, 0, stack->n_tilts - 1, 1, 5, 0);
  g_signal_handlers_unblock_by_func (self->tilt_adjustment, on_tilt_changed, self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->tilt_scale), stack->n_tilts > 1);
  update_tilt (self);
  refresh (self);
}

void
kiln_experiment_panel_set_tilt (KilnExperimentPanel *self,
                                guint                index)
{
  gtk_adjustment_set_value (self->tilt_adjustment, index);
}

guint
kiln_experiment_panel_get_tilt (KilnExperimentPanel *self)
{
  return self->tilt;
}

void
kiln_experiment_panel_set_document (KilnExperimentPanel *self,
                                    KilnDocument        *document)
{
  g_return_if_fail (KILN_IS_EXPERIMENT_PANEL (self));

  if (self->document == document)
    return;
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  self->time_point = 0;
  self->n_rows = 0;
  if (document != NULL)
    g_signal_connect (document, "metadata-changed", G_CALLBACK (on_metadata_changed), self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "experiment.import", document != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pixel_entry), document != NULL);
  refresh (self);
}

void
kiln_experiment_panel_set_time_point (KilnExperimentPanel *self,
                                      guint                index)
{
  g_return_if_fail (KILN_IS_EXPERIMENT_PANEL (self));
  self->time_point = index;
  if (self->document != NULL)
    kiln_experiment_panel_set_stack (self, kiln_document_get_stack (self->document, index));
  refresh (self);
}
