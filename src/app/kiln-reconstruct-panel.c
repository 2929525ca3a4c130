/* kiln-reconstruct-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-image-view.h"
#include "kiln-plot.h"
#include "kiln-reconstruct-panel.h"
#include "kiln-window.h"

struct _KilnReconstructPanel
{
  GtkWidget        parent_instance;

  KilnDocument    *document;
  guint            time_point;
  gboolean         busy;
  GCancellable    *cancellable;
  GArray          *iter_x;        /* double: iteration */
  GArray          *residual;
  GArray          *tv;
  KilnReconResult  result;
  gboolean         preview_fitted;
  guint            run;           /* id of the current run; iteration messages carry it */
  gboolean         loading;       /* controls set from the document */
  /* "all time points": all_next counts 1-based the next time point to do; 0 = single run */
  guint            all_next;
  KilnProgressFunc progress;
  gpointer         progress_data;
  /* teaching */
  KilnVolume      *truth;
  guint            truth_tp;
  double           truth_rmse;
  double           truth_dice;
  KilnVolume      *shown;         /* compared only: the volume show_volume() showed */

  /* template children */
  GtkWidget       *box;
  GtkDropDown     *method_dropdown;
  GtkAdjustment   *iterations_adjustment;
  GtkAdjustment   *a_adjustment;
  GtkAdjustment   *b_adjustment;
  GtkAdjustment   *sensitivity_adjustment;
  GtkAdjustment   *thickness_adjustment;
  KilnImageView   *preview_view;
  KilnImageView   *xy_view;
  KilnImageView   *xz_view;
  KilnImageView   *yz_view;
  KilnPlot        *residual_plot;
  KilnPlot        *tv_plot;
  GtkLabel        *info_label;
  GtkButton       *run_button;
  GtkButton       *run_all_button;
  GtkButton       *stop_button;
  GtkCheckButton  *truth_check;
  GtkLabel        *truth_label;
};

G_DEFINE_FINAL_TYPE (KilnReconstructPanel, kiln_reconstruct_panel, GTK_TYPE_WIDGET)

static KilnImageStack *
input_stack (KilnReconstructPanel *self)
{
  if (self->document == NULL)
    return NULL;
  return kiln_document_get_input_stack (self->document, self->time_point, KILN_DOC_STEP_RECONSTRUCT);
}

static void
record_params (KilnReconstructPanel *self)
{
  g_autoptr(JsonObject) o = json_object_new ();
  KilnReconstructPanelParams p;

  if (self->document == NULL || self->loading)
    return;
  kiln_reconstruct_panel_get_params (self, &p);
  json_object_set_string_member (o, "method", kiln_recon_method_to_string (p.method));
  json_object_set_int_member (o, "iterations", p.iterations);
  json_object_set_int_member (o, "data_passes", p.data_passes);
  json_object_set_int_member (o, "tv_steps", p.tv_steps);
  json_object_set_double_member (o, "sensitivity", p.sensitivity);
  json_object_set_int_member (o, "thickness_px", p.thickness);
  kiln_document_set_step_params (self->document, KILN_DOC_STEP_RECONSTRUCT, o);
}

static void
update_sensitivity (KilnReconstructPanel *self)
{
  KilnReconstructPanelParams p;

  kiln_reconstruct_panel_get_params (self, &p);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), input_stack (self) != NULL && !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_all_button), self->document != NULL && !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->stop_button), self->busy);
}

static void
on_params_changed (KilnReconstructPanel *self)
{
  record_params (self);
}

/* The simulator's truth volume of the current time point (cached), or NULL. */
static KilnVolume *
truth_volume (KilnReconstructPanel *self)
{
  g_autofree char *path = NULL;

  if (self->truth != NULL && self->truth_tp == self->time_point)
    return self->truth;
  g_clear_pointer (&self->truth, kiln_volume_unref);
  path = self->document ? kiln_document_dup_truth_path (self->document, self->time_point, "volume.mrc") : NULL;
  if (path == NULL)
    return NULL;
  self->truth = kiln_mrc_load_volume (path, NULL, NULL);
  self->truth_tp = self->time_point;
  return self->truth;
}

