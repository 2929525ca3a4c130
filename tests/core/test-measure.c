/* test-measure.c — pair measures against analytic phantoms, and the neck model
 *
 * Phantoms: two equal spheres (radius R) whose centres are d apart, either intersecting (the
 * neck is their circle of intersection, radius √(R² − d²/4)) or separated and joined by a
 * cylinder of radius r_c (neck radius r_c).  They are rendered at sub-voxel accuracy
 * (kiln-test-phantom.h), thresholded at 0.5, split by the watershed; the truth of each measure
 * is computed on the continuous object (4 samples per voxel and axis) with the same definitions.
 * Tolerances (the issue's): neck radius and distances within 1 voxel, r_p and the 3D radius
 * within 0.5 voxel, H/W within 0.08 (a one-voxel error in a 25-voxel extent is 0.04, two such
 * extents per ratio).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-test-phantom.h"

typedef struct
{
  const char *name;
  double R, d, dir[3], rc;    /* rc > 0: cylinder neck */
} PairCase;

static const PairCase cases[] = {
  { "x-axis, lens neck", 12, 18, { 1, 0, 0 }, 0 },
  { "oblique with z, lens neck", 12, 19, { 1, 0.6, 0.45 }, 0 },
  { "xy diagonal, thick lens neck", 11, 14, { 0.7, 0.7, 0 }, 0 },
  { "y-axis, cylinder neck", 10, 25, { 0.2, 1, 0.1 }, 4.5 },
  { "x-axis, separate (no neck)", 10, 24, { 1, 0, 0.3 }, 0 },
};

static void
build_case (const PairCase *pc, PhScene *s, double c1[3], double c2[3], guint dims[3])
{
  double n = sqrt (pc->dir[0] * pc->dir[0] + pc->dir[1] * pc->dir[1] + pc->dir[2] * pc->dir[2]);
  double pad = pc->R + 4;

  for (int k = 0; k < 3; k++)
    {
      double half = 0.5 * pc->d * pc->dir[k] / n;
      double extent = 2 * (fabs (half) + pad);
      dims[k] = (guint) ceil (extent);
      /* non-integer centres: the voxel grid is not aligned with the object */
      c1[k] = dims[k] / 2.0 - half + 0.23 * (k + 1) - 0.31;
      c2[k] = dims[k] / 2.0 + half + 0.23 * (k + 1) - 0.31;
    }
  memset (s, 0, sizeof (*s));
  ph_sphere (s, c1[0], c1[1], c1[2], pc->R);
  ph_sphere (s, c2[0], c2[1], c2[2], pc->R);
  if (pc->rc > 0)
    ph_cylinder (s, c1, c2, pc->rc);
}

static KilnLabelVolume *
segment_phantom (KilnVolume *v, guint32 *n)
{
  KilnSegmentParams p;
  g_autoptr(GError) error = NULL;
  KilnLabelVolume *labels;

  kiln_segment_params_init (&p);
  p.otsu = FALSE;
  p.threshold = 0.5;
  labels = kiln_segment (v, &p, NULL, n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return labels;
}

static void
test_pairs (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const PairCase *pc = &cases[i];
      PhScene s;
      double c1[3], c2[3], neck;
      guint dims[3];
      g_autoptr(KilnVolume) v = NULL;
      g_autoptr(KilnLabelVolume) labels = NULL;
      guint32 n, la, lb;
      KilnPairMeasure m;
      PhTruth t;
      g_autoptr(GError) error = NULL;
      gboolean touching = pc->rc > 0 || pc->d < 2 * pc->R;

      build_case (pc, &s, c1, c2, dims);
      v = ph_render (&s, dims[0], dims[1], dims[2]);
      labels = segment_phantom (v, &n);
      g_test_message ("%s: %u labels", pc->name, n);
      g_assert_cmpuint (n, ==, 2);
      la = KILN_VOXEL (labels, (guint) round (c1[0]), (guint) round (c1[1]), (guint) round (c1[2]));
      lb = KILN_VOXEL (labels, (guint) round (c2[0]), (guint) round (c2[1]), (guint) round (c2[2]));
      g_assert_cmpuint (la, !=, 0);
      g_assert_cmpuint (lb, !=, 0);
      g_assert_cmpuint (la, !=, lb);
      g_assert_true (kiln_measure_pair (labels, NULL, la, lb, &m, &error));
      g_assert_no_error (error);
      ph_truth (&s, c1, c2, pc->R + 2 * pc->d, &t);
      neck = pc->rc > 0 ? pc->rc : (touching ? sqrt (pc->R * pc->R - pc->d * pc->d / 4) : 0);
      g_test_message ("%s: r3d %.2f/%.2f  d3d %.2f/%.2f  R3d %.2f/%.2f  rn %.2f/%.2f "
                      "dxy %.2f/%.2f dz %.2f/%.2f d %.2f/%.2f rp %.2f/%.2f hw %.3f/%.3f",
                      pc->name,
                      m.value[KILN_MEASURE_NECK_RADIUS_3D], neck,
                      m.value[KILN_MEASURE_DISTANCE_3D], t.distance_3d,
                      m.value[KILN_MEASURE_RADIUS_3D], t.radius_3d,
                      m.value[KILN_MEASURE_R_N], touching ? t.w_n / 2 : 0,
                      m.value[KILN_MEASURE_D_XY], t.d_xy, m.value[KILN_MEASURE_D_Z], t.d_z,
                      m.value[KILN_MEASURE_D], t.d, m.value[KILN_MEASURE_R_P], t.r_p,
                      m.value[KILN_MEASURE_H_OVER_W], t.h_over_w);
      g_assert_cmpint (m.touching, ==, touching);
      /* 3D */
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_NECK_RADIUS_3D] - neck), <=, 1.0);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_DISTANCE_3D] - t.distance_3d), <=, 1.0);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_RADIUS_3D] - t.radius_3d), <=, 0.5);
      /* the 3D centre distance also against the analytic sphere-centre distance when the
       * halves are whole spheres (no neck) */
      if (!touching)
        g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_DISTANCE_3D] - pc->d), <=, 1.0);
      /* the paper's 2D protocol */
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_R_N] - (touching ? t.w_n / 2 : 0)), <=, 1.0);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_D_XY] - t.d_xy), <=, 1.0);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_D_Z] - t.d_z), <=, 1.0);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_D] - t.d), <=, 1.0);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_R_P] - t.r_p), <=, 0.5);
      g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_H_OVER_W] - t.h_over_w), <=, 0.08);
      /* for a pair in the xy plane the projected neck is the true neck (a circle seen
       * edge-on: width = diameter) */
      if (touching && fabs (pc->dir[2]) < 1e-9)
        g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_R_N] - neck), <=, 1.0);
    }
}

