/* kiln-test-phantom.h — analytic particle phantoms for the segmentation/measurement tests
 *
 * Spheres and cylinders (finite segments with a radius) rendered at sub-voxel accuracy: each
 * voxel holds the fraction of its SUB³ sample points that fall inside the union of the shapes,
 * so thresholding at 0.5 gives the voxelisation of the continuous object.  Voxel i has its
 * centre at coordinate i.  Truth values of the pair measures (kiln-measure.h definitions) are
 * computed on a grid finer than the voxels (PH_FINE samples per voxel along each axis) for an
 * equal-sphere pair split by the bisector plane of the centres.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <math.h>
#include <string.h>

#include "kiln.h"

#define PH_SUB  4
#define PH_FINE 4
#define PH_MAX_SHAPES 32

typedef struct
{
  int    n;
  int    kind[PH_MAX_SHAPES];     /* 0 sphere, 1 cylinder */
  double p[PH_MAX_SHAPES][3];
  double q[PH_MAX_SHAPES][3];     /* cylinder end */
  double r[PH_MAX_SHAPES];
} PhScene;

static inline void
ph_sphere (PhScene *s, double x, double y, double z, double r)
{
  int i = s->n++;
  g_assert_cmpint (s->n, <=, PH_MAX_SHAPES);
  s->kind[i] = 0;
  s->p[i][0] = x; s->p[i][1] = y; s->p[i][2] = z;
  s->r[i] = r;
}

static inline void
ph_cylinder (PhScene *s, const double *a, const double *b, double r)
{
  int i = s->n++;
  g_assert_cmpint (s->n, <=, PH_MAX_SHAPES);
  s->kind[i] = 1;
  memcpy (s->p[i], a, sizeof (double) * 3);
  memcpy (s->q[i], b, sizeof (double) * 3);
  s->r[i] = r;
}

static inline gboolean
ph_inside (const PhScene *s, const double *x)
{
  for (int i = 0; i < s->n; i++)
    {
      if (s->kind[i] == 0)
        {
          double d2 = 0;
          for (int k = 0; k < 3; k++)
            d2 += (x[k] - s->p[i][k]) * (x[k] - s->p[i][k]);
          if (d2 <= s->r[i] * s->r[i])
            return TRUE;
        }
      else
        {
          double ab[3], ax[3], l2 = 0, t = 0, d2 = 0;
          for (int k = 0; k < 3; k++)
            {
              ab[k] = s->q[i][k] - s->p[i][k];
              ax[k] = x[k] - s->p[i][k];
              l2 += ab[k] * ab[k];
              t += ab[k] * ax[k];
            }
          t /= l2;
          if (t < 0 || t > 1)
            continue;
          for (int k = 0; k < 3; k++)
            d2 += (ax[k] - t * ab[k]) * (ax[k] - t * ab[k]);
          if (d2 <= s->r[i] * s->r[i])
            return TRUE;
        }
    }
  return FALSE;
}

static inline KilnVolume *
ph_render (const PhScene *s, guint nx, guint ny, guint nz)
{
  KilnVolume *v = kiln_volume_new (nx, ny, nz, NULL);
  g_assert_nonnull (v);
  v->voxel_size_nm = 1.0;
  for (guint z = 0; z < nz; z++)
    for (guint y = 0; y < ny; y++)
      for (guint x = 0; x < nx; x++)
        {
          int count = 0;
          for (int k = 0; k < PH_SUB * PH_SUB * PH_SUB; k++)
            {
              double p[3] = { x + ((k % PH_SUB) + 0.5) / PH_SUB - 0.5,
                              y + (((k / PH_SUB) % PH_SUB) + 0.5) / PH_SUB - 0.5,
                              z + ((k / (PH_SUB * PH_SUB)) + 0.5) / PH_SUB - 0.5 };
              count += ph_inside (s, p);
            }
          KILN_VOXEL (v, x, y, z) = count / (float) (PH_SUB * PH_SUB * PH_SUB);
        }
  return v;
}

/* Truth of the pair measures for the particles around centres c1, c2 (split by their bisector
 * plane), restricted to the points of @s within @reach of either centre. */
typedef struct
{
  double distance_3d, radius_3d;   /* COM distance of the halves, mean equivalent radius */
  double d_xy, d_z, d, r_p, h_over_w, w_n;
} PhTruth;

