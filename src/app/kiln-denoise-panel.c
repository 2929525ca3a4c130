/* kiln-denoise-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-denoise-panel.h"
#include "kiln-image-view.h"
#include "kiln-plot.h"
#include "kiln-preview-runner.h"
#include "kiln-window.h"

#define PREVIEW_DELAY_MS 80

struct _KilnDenoisePanel
{
  GtkWidget        parent_instance;

  KilnDocument    *document;
  guint            time_point;
  guint            tilt;

  /* live preview */
  KilnPreviewRunner *runner;
  float           *preview;
  guint            roi[4];
  /* long work */
  gboolean         busy;
  GArray          *tune_curve;
  guint            all_next;      /* "denoise all": next time point */
  GCancellable    *all_cancellable;
  KilnProgressFunc all_progress;
  gpointer         all_progress_data;
  /* teaching: the simulator's noise-free tilts of truth_tp, made again from its parameters */
  KilnImageStack  *truth;
  guint            truth_tp;
  gboolean         truth_loading;
  GCancellable    *truth_cancellable;
  double           psnr_noisy;
  double           psnr_denoised;

  /* template children */
  GtkWidget       *box;
  GtkDropDown     *model_dropdown;
  GtkSpinButton   *variance_spin;
  GtkAdjustment   *variance_adjustment;
  GtkDropDown     *profile_dropdown;
  KilnImageView   *view;
  GtkAdjustment   *tilt_adjustment;
  GtkScale        *tilt_scale;
  GtkLabel        *tilt_label;
  GtkLabel        *info_label;
  KilnPlot        *plot;
  GtkButton       *tune_button;
  GtkButton       *run_button;
  GtkButton       *run_all_button;
  KilnImageView   *truth_view;
  GtkCheckButton  *truth_check;
};

G_DEFINE_FINAL_TYPE (KilnDenoisePanel, kiln_denoise_panel, GTK_TYPE_WIDGET)

static KilnImageStack *
input_stack (KilnDenoisePanel *self)
{
  if (self->document == NULL)
    return NULL;
  return kiln_document_get_input_stack (self->document, self->time_point, KILN_DOC_STEP_DENOISE);
}

/* The ROI: the central half of the tilt (at least 32 px, at most 192 px a side). */
static void
compute_roi (KilnImageStack *stack,
             guint           roi[4])
{
  guint w = CLAMP (stack->width / 2, MIN (32u, stack->width), 192u);
  guint h = CLAMP (stack->height / 2, MIN (32u, stack->height), 192u);

  roi[0] = (stack->width - w) / 2;
  roi[1] = (stack->height - h) / 2;
  roi[2] = w;
  roi[3] = h;
}

static void
record_params (KilnDenoisePanel *self)
{
  g_autoptr(JsonObject) o = json_object_new ();
  KilnNoiseKind kind;
  double variance;
  KilnBm3dProfile profile;

  if (self->document == NULL)
    return;
  kiln_denoise_panel_get_params (self, &kind, &variance, &profile);
  json_object_set_string_member (o, "psd", kiln_noise_kind_to_string (kind));
  json_object_set_double_member (o, "variance", variance);
  json_object_set_string_member (o, "profile", kiln_bm3d_profile_to_string (profile));
  kiln_document_set_step_params (self->document, KILN_DOC_STEP_DENOISE, o);
}

static void
update_buttons (KilnDenoisePanel *self)
{
  KilnExperiment *exp = self->document ? kiln_document_get_experiment (self->document) : NULL;
  gboolean have = input_stack (self) != NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), have && !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_all_button), self->document != NULL && !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->tune_button),
                            exp != NULL && exp->reference_raw != NULL &&
                            exp->reference_average != NULL && !self->busy);
}

/* ---- teaching: the noise-free truth ------------------------------------------------------- */

static gboolean
showing_truth (KilnDenoisePanel *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->truth_check)) &&
         gtk_check_button_get_active (self->truth_check);
}

/* PSNR (dB) of the ROI of @a against the ROI of the noise-free tilt @t (w wide); the peak is the
 * noise-free tilt's max − min. */
