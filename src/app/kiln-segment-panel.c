/* kiln-segment-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-image-view.h"
#include "kiln-plot.h"
#include "kiln-preview-runner.h"
#include "kiln-segment-panel.h"
#include "kiln-window.h"

#define SEGMENT_DELAY_MS 100
#define HIST_BINS 64

struct _KilnSegmentPanel
{
  GtkWidget        parent_instance;

  KilnDocument    *document;
  guint            time_point;
  guint            slice;
  gboolean         updating;

  KilnPreviewRunner *runner;
  gboolean         loading;
  double           threshold_used;
  guint32          n_labels;
  KilnVolume      *shown_volume;   /* compared only */
  /* "all time points" */
  gboolean         busy;
  guint            all_next;        /* 1-based next time point; 0 = none */
  guint            all_done;
  GCancellable    *all_cancellable;
  KilnProgressFunc progress;
  gpointer         progress_data;
  /* teaching */
  KilnLabelVolume *truth_labels;
  guint            truth_tp;
  double           truth_dice;
  int              truth_count_error;

  /* template children */
  GtkWidget       *box;
  GtkCheckButton  *otsu_check;
  GtkSpinButton   *threshold_spin;
  GtkAdjustment   *threshold_adjustment;
  GtkAdjustment   *erode_adjustment;
  GtkAdjustment   *dilate_adjustment;
  GtkCheckButton  *split_check;
  KilnImageView   *view;
  GtkAdjustment   *slice_adjustment;
  GtkLabel        *slice_label;
  KilnPlot        *plot;
  GtkLabel        *table_label;
  GtkLabel        *info_label;
  GtkCheckButton  *truth_check;
  GtkLabel        *truth_label;
  GtkButton       *run_all_button;
};

G_DEFINE_FINAL_TYPE (KilnSegmentPanel, kiln_segment_panel, GTK_TYPE_WIDGET)

static KilnVolume *
volume (KilnSegmentPanel *self)
{
  return self->document ? kiln_document_get_reconstruction (self->document, self->time_point) : NULL;
}

/* The simulator's true labels of the current time point (cached), or NULL. */
static KilnLabelVolume *
truth_labels (KilnSegmentPanel *self)
{
  g_autofree char *path = NULL;

  if (self->truth_labels != NULL && self->truth_tp == self->time_point)
    return self->truth_labels;
  g_clear_pointer (&self->truth_labels, kiln_label_volume_unref);
  path = self->document ? kiln_document_dup_truth_path (self->document, self->time_point, "labels.mrc") : NULL;
  if (path == NULL)
    return NULL;
  self->truth_labels = kiln_mrc_load_labels (path, NULL, NULL);
  self->truth_tp = self->time_point;
  return self->truth_labels;
}

static gboolean
showing_truth (KilnSegmentPanel *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->truth_check)) &&
         gtk_check_button_get_active (self->truth_check);
}

/* Teaching: Dice overlap of Kiln's particle voxels with the true ones and the particle count
 * error, shown under the controls. */
static void
update_truth (KilnSegmentPanel *self)
{
  KilnLabelVolume *l = self->document ? kiln_document_get_labels (self->document, self->time_point) : NULL;
  KilnLabelVolume *t;
  g_autofree char *text = NULL;
  guint64 both = 0, nl = 0, nt = 0;
  guint32 n_true;

  self->truth_dice = NAN;
  self->truth_count_error = 0;
  gtk_widget_set_visible (GTK_WIDGET (self->truth_label), showing_truth (self));
  if (!showing_truth (self))
    return;
  t = truth_labels (self);
  if (t == NULL || l == NULL)
    {
      gtk_label_set_label (self->truth_label, t == NULL ? _("No true labels for this time point")
                                                        : _("Segment the time point to compare it with the truth"));
      return;
    }
  if (t->nx != l->nx || t->ny != l->ny || t->nz != l->nz)
    {
      text = g_strdup_printf (_("The true labels are %u × %u × %u voxels, the segmentation %u × %u × %u: reconstruct with a thickness of %u px to compare"),
                              t->nx, t->ny, t->nz, l->nx, l->ny, l->nz, t->nz);
      gtk_label_set_label (self->truth_label, text);
      return;
    }
  for (gsize i = 0; i < kiln_label_volume_n_voxels (l); i++)
    {
      gboolean a = l->data[i] != 0, b = t->data[i] != 0;
      both += a && b;
      nl += a;
      nt += b;
    }
  n_true = kiln_label_volume_max_label (t);
  self->truth_dice = nl + nt > 0 ? 2.0 * both / (nl + nt) : 1.0;
  self->truth_count_error = (int) self->n_labels - (int) n_true;
  text = g_strdup_printf (_("Against the simulator's labels (yellow outlines): Dice %.3f · %u particles found, %u true (%+d)"),
                          self->truth_dice, self->n_labels, n_true, self->truth_count_error);
  gtk_label_set_label (self->truth_label, text);
}

