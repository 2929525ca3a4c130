/* kiln-sirt.c — SIRT and OS-SART passes on the slab-vectorised projector
 *
 * x ← x + λ C_s A_sᵀ R_s (b_s − A_s x) for each subset s of tilts (one subset = SIRT), with
 * R_s = 1 / (A_s·1) (ray lengths; 0 for rays shorter than half a voxel) and C_s = 1 / (A_sᵀ·1)
 * (per voxel; 0 where no ray of the subset sees the voxel), optional clamping at 0 and a
 * support mask (voxels outside are held at 0).  Slabs of slices are independent, so a pass
 * runs every subset of one slab before the next slab (OpenMP over slabs).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <omp.h>

#include "kiln-reconstruct-private.h"
#include "kiln-alloc.h"
#include "kiln-error.h"

#define S KILN_PROJECTOR_SLAB

struct _KilnSirt
{
  const KilnProjector *proj;
  const float         *b;
  guint                n_subsets;
  guint               *tilts;        /* all tilts, grouped by subset */
  guint               *sub_start;    /* n_subsets + 1 */
  float               *row_w;        /* per tilt k: nu weights, row_w[k·nu + u] */
  float               *col_w;        /* per subset: Z·X */
  gboolean             nonneg;
  const guint8        *support;
  int                  n_threads;
  float              **slab;
  float              **work;
  double              *slice_res2;
  double              *slice_b2;
  double              *sub_d2;       /* per thread × subset: Σ (x_new − x_old)² of this pass */
};

KilnSirt *
kiln_sirt_new (const KilnProjector *proj,
               const float         *b,
               guint                n_subsets,
               double               relaxation,
               gboolean             nonneg,
               const guint8        *support,
               GError             **error)
{
  KilnSirt *sirt;
  guint n = proj->n_tilts, max_sel = 0;
  gsize zx = (gsize) proj->nz * proj->nx;

  if (n_subsets == 0 || n_subsets > n)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%u ordered subsets requested for %u tilts (must be 1 … %u)",
                   n_subsets, n, n);
      return NULL;
    }
  if (!(relaxation > 0.0 && relaxation < 2.0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "SIRT relaxation %g is outside (0, 2)", relaxation);
      return NULL;
    }

  sirt = g_new0 (KilnSirt, 1);
  sirt->proj = proj;
  sirt->b = b;
  sirt->n_subsets = n_subsets;
  sirt->nonneg = nonneg;
  sirt->support = support;
  sirt->tilts = g_new (guint, n);
  sirt->sub_start = g_new (guint, n_subsets + 1);
  /* subset s = tilts s, s + m, s + 2m, … (interleaved, so each subset spans the whole range) */
  for (guint s = 0, pos = 0; s < n_subsets; s++)
    {
      sirt->sub_start[s] = pos;
      for (guint k = s; k < n; k += n_subsets)
        sirt->tilts[pos++] = k;
      sirt->sub_start[s + 1] = pos;
      max_sel = MAX (max_sel, sirt->sub_start[s + 1] - sirt->sub_start[s]);
    }

  sirt->row_w = kiln_alloc ((gsize) n * proj->nu, sizeof (float), FALSE, "SIRT ray weights",
                            error);
  if (sirt->row_w == NULL)
    {
      kiln_sirt_free (sirt);
      return NULL;
    }
  kiln_projector_row_sums (proj, NULL, n, sirt->row_w);
  for (gsize i = 0; i < (gsize) n * proj->nu; i++)
    sirt->row_w[i] = sirt->row_w[i] >= 0.5f ? 1.0f / sirt->row_w[i] : 0.0f;

  sirt->col_w = kiln_alloc (zx * n_subsets, sizeof (float), FALSE, "SIRT voxel weights", error);
  if (sirt->col_w == NULL)
    {
      kiln_sirt_free (sirt);
      return NULL;
    }
  for (guint s = 0; s < n_subsets; s++)
    {
      float *cw = sirt->col_w + zx * s;
      kiln_projector_col_sums (proj, sirt->tilts + sirt->sub_start[s],
                               sirt->sub_start[s + 1] - sirt->sub_start[s], cw);
      for (gsize i = 0; i < zx; i++)
        cw[i] = cw[i] > 1e-6f ? (float) relaxation / cw[i] : 0.0f;
    }

  sirt->n_threads = omp_get_max_threads ();
  sirt->slab = g_new0 (float *, sirt->n_threads);
  sirt->work = g_new0 (float *, sirt->n_threads);
  for (int t = 0; t < sirt->n_threads; t++)
    {
      sirt->slab[t] = kiln_alloc (kiln_projector_slab_sino_size (proj, max_sel), sizeof (float),
                                  TRUE, "SIRT slab sinogram", error);
      sirt->work[t] = kiln_alloc (kiln_projector_work_size (proj), sizeof (float), TRUE,
                                  "SIRT work row", error);
      if (sirt->slab[t] == NULL || sirt->work[t] == NULL)
        {
          kiln_sirt_free (sirt);
          return NULL;
        }
    }
  sirt->slice_res2 = g_new0 (double, proj->ny_pad);
  sirt->slice_b2 = g_new0 (double, proj->ny_pad);
  sirt->sub_d2 = g_new0 (double, (gsize) sirt->n_threads * n_subsets);
  return sirt;
}

