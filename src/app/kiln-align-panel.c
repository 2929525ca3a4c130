/* kiln-align-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-align-panel.h"
#include "kiln-image-view.h"
#include "kiln-plot.h"
#include "kiln-window.h"

struct _KilnAlignPanel
{
  GtkWidget        parent_instance;

  KilnDocument    *document;
  guint            time_point;
  guint            tilt;
  gboolean         busy;
  KilnAlignResult *result;
  GCancellable    *cancellable;
  double           truth_error;

  /* template children */
  GtkWidget       *box;
  GtkDropDown     *method_dropdown;
  GtkAdjustment   *angle_adjustment;
  KilnImageView   *view;
  GtkAdjustment   *tilt_adjustment;
  GtkLabel        *tilt_label;
  KilnPlot        *plot;
  GtkLabel        *table_label;
  GtkLabel        *info_label;
  GtkButton       *run_button;
};

G_DEFINE_FINAL_TYPE (KilnAlignPanel, kiln_align_panel, GTK_TYPE_WIDGET)

static void
record_params (KilnAlignPanel *self)
{
  g_autoptr(JsonObject) o = json_object_new ();
  KilnAlignMethod method;
  double angle;

  if (self->document == NULL)
    return;
  kiln_align_panel_get_params (self, &method, &angle);
  json_object_set_string_member (o, "method", kiln_align_method_to_string (method));
  json_object_set_double_member (o, "axis_angle_deg", angle);
  kiln_document_set_step_params (self->document, KILN_DOC_STEP_ALIGN, o);
}

static void
on_params_changed (KilnAlignPanel *self)
{
  record_params (self);
}