static gboolean
showing_truth (KilnReconstructPanel *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->truth_check)) &&
         gtk_check_button_get_active (self->truth_check);
}

/* The threshold Segment would use: its manual threshold, else Otsu's. */
static double
segment_threshold (KilnReconstructPanel *self,
                   KilnVolume           *v)
{
  JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_SEGMENT);
  double t = NAN;

  if (o != NULL && !json_object_get_boolean_member_with_default (o, "otsu", TRUE) &&
      json_object_has_member (o, "threshold"))
    return json_object_get_double_member (o, "threshold");
  if (!kiln_segment_otsu (v, &t, NULL))
    return NAN;
  return t;
}

/* Teaching: compare @v with the truth: the least-squares scale a·v + b ≈ truth (the
 * reconstruction's units are arbitrary), the RMS error after it (in the truth's units: 1 = a
 * voxel full of Cu), and the Dice overlap of v > (segmentation threshold) with truth > 0.5.
 * Returns the truth in the reconstruction's units ((truth − b)/a), or NULL. */
static float *
compare_truth (KilnReconstructPanel *self,
               KilnVolume           *v,
               char                **message)
{
  KilnVolume *t = truth_volume (self);
  gsize n;
  double sv = 0, st = 0, svv = 0, svt = 0, a, b, se = 0, thr;
  guint64 both = 0, nv = 0, nt = 0;
  float *scaled;

  self->truth_rmse = self->truth_dice = NAN;
  if (t == NULL)
    {
      *message = g_strdup (_("No truth volume for this time point"));
      return NULL;
    }
  if (t->nx != v->nx || t->ny != v->ny || t->nz != v->nz)
    {
      *message = g_strdup_printf (_("The truth is %u × %u × %u voxels, the reconstruction %u × %u × %u: set the thickness to %u px to compare"),
                                  t->nx, t->ny, t->nz, v->nx, v->ny, v->nz, t->nz);
      return NULL;
    }
  n = kiln_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    {
      sv += v->data[i];
      st += t->data[i];
      svv += (double) v->data[i] * v->data[i];
      svt += (double) v->data[i] * t->data[i];
    }
  a = (svt - sv * st / n) / (svv - sv * sv / n);
  b = (st - a * sv) / n;
  if (!isfinite (a) || a == 0)
    {
      *message = g_strdup (_("The reconstruction is constant: nothing to compare"));
      return NULL;
    }
  thr = segment_threshold (self, v);
  scaled = kiln_alloc (n, sizeof (float), FALSE, "scaled truth", NULL);
  if (scaled == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      double e = a * v->data[i] + b - t->data[i];
      gboolean in_v = v->data[i] > thr, in_t = t->data[i] > 0.5f;

      se += e * e;
      both += in_v && in_t;
      nv += in_v;
      nt += in_t;
      scaled[i] = (float) ((t->data[i] - b) / a);
    }
  self->truth_rmse = sqrt (se / n);
  self->truth_dice = nv + nt > 0 ? 2.0 * both / (nv + nt) : 1.0;
  *message = g_strdup_printf (_("Against the simulator's volume (right of each slice): RMS error %.3f (1 = solid Cu) · Dice %.3f at the segmentation threshold %.4g · the x–z slice shows the missing wedge"),
                              self->truth_rmse, self->truth_dice, thr);
  return scaled;
}

/* Show @img (w × h) in @view, or, with @beside (w × h, nullable), both side by side with a
 * 4-pixel gap of @img's minimum between them. */
static void
show_pair (KilnImageView *view,
           const float   *img,
           const float   *beside,
           guint          w,
           guint          h,
           double         voxel_nm)
{
  const guint gap = 4;
  guint cw = 2 * w + gap;
  g_autofree float *c = NULL;
  float lo = INFINITY;

  if (beside == NULL)
    {
      kiln_image_view_set_image (view, img, w, h, voxel_nm);
      return;
    }
  for (gsize i = 0; i < (gsize) w * h; i++)
    lo = MIN (lo, img[i]);
  c = g_new (float, (gsize) cw * h);
  for (guint y = 0; y < h; y++)
    {
      float *row = c + (gsize) y * cw;
      memcpy (row, img + (gsize) y * w, sizeof (float) * w);
      for (guint x = 0; x < gap; x++)
        row[w + x] = lo;
      memcpy (row + w + gap, beside + (gsize) y * w, sizeof (float) * w);
    }
  kiln_image_view_set_image (view, c, cw, h, voxel_nm);
}

