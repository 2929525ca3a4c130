/* kiln-watershed.c — h-maxima marker watershed on the distance map, by union-find flooding
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "kiln-alloc.h"
#include "kiln-edt.h"
#include "kiln-error.h"
#include "kiln-label.h"
#include "kiln-watershed.h"

/* Largest number of distinct sort keys (squared distances); beyond, keys are quantised. */
#define MAX_KEYS (1u << 24)

typedef struct
{
  guint32 parent;
  float   peak;          /* squared distance at the basin's maximum */
  gboolean significant;  /* its dynamic is known to be ≥ h */
} Basin;

static inline guint32
find (Basin   *b,
      guint32  a)
{
  guint32 r = a;

  while (b[r].parent != r)
    r = b[r].parent;
  while (b[a].parent != r)
    {
      guint32 next = b[a].parent;
      b[a].parent = r;
      a = next;
    }
  return r;
}

static guint32
k_total (const guint32 *n_local,
         guint32        n_cc)
{
  guint32 t = 0;
  for (guint32 k = 1; k <= n_cc; k++)
    t += n_local[k];
  return t;
}

static KilnLabelVolume *
split_whole (const guint8      *mask,
             guint              nx,
             guint              ny,
             guint              nz,
             const float       *distance_sq,
             double             h,
                      guint              connectivity,
                      guint32           *n_labels,
                      GCancellable      *cancellable,
                      KilnProgressFunc   progress,
                      gpointer           progress_data,
                      GError           **error)
{
  g_autoptr(KilnLabelVolume) out = NULL;
  float *own_dist = NULL;
  const float *dist;
  gsize n, n_fg = 0;
  guint32 *order = NULL, *bucket_start = NULL;
  guint32 n_keys;
  float max_d = 0;
  double key_scale = 1.0;
  GArray *basins;
  gssize offs[26];
  int noff[26][3];
  int n_offs = 0;
  guint32 *first_map;
  guint32 n_out = 0;

  if (!(h > 0) || !isfinite (h))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Watershed marker height h must be > 0 voxels (got %g)", h);
      return NULL;
    }
  if (connectivity != 6 && connectivity != 26)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Connectivity must be 6 or 26, not %u", connectivity);
      return NULL;
    }
  out = kiln_label_volume_new (nx, ny, nz, error);
  if (out == NULL)
    return NULL;
  n = kiln_label_volume_n_voxels (out);
  if (n >= G_MAXUINT32)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "The watershed handles volumes of fewer than 2³² voxels (got %u × %u × %u)",
                   nx, ny, nz);
      return NULL;
    }

  kiln_report (progress, progress_data, 0.0, "Distance transform");
  dist = distance_sq;
  if (dist == NULL)
    {
      own_dist = kiln_alloc (n, sizeof (float), FALSE, "distance map for the watershed", error);
      if (own_dist == NULL)
        return NULL;
      if (!kiln_edt_squared (mask, nx, ny, nz, FALSE, own_dist, cancellable, error))
        {
          kiln_free (own_dist);
          return NULL;
        }
      dist = own_dist;
    }

  /* counting sort of the foreground voxels by decreasing squared distance */
  kiln_report (progress, progress_data, 0.3, "Sorting voxels by distance");
  for (gsize i = 0; i < n; i++)
    if (mask[i])
      {
        n_fg++;
        if (dist[i] > max_d)
          max_d = dist[i];
      }
  if (max_d >= KILN_EDT_INF)
    max_d = (float) nx * nx + (float) ny * ny + (float) nz * nz;  /* no background at all */
  if (max_d + 1 > MAX_KEYS)
    key_scale = (MAX_KEYS - 2) / (double) max_d;
  n_keys = (guint32) (max_d * key_scale) + 2;
  bucket_start = g_new0 (guint32, (gsize) n_keys + 1);
  order = kiln_alloc (MAX (n_fg, 1), sizeof (guint32), FALSE, "watershed voxel order", error);
  if (order == NULL)
    {
      g_free (bucket_start);
      kiln_free (own_dist);
      return NULL;
    }
