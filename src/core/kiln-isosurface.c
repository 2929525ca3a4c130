/* kiln-isosurface.c — surface nets extraction of an isosurface (see kiln-isosurface.h)
 *
 * Grid: voxels are addressed with coordinates −1 … n along each axis, where −1 and n are the
 * empty padding around the volume. Cell (i, j, k), i ∈ −1 … nx−1, is the cube with voxel
 * corners i … i+1 (and so on), stored at ((k+1)·(ny+1) + j+1)·(nx+1) + i+1.
 * Three passes, each over z-slabs with OpenMP:
 *   1. count the cells with a vertex per slab (a corner mask neither 0 nor 255) and number
 *      them within the slab;
 *   2. after a prefix sum, compute each vertex (mean of the edge crossings), its normal and
 *      label;
 *   3. count, then emit, one quad (two triangles) per voxel edge that crosses the threshold.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-isosurface.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kiln-alloc.h"
#include "kiln-error.h"

#define NO_VERTEX G_MAXUINT32

typedef struct
{
  const KilnVolume      *vol;
  const KilnLabelVolume *labels;
  float                  threshold;
  gssize                 nx, ny, nz;
  guint32               *cell;      /* vertex index per cell */
  GCancellable          *cancellable;
  KilnProgressFunc       progress;
  gpointer               progress_data;
  gint                   cancelled;
  gint                   done;      /* slabs done in the current pass */
  double                 p0, p1;    /* progress span of the current pass */
} Ctx;

static inline gboolean
is_real (const Ctx *c,
         gssize     x,
         gssize     y,
         gssize     z)
{
  return x >= 0 && y >= 0 && z >= 0 && x < c->nx && y < c->ny && z < c->nz;
}

static inline float
value_at (const Ctx *c,
          gssize     x,
          gssize     y,
          gssize     z)
{
  if (!is_real (c, x, y, z))
    return -G_MAXFLOAT;   /* the padding: outside, crossings against it are set apart */
  return c->vol->data[((gsize) z * c->ny + y) * c->nx + x];
}

static inline gboolean
inside (const Ctx *c,
        gssize     x,
        gssize     y,
        gssize     z)
{
  return is_real (c, x, y, z) && c->vol->data[((gsize) z * c->ny + y) * c->nx + x] >= c->threshold;
}

static inline gsize
cell_index (const Ctx *c,
            gssize     i,
            gssize     j,
            gssize     k)
{
  return ((gsize) (k + 1) * (c->ny + 1) + (gsize) (j + 1)) * (c->nx + 1) + (gsize) (i + 1);
}

static guint
corner_mask (const Ctx *c,
             gssize     i,
             gssize     j,
             gssize     k)
{
  guint m = 0;

  for (guint b = 0; b < 8; b++)
    if (inside (c, i + (b & 1), j + ((b >> 1) & 1), k + ((b >> 2) & 1)))
      m |= 1u << b;
  return m;
}

/* Called by every thread after each slab; reports from the first thread only. */
static gboolean
slab_done (Ctx   *c,
           gsize  n_slabs)
{
  gint done = g_atomic_int_add (&c->done, 1) + 1;
  gboolean master = TRUE;

#ifdef _OPENMP
  master = omp_get_thread_num () == 0;
#endif
  if (g_cancellable_is_cancelled (c->cancellable))
    g_atomic_int_set (&c->cancelled, 1);
  if (master && c->progress != NULL)
    kiln_report (c->progress, c->progress_data,
                 c->p0 + (c->p1 - c->p0) * done / (double) n_slabs, "Extracting the isosurface");
  return !g_atomic_int_get (&c->cancelled);
}

static void
start_pass (Ctx    *c,
            double  p0,
            double  p1)
{
  c->done = 0;
  c->p0 = p0;
  c->p1 = p1;
}

static inline float
clamped_value (const Ctx *c,
               gssize     x,
               gssize     y,
               gssize     z)
{
  x = CLAMP (x, 0, c->nx - 1);
  y = CLAMP (y, 0, c->ny - 1);
  z = CLAMP (z, 0, c->nz - 1);
  return c->vol->data[((gsize) z * c->ny + y) * c->nx + x];
}