/* The x–y (middle z), x–z (middle y) and y–z (middle x) slices of @data (nx × ny × nz). */
static void
extract_slices (const float *data,
                guint        nx,
                guint        ny,
                guint        nz,
                float      **xy,
                float      **xz,
                float      **yz)
{
  *xy = g_memdup2 (data + (gsize) (nz / 2) * nx * ny, sizeof (float) * nx * ny);
  *xz = g_new (float, (gsize) nx * nz);
  *yz = g_new (float, (gsize) ny * nz);
  for (guint z = 0; z < nz; z++)
    for (guint x = 0; x < nx; x++)
      (*xz)[(gsize) z * nx + x] = data[((gsize) z * ny + ny / 2) * nx + x];
  for (guint z = 0; z < nz; z++)
    for (guint y = 0; y < ny; y++)
      (*yz)[(gsize) z * ny + y] = data[((gsize) z * ny + y) * nx + nx / 2];
}

/* The result's slices, with @truth's (same size, nullable) beside them. */
static void
set_slices (KilnReconstructPanel *self,
            const KilnVolume     *v,
            const float          *truth)
{
  g_autofree float *xy = NULL, *xz = NULL, *yz = NULL;
  g_autofree float *txy = NULL, *txz = NULL, *tyz = NULL;

  extract_slices (v->data, v->nx, v->ny, v->nz, &xy, &xz, &yz);
  if (truth != NULL)
    extract_slices (truth, v->nx, v->ny, v->nz, &txy, &txz, &tyz);
  show_pair (self->xy_view, xy, txy, v->nx, v->ny, v->voxel_size_nm);
  show_pair (self->xz_view, xz, txz, v->nx, v->nz, v->voxel_size_nm);
  show_pair (self->yz_view, yz, tyz, v->ny, v->nz, v->voxel_size_nm);
}

/* Orthogonal slices through the centre of the time point's volume (with the truth's beside
 * them when shown). */
static void
show_volume (KilnReconstructPanel *self)
{
  KilnVolume *v = self->document ? kiln_document_get_reconstruction (self->document, self->time_point) : NULL;
  g_autofree char *truth_path = self->document ? kiln_document_dup_truth_path (self->document, self->time_point, "volume.mrc") : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->truth_check), truth_path != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->truth_label), truth_path != NULL && showing_truth (self));
  self->truth_rmse = self->truth_dice = NAN;
  self->shown = v;
  if (v == NULL)
    {
      kiln_image_view_set_image (self->xy_view, NULL, 0, 0, 0);
      kiln_image_view_set_image (self->xz_view, NULL, 0, 0, 0);
      kiln_image_view_set_image (self->yz_view, NULL, 0, 0, 0);
      return;
    }
  if (showing_truth (self))
    {
      g_autofree char *message = NULL;
      float *scaled = compare_truth (self, v, &message);

      set_slices (self, v, scaled);
      if (scaled != NULL)
        kiln_free (scaled);
      gtk_label_set_label (self->truth_label, message);
    }
  else
    set_slices (self, v, NULL);
  kiln_image_view_auto_levels (self->xy_view);
  kiln_image_view_auto_levels (self->xz_view);
  kiln_image_view_auto_levels (self->yz_view);
  kiln_image_view_zoom_to_fit (self->xy_view);
  kiln_image_view_zoom_to_fit (self->xz_view);
  kiln_image_view_zoom_to_fit (self->yz_view);
}

static void
on_truth_toggled (KilnReconstructPanel *self)
{
  show_volume (self);
}

