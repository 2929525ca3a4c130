/* kiln-analyze-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-analyze-panel.h"
#include "kiln-plot.h"
#include "kiln-volume-view.h"

typedef struct
{
  KilnPairMeasure m;
  double          centre_a[3];   /* nm */
  double          centre_b[3];
  double          neck[3];
  gboolean        measured;
  guint32         label_a;       /* the pair's labels at this time point */
  guint32         label_b;
  gboolean        has_truth;     /* simulated experiment: the truth of the same pair */
  double          truth[KILN_MEASURE_N_VALUES];   /* NAN where the truth table has no value */
} PairAt;

typedef struct
{
  char    *name;
  guint32  a;                    /* tracked particle ids (the labels of the first time point) */
  guint32  b;
  PairAt  *at;                   /* one per time point */
  gboolean deferred;             /* measurement waits for the tracking */
} Pair;

struct _KilnAnalyzePanel
{
  GtkWidget        parent_instance;

  KilnDocument    *document;
  GCancellable    *cancellable;
  GPtrArray       *pairs;
  guint            n_tp;
  guint            tp;
  guint32          picked;       /* first particle of a pair being formed */
  guint            pending;      /* measurement workers running */
  guint            play_id;
  char            *timelapse_dir; /* exporting frames while set */
  guint            timelapse_tp;

  /* tracking: particle identities across time points (colours, pairs) */
  KilnTracking    *tracking;     /* NULL until done, or when it failed (identity) */
  gboolean         tracking_pending;
  GPtrArray       *maps;         /* per time point: GArray of guint32, label → tracked id */
  /* volumes loaded for the current time point and its neighbours (prefetched in the view) */
  GPtrArray       *loaded;       /* KilnVolumePair per time point, or NULL */
  gboolean         show_truth;

  /* template children */
  GtkWidget       *paned;
  KilnVolumeView  *view;
  GtkLabel        *readout_label;
  GtkLabel        *hint_label;
  GtkAdjustment   *time_adjustment;
  GtkLabel        *time_label;
  GtkToggleButton *play_button;
  GtkDropDown     *mode_dropdown;
  GtkAdjustment   *threshold_adjustment;
  GtkCheckButton  *hide_check;
  GtkCheckButton  *truth_check;
  GtkListBox      *pairs_list;
  KilnPlot        *plot_rn;
  KilnPlot        *plot_d;
  KilnPlot        *plot_model;
  GtkLabel        *scale_label;
  GtkWidget       *scale_bar;
  GtkDropDown     *slice_dropdown;
  GtkAdjustment   *slice_adjustment;
};

G_DEFINE_FINAL_TYPE (KilnAnalyzePanel, kiln_analyze_panel, GTK_TYPE_WIDGET)

static gboolean timelapse_capture (gpointer data);
static void     on_threshold_changed (GtkAdjustment *adjustment, KilnAnalyzePanel *self);
static gboolean save_view_png     (KilnAnalyzePanel *self, const char *path, GError **error);

static void
pair_free (gpointer data)
{
  Pair *p = data;

  g_free (p->name);
  g_free (p->at);
  g_free (p);
}

/* ---------------------------------------------------------------- measuring (worker) */

typedef struct
{
  guint             pair;
  guint32           a;
  guint32           b;
  guint             n_tp;
  char            **labels_paths;  /* n_tp, NULL entries allowed */
  KilnLabelVolume **labels_mem;    /* n_tp: the segmentation in memory, else NULL */
  guint32          *pair_labels;   /* n_tp × 2: the pair's labels at each time point (0: absent) */
  char            **truth_dirs;    /* n_tp: the simulator's truth folder, or NULL */
  PairAt           *at;            /* result */
} MeasureJob;

static void
measure_job_free (MeasureJob *job)
{
  for (guint i = 0; i < job->n_tp; i++)
    {
      g_free (job->labels_paths[i]);
      g_free (job->truth_dirs[i]);
      g_clear_pointer (&job->labels_mem[i], kiln_label_volume_unref);
    }
  g_free (job->labels_paths);
  g_free (job->labels_mem);
  g_free (job->truth_dirs);
  g_free (job->pair_labels);
  g_free (job->at);
  g_free (job);
}

/* The label of @truth that most voxels of @label in @labels have (0: none). */
static guint32
majority_truth_label (const KilnLabelVolume *labels,
                      const KilnLabelVolume *truth,
                      guint32                label)
{
  g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
  gsize n = kiln_label_volume_n_voxels (labels);
  guint32 best = 0;
  guint best_count = 0;
  GHashTableIter it;
  gpointer k, v;

  for (gsize i = 0; i < n; i++)
    if (labels->data[i] == label && truth->data[i] != 0)
      {
        gpointer key = GUINT_TO_POINTER (truth->data[i]);
        g_hash_table_insert (counts, key, GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, key)) + 1));
      }
  g_hash_table_iter_init (&it, counts);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (GPOINTER_TO_UINT (v) > best_count)
      {
        best_count = GPOINTER_TO_UINT (v);
        best = GPOINTER_TO_UINT (k);
      }
  return best;
}

/* The simulator's truth (tpNN/truth/pairs.csv) of the pair of @labels' particles la, lb: the
 * particles are identified with the truth labels they overlap most (the same labels when
 * @labels is the truth itself). FALSE when the pair is not in the truth table. */
