/* test-segment.c — Otsu, EDT, ball morphology, connected components, the segment step
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-test-util.h"
#include "kiln-test-phantom.h"

static guint8 *
random_mask (GRand *rand, guint nx, guint ny, guint nz, double p)
{
  guint8 *m = g_malloc ((gsize) nx * ny * nz);
  for (gsize i = 0; i < (gsize) nx * ny * nz; i++)
    m[i] = g_rand_double (rand) < p;
  return m;
}

/* EDT against brute force on random masks: exact (integer squared distances). */
static void
test_edt_brute_force (void)
{
  GRand *rand = g_rand_new_with_seed (7);
  const guint dims[][3] = { { 13, 9, 7 }, { 1, 17, 5 }, { 20, 1, 1 }, { 6, 6, 11 } };
  const double ps[] = { 0.03, 0.3, 0.8 };

  for (guint d = 0; d < G_N_ELEMENTS (dims); d++)
    for (guint pi = 0; pi < G_N_ELEMENTS (ps); pi++)
      for (int to_set = 0; to_set < 2; to_set++)
        {
          guint nx = dims[d][0], ny = dims[d][1], nz = dims[d][2];
          gsize n = (gsize) nx * ny * nz;
          g_autofree guint8 *m = random_mask (rand, nx, ny, nz, ps[pi]);
          g_autofree float *out = g_new (float, n);
          g_autoptr(GError) error = NULL;

          g_assert_true (kiln_edt_squared (m, nx, ny, nz, to_set, out, NULL, &error));
          g_assert_no_error (error);
          for (gsize i = 0; i < n; i++)
            {
              gint64 xi = i % nx, yi = (i / nx) % ny, zi = i / ((gsize) nx * ny);
              gint64 best = -1;
              for (gsize j = 0; j < n; j++)
                {
                  gint64 xj = j % nx, yj = (j / nx) % ny, zj = j / ((gsize) nx * ny), d2;
                  if ((m[j] != 0) != to_set)
                    continue;
                  d2 = (xi - xj) * (xi - xj) + (yi - yj) * (yi - yj) + (zi - zj) * (zi - zj);
                  if (best < 0 || d2 < best)
                    best = d2;
                }
              if (best < 0)
                g_assert_cmpfloat (out[i], >=, KILN_EDT_INF);
              else
                g_assert_cmpfloat (out[i], ==, (float) best);
            }
        }
  g_rand_free (rand);
}

/* Erosion and dilation with the ball of radius r against the brute-force definition: exact,
 * for radii on the bit-parallel path (1 … 4) and on the distance-transform path (5, 7). */
static void
test_morphology_brute_force (void)
{
  GRand *rand = g_rand_new_with_seed (11);
  guint nx = 70, ny = 12, nz = 10;   /* nx > 64: rows span two words */
  gsize n = (gsize) nx * ny * nz;
  const guint radii[] = { 1, 2, 3, 4, 5, 7 };

  for (guint ri_ = 0; ri_ < G_N_ELEMENTS (radii); ri_++)
    for (int op = 0; op < 2; op++)
      {
        guint r = radii[ri_];
        g_autofree guint8 *m = random_mask (rand, nx, ny, nz, op == 0 ? 0.85 : 0.05);
        g_autofree guint8 *res = g_memdup2 (m, n);
        g_autoptr(GError) error = NULL;
        int ri = (int) r;

        if (op == 0)
          g_assert_true (kiln_morphology_erode (res, nx, ny, nz, r, NULL, &error));
        else
          g_assert_true (kiln_morphology_dilate (res, nx, ny, nz, r, NULL, &error));
        g_assert_no_error (error);
        for (gsize i = 0; i < n; i++)
          {
            int x = i % nx, y = (i / nx) % ny, z = i / ((gsize) nx * ny);
            gboolean expect = op == 0 ? TRUE : FALSE;
            for (int dz = -ri; dz <= ri; dz++)
              for (int dy = -ri; dy <= ri; dy++)
                for (int dx = -ri; dx <= ri; dx++)
                  {
                    int xx = x + dx, yy = y + dy, zz = z + dz;
                    if (dx * dx + dy * dy + dz * dz > ri * ri)
                      continue;
                    if (xx < 0 || yy < 0 || zz < 0 || xx >= (int) nx || yy >= (int) ny ||
                        zz >= (int) nz)
                      continue;   /* outside the volume is neither set nor unset */
                    if (op == 0 && !m[((gsize) zz * ny + yy) * nx + xx])
                      expect = FALSE;
                    if (op == 1 && m[((gsize) zz * ny + yy) * nx + xx])
                      expect = TRUE;
                  }
            if (op == 0)
              expect = expect && m[i];
            g_assert_cmpint (res[i], ==, expect);
          }
      }
  g_rand_free (rand);
}