static double
roi_psnr (const float *a,
          guint        a_stride,
          guint        ax,
          guint        ay,
          const float *t,
          guint        w,
          guint        h,
          const guint  roi[4])
{
  g_autofree float *ra = g_new (float, (gsize) roi[2] * roi[3]);
  g_autofree float *rt = g_new (float, (gsize) roi[2] * roi[3]);
  float lo = INFINITY, hi = -INFINITY;

  for (gsize i = 0; i < (gsize) w * h; i++)
    lo = MIN (lo, t[i]), hi = MAX (hi, t[i]);
  for (guint y = 0; y < roi[3]; y++)
    {
      memcpy (ra + (gsize) y * roi[2], a + (gsize) (ay + y) * a_stride + ax, sizeof (float) * roi[2]);
      memcpy (rt + (gsize) y * roi[2], t + (gsize) (roi[1] + y) * w + roi[0], sizeof (float) * roi[2]);
    }
  return kiln_psnr (ra, rt, (gsize) roi[2] * roi[3], hi - lo);
}

/* Show the noise-free tilt beside the result and the PSNR of the noisy and the denoised ROI
 * against it. */
static void
update_truth (KilnDenoisePanel *self)
{
  KilnImageStack *stack = input_stack (self);
  KilnImageStack *denoised = self->document ? kiln_document_get_denoised (self->document, self->time_point) : NULL;
  const float *t;
  g_autofree char *text = NULL;

  self->psnr_noisy = self->psnr_denoised = NAN;
  gtk_widget_set_visible (GTK_WIDGET (self->truth_view), showing_truth (self));
  if (!showing_truth (self) || stack == NULL || self->truth == NULL || self->truth_tp != self->time_point ||
      self->truth->width != stack->width || self->truth->height != stack->height ||
      self->truth->n_tilts != stack->n_tilts)
    return;
  t = kiln_image_stack_tilt_const (self->truth, self->tilt);
  kiln_image_view_set_image (self->truth_view, t, stack->width, stack->height, stack->pixel_size_nm);
  {
    double black, white;
    kiln_image_view_get_levels (self->view, &black, &white);
    kiln_image_view_set_levels (self->truth_view, black, white);
  }
  kiln_image_view_set_roi (self->truth_view, TRUE, self->roi[0], self->roi[1], self->roi[2], self->roi[3]);
  self->psnr_noisy = roi_psnr (kiln_image_stack_tilt_const (stack, self->tilt), stack->width,
                               self->roi[0], self->roi[1], t, stack->width, stack->height, self->roi);
  if (self->preview != NULL)
    self->psnr_denoised = roi_psnr (self->preview, self->roi[2], 0, 0, t, stack->width,
                                    stack->height, self->roi);
  else if (denoised != NULL && denoised->width == stack->width && denoised->height == stack->height &&
           denoised->n_tilts == stack->n_tilts)
    self->psnr_denoised = roi_psnr (kiln_image_stack_tilt_const (denoised, self->tilt), stack->width,
                                    self->roi[0], self->roi[1], t, stack->width, stack->height, self->roi);
  if (isnan (self->psnr_denoised))
    text = g_strdup_printf (_("PSNR vs the noise-free tilt (ROI): noisy %.2f dB"), self->psnr_noisy);
  else
    text = g_strdup_printf (_("PSNR vs the noise-free tilt (ROI): noisy %.2f → denoised %.2f dB"),
                            self->psnr_noisy, self->psnr_denoised);
  gtk_label_set_label (self->info_label, text);
}

typedef struct
{
  KilnSimParams params;
  guint         tp;
} TruthData;

static void
truth_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  TruthData *d = task_data;
  GError *error = NULL;
  g_autoptr(KilnSimTimePoint) s = kiln_sim_time_point_new (&d->params, d->tp, cancellable, NULL,
                                                           NULL, &error);

  if (s == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, kiln_image_stack_ref (s->noise_free),
                           (GDestroyNotify) kiln_image_stack_unref);
}

static void
on_truth_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(KilnDenoisePanel) self = user_data;
  TruthData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  KilnImageStack *stack = g_task_propagate_pointer (G_TASK (result), &error);

  self->truth_loading = FALSE;
  if (stack == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->info_label, error->message);
      return;
    }
  g_clear_pointer (&self->truth, kiln_image_stack_unref);
  self->truth = stack;
  self->truth_tp = d->tp;
  update_truth (self);
}