static gboolean
pair_truth (const KilnLabelVolume *labels,
            const char            *labels_path,
            const char            *truth_dir,
            guint32                la,
            guint32                lb,
            double                 truth[KILN_MEASURE_N_VALUES],
            GCancellable          *cancellable)
{
  static const struct { KilnMeasureValue value; const char *column; } columns[] = {
    { KILN_MEASURE_R_N, "r_n_nm" }, { KILN_MEASURE_D_XY, "d_xy_nm" }, { KILN_MEASURE_D_Z, "d_z_nm" },
    { KILN_MEASURE_D, "d_nm" }, { KILN_MEASURE_R_P, "r_p_nm" }, { KILN_MEASURE_H_OVER_W, "h_over_w" },
    { KILN_MEASURE_NECK_RADIUS_3D, "neck_radius_3d_nm" }, { KILN_MEASURE_DISTANCE_3D, "distance_3d_nm" },
    { KILN_MEASURE_RADIUS_3D, "radius_3d_nm" },
  };
  g_autofree char *truth_labels_path = g_build_filename (truth_dir, "labels.mrc", NULL);
  g_autofree char *pairs_path = g_build_filename (truth_dir, "pairs.csv", NULL);
  g_autoptr(GPtrArray) rows = NULL;
  guint32 ta = la, tb = lb;
  int col_a = -1, col_b = -1;
  char **head;

  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    truth[k] = NAN;
  if (!g_file_test (pairs_path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  if (labels_path == NULL || g_strcmp0 (labels_path, truth_labels_path) != 0)
    {
      g_autoptr(KilnLabelVolume) tl = kiln_mrc_load_labels (truth_labels_path, cancellable, NULL);
      if (tl == NULL || tl->nx != labels->nx || tl->ny != labels->ny || tl->nz != labels->nz)
        return FALSE;
      ta = majority_truth_label (labels, tl, la);
      tb = majority_truth_label (labels, tl, lb);
      if (ta == 0 || tb == 0 || ta == tb)
        return FALSE;
    }
  rows = kiln_csv_load (pairs_path, NULL);
  if (rows == NULL || rows->len < 2)
    return FALSE;
  head = g_ptr_array_index (rows, 0);
  for (int c = 0; head[c] != NULL; c++)
    {
      if (g_str_equal (head[c], "a")) col_a = c;
      if (g_str_equal (head[c], "b")) col_b = c;
    }
  if (col_a < 0 || col_b < 0)
    return FALSE;
  for (guint r = 1; r < rows->len; r++)
    {
      char **row = g_ptr_array_index (rows, r);
      guint32 a = (guint32) g_ascii_strtoull (row[col_a], NULL, 10);
      guint32 b = (guint32) g_ascii_strtoull (row[col_b], NULL, 10);
      if (!((a == ta && b == tb) || (a == tb && b == ta)))
        continue;
      for (int c = 0; head[c] != NULL && row[c] != NULL; c++)
        for (guint k = 0; k < G_N_ELEMENTS (columns); k++)
          if (g_str_equal (head[c], columns[k].column) && row[c][0] != '\0')
            truth[columns[k].value] = g_ascii_strtod (row[c], NULL);
      return TRUE;
    }
  return FALSE;
}

/* Centroid (nm) of the faces shared by labels a and b. */
static gboolean
contact_centre (const KilnLabelVolume *l,
                guint32                a,
                guint32                b,
                double                 vs,
                double                 out[3])
{
  double sum[3] = { 0, 0, 0 };
  guint64 n = 0;

  for (guint z = 0; z < l->nz; z++)
    for (guint y = 0; y < l->ny; y++)
      for (guint x = 0; x < l->nx; x++)
        {
          guint32 v = KILN_VOXEL (l, x, y, z), w;
          if (v != a && v != b)
            continue;
          if (x + 1 < l->nx && ((w = KILN_VOXEL (l, x + 1, y, z)) == a || w == b) && w != v)
            { sum[0] += x + 1; sum[1] += y + 0.5; sum[2] += z + 0.5; n++; }
          if (y + 1 < l->ny && ((w = KILN_VOXEL (l, x, y + 1, z)) == a || w == b) && w != v)
            { sum[0] += x + 0.5; sum[1] += y + 1; sum[2] += z + 0.5; n++; }
          if (z + 1 < l->nz && ((w = KILN_VOXEL (l, x, y, z + 1)) == a || w == b) && w != v)
            { sum[0] += x + 0.5; sum[1] += y + 0.5; sum[2] += z + 1; n++; }
        }
  if (n == 0)
    return FALSE;
  for (int i = 0; i < 3; i++)
    out[i] = sum[i] / n * vs;
  return TRUE;
}

static void
measure_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  MeasureJob *job = task_data;

  job->at = g_new0 (PairAt, job->n_tp);
  for (guint t = 0; t < job->n_tp; t++)
    {
      PairAt *at = &job->at[t];
      g_autoptr(KilnLabelVolume) labels = NULL;
      g_autoptr(GArray) particles = NULL;
      g_autoptr(GError) error = NULL;
      guint32 la = job->pair_labels[2 * t], lb = job->pair_labels[2 * t + 1];
      double vs;

      for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
        at->m.value[k] = at->m.error[k] = at->truth[k] = NAN;
      at->label_a = la;
      at->label_b = lb;
      if (g_cancellable_is_cancelled (cancellable))
        break;
      if (la == 0 || lb == 0 || la == lb)
        continue;   /* one of the two is absent at this time point (or they merged) */
      if (job->labels_mem[t] != NULL)
        labels = kiln_label_volume_ref (job->labels_mem[t]);
      else if (job->labels_paths[t] != NULL)
        labels = kiln_mrc_load_labels (job->labels_paths[t], cancellable, &error);
      if (labels == NULL)
        continue;
      vs = labels->voxel_size_nm > 0 ? labels->voxel_size_nm : 1.0;
      particles = kiln_label_particles (labels);
      if (la > particles->len || lb > particles->len ||
          g_array_index (particles, KilnParticle, la - 1).voxels == 0 ||
          g_array_index (particles, KilnParticle, lb - 1).voxels == 0)
        continue;
      if (!kiln_measure_pair (labels, particles, MIN (la, lb), MAX (la, lb), &at->m, &error))
        continue;
      kiln_measure_sensitivity_labels (labels, &at->m, cancellable, NULL);
      for (int i = 0; i < 3; i++)
        {
          at->centre_a[i] = (g_array_index (particles, KilnParticle, la - 1).centroid[i] + 0.5) * vs;
          at->centre_b[i] = (g_array_index (particles, KilnParticle, lb - 1).centroid[i] + 0.5) * vs;
        }
      if (!contact_centre (labels, la, lb, vs, at->neck))
        for (int i = 0; i < 3; i++)
          at->neck[i] = (at->centre_a[i] + at->centre_b[i]) / 2;
      at->measured = TRUE;
      if (job->truth_dirs[t] != NULL)
        at->has_truth = pair_truth (labels, job->labels_mem[t] ? NULL : job->labels_paths[t],
                                    job->truth_dirs[t], la, lb, at->truth, cancellable);
    }
  g_task_return_boolean (task, TRUE);
}

/* ---------------------------------------------------------------- tracking (worker) */

typedef struct
{
  guint             n_tp;
  char            **labels_paths;
  KilnLabelVolume **labels_mem;
  KilnTracking     *tracking;      /* result */
  GPtrArray        *maps;          /* result: GArray (guint32) per time point */
} TrackJob;

static void
track_job_free (TrackJob *job)
{
  for (guint i = 0; i < job->n_tp; i++)
    {
      g_free (job->labels_paths[i]);
      g_clear_pointer (&job->labels_mem[i], kiln_label_volume_unref);
    }
  g_free (job->labels_paths);
  g_free (job->labels_mem);
  g_clear_pointer (&job->tracking, kiln_tracking_free);
  g_clear_pointer (&job->maps, g_ptr_array_unref);
  g_free (job);
}

static void
track_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  TrackJob *job = task_data;
  KilnTrackParams params;
  GError *error = NULL;

  kiln_track_params_init (&params);
  job->tracking = kiln_tracking_new (&params);
  job->maps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint t = 0; t < job->n_tp; t++)
    {
      g_autoptr(KilnLabelVolume) labels = NULL;
      GArray *map;
      guint32 max;

      if (job->labels_mem[t] != NULL)
        labels = kiln_label_volume_ref (job->labels_mem[t]);
      else if (job->labels_paths[t] != NULL)
        labels = kiln_mrc_load_labels (job->labels_paths[t], cancellable, &error);
      else
        error = g_error_new (KILN_ERROR, KILN_ERROR_FAILED, _("Time point %u has no particle labels"), t + 1);
      if (labels == NULL || !kiln_tracking_add (job->tracking, labels, cancellable, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      max = kiln_label_volume_max_label (labels);
      map = g_array_sized_new (FALSE, TRUE, sizeof (guint32), max + 1);
      g_array_set_size (map, max + 1);
      for (guint32 l = 1; l <= max; l++)
        g_array_index (map, guint32, l) = kiln_tracking_track_of (job->tracking, t, l);
      g_ptr_array_add (job->maps, map);
    }
  g_task_return_boolean (task, TRUE);
}

/* ---------------------------------------------------------------- display */

static void
update_readout (KilnAnalyzePanel *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->pairs_list);
  Pair *p;
  PairAt *at;
  g_autofree char *text = NULL;

  if (row == NULL || (guint) gtk_list_box_row_get_index (row) >= self->pairs->len)
    {
      kiln_volume_view_set_pair_overlay (self->view, FALSE, NULL, NULL, NULL, 0);
      gtk_label_set_label (self->readout_label,
                           self->picked ? _("Now click the second particle") : "");
      return;
    }
  p = g_ptr_array_index (self->pairs, gtk_list_box_row_get_index (row));
  at = &p->at[self->tp];
  kiln_volume_view_set_selection (self->view, p->a, p->b);
  if (!at->measured)
    {
      kiln_volume_view_set_pair_overlay (self->view, FALSE, NULL, NULL, NULL, 0);
      text = g_strdup_printf (_("%s (%u–%u): not measured at this time point"), p->name, p->a, p->b);
      gtk_label_set_label (self->readout_label, text);
      return;
    }
  kiln_volume_view_set_pair_overlay (self->view, TRUE, at->centre_a, at->centre_b, at->neck,
                                     at->m.value[KILN_MEASURE_NECK_RADIUS_3D]);
#define V(k) at->m.value[KILN_MEASURE_##k]
#define E(k) (isfinite (at->m.error[KILN_MEASURE_##k]) ? at->m.error[KILN_MEASURE_##k] : 0.0)
  text = g_strdup_printf (_("<b>%s</b> (particles %u and %u)\n"
                            "r<sub>n</sub> %.1f ± %.1f nm   r<sub>p</sub> %.1f ± %.1f nm   H/W %.2f\n"
                            "d<sub>xy</sub> %.1f nm   d<sub>z</sub> %.1f nm   d %.1f ± %.1f nm\n"
                            "3D: neck radius %.1f nm, distance %.1f nm, radius %.1f nm"),
                          p->name, p->a, p->b, V (R_N), E (R_N), V (R_P), E (R_P), V (H_OVER_W),
                          V (D_XY), V (D_Z), V (D), E (D),
                          V (NECK_RADIUS_3D), V (DISTANCE_3D), V (RADIUS_3D));
#undef V
#undef E
  if (at->has_truth && self->show_truth)
    {
      /* teaching overlay: the simulator's truth beside the measured values, with the error */
      GString *str = g_string_new (text);
      const struct { KilnMeasureValue v; const char *name; const char *unit; } rows[] = {
        { KILN_MEASURE_R_N, "r<sub>n</sub>", " nm" }, { KILN_MEASURE_R_P, "r<sub>p</sub>", " nm" },
        { KILN_MEASURE_D, "d", " nm" }, { KILN_MEASURE_D_XY, "d<sub>xy</sub>", " nm" },
        { KILN_MEASURE_D_Z, "d<sub>z</sub>", " nm" }, { KILN_MEASURE_H_OVER_W, "H/W", "" },
        { KILN_MEASURE_NECK_RADIUS_3D, _("3D neck radius"), " nm" },
      };
      g_string_append_printf (str, "\n<b>%s</b>", _("Truth (simulation) · measured − true:"));
      for (guint k = 0; k < G_N_ELEMENTS (rows); k++)
        {
          double truth = at->truth[rows[k].v], meas = at->m.value[rows[k].v];
          if (!isfinite (truth))
            continue;
          g_string_append_printf (str, "%s%s %.*f%s (%+.*f)", k % 3 == 0 ? "\n" : "   ", rows[k].name,
                                  rows[k].v == KILN_MEASURE_H_OVER_W ? 2 : 1, truth, rows[k].unit,
                                  rows[k].v == KILN_MEASURE_H_OVER_W ? 2 : 1, meas - truth);
        }
      gtk_label_set_markup (self->readout_label, str->str);
      g_string_free (str, TRUE);
      return;
    }
  gtk_label_set_markup (self->readout_label, text);
}