/* Otsu on known histograms. */
static void
test_otsu_histogram (void)
{
  guint64 hist[256];

  /* two equal Gaussians at bins 64 and 192 (σ = 12 bins): by symmetry the threshold is the
   * midpoint, 128 bins → value 0.5 on [0, 1); tolerance one bin */
  for (int k = 0; k < 256; k++)
    hist[k] = (guint64) (1e6 * (exp (-0.5 * pow ((k - 64) / 12.0, 2)) +
                                exp (-0.5 * pow ((k - 192) / 12.0, 2))));
  g_assert_cmpfloat_with_epsilon (kiln_otsu_threshold_histogram (hist, 256, 0, 1), 0.5,
                                  1.0 / 256);
  /* unequal weights (9:1), narrow, well separated (bins 40 ± 3 and 200 ± 3): Otsu's threshold
   * lies in the empty gap between the classes (values 44/256 … 197/256) */
  memset (hist, 0, sizeof (hist));
  for (int k = 37; k <= 43; k++)
    hist[k] = 9000;
  for (int k = 197; k <= 203; k++)
    hist[k] = 1000;
  {
    double t = kiln_otsu_threshold_histogram (hist, 256, 0, 256);
    g_assert_cmpfloat (t, >=, 44);
    g_assert_cmpfloat (t, <=, 197);
  }
  /* the textbook three-level example: values 0 (n = 10), 1 (n = 10), 5 (n = 10): the split
   * {0, 1} | {5} has between-class variance 10·20·(0.5 − 5)²/30² = 4.5 > the split {0} | {1, 5}
   * (10·20·(0 − 3)²/900 = 2); threshold = upper edge of bin 1 = 2 on [0, 6) with 6 bins */
  {
    guint64 h3[6] = { 10, 10, 0, 0, 0, 10 };
    g_assert_cmpfloat_with_epsilon (kiln_otsu_threshold_histogram (h3, 6, 0, 6), 2.0, 1e-12);
  }
}

/* Otsu on a noisy bimodal volume: two levels 0.2 and 1.0 with σ = 0.05 noise; the threshold
 * must separate them (within 0.35 … 0.85) and the mask must equal the truth (noise of 0.05
 * is 6σ from any threshold in that range). */
