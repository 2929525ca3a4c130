/* kiln-tilt-axis-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-image-view.h"
#include "kiln-plot.h"
#include "kiln-preview-runner.h"
#include "kiln-tilt-axis-panel.h"
#include "kiln-window.h"

#define PREVIEW_DELAY_MS 40
#define N_SLICES KILN_TILT_AXIS_PANEL_N_SLICES

struct _KilnTiltAxisPanel
{
  GtkWidget           parent_instance;

  KilnDocument       *document;
  guint               time_point;
  gboolean            updating;       /* controls set programmatically */
  KilnImageStack     *shown_stack;    /* compared only, not dereferenced */

  KilnPreviewRunner  *runner;
  float              *preview;
  guint               preview_width;
  guint               preview_thickness;
  double              preview_angle;
  double              preview_shift;

  gboolean            busy;
  GCancellable       *cancellable;
  KilnTiltAxisResult *suggestion;

  /* template children */
  GtkWidget          *box;
  GtkAdjustment      *angle_adjustment;
  GtkAdjustment      *shift_adjustment;
  GtkDropDown        *filter_dropdown;
  KilnImageView      *view;
  KilnImageView      *slice_view1;
  KilnImageView      *slice_view2;
  KilnImageView      *slice_view3;
  KilnPlot           *plot;
  GtkLabel           *info_label;
  GtkButton          *suggest_button;
  GtkButton          *copy_button;
};

G_DEFINE_FINAL_TYPE (KilnTiltAxisPanel, kiln_tilt_axis_panel, GTK_TYPE_WIDGET)

static KilnImageStack *
input_stack (KilnTiltAxisPanel *self)
{
  if (self->document == NULL)
    return NULL;
  return kiln_document_get_input_stack (self->document, self->time_point, KILN_DOC_STEP_TILT_AXIS);
}

static KilnImageView *
slice_view (KilnTiltAxisPanel *self,
            guint              i)
{
  KilnImageView *views[N_SLICES] = { self->slice_view1, self->slice_view2, self->slice_view3 };
  return views[i];
}

/* ---- live back-projection ---------------------------------------------------------------- */

typedef struct
{
  KilnImageStack        *stack;
  KilnBackprojectParams  params;
  double                 positions[N_SLICES];
  guint                  generation;
  guint                  width;
  guint                  thickness;
} PreviewData;

static void
preview_data_free (PreviewData *d)
{
  kiln_image_stack_unref (d->stack);
  g_free (d);
}

static void
preview_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  PreviewData *d = task_data;
  GError *error = NULL;
  float *out;

  if (!kiln_backproject_slices (d->stack, &d->params, d->positions, N_SLICES, NULL, &d->width,
                                &d->thickness, cancellable, NULL, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  out = g_new (float, (gsize) N_SLICES * d->width * d->thickness);
  if (!kiln_backproject_slices (d->stack, &d->params, d->positions, N_SLICES, out, NULL, NULL,
                                cancellable, NULL, NULL, &error))
    {
      g_free (out);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, out, g_free);
}

static void schedule_preview (KilnTiltAxisPanel *self);

static void
on_preview_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(KilnTiltAxisPanel) self = user_data;
  PreviewData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  float *out = g_task_propagate_pointer (G_TASK (result), &error);
  gboolean current = kiln_preview_runner_done (self->runner, d->generation);

  if (out == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->info_label, error->message);
    }
  else if (!current || d->stack != input_stack (self))
    g_free (out);
  else
    {
      gboolean first = self->preview == NULL;
      g_free (self->preview);
      self->preview = out;
      self->preview_width = d->width;
      self->preview_thickness = d->thickness;
      self->preview_angle = d->params.axis_angle_deg;
      self->preview_shift = d->params.axis_shift_px;
      for (guint i = 0; i < N_SLICES; i++)
        {
          KilnImageView *v = slice_view (self, i);
          kiln_image_view_set_image (v, out + (gsize) i * d->width * d->thickness, d->width,
                                     d->thickness, d->stack->pixel_size_nm);
          if (first)
            kiln_image_view_zoom_to_fit (v);
          kiln_image_view_auto_levels (v);
        }
    }
}

/* The runner's start function: back-project the slices for the current axis, in a worker. */
static gboolean
start_preview (gpointer      owner,
               GCancellable *cancellable,
               guint         generation)
{
  KilnTiltAxisPanel *self = owner;
  KilnImageStack *stack = input_stack (self);
  g_autoptr(GTask) task = NULL;
  PreviewData *d;

  if (stack == NULL || !stack->has_angles || stack->n_tilts < 2)
    return FALSE;
  d = g_new0 (PreviewData, 1);
  d->stack = kiln_image_stack_ref (stack);
  kiln_backproject_params_init (&d->params);
  kiln_tilt_axis_panel_get_axis (self, &d->params.axis_angle_deg, &d->params.axis_shift_px);
  d->params.filter = gtk_drop_down_get_selected (self->filter_dropdown) == 1 ? KILN_FILTER_HAMMING
                                                                            : KILN_FILTER_NONE;
  d->params.thickness = MAX (16u, stack->width / 2);
  kiln_tilt_axis_slice_positions (stack->width, stack->height, d->params.axis_angle_deg,
                                  N_SLICES, d->positions);
  d->generation = generation;
  task = g_task_new (NULL, cancellable, on_preview_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) preview_data_free);
  g_task_run_in_thread (task, preview_thread);
  return TRUE;
}