/* Make the noise-free tilts of the shown time point (in a worker) unless they are at hand. */
static void
ensure_truth (KilnDenoisePanel *self)
{
  g_autoptr(GTask) task = NULL;
  TruthData *d;

  if (!showing_truth (self))
    return;
  if ((self->truth != NULL && self->truth_tp == self->time_point) || self->truth_loading)
    {
      update_truth (self);
      return;
    }
  d = g_new0 (TruthData, 1);
  if (!kiln_document_get_sim_params (self->document, &d->params))
    {
      g_free (d);
      return;
    }
  d->params.make_volume = FALSE;   /* the tilts only */
  d->tp = self->time_point;
  g_clear_object (&self->truth_cancellable);
  self->truth_cancellable = g_cancellable_new ();
  self->truth_loading = TRUE;
  gtk_label_set_label (self->info_label, _("Simulating the noise-free tilts…"));
  task = g_task_new (NULL, self->truth_cancellable, on_truth_done, g_object_ref (self));
  g_task_set_task_data (task, d, g_free);
  g_task_run_in_thread (task, truth_thread);
}

static void
on_truth_toggled (KilnDenoisePanel *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->truth_view), showing_truth (self));
  if (showing_truth (self))
    ensure_truth (self);
  else
    gtk_label_set_label (self->info_label, "");
}

/* ---- live ROI preview ---------------------------------------------------------------------- */

typedef struct
{
  KilnImageStack  *stack;
  guint            tilt;
  guint            roi[4];
  KilnNoiseKind    kind;
  double           variance;
  KilnBm3dProfile  profile;
  guint            generation;
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
  g_autoptr(KilnBm3dNoise) noise = NULL;
  KilnBm3dParams params;
  GError *error = NULL;
  float *out;

  noise = kiln_bm3d_noise_new_model (d->kind, d->stack->width, d->stack->height, d->variance, &error);
  if (noise == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  kiln_bm3d_params_init (&params, d->profile);
  out = g_new (float, (gsize) d->roi[2] * d->roi[3]);
  if (!kiln_bm3d_denoise_roi (kiln_image_stack_tilt_const (d->stack, d->tilt), d->stack->width,
                              d->stack->height, noise, &params, d->roi[0], d->roi[1], d->roi[2],
                              d->roi[3], out, cancellable, NULL, NULL, &error))
    {
      g_free (out);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, out, g_free);
}

static void
schedule_preview (KilnDenoisePanel *self)
{
  if (self->runner != NULL)
    kiln_preview_runner_schedule (self->runner);
}

static void
show_compare (KilnDenoisePanel *self)
{
  KilnImageStack *stack = input_stack (self);
  KilnImageStack *denoised;
  g_autofree float *after = NULL;
  const float *before;

  if (stack == NULL)
    return;
  before = kiln_image_stack_tilt_const (stack, self->tilt);
  denoised = kiln_document_get_denoised (self->document, self->time_point);
  if (denoised != NULL && denoised->n_tilts == stack->n_tilts && denoised->width == stack->width &&
      denoised->height == stack->height && self->preview == NULL)
    {
      kiln_image_view_set_compare (self->view, kiln_image_stack_tilt_const (denoised, self->tilt));
      return;
    }
  if (self->preview == NULL)
    {
      kiln_image_view_set_compare (self->view, NULL);
      return;
    }
  /* the tilt with its ROI replaced by the preview */
  after = g_memdup2 (before, sizeof (float) * stack->width * stack->height);
  for (guint y = 0; y < self->roi[3]; y++)
    memcpy (after + (gsize) (self->roi[1] + y) * stack->width + self->roi[0],
            self->preview + (gsize) y * self->roi[2], sizeof (float) * self->roi[2]);
  kiln_image_view_set_compare (self->view, after);
}

static void
on_preview_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(KilnDenoisePanel) self = user_data;
  PreviewData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  float *out = g_task_propagate_pointer (G_TASK (result), &error);
  gboolean current = kiln_preview_runner_done (self->runner, d->generation);

  if (out == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->info_label, error->message);
    }
  else if (!current || d->stack != input_stack (self) || d->tilt != self->tilt)
    g_free (out);   /* stale: the parameters or the image changed meanwhile */
  else
    {
      g_free (self->preview);
      self->preview = out;
      memcpy (self->roi, d->roi, sizeof self->roi);
      show_compare (self);
      update_truth (self);
    }
}