static void
update_plots (KilnReconstructPanel *self)
{
  kiln_plot_clear (self->residual_plot);
  kiln_plot_clear (self->tv_plot);
  kiln_plot_set_labels (self->residual_plot, _("Residual"), _("Iteration"), _("‖b − Ax‖ / ‖b‖"));
  kiln_plot_set_labels (self->tv_plot, _("Total variation"), _("Iteration"), _("TV (a.u.·nm²)"));
  if (self->iter_x->len == 0)
    return;
  kiln_plot_add_series (self->residual_plot, _("residual"), KILN_PLOT_LINE, 1,
                        (double *) self->iter_x->data, (double *) self->residual->data, NULL,
                        self->iter_x->len);
  kiln_plot_add_series (self->tv_plot, _("TV"), KILN_PLOT_LINE, 2, (double *) self->iter_x->data,
                        (double *) self->tv->data, NULL, self->iter_x->len);
}

/* ---- the run --------------------------------------------------------------------------- */

typedef struct
{
  KilnReconstructPanel *self;     /* strong */
  guint                 run;
  guint                 iteration;
  double                residual;
  double                tv;
  float                *preview;
  guint                 nx, nz;
  double                voxel_nm;
} IterationMsg;

static gboolean
iteration_idle (gpointer data)
{
  IterationMsg *m = data;
  KilnReconstructPanel *self = m->self;
  double x = m->iteration;

  if (m->run == self->run)
    {
      g_array_append_val (self->iter_x, x);
      g_array_append_val (self->residual, m->residual);
      g_array_append_val (self->tv, m->tv);
      update_plots (self);
      if (m->preview != NULL)
        {
          kiln_image_view_set_image (self->preview_view, m->preview, m->nx, m->nz, m->voxel_nm);
          kiln_image_view_auto_levels (self->preview_view);
          if (!self->preview_fitted)
            kiln_image_view_zoom_to_fit (self->preview_view);
          self->preview_fitted = TRUE;
        }
    }
  g_free (m->preview);
  g_object_unref (m->self);
  g_free (m);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  KilnReconstructPanel *self;     /* for the iteration callback; the task holds a ref */
  guint                 run;
  KilnImageStack       *stack;
  KilnReconParams       params;
  guint                 index;
  KilnReconResult       result;
  KilnProgressFunc      progress;
  gpointer              progress_data;
  double                progress_base;   /* all time points: this one's share of the bar */
  double                progress_span;
} RunData;

static void
run_data_free (RunData *d)
{
  kiln_image_stack_unref (d->stack);
  g_free (d);
}

/* Worker thread: hand the iteration to the main loop. */
static void
on_iteration (const KilnReconIteration *it,
              gpointer                  user_data)
{
  RunData *d = user_data;
  IterationMsg *m = g_new0 (IterationMsg, 1);

  m->self = g_object_ref (d->self);
  m->run = d->run;
  m->iteration = it->iteration;
  m->residual = it->residual;
  m->tv = it->tv;
  if (it->preview != NULL)
    {
      m->preview = g_memdup2 (it->preview, sizeof (float) * it->preview_nx * it->preview_nz);
      m->nx = it->preview_nx;
      m->nz = it->preview_nz;
      m->voxel_nm = d->stack->pixel_size_nm;
    }
  /* the same priority as the task's completion, so every iteration is shown before it */
  g_idle_add_full (G_PRIORITY_DEFAULT, iteration_idle, m, NULL);
  if (d->progress != NULL && it->n_iterations > 0)
    d->progress (d->progress_base + d->progress_span * it->iteration / it->n_iterations, NULL,
                 d->progress_data);
}

/* Worker thread: WBP's own progress as part of the overall one. */
static void
run_progress (double      fraction,
              const char *message,
              gpointer    data)
{
  RunData *d = data;

  if (d->progress != NULL)
    d->progress (d->progress_base + d->progress_span * fraction, NULL, d->progress_data);
}

static void
run_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *d = task_data;
  GError *error = NULL;
  KilnVolume *v = kiln_reconstruct (d->stack, &d->params, &d->result, cancellable,
                                    d->params.method == KILN_RECON_WBP ? run_progress : NULL,
                                    d, &error);

  if (v == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, v, (GDestroyNotify) kiln_volume_unref);
}

static void all_step (KilnReconstructPanel *self);