static void
schedule_preview (KilnTiltAxisPanel *self)
{
  if (self->runner != NULL)
    kiln_preview_runner_schedule (self->runner);
}

static void
update_overlay (KilnTiltAxisPanel *self)
{
  double angle, shift;

  kiln_tilt_axis_panel_get_axis (self, &angle, &shift);
  kiln_image_view_set_axis (self->view, input_stack (self) != NULL, angle, shift);
  if (self->suggestion != NULL)
    kiln_plot_set_marker (self->plot, shift);
}

static void
on_axis_changed (KilnTiltAxisPanel *self)
{
  double angle, shift;

  update_overlay (self);
  schedule_preview (self);
  if (self->updating || self->document == NULL || input_stack (self) == NULL)
    return;
  /* the axis set by the user is this step's result */
  kiln_tilt_axis_panel_get_axis (self, &angle, &shift);
  kiln_document_set_axis (self->document, self->time_point, angle, shift);
}

static void
on_filter_changed (KilnTiltAxisPanel *self)
{
  g_autoptr(JsonObject) o = json_object_new ();

  schedule_preview (self);
  if (self->document == NULL || self->updating)
    return;
  json_object_set_string_member (o, "preview", gtk_drop_down_get_selected (self->filter_dropdown) == 1
                                               ? "weighted" : "simple");
  kiln_document_set_step_params (self->document, KILN_DOC_STEP_TILT_AXIS, o);
}

static void
set_controls (KilnTiltAxisPanel *self,
              double             angle,
              double             shift)
{
  self->updating = TRUE;
  gtk_adjustment_set_value (self->angle_adjustment, angle);
  gtk_adjustment_set_value (self->shift_adjustment, shift);
  self->updating = FALSE;
}

static void
update_image (KilnTiltAxisPanel *self)
{
  KilnImageStack *stack = input_stack (self);
  double angle = 0, shift = 0;
  guint zero;

  gtk_widget_set_sensitive (GTK_WIDGET (self->suggest_button), stack != NULL && !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->copy_button), stack != NULL && !self->busy);
  g_clear_pointer (&self->preview, g_free);
  self->shown_stack = stack;
  if (stack == NULL)
    {
      kiln_image_view_set_image (self->view, NULL, 0, 0, 0);
      for (guint i = 0; i < N_SLICES; i++)
        kiln_image_view_set_image (slice_view (self, i), NULL, 0, 0, 0);
      return;
    }
  gtk_adjustment_set_lower (self->shift_adjustment, -(double) stack->width / 4);
  gtk_adjustment_set_upper (self->shift_adjustment, (double) stack->width / 4);
  if (!kiln_document_get_axis (self->document, self->time_point, &angle, &shift))
    {
      JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN);
      /* start from the angle given to the alignment */
      angle = o ? json_object_get_double_member_with_default (o, "axis_angle_deg", 0) : 0;
      shift = 0;
    }
  set_controls (self, angle, shift);
  {
    /* teaching: the simulator's axis beside Kiln's */
    KilnExperiment *exp = kiln_document_get_experiment (self->document);
    if (exp != NULL && exp->simulation != NULL && self->suggestion == NULL &&
        json_object_has_member (exp->simulation, "axis_angle_deg"))
      {
        g_autofree char *info = g_strdup_printf (_("Simulated axis: %.2f°, %.2f px (before alignment)"),
                                                 json_object_get_double_member (exp->simulation, "axis_angle_deg"),
                                                 json_object_get_double_member_with_default (exp->simulation, "axis_shift_px", 0));
        gtk_label_set_label (self->info_label, info);
      }
  }
  zero = kiln_image_stack_zero_tilt (stack);
  kiln_image_view_set_image (self->view, kiln_image_stack_tilt_const (stack, zero), stack->width,
                             stack->height, stack->pixel_size_nm);
  kiln_image_view_auto_levels (self->view);
  kiln_image_view_zoom_to_fit (self->view);
  update_overlay (self);
  schedule_preview (self);
}

/* ---- suggestion ---------------------------------------------------------------------------- */

typedef struct
{
  KilnImageStack    *stack;
  KilnTiltAxisParams params;
  guint              index;
  KilnProgressFunc   progress;
  gpointer           progress_data;
} SuggestData;

