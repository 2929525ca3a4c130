/* kiln-label.c — two-pass union-find connected component labelling
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-label.h"

static inline guint32
uf_find (guint32 *parent,
         guint32  a)
{
  guint32 r = a;

  while (parent[r] != r)
    r = parent[r];
  while (parent[a] != r)
    {
      guint32 next = parent[a];
      parent[a] = r;
      a = next;
    }
  return r;
}

static inline void
uf_union (guint32 *parent,
          guint32  a,
          guint32  b)
{
  a = uf_find (parent, a);
  b = uf_find (parent, b);
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

KilnLabelVolume *
kiln_label_components (const guint8  *mask,
                       guint          nx,
                       guint          ny,
                       guint          nz,
                       guint          connectivity,
                       guint32       *n_labels,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(KilnLabelVolume) out = NULL;
  GArray *parents;
  guint32 *par, *final;
  guint32 next = 1, n_final = 0;
  gsize plane = (gsize) nx * ny;
  int offs[13][3];
  gssize loffs[13];
  int n_offs = 0;

  if (connectivity != 6 && connectivity != 26)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Connectivity must be 6 or 26, not %u", connectivity);
      return NULL;
    }
  out = kiln_label_volume_new (nx, ny, nz, error);
  if (out == NULL)
    return NULL;

  /* the already visited neighbours in (z, y, x) scan order */
  for (int dz = -1; dz <= 0; dz++)
    for (int dy = -1; dy <= 1; dy++)
      for (int dx = -1; dx <= 1; dx++)
        {
          int order = (dz * 3 + dy) * 3 + dx;
          if (order >= 0)
            continue;
          if (connectivity == 6 && abs (dx) + abs (dy) + abs (dz) != 1)
            continue;
          offs[n_offs][0] = dx;
          offs[n_offs][1] = dy;
          offs[n_offs][2] = dz;
          loffs[n_offs] = ((gssize) dz * ny + dy) * (gssize) nx + dx;
          n_offs++;
        }

  parents = g_array_sized_new (FALSE, FALSE, sizeof (guint32), 1024);
  {
    guint32 zero = 0;
    g_array_append_val (parents, zero);
  }
  for (guint z = 0; z < nz; z++)
    {
      if ((z & 15) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          g_array_free (parents, TRUE);
          return NULL;
        }
      for (guint y = 0; y < ny; y++)
        {
          const guint8 *m = mask + z * plane + (gsize) y * nx;
          guint32 *l = out->data + z * plane + (gsize) y * nx;

          for (guint x = 0; x < nx; x++)
            {
              guint32 lab = 0;

              gsize p = z * plane + (gsize) y * nx + x;

              if (!m[x])
                continue;
              if (x > 0 && y > 0 && z > 0 && x + 1 < nx && y + 1 < ny)
                {
                  /* interior: no bounds checks */
                  for (int k = 0; k < n_offs; k++)
                    {
                      guint32 nl = out->data[(gssize) p + loffs[k]];
                      if (nl == 0)
                        continue;
                      if (lab == 0)
                        lab = nl;
                      else if (nl != lab)
                        uf_union ((guint32 *) parents->data, lab, nl);
                    }
                }
              else
              for (int k = 0; k < n_offs; k++)
                {
                  gint64 xx = (gint64) x + offs[k][0];
                  gint64 yy = (gint64) y + offs[k][1];
                  gint64 zz = (gint64) z + offs[k][2];
                  guint32 nl;

                  if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny)
                    continue;
                  nl = out->data[((gsize) zz * ny + yy) * nx + xx];
                  if (nl == 0)
                    continue;
                  if (lab == 0)
                    lab = nl;
                  else if (nl != lab)
                    uf_union ((guint32 *) parents->data, lab, nl);
                }
              if (lab == 0)
                {
                  lab = next++;
                  g_array_append_val (parents, lab);
                }
              l[x] = lab;
            }
        }
    }

  par = (guint32 *) parents->data;
  final = g_new0 (guint32, next);
  for (guint32 i = 1; i < next; i++)
    {
      guint32 r = uf_find (par, i);
      if (r == i)
        final[i] = ++n_final;
      else
        final[i] = final[r];   /* r < i: already numbered */
    }
  {
    gsize n = kiln_label_volume_n_voxels (out);
#pragma omp parallel for schedule(static)
    for (gssize i = 0; i < (gssize) n; i++)
      out->data[i] = final[out->data[i]];
  }
  g_free (final);
  g_array_free (parents, TRUE);
  if (n_labels != NULL)
    *n_labels = n_final;
  return g_steal_pointer (&out);
}

/* Per-thread arrays are used below this many labels, a serial pass above. */
#define PARALLEL_MAX_LABELS 65536

static guint32
max_label (const KilnLabelVolume *labels)
{
  gsize n = kiln_label_volume_n_voxels (labels);
  guint32 mx = 0;

#pragma omp parallel for schedule(static) reduction(max:mx)
  for (gssize i = 0; i < (gssize) n; i++)
    if (labels->data[i] > mx)
      mx = labels->data[i];
  return mx;
}

