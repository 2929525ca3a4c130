/* kiln-projector.c — matched pixel-driven projector pair, slab-vectorised
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-projector.h"
#include "kiln-alloc.h"
#include "kiln-error.h"

#define S KILN_PROJECTOR_SLAB
/* extra floats at the end of every slab-layout buffer */
#define TAIL 64

KilnProjector *
kiln_projector_new (guint          nx,
                    guint          ny,
                    guint          nz,
                    guint          nu,
                    const double  *angles_deg,
                    guint          n_tilts,
                    double         shift_px,
                    GError       **error)
{
  KilnProjector *proj;

  if (nx == 0 || ny == 0 || nz == 0 || nu == 0 || n_tilts == 0
      || nx > KILN_MAX_EXTENT || ny > KILN_MAX_EXTENT || nz > KILN_MAX_EXTENT
      || nu > KILN_MAX_EXTENT || n_tilts > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Invalid projector geometry: volume %u × %u × %u, %u tilts of width %u px "
                   "(each must be 1 … %u)", nx, ny, nz, n_tilts, nu, KILN_MAX_EXTENT);
      return NULL;
    }
  if (!isfinite (shift_px) || fabs (shift_px) >= nu / 2.0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Tilt-axis shift %g px puts the axis outside the %u px wide image "
                   "(|shift| must be below %g px)", shift_px, nu, nu / 2.0);
      return NULL;
    }
  for (guint k = 0; k < n_tilts; k++)
    if (!isfinite (angles_deg[k]) || fabs (angles_deg[k]) > 360.0)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                     "Tilt angle %u is %g°, not a usable angle", k + 1, angles_deg[k]);
        return NULL;
      }

  proj = g_new0 (KilnProjector, 1);
  proj->nx = nx;
  proj->ny = ny;
  proj->nz = nz;
  proj->ny_pad = (ny + S - 1) / S * S;
  proj->n_slabs = proj->ny_pad / S;
  proj->n_tilts = n_tilts;
  proj->nu = nu;
  proj->shift_px = shift_px;
  proj->angles_deg = g_memdup2 (angles_deg, sizeof (double) * n_tilts);
  proj->cos_t = g_new (float, n_tilts);
  proj->sin_t = g_new (float, n_tilts);
  for (guint k = 0; k < n_tilts; k++)
    {
      double a = angles_deg[k] * G_PI / 180.0;
      proj->cos_t[k] = (float) cos (a);
      proj->sin_t[k] = (float) sin (a);
    }
  return proj;
}

void
kiln_projector_free (KilnProjector *proj)
{
  if (proj == NULL)
    return;
  g_free (proj->angles_deg);
  g_free (proj->cos_t);
  g_free (proj->sin_t);
  g_free (proj);
}

gsize
kiln_projector_volume_size (const KilnProjector *proj)
{
  return (gsize) proj->nx * proj->nz * proj->ny_pad;
}

gsize
kiln_projector_sino_size (const KilnProjector *proj)
{
  return (gsize) proj->n_tilts * proj->nu * proj->ny_pad;
}

float *
kiln_projector_alloc_volume (const KilnProjector *proj,
                             GError             **error)
{
  gsize n;

  if (!kiln_size_mul (&n, proj->nx, proj->nz, proj->ny_pad, 1) || n > G_MAXSIZE - TAIL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Reconstruction volume %u × %u × %u is too large", proj->nx, proj->ny, proj->nz);
      return NULL;
    }
  return kiln_alloc (n + TAIL, sizeof (float), TRUE, "reconstruction volume", error);
}

float *
kiln_projector_alloc_sino (const KilnProjector *proj,
                           GError             **error)
{
  gsize n;

  if (!kiln_size_mul (&n, proj->n_tilts, proj->nu, proj->ny_pad, 1) || n > G_MAXSIZE - TAIL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Sinogram of %u tilts × %u × %u is too large", proj->n_tilts, proj->nu,
                   proj->ny);
      return NULL;
    }
  return kiln_alloc (n + TAIL, sizeof (float), TRUE, "sinogram", error);
}