static void
suggest_data_free (SuggestData *d)
{
  kiln_image_stack_unref (d->stack);
  g_free (d);
}

static void
suggest_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SuggestData *d = task_data;
  GError *error = NULL;
  KilnTiltAxisResult *r = kiln_tilt_axis_find (d->stack, &d->params, cancellable, d->progress,
                                               d->progress_data, &error);

  if (r == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, r, (GDestroyNotify) kiln_tilt_axis_result_free);
}

static void
on_suggest_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(KilnTiltAxisPanel) self = user_data;
  SuggestData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  KilnTiltAxisResult *r = g_task_propagate_pointer (G_TASK (result), &error);
  g_autofree char *info = NULL;

  self->busy = FALSE;
  g_clear_object (&self->cancellable);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  gtk_widget_set_sensitive (GTK_WIDGET (self->suggest_button), TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->copy_button), TRUE);
  if (r == NULL)
    return;
  g_clear_pointer (&self->suggestion, kiln_tilt_axis_result_free);
  self->suggestion = r;
  kiln_plot_clear (self->plot);
  kiln_plot_set_labels (self->plot, _("Axis shift score"), _("Axis shift (px)"),
                        _("Relative sharpness"));
  kiln_plot_add_series (self->plot, _("score"), KILN_PLOT_POINTS, 1, r->curve_shift_px,
                        r->curve_score, NULL, r->n_curve);
  info = g_strdup_printf (_("Suggested axis %.2f°, shift %.2f px (confidence %.2f)"),
                          r->axis_angle_deg, r->axis_shift_px, r->confidence);
  gtk_label_set_label (self->info_label, info);
  if (d->index == self->time_point)
    kiln_tilt_axis_panel_set_axis (self, r->axis_angle_deg, r->axis_shift_px);
}

static void
suggest_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  KilnTiltAxisPanel *self = KILN_TILT_AXIS_PANEL (widget);
  KilnImageStack *stack = input_stack (self);
  g_autoptr(GTask) task = NULL;
  SuggestData *d;

  if (stack == NULL || self->busy)
    return;
  d = g_new0 (SuggestData, 1);
  d->stack = kiln_image_stack_ref (stack);
  d->index = self->time_point;
  kiln_tilt_axis_params_init (&d->params);
  /* start from the current angle (the common-line estimate alone is unreliable on small,
   * sparse fields such as the teaching preset) */
  kiln_tilt_axis_panel_get_axis (self, &d->params.axis_angle_deg, NULL);
  self->cancellable = kiln_window_begin_task_for (widget, _("Searching the tilt axis…"),
                                                  &d->progress, &d->progress_data);
  self->busy = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->suggest_button), FALSE);
  task = g_task_new (NULL, self->cancellable, on_suggest_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) suggest_data_free);
  g_task_run_in_thread (task, suggest_thread);
}

static void
copy_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  KilnTiltAxisPanel *self = KILN_TILT_AXIS_PANEL (widget);
  double angle, shift;

  if (self->document == NULL)
    return;
  kiln_tilt_axis_panel_get_axis (self, &angle, &shift);
  for (guint i = 0; i < kiln_document_get_n_time_points (self->document); i++)
    kiln_document_set_axis (self->document, i, angle, shift);
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
on_step_params_changed (KilnDocument      *document,
                        guint              step,
                        KilnTiltAxisPanel *self)
{
  JsonObject *o;

  if (step == KILN_DOC_AXIS_EDIT)
    {
      /* undo/redo of the axis: show the restored one (or the starting one, if none) */
      double angle, shift;
      if (!kiln_document_get_axis (document, self->time_point, &angle, &shift))
        {
          o = kiln_document_get_step_params (document, KILN_DOC_STEP_ALIGN);
          angle = o ? json_object_get_double_member_with_default (o, "axis_angle_deg", 0) : 0;
          shift = 0;
        }
      set_controls (self, angle, shift);
      return;
    }
  if (step != KILN_DOC_STEP_TILT_AXIS)
    return;
  o = kiln_document_get_step_params (document, KILN_DOC_STEP_TILT_AXIS);
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->filter_dropdown,
                              o && g_strcmp0 (json_object_get_string_member_with_default (o, "preview", ""), "weighted") == 0);
  self->updating = FALSE;
}

static void
on_results_changed (KilnDocument      *document,
                    guint              index,
                    KilnTiltAxisPanel *self)
{
  /* a new input stack (denoised/aligned) for this time point; the axis itself is ours */
  if (index == self->time_point && input_stack (self) != self->shown_stack)
    update_image (self);
}