static void
finish_run (KilnReconstructPanel *self,
            const GError         *error)
{
  self->busy = FALSE;
  self->all_next = 0;
  g_clear_object (&self->cancellable);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  update_sensitivity (self);
  show_volume (self);
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnReconstructPanel) self = user_data;
  RunData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolume) volume = g_task_propagate_pointer (G_TASK (result), &error);

  if (volume == NULL || self->document == NULL)
    {
      finish_run (self, error);
      return;
    }
  self->result = d->result;
  kiln_document_set_reconstruction (self->document, d->index, volume);
  {
    g_autofree char *info = g_strdup_printf (d->result.stopped
                                             ? _("Stopped after %u iterations: kept (residual %.4f, %.1f s)")
                                             : _("%u iterations · residual %.4f · %.1f s"),
                                             d->result.iterations_done, d->result.residual,
                                             d->result.seconds);
    gtk_label_set_label (self->info_label, info);
  }
  /* all time points: a stop (cancel) keeps this volume and ends the series */
  if (self->all_next > 0 && !d->result.stopped)
    all_step (self);
  else
    finish_run (self, NULL);
}

static void
start_run (KilnReconstructPanel *self,
           guint                 index,
           KilnImageStack       *stack)
{
  g_autoptr(GTask) task = NULL;
  guint n = kiln_document_get_n_time_points (self->document);
  KilnReconstructPanelParams p;
  RunData *d;

  kiln_reconstruct_panel_get_params (self, &p);
  d = g_new0 (RunData, 1);
  d->self = self;
  d->run = ++self->run;
  d->stack = kiln_image_stack_ref (stack);
  d->index = index;
  kiln_reconstruct_params_init (&d->params);
  d->params.method = p.method;
  d->params.iterations = p.iterations;
  d->params.data_passes = p.data_passes;
  d->params.tv_steps = p.tv_steps;
  d->params.sensitivity = p.sensitivity;
  d->params.thickness = p.thickness;
  d->params.keep_on_cancel = TRUE;
  d->params.iteration_func = on_iteration;
  d->params.iteration_data = d;
  d->params.preview_interval_s = 0.25;
  /* the time point's own axis, else the shown time point's */
  if (!kiln_document_get_axis (self->document, index, &d->params.axis_angle_deg,
                               &d->params.axis_shift_px) &&
      !kiln_document_get_axis (self->document, self->time_point, &d->params.axis_angle_deg,
                               &d->params.axis_shift_px))
    d->params.axis_angle_deg = d->params.axis_shift_px = 0;
  d->progress = self->progress;
  d->progress_data = self->progress_data;
  d->progress_base = self->all_next > 0 ? (double) index / n : 0;
  d->progress_span = self->all_next > 0 ? 1.0 / n : 1;
  g_array_set_size (self->iter_x, 0);
  g_array_set_size (self->residual, 0);
  g_array_set_size (self->tv, 0);
  self->preview_fitted = FALSE;
  update_plots (self);
  task = g_task_new (NULL, self->cancellable, on_run_done, g_object_ref (self));
  /* stop-and-keep: a cancelled run still returns its volume */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

static void
on_all_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(KilnReconstructPanel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = kiln_document_load_time_point_finish (KILN_DOCUMENT (source),
                                                                         result, &error);
  KilnImageStack *input;

  if (stack == NULL || self->document == NULL)
    {
      finish_run (self, error);
      return;
    }
  input = kiln_document_get_input_stack (self->document, self->all_next - 1, KILN_DOC_STEP_RECONSTRUCT);
  start_run (self, self->all_next - 1, input != NULL ? input : stack);
}

static void
all_step (KilnReconstructPanel *self)
{
  guint n = self->document ? kiln_document_get_n_time_points (self->document) : 0;
  guint i = self->all_next;

  if (i >= n || g_cancellable_is_cancelled (self->cancellable))
    {
      finish_run (self, NULL);
      return;
    }
  self->all_next = i + 1;
  if (self->progress != NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Reconstructing time point %u of %u"), i + 1, n);
      self->progress ((double) i / n, what, self->progress_data);
    }
  kiln_document_load_time_point_async (self->document, i, self->cancellable, on_all_loaded,
                                       g_object_ref (self));
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  KilnReconstructPanel *self = KILN_RECONSTRUCT_PANEL (widget);
  KilnImageStack *stack = input_stack (self);
  gboolean all = g_str_equal (action_name, "reconstruct.run-all");

  if (self->busy || self->document == NULL || (stack == NULL && !all))
    return;
  self->cancellable = kiln_window_begin_task_for (widget, all ? _("Reconstructing all time points…")
                                                              : _("Reconstructing…"),
                                                  &self->progress, &self->progress_data);
  self->busy = TRUE;
  update_sensitivity (self);
  gtk_label_set_label (self->info_label, "");
  self->all_next = 0;
  if (all)
    all_step (self);
  else
    start_run (self, self->time_point, stack);
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  KilnReconstructPanel *self = KILN_RECONSTRUCT_PANEL (widget);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

/* ---- GObject ----------------------------------------------------------------------------- */

static void
on_results_changed (KilnDocument         *document,
                    guint                 index,
                    KilnReconstructPanel *self)
{
  if (index == self->time_point && !self->busy)
    {
      KilnVolume *v = kiln_document_get_reconstruction (document, index);

      update_sensitivity (self);
      if (v != self->shown)
        show_volume (self);
    }
}

static void
kiln_reconstruct_panel_dispose (GObject *object)
{
  KilnReconstructPanel *self = KILN_RECONSTRUCT_PANEL (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_pointer (&self->truth, kiln_volume_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_RECONSTRUCT_PANEL);
  G_OBJECT_CLASS (kiln_reconstruct_panel_parent_class)->dispose (object);
}

static void
kiln_reconstruct_panel_finalize (GObject *object)
{
  KilnReconstructPanel *self = KILN_RECONSTRUCT_PANEL (object);

  g_array_unref (self->iter_x);
  g_array_unref (self->residual);
  g_array_unref (self->tv);
  G_OBJECT_CLASS (kiln_reconstruct_panel_parent_class)->finalize (object);
}

static void
kiln_reconstruct_panel_class_init (KilnReconstructPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_reconstruct_panel_dispose;
  object_class->finalize = kiln_reconstruct_panel_finalize;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  g_type_ensure (KILN_TYPE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-reconstruct-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, method_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, iterations_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, a_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, b_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, sensitivity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, thickness_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, preview_view);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, xy_view);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, xz_view);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, yz_view);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, residual_plot);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, tv_plot);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, run_button);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, run_all_button);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, truth_check);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, truth_label);
  gtk_widget_class_bind_template_callback (widget_class, on_truth_toggled);
  gtk_widget_class_bind_template_child (widget_class, KilnReconstructPanel, stop_button);
  gtk_widget_class_bind_template_callback (widget_class, on_params_changed);
  gtk_widget_class_install_action (widget_class, "reconstruct.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "reconstruct.run-all", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "reconstruct.stop", NULL, stop_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "reconstruct.run", NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_reconstruct_panel_init (KilnReconstructPanel *self)
{
  self->iter_x = g_array_new (FALSE, FALSE, sizeof (double));
  self->residual = g_array_new (FALSE, FALSE, sizeof (double));
  self->tv = g_array_new (FALSE, FALSE, sizeof (double));
  gtk_widget_init_template (GTK_WIDGET (self));
  self->truth_rmse = self->truth_dice = NAN;
  update_plots (self);
}

GtkWidget *
kiln_reconstruct_panel_new (void)
{
  return g_object_new (KILN_TYPE_RECONSTRUCT_PANEL, NULL);
}

static void
load_params (KilnReconstructPanel *self)
{
  JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_RECONSTRUCT);
  KilnReconstructPanelParams p = { KILN_RECON_SIRT, 50, 1, 1, 1.0, 64 };

  if (o != NULL)
    {
      kiln_recon_method_from_string (json_object_get_string_member_with_default (o, "method", "sirt"), &p.method);
      p.iterations = json_object_get_int_member_with_default (o, "iterations", p.iterations);
      p.data_passes = json_object_get_int_member_with_default (o, "data_passes", p.data_passes);
      p.tv_steps = json_object_get_int_member_with_default (o, "tv_steps", p.tv_steps);
      p.sensitivity = json_object_get_double_member_with_default (o, "sensitivity", p.sensitivity);
      p.thickness = json_object_get_int_member_with_default (o, "thickness_px", p.thickness);
    }
  self->loading = TRUE;
  kiln_reconstruct_panel_set_params (self, &p);
  self->loading = FALSE;
}