static void
show_slice (KilnSegmentPanel *self)
{
  KilnVolume *v = volume (self);
  KilnLabelVolume *l = self->document ? kiln_document_get_labels (self->document, self->time_point) : NULL;
  g_autofree char *text = NULL;

  if (v == NULL)
    {
      kiln_image_view_set_image (self->view, NULL, 0, 0, 0);
      gtk_label_set_label (self->slice_label, "");
      return;
    }
  self->slice = MIN (self->slice, v->nz - 1);
  kiln_image_view_set_image (self->view, v->data + (gsize) self->slice * v->nx * v->ny, v->nx,
                             v->ny, v->voxel_size_nm);
  if (l != NULL && l->nx == v->nx && l->ny == v->ny && l->nz == v->nz)
    kiln_image_view_set_labels (self->view, l->data + (gsize) self->slice * l->nx * l->ny);
  else
    kiln_image_view_set_labels (self->view, NULL);
  {
    KilnLabelVolume *t = showing_truth (self) ? truth_labels (self) : NULL;
    if (t != NULL && t->nx == v->nx && t->ny == v->ny && t->nz == v->nz)
      kiln_image_view_set_outline (self->view, t->data + (gsize) self->slice * t->nx * t->ny);
    else
      kiln_image_view_set_outline (self->view, NULL);
  }
  text = g_strdup_printf (_("Slice z %u of %u"), self->slice + 1, v->nz);
  gtk_label_set_label (self->slice_label, text);
}

static void
show_histogram (KilnSegmentPanel *self)
{
  KilnVolume *v = volume (self);
  double lo = INFINITY, hi = -INFINITY, x[HIST_BINS], y[HIST_BINS];
  gsize n;

  kiln_plot_clear (self->plot);
  kiln_plot_set_labels (self->plot, _("Voxel histogram"), _("Voxel value"), _("Voxels (log₁₀)"));
  if (v == NULL)
    return;
  n = kiln_volume_n_voxels (v);
  for (gsize i = 0; i < n; i++)
    if (isfinite (v->data[i]))
      lo = MIN (lo, v->data[i]), hi = MAX (hi, v->data[i]);
  if (!(hi > lo))
    return;
  memset (y, 0, sizeof y);
  for (gsize i = 0; i < n; i++)
    if (isfinite (v->data[i]))
      y[MIN ((int) ((v->data[i] - lo) / (hi - lo) * HIST_BINS), HIST_BINS - 1)] += 1;
  for (int b = 0; b < HIST_BINS; b++)
    {
      x[b] = lo + (b + 0.5) * (hi - lo) / HIST_BINS;
      y[b] = log10 (1 + y[b]);
    }
  kiln_plot_add_series (self->plot, _("histogram"), KILN_PLOT_LINE, 0, x, y, NULL, HIST_BINS);
  self->updating = TRUE;
  gtk_adjustment_set_lower (self->threshold_adjustment, lo);
  gtk_adjustment_set_upper (self->threshold_adjustment, hi);
  gtk_adjustment_set_step_increment (self->threshold_adjustment, (hi - lo) / 200);
  self->updating = FALSE;
}

