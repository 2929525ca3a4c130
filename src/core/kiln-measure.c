/* kiln-measure.c — the paper's 2D pair protocol and true 3D measures
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-measure.h"
#include "kiln-morphology.h"

#define SUB 8   /* histogram bins per voxel length along a measuring axis */

static const char *value_names[KILN_MEASURE_N_VALUES] = {
  "r_n", "d_xy", "d_z", "d", "r_p", "h_over_w",
  "neck_radius_3d", "distance_3d", "radius_3d", "aspect_3d",
};

const char *
kiln_measure_value_name (KilnMeasureValue value)
{
  g_return_val_if_fail (value < KILN_MEASURE_N_VALUES, NULL);
  return value_names[value];
}

const char *
kiln_measure_value_unit (KilnMeasureValue value)
{
  return (value == KILN_MEASURE_H_OVER_W || value == KILN_MEASURE_ASPECT_3D) ? "" : "nm";
}

/* Eigenvalues of a symmetric 3×3 matrix (cyclic Jacobi). */
static void
sym3_eigenvalues (double m[3][3],
                  double ev[3])
{
  for (int sweep = 0; sweep < 50; sweep++)
    {
      double off = m[0][1] * m[0][1] + m[0][2] * m[0][2] + m[1][2] * m[1][2];
      if (off < 1e-24 * (m[0][0] * m[0][0] + m[1][1] * m[1][1] + m[2][2] * m[2][2]) ||
          off == 0)
        break;
      for (int p = 0; p < 2; p++)
        for (int q = p + 1; q < 3; q++)
          {
            double theta, t, c, s;

            if (m[p][q] == 0)
              continue;
            theta = (m[q][q] - m[p][p]) / (2 * m[p][q]);
            t = (theta >= 0 ? 1.0 : -1.0) / (fabs (theta) + sqrt (theta * theta + 1));
            c = 1 / sqrt (t * t + 1);
            s = t * c;
            for (int k = 0; k < 3; k++)
              {
                double mkp = m[k][p], mkq = m[k][q];
                m[k][p] = c * mkp - s * mkq;
                m[k][q] = s * mkp + c * mkq;
              }
            for (int k = 0; k < 3; k++)
              {
                double mpk = m[p][k], mqk = m[q][k];
                m[p][k] = c * mpk - s * mqk;
                m[q][k] = s * mpk + c * mqk;
              }
          }
    }
  for (int k = 0; k < 3; k++)
    ev[k] = m[k][k];
}

/* Moving average of @h (n bins) over a window of @w bins (w may be fractional), in place. */
static void
box_filter (double *h,
            gssize  n,
            double  w)
{
  double *cum, *orig;

  if (w <= 1e-9)
    return;
  orig = g_memdup2 (h, n * sizeof (double));
  cum = g_new (double, n + 1);
  cum[0] = 0;
  for (gssize k = 0; k < n; k++)
    cum[k + 1] = cum[k] + h[k];
  for (gssize k = 0; k < n; k++)
    {
      double x0 = k + 0.5 - w / 2, x1 = k + 0.5 + w / 2, s0, s1;
      gssize i0, i1;

      x0 = CLAMP (x0, 0, (double) n);
      x1 = CLAMP (x1, 0, (double) n);
      i0 = MIN ((gssize) x0, n - 1);
      i1 = MIN ((gssize) x1, n - 1);
      s0 = cum[i0] + (x0 - i0) * orig[i0];
      s1 = cum[i1] + (x1 - i1) * orig[i1];
      h[k] = (s1 - s0) / w;
    }
  g_free (cum);
  g_free (orig);
}

/* The smallest cross-section (area in 3D, width in 2D) of a set of unit voxels (pixels) across
 * direction @u, for positions t ∈ [t0, t1] along it.  @hist holds the voxel centres' positions
 * binned by 1/SUB from @tmin; the voxels are treated as unit cubes (squares): their projection
 * onto u is the convolution of boxes of widths |u_x|, |u_y|(, |u_z|), which removes the
 * aliasing of counting centres on oblique directions.  Modifies @hist. */
