/* test-track.c — particle identities across time points, pair series and their CSV
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-test-phantom.h"

/* The assignment against brute force over all permutations (random 1 … 6 square/rectangular
 * matrices, some forbidden entries): the same minimal total cost (1e-9). */
static void
test_assignment (void)
{
  GRand *rand = g_rand_new_with_seed (5);

  for (int trial = 0; trial < 200; trial++)
    {
      guint nr = g_rand_int_range (rand, 1, 7), nc = g_rand_int_range (rand, 1, 7);
      double cost[36];
      int r2c[6];
      guint n_assigned, best_n = 0;
      double total = 0, best = HUGE_VAL;
      int perm[6];

      for (guint k = 0; k < nr * nc; k++)
        cost[k] = g_rand_double (rand) < 0.2 ? 1e30 : g_rand_double_range (rand, 0, 10);
      n_assigned = kiln_assign_min_cost (cost, nr, nc, 1e30, r2c);
      for (guint i = 0; i < nr; i++)
        if (r2c[i] >= 0)
          {
            g_assert_cmpfloat (cost[i * nc + r2c[i]], <, 1e30);
            total += cost[i * nc + r2c[i]];
            for (guint k = 0; k < i; k++)
              g_assert_cmpint (r2c[k], !=, r2c[i]);
          }
      /* brute force: every injective partial map rows → columns; the best one assigns the
       * most rows, then has the least cost */
      {
        int n_maps = 1;
        for (guint i = 0; i < nr; i++)
          n_maps *= nc + 1;
        for (int code = 0; code < n_maps; code++)
          {
            int c = code;
            gboolean ok = TRUE;
            guint cnt = 0;
            double sum = 0;
            for (guint i = 0; i < nr; i++)
              {
                perm[i] = c % (nc + 1) - 1;
                c /= nc + 1;
              }
            for (guint i = 0; i < nr && ok; i++)
              {
                if (perm[i] < 0)
                  continue;
                if (cost[i * nc + perm[i]] >= 1e30)
                  ok = FALSE;
                for (guint k = 0; k < i; k++)
                  if (perm[k] == perm[i])
                    ok = FALSE;
                cnt++;
                sum += ok ? cost[i * nc + perm[i]] : 0;
              }
            if (!ok)
              continue;
            if (cnt > best_n || (cnt == best_n && sum < best))
              {
                best_n = cnt;
                best = sum;
              }
          }
      }
      g_assert_cmpuint (n_assigned, ==, best_n);
      if (best_n > 0)
        g_assert_cmpfloat (fabs (total - best), <, 1e-9);
    }
  g_rand_free (rand);
}

#define N_TP 6
#define N_P 5

/* Truth positions of five particles over six time points: they drift by 1–2.5 voxels per step
 * in different directions (so the scan-order labels change between time points); particle 4
 * leaves after time point 2 (gone at 3); a new particle enters at time point 4; particles 0
 * and 1 approach and merge into one blob at time point 5. */
static gboolean
truth_pos (int p, int tp, double c[3], double *r)
{
  static const double start[N_P][3] = {
    { 12, 12, 10 }, { 30, 12, 12 }, { 14, 34, 14 }, { 36, 36, 9 }, { 50, 24, 12 } };
  static const double vel[N_P][3] = {
    { 0.8, 0.5, 0.3 }, { -0.8, 0.3, -0.2 }, { 2, 0.5, -0.6 }, { -0.5, -1.5, 1.5 }, { 0, 0, 0 } };
  static const double radius[N_P] = { 6, 6, 7, 6.5, 5 };

  if (p == 4 && tp >= 3)
    return FALSE;
  for (int k = 0; k < 3; k++)
    c[k] = start[p][k] + vel[p][k] * tp;
  if (p <= 1 && tp == N_TP - 1)
    {
      /* merged: both centres within 3 voxels of their midpoint */
      double m = 0.5 * (start[0][0] + vel[0][0] * tp + start[1][0] + vel[1][0] * tp);
      c[0] = m + (p == 0 ? -1.5 : 1.5);
      c[1] = 12 + 0.4 * tp;
      c[2] = 11;
    }
  *r = radius[p];
  return TRUE;
}

