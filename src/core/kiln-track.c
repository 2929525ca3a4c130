/* kiln-track.c — Hungarian matching of particles between time points
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-label.h"
#include "kiln-track.h"

#define HUNGARIAN_MAX 400

struct _KilnTracking
{
  KilnTrackParams  params;
  GPtrArray       *label_to_track;   /* per time point: GArray of guint32, index = label */
  GArray          *events;
  guint32          n_tracks;
  KilnLabelVolume *last;             /* labels of the last time point */
  GArray          *last_particles;
};

void
kiln_track_params_init (KilnTrackParams *params)
{
  params->max_distance_nm = 0;
  params->merge_fraction = 0.3;
}

KilnTracking *
kiln_tracking_new (const KilnTrackParams *params)
{
  KilnTracking *t = g_new0 (KilnTracking, 1);

  if (params != NULL)
    t->params = *params;
  else
    kiln_track_params_init (&t->params);
  t->label_to_track = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  t->events = g_array_new (FALSE, FALSE, sizeof (KilnTrackEvent));
  return t;
}

void
kiln_tracking_free (KilnTracking *tracking)
{
  if (tracking == NULL)
    return;
  g_ptr_array_unref (tracking->label_to_track);
  g_array_unref (tracking->events);
  g_clear_pointer (&tracking->last, kiln_label_volume_unref);
  g_clear_pointer (&tracking->last_particles, g_array_unref);
  g_free (tracking);
}

static void
add_event (KilnTracking       *t,
           guint               tp,
           KilnTrackEventKind  kind,
           guint32             track,
           guint32             into)
{
  KilnTrackEvent e = { tp, kind, track, into };
  g_array_append_val (t->events, e);
}

/* Hungarian algorithm (shortest augmenting paths with potentials) on a square n × n matrix;
 * row_to_col gets the permutation. */
static void
hungarian (const double *a,
           guint         n,
           int          *row_to_col)
{
  double *u = g_new0 (double, n + 1), *v = g_new0 (double, n + 1), *minv = g_new (double, n + 1);
  guint *p = g_new0 (guint, n + 1), *way = g_new0 (guint, n + 1);
  gboolean *used = g_new (gboolean, n + 1);

  for (guint i = 1; i <= n; i++)
    {
      guint j0 = 0;

      p[0] = i;
      for (guint j = 0; j <= n; j++)
        {
          minv[j] = HUGE_VAL;
          used[j] = FALSE;
        }
      do
        {
          guint i0 = p[j0], j1 = 0;
          double delta = HUGE_VAL;

          used[j0] = TRUE;
          for (guint j = 1; j <= n; j++)
            if (!used[j])
              {
                double cur = a[(gsize) (i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j])
                  {
                    minv[j] = cur;
                    way[j] = j0;
                  }
                if (minv[j] < delta)
                  {
                    delta = minv[j];
                    j1 = j;
                  }
              }
          for (guint j = 0; j <= n; j++)
            if (used[j])
              {
                u[p[j]] += delta;
                v[j] -= delta;
              }
            else
              minv[j] -= delta;
          j0 = j1;
        }
      while (p[j0] != 0);
      do
        {
          guint j1 = way[j0];
          p[j0] = p[j1];
          j0 = j1;
        }
      while (j0 != 0);
    }
  for (guint j = 1; j <= n; j++)
    if (p[j] != 0)
      row_to_col[p[j] - 1] = (int) j - 1;
  g_free (u);
  g_free (v);
  g_free (minv);
  g_free (p);
  g_free (way);
  g_free (used);
}

typedef struct
{
  double cost;
  guint  i, j;
} Cand;

static int
cmp_cand (const void *pa,
          const void *pb)
{
  const Cand *a = pa, *b = pb;
  return a->cost < b->cost ? -1 : a->cost > b->cost;
}