static void
show_table (KilnSegmentPanel *self)
{
  KilnLabelVolume *l = self->document ? kiln_document_get_labels (self->document, self->time_point) : NULL;
  g_autoptr(GArray) particles = NULL;
  GString *s;

  if (l == NULL)
    {
      gtk_label_set_label (self->table_label, "");
      return;
    }
  particles = kiln_label_particles (l);
  s = g_string_new (_("label  voxels  volume (nm³)  centre x, y, z (nm)"));
  for (guint i = 0; i < particles->len; i++)
    {
      KilnParticle *p = &g_array_index (particles, KilnParticle, i);
      double vs = l->voxel_size_nm;
      if (p->voxels == 0)
        continue;
      g_string_append_printf (s, "\n%5u  %6" G_GUINT64_FORMAT "  %12.0f  %.1f, %.1f, %.1f", p->label,
                              p->voxels, p->voxels * vs * vs * vs, p->centroid[0] * vs,
                              p->centroid[1] * vs, p->centroid[2] * vs);
    }
  gtk_label_set_label (self->table_label, s->str);
  g_string_free (s, TRUE);
}

/* ---- segmentation worker --------------------------------------------------------------- */

typedef struct
{
  KilnVolume        *volume;
  KilnSegmentParams  params;
  guint              index;
  guint              generation;
  double             threshold;
  guint32            n_labels;
} SegData;

static void
seg_data_free (SegData *d)
{
  kiln_volume_unref (d->volume);
  g_free (d);
}

static void
seg_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  SegData *d = task_data;
  GError *error = NULL;
  KilnLabelVolume *l = kiln_segment (d->volume, &d->params, &d->threshold, &d->n_labels,
                                     cancellable, NULL, NULL, &error);

  if (l == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, l, (GDestroyNotify) kiln_label_volume_unref);
}

static void schedule_segment (KilnSegmentPanel *self);
static void update_volume (KilnSegmentPanel *self, gboolean resegment);

static void
on_seg_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnSegmentPanel) self = user_data;
  SegData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelVolume) l = g_task_propagate_pointer (G_TASK (result), &error);
  gboolean current = kiln_preview_runner_done (self->runner, d->generation);

  if (l == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->info_label, error->message);
    }
  else if (current && d->volume == volume (self) && self->document != NULL)
    {
      g_autofree char *info = NULL;

      self->threshold_used = d->threshold;
      self->n_labels = d->n_labels;
      kiln_document_set_labels (self->document, d->index, l);
      kiln_plot_set_marker (self->plot, d->threshold);
      if (d->params.otsu)
        {
          self->updating = TRUE;
          gtk_adjustment_set_value (self->threshold_adjustment, d->threshold);
          self->updating = FALSE;
        }
      info = g_strdup_printf (d->params.otsu ? _("%u particles · Otsu threshold %.4g")
                                             : _("%u particles · threshold %.4g"),
                              d->n_labels, d->threshold);
      gtk_label_set_label (self->info_label, info);
      show_slice (self);
      show_table (self);
      update_truth (self);
    }
}

/* The runner's start function: segment the volume with the current controls, in a worker. */
static gboolean
start_segment (gpointer      owner,
               GCancellable *cancellable,
               guint         generation)
{
  KilnSegmentPanel *self = owner;
  KilnVolume *v = volume (self);
  g_autoptr(GTask) task = NULL;
  SegData *d;

  if (v == NULL)
    return FALSE;
  d = g_new0 (SegData, 1);
  d->volume = kiln_volume_ref (v);
  d->index = self->time_point;
  d->generation = generation;
  kiln_segment_panel_get_params (self, &d->params);
  task = g_task_new (NULL, cancellable, on_seg_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) seg_data_free);
  g_task_run_in_thread (task, seg_thread);
  return TRUE;
}

static void
schedule_segment (KilnSegmentPanel *self)
{
  if (self->runner != NULL)
    kiln_preview_runner_schedule (self->runner);
}

/* ---- all time points ------------------------------------------------------------------- */

typedef struct
{
  KilnVolume        *volume;
  KilnSegmentParams  params;
  guint              index;
  KilnProgressFunc   progress;
  gpointer           progress_data;
  double             progress_base;
  double             progress_span;
  guint32            n_labels;
} AllData;

static void
all_data_free (AllData *d)
{
  kiln_volume_unref (d->volume);
  g_free (d);
}

static void
all_progress (double      fraction,
              const char *message,
              gpointer    data)
{
  AllData *d = data;

  if (d->progress != NULL)
    d->progress (d->progress_base + d->progress_span * fraction, NULL, d->progress_data);
}

static void
all_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  AllData *d = task_data;
  GError *error = NULL;
  KilnLabelVolume *l = kiln_segment (d->volume, &d->params, NULL, &d->n_labels, cancellable,
                                     all_progress, d, &error);

  if (l == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, l, (GDestroyNotify) kiln_label_volume_unref);
}