static double
min_section (double       *hist,
             gssize        n_bins,
             double        tmin,
             const double *u,
             int           dims,
             double        t0,
             double        t1)
{
  double best = HUGE_VAL;

  for (int k = 0; k < dims; k++)
    box_filter (hist, n_bins, fabs (u[k]) * SUB);
  for (gssize k = 0; k < n_bins; k++)
    {
      double centre = tmin + (k + 0.5) / SUB;
      if (centre < t0 || centre > t1)
        continue;
      best = MIN (best, hist[k] * SUB);
    }
  return best == HUGE_VAL ? 0 : best;
}

typedef struct
{
  guint64 n;
  double  s[3];
  double  ss[3][3];
  guint   zmin, zmax;
} Acc;

gboolean
kiln_measure_pair (const KilnLabelVolume  *labels,
                   const GArray           *particles,
                   guint32                 a,
                   guint32                 b,
                   KilnPairMeasure        *out,
                   GError                **error)
{
  g_autoptr(GArray) own = NULL;
  const KilnParticle *pa, *pb;
  guint lo[3], hi[3], bw, bh, bd;
  double vs = labels->voxel_size_nm > 0 ? labels->voxel_size_nm : 1.0;
  Acc acc[2];
  guint8 *foot;
  guint32 *col[2];
  guint64 *neck_count;
  guint64 contact = 0;
  double c[2][3], u[3], L;
  guint nx = labels->nx, ny = labels->ny, nz = labels->nz;

  memset (out, 0, sizeof (*out));
  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    out->error[k] = NAN;
  out->a = a;
  out->b = b;
  if (a == b || a == 0 || b == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "A pair needs two different particle labels ≥ 1 (got %u:%u)", a, b);
      return FALSE;
    }
  if (particles == NULL)
    particles = own = kiln_label_particles (labels);
  if (a > particles->len || b > particles->len ||
      g_array_index (particles, KilnParticle, a - 1).voxels == 0 ||
      g_array_index (particles, KilnParticle, b - 1).voxels == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Particle %u is not in the label volume (labels 1 … %u)",
                   (a > particles->len ||
                    g_array_index (particles, KilnParticle, a - 1).voxels == 0) ? a : b,
                   particles->len);
      return FALSE;
    }
  pa = &g_array_index (particles, KilnParticle, a - 1);
  pb = &g_array_index (particles, KilnParticle, b - 1);
  for (int k = 0; k < 3; k++)
    {
      lo[k] = MIN (pa->bbox_min[k], pb->bbox_min[k]);
      hi[k] = MAX (pa->bbox_max[k], pb->bbox_max[k]);
    }
  bw = hi[0] - lo[0] + 1;
  bh = hi[1] - lo[1] + 1;
  bd = hi[2] - lo[2] + 1;
  /* footprints of the pair's bounding box: image-sized, through the checked path */
  foot = kiln_alloc ((gsize) bw * bh, 1, TRUE, "pair footprint", error);
  col[0] = foot ? kiln_alloc ((gsize) bw * bh, sizeof (guint32), TRUE, "pair footprint", error)
                : NULL;
  col[1] = col[0] ? kiln_alloc ((gsize) bw * bh, sizeof (guint32), TRUE, "pair footprint", error)
                  : NULL;
  if (col[1] == NULL)
    {
      kiln_free (foot);
      kiln_free (col[0]);
      return FALSE;
    }
  neck_count = g_new0 (guint64, bd);
  memset (acc, 0, sizeof (acc));
  acc[0].zmin = acc[1].zmin = G_MAXUINT;

  /* pass 1: moments, z extents, footprints, contact faces */
  for (guint z = lo[2]; z <= hi[2]; z++)
    for (guint y = lo[1]; y <= hi[1]; y++)
      for (guint x = lo[0]; x <= hi[0]; x++)
        {
          guint32 l = KILN_VOXEL (labels, x, y, z);
          int w;
          guint32 other;
          double p[3] = { x, y, z };

          if (l != a && l != b)
            continue;
          w = l == a ? 0 : 1;
          other = l == a ? b : a;
          acc[w].n++;
          for (int i = 0; i < 3; i++)
            {
              acc[w].s[i] += p[i];
              for (int j = 0; j < 3; j++)
                acc[w].ss[i][j] += p[i] * p[j];
            }
          acc[w].zmin = MIN (acc[w].zmin, z);
          acc[w].zmax = MAX (acc[w].zmax, z);
          col[w][(gsize) (y - lo[1]) * bw + (x - lo[0])]++;
          if (x + 1 < nx && KILN_VOXEL (labels, x + 1, y, z) == other)
            {
              contact++;
              neck_count[z - lo[2]]++;
            }
          if (y + 1 < ny && KILN_VOXEL (labels, x, y + 1, z) == other)
            {
              contact++;
              neck_count[z - lo[2]]++;
            }
          if (z + 1 < nz && KILN_VOXEL (labels, x, y, z + 1) == other)
            contact++;
        }
  /* footprints: a column goes to the particle with more voxels in it (A on ties) */
  for (gsize i = 0; i < (gsize) bw * bh; i++)
    if (col[0][i] > 0 || col[1][i] > 0)
      foot[i] = col[0][i] >= col[1][i] ? 1 : 2;
  kiln_free (col[0]);
  kiln_free (col[1]);
  /* each face was counted from its lower voxel only, whichever label it had: no double count */
  out->touching = contact > 0;
  out->contact_area_nm2 = contact * vs * vs;

  /* 3D */
  {
    double aspect = 0, radius = 0;

    for (int w = 0; w < 2; w++)
      {
        double m[3][3], ev[3], emin, emax;

        for (int i = 0; i < 3; i++)
          c[w][i] = acc[w].s[i] / acc[w].n;
        for (int i = 0; i < 3; i++)
          for (int j = 0; j < 3; j++)
            m[i][j] = acc[w].ss[i][j] / acc[w].n - c[w][i] * c[w][j] +
                      (i == j ? 1.0 / 12.0 : 0);   /* + the voxel's own extent */
        sym3_eigenvalues (m, ev);
        emin = MIN (ev[0], MIN (ev[1], ev[2]));
        emax = MAX (ev[0], MAX (ev[1], ev[2]));
        aspect += sqrt (emax / MAX (emin, 1e-12));
        radius += cbrt (3.0 * acc[w].n / (4 * G_PI));
      }
    L = sqrt ((c[1][0] - c[0][0]) * (c[1][0] - c[0][0]) +
              (c[1][1] - c[0][1]) * (c[1][1] - c[0][1]) +
              (c[1][2] - c[0][2]) * (c[1][2] - c[0][2]));
    for (int i = 0; i < 3; i++)
      u[i] = L > 0 ? (c[1][i] - c[0][i]) / L : (i == 0);
    out->value[KILN_MEASURE_DISTANCE_3D] = L * vs;
    out->value[KILN_MEASURE_RADIUS_3D] = radius / 2 * vs;
    out->value[KILN_MEASURE_ASPECT_3D] = aspect / 2;
  }

  /* 3D neck: smallest 1-voxel slab section of A ∪ B across the axis, between the centres */
  if (out->touching)
    {
      double tmin = HUGE_VAL, tmax = -HUGE_VAL;
      gssize n_bins;
      double *hist;

      /* the extent of t over the box corners bounds the histogram */
      for (int k = 0; k < 8; k++)
        {
          double p[3] = { (k & 1) ? hi[0] : lo[0], (k & 2) ? hi[1] : lo[1],
                          (k & 4) ? hi[2] : lo[2] };
          double t = (p[0] - c[0][0]) * u[0] + (p[1] - c[0][1]) * u[1] + (p[2] - c[0][2]) * u[2];
          tmin = MIN (tmin, t);
          tmax = MAX (tmax, t);
        }
      tmin -= 2;
      n_bins = (gssize) ((tmax + 2 - tmin) * SUB) + 2;
      hist = g_new0 (double, n_bins);
      for (guint z = lo[2]; z <= hi[2]; z++)
        for (guint y = lo[1]; y <= hi[1]; y++)
          for (guint x = lo[0]; x <= hi[0]; x++)
            {
              guint32 l = KILN_VOXEL (labels, x, y, z);
              double t;
              if (l != a && l != b)
                continue;
              t = (x - c[0][0]) * u[0] + (y - c[0][1]) * u[1] + (z - c[0][2]) * u[2];
              hist[(gssize) ((t - tmin) * SUB)] += 1;
            }
      out->value[KILN_MEASURE_NECK_RADIUS_3D] =
        sqrt (min_section (hist, n_bins, tmin, u, 3, 0, L) / G_PI) * vs;
      g_free (hist);
    }

  /* 2D protocol on the z projection */
  {
    double fs[2][3] = { { 0 } };   /* n, Σx, Σy */
    double fc[2][2], u2[2], L2, zbar[2];
    guint best_z = 0;
    double ext[2][2];              /* smin, smax across the axis */

    for (guint y = 0; y < bh; y++)
      for (guint x = 0; x < bw; x++)
        for (int w = 0; w < 2; w++)
          if (foot[(gsize) y * bw + x] & (1 << w))
            {
              fs[w][0] += 1;
              fs[w][1] += x;
              fs[w][2] += y;
            }
    for (int w = 0; w < 2; w++)
      {
        fc[w][0] = fs[w][1] / fs[w][0];
        fc[w][1] = fs[w][2] / fs[w][0];
        zbar[w] = 0.5 * (acc[w].zmin + acc[w].zmax);
      }
    L2 = hypot (fc[1][0] - fc[0][0], fc[1][1] - fc[0][1]);
    if (L2 > 0)
      {
        u2[0] = (fc[1][0] - fc[0][0]) / L2;
        u2[1] = (fc[1][1] - fc[0][1]) / L2;
      }
    else
      {
        u2[0] = 1;
        u2[1] = 0;
      }
    out->value[KILN_MEASURE_D_XY] = L2 * vs;
    out->value[KILN_MEASURE_D_Z] = fabs (zbar[1] - zbar[0]) * vs;
    out->value[KILN_MEASURE_D] = hypot (L2, zbar[1] - zbar[0]) * vs;
    out->value[KILN_MEASURE_R_P] =
      0.5 * (sqrt (fs[0][0] / G_PI) + sqrt (fs[1][0] / G_PI)) * vs;

    for (int w = 0; w < 2; w++)
      {
        ext[w][0] = HUGE_VAL;
        ext[w][1] = -HUGE_VAL;
      }
    for (guint y = 0; y < bh; y++)
      for (guint x = 0; x < bw; x++)
        for (int w = 0; w < 2; w++)
          if (foot[(gsize) y * bw + x] & (1 << w))
            {
              double s = -(x - fc[0][0]) * u2[1] + (y - fc[0][1]) * u2[0];
              ext[w][0] = MIN (ext[w][0], s);
              ext[w][1] = MAX (ext[w][1], s);
            }
    /* H = z extent (voxels), W = footprint width across the axis, pixels as unit squares */
    {
      double pw = fabs (u2[0]) + fabs (u2[1]);
      double hw = 0;
      for (int w = 0; w < 2; w++)
        hw += (acc[w].zmax - acc[w].zmin + 1.0) / (ext[w][1] - ext[w][0] + pw);
      out->value[KILN_MEASURE_H_OVER_W] = hw / 2;
    }

    if (out->touching)
      {
        double tmin = -hypot (bw, bh) - 1, tmax = hypot (bw, bh) + 1;
        gssize n_bins = (gssize) ((tmax - tmin) * SUB) + 2;
        double *hist = g_new0 (double, n_bins);

        for (guint y = 0; y < bh; y++)
          for (guint x = 0; x < bw; x++)
            if (foot[(gsize) y * bw + x])
              {
                double t = (x - fc[0][0]) * u2[0] + (y - fc[0][1]) * u2[1];
                hist[(gssize) ((t - tmin) * SUB)] += 1;
              }
        out->value[KILN_MEASURE_R_N] = 0.5 * min_section (hist, n_bins, tmin, u2, 2, 0, L2) * vs;
        g_free (hist);
        for (guint z = 1; z < bd; z++)
          if (neck_count[z] > neck_count[best_z])
            best_z = z;
        out->neck_section_z_nm = (lo[2] + best_z) * vs;
      }
    else
      out->neck_section_z_nm = 0.5 * (zbar[0] + zbar[1]) * vs;
  }
  kiln_free (foot);
  g_free (neck_count);
  return TRUE;
}

