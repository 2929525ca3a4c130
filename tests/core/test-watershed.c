/* test-watershed.c — splitting touching particles at their necks
 *
 * Phantoms (kiln-test-phantom.h): touching sphere pairs with necks from thin to thick, a chain
 * of three, a cluster of four, an isolated sphere and an elongated body that must NOT be split.
 * A label is "right" when every voxel of it lies on its own sphere's side of the interface — in
 * the power distance |p − c|² − R², whose zero set between two spheres is their plane of
 * intersection — or within a tolerance of that plane, and when ≥ 90 % of its voxels are
 * strictly on its side.  Tolerance: 1 voxel for necks up to r_n = 0.45 R (the digital interface
 * itself), 2 in the cluster (necks ≈ 0.5 R), 2.5 at r_n = 0.6 R and 3.5 at 0.7 R: at the rim of
 * a thick neck the distance map's saddle is flat and the split surface bends away from the
 * plane (measured ≤ 3.1 voxels at 0.7 R on oblique axes).  The pair measures do not depend on
 * it (the neck is the smallest section of A ∪ B; see test-measure).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-test-phantom.h"

static KilnLabelVolume *
split (KilnVolume *v, guint32 *n, guint connectivity)
{
  KilnSegmentParams p;
  g_autoptr(GError) error = NULL;
  KilnLabelVolume *l;

  kiln_segment_params_init (&p);
  p.otsu = FALSE;
  p.threshold = 0.5;
  p.connectivity = connectivity;
  l = kiln_segment (v, &p, NULL, n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return l;
}

/* Every sphere of @s (spheres only) has exactly one label, distinct, and each label's voxels
 * are ≥ 97 % on its sphere's side. */
static void
check_one_label_per_sphere (const PhScene *s, KilnLabelVolume *l, guint32 n, double tol)
{
  guint32 of[PH_MAX_SHAPES];
  guint64 good[PH_MAX_SHAPES] = { 0 }, total[PH_MAX_SHAPES] = { 0 };
  double worst = 0;

  g_assert_cmpuint (n, ==, (guint) s->n);
  for (int i = 0; i < s->n; i++)
    {
      of[i] = KILN_VOXEL (l, (guint) round (s->p[i][0]), (guint) round (s->p[i][1]),
                          (guint) round (s->p[i][2]));
      g_assert_cmpuint (of[i], !=, 0);
      for (int j = 0; j < i; j++)
        g_assert_cmpuint (of[i], !=, of[j]);
    }
  for (guint z = 0; z < l->nz; z++)
    for (guint y = 0; y < l->ny; y++)
      for (guint x = 0; x < l->nx; x++)
        {
          guint32 lab = KILN_VOXEL (l, x, y, z);
          int owner = -1, mine = -1;
          double best = HUGE_VAL, pd_mine = 0;
          if (lab == 0)
            continue;
          for (int i = 0; i < s->n; i++)
            {
              double d2 = (x - s->p[i][0]) * (x - s->p[i][0]) + (y - s->p[i][1]) * (y - s->p[i][1]) +
                          (z - s->p[i][2]) * (z - s->p[i][2]) - s->r[i] * s->r[i];
              if (d2 < best)
                {
                  best = d2;
                  owner = i;
                }
              if (of[i] == lab)
                {
                  mine = i;
                  pd_mine = d2;
                }
            }
          g_assert_cmpint (mine, >=, 0);
          if (owner != mine)
            {
              double cc = sqrt ((s->p[mine][0] - s->p[owner][0]) * (s->p[mine][0] - s->p[owner][0]) +
                                (s->p[mine][1] - s->p[owner][1]) * (s->p[mine][1] - s->p[owner][1]) +
                                (s->p[mine][2] - s->p[owner][2]) * (s->p[mine][2] - s->p[owner][2]));
              /* distance of the voxel from the radical plane of the two spheres */
              worst = MAX (worst, (pd_mine - best) / (2 * cc));
            }
          total[mine]++;
          good[mine] += owner == mine;
        }
  g_test_message ("farthest voxel on the wrong side: %.2f voxels from the interface plane", worst);
  g_assert_cmpfloat (worst, <=, tol);
  for (int i = 0; i < s->n; i++)
    {
      g_test_message ("sphere %d (R %.1f): %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                      " voxels on its side", i, s->r[i], good[i], total[i]);
      g_assert_cmpfloat ((double) good[i] / total[i], >=, 0.90);
    }
}

/* Pairs of equal and unequal spheres (R = 10 and 8 voxels) with neck radius from 0.25 to 0.7 of
 * the smaller radius. (The limit: the smaller core is a marker while its distance maximum rises
 * ≥ h above the neck, roughly R_small − r_n ≥ h = 2 voxels.) */
static void
test_pairs (void)
{
  const double ratios[] = { 0.25, 0.45, 0.6, 0.7 };

  for (guint conn = 6; conn <= 26; conn += 20)
    for (guint i = 0; i < G_N_ELEMENTS (ratios); i++)
      for (int unequal = 0; unequal < 2; unequal++)
        {
          PhScene s = { 0 };
          double R1 = 10, R2 = unequal ? 8 : 10, rn = ratios[i] * MIN (R1, R2);
          /* centre distance giving the intersection circle radius rn */
          double d = sqrt (R1 * R1 - rn * rn) + sqrt (R2 * R2 - rn * rn);
          g_autoptr(KilnVolume) v = NULL;
          g_autoptr(KilnLabelVolume) l = NULL;
          guint32 n;

          ph_sphere (&s, 14.3, 15.2, 14.1, R1);
          ph_sphere (&s, 14.3 + d * 0.8, 15.2 + d * 0.36, 14.1 + d * 0.48, R2);
          v = ph_render (&s, 44, 36, 34);
          l = split (v, &n, conn);
          g_test_message ("conn %u, rn/R %.2f, unequal %d: %u labels", conn, ratios[i], unequal, n);
          check_one_label_per_sphere (&s, l, n, ratios[i] < 0.5 ? 1.0 : ratios[i] < 0.65 ? 2.5 : 3.5);
        }
}

/* A chain of three and a tetrahedral cluster of four, plus an isolated sphere. */
static void
test_clusters (void)
{
  PhScene s = { 0 };
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) l = NULL;
  guint32 n;

  ph_sphere (&s, 10, 10, 12, 7);
  ph_sphere (&s, 22, 11, 12, 7);
  ph_sphere (&s, 34, 10, 13, 7);
  ph_sphere (&s, 14, 34, 12, 7);
  ph_sphere (&s, 26, 34, 12, 7);
  ph_sphere (&s, 20, 44, 12, 7);
  ph_sphere (&s, 20, 38, 22, 7);
  ph_sphere (&s, 42, 40, 12, 6);
  v = ph_render (&s, 52, 54, 32);
  l = split (v, &n, 26);
  check_one_label_per_sphere (&s, l, n, 2.0);
}