static void
on_step_params_changed (KilnDocument         *document,
                        guint                 step,
                        KilnReconstructPanel *self)
{
  if (step == KILN_DOC_STEP_RECONSTRUCT)
    load_params (self);
}

void
kiln_reconstruct_panel_set_document (KilnReconstructPanel *self,
                                     KilnDocument         *document)
{
  g_return_if_fail (KILN_IS_RECONSTRUCT_PANEL (self));
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  self->time_point = 0;
  if (document != NULL)
    {
      g_signal_connect (document, "results-changed", G_CALLBACK (on_results_changed), self);
      g_signal_connect (document, "params-changed", G_CALLBACK (on_step_params_changed), self);
      load_params (self);
    }
  update_sensitivity (self);
  show_volume (self);
}

void
kiln_reconstruct_panel_set_time_point (KilnReconstructPanel *self,
                                       guint                 index)
{
  g_return_if_fail (KILN_IS_RECONSTRUCT_PANEL (self));
  self->time_point = index;
  update_sensitivity (self);
  show_volume (self);
}

void
kiln_reconstruct_panel_set_params (KilnReconstructPanel             *self,
                                   const KilnReconstructPanelParams *p)
{
  g_return_if_fail (KILN_IS_RECONSTRUCT_PANEL (self));
  gtk_drop_down_set_selected (self->method_dropdown, p->method);
  gtk_adjustment_set_value (self->iterations_adjustment, p->iterations);
  gtk_adjustment_set_value (self->a_adjustment, p->data_passes);
  gtk_adjustment_set_value (self->b_adjustment, p->tv_steps);
  gtk_adjustment_set_value (self->sensitivity_adjustment, p->sensitivity);
  gtk_adjustment_set_value (self->thickness_adjustment, p->thickness);
}