static void
update_plots (KilnAnalyzePanel *self)
{
  double r_p_sum = 0;
  guint r_p_n = 0;

  kiln_plot_clear (self->plot_rn);
  kiln_plot_clear (self->plot_d);
  kiln_plot_clear (self->plot_model);
  for (guint i = 0; i < self->pairs->len; i++)
    {
      Pair *p = g_ptr_array_index (self->pairs, i);
      g_autofree double *t = g_new (double, self->n_tp);
      g_autofree double *rn = g_new (double, self->n_tp);
      g_autofree double *rn_e = g_new (double, self->n_tp);
      g_autofree double *dd = g_new (double, self->n_tp);
      g_autofree double *dd_e = g_new (double, self->n_tp);
      g_autofree double *d = g_new (double, self->n_tp);
      g_autofree double *rna = g_new (double, self->n_tp);

      for (guint k = 0; k < self->n_tp; k++)
        {
          PairAt *at = &p->at[k];
          double r_p = at->m.value[KILN_MEASURE_R_P];

          t[k] = kiln_document_get_time_s (self->document, k);
          if (!isfinite (t[k]))
            t[k] = k;
          rn[k] = rn_e[k] = dd[k] = dd_e[k] = d[k] = rna[k] = NAN;
          if (!at->measured || !(r_p > 0))
            continue;
          rn[k] = at->m.value[KILN_MEASURE_R_N] / r_p;
          rn_e[k] = at->m.error[KILN_MEASURE_R_N] / r_p;
          dd[k] = at->m.value[KILN_MEASURE_D] / (2 * r_p);
          dd_e[k] = at->m.error[KILN_MEASURE_D] / (2 * r_p);
          d[k] = at->m.value[KILN_MEASURE_D];
          rna[k] = at->m.value[KILN_MEASURE_R_N];
          r_p_sum += r_p;
          r_p_n++;
        }
      kiln_plot_add_series (self->plot_rn, p->name, KILN_PLOT_POINTS, p->a, t, rn, rn_e, self->n_tp);
      kiln_plot_add_series (self->plot_d, p->name, KILN_PLOT_POINTS, p->a, t, dd, dd_e, self->n_tp);
      kiln_plot_add_series (self->plot_model, p->name, KILN_PLOT_POINTS, p->a, d, rna, NULL, self->n_tp);
      if (self->show_truth)
        {
          /* the simulator's true curves of the same pair (teaching overlay) */
          guint n_truth = 0;
          for (guint k = 0; k < self->n_tp; k++)
            {
              PairAt *at = &p->at[k];
              double r_p = at->truth[KILN_MEASURE_R_P];
              rn[k] = dd[k] = d[k] = rna[k] = NAN;
              if (!at->has_truth || !(r_p > 0))
                continue;
              rn[k] = at->truth[KILN_MEASURE_R_N] / r_p;
              dd[k] = at->truth[KILN_MEASURE_D] / (2 * r_p);
              d[k] = at->truth[KILN_MEASURE_D];
              rna[k] = at->truth[KILN_MEASURE_R_N];
              n_truth++;
            }
          if (n_truth > 0)
            {
              g_autofree char *name = g_strdup_printf (_("%s true"), p->name);
              kiln_plot_add_series (self->plot_rn, name, KILN_PLOT_LINE, p->a, t, rn, NULL, self->n_tp);
              kiln_plot_add_series (self->plot_d, name, KILN_PLOT_LINE, p->a, t, dd, NULL, self->n_tp);
              kiln_plot_add_series (self->plot_model, name, KILN_PLOT_LINE, p->a, d, rna, NULL, self->n_tp);
            }
        }
    }
  if (r_p_n > 0)
    {
      double d[64], rn[64];
      kiln_neck_model_curve (r_p_sum / r_p_n, 64, d, rn);
      kiln_plot_add_series (self->plot_model, _("cylindrical-neck model"), KILN_PLOT_LINE, 0, d, rn, NULL, 64);
    }
  {
    double t = kiln_document_get_time_s (self->document, self->tp);
    kiln_plot_set_marker (self->plot_rn, isfinite (t) ? t : self->tp);
    kiln_plot_set_marker (self->plot_d, isfinite (t) ? t : self->tp);
  }
}