guint
kiln_assign_min_cost (const double *cost,
                      guint         n_rows,
                      guint         n_cols,
                      double        forbidden,
                      int          *row_to_col)
{
  guint n = MAX (n_rows, n_cols), assigned = 0;

  for (guint i = 0; i < n_rows; i++)
    row_to_col[i] = -1;
  if (n == 0)
    return 0;
  if (n <= HUNGARIAN_MAX)
    {
      /* pad to square; forbidden pairs cost more than any allowed assignment of all rows */
      double big = 1, *a;
      int *perm = g_new (int, n);

      for (gsize k = 0; k < (gsize) n_rows * n_cols; k++)
        if (cost[k] < forbidden)
          big += fabs (cost[k]);
      a = g_new (double, (gsize) n * n);
      for (guint i = 0; i < n; i++)
        for (guint j = 0; j < n; j++)
          {
            double c = (i < n_rows && j < n_cols) ? cost[(gsize) i * n_cols + j] : forbidden;
            a[(gsize) i * n + j] = c >= forbidden ? big : c;
          }
      hungarian (a, n, perm);
      for (guint i = 0; i < n_rows; i++)
        if (perm[i] >= 0 && (guint) perm[i] < n_cols &&
            cost[(gsize) i * n_cols + perm[i]] < forbidden)
          {
            row_to_col[i] = perm[i];
            assigned++;
          }
      g_free (a);
      g_free (perm);
    }
  else
    {
      GArray *c = g_array_new (FALSE, FALSE, sizeof (Cand));
      gboolean *col_used = g_new0 (gboolean, n_cols);

      for (guint i = 0; i < n_rows; i++)
        for (guint j = 0; j < n_cols; j++)
          if (cost[(gsize) i * n_cols + j] < forbidden)
            {
              Cand x = { cost[(gsize) i * n_cols + j], i, j };
              g_array_append_val (c, x);
            }
      qsort (c->data, c->len, sizeof (Cand), cmp_cand);
      for (guint k = 0; k < c->len; k++)
        {
          Cand *x = &g_array_index (c, Cand, k);
          if (row_to_col[x->i] < 0 && !col_used[x->j])
            {
              row_to_col[x->i] = (int) x->j;
              col_used[x->j] = TRUE;
              assigned++;
            }
        }
      g_array_free (c, TRUE);
      g_free (col_used);
    }
  return assigned;
}