static inline void
ph_truth (const PhScene *s, const double *c1, const double *c2, double reach, PhTruth *t)
{
  double lo[3], hi[3], m[3], u[3], L = 0, h = 1.0 / PH_FINE;
  double vol[2] = { 0 }, com[2][3] = { { 0 } }, zmin[2] = { 1e9, 1e9 }, zmax[2] = { -1e9, -1e9 };
  guint fw, fh;
  guint8 *foot;
  guint32 *cnt[2];
  double fa[2] = { 0 }, fc[2][2] = { { 0 } }, u2[2], L2;
  double ext[2][4];

  for (int k = 0; k < 3; k++)
    {
      lo[k] = MIN (c1[k], c2[k]) - reach;
      hi[k] = MAX (c1[k], c2[k]) + reach;
      m[k] = 0.5 * (c1[k] + c2[k]);
      u[k] = c2[k] - c1[k];
      L += u[k] * u[k];
    }
  L = sqrt (L);
  for (int k = 0; k < 3; k++)
    u[k] /= L;
  fw = (guint) ((hi[0] - lo[0]) / h) + 1;
  fh = (guint) ((hi[1] - lo[1]) / h) + 1;
  foot = g_malloc0 ((gsize) fw * fh);
  cnt[0] = g_new0 (guint32, (gsize) fw * fh);
  cnt[1] = g_new0 (guint32, (gsize) fw * fh);
  for (guint iz = 0; lo[2] + iz * h <= hi[2]; iz++)
    for (guint iy = 0; iy < fh; iy++)
      for (guint ix = 0; ix < fw; ix++)
        {
          double p[3] = { lo[0] + ix * h, lo[1] + iy * h, lo[2] + iz * h };
          double side = 0, d1 = 0, d2 = 0;
          int w;
          for (int k = 0; k < 3; k++)
            {
              side += (p[k] - m[k]) * u[k];
              d1 += (p[k] - c1[k]) * (p[k] - c1[k]);
              d2 += (p[k] - c2[k]) * (p[k] - c2[k]);
            }
          if (MIN (d1, d2) > reach * reach || !ph_inside (s, p))
            continue;
          w = side < 0 ? 0 : 1;
          vol[w] += h * h * h;
          for (int k = 0; k < 3; k++)
            com[w][k] += p[k];
          zmin[w] = MIN (zmin[w], p[2]);
          zmax[w] = MAX (zmax[w], p[2]);
          cnt[w][(gsize) iy * fw + ix]++;
        }
  t->distance_3d = 0;
  for (int k = 0; k < 3; k++)
    {
      double n0 = vol[0] / (h * h * h), n1 = vol[1] / (h * h * h);
      double dk = com[1][k] / n1 - com[0][k] / n0;
      t->distance_3d += dk * dk;
    }
  t->distance_3d = sqrt (t->distance_3d);
  t->radius_3d = 0.5 * (cbrt (3 * vol[0] / (4 * G_PI)) + cbrt (3 * vol[1] / (4 * G_PI)));
  /* footprints: a column goes to the particle with the longer chord (as kiln-measure) */
  for (gsize i = 0; i < (gsize) fw * fh; i++)
    if (cnt[0][i] > 0 || cnt[1][i] > 0)
      foot[i] = cnt[0][i] >= cnt[1][i] ? 1 : 2;
  g_free (cnt[0]);
  g_free (cnt[1]);
  for (guint iy = 0; iy < fh; iy++)
    for (guint ix = 0; ix < fw; ix++)
      for (int w = 0; w < 2; w++)
        if (foot[(gsize) iy * fw + ix] & (1 << w))
          {
            fa[w] += h * h;
            fc[w][0] += lo[0] + ix * h;
            fc[w][1] += lo[1] + iy * h;
          }
  for (int w = 0; w < 2; w++)
    {
      fc[w][0] /= fa[w] / (h * h);
      fc[w][1] /= fa[w] / (h * h);
    }
  L2 = hypot (fc[1][0] - fc[0][0], fc[1][1] - fc[0][1]);
  u2[0] = (fc[1][0] - fc[0][0]) / L2;
  u2[1] = (fc[1][1] - fc[0][1]) / L2;
  t->d_xy = L2;
  t->d_z = fabs (0.5 * (zmin[1] + zmax[1]) - 0.5 * (zmin[0] + zmax[0]));
  t->d = hypot (t->d_xy, t->d_z);
  t->r_p = 0.5 * (sqrt (fa[0] / G_PI) + sqrt (fa[1] / G_PI));
  for (int w = 0; w < 2; w++)
    {
      ext[w][0] = ext[w][2] = 1e9;
      ext[w][1] = ext[w][3] = -1e9;
    }
  /* extents along and across the axis */
  for (guint iy = 0; iy < fh; iy++)
    for (guint ix = 0; ix < fw; ix++)
      {
        guint8 f = foot[(gsize) iy * fw + ix];
        double x = lo[0] + ix * h - fc[0][0], y = lo[1] + iy * h - fc[0][1];
        double tt = x * u2[0] + y * u2[1], ss = -x * u2[1] + y * u2[0];
        for (int w = 0; w < 2; w++)
          if (f & (1 << w))
            {
              ext[w][0] = MIN (ext[w][0], tt);
              ext[w][1] = MAX (ext[w][1], tt);
              ext[w][2] = MIN (ext[w][2], ss);
              ext[w][3] = MAX (ext[w][3], ss);
            }
      }
  /* narrowest width across the axis: the footprint (nearest fine sample) is read along lines
   * perpendicular to the axis, every 0.05 voxel */
  t->w_n = 1e9;
  for (double tt = 0; tt <= L2; tt += 0.05)
    {
      double width = 0, span = hypot (hi[0] - lo[0], hi[1] - lo[1]);
      for (double ss = -span; ss <= span; ss += 0.05)
        {
          double x = fc[0][0] + tt * u2[0] - ss * u2[1], y = fc[0][1] + tt * u2[1] + ss * u2[0];
          gint64 ix = (gint64) floor ((x - lo[0]) / h + 0.5), iy = (gint64) floor ((y - lo[1]) / h + 0.5);
          if (ix < 0 || iy < 0 || ix >= fw || iy >= fh)
            continue;
          if (foot[(gsize) iy * fw + ix])
            width += 0.05;
        }
      t->w_n = MIN (t->w_n, width);
    }
  /* H/W: z extent over the footprint width across the axis (continuous: + one sample step) */
  t->h_over_w = 0.5 * ((zmax[0] - zmin[0] + h) / (ext[0][3] - ext[0][2] + h) +
                       (zmax[1] - zmin[1] + h) / (ext[1][3] - ext[1][2] + h));
  g_free (foot);
}