static void
on_measured (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(KilnAnalyzePanel) self = user_data;
  MeasureJob *job = g_task_get_task_data (G_TASK (result));

  self->pending--;
  if (!g_task_propagate_boolean (G_TASK (result), NULL) || job->pair >= self->pairs->len)
    return;
  {
    Pair *p = g_ptr_array_index (self->pairs, job->pair);
    if (p->a == job->a && p->b == job->b)
      memcpy (p->at, job->at, sizeof (PairAt) * job->n_tp);
    for (guint t = 0; t < job->n_tp; t++)
      if (job->at[t].has_truth)
        gtk_widget_set_sensitive (GTK_WIDGET (self->truth_check), TRUE);
  }
  update_plots (self);
  update_readout (self);
}

static void
on_name_changed (GtkEditable      *editable,
                 GParamSpec       *pspec,
                 KilnAnalyzePanel *self)
{
  guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (editable), "pair-index"));

  if (i < self->pairs->len)
    {
      Pair *p = g_ptr_array_index (self->pairs, i);
      g_free (p->name);
      p->name = g_strdup (gtk_editable_get_text (editable));
      update_plots (self);
      update_readout (self);
    }
}

/* The truth folder of time point @t (simulated experiments), or NULL. */
static char *
dup_truth_dir (KilnAnalyzePanel *self,
               guint             t)
{
  KilnExperiment *exp = kiln_document_get_experiment (self->document);
  KilnExperimentTimePoint *etp;

  if (exp == NULL || exp->dir == NULL || t >= exp->time_points->len)
    return NULL;
  etp = g_ptr_array_index (exp->time_points, t);
  return etp->truth ? g_build_filename (exp->dir, etp->truth, NULL) : NULL;
}

static void
start_measure (KilnAnalyzePanel *self,
               guint             index)
{
  g_autoptr(GTask) task = NULL;
  Pair *p = g_ptr_array_index (self->pairs, index);
  MeasureJob *job = g_new0 (MeasureJob, 1);

  p->deferred = FALSE;
  job->pair = index;
  job->a = p->a;
  job->b = p->b;
  job->n_tp = self->n_tp;
  job->labels_paths = g_new0 (char *, MAX (self->n_tp, 1));
  job->labels_mem = g_new0 (KilnLabelVolume *, MAX (self->n_tp, 1));
  job->truth_dirs = g_new0 (char *, MAX (self->n_tp, 1));
  job->pair_labels = g_new0 (guint32, 2 * MAX (self->n_tp, 1));
  for (guint t = 0; t < self->n_tp; t++)
    {
      KilnLabelVolume *mem = kiln_document_get_labels (self->document, t);
      job->labels_paths[t] = kiln_document_dup_labels_path (self->document, t);
      job->labels_mem[t] = mem ? kiln_label_volume_ref (mem) : NULL;
      job->truth_dirs[t] = dup_truth_dir (self, t);
      /* tracked ids → this time point's labels (identity without tracking) */
      job->pair_labels[2 * t] = self->tracking ? kiln_tracking_label_of (self->tracking, t, p->a) : p->a;
      job->pair_labels[2 * t + 1] = self->tracking ? kiln_tracking_label_of (self->tracking, t, p->b) : p->b;
    }
  task = g_task_new (NULL, self->cancellable, on_measured, g_object_ref (self));
  g_task_set_task_data (task, job, (GDestroyNotify) measure_job_free);
  self->pending++;
  g_task_run_in_thread (task, measure_thread);
}

guint
kiln_analyze_panel_add_pair (KilnAnalyzePanel *self,
                             guint32           a,
                             guint32           b)
{
  Pair *p = g_new0 (Pair, 1);
  GtkWidget *row, *box, *name, *ids;
  g_autofree char *ids_text = NULL;
  guint index = self->pairs->len;

  p->name = g_strdup_printf ("P%u", index + 1);
  p->a = MIN (a, b);
  p->b = MAX (a, b);
  p->at = g_new0 (PairAt, MAX (self->n_tp, 1));
  g_ptr_array_add (self->pairs, p);

  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  name = gtk_editable_label_new (p->name);
  gtk_widget_set_tooltip_text (name, _("Double-click to rename the pair"));
  gtk_widget_set_hexpand (name, TRUE);
  g_object_set_data (G_OBJECT (name), "pair-index", GUINT_TO_POINTER (index));
  g_signal_connect (name, "notify::text", G_CALLBACK (on_name_changed), self);
  ids_text = g_strdup_printf (_("particles %u–%u"), p->a, p->b);
  ids = gtk_label_new (ids_text);
  gtk_widget_add_css_class (ids, "dim-label");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), ids);
  row = gtk_list_box_row_new ();
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_append (self->pairs_list, row);
  gtk_list_box_select_row (self->pairs_list, GTK_LIST_BOX_ROW (row));

  if (self->tracking_pending)
    p->deferred = TRUE;   /* measured once the particles are tracked */
  else
    start_measure (self, index);
  update_readout (self);
  return index;
}

static void
on_label_picked (KilnVolumeView   *view,
                 guint             label,
                 KilnAnalyzePanel *self)
{
  if (label == 0)
    {
      self->picked = 0;
      kiln_volume_view_set_selection (view, 0, 0);
      gtk_list_box_unselect_all (self->pairs_list);
      update_readout (self);
      return;
    }
  if (self->picked == 0 || self->picked == label)
    {
      self->picked = label;
      gtk_list_box_unselect_all (self->pairs_list);
      kiln_volume_view_set_selection (view, label, 0);
      update_readout (self);
      return;
    }
  kiln_analyze_panel_add_pair (self, self->picked, label);
  self->picked = 0;
}

