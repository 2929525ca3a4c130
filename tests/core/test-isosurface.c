/* test-isosurface.c — surface nets extraction against analytic spheres
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln.h"

/* value = R − distance to the centre (voxel centres at index + ½), so {value = 0} is the sphere */
static KilnVolume *
sphere_volume (guint n,
               double cx, double cy, double cz,
               double radius)
{
  KilnVolume *v = kiln_volume_new (n, n, n, NULL);

  for (guint z = 0; z < n; z++)
    for (guint y = 0; y < n; y++)
      for (guint x = 0; x < n; x++)
        {
          double dx = x + 0.5 - cx, dy = y + 0.5 - cy, dz = z + 0.5 - cz;
          KILN_VOXEL (v, x, y, z) = (float) (radius - sqrt (dx * dx + dy * dy + dz * dz));
        }
  return v;
}

/* Every undirected edge is used by exactly two triangles, once in each direction (closed and
 * consistently oriented). */
static void
assert_closed (const KilnMesh *m)
{
  g_autoptr(GHashTable) edges = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree gint64 *keys = g_new (gint64, 3 * m->n_triangles + 1);

  g_assert_cmpuint (m->n_triangles, >, 0);
  for (gsize t = 0; t < m->n_triangles; t++)
    for (guint e = 0; e < 3; e++)
      {
        guint32 a = m->indices[3 * t + e], b = m->indices[3 * t + (e + 1) % 3];
        gint64 *key = &keys[3 * t + e];

        g_assert_cmpuint (a, <, m->n_vertices);
        g_assert_cmpuint (a, !=, b);
        *key = ((gint64) a << 32) | b;
        /* a directed edge appears once only */
        g_assert_false (g_hash_table_contains (edges, key));
        g_hash_table_add (edges, key);
      }
  for (gsize i = 0; i < 3 * m->n_triangles; i++)
    {
      gint64 rev = ((keys[i] & 0xffffffff) << 32) | (keys[i] >> 32);
      g_assert_true (g_hash_table_contains (edges, &rev));
    }
}

static void
test_sphere (void)
{
  const double r = 20.0, c = 32.3;   /* off the grid, so that no symmetry hides an error */
  g_autoptr(KilnVolume) v = sphere_volume (64, c, c - 0.4, c + 0.2, r);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnMesh) m = kiln_isosurface_extract (v, NULL, 0.0f, NULL, NULL, NULL, &error);
  double area, expected = 4 * G_PI * r * r, max_dev = 0;

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_null (m->labels);
  g_assert_cmpuint (m->n_vertices, >, 1000);

  for (gsize i = 0; i < m->n_vertices; i++)
    {
      const float *p = m->positions + 3 * i, *n = m->normals + 3 * i;
      double d[3] = { p[0] - c, p[1] - (c - 0.4), p[2] - (c + 0.2) };
      double dist = sqrt (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
      double nl = sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);

      max_dev = MAX (max_dev, fabs (dist - r));
      /* unit normals, outward: within 10° of the radial direction (a smooth sphere) */
      g_assert_cmpfloat_with_epsilon (nl, 1.0, 1e-4);
      g_assert_cmpfloat ((d[0] * n[0] + d[1] * n[1] + d[2] * n[2]) / dist, >, cos (10 * G_PI / 180));
    }
  /* every vertex within 0.5 voxel of the true radius */
  g_assert_cmpfloat (max_dev, <, 0.5);

  /* area within 3 % of 4πR² (with voxels of 1.5 nm: the area scales by 1.5²) */
  area = kiln_mesh_area (m, 1.0);
  g_test_message ("sphere R = %.0f: %zu vertices, %zu triangles, area %.1f (4πR² = %.1f), "
                  "max |r − R| = %.3f voxel", r, m->n_vertices, m->n_triangles, area, expected,
                  max_dev);
  g_assert_cmpfloat (fabs (area - expected) / expected, <, 0.03);
  g_assert_cmpfloat_with_epsilon (kiln_mesh_area (m, 1.5), 2.25 * area, 1e-6 * area);

  assert_closed (m);

  /* triangles face outwards: their (counter-clockwise) normal points away from the centre */
  for (gsize t = 0; t < m->n_triangles; t++)
    {
      const float *a = m->positions + 3 * m->indices[3 * t];
      const float *b = m->positions + 3 * m->indices[3 * t + 1];
      const float *p = m->positions + 3 * m->indices[3 * t + 2];
      double u[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
      double w[3] = { p[0] - a[0], p[1] - a[1], p[2] - a[2] };
      double nrm[3] = { u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0] };
      double g[3] = { (a[0] + b[0] + p[0]) / 3 - c, (a[1] + b[1] + p[1]) / 3 - (c - 0.4),
                      (a[2] + b[2] + p[2]) / 3 - (c + 0.2) };
      g_assert_cmpfloat (nrm[0] * g[0] + nrm[1] * g[1] + nrm[2] * g[2], >=, 0.0);
    }
}

/* A sphere cut by the box: the surface is closed along the box face (the outside is empty). */
static void
test_cut_by_box (void)
{
  g_autoptr(KilnVolume) v = sphere_volume (32, 4.0, 16.0, 16.0, 10.0);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnMesh) m = kiln_isosurface_extract (v, NULL, 0.0f, NULL, NULL, NULL, &error);
  gsize on_face = 0;

  g_assert_no_error (error);
  assert_closed (m);
  for (gsize i = 0; i < m->n_vertices; i++)
    {
      const float *p = m->positions + 3 * i;
      /* nothing outside the box [0, 32]³ */
      g_assert_cmpfloat (p[0], >=, 0.0f);
      if (p[0] == 0.0f)
        {
          on_face++;
          /* the cap's normal is the face's outward normal, −x */
          g_assert_cmpfloat (m->normals[3 * i], <, -0.5f);
        }
    }
  /* the cap: a disc of radius √(10² − 4²) ≈ 9.2 voxels, about 260 cells on the face */
  g_assert_cmpuint (on_face, >, 200);
}