static KilnLabelVolume *
render_tp (int tp)
{
  PhScene s = { 0 };
  g_autoptr(KilnVolume) v = NULL;
  KilnSegmentParams p;
  double c[3], r;

  for (int i = 0; i < N_P; i++)
    if (truth_pos (i, tp, c, &r))
      ph_sphere (&s, c[0], c[1], c[2], r);
  if (tp >= 4)
    ph_sphere (&s, 52, 44, 12, 5);   /* entering particle */
  v = ph_render (&s, 60, 52, 24);
  kiln_segment_params_init (&p);
  p.otsu = FALSE;
  p.threshold = 0.5;
  return kiln_segment (v, &p, NULL, NULL, NULL, NULL, NULL, NULL);
}

static void
test_sequence (void)
{
  g_autoptr(KilnTracking) tr = kiln_tracking_new (NULL);
  KilnLabelVolume *labels[N_TP];
  guint32 track0[N_P];
  const GArray *ev;
  gboolean seen_leave = FALSE, seen_enter = FALSE, seen_merge = FALSE;
  g_autoptr(GError) error = NULL;

  for (int tp = 0; tp < N_TP; tp++)
    {
      labels[tp] = render_tp (tp);
      g_assert_nonnull (labels[tp]);
      g_assert_true (kiln_tracking_add (tr, labels[tp], NULL, &error));
      g_assert_no_error (error);
    }
  /* every particle keeps its track id at every time point where it exists (before merging) */
  for (int i = 0; i < N_P; i++)
    {
      double c[3], r;
      g_assert_true (truth_pos (i, 0, c, &r));
      track0[i] = kiln_tracking_track_of (tr, 0, KILN_VOXEL (labels[0], (guint) round (c[0]),
                                                             (guint) round (c[1]),
                                                             (guint) round (c[2])));
      g_assert_cmpuint (track0[i], !=, 0);
    }
  for (int tp = 1; tp < N_TP - 1; tp++)
    for (int i = 0; i < N_P; i++)
      {
        double c[3], r;
        guint32 l;
        if (!truth_pos (i, tp, c, &r))
          {
            g_assert_cmpuint (kiln_tracking_label_of (tr, tp, track0[i]), ==, 0);
            continue;
          }
        l = KILN_VOXEL (labels[tp], (guint) round (c[0]), (guint) round (c[1]),
                        (guint) round (c[2]));
        g_assert_cmpuint (l, !=, 0);
        g_assert_cmpuint (kiln_tracking_track_of (tr, tp, l), ==, track0[i]);
        g_assert_cmpuint (kiln_tracking_label_of (tr, tp, track0[i]), ==, l);
      }
  /* the labels really changed order somewhere (otherwise the test would be trivial) */
  {
    gboolean differs = FALSE;
    for (int tp = 1; tp < N_TP - 1; tp++)
      for (int i = 0; i < 4; i++)
        differs |= kiln_tracking_label_of (tr, tp, track0[i]) != track0[i];
    g_assert_true (differs);
  }
  ev = kiln_tracking_events (tr);
  for (guint k = 0; k < ev->len; k++)
    {
      const KilnTrackEvent *e = &g_array_index (ev, KilnTrackEvent, k);
      if (e->kind == KILN_TRACK_LEAVE)
        {
          g_assert_cmpuint (e->time_point, ==, 3);
          g_assert_cmpuint (e->track, ==, track0[4]);
          seen_leave = TRUE;
        }
      else if (e->kind == KILN_TRACK_ENTER)
        {
          g_assert_cmpuint (e->time_point, ==, 4);
          g_assert_cmpuint (e->track, >, 5);
          seen_enter = TRUE;
        }
      else if (e->kind == KILN_TRACK_MERGE)
        {
          g_assert_cmpuint (e->time_point, ==, N_TP - 1);
          g_assert_true ((e->track == track0[0] && e->into_track == track0[1]) ||
                         (e->track == track0[1] && e->into_track == track0[0]));
          seen_merge = TRUE;
        }
    }
  g_assert_true (seen_leave);
  g_assert_true (seen_enter);
  g_assert_true (seen_merge);

  /* the pair series of tracks 0:1 — measured while separate, absent once merged */
  {
    double pt[N_TP] = { 0, 5, 12, 17, 22, 27 }, temp[N_TP] = { 372, 370, 370, 370, 370, 372 };
    g_autoptr(GArray) rows = kiln_pair_series (tr, labels, pt, temp, track0[0], track0[1],
                                               TRUE, NULL, &error);
    g_autoptr(KilnCsv) csv = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, N_TP);
    for (int tp = 0; tp < N_TP - 1; tp++)
      {
        KilnPairSeriesRow *row = &g_array_index (rows, KilnPairSeriesRow, tp);
        double ca[3], cb[3], r, d = 0;
        g_assert_true (row->present);
        truth_pos (0, tp, ca, &r);
        truth_pos (1, tp, cb, &r);
        for (int k = 0; k < 3; k++)
          d += (ca[k] - cb[k]) * (ca[k] - cb[k]);
        /* separate spheres: the 3D distance is the centre distance within 1 voxel */
        g_assert_cmpfloat (fabs (row->measure.value[KILN_MEASURE_DISTANCE_3D] - sqrt (d)), <=,
                           1.0);
        g_assert_cmpfloat (row->pt_time_s, ==, pt[tp]);
      }
    g_assert_false (g_array_index (rows, KilnPairSeriesRow, N_TP - 1).present);
    csv = kiln_pair_series_csv (rows, track0[0], track0[1]);
    text = kiln_csv_to_string (csv);
    lines = g_strsplit (text, "\n", -1);
    g_assert_true (g_str_has_prefix (lines[0], "time_point,pt_time_s,temperature_C,pair,"));
    g_assert_nonnull (strstr (lines[0], "r_n_nm,r_n_err_nm"));
    g_assert_nonnull (strstr (lines[0], "neck_radius_3d_nm"));
    g_assert_nonnull (strstr (lines[0], "h_over_w,h_over_w_err"));
    g_assert_cmpuint (g_strv_length (lines), ==, N_TP + 2);   /* header, rows, "" */
    g_assert_true (g_str_has_prefix (lines[2], "1,5,370,"));
  }

  /* manual re-assignment swaps two identities from a time point on */
  g_assert_true (kiln_tracking_reassign (tr, 2, kiln_tracking_label_of (tr, 2, track0[2]),
                                         track0[3], &error));
  g_assert_no_error (error);
  for (int tp = 0; tp < N_TP; tp++)
    {
      double c[3], r;
      truth_pos (2, tp, c, &r);
      if (tp < 2)
        {
          /* before the correction the identities are unchanged */
          g_assert_cmpuint (kiln_tracking_track_of (tr, tp, KILN_VOXEL (labels[tp], (guint) round (c[0]),
                                                                        (guint) round (c[1]),
                                                                        (guint) round (c[2]))),
                            ==, track0[2]);
          continue;
        }
      g_assert_cmpuint (kiln_tracking_track_of (tr, tp, KILN_VOXEL (labels[tp], (guint) round (c[0]),
                                                                    (guint) round (c[1]),
                                                                    (guint) round (c[2]))),
                        ==, track0[3]);
    }
  g_assert_false (kiln_tracking_reassign (tr, 9, 1, 1, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  for (int tp = 0; tp < N_TP; tp++)
    kiln_label_volume_unref (labels[tp]);
}

static void
test_size_mismatch (void)
{
  g_autoptr(KilnTracking) tr = kiln_tracking_new (NULL);
  g_autoptr(KilnLabelVolume) a = kiln_label_volume_new (8, 8, 8, NULL);
  g_autoptr(KilnLabelVolume) b = kiln_label_volume_new (8, 8, 9, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (kiln_tracking_add (tr, a, NULL, NULL));
  g_assert_false (kiln_tracking_add (tr, b, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_MISMATCH);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/track/assignment", test_assignment);
  g_test_add_func ("/track/sequence", test_sequence);
  g_test_add_func ("/track/size-mismatch", test_size_mismatch);
  return g_test_run ();
}
