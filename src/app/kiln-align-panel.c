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
  /* "all time points": all_next counts 1-based the next time point to do; 0 = single run */
  guint            all_next;
  KilnAlignResult *all_prev;      /* the previous time point's result: the next one's start */
  KilnProgressFunc progress;
  gpointer         progress_data;
  /* drag-to-fix: automatic shifts of the tilts fixed by hand, key (tp << 16 | tilt) + 1 */
  GHashTable      *autos;
  gboolean         fixing;

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
  GtkButton       *run_all_button;
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
  {
    /* the hand fixes (drag-to-fix) stay */
    JsonObject *old = kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN);
    if (old != NULL && json_object_has_member (old, "fixes"))
      json_object_set_array_member (o, "fixes", json_array_ref (json_object_get_array_member (old, "fixes")));
  }
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
        double err = aligned->has_angles ? kiln_align_rms_error_unobservable_removed (xf, truth, aligned->angles_deg,
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
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_all_button), self->document != NULL && !self->busy);
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
  /* drag-to-fix on aligned tilts only; otherwise a drag pans */
  kiln_image_view_set_drag_moves_image (self->view, aligned != NULL && !self->busy);
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
  KilnAlignResult *start;         /* nullable: the previous time point's result */
  KilnProgressFunc progress;
  gpointer         progress_data;
  double           progress_base; /* all time points: this one's share of the overall bar */
  double           progress_span;
  KilnAlignResult *result;
} RunData;

static void
run_data_free (RunData *d)
{
  kiln_image_stack_unref (d->stack);
  if (d->result != NULL)
    kiln_align_result_free (d->result);
  if (d->start != NULL)
    kiln_align_result_free (d->start);
  g_free (d);
}

/* Worker thread: the time point's progress as part of the overall one. */
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
  KilnImageStack *aligned;

  d->result = kiln_align_series (d->stack, &d->params, d->start, cancellable, run_progress, d,
                                 &error);
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

static void all_step (KilnAlignPanel *self);
static void drop_fixes (KilnAlignPanel *self, guint index);

static void
finish_run (KilnAlignPanel *self,
            const GError   *error)
{
  self->busy = FALSE;
  self->all_next = 0;
  g_clear_pointer (&self->all_prev, kiln_align_result_free);
  g_clear_object (&self->cancellable);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  update_image (self, TRUE);
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

  if (aligned == NULL || self->document == NULL)
    {
      finish_run (self, error);
      return;
    }
  /* a new automatic alignment replaces the hand fixes of this time point */
  drop_fixes (self, d->index);
  kiln_document_set_aligned (self->document, d->index, d->result->xf, aligned);
  if (d->index == self->time_point)
    {
      g_clear_pointer (&self->result, kiln_align_result_free);
      self->result = kiln_align_result_new_from_xf (d->result->xf, d->result->n_tilts);
    }
  if (self->all_next > 0)
    {
      g_clear_pointer (&self->all_prev, kiln_align_result_free);
      self->all_prev = g_steal_pointer (&d->result);
      all_step (self);
    }
  else
    finish_run (self, NULL);
}