static void
apply_label_map (KilnAnalyzePanel *self)
{
  GArray *map = self->maps != NULL && self->tp < self->maps->len ? g_ptr_array_index (self->maps, self->tp) : NULL;

  if (map != NULL)
    kiln_volume_view_set_label_map (self->view, (const guint32 *) map->data, map->len);
  else
    kiln_volume_view_set_label_map (self->view, NULL, 0);
}

static void
show_volume (KilnAnalyzePanel *self,
             KilnVolumePair   *pair)
{
  double lo, hi;

  kiln_volume_view_set_volume (self->view, pair->volume, pair->labels);
  apply_label_map (self);
  kiln_volume_view_get_range (self->view, &lo, &hi);
  g_signal_handlers_block_by_func (self->threshold_adjustment, on_threshold_changed, self);
  gtk_adjustment_configure (self->threshold_adjustment,
                            CLAMP (gtk_adjustment_get_value (self->threshold_adjustment), lo, hi),
                            lo, hi, (hi - lo) / 100, (hi - lo) / 10, 0);
  g_signal_handlers_unblock_by_func (self->threshold_adjustment, on_threshold_changed, self);
  kiln_volume_view_set_threshold (self->view, gtk_adjustment_get_value (self->threshold_adjustment));
  gtk_label_set_label (self->hint_label, pair->labels
                       ? (self->tracking_pending ? _("Tracking the particles over time…")
                                                 : _("Click two particles to measure their neck and distance"))
                       : _("This volume has no particle labels yet: segment it first"));
  update_readout (self);
  if (self->timelapse_dir != NULL)
    g_timeout_add (300, timelapse_capture, self);   /* after the new volume has been drawn */
}

typedef struct
{
  KilnAnalyzePanel *self;
  GCancellable     *cancellable;   /* the document's at the request */
  guint             tp;
  gboolean          show;      /* FALSE: a neighbour loaded ahead */
} LoadData;

static void prefetch_neighbours (KilnAnalyzePanel *self);

static void
on_volume_loaded (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  LoadData *ld = user_data;
  g_autoptr(KilnAnalyzePanel) self = ld->self;
  g_autoptr(GError) error = NULL;
  KilnVolumePair *pair = kiln_document_load_volume_finish (KILN_DOCUMENT (source), result, &error);
  guint tp = ld->tp;
  gboolean show = ld->show;
  gboolean stale = ld->cancellable != self->cancellable;   /* loaded for a previous document */

  g_object_unref (ld->cancellable);
  g_free (ld);
  if (stale)
    {
      g_clear_pointer (&pair, kiln_volume_pair_free);
      return;
    }
  if (pair == NULL)
    {
      if (show && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->hint_label, error->message);
      return;
    }
  if (self->loaded == NULL || tp >= self->loaded->len || self->document == NULL)
    {
      kiln_volume_pair_free (pair);
      return;
    }
  if (g_ptr_array_index (self->loaded, tp) == NULL)
    g_ptr_array_index (self->loaded, tp) = pair;
  else
    {
      kiln_volume_pair_free (pair);
      pair = g_ptr_array_index (self->loaded, tp);
    }
  if (show && tp == self->tp)
    {
      show_volume (self, pair);
      prefetch_neighbours (self);
    }
  else if (pair->volume != NULL)
    kiln_volume_view_prefetch (self->view, pair->volume, pair->labels);
}

static void
load_time_point (KilnAnalyzePanel *self,
                 guint             tp,
                 gboolean          show)
{
  LoadData *ld = g_new0 (LoadData, 1);

  ld->self = g_object_ref (self);
  ld->cancellable = g_object_ref (self->cancellable);
  ld->tp = tp;
  ld->show = show;
  kiln_document_load_volume_async (self->document, tp, self->cancellable, on_volume_loaded, ld);
}

/* Keep the current time point and its neighbours (the next one wraps, as playing does)
 * loaded, and their textures uploaded ahead in the view; release the others. */
static void
prefetch_neighbours (KilnAnalyzePanel *self)
{
  guint next = (self->tp + 1) % self->n_tp, prev = (self->tp + self->n_tp - 1) % self->n_tp;

  for (guint t = 0; t < self->loaded->len; t++)
    if (t != self->tp && t != next && t != prev && g_ptr_array_index (self->loaded, t) != NULL)
      {
        kiln_volume_pair_free (g_ptr_array_index (self->loaded, t));
        g_ptr_array_index (self->loaded, t) = NULL;
      }
  for (guint k = 0; k < 2; k++)
    {
      guint t = k == 0 ? next : prev;
      KilnVolumePair *pair = g_ptr_array_index (self->loaded, t);
      if (t == self->tp)
        continue;
      if (pair == NULL)
        load_time_point (self, t, FALSE);
      else if (pair->volume != NULL)
        kiln_volume_view_prefetch (self->view, pair->volume, pair->labels);
    }
}

static void
show_time_point (KilnAnalyzePanel *self)
{
  g_autofree char *label = NULL;
  KilnVolumePair *pair;

  if (self->document == NULL || self->n_tp == 0)
    return;
  label = kiln_document_dup_time_point_label (self->document, self->tp);
  gtk_label_set_label (self->time_label, label);
  pair = g_ptr_array_index (self->loaded, self->tp);
  if (pair != NULL && pair->volume != NULL)
    {
      show_volume (self, pair);   /* loaded ahead: its textures are (being) uploaded */
      prefetch_neighbours (self);
    }
  else
    load_time_point (self, self->tp, TRUE);
  update_plots (self);
  update_readout (self);
}

static void
on_time_changed (GtkAdjustment    *adjustment,
                 KilnAnalyzePanel *self)
{
  guint t = (guint) lround (gtk_adjustment_get_value (adjustment));

  if (t == self->tp || t >= self->n_tp)
    return;
  self->tp = t;
  show_time_point (self);
}

static gboolean
play_step (gpointer data)
{
  KilnAnalyzePanel *self = data;
  guint next = self->n_tp > 0 ? (self->tp + 1) % self->n_tp : 0;

  gtk_adjustment_set_value (self->time_adjustment, next);
  return G_SOURCE_CONTINUE;
}