static int
cmp_i64 (const void *pa,
         const void *pb)
{
  gint64 a = *(const gint64 *) pa, b = *(const gint64 *) pb;
  return a < b ? -1 : a > b;
}

GArray *
kiln_measure_touching_pairs (const KilnLabelVolume *labels)
{
  GHashTable *seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint nx = labels->nx, ny = labels->ny, nz = labels->nz;
  GList *keys, *l;
  gint64 *store;
  guint n_keys, i = 0;

  /* slabs of z in parallel, each with its own set, merged at the end */
#pragma omp parallel
  {
    GHashTable *local = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
    GHashTableIter it;
    gpointer k;

#pragma omp for schedule(static)
    for (gssize zs = 0; zs < (gssize) nz; zs++)
      {
        guint z = (guint) zs;
        for (guint y = 0; y < ny; y++)
          for (guint x = 0; x < nx; x++)
            {
              guint32 v = KILN_VOXEL (labels, x, y, z);
              guint32 nb[3];

              if (v == 0)
                continue;
              nb[0] = x + 1 < nx ? KILN_VOXEL (labels, x + 1, y, z) : 0;
              nb[1] = y + 1 < ny ? KILN_VOXEL (labels, x, y + 1, z) : 0;
              nb[2] = z + 1 < nz ? KILN_VOXEL (labels, x, y, z + 1) : 0;
              for (int c = 0; c < 3; c++)
                if (nb[c] != 0 && nb[c] != v)
                  {
                    gint64 key = ((gint64) MIN (v, nb[c]) << 32) | MAX (v, nb[c]);
                    if (!g_hash_table_contains (local, &key))
                      {
                        gint64 *kp = g_new (gint64, 1);
                        *kp = key;
                        g_hash_table_add (local, kp);
                      }
                  }
            }
      }
#pragma omp critical
    {
      g_hash_table_iter_init (&it, local);
      while (g_hash_table_iter_next (&it, &k, NULL))
        if (!g_hash_table_contains (seen, k))
          {
            gint64 *kp = g_new (gint64, 1);
            *kp = *(gint64 *) k;
            g_hash_table_add (seen, kp);
          }
    }
    g_hash_table_destroy (local);
  }
  keys = g_hash_table_get_keys (seen);
  n_keys = g_list_length (keys);
  store = g_new (gint64, MAX (n_keys, 1));
  for (l = keys; l != NULL; l = l->next)
    store[i++] = *(gint64 *) l->data;
  g_list_free (keys);
  qsort (store, n_keys, sizeof (gint64), cmp_i64);
  g_hash_table_destroy (seen);
  for (i = 0; i < n_keys; i++)
    {
      guint32 pa = (guint32) (store[i] >> 32), pb = (guint32) (store[i] & 0xffffffff);
      g_array_append_val (pairs, pa);
      g_array_append_val (pairs, pb);
    }
  g_free (store);
  return pairs;
}