static guint32
renumber (KilnLabelVolume *labels,
          guint64          min_voxels)
{
  gsize n = kiln_label_volume_n_voxels (labels);
  guint32 max = max_label (labels);
  guint64 *count = g_new0 (guint64, (gsize) max + 1);
  guint32 *map = g_new0 (guint32, (gsize) max + 1);
  guint32 n_out = 0;

  if (max <= PARALLEL_MAX_LABELS)
    {
#pragma omp parallel
      {
        guint64 *local = g_new0 (guint64, (gsize) max + 1);
#pragma omp for schedule(static)
        for (gssize i = 0; i < (gssize) n; i++)
          local[labels->data[i]]++;
#pragma omp critical
        for (guint32 l = 0; l <= max; l++)
          count[l] += local[l];
        g_free (local);
      }
    }
  else
    for (gsize i = 0; i < n; i++)
      count[labels->data[i]]++;
  for (guint32 l = 1; l <= max; l++)
    if (count[l] > 0 && count[l] >= min_voxels)
      map[l] = ++n_out;
#pragma omp parallel for schedule(static)
  for (gssize i = 0; i < (gssize) n; i++)
    labels->data[i] = map[labels->data[i]];
  g_free (count);
  g_free (map);
  return n_out;
}

guint32
kiln_label_remove_small (KilnLabelVolume *labels,
                         guint64          min_voxels)
{
  return renumber (labels, min_voxels);
}

guint32
kiln_label_compact (KilnLabelVolume *labels)
{
  return renumber (labels, 1);
}

typedef struct
{
  guint64 n;
  double  s[3];
  guint   lo[3], hi[3];
} PartAcc;

static void
accumulate_slab (const KilnLabelVolume *labels,
                 guint                  z0,
                 guint                  z1,
                 PartAcc               *acc)
{
  for (guint z = z0; z < z1; z++)
    for (guint y = 0; y < labels->ny; y++)
      {
        const guint32 *row = labels->data + ((gsize) z * labels->ny + y) * labels->nx;
        for (guint x = 0; x < labels->nx; x++)
          {
            PartAcc *a;
            if (row[x] == 0)
              continue;
            a = &acc[row[x]];
            if (a->n == 0)
              {
                a->lo[0] = a->hi[0] = x;
                a->lo[1] = a->hi[1] = y;
                a->lo[2] = a->hi[2] = z;
              }
            a->n++;
            a->s[0] += x;
            a->s[1] += y;
            a->s[2] += z;
            a->lo[0] = MIN (a->lo[0], x);
            a->hi[0] = MAX (a->hi[0], x);
            a->lo[1] = MIN (a->lo[1], y);
            a->hi[1] = MAX (a->hi[1], y);
            a->lo[2] = MIN (a->lo[2], z);
            a->hi[2] = MAX (a->hi[2], z);
          }
      }
}

static void
merge_acc (PartAcc       *dst,
           const PartAcc *src,
           guint32        max)
{
  for (guint32 l = 1; l <= max; l++)
    {
      if (src[l].n == 0)
        continue;
      if (dst[l].n == 0)
        {
          dst[l] = src[l];
          continue;
        }
      dst[l].n += src[l].n;
      for (int k = 0; k < 3; k++)
        {
          dst[l].s[k] += src[l].s[k];
          dst[l].lo[k] = MIN (dst[l].lo[k], src[l].lo[k]);
          dst[l].hi[k] = MAX (dst[l].hi[k], src[l].hi[k]);
        }
    }
}

GArray *
kiln_label_particles (const KilnLabelVolume *labels)
{
  guint32 max = max_label (labels);
  GArray *arr = g_array_sized_new (FALSE, TRUE, sizeof (KilnParticle), max);
  PartAcc *acc = g_new0 (PartAcc, (gsize) max + 1);

  if (max <= PARALLEL_MAX_LABELS)
    {
#pragma omp parallel
      {
        PartAcc *local = g_new0 (PartAcc, (gsize) max + 1);
#pragma omp for schedule(static)
        for (gssize z = 0; z < (gssize) labels->nz; z++)
          accumulate_slab (labels, (guint) z, (guint) z + 1, local);
#pragma omp critical
        merge_acc (acc, local, max);
        g_free (local);
      }
    }
  else
    accumulate_slab (labels, 0, labels->nz, acc);

  g_array_set_size (arr, max);
  for (guint32 l = 0; l < max; l++)
    {
      KilnParticle *p = &g_array_index (arr, KilnParticle, l);
      const PartAcc *a = &acc[l + 1];
      p->label = l + 1;
      p->voxels = a->n;
      for (int k = 0; k < 3; k++)
        {
          p->centroid[k] = a->n > 0 ? a->s[k] / (double) a->n : 0;
          p->bbox_min[k] = a->n > 0 ? a->lo[k] : 0;
          p->bbox_max[k] = a->n > 0 ? a->hi[k] : 0;
        }
    }
  g_free (acc);
  return arr;
}

guint64
kiln_label_contact (const KilnLabelVolume *labels,
                    guint32                a,
                    guint32                b)
{
  guint nx = labels->nx, ny = labels->ny, nz = labels->nz;
  guint64 count = 0;

  for (guint z = 0; z < nz; z++)
    for (guint y = 0; y < ny; y++)
      for (guint x = 0; x < nx; x++)
        {
          guint32 l = KILN_VOXEL (labels, x, y, z);
          guint32 other = l == a ? b : (l == b ? a : 0);

          if (other == 0)
            continue;
          if (x + 1 < nx && KILN_VOXEL (labels, x + 1, y, z) == other)
            count++;
          if (y + 1 < ny && KILN_VOXEL (labels, x, y + 1, z) == other)
            count++;
          if (z + 1 < nz && KILN_VOXEL (labels, x, y, z + 1) == other)
            count++;
        }
  return count;
}