static void
on_play_toggled (GtkToggleButton  *button,
                 KilnAnalyzePanel *self)
{
  g_clear_handle_id (&self->play_id, g_source_remove);
  if (gtk_toggle_button_get_active (button))
    self->play_id = g_timeout_add (900, play_step, self);
  /* reduced resolution while playing, a full-quality frame when paused */
  kiln_volume_view_set_interactive (self->view, gtk_toggle_button_get_active (button));
  gtk_button_set_icon_name (GTK_BUTTON (button), gtk_toggle_button_get_active (button)
                            ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
}

static void
on_mode_changed (GtkDropDown      *dropdown,
                 GParamSpec       *pspec,
                 KilnAnalyzePanel *self)
{
  kiln_volume_view_set_mode (self->view, gtk_drop_down_get_selected (dropdown) == 1
                             ? KILN_RENDER_VOLUME : KILN_RENDER_ISOSURFACE);
}

static void
on_threshold_changed (GtkAdjustment    *adjustment,
                      KilnAnalyzePanel *self)
{
  kiln_volume_view_set_threshold (self->view, gtk_adjustment_get_value (adjustment));
}

static void
on_hide_toggled (GtkCheckButton   *check,
                 KilnAnalyzePanel *self)
{
  kiln_volume_view_set_hide_unlabelled (self->view, gtk_check_button_get_active (check));
}

static void
on_truth_toggled (GtkCheckButton   *check,
                  KilnAnalyzePanel *self)
{
  kiln_analyze_panel_set_show_truth (self, gtk_check_button_get_active (check));
}

static void
on_pair_selected (GtkListBox       *list,
                  GtkListBoxRow    *row,
                  KilnAnalyzePanel *self)
{
  if (self->view == NULL)   /* rows removed while the template is disposed */
    return;
  if (row == NULL)
    kiln_volume_view_set_selection (self->view, self->picked, 0);
  update_readout (self);
}

static void
preset_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  KilnAnalyzePanel *self = KILN_ANALYZE_PANEL (widget);
  const char *name = g_variant_get_string (param, NULL);
  KilnViewPreset preset = KILN_VIEW_OBLIQUE;

  if (g_str_equal (name, "top"))
    preset = KILN_VIEW_TOP;
  else if (g_str_equal (name, "front"))
    preset = KILN_VIEW_FRONT;
  else if (g_str_equal (name, "side"))
    preset = KILN_VIEW_SIDE;
  kiln_volume_view_set_preset (self->view, preset);
}

static void
on_save_response (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  KilnAnalyzePanel *self = KILN_ANALYZE_PANEL (user_data);
  int kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "kind"));
  gboolean png = kind == 1, svg = kind == 2, view = kind == 3;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;
      gboolean ok;

      if (png || svg)
        {
          const char *ext = png ? ".png" : ".svg";
          g_autofree char *base = g_str_has_suffix (path, ext) ? g_strndup (path, strlen (path) - 4) : g_strdup (path);
          g_autofree char *p1 = g_strdup_printf ("%s-neck%s", base, ext);
          g_autofree char *p2 = g_strdup_printf ("%s-distance%s", base, ext);
          g_autofree char *p3 = g_strdup_printf ("%s-model%s", base, ext);
          if (png)
            ok = kiln_plot_save_png (self->plot_rn, p1, 800, 560, &error) &&
                 kiln_plot_save_png (self->plot_d, p2, 800, 560, &error) &&
                 kiln_plot_save_png (self->plot_model, p3, 800, 560, &error);
          else
            ok = kiln_plot_save_svg (self->plot_rn, p1, 800, 560, &error) &&
                 kiln_plot_save_svg (self->plot_d, p2, 800, 560, &error) &&
                 kiln_plot_save_svg (self->plot_model, p3, 800, 560, &error);
        }
      else if (view)
        ok = save_view_png (self, path, &error);
      else
        ok = kiln_analyze_panel_export_csv (self, path, &error);
      if (!ok)
        gtk_label_set_label (self->hint_label, error->message);
    }
  g_object_unref (dialog);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  KilnAnalyzePanel *self = KILN_ANALYZE_PANEL (widget);
  int kind = g_str_equal (action_name, "analyze.export-png") ? 1
           : g_str_equal (action_name, "analyze.export-svg") ? 2
           : g_str_equal (action_name, "analyze.export-view") ? 3 : 0;
  static const char *titles[] = { N_("Export Measurements"), N_("Export Plots"), N_("Export Plots"),
                                  N_("Export 3D View") };
  static const char *names[] = { "pairs.csv", "pairs.png", "pairs.svg", "view.png" };
  GtkFileChooserNative *dialog;
  GtkRoot *root = gtk_widget_get_root (widget);

  dialog = gtk_file_chooser_native_new (_(titles[kind]),
                                        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), names[kind]);
  g_object_set_data (G_OBJECT (dialog), "kind", GINT_TO_POINTER (kind));
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

gboolean
kiln_analyze_panel_export_csv (KilnAnalyzePanel  *self,
                               const char        *path,
                               GError           **error)
{
  static const char *columns[] = {
    "time_point", "pt_time_s", "temperature_C", "pair", "label_a", "label_b",
    "r_n_nm", "r_n_err_nm", "d_xy_nm", "d_xy_err_nm", "d_z_nm", "d_z_err_nm", "d_nm", "d_err_nm",
    "r_p_nm", "r_p_err_nm", "h_over_w", "h_over_w_err",
    "neck_radius_3d_nm", "distance_3d_nm", "radius_3d_nm", "aspect_3d", NULL
  };
  static const KilnMeasureValue with_err[] = {
    KILN_MEASURE_R_N, KILN_MEASURE_D_XY, KILN_MEASURE_D_Z, KILN_MEASURE_D, KILN_MEASURE_R_P,
    KILN_MEASURE_H_OVER_W,
  };
  g_autoptr(KilnCsv) csv = kiln_csv_new (columns);

  for (guint i = 0; i < self->pairs->len; i++)
    {
      Pair *p = g_ptr_array_index (self->pairs, i);
      for (guint t = 0; t < self->n_tp; t++)
        {
          PairAt *at = &p->at[t];
          char cells[22][G_ASCII_DTOSTR_BUF_SIZE];
          const char *row[23];
          guint c = 0;

#define NUM(v) (isfinite (v) ? g_ascii_formatd (cells[c], sizeof cells[c], "%.6g", (v)) : "")
          g_snprintf (cells[c], sizeof cells[c], "%u", t + 1); row[c] = cells[c]; c++;
          row[c] = NUM (kiln_document_get_time_s (self->document, t)); c++;
          row[c] = NUM (kiln_document_get_temperature_c (self->document, t)); c++;
          row[c++] = p->name;
          g_snprintf (cells[c], sizeof cells[c], "%u", p->a); row[c] = cells[c]; c++;
          g_snprintf (cells[c], sizeof cells[c], "%u", p->b); row[c] = cells[c]; c++;
          for (guint k = 0; k < G_N_ELEMENTS (with_err); k++)
            {
              row[c] = at->measured ? NUM (at->m.value[with_err[k]]) : ""; c++;
              row[c] = at->measured ? NUM (at->m.error[with_err[k]]) : ""; c++;
            }
          row[c] = at->measured ? NUM (at->m.value[KILN_MEASURE_NECK_RADIUS_3D]) : ""; c++;
          row[c] = at->measured ? NUM (at->m.value[KILN_MEASURE_DISTANCE_3D]) : ""; c++;
          row[c] = at->measured ? NUM (at->m.value[KILN_MEASURE_RADIUS_3D]) : ""; c++;
          row[c] = at->measured ? NUM (at->m.value[KILN_MEASURE_ASPECT_3D]) : ""; c++;
          row[c] = NULL;
#undef NUM
          kiln_csv_add_row_str (csv, row);
        }
    }
  return kiln_csv_save (csv, path, error);
}