void
kiln_sirt_free (KilnSirt *sirt)
{
  if (sirt == NULL)
    return;
  for (int t = 0; t < sirt->n_threads; t++)
    {
      kiln_free (sirt->slab[t]);
      kiln_free (sirt->work[t]);
    }
  g_free (sirt->slab);
  g_free (sirt->work);
  kiln_free (sirt->col_w);
  kiln_free (sirt->row_w);
  g_free (sirt->tilts);
  g_free (sirt->sub_start);
  g_free (sirt->slice_res2);
  g_free (sirt->slice_b2);
  g_free (sirt->sub_d2);
  g_free (sirt);
}

void
kiln_sirt_pass (KilnSirt      *sirt,
                float         *vol,
                KilnSirtStats *stats)
{
  const KilnProjector *proj = sirt->proj;
  const guint nu = proj->nu, W2 = nu + 2;
  const gsize yp = proj->ny_pad, zx = (gsize) proj->nz * proj->nx;
  double res2 = 0.0, b2 = 0.0, delta2 = 0.0;

  memset (sirt->slice_res2, 0, sizeof (double) * yp);
  memset (sirt->slice_b2, 0, sizeof (double) * yp);
  memset (sirt->sub_d2, 0, sizeof (double) * sirt->n_threads * sirt->n_subsets);

#pragma omp parallel reduction(+:res2, b2, delta2)
  {
    int tid = omp_get_thread_num ();
    float *slab = sirt->slab[tid];
    float *work = sirt->work[tid];

#pragma omp for schedule(dynamic, 1)
    for (gint64 sb = 0; sb < (gint64) proj->n_slabs; sb++)
      {
        guint y0 = (guint) sb * S;
        double sr[S] = { 0 }, sbb[S] = { 0 };

        for (guint s = 0; s < sirt->n_subsets; s++)
          {
            const guint *tl = sirt->tilts + sirt->sub_start[s];
            guint n_sel = sirt->sub_start[s + 1] - sirt->sub_start[s];
            KilnBackOptions opt = {
              .scale = sirt->col_w + zx * s,
              .nonneg = sirt->nonneg,
              .support = sirt->support,
            };

            kiln_projector_forward_slab (proj, vol, y0, tl, n_sel, slab, work);
            for (guint j = 0; j < n_sel; j++)
              {
                guint k = tl[j];
                float *p = slab + (gsize) j * W2 * S;
                const float *rw = sirt->row_w + (gsize) k * nu;

                memset (p, 0, sizeof (float) * S);
                memset (p + (gsize) (nu + 1) * S, 0, sizeof (float) * S);
                for (guint u = 0; u < nu; u++)
                  {
                    const float *bb = sirt->b + ((gsize) k * nu + u) * yp + y0;
                    float *pp = p + (gsize) (u + 1) * S;
                    const float w = rw[u];
                    if (w == 0.0f)
                      {
                        memset (pp, 0, sizeof (float) * S);
                        continue;
                      }
                    for (int q = 0; q < S; q++)
                      {
                        float r = bb[q] - pp[q];
                        sr[q] += (double) r * r;
                        sbb[q] += (double) bb[q] * bb[q];
                        pp[q] = r * w;
                      }
                  }
              }
            double d2 = kiln_projector_back_slab (proj, slab, tl, n_sel, KILN_BACK_UPDATE,
                                                  &opt, vol, y0, work);
            delta2 += d2;
            sirt->sub_d2[(gsize) tid * sirt->n_subsets + s] += d2;
          }
        for (int q = 0; q < S; q++)
          {
            sirt->slice_res2[y0 + q] = sr[q];
            sirt->slice_b2[y0 + q] = sbb[q];
            res2 += sr[q];
            b2 += sbb[q];
          }
      }
  }
  stats->res2 = res2;
  stats->b2 = b2;
  stats->delta2 = delta2;
  stats->path = 0.0;
  for (guint s = 0; s < sirt->n_subsets; s++)
    {
      double d2 = 0.0;
      for (int t = 0; t < sirt->n_threads; t++)
        d2 += sirt->sub_d2[(gsize) t * sirt->n_subsets + s];
      stats->path += sqrt (d2);
    }
}