gboolean
kiln_tracking_add (KilnTracking           *t,
                   const KilnLabelVolume  *labels,
                   GCancellable           *cancellable,
                   GError                **error)
{
  guint tp = t->label_to_track->len;
  g_autoptr(GArray) parts = NULL;
  GArray *map;
  guint32 n_now;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (t->last != NULL &&
      (t->last->nx != labels->nx || t->last->ny != labels->ny || t->last->nz != labels->nz))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "Time point %u has %u × %u × %u voxels, the previous one %u × %u × %u",
                   tp, labels->nx, labels->ny, labels->nz, t->last->nx, t->last->ny, t->last->nz);
      return FALSE;
    }
  parts = kiln_label_particles (labels);
  n_now = parts->len;
  map = g_array_sized_new (FALSE, TRUE, sizeof (guint32), n_now + 1);
  g_array_set_size (map, n_now + 1);

  if (t->last == NULL)
    {
      for (guint32 l = 1; l <= n_now; l++)
        if (g_array_index (parts, KilnParticle, l - 1).voxels > 0)
          {
            g_array_index (map, guint32, l) = l;
            t->n_tracks = MAX (t->n_tracks, l);
          }
    }
  else
    {
      GArray *prev_map = g_ptr_array_index (t->label_to_track, tp - 1);
      GArray *pp = t->last_particles;
      guint32 n_prev = pp->len;
      double vs = labels->voxel_size_nm > 0 ? labels->voxel_size_nm : 1.0;
      double max_d = t->params.max_distance_nm;
      gsize n = kiln_label_volume_n_voxels (labels);
      GHashTable *ov = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
      double *cost, *overlap_best_frac;
      guint32 *overlap_best;
      int *r2c;
      gboolean *now_used;
      const double forbidden = 1e30;
      GHashTableIter it;
      gpointer k, v;

      if (!(max_d > 0))
        {
          double sum = 0;
          guint cnt = 0;
          for (guint32 i = 0; i < n_prev; i++)
            if (g_array_index (pp, KilnParticle, i).voxels > 0)
              {
                sum += cbrt (3.0 * g_array_index (pp, KilnParticle, i).voxels / (4 * G_PI));
                cnt++;
              }
          max_d = cnt > 0 ? sum / cnt * vs : vs;
        }
      for (gsize i = 0; i < n; i++)
        {
          guint32 a = t->last->data[i], b = labels->data[i];
          gint64 key;
          guint64 *c;

          if (a == 0 || b == 0)
            continue;
          key = ((gint64) a << 32) | b;
          c = g_hash_table_lookup (ov, &key);
          if (c == NULL)
            {
              gint64 *kp = g_new (gint64, 1);
              *kp = key;
              c = g_new0 (guint64, 1);
              g_hash_table_insert (ov, kp, c);
            }
          (*c)++;
        }
      cost = g_new (double, (gsize) MAX (n_prev, 1) * MAX (n_now, 1));
      overlap_best = g_new0 (guint32, n_prev + 1);
      overlap_best_frac = g_new0 (double, n_prev + 1);
      for (guint32 i = 0; i < n_prev; i++)
        for (guint32 j = 0; j < n_now; j++)
          {
            const KilnParticle *a = &g_array_index (pp, KilnParticle, i);
            const KilnParticle *b = &g_array_index (parts, KilnParticle, j);
            double d = 0;

            if (a->voxels == 0 || b->voxels == 0)
              {
                cost[(gsize) i * n_now + j] = forbidden;
                continue;
              }
            for (int q = 0; q < 3; q++)
              d += (a->centroid[q] - b->centroid[q]) * (a->centroid[q] - b->centroid[q]);
            d = sqrt (d) * vs;
            cost[(gsize) i * n_now + j] = d > max_d ? forbidden : 1.0 + d / max_d;
          }
      g_hash_table_iter_init (&it, ov);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          guint32 a = (guint32) (*(gint64 *) k >> 32), b = (guint32) (*(gint64 *) k & 0xffffffff);
          double o = (double) *(guint64 *) v;
          const KilnParticle *pa = &g_array_index (pp, KilnParticle, a - 1);
          const KilnParticle *pb = &g_array_index (parts, KilnParticle, b - 1);
          double frac = o / (double) MIN (pa->voxels, pb->voxels);
          double d = 0;

          for (int q = 0; q < 3; q++)
            d += (pa->centroid[q] - pb->centroid[q]) * (pa->centroid[q] - pb->centroid[q]);
          d = sqrt (d) * vs;
          cost[(gsize) (a - 1) * n_now + (b - 1)] = (1.0 - frac) + d / max_d;
          if (o / pa->voxels > overlap_best_frac[a])
            {
              overlap_best_frac[a] = o / pa->voxels;
              overlap_best[a] = b;
            }
        }
      g_hash_table_destroy (ov);

      r2c = g_new (int, MAX (n_prev, 1));
      kiln_assign_min_cost (cost, n_prev, n_now, forbidden, r2c);
      now_used = g_new0 (gboolean, n_now + 1);
      for (guint32 i = 0; i < n_prev; i++)
        {
          guint32 track = g_array_index (prev_map, guint32, i + 1);
          if (track == 0)
            continue;
          if (r2c[i] >= 0)
            {
              g_array_index (map, guint32, r2c[i] + 1) = track;
              now_used[r2c[i] + 1] = TRUE;
            }
        }
      for (guint32 i = 0; i < n_prev; i++)
        {
          guint32 track = g_array_index (prev_map, guint32, i + 1);
          if (track == 0 || r2c[i] >= 0)
            continue;
          if (overlap_best[i + 1] != 0 && overlap_best_frac[i + 1] >= t->params.merge_fraction &&
              g_array_index (map, guint32, overlap_best[i + 1]) != 0)
            add_event (t, tp, KILN_TRACK_MERGE, track,
                       g_array_index (map, guint32, overlap_best[i + 1]));
          else
            add_event (t, tp, KILN_TRACK_LEAVE, track, 0);
        }
      for (guint32 j = 1; j <= n_now; j++)
        if (!now_used[j] && g_array_index (parts, KilnParticle, j - 1).voxels > 0)
          {
            g_array_index (map, guint32, j) = ++t->n_tracks;
            add_event (t, tp, KILN_TRACK_ENTER, t->n_tracks, 0);
          }
      g_free (cost);
      g_free (overlap_best);
      g_free (overlap_best_frac);
      g_free (r2c);
      g_free (now_used);
    }

  g_ptr_array_add (t->label_to_track, map);
  g_clear_pointer (&t->last, kiln_label_volume_unref);
  g_clear_pointer (&t->last_particles, g_array_unref);
  t->last = kiln_label_volume_ref ((KilnLabelVolume *) labels);
  t->last_particles = g_steal_pointer (&parts);
  return TRUE;
}