static void
on_view_changed (KilnVolumeView   *view,
                 KilnAnalyzePanel *self)
{
  static const double nice[] = { 1, 2, 5 };
  double width_nm = kiln_volume_view_get_view_width_nm (view);
  int w = gtk_widget_get_width (GTK_WIDGET (view));
  double nm_per_px, target, bar = 0;
  g_autofree char *text = NULL;

  if (!(width_nm > 0) || w <= 0)
    return;
  nm_per_px = width_nm / w;
  target = nm_per_px * 120;
  for (double decade = pow (10, floor (log10 (target))); bar == 0; decade /= 10)
    for (int i = 2; i >= 0; i--)
      if (nice[i] * decade <= target)
        {
          bar = nice[i] * decade;
          break;
        }
  gtk_widget_set_size_request (self->scale_bar, (int) lround (bar / nm_per_px), 4);
  text = bar >= 1000 ? g_strdup_printf ("%g µm", bar / 1000) : g_strdup_printf ("%g nm", bar);
  gtk_label_set_label (self->scale_label, text);
}

static void
update_slices (KilnAnalyzePanel *self)
{
  guint axis = gtk_drop_down_get_selected (self->slice_dropdown);   /* 0 none, 1 x, 2 y, 3 z */
  double pos = gtk_adjustment_get_value (self->slice_adjustment);

  kiln_volume_view_set_slices (self->view, axis == 1 ? pos : -1, axis == 2 ? pos : -1, axis == 3 ? pos : -1);
}

static void
on_slice_changed (GObject          *object,
                  GParamSpec       *pspec,
                  KilnAnalyzePanel *self)
{
  update_slices (self);
}

static void
on_slice_position (GtkAdjustment    *adjustment,
                   KilnAnalyzePanel *self)
{
  update_slices (self);
}

static gboolean
save_view_png (KilnAnalyzePanel  *self,
               const char        *path,
               GError           **error)
{
  g_autoptr(GdkTexture) texture = kiln_volume_view_render_texture (self->view);

  if (texture == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The 3D view cannot be rendered (no OpenGL)"));
      return FALSE;
    }
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
timelapse_capture (gpointer data)
{
  KilnAnalyzePanel *self = data;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (self->timelapse_dir == NULL)
    return G_SOURCE_REMOVE;
  name = g_strdup_printf ("frame-%03u.png", self->timelapse_tp + 1);
  path = g_build_filename (self->timelapse_dir, name, NULL);
  if (!save_view_png (self, path, &error))
    {
      gtk_label_set_label (self->hint_label, error->message);
      g_clear_pointer (&self->timelapse_dir, g_free);
      return G_SOURCE_REMOVE;
    }
  if (self->timelapse_tp + 1 >= self->n_tp)
    {
      g_autofree char *msg = g_strdup_printf (_("Saved %u frames in %s"), self->n_tp, self->timelapse_dir);
      gtk_label_set_label (self->hint_label, msg);
      g_clear_pointer (&self->timelapse_dir, g_free);
      return G_SOURCE_REMOVE;
    }
  self->timelapse_tp++;
  gtk_adjustment_set_value (self->time_adjustment, self->timelapse_tp);
  return G_SOURCE_REMOVE;
}

/* Start writing one PNG per time point (frame-001.png …) of the 3D view into @dir. */
void
kiln_analyze_panel_export_timelapse (KilnAnalyzePanel *self,
                                     const char       *dir)
{
  g_return_if_fail (KILN_IS_ANALYZE_PANEL (self));
  if (self->n_tp == 0)
    return;
  g_free (self->timelapse_dir);
  self->timelapse_dir = g_strdup (dir);
  self->timelapse_tp = 0;
  if (self->tp == 0)
    show_time_point (self);
  else
    gtk_adjustment_set_value (self->time_adjustment, 0);
}

gboolean
kiln_analyze_panel_is_exporting (KilnAnalyzePanel *self)
{
  return self->timelapse_dir != NULL;
}

gboolean
kiln_analyze_panel_save_view_png (KilnAnalyzePanel  *self,
                                  const char        *path,
                                  GError           **error)
{
  return save_view_png (self, path, error);
}

static void
on_folder_response (GtkNativeDialog *dialog,
                    int              response,
                    gpointer         user_data)
{
  KilnAnalyzePanel *self = KILN_ANALYZE_PANEL (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      if (path != NULL)
        kiln_analyze_panel_export_timelapse (self, path);
    }
  g_object_unref (dialog);
}

static void
export_frames_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_("Export Time-Lapse Frames To"),
                                        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Export"), _("_Cancel"));
  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_response), widget);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---------------------------------------------------------------- GObject */

static void
kiln_analyze_panel_dispose (GObject *object)
{
  KilnAnalyzePanel *self = KILN_ANALYZE_PANEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->play_id, g_source_remove);
  g_clear_pointer (&self->timelapse_dir, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_ANALYZE_PANEL);
  G_OBJECT_CLASS (kiln_analyze_panel_parent_class)->dispose (object);
}

static void
kiln_analyze_panel_finalize (GObject *object)
{
  KilnAnalyzePanel *self = KILN_ANALYZE_PANEL (object);

  g_clear_object (&self->document);
  g_clear_object (&self->cancellable);
  g_free (self->timelapse_dir);
  g_ptr_array_unref (self->pairs);
  g_clear_pointer (&self->tracking, kiln_tracking_free);
  g_clear_pointer (&self->maps, g_ptr_array_unref);
  g_clear_pointer (&self->loaded, g_ptr_array_unref);
  G_OBJECT_CLASS (kiln_analyze_panel_parent_class)->finalize (object);
}

static void
kiln_analyze_panel_class_init (KilnAnalyzePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_analyze_panel_dispose;
  object_class->finalize = kiln_analyze_panel_finalize;

  g_type_ensure (KILN_TYPE_VOLUME_VIEW);
  g_type_ensure (KILN_TYPE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/kiln_tomo/Kiln/kiln-analyze-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, paned);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, readout_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, hint_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, time_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, time_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, play_button);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, mode_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, hide_check);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, truth_check);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, pairs_list);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, plot_rn);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, plot_d);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, plot_model);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, scale_label);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, scale_bar);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, slice_dropdown);
  gtk_widget_class_bind_template_child (widget_class, KilnAnalyzePanel, slice_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, on_view_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_slice_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_slice_position);
  gtk_widget_class_bind_template_callback (widget_class, on_label_picked);
  gtk_widget_class_bind_template_callback (widget_class, on_time_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_play_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_mode_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_threshold_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_hide_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_truth_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_pair_selected);

  gtk_widget_class_install_action (widget_class, "analyze.preset", "s", preset_action);
  gtk_widget_class_install_action (widget_class, "analyze.export-csv", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "analyze.export-png", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "analyze.export-svg", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "analyze.export-view", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "analyze.export-frames", NULL, export_frames_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_analyze_panel_init (KilnAnalyzePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->pairs = g_ptr_array_new_with_free_func (pair_free);
  self->loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_volume_pair_free);
  self->show_truth = TRUE;
  self->cancellable = g_cancellable_new ();
  kiln_volume_view_set_hide_unlabelled (self->view, TRUE);
  kiln_plot_set_labels (self->plot_rn, _("Neck growth"), _("PT time (s)"), _("r_n / r_p"));
  kiln_plot_set_labels (self->plot_d, _("Densification"), _("PT time (s)"), _("d / 2r_p"));
  kiln_plot_set_labels (self->plot_model, _("Neck against distance"), _("d (nm)"), _("r_n (nm)"));
}