/* The simulator's true drift of the current time point (tpNN/truth/drift.xf), or NULL. */
static KilnXf *
load_truth_drift (KilnAlignPanel *self,
                  guint          *n)
{
  KilnExperiment *exp = self->document ? kiln_document_get_experiment (self->document) : NULL;
  KilnExperimentTimePoint *etp;
  g_autofree char *truth = NULL;
  g_autofree char *path = NULL;

  *n = 0;
  if (exp == NULL || self->time_point >= exp->time_points->len)
    return NULL;
  etp = g_ptr_array_index (exp->time_points, self->time_point);
  if (etp->truth == NULL)
    return NULL;
  truth = kiln_experiment_path (exp, etp->truth);
  path = g_build_filename (truth, "drift.xf", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  return kiln_xf_load (path, n, NULL);
}

/* RMS over the tilts of the residual r_k = a_k + b_k (a = NULL: 0) after removing what no
 * image alignment can observe: a global offset, and across the axis the motion of the content's
 * centre off the axis, x0·(cos θ − 1) + z0·sin θ (as the core's alignment test does). The
 * across-axis part is fitted by least squares on {1, cos θ, sin θ}; along the axis the mean. */
static double
rms_gauge_removed (const KilnXf *a,
                   const KilnXf *b,
                   const double *angles_deg,
                   double        axis_deg,
                   guint         n)
{
  double ca = cos (axis_deg * G_PI / 180), sa = sin (axis_deg * G_PI / 180);
  double m[3][4] = { { 0 } }, coef[3], mean_a = 0, e = 0;

  for (guint k = 0; k < n; k++)
    {
      double rx = (a ? a[k].dx : 0) + b[k].dx, ry = (a ? a[k].dy : 0) + b[k].dy;
      double p = rx * ca + ry * sa, q = -rx * sa + ry * ca;
      double t = angles_deg[k] * G_PI / 180, f[3] = { 1, cos (t), sin (t) };
      for (int i = 0; i < 3; i++)
        {
          for (int j = 0; j < 3; j++)
            m[i][j] += f[i] * f[j];
          m[i][3] += f[i] * p;
        }
      mean_a += q / n;
    }
  /* Gaussian elimination of the 3 × 3 normal equations */
  for (int i = 0; i < 3; i++)
    for (int r = i + 1; r < 3; r++)
      {
        double f = m[r][i] / m[i][i];
        for (int c = i; c < 4; c++)
          m[r][c] -= f * m[i][c];
      }
  for (int i = 2; i >= 0; i--)
    {
      coef[i] = m[i][3];
      for (int j = i + 1; j < 3; j++)
        coef[i] -= m[i][j] * coef[j];
      coef[i] /= m[i][i];
    }
  for (guint k = 0; k < n; k++)
    {
      double rx = (a ? a[k].dx : 0) + b[k].dx, ry = (a ? a[k].dy : 0) + b[k].dy;
      double p = rx * ca + ry * sa, q = -rx * sa + ry * ca;
      double t = angles_deg[k] * G_PI / 180;
      double ep = p - (coef[0] + coef[1] * cos (t) + coef[2] * sin (t)), eq = q - mean_a;
      e += ep * ep + eq * eq;
    }
  return sqrt (e / n);
}

static void
update_plot (KilnAlignPanel *self)
{
  KilnImageStack *aligned = self->document ? kiln_document_get_aligned (self->document, self->time_point) : NULL;
  guint n_xf = 0, n_truth = 0;
  const KilnXf *xf = self->document ? kiln_document_get_alignment (self->document, self->time_point, &n_xf) : NULL;
  g_autofree KilnXf *truth = NULL;
  g_autofree double *x = NULL;
  g_autofree double *dx = NULL;
  g_autofree double *dy = NULL;
  GString *table;

  self->truth_error = NAN;
  kiln_plot_clear (self->plot);
  kiln_plot_set_labels (self->plot, _("Per-tilt shifts"), _("Tilt angle (°)"), _("Shift (px)"));
  if (xf == NULL || aligned == NULL)
    {
      gtk_label_set_label (self->table_label, "");
      return;
    }
  x = g_new (double, n_xf);
  dx = g_new (double, n_xf);
  dy = g_new (double, n_xf);
  table = g_string_new (_("tilt  angle (°)   dx (px)   dy (px)"));
  for (guint k = 0; k < n_xf; k++)
    {
      x[k] = aligned->has_angles ? aligned->angles_deg[k] : k;
      dx[k] = xf[k].dx;
      dy[k] = xf[k].dy;
      g_string_append_printf (table, "\n%4u  %9.1f  %8.2f  %8.2f", k + 1, x[k], dx[k], dy[k]);
    }
  kiln_plot_add_series (self->plot, "dx", KILN_PLOT_POINTS, 1, x, dx, NULL, n_xf);
  kiln_plot_add_series (self->plot, "dy", KILN_PLOT_POINTS, 2, x, dy, NULL, n_xf);
  /* teaching: the simulator's true correction (−drift, offset to the reference tilt) */
  truth = load_truth_drift (self, &n_truth);
  if (truth != NULL && n_truth == n_xf)
    {
      guint ref = kiln_image_stack_zero_tilt (aligned);
      g_autofree double *tx = g_new (double, n_xf);
      g_autofree double *ty = g_new (double, n_xf);

      for (guint k = 0; k < n_xf; k++)
        {
          tx[k] = -(truth[k].dx - truth[ref].dx);
          ty[k] = -(truth[k].dy - truth[ref].dy);
        }
      kiln_plot_add_series (self->plot, _("true dx"), KILN_PLOT_LINE, 1, x, tx, NULL, n_xf);
      kiln_plot_add_series (self->plot, _("true dy"), KILN_PLOT_LINE, 2, x, ty, NULL, n_xf);
      {
        /* what alignment can observe: the error after removing a global offset and the
         * motion of off-axis content (see rms_gauge_removed) */
        double err = aligned->has_angles ? rms_gauge_removed (xf, truth, aligned->angles_deg,
                                                              gtk_adjustment_get_value (self->angle_adjustment),
                                                              n_xf) : NAN;
        g_autofree char *info = g_strdup_printf (_("Error against the simulator's drift: %.2f px RMS (observable part)"), err);

        self->truth_error = err;
        gtk_label_set_label (self->info_label, info);
      }
    }
  gtk_label_set_label (self->table_label, table->str);
  g_string_free (table, TRUE);
}

static void
update_image (KilnAlignPanel *self,
              gboolean        new_stack)
{
  KilnImageStack *aligned = self->document ? kiln_document_get_aligned (self->document, self->time_point) : NULL;
  KilnImageStack *input = self->document ? kiln_document_get_input_stack (self->document, self->time_point, KILN_DOC_STEP_ALIGN) : NULL;
  KilnImageStack *shown = aligned != NULL ? aligned : input;
  g_autofree char *text = NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), input != NULL && !self->busy);
  if (shown == NULL)
    {
      kiln_image_view_set_image (self->view, NULL, 0, 0, 0);
      gtk_label_set_label (self->tilt_label, "");
      update_plot (self);
      return;
    }
  if (new_stack)
    {
      self->tilt = kiln_image_stack_zero_tilt (shown);
      gtk_adjustment_configure (self->tilt_adjustment, self->tilt, 0, shown->n_tilts - 1, 1, 5, 0);
    }
  self->tilt = MIN (self->tilt, shown->n_tilts - 1);
  kiln_image_view_set_image (self->view, kiln_image_stack_tilt_const (shown, self->tilt),
                             shown->width, shown->height, shown->pixel_size_nm);
  if (new_stack)
    {
      kiln_image_view_auto_levels (self->view);
      kiln_image_view_zoom_to_fit (self->view);
    }
  text = g_strdup_printf (aligned != NULL ? _("Aligned tilt %u of %u · %+.1f°")
                                          : _("Unaligned tilt %u of %u · %+.1f°"),
                          self->tilt + 1, shown->n_tilts,
                          shown->has_angles ? shown->angles_deg[self->tilt] : 0.0);
  gtk_label_set_label (self->tilt_label, text);
  if (new_stack)
    update_plot (self);
}