/* Central-difference gradient at voxel (x, y, z), with the values clamped to the volume's edge
 * (as a GL texture with CLAMP_TO_EDGE: a view lights the mesh as its ray caster); the padding
 * takes the gradient of the nearest voxel. */
static void
gradient_at (const Ctx *c,
             gssize     x,
             gssize     y,
             gssize     z,
             float      g[3])
{
  x = CLAMP (x, 0, c->nx - 1);
  y = CLAMP (y, 0, c->ny - 1);
  z = CLAMP (z, 0, c->nz - 1);
  g[0] = 0.5f * (clamped_value (c, x + 1, y, z) - clamped_value (c, x - 1, y, z));
  g[1] = 0.5f * (clamped_value (c, x, y + 1, z) - clamped_value (c, x, y - 1, z));
  g[2] = 0.5f * (clamped_value (c, x, y, z + 1) - clamped_value (c, x, y, z - 1));
}

static guint32
nearest_label (const Ctx   *c,
               const float  p[3])
{
  /* voxel centres are at index + ½: the nearest ones to p are around floor (p − ½) */
  gssize bx = (gssize) floorf (p[0] - 0.5f);
  gssize by = (gssize) floorf (p[1] - 0.5f);
  gssize bz = (gssize) floorf (p[2] - 0.5f);
  float best = 4.0f + 1e-4f;   /* within two voxels */
  guint32 label = 0;

  for (gssize z = bz - 1; z <= bz + 2; z++)
    for (gssize y = by - 1; y <= by + 2; y++)
      for (gssize x = bx - 1; x <= bx + 2; x++)
        {
          guint32 l;
          float dx, dy, dz, d2;

          if (!is_real (c, x, y, z))
            continue;
          l = c->labels->data[((gsize) z * c->ny + y) * c->nx + x];
          if (l == 0)
            continue;
          dx = x + 0.5f - p[0];
          dy = y + 0.5f - p[1];
          dz = z + 0.5f - p[2];
          d2 = dx * dx + dy * dy + dz * dz;
          if (d2 < best)
            {
              best = d2;
              label = l;
            }
        }
  return label;
}