static void all_step (KilnSegmentPanel *self);

static void
all_finish (KilnSegmentPanel *self,
            const GError     *error)
{
  guint n = self->document ? kiln_document_get_n_time_points (self->document) : 0;

  self->busy = FALSE;
  self->all_next = 0;
  g_clear_object (&self->all_cancellable);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_all_button), self->document != NULL);
  if (error == NULL)
    {
      g_autofree char *info = g_strdup_printf (_("Segmented %u of %u time points (the others have no reconstruction)"),
                                               self->all_done, n);
      gtk_label_set_label (self->info_label, info);
    }
  update_volume (self, FALSE);
}

static void
on_all_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnSegmentPanel) self = user_data;
  AllData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelVolume) l = g_task_propagate_pointer (G_TASK (result), &error);

  if (l == NULL || self->document == NULL)
    {
      all_finish (self, error);
      return;
    }
  self->all_done++;
  if (d->index == self->time_point)
    self->n_labels = d->n_labels;
  kiln_document_set_labels (self->document, d->index, l);
  all_step (self);
}

static void
all_segment (KilnSegmentPanel *self,
             guint             index,
             KilnVolume       *v)
{
  guint n = kiln_document_get_n_time_points (self->document);
  g_autoptr(GTask) task = g_task_new (NULL, self->all_cancellable, on_all_done, g_object_ref (self));
  AllData *d = g_new0 (AllData, 1);

  d->volume = kiln_volume_ref (v);
  d->index = index;
  kiln_segment_panel_get_params (self, &d->params);
  d->progress = self->progress;
  d->progress_data = self->progress_data;
  d->progress_base = (double) index / n;
  d->progress_span = 1.0 / n;
  g_task_set_task_data (task, d, (GDestroyNotify) all_data_free);
  g_task_run_in_thread (task, all_thread);
}

static void
on_all_volume_loaded (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(KilnSegmentPanel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolumePair) pair = kiln_document_load_volume_finish (KILN_DOCUMENT (source), result, &error);
  KilnVolume *v;

  if (pair == NULL || self->document == NULL)
    {
      all_finish (self, error);
      return;
    }
  v = kiln_document_get_reconstruction (self->document, self->all_next - 1);
  if (v != NULL)
    all_segment (self, self->all_next - 1, v);
  else
    all_step (self);
}

static void
all_step (KilnSegmentPanel *self)
{
  guint n = self->document ? kiln_document_get_n_time_points (self->document) : 0;

  while (self->all_next < n && !g_cancellable_is_cancelled (self->all_cancellable))
    {
      guint i = self->all_next++;
      KilnVolume *v = kiln_document_get_reconstruction (self->document, i);

      if (self->progress != NULL)
        {
          g_autofree char *what = g_strdup_printf (_("Segmenting time point %u of %u"), i + 1, n);
          self->progress ((double) i / n, what, self->progress_data);
        }
      if (v != NULL)
        {
          all_segment (self, i, v);
          return;
        }
      if (kiln_document_has_result (self->document, i, KILN_DOC_STEP_RECONSTRUCT))
        {
          /* saved, not loaded yet */
          kiln_document_load_volume_async (self->document, i, self->all_cancellable,
                                           on_all_volume_loaded, g_object_ref (self));
          return;
        }
    }
  all_finish (self, NULL);
}

static void
run_all_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  KilnSegmentPanel *self = KILN_SEGMENT_PANEL (widget);

  if (self->busy || self->document == NULL)
    return;
  self->busy = TRUE;
  self->all_next = 0;
  self->all_done = 0;
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_all_button), FALSE);
  self->all_cancellable = kiln_window_begin_task_for (widget, _("Segmenting all time points…"),
                                                      &self->progress, &self->progress_data);
  all_step (self);
}

static void
on_truth_toggled (KilnSegmentPanel *self)
{
  show_slice (self);
  update_truth (self);
}