#define KEY(i) ((n_keys - 2) - (guint32) (MIN (dist[i], max_d) * key_scale))
  for (gsize i = 0; i < n; i++)
    if (mask[i])
      bucket_start[KEY (i) + 1]++;
  for (guint32 k = 1; k <= n_keys; k++)
    bucket_start[k] += bucket_start[k - 1];
  for (gsize i = 0; i < n; i++)
    if (mask[i])
      order[bucket_start[KEY (i)]++] = (guint32) i;
#undef KEY
  g_free (bucket_start);

  for (int dz = -1; dz <= 1; dz++)
    for (int dy = -1; dy <= 1; dy++)
      for (int dx = -1; dx <= 1; dx++)
        {
          if (dx == 0 && dy == 0 && dz == 0)
            continue;
          if (connectivity == 6 && abs (dx) + abs (dy) + abs (dz) != 1)
            continue;
          noff[n_offs][0] = dx;
          noff[n_offs][1] = dy;
          noff[n_offs][2] = dz;
          offs[n_offs] = ((gssize) dz * ny + dy) * (gssize) nx + dx;
          n_offs++;
        }

  /* flooding */
  kiln_report (progress, progress_data, 0.5, "Finding the markers");
  basins = g_array_sized_new (FALSE, FALSE, sizeof (Basin), 1024);
  {
    Basin zero = { 0, 0, FALSE };
    g_array_append_val (basins, zero);
  }
  for (gsize k = 0; k < n_fg; k++)
    {
      gsize p = order[k];
      guint x = p % nx, y = (p / nx) % ny, z = p / ((gsize) nx * ny);
      gboolean interior = x > 0 && y > 0 && z > 0 && x + 1 < nx && y + 1 < ny && z + 1 < nz;
      guint32 roots[26];
      int n_roots = 0;
      guint32 best_nb = 0;
      float best_nb_d = -1;
      float v = dist[p];
      Basin *b;

      if ((k & 0xFFFFF) == 0 && k > 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              g_array_free (basins, TRUE);
              kiln_free (order);
              kiln_free (own_dist);
              return NULL;
            }
          kiln_report (progress, progress_data, 0.5 + 0.25 * k / (double) n_fg,
                       "Finding the markers");
        }
      b = (Basin *) basins->data;
      for (int o = 0; o < n_offs; o++)
        {
          gsize q;
          guint32 lq, r;

          if (!interior)
            {
              gint64 xx = (gint64) x + noff[o][0], yy = (gint64) y + noff[o][1];
              gint64 zz = (gint64) z + noff[o][2];
              if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz)
                continue;
            }
          q = (gsize) ((gssize) p + offs[o]);
          lq = out->data[q];
          if (lq == 0)
            continue;
          if (dist[q] > best_nb_d)
            {
              best_nb_d = dist[q];
              best_nb = lq;
            }
          r = find (b, lq);
          {
            gboolean seen = FALSE;
            for (int i = 0; i < n_roots; i++)
              seen |= roots[i] == r;
            if (!seen)
              roots[n_roots++] = r;
          }
        }
      if (n_roots == 0)
        {
          Basin nb = { basins->len, v, FALSE };
          out->data[p] = basins->len;
          g_array_append_val (basins, nb);
          continue;
        }
      if (n_roots > 1)
        {
          guint32 top = roots[0];
          double sv = sqrt (v);

          for (int i = 1; i < n_roots; i++)
            if (b[roots[i]].peak > b[top].peak ||
                (b[roots[i]].peak == b[top].peak && roots[i] < top))
              top = roots[i];
          for (int i = 0; i < n_roots; i++)
            {
              guint32 r = roots[i];
              if (r == top || b[r].significant)
                continue;
              if (sqrt (b[r].peak) - sv < h)
                b[r].parent = top;      /* not an h-maximum: flooded by the higher basin */
              else
                b[r].significant = TRUE;
            }
        }
      out->data[p] = find (b, best_nb);
    }
  kiln_free (order);

  /* second pass: the markers are the cores of the surviving basins (their voxels within h of
   * the basin's maximum); flood from them in order of decreasing distance, first come first
   * served within a level (hierarchical FIFO queue), so that in a broad saddle the two fronts
   * meet half-way */
  kiln_report (progress, progress_data, 0.75, "Flooding from the markers");
  {
    Basin *b = (Basin *) basins->data;
    GArray **bucket = g_new0 (GArray *, n_keys);
    guint *head = g_new0 (guint, n_keys);
    guint32 cur;

#define KEY(i) ((n_keys - 2) - (guint32) (MIN (dist[i], max_d) * key_scale))
    for (gsize i = 0; i < n; i++)
      {
        guint32 l = out->data[i], r;
        double core;
        if (l == 0)
          continue;
        r = find (b, l);
        core = sqrt (b[r].peak) - h;
        if (core < 0 || dist[i] >= core * core)
          {
            guint32 k = KEY (i), ii = (guint32) i;
            out->data[i] = r;
            if (bucket[k] == NULL)
              bucket[k] = g_array_new (FALSE, FALSE, sizeof (guint32));
            g_array_append_val (bucket[k], ii);
          }
        else
          out->data[i] = 0;
      }
    for (cur = 0; cur < n_keys; cur++)
      {
        if (g_cancellable_is_cancelled (cancellable))
          break;
        while (bucket[cur] != NULL && head[cur] < bucket[cur]->len)
          {
            gsize p = g_array_index (bucket[cur], guint32, head[cur]);
            guint x = p % nx, y = (p / nx) % ny, z = p / ((gsize) nx * ny);
            gboolean interior = x > 0 && y > 0 && z > 0 && x + 1 < nx && y + 1 < ny && z + 1 < nz;

            head[cur]++;
            for (int o = 0; o < n_offs; o++)
              {
                gsize q;
                guint32 k, qq;

                if (!interior)
                  {
                    gint64 xx = (gint64) x + noff[o][0], yy = (gint64) y + noff[o][1];
                    gint64 zz = (gint64) z + noff[o][2];
                    if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz)
                      continue;
                  }
                q = (gsize) ((gssize) p + offs[o]);
                if (!mask[q] || out->data[q] != 0)
                  continue;
                out->data[q] = out->data[p];
                k = MAX (KEY (q), cur);
                qq = (guint32) q;
                if (bucket[k] == NULL)
                  bucket[k] = g_array_new (FALSE, FALSE, sizeof (guint32));
                g_array_append_val (bucket[k], qq);
              }
          }
        if (bucket[cur] != NULL)
          {
            g_array_free (bucket[cur], TRUE);
            bucket[cur] = NULL;
          }
      }