/* The runner's start function: BM3D of the ROI for the current controls, in a worker. */
static gboolean
start_preview (gpointer      owner,
               GCancellable *cancellable,
               guint         generation)
{
  KilnDenoisePanel *self = owner;
  KilnImageStack *stack = input_stack (self);
  g_autoptr(GTask) task = NULL;
  PreviewData *d;

  if (stack == NULL)
    return FALSE;
  d = g_new0 (PreviewData, 1);
  d->stack = kiln_image_stack_ref (stack);
  d->tilt = self->tilt;
  compute_roi (stack, d->roi);
  kiln_denoise_panel_get_params (self, &d->kind, &d->variance, &d->profile);
  d->generation = generation;
  task = g_task_new (NULL, cancellable, on_preview_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) preview_data_free);
  g_task_run_in_thread (task, preview_thread);
  return TRUE;
}

static void
on_params_changed (KilnDenoisePanel *self)
{
  record_params (self);
  schedule_preview (self);
}

/* ---- tilt display ---------------------------------------------------------------------------- */

static void
update_image (KilnDenoisePanel *self,
              gboolean          new_stack)
{
  KilnImageStack *stack = input_stack (self);
  g_autofree char *text = NULL;

  update_buttons (self);
  if (stack == NULL)
    {
      kiln_image_view_set_image (self->view, NULL, 0, 0, 0);
      gtk_label_set_label (self->tilt_label, "");
      return;
    }
  if (new_stack)
    {
      self->tilt = kiln_image_stack_zero_tilt (stack);
      gtk_adjustment_configure (self->tilt_adjustment, self->tilt, 0, stack->n_tilts - 1, 1, 5, 0);
    }
  self->tilt = MIN (self->tilt, stack->n_tilts - 1);
  kiln_image_view_set_image (self->view, kiln_image_stack_tilt_const (stack, self->tilt),
                             stack->width, stack->height, stack->pixel_size_nm);
  if (new_stack)
    {
      kiln_image_view_auto_levels (self->view);
      kiln_image_view_zoom_to_fit (self->view);
    }
  compute_roi (stack, self->roi);
  kiln_image_view_set_roi (self->view, TRUE, self->roi[0], self->roi[1], self->roi[2], self->roi[3]);
  kiln_image_view_set_split (self->view, 0.5);
  g_clear_pointer (&self->preview, g_free);
  show_compare (self);
  text = g_strdup_printf (_("Tilt %u of %u · %+.1f°"), self->tilt + 1, stack->n_tilts,
                          stack->has_angles ? stack->angles_deg[self->tilt] : 0.0);
  gtk_label_set_label (self->tilt_label, text);
  {
    KilnExperiment *exp = self->document ? kiln_document_get_experiment (self->document) : NULL;
    gtk_widget_set_visible (GTK_WIDGET (self->truth_check), exp != NULL && exp->simulation != NULL);
  }
  ensure_truth (self);
  schedule_preview (self);
}

static void
on_tilt_changed (GtkAdjustment    *adjustment,
                 KilnDenoisePanel *self)
{
  guint t = (guint) lround (gtk_adjustment_get_value (adjustment));

  if (t == self->tilt)
    return;
  self->tilt = t;
  update_image (self, FALSE);
}

/* ---- variance tuning ------------------------------------------------------------------------- */

typedef struct
{
  char                 *raw_path;
  char                 *average_path;
  KilnDenoiseTuneParams params;
  KilnProgressFunc      progress;
  gpointer              progress_data;
} TuneData;

static void
tune_data_free (TuneData *d)
{
  g_free (d->raw_path);
  g_free (d->average_path);
  g_free (d);
}