static void
on_tilt_changed (GtkAdjustment  *adjustment,
                 KilnAlignPanel *self)
{
  guint t = (guint) lround (gtk_adjustment_get_value (adjustment));

  if (t == self->tilt)
    return;
  self->tilt = t;
  update_image (self, FALSE);
}

typedef struct
{
  KilnImageStack  *stack;
  guint            index;
  KilnAlignParams  params;
  KilnProgressFunc progress;
  gpointer         progress_data;
  KilnAlignResult *result;
} RunData;

static void
run_data_free (RunData *d)
{
  kiln_image_stack_unref (d->stack);
  if (d->result != NULL)
    kiln_align_result_free (d->result);
  g_free (d);
}

static void
run_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *d = task_data;
  GError *error = NULL;
  KilnImageStack *aligned;

  d->result = kiln_align_series (d->stack, &d->params, NULL, cancellable, d->progress,
                                 d->progress_data, &error);
  if (d->result == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  aligned = kiln_align_apply (d->stack, d->result->xf, KILN_INTERP_LINEAR, NULL, cancellable,
                              NULL, NULL, &error);
  if (aligned == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, aligned, (GDestroyNotify) kiln_image_stack_unref);
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnAlignPanel) self = user_data;
  RunData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) aligned = g_task_propagate_pointer (G_TASK (result), &error);

  self->busy = FALSE;
  g_clear_object (&self->cancellable);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  if (aligned != NULL && self->document != NULL)
    {
      if (self->result != NULL)
        kiln_align_result_free (self->result);
      self->result = g_steal_pointer (&d->result);
      kiln_document_set_aligned (self->document, d->index, self->result->xf, aligned);
    }
  update_image (self, TRUE);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  KilnAlignPanel *self = KILN_ALIGN_PANEL (widget);
  KilnImageStack *input;
  g_autoptr(GTask) task = NULL;
  RunData *d;
  double angle;

  if (self->busy || self->document == NULL)
    return;
  input = kiln_document_get_input_stack (self->document, self->time_point, KILN_DOC_STEP_ALIGN);
  if (input == NULL)
    return;
  d = g_new0 (RunData, 1);
  d->stack = kiln_image_stack_ref (input);
  d->index = self->time_point;
  kiln_align_params_init (&d->params);
  kiln_align_panel_get_params (self, &d->params.method, &angle);
  d->params.xcorr.axis_angle_deg = angle;
  self->cancellable = kiln_window_begin_task_for (widget, _("Aligning the tilts…"),
                                                  &d->progress, &d->progress_data);
  self->busy = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), FALSE);
  task = g_task_new (NULL, self->cancellable, on_run_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

static void
on_results_changed (KilnDocument   *document,
                    guint           index,
                    KilnAlignPanel *self)
{
  if (index == self->time_point && !self->busy)
    update_image (self, TRUE);
}

static void
kiln_align_panel_dispose (GObject *object)
{
  KilnAlignPanel *self = KILN_ALIGN_PANEL (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_pointer (&self->result, kiln_align_result_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_ALIGN_PANEL);
  G_OBJECT_CLASS (kiln_align_panel_parent_class)->dispose (object);
}

static void
kiln_align_panel_class_init (KilnAlignPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_align_panel_dispose;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  g_type_ensure (KILN_TYPE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-align-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, method_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, angle_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, tilt_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, tilt_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, plot);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, table_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, run_button);
  gtk_widget_class_bind_template_callback (widget_class, on_tilt_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_params_changed);
  gtk_widget_class_install_action (widget_class, "align.run", NULL, run_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "align.run", NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_align_panel_init (KilnAlignPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->truth_error = NAN;
}

GtkWidget *
kiln_align_panel_new (void)
{
  return g_object_new (KILN_TYPE_ALIGN_PANEL, NULL);
}

static void
load_params (KilnAlignPanel *self)
{
  JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN);
  KilnAlignMethod method = KILN_ALIGN_XCORR;

  g_signal_handlers_block_by_func (self->method_dropdown, on_params_changed, self);
  g_signal_handlers_block_by_func (self->angle_adjustment, on_params_changed, self);
  if (o != NULL)
    kiln_align_method_from_string (json_object_get_string_member_with_default (o, "method", "xcorr"), &method);
  gtk_drop_down_set_selected (self->method_dropdown, method == KILN_ALIGN_MI ? 1 : 0);
  gtk_adjustment_set_value (self->angle_adjustment,
                            o ? json_object_get_double_member_with_default (o, "axis_angle_deg", 0) : 0);
  g_signal_handlers_unblock_by_func (self->method_dropdown, on_params_changed, self);
  g_signal_handlers_unblock_by_func (self->angle_adjustment, on_params_changed, self);
}

static void
on_step_params_changed (KilnDocument   *document,
                        guint           step,
                        KilnAlignPanel *self)
{
  if (step == KILN_DOC_STEP_ALIGN)
    load_params (self);
}

void
kiln_align_panel_set_document (KilnAlignPanel *self,
                               KilnDocument   *document)
{
  g_return_if_fail (KILN_IS_ALIGN_PANEL (self));
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  self->time_point = 0;
  g_clear_pointer (&self->result, kiln_align_result_free);
  if (document != NULL)
    {
      g_signal_connect (document, "results-changed", G_CALLBACK (on_results_changed), self);
      g_signal_connect (document, "params-changed", G_CALLBACK (on_step_params_changed), self);
      load_params (self);
    }
  update_image (self, TRUE);
}

void
kiln_align_panel_set_time_point (KilnAlignPanel *self,
                                 guint           index)
{
  g_return_if_fail (KILN_IS_ALIGN_PANEL (self));
  self->time_point = index;
  gtk_label_set_label (self->info_label, "");
  update_image (self, TRUE);
}

void
kiln_align_panel_set_params (KilnAlignPanel  *self,
                             KilnAlignMethod  method,
                             double           axis_angle_deg)
{
  g_return_if_fail (KILN_IS_ALIGN_PANEL (self));
  gtk_drop_down_set_selected (self->method_dropdown, method == KILN_ALIGN_MI ? 1 : 0);
  gtk_adjustment_set_value (self->angle_adjustment, axis_angle_deg);
}

void
kiln_align_panel_get_params (KilnAlignPanel  *self,
                             KilnAlignMethod *method,
                             double          *axis_angle_deg)
{
  if (method != NULL)
    *method = gtk_drop_down_get_selected (self->method_dropdown) == 1 ? KILN_ALIGN_MI : KILN_ALIGN_XCORR;
  if (axis_angle_deg != NULL)
    *axis_angle_deg = gtk_adjustment_get_value (self->angle_adjustment);
}

const KilnAlignResult *
kiln_align_panel_get_result (KilnAlignPanel *self)
{
  g_return_val_if_fail (KILN_IS_ALIGN_PANEL (self), NULL);
  return self->result;
}

double
kiln_align_panel_get_truth_error (KilnAlignPanel *self)
{
  g_return_val_if_fail (KILN_IS_ALIGN_PANEL (self), NAN);
  return self->truth_error;
}

gboolean
kiln_align_panel_is_idle (KilnAlignPanel *self)
{
  g_return_val_if_fail (KILN_IS_ALIGN_PANEL (self), TRUE);
  return !self->busy;
}