static void
make_vertex (const Ctx *c,
             gssize     i,
             gssize     j,
             gssize     k,
             float     *pos,
             float     *nrm,
             guint32   *label)
{
  float v[8], sum[3] = { 0, 0, 0 }, g[3] = { 0, 0, 0 }, f[3], len;
  gboolean in[8];
  guint n = 0;

  for (guint b = 0; b < 8; b++)
    {
      gssize x = i + (b & 1), y = j + ((b >> 1) & 1), z = k + ((b >> 2) & 1);
      v[b] = value_at (c, x, y, z);
      in[b] = inside (c, x, y, z);
    }
  for (guint a = 0; a < 8; a++)
    for (guint bit = 1; bit < 8; bit <<= 1)
      {
        guint b = a | bit;
        float t;

        if ((a & bit) || in[a] == in[b])
          continue;
        /* against the padding, the surface runs along the box face, half-way */
        if (!is_real (c, i + (a & 1), j + ((a >> 1) & 1), k + ((a >> 2) & 1))
            || !is_real (c, i + (b & 1), j + ((b >> 1) & 1), k + ((b >> 2) & 1)))
          t = 0.5f;
        else
          t = (c->threshold - v[a]) / (v[b] - v[a]);
        t = CLAMP (t, 0.0f, 1.0f);
        sum[0] += (a & 1) + ((bit == 1) ? t : 0.0f);
        sum[1] += ((a >> 1) & 1) + ((bit == 2) ? t : 0.0f);
        sum[2] += ((a >> 2) & 1) + ((bit == 4) ? t : 0.0f);
        n++;
      }
  f[0] = sum[0] / n;
  f[1] = sum[1] / n;
  f[2] = sum[2] / n;
  pos[0] = i + 0.5f + f[0];
  pos[1] = j + 0.5f + f[1];
  pos[2] = k + 0.5f + f[2];

  /* trilinear interpolation of the corners' gradients */
  for (guint b = 0; b < 8; b++)
    {
      float w = ((b & 1) ? f[0] : 1 - f[0]) * (((b >> 1) & 1) ? f[1] : 1 - f[1])
                * (((b >> 2) & 1) ? f[2] : 1 - f[2]);
      float gb[3];

      gradient_at (c, i + (b & 1), j + ((b >> 1) & 1), k + ((b >> 2) & 1), gb);
      g[0] += w * gb[0];
      g[1] += w * gb[1];
      g[2] += w * gb[2];
    }
  len = sqrtf (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
  /* caps, where material meets the box: the vertex lies on a box face; its normal is the
   * face's (the sum of the faces' at an edge or corner) */
  {
    float face[3] = { 0, 0, 0 };
    gboolean cap = FALSE;
    gssize n3[3] = { c->nx, c->ny, c->nz };
    for (int a = 0; a < 3; a++)
      {
        if (pos[a] <= 0.0f)
          face[a] = -1.0f;
        else if (pos[a] >= (float) n3[a])
          face[a] = 1.0f;
        cap |= face[a] != 0.0f;
      }
    if (cap)
      {
        memcpy (g, face, sizeof face);
        for (int a = 0; a < 3; a++)
          g[a] = -g[a];
        len = sqrtf (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
      }
  }
  if (len > 0 && isfinite (len))
    {
      nrm[0] = -g[0] / len;
      nrm[1] = -g[1] / len;
      nrm[2] = -g[2] / len;
    }
  else
    {
      /* flat value: from the inside corners towards the outside ones */
      float d[3] = { 0, 0, 0 };
      for (guint b = 0; b < 8; b++)
        {
          float s = in[b] ? -1.0f : 1.0f;
          d[0] += s * ((b & 1) ? 1 : -1);
          d[1] += s * (((b >> 1) & 1) ? 1 : -1);
          d[2] += s * (((b >> 2) & 1) ? 1 : -1);
        }
      len = sqrtf (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
      if (len == 0)
        {
          d[2] = 1;
          len = 1;
        }
      nrm[0] = d[0] / len;
      nrm[1] = d[1] / len;
      nrm[2] = d[2] / len;
    }
  if (label != NULL)
    *label = nearest_label (c, pos);
}

/* Number of threshold-crossing edges owned by voxel (x, y, z): those to +x, +y and +z. */
static inline guint
edge_mask (const Ctx *c,
           gssize     x,
           gssize     y,
           gssize     z)
{
  gboolean in = inside (c, x, y, z);
  guint m = 0;

  if (inside (c, x + 1, y, z) != in)
    m |= 1;
  if (inside (c, x, y + 1, z) != in)
    m |= 2;
  if (inside (c, x, y, z + 1) != in)
    m |= 4;
  return m;
}

static guint32 *
emit_quad (const Ctx *c,
           guint32   *out,
           gssize     x,
           gssize     y,
           gssize     z,
           guint      axis)
{
  /* the four cells around the edge, counter-clockwise about +axis in the (b, c) plane with
   * b × c = axis */
  static const int cyc[3][2] = { { 1, 2 }, { 2, 0 }, { 0, 1 } };
  static const int around[4][2] = { { -1, -1 }, { 0, -1 }, { 0, 0 }, { -1, 0 } };
  gssize v[3] = { x, y, z };
  gboolean lower_in = inside (c, x, y, z);
  guint32 q[4];

  for (guint n = 0; n < 4; n++)
    {
      gssize cc[3] = { v[0], v[1], v[2] };
      cc[cyc[axis][0]] += around[n][0];
      cc[cyc[axis][1]] += around[n][1];
      q[n] = c->cell[cell_index (c, cc[0], cc[1], cc[2])];
    }
  if (lower_in)   /* outward is +axis: keep the order */
    {
      out[0] = q[0]; out[1] = q[1]; out[2] = q[2];
      out[3] = q[0]; out[4] = q[2]; out[5] = q[3];
    }
  else
    {
      out[0] = q[0]; out[1] = q[2]; out[2] = q[1];
      out[3] = q[0]; out[4] = q[3]; out[5] = q[2];
    }
  return out + 6;
}

KilnMesh *
kiln_isosurface_extract (const KilnVolume       *volume,
                         const KilnLabelVolume  *labels,
                         float                   threshold,
                         GCancellable           *cancellable,
                         KilnProgressFunc        progress,
                         gpointer                progress_data,
                         GError                **error)
{
  g_autoptr(KilnMesh) mesh = NULL;
  Ctx c = { 0 };
  gsize n_cells, n_slabs, total;
  gsize *count = NULL, *offset = NULL;

  g_return_val_if_fail (volume != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (volume->nx == 0 || volume->ny == 0 || volume->nz == 0 || volume->data == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cannot extract an isosurface: the volume is empty (%u × %u × %u voxels)",
                   volume->nx, volume->ny, volume->nz);
      return NULL;
    }
  if (labels != NULL
      && (labels->nx != volume->nx || labels->ny != volume->ny || labels->nz != volume->nz))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "Cannot extract an isosurface: the labels (%u × %u × %u) do not match the "
                   "volume (%u × %u × %u voxels)", labels->nx, labels->ny, labels->nz,
                   volume->nx, volume->ny, volume->nz);
      return NULL;
    }
  if (!isfinite (threshold))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cannot extract an isosurface: the threshold is not a finite number");
      return NULL;
    }
  if (kiln_check_cancelled (cancellable, error))
    return NULL;

  c.vol = volume;
  c.labels = labels;
  c.threshold = threshold;
  c.nx = volume->nx;
  c.ny = volume->ny;
  c.nz = volume->nz;
  c.cancellable = cancellable;
  c.progress = progress;
  c.progress_data = progress_data;

  if (!kiln_size_mul (&n_cells, volume->nx + 1, volume->ny + 1, volume->nz + 1, 1))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Cannot extract an isosurface: the volume is too large");
      return NULL;
    }
  c.cell = kiln_alloc (n_cells, sizeof (guint32), FALSE, "isosurface cell index", error);
  if (c.cell == NULL)
    return NULL;
  n_slabs = (gsize) c.nz + 1;
  count = g_new0 (gsize, n_slabs + 1);
  offset = g_new0 (gsize, n_slabs + 1);

  /* 1: which cells have a vertex, numbered within their slab */
  start_pass (&c, 0.0, 0.3);