/* Two overlapping spheres labelled 1 and 2 on a labelled-0 substrate slab. */
static void
test_labels (void)
{
  const guint n = 48;
  const double r = 10.0, c1[3] = { 14.5, 24, 20 }, c2[3] = { 33.5, 24, 20 };
  g_autoptr(KilnVolume) v = kiln_volume_new (n, n, n, NULL);
  g_autoptr(KilnLabelVolume) l = kiln_label_volume_new (n, n, n, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnMesh) m = NULL;
  gsize count[3] = { 0, 0, 0 };

  for (guint z = 0; z < n; z++)
    for (guint y = 0; y < n; y++)
      for (guint x = 0; x < n; x++)
        {
          double p[3] = { x + 0.5, y + 0.5, z + 0.5 };
          double d1 = sqrt ((p[0] - c1[0]) * (p[0] - c1[0]) + (p[1] - c1[1]) * (p[1] - c1[1])
                            + (p[2] - c1[2]) * (p[2] - c1[2]));
          double d2 = sqrt ((p[0] - c2[0]) * (p[0] - c2[0]) + (p[1] - c2[1]) * (p[1] - c2[1])
                            + (p[2] - c2[2]) * (p[2] - c2[2]));
          double s = 6.0 - p[2];   /* substrate: z < 6 */
          double val = MAX (MAX (r - d1, r - d2), s);

          KILN_VOXEL (v, x, y, z) = (float) val;
          if (val >= 0 && s < 0)
            KILN_VOXEL (l, x, y, z) = d1 <= d2 ? 1 : 2;
        }

  m = kiln_isosurface_extract (v, l, 0.0f, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m->labels);
  assert_closed (m);
  for (gsize i = 0; i < m->n_vertices; i++)
    {
      const float *p = m->positions + 3 * i;
      guint32 lab = m->labels[i];

      g_assert_cmpuint (lab, <=, 2);
      count[lab]++;
      /* each sphere's surface away from the neck and the substrate (2 voxels) carries its label;
       * the substrate's surface away from the spheres carries none */
      if (p[2] > 8 && p[0] < 24 - 2)
        g_assert_cmpuint (lab, ==, 1);
      else if (p[2] > 8 && p[0] > 24 + 2)
        g_assert_cmpuint (lab, ==, 2);
      else if (p[2] < 6.5 && (p[0] < 2 || p[0] > n - 2))
        g_assert_cmpuint (lab, ==, 0);
    }
  g_test_message ("labels: %zu none, %zu of 1, %zu of 2", count[0], count[1], count[2]);
  g_assert_cmpuint (count[0], >, 100);
  g_assert_cmpuint (count[1], >, 100);
  g_assert_cmpuint (count[2], >, 100);
  /* same-size spheres: the label counts agree within 10 % */
  g_assert_cmpfloat (fabs ((double) count[1] - count[2]) / count[1], <, 0.1);
}

static void
cancel_on_progress (double      fraction,
                    const char *message,
                    gpointer    data)
{
  (void) fraction;
  (void) message;
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static void
test_cancel (void)
{
  g_autoptr(KilnVolume) v = sphere_volume (48, 24, 24, 24, 12);
  g_autoptr(KilnVolume) orig = kiln_volume_copy (v, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnMesh *m;

  /* cancelled before */
  g_cancellable_cancel (cancellable);
  m = kiln_isosurface_extract (v, NULL, 0.0f, cancellable, NULL, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* cancelled at the first progress report */
  g_cancellable_reset (cancellable);
  m = kiln_isosurface_extract (v, NULL, 0.0f, cancellable, cancel_on_progress, cancellable,
                               &error);
  g_assert_null (m);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* input untouched */
  g_assert_cmpmem (v->data, kiln_volume_n_voxels (v) * sizeof (float),
                   orig->data, kiln_volume_n_voxels (orig) * sizeof (float));
}

static void
progress_max (double      fraction,
              const char *message,
              gpointer    data)
{
  double *max = data;

  g_assert_nonnull (message);
  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  *max = MAX (*max, fraction);
}

static void
test_empty_and_errors (void)
{
  g_autoptr(KilnVolume) v = kiln_volume_new (16, 16, 16, NULL);
  g_autoptr(KilnLabelVolume) l = kiln_label_volume_new (16, 16, 8, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnMesh) m = NULL;
  double max = 0;

  /* all zeros, threshold 0.5: nothing inside, an empty mesh */
  m = kiln_isosurface_extract (v, NULL, 0.5f, NULL, progress_max, &max, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (m->n_vertices, ==, 0);
  g_assert_cmpuint (m->n_triangles, ==, 0);
  g_assert_cmpfloat (kiln_mesh_area (m, 1.0), ==, 0.0);
  g_assert_cmpfloat (max, ==, 1.0);

  /* labels of another size */
  g_assert_null (kiln_isosurface_extract (v, l, 0.5f, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_MISMATCH);
  g_clear_error (&error);

  g_assert_null (kiln_isosurface_extract (v, NULL, NAN, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/isosurface/sphere", test_sphere);
  g_test_add_func ("/isosurface/cut-by-box", test_cut_by_box);
  g_test_add_func ("/isosurface/labels", test_labels);
  g_test_add_func ("/isosurface/cancel", test_cancel);
  g_test_add_func ("/isosurface/empty-and-errors", test_empty_and_errors);
  return g_test_run ();
}