GArray *
kiln_measure_all_pairs (const KilnLabelVolume  *labels,
                        GCancellable           *cancellable,
                        GError                **error)
{
  g_autoptr(GArray) pairs = kiln_measure_touching_pairs (labels);
  g_autoptr(GArray) particles = kiln_label_particles (labels);
  guint n_pairs = pairs->len / 2;
  GArray *out = g_array_new (FALSE, TRUE, sizeof (KilnPairMeasure));
  GError *first_error = NULL;

  g_array_set_size (out, n_pairs);
  /* pairs are independent: in parallel */
#pragma omp parallel for schedule(dynamic, 1)
  for (gssize i = 0; i < (gssize) n_pairs; i++)
    {
      GError *local = NULL;

      if (g_cancellable_is_cancelled (cancellable) || g_atomic_pointer_get (&first_error) != NULL)
        continue;
      if (!kiln_measure_pair (labels, particles, g_array_index (pairs, guint32, 2 * i),
                              g_array_index (pairs, guint32, 2 * i + 1),
                              &g_array_index (out, KilnPairMeasure, i), &local) &&
          !g_atomic_pointer_compare_and_exchange (&first_error, NULL, local))
        g_error_free (local);
    }
  if (first_error != NULL)
    {
      g_propagate_error (error, first_error);
      g_array_free (out, TRUE);
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_array_free (out, TRUE);
      return NULL;
    }
  return out;
}