static void
tune_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TuneData *d = task_data;
  g_autoptr(KilnImageStack) raw = NULL;
  g_autoptr(KilnImageStack) average = NULL;
  KilnDenoiseTuneResult *result;
  GError *error = NULL;

  raw = kiln_io_load_stack (d->raw_path, cancellable, &error);
  if (raw != NULL)
    average = kiln_io_load_stack (d->average_path, cancellable, &error);
  if (raw == NULL || average == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (raw->width != average->width || raw->height != average->height)
    {
      g_task_return_new_error (task, KILN_ERROR, KILN_ERROR_MISMATCH,
                               _("The reference images %s (%u × %u) and %s (%u × %u) differ in size"),
                               d->raw_path, raw->width, raw->height, d->average_path,
                               average->width, average->height);
      return;
    }
  result = kiln_denoise_tune (kiln_image_stack_tilt_const (raw, 0),
                              kiln_image_stack_tilt_const (average, 0), raw->width, raw->height,
                              &d->params, cancellable, d->progress, d->progress_data, &error);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) kiln_denoise_tune_result_free);
}

static void
on_tune_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(KilnDenoisePanel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnDenoiseTuneResult) tune = g_task_propagate_pointer (G_TASK (result), &error);

  self->busy = FALSE;
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  update_buttons (self);
  if (tune == NULL)
    return;
  {
    guint n = tune->curve->len;
    g_autofree double *x = g_new (double, n);
    g_autofree double *y = g_new (double, n);
    g_autofree char *info = NULL;

    for (guint i = 0; i < n; i++)
      {
        KilnTunePoint *p = &g_array_index (tune->curve, KilnTunePoint, i);
        x[i] = p->variance;
        y[i] = p->psnr_db;
      }
    kiln_plot_clear (self->plot);
    kiln_plot_set_labels (self->plot, _("Variance tuning on the reference pair"),
                          _("Noise variance (image units²)"), _("PSNR (dB)"));
    kiln_plot_add_series (self->plot, _("PSNR"), KILN_PLOT_POINTS, 1, x, y, NULL, n);
    kiln_plot_set_marker (self->plot, tune->best_variance);
    gtk_widget_set_visible (GTK_WIDGET (self->plot), TRUE);
    info = g_strdup_printf (_("Best variance %.4g (PSNR %.2f dB)"), tune->best_variance,
                            tune->best_psnr_db);
    gtk_label_set_label (self->info_label, info);
  }
  g_clear_pointer (&self->tune_curve, g_array_unref);
  self->tune_curve = g_array_ref (tune->curve);
  gtk_adjustment_set_value (self->variance_adjustment, tune->best_variance);
}

static void
tune_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  KilnDenoisePanel *self = KILN_DENOISE_PANEL (widget);
  KilnExperiment *exp = self->document ? kiln_document_get_experiment (self->document) : NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GTask) task = NULL;
  TuneData *d;
  double variance;
  KilnBm3dProfile profile;

  if (exp == NULL || exp->reference_raw == NULL || exp->reference_average == NULL || self->busy)
    return;
  d = g_new0 (TuneData, 1);
  d->raw_path = kiln_experiment_path (exp, exp->reference_raw);
  d->average_path = kiln_experiment_path (exp, exp->reference_average);
  kiln_denoise_tune_params_init (&d->params);
  kiln_denoise_panel_get_params (self, &d->params.kind, &variance, &profile);
  kiln_bm3d_params_init (&d->params.bm3d, profile);
  cancellable = kiln_window_begin_task_for (widget, _("Tuning the noise variance…"),
                                            &d->progress, &d->progress_data);
  self->busy = TRUE;
  update_buttons (self);
  task = g_task_new (NULL, cancellable, on_tune_done, g_object_ref (self));
  g_task_set_task_data (task, d, (GDestroyNotify) tune_data_free);
  g_task_run_in_thread (task, tune_thread);
}

/* ---- denoising time points ------------------------------------------------------------------- */

typedef struct
{
  KilnImageStack  *stack;
  guint            index;
  KilnNoiseKind    kind;
  double           variance;
  KilnBm3dProfile  profile;
  KilnProgressFunc progress;
  gpointer         progress_data;
} RunData;