guint
kiln_tracking_n_time_points (KilnTracking *tracking)
{
  return tracking->label_to_track->len;
}

guint32
kiln_tracking_n_tracks (KilnTracking *tracking)
{
  return tracking->n_tracks;
}

guint32
kiln_tracking_track_of (KilnTracking *tracking,
                        guint         time_point,
                        guint32       label)
{
  GArray *map;

  if (time_point >= tracking->label_to_track->len)
    return 0;
  map = g_ptr_array_index (tracking->label_to_track, time_point);
  return label < map->len ? g_array_index (map, guint32, label) : 0;
}

guint32
kiln_tracking_label_of (KilnTracking *tracking,
                        guint         time_point,
                        guint32       track)
{
  GArray *map;

  if (time_point >= tracking->label_to_track->len || track == 0)
    return 0;
  map = g_ptr_array_index (tracking->label_to_track, time_point);
  for (guint32 l = 1; l < map->len; l++)
    if (g_array_index (map, guint32, l) == track)
      return l;
  return 0;
}

gboolean
kiln_tracking_reassign (KilnTracking  *tracking,
                        guint          time_point,
                        guint32        label,
                        guint32        track,
                        GError       **error)
{
  guint32 old;

  if (time_point >= tracking->label_to_track->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "No time point %u (there are %u)", time_point,
                   tracking->label_to_track->len);
      return FALSE;
    }
  old = kiln_tracking_track_of (tracking, time_point, label);
  if (old == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Time point %u has no particle with label %u", time_point, label);
      return FALSE;
    }
  if (track == 0 || track > tracking->n_tracks)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "No track %u (tracks 1 … %u)", track, tracking->n_tracks);
      return FALSE;
    }
  if (old == track)
    return TRUE;
  for (guint tp = time_point; tp < tracking->label_to_track->len; tp++)
    {
      GArray *map = g_ptr_array_index (tracking->label_to_track, tp);
      for (guint32 l = 1; l < map->len; l++)
        {
          guint32 *x = &g_array_index (map, guint32, l);
          if (*x == old)
            *x = track;
          else if (*x == track)
            *x = old;
        }
    }
  add_event (tracking, time_point, KILN_TRACK_REASSIGN, track, old);
  return TRUE;
}

const GArray *
kiln_tracking_events (KilnTracking *tracking)
{
  return tracking->events;
}