#pragma omp parallel for schedule(dynamic, 1)
  for (gssize k = -1; k < c.nz; k++)
    {
      gsize n = 0;

      if (g_atomic_int_get (&c.cancelled))
        continue;
      for (gssize j = -1; j < c.ny; j++)
        for (gssize i = -1; i < c.nx; i++)
          {
            guint m = corner_mask (&c, i, j, k);
            c.cell[cell_index (&c, i, j, k)] = (m != 0 && m != 255) ? (guint32) n++ : NO_VERTEX;
          }
      count[k + 1] = n;
      slab_done (&c, n_slabs);
    }
  if (g_atomic_int_get (&c.cancelled) || g_cancellable_is_cancelled (cancellable))
    goto cancelled;

  total = 0;
  for (gsize s = 0; s < n_slabs; s++)
    {
      offset[s] = total;
      total += count[s];
    }
  if (total >= NO_VERTEX)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cannot extract an isosurface: it would have more than %u vertices",
                   NO_VERTEX - 1);
      goto fail;
    }

  mesh = g_new0 (KilnMesh, 1);
  mesh->n_vertices = total;
  mesh->positions = kiln_alloc (total * 3, sizeof (float), FALSE, "isosurface vertices", error);
  mesh->normals = mesh->positions == NULL ? NULL
    : kiln_alloc (total * 3, sizeof (float), FALSE, "isosurface normals", error);
  if (mesh->normals != NULL && labels != NULL)
    mesh->labels = kiln_alloc (total, sizeof (guint32), FALSE, "isosurface labels", error);
  if (mesh->normals == NULL || (labels != NULL && mesh->labels == NULL))
    goto fail;

  /* 2: the vertices */
  start_pass (&c, 0.3, 0.7);