static void
run_data_free (RunData *d)
{
  kiln_image_stack_unref (d->stack);
  g_free (d);
}

static void
run_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  RunData *d = task_data;
  g_autoptr(KilnBm3dNoise) noise = NULL;
  KilnBm3dParams params;
  GError *error = NULL;
  KilnImageStack *out;

  noise = kiln_bm3d_noise_new_model (d->kind, d->stack->width, d->stack->height, d->variance, &error);
  if (noise == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  kiln_bm3d_params_init (&params, d->profile);
  out = kiln_bm3d_denoise_stack (d->stack, noise, &params, cancellable, d->progress,
                                 d->progress_data, &error);
  if (out == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, out, (GDestroyNotify) kiln_image_stack_unref);
}

static void all_step (KilnDenoisePanel *self);

static void
finish_run (KilnDenoisePanel *self,
            const GError     *error)
{
  self->busy = FALSE;
  g_clear_object (&self->all_cancellable);
  kiln_window_end_task_for (GTK_WIDGET (self), error);
  update_image (self, FALSE);
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnDenoisePanel) self = user_data;
  RunData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) out = g_task_propagate_pointer (G_TASK (result), &error);

  if (out == NULL)
    {
      finish_run (self, error);
      return;
    }
  if (self->document != NULL)
    kiln_document_set_denoised (self->document, d->index, out);
  if (self->all_next > 0)
    all_step (self);
  else
    finish_run (self, NULL);
}

static void
start_run (KilnDenoisePanel *self,
           guint             index,
           KilnImageStack   *stack)
{
  g_autoptr(GTask) task = g_task_new (NULL, self->all_cancellable, on_run_done, g_object_ref (self));
  RunData *d = g_new0 (RunData, 1);

  d->stack = kiln_image_stack_ref (stack);
  d->index = index;
  kiln_denoise_panel_get_params (self, &d->kind, &d->variance, &d->profile);
  /* one stack: per-tilt progress; all time points: progress per time point (all_step) */
  d->progress = self->all_next > 0 ? NULL : self->all_progress;
  d->progress_data = self->all_progress_data;
  g_task_set_task_data (task, d, (GDestroyNotify) run_data_free);
  g_task_run_in_thread (task, run_thread);
}

static void
on_all_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(KilnDenoisePanel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = kiln_document_load_time_point_finish (KILN_DOCUMENT (source),
                                                                         result, &error);

  if (stack == NULL)
    {
      finish_run (self, error);
      return;
    }
  start_run (self, self->all_next - 1, stack);
}

/* "all": all_next counts 1-based the next time point to do; 0 = single run */
static void
all_step (KilnDenoisePanel *self)
{
  guint n = self->document ? kiln_document_get_n_time_points (self->document) : 0;
  guint i = self->all_next;

  if (i >= n || g_cancellable_is_cancelled (self->all_cancellable))
    {
      self->all_next = 0;
      finish_run (self, NULL);
      return;
    }
  self->all_next = i + 1;
  if (self->all_progress != NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Denoising time point %u of %u"), i + 1, n);
      self->all_progress ((double) i / n, what, self->all_progress_data);
    }
  kiln_document_load_time_point_async (self->document, i, self->all_cancellable,
                                       on_all_loaded, g_object_ref (self));
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  KilnDenoisePanel *self = KILN_DENOISE_PANEL (widget);
  KilnImageStack *stack = self->document ? kiln_document_get_stack (self->document, self->time_point) : NULL;

  if (self->busy || self->document == NULL)
    return;
  self->busy = TRUE;
  update_buttons (self);
  if (g_str_equal (action_name, "denoise.run-all"))
    {
      self->all_cancellable = kiln_window_begin_task_for (widget, _("Denoising all time points…"),
                                                          &self->all_progress, &self->all_progress_data);
      self->all_next = 0;
      all_step (self);
      return;
    }
  if (stack == NULL)
    {
      self->busy = FALSE;
      return;
    }
  self->all_next = 0;
  self->all_cancellable = kiln_window_begin_task_for (widget, _("Denoising the time point…"),
                                                      &self->all_progress, &self->all_progress_data);
  start_run (self, self->time_point, stack);
}