double
kiln_sirt_slice_residual (const KilnSirt *sirt,
                          guint           y)
{
  if (y >= sirt->proj->ny_pad || sirt->slice_b2[y] <= 0.0)
    return NAN;
  return sqrt (sirt->slice_res2[y] / sirt->slice_b2[y]);
}

double
kiln_sirt_residual (KilnSirt    *sirt,
                    const float *vol)
{
  const KilnProjector *proj = sirt->proj;
  const guint nu = proj->nu, W2 = nu + 2, n = proj->n_tilts;
  const gsize yp = proj->ny_pad;
  double res2 = 0.0, b2 = 0.0;

#pragma omp parallel reduction(+:res2, b2)
  {
    int tid = omp_get_thread_num ();
    float *slab = sirt->slab[tid];
    float *work = sirt->work[tid];

#pragma omp for schedule(dynamic, 1)
    for (gint64 sb = 0; sb < (gint64) proj->n_slabs; sb++)
      {
        guint y0 = (guint) sb * S;

        /* in subset-sized groups, so the slab buffer is large enough */
        for (guint s = 0; s < sirt->n_subsets; s++)
          {
            const guint *tl = sirt->tilts + sirt->sub_start[s];
            guint n_sel = sirt->sub_start[s + 1] - sirt->sub_start[s];

            kiln_projector_forward_slab (proj, vol, y0, tl, n_sel, slab, work);
            for (guint j = 0; j < n_sel; j++)
              for (guint u = 0; u < nu; u++)
                {
                  const float *bb = sirt->b + ((gsize) tl[j] * nu + u) * yp + y0;
                  const float *pp = slab + ((gsize) j * W2 + u + 1) * S;
                  if (sirt->row_w[(gsize) tl[j] * nu + u] == 0.0f)
                    continue;
                  for (int q = 0; q < S; q++)
                    {
                      double r = (double) bb[q] - pp[q];
                      res2 += r * r;
                      b2 += (double) bb[q] * bb[q];
                    }
                }
          }
      }
  }
  (void) n;
  return b2 > 0.0 ? sqrt (res2 / b2) : 0.0;
}