static void
record_params (KilnSegmentPanel *self)
{
  g_autoptr(JsonObject) o = json_object_new ();
  KilnSegmentParams p;

  if (self->document == NULL)
    return;
  kiln_segment_panel_get_params (self, &p);
  json_object_set_boolean_member (o, "otsu", p.otsu);
  if (!p.otsu)
    json_object_set_double_member (o, "threshold", p.threshold);
  json_object_set_int_member (o, "erode_voxels", p.erode);
  json_object_set_int_member (o, "dilate_voxels", p.dilate);
  json_object_set_boolean_member (o, "split", p.split);
  kiln_document_set_step_params (self->document, KILN_DOC_STEP_SEGMENT, o);
}

static void
on_params_changed (KilnSegmentPanel *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->threshold_spin),
                            !gtk_check_button_get_active (self->otsu_check));
  if (self->updating)
    return;
  record_params (self);
  schedule_segment (self);
}

static void
on_slice_changed (GtkAdjustment    *adjustment,
                  KilnSegmentPanel *self)
{
  self->slice = (guint) lround (gtk_adjustment_get_value (adjustment));
  show_slice (self);
}

static void
update_volume (KilnSegmentPanel *self,
               gboolean          resegment)
{
  KilnVolume *v = volume (self);
  g_autofree char *truth_path = self->document ? kiln_document_dup_truth_path (self->document, self->time_point, "labels.mrc") : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->truth_check), truth_path != NULL);
  self->shown_volume = v;
  if (v == NULL)
    {
      gtk_label_set_label (self->info_label, self->document != NULL
                           ? _("Reconstruct this time point first") : "");
      show_slice (self);
      show_histogram (self);
      show_table (self);
      return;
    }
  self->slice = v->nz / 2;
  gtk_adjustment_configure (self->slice_adjustment, self->slice, 0, v->nz - 1, 1, 5, 0);
  show_histogram (self);
  show_slice (self);
  kiln_image_view_auto_levels (self->view);
  kiln_image_view_zoom_to_fit (self->view);
  show_table (self);
  update_truth (self);
  if (resegment || kiln_document_get_labels (self->document, self->time_point) == NULL)
    schedule_segment (self);
}

static void
on_volume_loaded (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(KilnSegmentPanel) self = user_data;
  g_autoptr(KilnVolumePair) pair = kiln_document_load_volume_finish (KILN_DOCUMENT (source), result, NULL);

  self->loading = FALSE;
  if (self->document == KILN_DOCUMENT (source))
    update_volume (self, FALSE);
}

static void
refresh (KilnSegmentPanel *self)
{
  /* a saved reconstruction not loaded yet: load it (with its labels) */
  if (self->document != NULL && volume (self) == NULL && !self->loading &&
      kiln_document_has_result (self->document, self->time_point, KILN_DOC_STEP_RECONSTRUCT))
    {
      self->loading = TRUE;
      kiln_document_load_volume_async (self->document, self->time_point, NULL, on_volume_loaded,
                                       g_object_ref (self));
    }
  update_volume (self, FALSE);
}

static void
on_results_changed (KilnDocument     *document,
                    guint             index,
                    KilnSegmentPanel *self)
{
  /* a new reconstruction: its labels are to be made (not while segmenting all time points) */
  if (index == self->time_point && volume (self) != self->shown_volume && !self->busy)
    update_volume (self, TRUE);
}

static void
kiln_segment_panel_dispose (GObject *object)
{
  KilnSegmentPanel *self = KILN_SEGMENT_PANEL (object);

  g_clear_object (&self->runner);
  if (self->all_cancellable != NULL)
    g_cancellable_cancel (self->all_cancellable);
  g_clear_object (&self->all_cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_pointer (&self->truth_labels, kiln_label_volume_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_SEGMENT_PANEL);
  G_OBJECT_CLASS (kiln_segment_panel_parent_class)->dispose (object);
}

static void
kiln_segment_panel_class_init (KilnSegmentPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_segment_panel_dispose;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  g_type_ensure (KILN_TYPE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-segment-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, otsu_check);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, threshold_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, erode_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, dilate_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, split_check);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, slice_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, slice_label);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, plot);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, table_label);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, truth_check);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, truth_label);
  gtk_widget_class_bind_template_child (widget_class, KilnSegmentPanel, run_all_button);
  gtk_widget_class_bind_template_callback (widget_class, on_truth_toggled);
  gtk_widget_class_install_action (widget_class, "segment.run-all", NULL, run_all_action);
  gtk_widget_class_bind_template_callback (widget_class, on_params_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_slice_changed);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_segment_panel_init (KilnSegmentPanel *self)
{
  self->runner = kiln_preview_runner_new (SEGMENT_DELAY_MS, start_segment, self);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->truth_dice = NAN;
}