/* ---- GObject ----------------------------------------------------------------------------------- */

static void load_params (KilnDenoisePanel *self);

static void
on_step_params_changed (KilnDocument     *document,
                        guint             step,
                        KilnDenoisePanel *self)
{
  if (step != KILN_DOC_STEP_DENOISE)
    return;
  load_params (self);
  schedule_preview (self);
}

static void
on_results_changed (KilnDocument     *document,
                    guint             index,
                    KilnDenoisePanel *self)
{
  if (index == self->time_point && !self->busy)
    update_image (self, FALSE);
}

static void
kiln_denoise_panel_dispose (GObject *object)
{
  KilnDenoisePanel *self = KILN_DENOISE_PANEL (object);

  g_clear_object (&self->runner);
  if (self->all_cancellable != NULL)
    g_cancellable_cancel (self->all_cancellable);
  g_clear_object (&self->all_cancellable);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_pointer (&self->preview, g_free);
  g_clear_pointer (&self->tune_curve, g_array_unref);
  if (self->truth_cancellable != NULL)
    g_cancellable_cancel (self->truth_cancellable);
  g_clear_object (&self->truth_cancellable);
  g_clear_pointer (&self->truth, kiln_image_stack_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_DENOISE_PANEL);
  G_OBJECT_CLASS (kiln_denoise_panel_parent_class)->dispose (object);
}