void
kiln_reconstruct_panel_get_params (KilnReconstructPanel       *self,
                                   KilnReconstructPanelParams *p)
{
  guint m = gtk_drop_down_get_selected (self->method_dropdown);

  p->method = m <= KILN_RECON_ISER ? (KilnReconMethod) m : KILN_RECON_SIRT;
  p->iterations = (guint) lround (gtk_adjustment_get_value (self->iterations_adjustment));
  p->data_passes = (guint) lround (gtk_adjustment_get_value (self->a_adjustment));
  p->tv_steps = (guint) lround (gtk_adjustment_get_value (self->b_adjustment));
  p->sensitivity = gtk_adjustment_get_value (self->sensitivity_adjustment);
  p->thickness = (guint) lround (gtk_adjustment_get_value (self->thickness_adjustment));
}

guint
kiln_reconstruct_panel_get_n_reported (KilnReconstructPanel *self)
{
  g_return_val_if_fail (KILN_IS_RECONSTRUCT_PANEL (self), 0);
  return self->iter_x->len;
}

const KilnReconResult *
kiln_reconstruct_panel_get_result (KilnReconstructPanel *self)
{
  g_return_val_if_fail (KILN_IS_RECONSTRUCT_PANEL (self), NULL);
  return &self->result;
}

gboolean
kiln_reconstruct_panel_is_idle (KilnReconstructPanel *self)
{
  g_return_val_if_fail (KILN_IS_RECONSTRUCT_PANEL (self), TRUE);
  return !self->busy;
}

void
kiln_reconstruct_panel_set_show_truth (KilnReconstructPanel *self,
                                       gboolean              show)
{
  g_return_if_fail (KILN_IS_RECONSTRUCT_PANEL (self));
  gtk_check_button_set_active (self->truth_check, show);
}

gboolean
kiln_reconstruct_panel_get_truth_error (KilnReconstructPanel *self,
                                        double               *rmse,
                                        double               *dice)
{
  g_return_val_if_fail (KILN_IS_RECONSTRUCT_PANEL (self), FALSE);
  if (rmse != NULL)
    *rmse = self->truth_rmse;
  if (dice != NULL)
    *dice = self->truth_dice;
  return !isnan (self->truth_rmse);
}