GtkWidget *
kiln_analyze_panel_new (void)
{
  return g_object_new (KILN_TYPE_ANALYZE_PANEL, NULL);
}

static void
on_tracked (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(KilnAnalyzePanel) self = user_data;
  g_autoptr(GError) error = NULL;
  TrackJob *job = g_task_get_task_data (G_TASK (result));

  self->pending--;
  if (g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    return;   /* the tracking of a previous document */
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* identities stay the labels of each time point */
      g_autofree char *msg = g_strdup_printf (_("Particles are not tracked (%s): colours and pairs follow "
                                                "each time point's labels"), error->message);
      gtk_label_set_label (self->hint_label, msg);
    }
  else
    {
      self->tracking = g_steal_pointer (&job->tracking);
      self->maps = g_steal_pointer (&job->maps);
      gtk_label_set_label (self->hint_label, _("Click two particles to measure their neck and distance"));
    }
  self->tracking_pending = FALSE;
  apply_label_map (self);
  for (guint i = 0; i < self->pairs->len; i++)
    if (((Pair *) g_ptr_array_index (self->pairs, i))->deferred)
      start_measure (self, i);
  update_readout (self);
}

/* Track the particles over all time points (in a worker), so that a particle keeps its id
 * and colour at every time point. */
static void
start_tracking (KilnAnalyzePanel *self)
{
  g_autoptr(GTask) task = NULL;
  TrackJob *job;

  if (self->n_tp == 0)
    return;
  job = g_new0 (TrackJob, 1);
  job->n_tp = self->n_tp;
  job->labels_paths = g_new0 (char *, self->n_tp);
  job->labels_mem = g_new0 (KilnLabelVolume *, self->n_tp);
  for (guint t = 0; t < self->n_tp; t++)
    {
      KilnLabelVolume *mem = kiln_document_get_labels (self->document, t);
      job->labels_paths[t] = kiln_document_dup_labels_path (self->document, t);
      job->labels_mem[t] = mem ? kiln_label_volume_ref (mem) : NULL;
    }
  task = g_task_new (NULL, self->cancellable, on_tracked, g_object_ref (self));
  g_task_set_task_data (task, job, (GDestroyNotify) track_job_free);
  self->tracking_pending = TRUE;
  self->pending++;
  g_task_run_in_thread (task, track_thread);
}

void
kiln_analyze_panel_set_document (KilnAnalyzePanel *self,
                                 KilnDocument     *document)
{
  g_return_if_fail (KILN_IS_ANALYZE_PANEL (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_set_object (&self->document, document);
  g_ptr_array_set_size (self->pairs, 0);
  {
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->pairs_list))) != NULL)
      gtk_list_box_remove (self->pairs_list, child);
  }
  self->picked = 0;
  self->tp = 0;
  self->n_tp = document ? kiln_document_get_n_time_points (document) : 0;
  g_clear_pointer (&self->tracking, kiln_tracking_free);
  g_clear_pointer (&self->maps, g_ptr_array_unref);
  self->tracking_pending = FALSE;
  g_ptr_array_set_size (self->loaded, 0);
  g_ptr_array_set_size (self->loaded, self->n_tp);
  gtk_widget_set_sensitive (GTK_WIDGET (self->truth_check), FALSE);
  kiln_volume_view_set_label_map (self->view, NULL, 0);
  if (document != NULL)
    start_tracking (self);
  g_signal_handlers_block_by_func (self->time_adjustment, on_time_changed, self);
  gtk_adjustment_configure (self->time_adjustment, 0, 0, MAX (self->n_tp, 1) - 1, 1, 1, 0);
  g_signal_handlers_unblock_by_func (self->time_adjustment, on_time_changed, self);
  show_time_point (self);
}

void
kiln_analyze_panel_set_time_point (KilnAnalyzePanel *self,
                                   guint             index)
{
  gtk_adjustment_set_value (self->time_adjustment, index);
}

guint
kiln_analyze_panel_get_n_pairs (KilnAnalyzePanel *self)
{
  return self->pairs->len;
}

double
kiln_analyze_panel_get_value (KilnAnalyzePanel *self,
                              guint             pair,
                              guint             tp,
                              KilnMeasureValue  value)
{
  Pair *p;

  if (pair >= self->pairs->len || tp >= self->n_tp)
    return NAN;
  p = g_ptr_array_index (self->pairs, pair);
  return p->at[tp].measured ? p->at[tp].m.value[value] : NAN;
}

gboolean
kiln_analyze_panel_is_idle (KilnAnalyzePanel *self)
{
  return self->pending == 0;
}

/* Show the simulator's truth (readout and plot curves) for simulated experiments. */
void
kiln_analyze_panel_set_show_truth (KilnAnalyzePanel *self,
                                   gboolean          show)
{
  g_return_if_fail (KILN_IS_ANALYZE_PANEL (self));
  self->show_truth = show;
  if (gtk_check_button_get_active (self->truth_check) != show)
    gtk_check_button_set_active (self->truth_check, show);
  update_plots (self);
  update_readout (self);
}

double
kiln_analyze_panel_get_truth (KilnAnalyzePanel *self,
                              guint             pair,
                              guint             tp,
                              KilnMeasureValue  value)
{
  Pair *p;

  if (pair >= self->pairs->len || tp >= self->n_tp || value >= KILN_MEASURE_N_VALUES)
    return NAN;
  p = g_ptr_array_index (self->pairs, pair);
  return p->at[tp].has_truth ? p->at[tp].truth[value] : NAN;
}

guint32
kiln_analyze_panel_get_track_id (KilnAnalyzePanel *self,
                                 guint             tp,
                                 guint32           label)
{
  GArray *map;

  g_return_val_if_fail (KILN_IS_ANALYZE_PANEL (self), label);
  if (self->maps == NULL || tp >= self->maps->len || label == 0)
    return label;
  map = g_ptr_array_index (self->maps, tp);
  return label < map->len && g_array_index (map, guint32, label) != 0 ? g_array_index (map, guint32, label) : label;
}

const char *
kiln_analyze_panel_get_readout (KilnAnalyzePanel *self)
{
  g_return_val_if_fail (KILN_IS_ANALYZE_PANEL (self), NULL);
  return gtk_label_get_text (self->readout_label);
}

KilnPlot *
kiln_analyze_panel_get_plot (KilnAnalyzePanel *self,
                             guint             index)
{
  g_return_val_if_fail (KILN_IS_ANALYZE_PANEL (self), NULL);
  return index == 0 ? self->plot_rn : index == 1 ? self->plot_d : self->plot_model;
}