static void
start_run (KilnAlignPanel *self,
           guint           index,
           KilnImageStack *input)
{
  g_autoptr(GTask) task = NULL;
  guint n = kiln_document_get_n_time_points (self->document);
  RunData *d;
  double angle;

  d = g_new0 (RunData, 1);
  d->stack = kiln_image_stack_ref (input);
  d->index = index;
  kiln_align_params_init (&d->params);
  kiln_align_panel_get_params (self, &d->params.method, &angle);
  d->params.xcorr.axis_angle_deg = angle;
  /* the previous time point's result as the start (MI: skips the coarse stage; XCORR: centres
   * the peak search when xcorr.max_shift_px > 0), when it has as many tilts */
  if (self->all_prev != NULL && self->all_prev->n_tilts == input->n_tilts)
    d->start = kiln_align_result_new_from_xf (self->all_prev->xf, self->all_prev->n_tilts);
  d->progress = self->progress;
  d->progress_data = self->progress_data;
  d->progress_base = self->all_next > 0 ? (double) index / n : 0;
  d->progress_span = self->all_next > 0 ? 1.0 / n : 1;
  task = g_task_new (NULL, self->cancellable, on_run_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

static void
on_all_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(KilnAlignPanel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = kiln_document_load_time_point_finish (KILN_DOCUMENT (source),
                                                                         result, &error);
  KilnImageStack *input;

  if (stack == NULL || self->document == NULL)
    {
      finish_run (self, error);
      return;
    }
  input = kiln_document_get_input_stack (self->document, self->all_next - 1, KILN_DOC_STEP_ALIGN);
  start_run (self, self->all_next - 1, input != NULL ? input : stack);
}

static void
all_step (KilnAlignPanel *self)
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
      g_autofree char *what = g_strdup_printf (_("Aligning time point %u of %u"), i + 1, n);
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
  KilnAlignPanel *self = KILN_ALIGN_PANEL (widget);
  KilnImageStack *input;

  if (self->busy || self->document == NULL)
    return;
  if (g_str_equal (action_name, "align.run-all"))
    {
      self->cancellable = kiln_window_begin_task_for (widget, _("Aligning all time points…"),
                                                      &self->progress, &self->progress_data);
      self->busy = TRUE;
      update_image (self, FALSE);
      self->all_next = 0;
      all_step (self);
      return;
    }
  input = kiln_document_get_input_stack (self->document, self->time_point, KILN_DOC_STEP_ALIGN);
  if (input == NULL)
    return;
  self->cancellable = kiln_window_begin_task_for (widget, _("Aligning the tilts…"),
                                                  &self->progress, &self->progress_data);
  self->busy = TRUE;
  self->all_next = 0;
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_all_button), FALSE);
  start_run (self, self->time_point, input);
}

/* ---- drag to fix one tilt -------------------------------------------------------------------
 *
 * A fix is a step parameter, so that undo/redo restore it: "fixes" of the align step is an array
 * of { time_point, tilt, dx_px, dy_px, auto_dx_px, auto_dy_px } (the tilt's shift set by hand and
 * the automatic one it replaced). apply_fixes() makes the document's alignment agree with it. */

static guint
fix_key (guint tp,
         guint tilt)
{
  return ((tp << 16) | tilt) + 1;
}

/* Re-warp tilt @k of @aligned from the step's input through @xf. */
static void
rewarp_tilt (KilnAlignPanel *self,
             guint           index,
             KilnImageStack *aligned,
             guint           k,
             const KilnXf   *xf)
{
  KilnImageStack *input = kiln_document_get_input_stack (self->document, index, KILN_DOC_STEP_ALIGN);
  const float *src;
  double mean = 0;
  gsize n;

  if (input == NULL || input == aligned || input->width != aligned->width ||
      input->height != aligned->height || k >= input->n_tilts)
    return;
  src = kiln_image_stack_tilt_const (input, k);
  n = (gsize) input->width * input->height;
  for (gsize i = 0; i < n; i++)
    mean += src[i];
  mean /= n;
  kiln_transform_image (src, input->width, input->height, xf, KILN_INTERP_LINEAR, (float) mean,
                        kiln_image_stack_tilt (aligned, k), NULL);
}