GtkWidget *
kiln_segment_panel_new (void)
{
  return g_object_new (KILN_TYPE_SEGMENT_PANEL, NULL);
}

static void
load_params (KilnSegmentPanel *self)
{
  JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_SEGMENT);
  KilnSegmentParams p;

  kiln_segment_params_init (&p);
  p.threshold = gtk_adjustment_get_value (self->threshold_adjustment);
  if (o != NULL)
    {
      p.otsu = json_object_get_boolean_member_with_default (o, "otsu", TRUE);
      p.threshold = json_object_get_double_member_with_default (o, "threshold", p.threshold);
      p.erode = json_object_get_int_member_with_default (o, "erode_voxels", 0);
      p.dilate = json_object_get_int_member_with_default (o, "dilate_voxels", 0);
      p.split = json_object_get_boolean_member_with_default (o, "split", TRUE);
    }
  self->updating = TRUE;
  kiln_segment_panel_set_params (self, &p);
  self->updating = FALSE;
}

static void
on_step_params_changed (KilnDocument     *document,
                        guint             step,
                        KilnSegmentPanel *self)
{
  if (step != KILN_DOC_STEP_SEGMENT)
    return;
  load_params (self);
  if (volume (self) != NULL)
    schedule_segment (self);
}

void
kiln_segment_panel_set_document (KilnSegmentPanel *self,
                                 KilnDocument     *document)
{
  g_return_if_fail (KILN_IS_SEGMENT_PANEL (self));
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
  refresh (self);
}

void
kiln_segment_panel_set_time_point (KilnSegmentPanel *self,
                                   guint             index)
{
  g_return_if_fail (KILN_IS_SEGMENT_PANEL (self));
  self->time_point = index;
  refresh (self);
}

void
kiln_segment_panel_set_params (KilnSegmentPanel        *self,
                               const KilnSegmentParams *p)
{
  g_return_if_fail (KILN_IS_SEGMENT_PANEL (self));
  gtk_check_button_set_active (self->otsu_check, p->otsu);
  if (!p->otsu)
    gtk_adjustment_set_value (self->threshold_adjustment, p->threshold);
  gtk_adjustment_set_value (self->erode_adjustment, p->erode);
  gtk_adjustment_set_value (self->dilate_adjustment, p->dilate);
  gtk_check_button_set_active (self->split_check, p->split);
}

void
kiln_segment_panel_get_params (KilnSegmentPanel  *self,
                               KilnSegmentParams *p)
{
  kiln_segment_params_init (p);
  p->otsu = gtk_check_button_get_active (self->otsu_check);
  p->threshold = gtk_adjustment_get_value (self->threshold_adjustment);
  p->erode = (guint) lround (gtk_adjustment_get_value (self->erode_adjustment));
  p->dilate = (guint) lround (gtk_adjustment_get_value (self->dilate_adjustment));
  p->split = gtk_check_button_get_active (self->split_check);
}

double
kiln_segment_panel_get_threshold (KilnSegmentPanel *self)
{
  return self->threshold_used;
}

guint32
kiln_segment_panel_get_n_labels (KilnSegmentPanel *self)
{
  return self->n_labels;
}

gboolean
kiln_segment_panel_is_idle (KilnSegmentPanel *self)
{
  g_return_val_if_fail (KILN_IS_SEGMENT_PANEL (self), TRUE);
  return (self->runner == NULL || kiln_preview_runner_is_idle (self->runner)) && !self->loading &&
         !self->busy;
}

void
kiln_segment_panel_set_show_truth (KilnSegmentPanel *self,
                                   gboolean          show)
{
  g_return_if_fail (KILN_IS_SEGMENT_PANEL (self));
  gtk_check_button_set_active (self->truth_check, show);
}

gboolean
kiln_segment_panel_get_truth_error (KilnSegmentPanel *self,
                                    double           *dice,
                                    int              *count_error)
{
  g_return_val_if_fail (KILN_IS_SEGMENT_PANEL (self), FALSE);
  if (dice != NULL)
    *dice = self->truth_dice;
  if (count_error != NULL)
    *count_error = self->truth_count_error;
  return !isnan (self->truth_dice);
}