static void
kiln_tilt_axis_panel_dispose (GObject *object)
{
  KilnTiltAxisPanel *self = KILN_TILT_AXIS_PANEL (object);

  g_clear_object (&self->runner);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_pointer (&self->preview, g_free);
  g_clear_pointer (&self->suggestion, kiln_tilt_axis_result_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_TILT_AXIS_PANEL);
  G_OBJECT_CLASS (kiln_tilt_axis_panel_parent_class)->dispose (object);
}

static void
kiln_tilt_axis_panel_class_init (KilnTiltAxisPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_tilt_axis_panel_dispose;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  g_type_ensure (KILN_TYPE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-tilt-axis-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, angle_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, shift_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, filter_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, slice_view1);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, slice_view2);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, slice_view3);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, plot);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, suggest_button);
  gtk_widget_class_bind_template_child (widget_class, KilnTiltAxisPanel, copy_button);
  gtk_widget_class_bind_template_callback (widget_class, on_axis_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_changed);
  gtk_widget_class_install_action (widget_class, "tilt-axis.suggest", NULL, suggest_action);
  gtk_widget_class_install_action (widget_class, "tilt-axis.copy", NULL, copy_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "tilt-axis.suggest", NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_tilt_axis_panel_init (KilnTiltAxisPanel *self)
{
  self->runner = kiln_preview_runner_new (PREVIEW_DELAY_MS, start_preview, self);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
kiln_tilt_axis_panel_new (void)
{
  return g_object_new (KILN_TYPE_TILT_AXIS_PANEL, NULL);
}

void
kiln_tilt_axis_panel_set_document (KilnTiltAxisPanel *self,
                                   KilnDocument      *document)
{
  g_return_if_fail (KILN_IS_TILT_AXIS_PANEL (self));
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  self->time_point = 0;
  if (document != NULL)
    {
      JsonObject *o = kiln_document_get_step_params (document, KILN_DOC_STEP_TILT_AXIS);
      g_signal_connect (document, "results-changed", G_CALLBACK (on_results_changed), self);
      g_signal_connect (document, "params-changed", G_CALLBACK (on_step_params_changed), self);
      self->updating = TRUE;
      gtk_drop_down_set_selected (self->filter_dropdown,
                                  o && g_strcmp0 (json_object_get_string_member_with_default (o, "preview", ""), "weighted") == 0);
      self->updating = FALSE;
    }
  update_image (self);
}

void
kiln_tilt_axis_panel_set_time_point (KilnTiltAxisPanel *self,
                                     guint              index)
{
  g_return_if_fail (KILN_IS_TILT_AXIS_PANEL (self));
  self->time_point = index;
  update_image (self);
}

void
kiln_tilt_axis_panel_set_axis (KilnTiltAxisPanel *self,
                               double             angle_deg,
                               double             shift_px)
{
  g_return_if_fail (KILN_IS_TILT_AXIS_PANEL (self));
  /* one document update for both values */
  self->updating = TRUE;
  gtk_adjustment_set_value (self->angle_adjustment, angle_deg);
  self->updating = FALSE;
  gtk_adjustment_set_value (self->shift_adjustment, shift_px);
  on_axis_changed (self);
}

void
kiln_tilt_axis_panel_get_axis (KilnTiltAxisPanel *self,
                               double            *angle_deg,
                               double            *shift_px)
{
  if (angle_deg != NULL)
    *angle_deg = gtk_adjustment_get_value (self->angle_adjustment);
  if (shift_px != NULL)
    *shift_px = gtk_adjustment_get_value (self->shift_adjustment);
}

void
kiln_tilt_axis_panel_set_weighted (KilnTiltAxisPanel *self,
                                   gboolean           weighted)
{
  g_return_if_fail (KILN_IS_TILT_AXIS_PANEL (self));
  gtk_drop_down_set_selected (self->filter_dropdown, weighted ? 1 : 0);
}

const float *
kiln_tilt_axis_panel_get_preview (KilnTiltAxisPanel *self,
                                  guint             *width,
                                  guint             *thickness,
                                  double            *angle_deg,
                                  double            *shift_px)
{
  g_return_val_if_fail (KILN_IS_TILT_AXIS_PANEL (self), NULL);
  if (width) *width = self->preview_width;
  if (thickness) *thickness = self->preview_thickness;
  if (angle_deg) *angle_deg = self->preview_angle;
  if (shift_px) *shift_px = self->preview_shift;
  return self->preview;
}

const KilnTiltAxisResult *
kiln_tilt_axis_panel_get_suggestion (KilnTiltAxisPanel *self)
{
  g_return_val_if_fail (KILN_IS_TILT_AXIS_PANEL (self), NULL);
  return self->suggestion;
}

gboolean
kiln_tilt_axis_panel_is_idle (KilnTiltAxisPanel *self)
{
  g_return_val_if_fail (KILN_IS_TILT_AXIS_PANEL (self), TRUE);
  return (self->runner == NULL || kiln_preview_runner_is_idle (self->runner)) && !self->busy;
}