/* Make the document's alignment of the loaded time points agree with the "fixes" parameter. */
static void
apply_fixes (KilnAlignPanel *self)
{
  JsonObject *o = self->document ? kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN) : NULL;
  JsonArray *fixes = o != NULL && json_object_has_member (o, "fixes") ? json_object_get_array_member (o, "fixes") : NULL;
  guint n_tp = self->document ? kiln_document_get_n_time_points (self->document) : 0;
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  GHashTableIter iter;
  gpointer key, value;

  if (self->document == NULL)
    return;
  for (guint i = 0; fixes != NULL && i < json_array_get_length (fixes); i++)
    {
      JsonObject *f = json_array_get_object_element (fixes, i);
      guint tp, tilt;
      double *w, *a;

      if (f == NULL)
        continue;
      tp = json_object_get_int_member_with_default (f, "time_point", 0);
      tilt = json_object_get_int_member_with_default (f, "tilt", 0);
      w = g_new (double, 2);
      w[0] = json_object_get_double_member_with_default (f, "dx_px", 0);
      w[1] = json_object_get_double_member_with_default (f, "dy_px", 0);
      g_hash_table_replace (wanted, GUINT_TO_POINTER (fix_key (tp, tilt)), w);
      if (!g_hash_table_contains (self->autos, GUINT_TO_POINTER (fix_key (tp, tilt))))
        {
          a = g_new (double, 2);
          a[0] = json_object_get_double_member_with_default (f, "auto_dx_px", w[0]);
          a[1] = json_object_get_double_member_with_default (f, "auto_dy_px", w[1]);
          g_hash_table_insert (self->autos, GUINT_TO_POINTER (fix_key (tp, tilt)), a);
        }
    }
  /* a tilt no longer fixed goes back to its automatic shift */
  g_hash_table_iter_init (&iter, self->autos);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (wanted, key))
      g_hash_table_insert (wanted, key, g_memdup2 (value, 2 * sizeof (double)));

  for (guint tp = 0; tp < n_tp; tp++)
    {
      guint n_xf = 0;
      const KilnXf *xf = kiln_document_get_alignment (self->document, tp, &n_xf);
      KilnImageStack *aligned = kiln_document_get_aligned (self->document, tp);
      g_autofree KilnXf *new_xf = NULL;
      g_autoptr(KilnImageStack) new_aligned = NULL;

      if (xf == NULL || aligned == NULL)
        continue;
      for (guint k = 0; k < n_xf; k++)
        {
          double *w = g_hash_table_lookup (wanted, GUINT_TO_POINTER (fix_key (tp, k)));

          if (w == NULL || (fabs (xf[k].dx - w[0]) < 1e-9 && fabs (xf[k].dy - w[1]) < 1e-9))
            continue;
          if (new_xf == NULL)
            {
              new_xf = g_memdup2 (xf, sizeof (KilnXf) * n_xf);
              new_aligned = kiln_image_stack_copy (aligned, NULL);
              if (new_aligned == NULL)
                return;
            }
          new_xf[k].dx = w[0];
          new_xf[k].dy = w[1];
          rewarp_tilt (self, tp, new_aligned, k, &new_xf[k]);
        }
      if (new_xf != NULL)
        {
          self->fixing = TRUE;
          kiln_document_set_aligned (self->document, tp, new_xf, new_aligned);
          self->fixing = FALSE;
          if (tp == self->time_point)
            {
              update_image (self, FALSE);
              update_plot (self);
            }
        }
    }
}

/* Store the align parameters with @fixes (taken). */
static void
put_fixes (KilnAlignPanel *self,
           JsonArray      *fixes)
{
  JsonObject *old = kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN);
  g_autoptr(JsonObject) o = json_object_new ();
  KilnAlignMethod method;
  double angle;

  if (old != NULL)
    {
      /* keep every other key */
      GList *members = json_object_get_members (old);
      for (GList *l = members; l != NULL; l = l->next)
        if (!g_str_equal (l->data, "fixes"))
          json_object_set_member (o, l->data, json_node_copy (json_object_get_member (old, l->data)));
      g_list_free (members);
    }
  else
    {
      kiln_align_panel_get_params (self, &method, &angle);
      json_object_set_string_member (o, "method", kiln_align_method_to_string (method));
      json_object_set_double_member (o, "axis_angle_deg", angle);
    }
  if (json_array_get_length (fixes) > 0)
    json_object_set_array_member (o, "fixes", fixes);
  else
    json_array_unref (fixes);
  /* a fix is an undo step of its own, even right after another align change */
  kiln_document_set_step_params_discrete (self->document, KILN_DOC_STEP_ALIGN, o);
}

/* A new automatic alignment of @index: its hand fixes are dropped. */
static void
drop_fixes (KilnAlignPanel *self,
            guint           index)
{
  JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN);
  JsonArray *fixes = o != NULL && json_object_has_member (o, "fixes") ? json_object_get_array_member (o, "fixes") : NULL;
  JsonArray *kept = json_array_new ();
  gboolean dropped = FALSE;
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; fixes != NULL && i < json_array_get_length (fixes); i++)
    {
      JsonObject *f = json_array_get_object_element (fixes, i);
      if (f != NULL && (guint) json_object_get_int_member_with_default (f, "time_point", 0) == index)
        dropped = TRUE;
      else if (f != NULL)
        json_array_add_object_element (kept, json_object_ref (f));
    }
  g_hash_table_iter_init (&iter, self->autos);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (((GPOINTER_TO_UINT (key) - 1) >> 16) == index)
      g_hash_table_iter_remove (&iter);
  if (dropped)
    put_fixes (self, kept);
  else
    json_array_unref (kept);
}