static void
update_error (KilnPairMeasure       *nominal,
              const KilnPairMeasure *variant)
{
  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    {
      double dev = fabs (variant->value[k] - nominal->value[k]);
      if (isnan (nominal->error[k]) || dev > nominal->error[k])
        nominal->error[k] = dev;
    }
}

gboolean
kiln_measure_sensitivity_labels (const KilnLabelVolume  *labels,
                                 KilnPairMeasure        *out,
                                 GCancellable           *cancellable,
                                 GError                **error)
{
  g_autoptr(KilnLabelVolume) crop = NULL;
  guint lo[3] = { G_MAXUINT, G_MAXUINT, G_MAXUINT }, hi[3] = { 0, 0, 0 };
  guint dims[3] = { labels->nx, labels->ny, labels->nz };
  gboolean any = FALSE;

  /* the ±1-voxel morphology changes A and B only within one voxel of them: work on their box
   * plus a margin of 2 (other labels inside it are kept, so the union is eroded as a whole) */
  for (guint z = 0; z < labels->nz; z++)
    for (guint y = 0; y < labels->ny; y++)
      {
        const guint32 *row = labels->data + ((gsize) z * labels->ny + y) * labels->nx;
        for (guint x = 0; x < labels->nx; x++)
          if (row[x] == out->a || row[x] == out->b)
            {
              guint c[3] = { x, y, z };
              any = TRUE;
              for (int k = 0; k < 3; k++)
                {
                  lo[k] = MIN (lo[k], c[k]);
                  hi[k] = MAX (hi[k], c[k]);
                }
            }
      }
  if (!any)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Particles %u and %u are not in the label volume", out->a, out->b);
      return FALSE;
    }
  for (int k = 0; k < 3; k++)
    {
      lo[k] = lo[k] >= 2 ? lo[k] - 2 : 0;
      hi[k] = MIN (hi[k] + 2, dims[k] - 1);
    }
  crop = kiln_label_volume_new (hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1, error);
  if (crop == NULL)
    return FALSE;
  crop->voxel_size_nm = labels->voxel_size_nm;
  for (guint z = 0; z < crop->nz; z++)
    for (guint y = 0; y < crop->ny; y++)
      memcpy (crop->data + ((gsize) z * crop->ny + y) * crop->nx,
              labels->data + (((gsize) (z + lo[2]) * labels->ny + y + lo[1]) * labels->nx + lo[0]),
              crop->nx * sizeof (guint32));

  for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
    out->error[k] = 0;
  for (int variant = 0; variant < 2; variant++)
    {
      g_autoptr(KilnLabelVolume) copy = kiln_label_volume_copy (crop, error);
      KilnPairMeasure m;
      gboolean ok;

      if (copy == NULL)
        return FALSE;
      ok = variant == 0 ? kiln_morphology_erode_labels (copy, 1, cancellable, error)
                        : kiln_morphology_dilate_labels (copy, 1, cancellable, error);
      if (!ok)
        return FALSE;
      /* a particle eroded away gives no measure for that variant */
      if (kiln_measure_pair (copy, NULL, out->a, out->b, &m, NULL))
        update_error (out, &m);
    }
  return TRUE;
}