static void
test_otsu_volume (void)
{
  g_autoptr(KilnVolume) v = kiln_volume_new (32, 32, 16, NULL);
  GRand *rand = g_rand_new_with_seed (3);
  double t;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *mask = NULL;

  for (guint z = 0; z < 16; z++)
    for (guint y = 0; y < 32; y++)
      for (guint x = 0; x < 32; x++)
        {
          gboolean in = (x - 12.0) * (x - 12.0) + (y - 16.0) * (y - 16.0) + (z - 8.0) * (z - 8.0)
                        < 36;
          double noise = sqrt (-2 * log (g_rand_double (rand) + 1e-12)) *
                         cos (2 * G_PI * g_rand_double (rand));
          KILN_VOXEL (v, x, y, z) = (in ? 1.0 : 0.2) + 0.05 * noise;
        }
  g_assert_true (kiln_segment_otsu (v, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (t, >, 0.35);
  g_assert_cmpfloat (t, <, 0.85);
  mask = kiln_segment_binarise (v, t, &error);
  for (guint z = 0; z < 16; z++)
    for (guint y = 0; y < 32; y++)
      for (guint x = 0; x < 32; x++)
        {
          gboolean in = (x - 12.0) * (x - 12.0) + (y - 16.0) * (y - 16.0) + (z - 8.0) * (z - 8.0)
                        < 36;
          g_assert_cmpint (mask[((gsize) z * 32 + y) * 32 + x], ==, in);
        }
  g_rand_free (rand);
}

static void
test_otsu_constant (void)
{
  g_autoptr(KilnVolume) v = kiln_volume_new (4, 4, 4, NULL);
  g_autoptr(GError) error = NULL;
  double t;

  g_assert_false (kiln_segment_otsu (v, &t, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
}

/* Connected components: diagonal neighbours join under 26- but not 6-connectivity; small
 * objects are removed and labels stay consecutive. */
static void
test_components (void)
{
  guint8 m[5 * 5 * 5] = { 0 };
  guint32 n;
  g_autoptr(KilnLabelVolume) l6 = NULL, l26 = NULL;

#define M(x, y, z) m[((z) * 5 + (y)) * 5 + (x)]
  M (0, 0, 0) = 1;
  M (1, 1, 1) = 1;          /* corner-touching: 26 only */
  M (4, 4, 4) = 1;
  M (4, 3, 4) = 1;          /* face-touching */
  M (4, 3, 3) = 1;
  M (0, 4, 0) = 1;          /* isolated */
  M (3, 0, 4) = 1;
  M (2, 0, 3) = 1;          /* edge-touching: 26 only (18 too) */
#undef M
  l6 = kiln_label_components (m, 5, 5, 5, 6, &n, NULL, NULL);
  g_assert_cmpuint (n, ==, 6);
  l26 = kiln_label_components (m, 5, 5, 5, 26, &n, NULL, NULL);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (KILN_VOXEL (l26, 0, 0, 0), ==, KILN_VOXEL (l26, 1, 1, 1));
  g_assert_cmpuint (KILN_VOXEL (l26, 4, 4, 4), ==, KILN_VOXEL (l26, 4, 3, 3));
  g_assert_cmpuint (KILN_VOXEL (l6, 0, 0, 0), !=, KILN_VOXEL (l6, 1, 1, 1));
  /* remove objects < 3 voxels: only the 3-voxel object survives, as label 1 */
  n = kiln_label_remove_small (l26, 3);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (KILN_VOXEL (l26, 4, 4, 4), ==, 1);
  g_assert_cmpuint (KILN_VOXEL (l26, 0, 0, 0), ==, 0);
  g_assert_cmpuint (kiln_label_volume_max_label (l26), ==, 1);
}

/* The whole step on a phantom with three separated spheres (radius 5, 6, 7 voxels): three
 * labels whose voxel counts match the sphere volumes within 10 % (opening with the radius-1
 * ball, the 7-voxel cross, trims the corner voxels of a digital sphere: ≈ 7 % at radius 5). */
static void
test_segment_step (void)
{
  PhScene s = { 0 };
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) labels = NULL;
  g_autoptr(GArray) parts = NULL;
  KilnSegmentParams p;
  guint32 n;
  double t;
  g_autoptr(GError) error = NULL;
  const double r[3] = { 5, 6, 7 };

  ph_sphere (&s, 8, 10, 10, r[0]);
  ph_sphere (&s, 24, 10, 10, r[1]);
  ph_sphere (&s, 16, 27, 10, r[2]);
  v = ph_render (&s, 36, 38, 20);
  kiln_segment_params_init (&p);
  p.otsu = FALSE;
  p.threshold = 0.5;
  p.erode = 1;
  p.dilate = 1;
  labels = kiln_segment (v, &p, &t, &n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpfloat (t, ==, 0.5);
  parts = kiln_label_particles (labels);
  for (guint i = 0; i < 3; i++)
    {
      KilnParticle *pp = NULL;
      double expect;
      for (guint j = 0; j < parts->len; j++)
        {
          KilnParticle *q = &g_array_index (parts, KilnParticle, j);
          if (fabs (q->centroid[0] - s.p[i][0]) < 1 && fabs (q->centroid[1] - s.p[i][1]) < 1 &&
              fabs (q->centroid[2] - s.p[i][2]) < 1)
            pp = q;
        }
      g_assert_nonnull (pp);
      expect = 4.0 / 3.0 * G_PI * pow (r[i], 3);
      g_assert_cmpfloat (fabs (pp->voxels - expect) / expect, <, 0.10);
    }
  /* Otsu on the same (near-binary) phantom also finds three particles */
  p.otsu = TRUE;
  g_clear_pointer (&labels, kiln_label_volume_unref);
  labels = kiln_segment (v, &p, &t, &n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpfloat (t, >, 0);
  g_assert_cmpfloat (t, <, 1);
}

static void
test_segment_cancel (void)
{
  g_autoptr(KilnVolume) v = kiln_volume_new (16, 16, 16, NULL);
  g_autoptr(KilnVolume) copy = NULL;
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnSegmentParams p;
  KilnLabelVolume *l;

  for (gsize i = 0; i < 16 * 16 * 16; i++)
    v->data[i] = (i % 7) / 7.0f;
  copy = kiln_volume_copy (v, NULL);
  kiln_segment_params_init (&p);
  p.erode = 1;
  g_cancellable_cancel (c);
  l = kiln_segment (v, &p, NULL, NULL, c, NULL, NULL, &error);
  g_assert_null (l);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpmem (v->data, 16 * 16 * 16 * 4, copy->data, 16 * 16 * 16 * 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/segment/edt-brute-force", test_edt_brute_force);
  g_test_add_func ("/segment/morphology-brute-force", test_morphology_brute_force);
  g_test_add_func ("/segment/otsu-histogram", test_otsu_histogram);
  g_test_add_func ("/segment/otsu-volume", test_otsu_volume);
  g_test_add_func ("/segment/otsu-constant", test_otsu_constant);
  g_test_add_func ("/segment/components", test_components);
  g_test_add_func ("/segment/step", test_segment_step);
  g_test_add_func ("/segment/cancel", test_segment_cancel);
  return g_test_run ();
}
