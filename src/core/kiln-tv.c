/* kiln-tv.c — isotropic 3-D total variation and its gradient, on the slab layout
 *
 * TV(x) = Σ_v sqrt(Dx² + Dy² + Dz² + ε²), forward differences (Dx = x[v + x̂] − x[v], zero across
 * the volume's faces), ε = 1e-8 (as TIGRE's ASD-POCS).  Its gradient at v is
 *   −(Dx + Dy + Dz)(v)/|∇x|(v) + Dx(v − x̂)/|∇x|(v − x̂) + Dy(v − ŷ)/|∇x|(v − ŷ) + Dz(v − ẑ)/|∇x|(v − ẑ),
 * computed on the fly (no magnitude buffer) with the innermost loop over y (SIMD) and OpenMP
 * over z.  Faces are handled by pointing a missing neighbour at the voxel itself, which makes
 * the difference across that face zero.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "kiln-reconstruct-private.h"

#define EPS2 1e-16f

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
# define KILN_CLONES __attribute__ ((target_clones ("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
# define KILN_CLONES
#endif

typedef struct
{
  const float *c, *cxp, *cxm, *czp, *czm, *cxm_zp, *czm_xp;
} Rows;

/* has_ym: y > 0; has_yp: y + 1 < ny */
static inline float
grad_at (const Rows *r,
         gsize       y,
         int         has_ym,
         int         has_yp,
         float      *mag)
{
  float v = r->c[y];
  float dx = r->cxp[y] - v, dz = r->czp[y] - v, dy = has_yp ? r->c[y + 1] - v : 0.0f;
  float m0 = sqrtf (dx * dx + dy * dy + dz * dz + EPS2);
  float g = -(dx + dy + dz) / m0;
  float a = r->cxm[y], b = r->czm[y];
  float dax = v - a, daz = r->cxm_zp[y] - a, day = has_yp ? r->cxm[y + 1] - a : 0.0f;
  float dbz = v - b, dbx = r->czm_xp[y] - b, dby = has_yp ? r->czm[y + 1] - b : 0.0f;

  g += dax / sqrtf (dax * dax + day * day + daz * daz + EPS2);
  g += dbz / sqrtf (dbx * dbx + dby * dby + dbz * dbz + EPS2);
  if (has_ym)
    {
      float e = r->c[y - 1];
      float dey = v - e, dex = r->cxp[y - 1] - e, dez = r->czp[y - 1] - e;
      g += dey / sqrtf (dex * dex + dey * dey + dez * dez + EPS2);
    }
  *mag = m0;
  return g;
}

static inline void
rows_at (const KilnProjector *proj,
         const float         *vol,
         guint                x,
         guint                z,
         Rows                *r)
{
  const gsize yp = proj->ny_pad, sx = yp, sz = (gsize) proj->nx * yp;
  const gboolean xp = x + 1 < proj->nx, xm = x > 0, zp = z + 1 < proj->nz, zm = z > 0;

  r->c = vol + (gsize) z * sz + (gsize) x * sx;
  r->cxp = xp ? r->c + sx : r->c;
  r->cxm = xm ? r->c - sx : r->c;
  r->czp = zp ? r->c + sz : r->c;
  r->czm = zm ? r->c - sz : r->c;
  r->cxm_zp = zp ? r->cxm + sz : r->cxm;
  r->czm_xp = xp ? r->czm + sx : r->czm;
}

KILN_CLONES double
kiln_tv_gradient (const KilnProjector *proj,
                  const float         *vol,
                  float               *g,
                  double              *tv)
{
  const guint ny = proj->ny;
  double g2 = 0.0, tvs = 0.0;

#pragma omp parallel for schedule(static) reduction(+:g2, tvs)
  for (gint64 z = 0; z < (gint64) proj->nz; z++)
    for (guint x = 0; x < proj->nx; x++)
      {
        Rows r;
        float *go;
        float m, gv, lg2 = 0.0f, ltv = 0.0f;

        rows_at (proj, vol, x, (guint) z, &r);
        go = g + (r.c - vol);
        gv = grad_at (&r, 0, 0, ny > 1, &m);
        go[0] = gv;
        lg2 += gv * gv;
        ltv += m;
        if (ny > 1)
          {
#pragma omp simd reduction(+:lg2, ltv)
            for (gsize y = 1; y < ny - 1; y++)
              {
                float mm;
                float gg = grad_at (&r, y, 1, 1, &mm);
                go[y] = gg;
                lg2 += gg * gg;
                ltv += mm;
              }
            gv = grad_at (&r, ny - 1, 1, 0, &m);
            go[ny - 1] = gv;
            lg2 += gv * gv;
            ltv += m;
          }
        g2 += lg2;
        tvs += ltv;
      }
  *tv = tvs;
  return g2;
}

void
kiln_tv_descend (const KilnProjector *proj,
                 float               *vol,
                 const float         *g,
                 double               step)
{
  const gsize yp = proj->ny_pad;
  const guint ny = proj->ny;
  const float st = (float) step;

#pragma omp parallel for schedule(static)
  for (gint64 zx = 0; zx < (gint64) proj->nz * proj->nx; zx++)
    {
      float *v = vol + (gsize) zx * yp;
      const float *gg = g + (gsize) zx * yp;
#pragma omp simd
      for (guint y = 0; y < ny; y++)
        v[y] -= st * gg[y];
    }
}

double
kiln_tv_value (const KilnProjector *proj,
               const float         *vol)
{
  const guint ny = proj->ny;
  double tvs = 0.0;

#pragma omp parallel for schedule(static) reduction(+:tvs)
  for (gint64 z = 0; z < (gint64) proj->nz; z++)
    for (guint x = 0; x < proj->nx; x++)
      {
        Rows r;
        float ltv = 0.0f;

        rows_at (proj, vol, x, (guint) z, &r);
#pragma omp simd reduction(+:ltv)
        for (guint y = 0; y < ny; y++)
          {
            float v = r.c[y];
            float dx = r.cxp[y] - v, dz = r.czp[y] - v;
            float dy = (y + 1 < ny) ? r.c[y + 1] - v : 0.0f;
            ltv += sqrtf (dx * dx + dy * dy + dz * dz + EPS2);
          }
        tvs += ltv;
      }
  return tvs;
}