static void
on_image_dragged (KilnImageView  *view,
                  double          dx,
                  double          dy,
                  KilnAlignPanel *self)
{
  guint n_xf = 0;
  const KilnXf *xf = self->document ? kiln_document_get_alignment (self->document, self->time_point, &n_xf) : NULL;
  JsonObject *o;
  JsonArray *fixes, *old;
  JsonObject *f;
  double *a;

  if (xf == NULL || self->tilt >= n_xf || self->busy)
    return;
  a = g_hash_table_lookup (self->autos, GUINT_TO_POINTER (fix_key (self->time_point, self->tilt)));
  o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_ALIGN);
  old = o != NULL && json_object_has_member (o, "fixes") ? json_object_get_array_member (o, "fixes") : NULL;
  fixes = json_array_new ();
  for (guint i = 0; old != NULL && i < json_array_get_length (old); i++)
    {
      JsonObject *e = json_array_get_object_element (old, i);
      if (e != NULL && !((guint) json_object_get_int_member_with_default (e, "time_point", 0) == self->time_point &&
                         (guint) json_object_get_int_member_with_default (e, "tilt", 0) == self->tilt))
        json_array_add_object_element (fixes, json_object_ref (e));
    }
  /* moving the content by (dx, dy) adds (dx, dy) to the transform's shift (IMOD .xf) */
  f = json_object_new ();
  json_object_set_int_member (f, "time_point", self->time_point);
  json_object_set_int_member (f, "tilt", self->tilt);
  json_object_set_double_member (f, "dx_px", xf[self->tilt].dx + dx);
  json_object_set_double_member (f, "dy_px", xf[self->tilt].dy + dy);
  json_object_set_double_member (f, "auto_dx_px", a != NULL ? a[0] : xf[self->tilt].dx);
  json_object_set_double_member (f, "auto_dy_px", a != NULL ? a[1] : xf[self->tilt].dy);
  json_array_add_object_element (fixes, f);
  put_fixes (self, fixes);
  apply_fixes (self);
}

static void
on_results_changed (KilnDocument   *document,
                    guint           index,
                    KilnAlignPanel *self)
{
  if (index != self->time_point || self->busy)
    return;
  if (self->fixing)
    return;   /* apply_fixes() updates the view itself, keeping the tilt */
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
  g_clear_pointer (&self->all_prev, kiln_align_result_free);
  g_clear_pointer (&self->autos, g_hash_table_unref);
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
  gtk_widget_class_bind_template_child (widget_class, KilnAlignPanel, run_all_button);
  gtk_widget_class_bind_template_callback (widget_class, on_image_dragged);
  gtk_widget_class_bind_template_callback (widget_class, on_tilt_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_params_changed);
  gtk_widget_class_install_action (widget_class, "align.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "align.run-all", NULL, run_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "align.run", NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_align_panel_init (KilnAlignPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->truth_error = NAN;
  self->autos = g_hash_table_new_full (NULL, NULL, NULL, g_free);
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
    {
      load_params (self);
      apply_fixes (self);   /* undo/redo of a hand fix */
    }
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
  g_hash_table_remove_all (self->autos);
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

const KilnXf *
kiln_align_panel_get_shown_tilt (KilnAlignPanel *self,
                                 guint          *tilt)
{
  guint n_xf = 0;
  const KilnXf *xf;

  g_return_val_if_fail (KILN_IS_ALIGN_PANEL (self), NULL);
  if (tilt != NULL)
    *tilt = self->tilt;
  xf = self->document ? kiln_document_get_alignment (self->document, self->time_point, &n_xf) : NULL;
  return xf != NULL && self->tilt < n_xf ? &xf[self->tilt] : NULL;
}

void
kiln_align_panel_set_tilt (KilnAlignPanel *self,
                           guint           tilt)
{
  g_return_if_fail (KILN_IS_ALIGN_PANEL (self));
  gtk_adjustment_set_value (self->tilt_adjustment, tilt);
}