GArray *
kiln_pair_series (KilnTracking           *tracking,
                  KilnLabelVolume *const *labels,
                  const double           *pt_time_s,
                  const double           *temperature_c,
                  guint32                 track_a,
                  guint32                 track_b,
                  gboolean                with_errors,
                  GCancellable           *cancellable,
                  GError                **error)
{
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (KilnPairSeriesRow));
  guint n_tp = kiln_tracking_n_time_points (tracking);

  for (guint tp = 0; tp < n_tp; tp++)
    {
      KilnPairSeriesRow row;
      guint32 la = kiln_tracking_label_of (tracking, tp, track_a);
      guint32 lb = kiln_tracking_label_of (tracking, tp, track_b);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          g_array_free (rows, TRUE);
          return NULL;
        }
      memset (&row, 0, sizeof (row));
      row.time_point = tp;
      row.pt_time_s = pt_time_s != NULL ? pt_time_s[tp] : NAN;
      row.temperature_C = temperature_c != NULL ? temperature_c[tp] : NAN;
      row.measure.a = la;
      row.measure.b = lb;
      for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
        {
          row.measure.value[k] = NAN;
          row.measure.error[k] = NAN;
        }
      if (la != 0 && lb != 0 && la != lb)
        {
          if (!kiln_measure_pair (labels[tp], NULL, la, lb, &row.measure, error) ||
              (with_errors &&
               !kiln_measure_sensitivity_labels (labels[tp], &row.measure, cancellable, error)))
            {
              g_array_free (rows, TRUE);
              return NULL;
            }
          row.present = TRUE;
        }
      g_array_append_val (rows, row);
    }
  return rows;
}

KilnCsv *
kiln_pair_series_csv_new (void)
{
  GPtrArray *cols = g_ptr_array_new_with_free_func (g_free);
  KilnCsv *csv;

  g_ptr_array_add (cols, g_strdup ("time_point"));
  g_ptr_array_add (cols, g_strdup ("pt_time_s"));
  g_ptr_array_add (cols, g_strdup ("temperature_C"));
  g_ptr_array_add (cols, g_strdup ("pair"));
  g_ptr_array_add (cols, g_strdup ("label_a"));
  g_ptr_array_add (cols, g_strdup ("label_b"));
  g_ptr_array_add (cols, g_strdup ("touching"));
  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    {
      const char *unit = kiln_measure_value_unit (k);
      const char *name = kiln_measure_value_name (k);
      g_ptr_array_add (cols, *unit ? g_strdup_printf ("%s_%s", name, unit) : g_strdup (name));
      g_ptr_array_add (cols, *unit ? g_strdup_printf ("%s_err_%s", name, unit)
                                   : g_strdup_printf ("%s_err", name));
    }
  g_ptr_array_add (cols, NULL);
  csv = kiln_csv_new ((const char * const *) cols->pdata);
  g_ptr_array_unref (cols);
  return csv;
}

void
kiln_pair_series_csv_append (KilnCsv      *csv,
                             const GArray *rows,
                             guint32       track_a,
                             guint32       track_b)
{
  g_autofree char *pair = g_strdup_printf ("%u:%u", track_a, track_b);

  for (guint r = 0; r < rows->len; r++)
    {
      const KilnPairSeriesRow *row = &g_array_index (rows, KilnPairSeriesRow, r);
      GPtrArray *cells = g_ptr_array_new_with_free_func (g_free);
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

#define NUM(x) g_ptr_array_add (cells, isfinite (x) ? \
                 g_strdup (g_ascii_formatd (buf, sizeof buf, "%.6g", (x))) : g_strdup (""))
      g_ptr_array_add (cells, g_strdup_printf ("%u", row->time_point));
      NUM (row->pt_time_s);
      NUM (row->temperature_C);
      g_ptr_array_add (cells, g_strdup (pair));
      g_ptr_array_add (cells, row->measure.a ? g_strdup_printf ("%u", row->measure.a) : g_strdup (""));
      g_ptr_array_add (cells, row->measure.b ? g_strdup_printf ("%u", row->measure.b) : g_strdup (""));
      g_ptr_array_add (cells, g_strdup (row->present ? (row->measure.touching ? "1" : "0") : ""));
      for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
        {
          NUM (row->present ? row->measure.value[k] : NAN);
          NUM (row->present ? row->measure.error[k] : NAN);
        }
#undef NUM
      g_ptr_array_add (cells, NULL);
      kiln_csv_add_row_str (csv, (const char * const *) cells->pdata);
      g_ptr_array_unref (cells);
    }
}

KilnCsv *
kiln_pair_series_csv (const GArray *rows,
                      guint32       track_a,
                      guint32       track_b)
{
  KilnCsv *csv = kiln_pair_series_csv_new ();

  kiln_pair_series_csv_append (csv, rows, track_a, track_b);
  return csv;
}