/* For every label of @ref, the label of @var overlapping it most (0 if none). */
static guint32 *
match_labels (const KilnLabelVolume *ref,
              const KilnLabelVolume *var)
{
  guint32 max_ref = kiln_label_volume_max_label (ref);
  GHashTable *count = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  guint32 *best = g_new0 (guint32, (gsize) max_ref + 1);
  guint64 *best_n = g_new0 (guint64, (gsize) max_ref + 1);
  gsize n = kiln_label_volume_n_voxels (ref);
  GHashTableIter it;
  gpointer k, v;

  for (gsize i = 0; i < n; i++)
    {
      gint64 key;
      guint64 *c;

      if (ref->data[i] == 0 || var->data[i] == 0)
        continue;
      key = ((gint64) ref->data[i] << 32) | var->data[i];
      c = g_hash_table_lookup (count, &key);
      if (c == NULL)
        {
          gint64 *kp = g_new (gint64, 1);
          *kp = key;
          c = g_new0 (guint64, 1);
          g_hash_table_insert (count, kp, c);
        }
      (*c)++;
    }
  g_hash_table_iter_init (&it, count);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      guint32 r = (guint32) (*(gint64 *) k >> 32), l = (guint32) (*(gint64 *) k & 0xffffffff);
      guint64 c = *(guint64 *) v;
      if (c > best_n[r] || (c == best_n[r] && l < best[r]))
        {
          best_n[r] = c;
          best[r] = l;
        }
    }
  g_hash_table_destroy (count);
  g_free (best_n);
  return best;
}