#pragma omp parallel for schedule(dynamic, 1)
  for (gssize k = -1; k < c.nz; k++)
    {
      gsize base = offset[k + 1];

      if (g_atomic_int_get (&c.cancelled))
        continue;
      for (gssize j = -1; j < c.ny; j++)
        for (gssize i = -1; i < c.nx; i++)
          {
            guint32 *ci = &c.cell[cell_index (&c, i, j, k)];
            gsize v;

            if (*ci == NO_VERTEX)
              continue;
            v = base + *ci;
            *ci = (guint32) v;
            make_vertex (&c, i, j, k, mesh->positions + 3 * v, mesh->normals + 3 * v,
                         mesh->labels != NULL ? mesh->labels + v : NULL);
          }
      slab_done (&c, n_slabs);
    }
  if (g_atomic_int_get (&c.cancelled) || g_cancellable_is_cancelled (cancellable))
    goto cancelled;

  /* 3: quads around the crossing edges; voxel slabs z = −1 … nz−1 own the edges to +x, +y, +z */
  start_pass (&c, 0.7, 0.85);
#pragma omp parallel for schedule(dynamic, 1)
  for (gssize z = -1; z < c.nz; z++)
    {
      gsize n = 0;

      if (g_atomic_int_get (&c.cancelled))
        continue;
      for (gssize y = -1; y < c.ny; y++)
        for (gssize x = -1; x < c.nx; x++)
          {
            guint m = edge_mask (&c, x, y, z);
            n += (m & 1) + ((m >> 1) & 1) + ((m >> 2) & 1);
          }
      count[z + 1] = n;
      slab_done (&c, n_slabs);
    }
  if (g_atomic_int_get (&c.cancelled) || g_cancellable_is_cancelled (cancellable))
    goto cancelled;
  total = 0;
  for (gsize s = 0; s < n_slabs; s++)
    {
      offset[s] = total;
      total += count[s];
    }
  mesh->n_triangles = 2 * total;
  mesh->indices = kiln_alloc (mesh->n_triangles * 3, sizeof (guint32), FALSE,
                              "isosurface triangles", error);
  if (mesh->indices == NULL)
    goto fail;

  start_pass (&c, 0.85, 1.0);
#pragma omp parallel for schedule(dynamic, 1)
  for (gssize z = -1; z < c.nz; z++)
    {
      guint32 *out = mesh->indices + 6 * offset[z + 1];

      if (g_atomic_int_get (&c.cancelled))
        continue;
      for (gssize y = -1; y < c.ny; y++)
        for (gssize x = -1; x < c.nx; x++)
          {
            guint m = edge_mask (&c, x, y, z);
            for (guint a = 0; a < 3; a++)
              if (m & (1u << a))
                out = emit_quad (&c, out, x, y, z, a);
          }
      slab_done (&c, n_slabs);
    }
  if (g_atomic_int_get (&c.cancelled) || g_cancellable_is_cancelled (cancellable))
    goto cancelled;

  kiln_free (c.cell);
  g_free (count);
  g_free (offset);
  kiln_report (progress, progress_data, 1.0, "Isosurface extracted");
  return g_steal_pointer (&mesh);

cancelled:
  g_clear_error (error);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled");
fail:
  kiln_free (c.cell);
  g_free (count);
  g_free (offset);
  return NULL;
}

double
kiln_mesh_area (const KilnMesh *mesh,
                double          voxel_size)
{
  double area = 0;

  g_return_val_if_fail (mesh != NULL, 0);

#pragma omp parallel for reduction(+:area) schedule(static)
  for (gssize t = 0; t < (gssize) mesh->n_triangles; t++)
    {
      const float *a = mesh->positions + 3 * mesh->indices[3 * t];
      const float *b = mesh->positions + 3 * mesh->indices[3 * t + 1];
      const float *p = mesh->positions + 3 * mesh->indices[3 * t + 2];
      double u[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] };
      double v[3] = { p[0] - a[0], p[1] - a[1], p[2] - a[2] };
      double cx = u[1] * v[2] - u[2] * v[1];
      double cy = u[2] * v[0] - u[0] * v[2];
      double cz = u[0] * v[1] - u[1] * v[0];
      area += 0.5 * sqrt (cx * cx + cy * cy + cz * cz);
    }
  return area * voxel_size * voxel_size;
}

void
kiln_mesh_free (KilnMesh *mesh)
{
  if (mesh == NULL)
    return;
  kiln_free (mesh->positions);
  kiln_free (mesh->normals);
  kiln_free (mesh->labels);
  kiln_free (mesh->indices);
  g_free (mesh);
}