static void
kiln_denoise_panel_class_init (KilnDenoisePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_denoise_panel_dispose;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  g_type_ensure (KILN_TYPE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-denoise-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, variance_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, variance_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, profile_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, tilt_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, tilt_scale);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, tilt_label);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, plot);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, tune_button);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, run_button);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, run_all_button);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, truth_view);
  gtk_widget_class_bind_template_child (widget_class, KilnDenoisePanel, truth_check);
  gtk_widget_class_bind_template_callback (widget_class, on_truth_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_tilt_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_params_changed);
  gtk_widget_class_install_action (widget_class, "denoise.tune", NULL, tune_action);
  gtk_widget_class_install_action (widget_class, "denoise.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "denoise.run-all", NULL, run_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "denoise.run", NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_denoise_panel_init (KilnDenoisePanel *self)
{
  self->runner = kiln_preview_runner_new (PREVIEW_DELAY_MS, start_preview, self);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->psnr_noisy = self->psnr_denoised = NAN;
}

GtkWidget *
kiln_denoise_panel_new (void)
{
  return g_object_new (KILN_TYPE_DENOISE_PANEL, NULL);
}

static void
load_params (KilnDenoisePanel *self)
{
  KilnExperiment *exp = kiln_document_get_experiment (self->document);
  JsonObject *o = kiln_document_get_step_params (self->document, KILN_DOC_STEP_DENOISE);
  KilnNoiseKind kind = KILN_NOISE_G4;
  KilnBm3dProfile profile = KILN_BM3D_PROFILE_FAST;
  double variance = 100;

  if (o == NULL && exp != NULL && exp->simulation != NULL)
    {
      /* a simulated experiment: start from the noise it was made with */
      kiln_noise_kind_from_string (json_object_get_string_member_with_default (exp->simulation, "scan_noise", "g4"), &kind);
      variance = json_object_get_double_member_with_default (exp->simulation, "scan_noise_variance", variance);
    }
  else if (o != NULL)
    {
      kiln_noise_kind_from_string (json_object_get_string_member_with_default (o, "psd", "g4"), &kind);
      variance = json_object_get_double_member_with_default (o, "variance", variance);
      kiln_bm3d_profile_from_string (json_object_get_string_member_with_default (o, "profile", "fast"), &profile);
    }
  if (!(variance > 0))
    variance = 100;
  g_signal_handlers_block_by_func (self->model_dropdown, on_params_changed, self);
  g_signal_handlers_block_by_func (self->variance_adjustment, on_params_changed, self);
  g_signal_handlers_block_by_func (self->profile_dropdown, on_params_changed, self);
  gtk_drop_down_set_selected (self->model_dropdown, kind);
  gtk_adjustment_set_value (self->variance_adjustment, variance);
  gtk_drop_down_set_selected (self->profile_dropdown, profile);
  g_signal_handlers_unblock_by_func (self->model_dropdown, on_params_changed, self);
  g_signal_handlers_unblock_by_func (self->variance_adjustment, on_params_changed, self);
  g_signal_handlers_unblock_by_func (self->profile_dropdown, on_params_changed, self);
}

void
kiln_denoise_panel_set_document (KilnDenoisePanel *self,
                                 KilnDocument     *document)
{
  g_return_if_fail (KILN_IS_DENOISE_PANEL (self));

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
  update_image (self, TRUE);
}

void
kiln_denoise_panel_set_time_point (KilnDenoisePanel *self,
                                   guint             index)
{
  g_return_if_fail (KILN_IS_DENOISE_PANEL (self));
  self->time_point = index;
  update_image (self, TRUE);
}

void
kiln_denoise_panel_set_params (KilnDenoisePanel *self,
                               KilnNoiseKind     kind,
                               double            variance,
                               KilnBm3dProfile   profile)
{
  g_return_if_fail (KILN_IS_DENOISE_PANEL (self));
  gtk_drop_down_set_selected (self->model_dropdown, kind);
  gtk_adjustment_set_value (self->variance_adjustment, variance);
  gtk_drop_down_set_selected (self->profile_dropdown, profile);
}

void
kiln_denoise_panel_get_params (KilnDenoisePanel *self,
                               KilnNoiseKind    *kind,
                               double           *variance,
                               KilnBm3dProfile  *profile)
{
  guint k = gtk_drop_down_get_selected (self->model_dropdown);
  guint p = gtk_drop_down_get_selected (self->profile_dropdown);

  if (kind != NULL)
    *kind = k <= KILN_NOISE_G4W ? (KilnNoiseKind) k : KILN_NOISE_G4;
  if (variance != NULL)
    *variance = gtk_adjustment_get_value (self->variance_adjustment);
  if (profile != NULL)
    *profile = p == KILN_BM3D_PROFILE_NORMAL ? KILN_BM3D_PROFILE_NORMAL : KILN_BM3D_PROFILE_FAST;
}

const float *
kiln_denoise_panel_get_preview (KilnDenoisePanel *self,
                                guint            *x,
                                guint            *y,
                                guint            *width,
                                guint            *height)
{
  g_return_val_if_fail (KILN_IS_DENOISE_PANEL (self), NULL);
  if (x) *x = self->roi[0];
  if (y) *y = self->roi[1];
  if (width) *width = self->roi[2];
  if (height) *height = self->roi[3];
  return self->preview;
}

GArray *
kiln_denoise_panel_get_tune_curve (KilnDenoisePanel *self)
{
  g_return_val_if_fail (KILN_IS_DENOISE_PANEL (self), NULL);
  return self->tune_curve;
}

gboolean
kiln_denoise_panel_is_idle (KilnDenoisePanel *self)
{
  g_return_val_if_fail (KILN_IS_DENOISE_PANEL (self), TRUE);
  return (self->runner == NULL || kiln_preview_runner_is_idle (self->runner)) && !self->busy &&
         !self->truth_loading;
}

void
kiln_denoise_panel_set_show_truth (KilnDenoisePanel *self,
                                   gboolean          show)
{
  g_return_if_fail (KILN_IS_DENOISE_PANEL (self));
  gtk_check_button_set_active (self->truth_check, show);
}

gboolean
kiln_denoise_panel_get_truth_psnr (KilnDenoisePanel *self,
                                   double           *noisy_db,
                                   double           *denoised_db)
{
  g_return_val_if_fail (KILN_IS_DENOISE_PANEL (self), FALSE);
  if (noisy_db != NULL)
    *noisy_db = self->psnr_noisy;
  if (denoised_db != NULL)
    *denoised_db = self->psnr_denoised;
  return !isnan (self->psnr_noisy);
}

KilnImageStack *
kiln_denoise_panel_get_truth (KilnDenoisePanel *self)
{
  g_return_val_if_fail (KILN_IS_DENOISE_PANEL (self), NULL);
  return self->truth;
}