gsize
kiln_projector_slab_sino_size (const KilnProjector *proj,
                               guint                n_sel)
{
  return (gsize) n_sel * (proj->nu + 2) * S;
}

gsize
kiln_projector_work_size (const KilnProjector *proj)
{
  return (gsize) proj->nx * S + 2 * (gsize) proj->n_tilts + S;
}

/* Detector position (guard-padded index space: real pixel u ↔ u + 1) of voxel x = 0 in row z. */
static inline float
row_t0 (const KilnProjector *proj,
        guint                k,
        guint                z)
{
  double cx = (proj->nx - 1) / 2.0, cz = (proj->nz - 1) / 2.0, cu = (proj->nu - 1) / 2.0;

  return (float) (-cx * proj->cos_t[k] + (z - cz) * proj->sin_t[k] + cu + proj->shift_px + 1.0);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
# define KILN_CLONES __attribute__ ((target_clones ("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
# define KILN_CLONES
#endif

KILN_CLONES void
kiln_projector_forward_slab (const KilnProjector *proj,
                             const float         *vol,
                             guint                y0,
                             const guint         *tilts,
                             guint                n_sel,
                             float               *slab,
                             float               *work)
{
  const guint nx = proj->nx, nz = proj->nz, W2 = proj->nu + 2;
  const gsize yp = proj->ny_pad;
  const float tmax = (float) (proj->nu + 1);
  float *row = work;   /* nx × S, the volume row z of this slab, contiguous */

  memset (slab, 0, sizeof (float) * kiln_projector_slab_sino_size (proj, n_sel));
  for (guint z = 0; z < nz; z++)
    {
      const float *vz = vol + (gsize) z * nx * yp + y0;
      gboolean any = FALSE;

      for (guint x = 0; x < nx; x++)
        {
          const float *v = vz + x * yp;
          float *r = row + (gsize) x * S;
#pragma omp simd
          for (int s = 0; s < S; s++)
            r[s] = v[s];
          for (int s = 0; s < S; s++)
            any |= v[s] != 0.0f;
        }
      if (!any)
        continue;

      for (guint j = 0; j < n_sel; j++)
        {
          guint k = tilts ? tilts[j] : j;
          const float c = proj->cos_t[k];
          const float t0 = row_t0 (proj, k, z);
          float *p = slab + (gsize) j * W2 * S;

          for (guint x = 0; x < nx; x++)
            {
              float t = t0 + (float) x * c;
              int i;
              float w, w0;
              const float *r;
              float *p0;

              if (!(t >= 0.0f && t < tmax))
                continue;
              i = (int) t;
              w = t - (float) i;
              w0 = 1.0f - w;
              r = row + (gsize) x * S;
              p0 = p + (gsize) i * S;
#pragma omp simd
              for (int s = 0; s < S; s++)
                {
                  p0[s] += w0 * r[s];
                  p0[S + s] += w * r[s];
                }
            }
        }
    }
}

KILN_CLONES double
kiln_projector_back_slab (const KilnProjector   *proj,
                          const float           *slab,
                          const guint           *tilts,
                          guint                  n_sel,
                          KilnBackMode           mode,
                          const KilnBackOptions *opt,
                          float                 *vol,
                          guint                  y0,
                          float                 *work)
{
  const guint nx = proj->nx, nz = proj->nz, W2 = proj->nu + 2;
  const gsize yp = proj->ny_pad;
  const float tmax = (float) (proj->nu + 1);
  float *t0 = work;
  float *cc = work + n_sel;
  float acc[S] __attribute__ ((aligned (64)));
  double delta2 = 0.0;
  static const KilnBackOptions no_opt = { 0 };

  if (opt == NULL)
    opt = &no_opt;
  for (guint j = 0; j < n_sel; j++)
    cc[j] = proj->cos_t[tilts ? tilts[j] : j];

  for (guint z = 0; z < nz; z++)
    {
      for (guint j = 0; j < n_sel; j++)
        t0[j] = row_t0 (proj, tilts ? tilts[j] : j, z);

      for (guint x = 0; x < nx; x++)
        {
          gsize idx = ((gsize) z * nx + x) * yp + y0;
          float *v = vol + idx;

#pragma omp simd
          for (int s = 0; s < S; s++)
            acc[s] = 0.0f;
          for (guint j = 0; j < n_sel; j++)
            {
              float t = t0[j] + (float) x * cc[j];
              int i;
              float w, w0;
              const float *p0;

              if (!(t >= 0.0f && t < tmax))
                continue;
              i = (int) t;
              w = t - (float) i;
              w0 = 1.0f - w;
              if (mode == KILN_BACK_SET && opt->tilt_weight != NULL)
                {
                  w *= opt->tilt_weight[j];
                  w0 *= opt->tilt_weight[j];
                }
              p0 = slab + ((gsize) j * W2 + i) * S;
#pragma omp simd
              for (int s = 0; s < S; s++)
                acc[s] += w0 * p0[s] + w * p0[S + s];
            }

          if (mode == KILN_BACK_SET)
            {
#pragma omp simd
              for (int s = 0; s < S; s++)
                v[s] = acc[s];
            }
          else
            {
              const float sc = opt->scale[(gsize) z * nx + x];
              const guint8 *m = opt->support ? opt->support + idx : NULL;
              float d2 = 0.0f;

              if (opt->nonneg)
                {
#pragma omp simd reduction(+:d2)
                  for (int s = 0; s < S; s++)
                    {
                      float nv = fmaxf (v[s] + sc * acc[s], 0.0f);
                      d2 += (nv - v[s]) * (nv - v[s]);
                      v[s] = nv;
                    }
                }
              else
                {
#pragma omp simd reduction(+:d2)
                  for (int s = 0; s < S; s++)
                    {
                      float nv = v[s] + sc * acc[s];
                      d2 += (nv - v[s]) * (nv - v[s]);
                      v[s] = nv;
                    }
                }
              if (m != NULL)
                for (int s = 0; s < S; s++)
                  if (m[s] == 0)
                    {
                      d2 += v[s] * v[s];
                      v[s] = 0.0f;
                    }
              delta2 += d2;
            }
        }
    }
  return delta2;
}

void
kiln_projector_forward (const KilnProjector *proj,
                        const float         *vol,
                        float               *sino,
                        const guint         *tilts,
                        guint                n_sel)
{
  const guint W2 = proj->nu + 2;
  const gsize yp = proj->ny_pad;

  if (tilts == NULL)
    n_sel = proj->n_tilts;
#pragma omp parallel
  {
    float *slab = g_new (float, kiln_projector_slab_sino_size (proj, n_sel));
    float *work = g_new (float, kiln_projector_work_size (proj));

#pragma omp for schedule(dynamic, 1)
    for (gint64 b = 0; b < (gint64) proj->n_slabs; b++)
      {
        guint y0 = (guint) b * S;

        kiln_projector_forward_slab (proj, vol, y0, tilts, n_sel, slab, work);
        for (guint j = 0; j < n_sel; j++)
          {
            guint k = tilts ? tilts[j] : j;
            for (guint u = 0; u < proj->nu; u++)
              memcpy (sino + ((gsize) k * proj->nu + u) * yp + y0,
                      slab + ((gsize) j * W2 + u + 1) * S, sizeof (float) * S);
          }
      }
    g_free (slab);
    g_free (work);
  }
}

void
kiln_projector_back (const KilnProjector *proj,
                     const float         *sino,
                     float               *vol,
                     const float         *tilt_weight,
                     const guint         *tilts,
                     guint                n_sel)
{
  const guint W2 = proj->nu + 2;
  const gsize yp = proj->ny_pad;
  KilnBackOptions opt = { .tilt_weight = tilt_weight };

  if (tilts == NULL)
    n_sel = proj->n_tilts;
#pragma omp parallel
  {
    float *slab = g_new0 (float, kiln_projector_slab_sino_size (proj, n_sel));
    float *work = g_new (float, kiln_projector_work_size (proj));

#pragma omp for schedule(dynamic, 1)
    for (gint64 b = 0; b < (gint64) proj->n_slabs; b++)
      {
        guint y0 = (guint) b * S;

        for (guint j = 0; j < n_sel; j++)
          {
            guint k = tilts ? tilts[j] : j;
            for (guint u = 0; u < proj->nu; u++)
              memcpy (slab + ((gsize) j * W2 + u + 1) * S,
                      sino + ((gsize) k * proj->nu + u) * yp + y0, sizeof (float) * S);
          }
        kiln_projector_back_slab (proj, slab, tilts, n_sel, KILN_BACK_SET, &opt, vol, y0, work);
      }
    g_free (slab);
    g_free (work);
  }
}

void
kiln_projector_row_sums (const KilnProjector *proj,
                         const guint         *tilts,
                         guint                n_sel,
                         float               *row_sums)
{
  const guint nu = proj->nu;

  memset (row_sums, 0, sizeof (float) * n_sel * nu);
#pragma omp parallel for schedule(dynamic, 1)
  for (gint64 jj = 0; jj < (gint64) n_sel; jj++)
    {
      guint j = (guint) jj;
      guint k = tilts ? tilts[j] : j;
      double *acc = g_new0 (double, nu + 2);

      for (guint z = 0; z < proj->nz; z++)
        {
          float t0 = row_t0 (proj, k, z);
          for (guint x = 0; x < proj->nx; x++)
            {
              float t = t0 + (float) x * proj->cos_t[k];
              int i;
              if (!(t >= 0.0f && t < (float) (nu + 1)))
                continue;
              i = (int) t;
              acc[i] += 1.0f - (t - (float) i);
              acc[i + 1] += t - (float) i;
            }
        }
      for (guint u = 0; u < nu; u++)
        row_sums[(gsize) j * nu + u] = (float) acc[u + 1];
      g_free (acc);
    }
}

void
kiln_projector_col_sums (const KilnProjector *proj,
                         const guint         *tilts,
                         guint                n_sel,
                         float               *col_sums)
{
  const guint nu = proj->nu;

#pragma omp parallel for schedule(static)
  for (gint64 z = 0; z < (gint64) proj->nz; z++)
    for (guint x = 0; x < proj->nx; x++)
      {
        double sum = 0.0;
        for (guint j = 0; j < n_sel; j++)
          {
            guint k = tilts ? tilts[j] : j;
            float t = row_t0 (proj, k, (guint) z) + (float) x * proj->cos_t[k];
            int i;
            if (!(t >= 0.0f && t < (float) (nu + 1)))
              continue;
            i = (int) t;
            if (i >= 1)
              sum += 1.0f - (t - (float) i);
            if (i + 1 <= (int) nu)
              sum += t - (float) i;
          }
        col_sums[(gsize) z * proj->nx + x] = (float) sum;
      }
}

void
kiln_projector_volume_to_slab (const KilnProjector *proj,
                               const float         *vol_xyz,
                               guint                vol_ny,
                               guint                vol_y0,
                               float               *slab_vol)
{
  const guint nx = proj->nx, ny = proj->ny;
  const gsize yp = proj->ny_pad;

#pragma omp parallel for schedule(static)
  for (gint64 z = 0; z < (gint64) proj->nz; z++)
    for (guint x = 0; x < nx; x++)
      {
        float *d = slab_vol + ((gsize) z * nx + x) * yp;
        for (guint y = 0; y < ny; y++)
          d[y] = vol_xyz[((gsize) z * vol_ny + vol_y0 + y) * nx + x];
        for (gsize y = ny; y < yp; y++)
          d[y] = 0.0f;
      }
}

void
kiln_projector_slab_to_volume (const KilnProjector *proj,
                               const float         *slab_vol,
                               guint                slab_y0,
                               guint                n_slices,
                               float               *vol_xyz,
                               guint                vol_ny,
                               guint                vol_y0)
{
  const guint nx = proj->nx;
  const gsize yp = proj->ny_pad;

#pragma omp parallel for schedule(static)
  for (gint64 z = 0; z < (gint64) proj->nz; z++)
    for (guint y = 0; y < n_slices; y++)
      {
        float *d = vol_xyz + ((gsize) z * vol_ny + vol_y0 + y) * nx;
        const float *s = slab_vol + (gsize) z * nx * yp + slab_y0 + y;
        for (guint x = 0; x < nx; x++)
          d[x] = s[x * yp];
      }
}