#undef KEY
    for (guint32 k = 0; k < n_keys; k++)
      if (bucket[k] != NULL)
        g_array_free (bucket[k], TRUE);
    g_free (bucket);
    g_free (head);
  }
  kiln_free (own_dist);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_array_free (basins, TRUE);
      return NULL;
    }

  /* number the basins in scan order */
  first_map = g_new0 (guint32, basins->len);
  for (gsize i = 0; i < n; i++)
    {
      guint32 r = out->data[i];
      if (r == 0)
        continue;
      if (first_map[r] == 0)
        first_map[r] = ++n_out;
      out->data[i] = first_map[r];
    }
  g_free (first_map);
  g_array_free (basins, TRUE);
  kiln_report (progress, progress_data, 1.0, NULL);
  if (n_labels != NULL)
    *n_labels = n_out;
  return g_steal_pointer (&out);
}

KilnLabelVolume *
kiln_watershed_split (const guint8      *mask,
                      guint              nx,
                      guint              ny,
                      guint              nz,
                      double             h,
                      guint              connectivity,
                      guint32           *n_labels,
                      GCancellable      *cancellable,
                      KilnProgressFunc   progress,
                      gpointer           progress_data,
                      GError           **error)
{
  g_autoptr(KilnLabelVolume) cc = NULL;
  g_autoptr(KilnLabelVolume) out = NULL;
  g_autoptr(GArray) parts = NULL;
  guint32 n_cc = 0, *n_local, *base, *first_map, n_out = 0;
  GError *first_error = NULL;
  gsize n;
  volatile gint done = 0;

  if (!(h > 0) || !isfinite (h))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Watershed marker height h must be > 0 voxels (got %g)", h);
      return NULL;
    }
  if (connectivity != 6 && connectivity != 26)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Connectivity must be 6 or 26, not %u", connectivity);
      return NULL;
    }
  kiln_report (progress, progress_data, 0.0, "Connected components");
  cc = kiln_label_components (mask, nx, ny, nz, connectivity, &n_cc, cancellable, error);
  if (cc == NULL)
    return NULL;
  out = kiln_label_volume_new (nx, ny, nz, error);
  if (out == NULL)
    return NULL;
  n = kiln_label_volume_n_voxels (out);
  parts = kiln_label_particles (cc);
  n_local = g_new0 (guint32, (gsize) n_cc + 1);

  /* each component is split on its own box (one voxel of margin): the distance map inside the
   * box is the exact distance to the nearest voxel not in the component, the work is
   * proportional to the particles' boxes, the data stay in cache, and components run in
   * parallel */