gboolean
kiln_measure_sensitivity (const KilnVolume         *volume,
                          const KilnSegmentParams  *params,
                          const KilnLabelVolume    *labels,
                          KilnPairMeasure          *measures,
                          guint                     n_pairs,
                          GCancellable             *cancellable,
                          KilnProgressFunc          progress,
                          gpointer                  progress_data,
                          GError                  **error)
{
  KilnSegmentParams variants[4];
  int n_var = 0;
  double t;
  guint32 max_label = kiln_label_volume_max_label (labels);

  if (volume->nx != labels->nx || volume->ny != labels->ny || volume->nz != labels->nz)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "The volume (%u × %u × %u) and the labels (%u × %u × %u) differ in size",
                   volume->nx, volume->ny, volume->nz, labels->nx, labels->ny, labels->nz);
      return FALSE;
    }
  if (params->otsu)
    {
      if (!kiln_segment_otsu (volume, &t, error))
        return FALSE;
    }
  else
    t = params->threshold;
  for (int s = -1; s <= 1; s += 2)
    {
      variants[n_var] = *params;
      variants[n_var].otsu = FALSE;
      variants[n_var].threshold = kiln_segment_scale_threshold (volume, t, 0.1 * s);
      n_var++;
    }
  for (int s = -1; s <= 1; s += 2)
    {
      if (s < 0 && params->erode == 0 && params->dilate == 0)
        continue;
      variants[n_var] = *params;
      variants[n_var].erode = s < 0 ? (params->erode > 0 ? params->erode - 1 : 0)
                                    : params->erode + 1;
      variants[n_var].dilate = s < 0 ? (params->dilate > 0 ? params->dilate - 1 : 0)
                                     : params->dilate + 1;
      n_var++;
    }
  for (guint p = 0; p < n_pairs; p++)
    for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
      measures[p].error[k] = 0;

  for (int v = 0; v < n_var; v++)
    {
      g_autoptr(KilnLabelVolume) var = NULL;
      g_autoptr(GArray) particles = NULL;
      guint32 *match;

      kiln_report (progress, progress_data, v / (double) n_var, "Segmentation sensitivity");
      var = kiln_segment (volume, &variants[v], NULL, NULL, cancellable, NULL, NULL, error);
      if (var == NULL)
        return FALSE;
      match = match_labels (labels, var);
      particles = kiln_label_particles (var);
      for (guint p = 0; p < n_pairs; p++)
        {
          KilnPairMeasure m;
          guint32 a = measures[p].a, b = measures[p].b, va, vb;

          if (a > max_label || b > max_label)
            continue;
          va = match[a];
          vb = match[b];
          if (va == 0 || vb == 0 || va == vb)
            continue;
          if (kiln_measure_pair (var, particles, va, vb, &m, NULL))
            update_error (&measures[p], &m);
        }
      g_free (match);
    }
  kiln_report (progress, progress_data, 1.0, NULL);
  return TRUE;
}