/* Bodies with one core each are not split: an ellipsoid-like capsule (cylinder with
 * hemispherical caps, length 2.4 × its radius) and a sphere with a small bump (radius 2.5,
 * half embedded) whose distance maximum rises less than h = 2 voxels. */
static void
test_no_oversplit (void)
{
  PhScene s = { 0 };
  double a[3] = { 12, 16, 14 }, b[3] = { 24, 18, 14 };
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) l = NULL;
  guint32 n;

  ph_cylinder (&s, a, b, 6);
  ph_sphere (&s, a[0], a[1], a[2], 6);
  ph_sphere (&s, b[0], b[1], b[2], 6);
  ph_sphere (&s, 18, 40, 14, 8);
  ph_sphere (&s, 18, 48.5, 14, 2.5);
  v = ph_render (&s, 38, 54, 28);
  l = split (v, &n, 26);
  g_assert_cmpuint (n, ==, 2);
}

/* The raw API: invalid h / connectivity are errors; cancellation is honoured. */
static void
test_errors (void)
{
  guint8 m[27] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) c = g_cancellable_new ();

  m[13] = 1;
  g_assert_null (kiln_watershed_split (m, 3, 3, 3, 0, 26, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (kiln_watershed_split (m, 3, 3, 3, 2, 18, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_cancellable_cancel (c);
  g_assert_null (kiln_watershed_split (m, 3, 3, 3, 2, 26, NULL, c, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/watershed/pairs", test_pairs);
  g_test_add_func ("/watershed/clusters", test_clusters);
  g_test_add_func ("/watershed/no-oversplit", test_no_oversplit);
  g_test_add_func ("/watershed/errors", test_errors);
  return g_test_run ();
}