#pragma omp parallel for schedule(dynamic, 1)
  for (gssize k = 0; k < (gssize) n_cc; k++)
    {
      const KilnParticle *p = &g_array_index (parts, KilnParticle, k);
      guint lo[3], hi[3], bx, by, bz;
      guint8 *sub;
      KilnLabelVolume *sl;
      GError *local = NULL;
      guint32 label = (guint32) k + 1, n_sub = 0;
      guint vdim[3] = { nx, ny, nz };

      if (g_cancellable_is_cancelled (cancellable) || g_atomic_pointer_get (&first_error) != NULL)
        continue;
      for (int a = 0; a < 3; a++)
        {
          lo[a] = p->bbox_min[a] > 0 ? p->bbox_min[a] - 1 : 0;
          hi[a] = p->bbox_max[a] + 1 < vdim[a] ? p->bbox_max[a] + 1 : vdim[a] - 1;
        }
      bx = hi[0] - lo[0] + 1;
      by = hi[1] - lo[1] + 1;
      bz = hi[2] - lo[2] + 1;
      sub = kiln_alloc ((gsize) bx * by * bz, 1, FALSE, "particle box for the watershed", &local);
      if (sub != NULL)
        {
          for (guint z = 0; z < bz; z++)
            for (guint y = 0; y < by; y++)
              for (guint x = 0; x < bx; x++)
                sub[((gsize) z * by + y) * bx + x] =
                  KILN_VOXEL (cc, lo[0] + x, lo[1] + y, lo[2] + z) == label;
          sl = split_whole (sub, bx, by, bz, NULL, h, connectivity, &n_sub, NULL, NULL, NULL,
                            &local);
          kiln_free (sub);
          if (sl != NULL)
            {
              for (guint z = 0; z < bz; z++)
                for (guint y = 0; y < by; y++)
                  for (guint x = 0; x < bx; x++)
                    {
                      guint32 l = sl->data[((gsize) z * by + y) * bx + x];
                      if (l != 0)
                        KILN_VOXEL (out, lo[0] + x, lo[1] + y, lo[2] + z) = l;
                    }
              n_local[label] = n_sub;
              kiln_label_volume_unref (sl);
            }
        }
      if (local != NULL && !g_atomic_pointer_compare_and_exchange (&first_error, NULL, local))
        g_error_free (local);
      g_atomic_int_inc (&done);
      if (omp_get_thread_num () == 0)
        kiln_report (progress, progress_data, 0.1 + 0.8 * g_atomic_int_get (&done) / (double) n_cc,
                     "Splitting particles at their necks");
    }
  if (first_error != NULL)
    {
      g_free (n_local);
      g_propagate_error (error, first_error);
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_free (n_local);
      return NULL;
    }

  /* global ids: component bases, then renumbered in scan order of first appearance */
  base = g_new0 (guint32, (gsize) n_cc + 1);
  for (guint32 k = 1; k <= n_cc; k++)
    base[k] = (k > 1 ? base[k - 1] + n_local[k - 1] : 0);
  first_map = g_new0 (guint32, (k_total (n_local, n_cc)) + 1);
  for (gsize i = 0; i < n; i++)
    {
      guint32 l = out->data[i], g;
      if (l == 0)
        continue;
      g = base[cc->data[i]] + l;
      if (first_map[g] == 0)
        first_map[g] = ++n_out;
      out->data[i] = first_map[g];
    }
  g_free (first_map);
  g_free (base);
  g_free (n_local);
  kiln_report (progress, progress_data, 1.0, NULL);
  if (n_labels != NULL)
    *n_labels = n_out;
  return g_steal_pointer (&out);
}