/* Voxel size scales every length; bad pairs are errors. */
static void
test_units_and_errors (void)
{
  PhScene s;
  double c1[3], c2[3];
  guint dims[3];
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) labels = NULL;
  guint32 n;
  KilnPairMeasure m1, m2;
  g_autoptr(GError) error = NULL;

  build_case (&cases[0], &s, c1, c2, dims);
  v = ph_render (&s, dims[0], dims[1], dims[2]);
  labels = segment_phantom (v, &n);
  g_assert_true (kiln_measure_pair (labels, NULL, 1, 2, &m1, NULL));
  labels->voxel_size_nm = 2.5;
  g_assert_true (kiln_measure_pair (labels, NULL, 1, 2, &m2, NULL));
  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    {
      double scale = kiln_measure_value_unit (k)[0] ? 2.5 : 1.0;
      g_assert_cmpfloat_with_epsilon (m2.value[k], m1.value[k] * scale, 1e-9);
    }
  g_assert_false (kiln_measure_pair (labels, NULL, 1, 1, &m1, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (kiln_measure_pair (labels, NULL, 1, 7, &m1, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

/* Error bars: the labels-only sensitivity (morphology ±1) and the volume one (threshold ±10 %,
 * radius ±1) are finite, non-negative and not all zero; on a blurred phantom the nominal
 * truth of the neck lies within the measure ± 1 voxel + its error bar. */
static void
test_sensitivity (void)
{
  PhScene s;
  double c1[3], c2[3];
  guint dims[3];
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) labels = NULL;
  guint32 n;
  KilnPairMeasure m;
  KilnSegmentParams p;
  g_autoptr(GError) error = NULL;
  double sum = 0;

  build_case (&cases[0], &s, c1, c2, dims);
  v = ph_render (&s, dims[0], dims[1], dims[2]);
  labels = segment_phantom (v, &n);
  g_assert_true (kiln_measure_pair (labels, NULL, 1, 2, &m, NULL));
  g_assert_true (kiln_measure_sensitivity_labels (labels, &m, NULL, &error));
  g_assert_no_error (error);
  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    {
      g_assert_true (isfinite (m.error[k]));
      g_assert_cmpfloat (m.error[k], >=, 0);
      sum += m.error[k];
    }
  g_assert_cmpfloat (sum, >, 0);
  /* eroding/dilating by one voxel moves r_p by about one voxel */
  g_assert_cmpfloat (m.error[KILN_MEASURE_R_P], >, 0.3);
  g_assert_cmpfloat (m.error[KILN_MEASURE_R_P], <, 1.6);

  kiln_segment_params_init (&p);
  p.otsu = FALSE;
  p.threshold = 0.5;
  p.erode = 1;
  p.dilate = 1;
  g_clear_pointer (&labels, kiln_label_volume_unref);
  labels = kiln_segment (v, &p, NULL, &n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_true (kiln_measure_pair (labels, NULL, 1, 2, &m, NULL));
  g_assert_true (kiln_measure_sensitivity (v, &p, labels, &m, 1, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  sum = 0;
  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    {
      g_assert_true (isfinite (m.error[k]));
      g_assert_cmpfloat (m.error[k], >=, 0);
      sum += m.error[k];
    }
  g_assert_cmpfloat (sum, >, 0);
}

/* All touching pairs of a chain of three spheres: exactly (1,2) and (2,3) in some labelling. */
static void
test_all_pairs (void)
{
  PhScene s = { 0 };
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) labels = NULL;
  g_autoptr(GArray) all = NULL;
  guint32 n;
  g_autoptr(GError) error = NULL;

  ph_sphere (&s, 12, 12, 12, 8);
  ph_sphere (&s, 25, 12, 12, 8);
  ph_sphere (&s, 38, 13, 12, 8);
  ph_sphere (&s, 12, 34, 12, 7);   /* isolated */
  v = ph_render (&s, 50, 44, 24);
  labels = segment_phantom (v, &n);
  g_assert_cmpuint (n, ==, 4);
  all = kiln_measure_all_pairs (labels, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  for (guint i = 0; i < all->len; i++)
    {
      KilnPairMeasure *m = &g_array_index (all, KilnPairMeasure, i);
      /* each neck: R = 8, d = 13 (first) or √170 ≈ 13.04 (second): r_n ≈ 4.7 */
      g_assert_true (m->touching);
      g_assert_cmpfloat (fabs (m->value[KILN_MEASURE_NECK_RADIUS_3D] -
                               sqrt (64 - m->value[KILN_MEASURE_DISTANCE_3D] *
                                          m->value[KILN_MEASURE_DISTANCE_3D] / 4)), <=, 1.5);
    }
}

/* The cylindrical-neck model conserves volume: the solid of revolution is integrated
 * numerically (midpoint rule on 200 000 slices along the axis, relative error < 1e-6) for
 * points of the r_n(d) curve and compared with 2 · 4/3 π r_p³ (relative 1e-5). */
static void
test_neck_model (void)
{
  double rp = 75, dd[9], rn[9];

  kiln_neck_model_curve (rp, 9, dd, rn);
  g_assert_cmpfloat_with_epsilon (rn[8], 0, 1e-6 * rp);          /* d = 2 r_p: touching */
  g_assert_cmpfloat_with_epsilon (rn[0], rp, 1e-3 * rp);          /* d = 4/3 r_p: r_n = r_p */
  for (int i = 1; i < 9; i++)
    g_assert_cmpfloat (rn[i], <, rn[i - 1]);                      /* monotone decreasing */
  for (int i = 0; i < 9; i++)
    {
      double a = sqrt (rp * rp - rn[i] * rn[i]);
      double len = dd[i] - 2 * a, zmin = -dd[i] / 2 - rp, zmax = dd[i] / 2 + rp;
      int ns = 200000;
      double h = (zmax - zmin) / ns, vol = 0;

      g_assert_cmpfloat (len, >=, -1e-9);
      for (int k = 0; k < ns; k++)
        {
          double z = zmin + (k + 0.5) * h, r2;
          double za = fabs (z), cz = dd[i] / 2;       /* sphere centres at ±d/2 */
          if (za <= len / 2)
            r2 = rn[i] * rn[i];                          /* cylinder */
          else
            r2 = rp * rp - (za - cz) * (za - cz);        /* truncated sphere */
          if (za > len / 2 && za - cz < -a)
            r2 = rn[i] * rn[i];
          vol += G_PI * MAX (r2, 0) * h;
        }
      g_assert_cmpfloat (fabs (vol / (8.0 / 3.0 * G_PI * rp * rp * rp) - 1), <, 1e-5);
      g_assert_cmpfloat (fabs (kiln_neck_model_volume (dd[i], rn[i], rp) /
                               (8.0 / 3.0 * G_PI * rp * rp * rp) - 1), <, 1e-9);
      g_assert_cmpfloat_with_epsilon (kiln_neck_model_d (rn[i], rp), dd[i], 1e-9 * rp);
    }
  g_assert_true (isnan (kiln_neck_model_rn (2.5 * rp, rp)));
  g_assert_true (isnan (kiln_neck_model_rn (1.0 * rp, rp)));
}

/* Against the simulator's truth tables (kiln-simulate.h, teaching preset): the noise-free truth
 * volume of every time point is segmented (threshold 0.5 of the anti-aliased weight: the cores
 * have weight 1, the shell 0.35 and the membrane 0.08, so only cores remain), every tracked pair
 * must come out as two labels (matched to the truth labels by largest overlap), and its measures
 * must agree with the truth within the tolerances: neck radius and distances within
 * 1 voxel, r_p and the 3D radius within 0.5 voxel.  The 2D r_n is compared where the truth has
 * a neck (an unnecked pair has r_n = 0 by the paper's convention). */
static guint32
best_overlap (const KilnLabelVolume *truth,
              const KilnLabelVolume *mine,
              guint32                t)
{
  guint32 max = kiln_label_volume_max_label (mine), best = 0;
  g_autofree guint64 *count = g_new0 (guint64, (gsize) max + 1);
  gsize n = kiln_label_volume_n_voxels (truth);

  for (gsize i = 0; i < n; i++)
    if (truth->data[i] == t && mine->data[i] != 0)
      count[mine->data[i]]++;
  for (guint32 l = 1; l <= max; l++)
    if (count[l] > count[best])
      best = l;
  return best;
}

static void
test_simulator_truth (void)
{
  KilnSimParams sp;
  guint n_checked = 0;

  kiln_sim_params_init (&sp, KILN_SIM_PRESET_TEACHING);
  sp.make_volume = TRUE;
  for (guint tp = 0; tp < sp.n_time_points; tp++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnSimTimePoint) st = kiln_sim_time_point_new (&sp, tp, NULL, NULL, NULL, &error);
      g_autoptr(KilnLabelVolume) mine = NULL;
      KilnSegmentParams p;
      double vs;

      if (st == NULL)
        {
          g_autofree char *msg = g_strdup_printf ("the simulator cannot make the teaching preset "
                                                  "yet: %s", error->message);
          g_test_skip (msg);
          return;
        }
      g_assert_nonnull (st->volume);
      g_assert_nonnull (st->labels);
      vs = st->volume->voxel_size_nm;
      kiln_segment_params_init (&p);
      p.otsu = FALSE;
      p.threshold = 0.5;
      mine = kiln_segment (st->volume, &p, NULL, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < st->n_pairs; i++)
        {
          const KilnPairTruth *t = &st->pairs[i];
          guint32 a = best_overlap (st->labels, mine, t->a), b = best_overlap (st->labels, mine, t->b);
          KilnPairMeasure m;

          g_test_message ("tp %u pair %u:%u → %u:%u", tp, t->a, t->b, a, b);
          g_assert_cmpuint (a, !=, 0);
          g_assert_cmpuint (b, !=, 0);
          g_assert_cmpuint (a, !=, b);          /* split into the right two labels */
          g_assert_true (kiln_measure_pair (mine, NULL, a, b, &m, &error));
          g_assert_no_error (error);
          g_test_message ("  neck3d %.1f/%.1f d3d %.1f/%.1f r3d %.1f/%.1f rn %.1f/%.1f dxy %.1f/%.1f "
                          "dz %.1f/%.1f d %.1f/%.1f rp %.1f/%.1f nm",
                          m.value[KILN_MEASURE_NECK_RADIUS_3D], t->neck_radius_3d_nm,
                          m.value[KILN_MEASURE_DISTANCE_3D], t->distance_3d_nm,
                          m.value[KILN_MEASURE_RADIUS_3D], t->radius_3d_nm,
                          m.value[KILN_MEASURE_R_N], t->r_n_nm, m.value[KILN_MEASURE_D_XY], t->d_xy_nm,
                          m.value[KILN_MEASURE_D_Z], t->d_z_nm, m.value[KILN_MEASURE_D], t->d_nm,
                          m.value[KILN_MEASURE_R_P], t->r_p_nm);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_NECK_RADIUS_3D] - t->neck_radius_3d_nm), <=, vs);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_DISTANCE_3D] - t->distance_3d_nm), <=, vs);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_RADIUS_3D] - t->radius_3d_nm), <=, 0.5 * vs);
          if (t->neck_radius_3d_nm > 0)
            g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_R_N] - t->r_n_nm), <=, vs);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_D_XY] - t->d_xy_nm), <=, vs);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_D_Z] - t->d_z_nm), <=, vs);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_D] - t->d_nm), <=, vs);
          g_assert_cmpfloat (fabs (m.value[KILN_MEASURE_R_P] - t->r_p_nm), <=, 0.5 * vs);
          n_checked++;
        }
    }
  g_assert_cmpuint (n_checked, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/measure/pairs", test_pairs);
  g_test_add_func ("/measure/units-errors", test_units_and_errors);
  g_test_add_func ("/measure/sensitivity", test_sensitivity);
  g_test_add_func ("/measure/all-pairs", test_all_pairs);
  g_test_add_func ("/measure/neck-model", test_neck_model);
  g_test_add_func ("/measure/simulator-truth", test_simulator_truth);
  return g_test_run ();
}
