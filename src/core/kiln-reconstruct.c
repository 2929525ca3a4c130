/* kiln-reconstruct.c — the reconstruction driver: geometry, chunking, WBP / SIRT / ISER loops
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "kiln-reconstruct.h"
#include "kiln-reconstruct-private.h"
#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-transform.h"

#define S KILN_PROJECTOR_SLAB
/* slices of overlap each side between ISER chunks */
#define ISER_HALO 16

/* ISER / ASD-POCS constants (docs/reconstruct.md):
 *   first TV step = sensitivity · ALPHA0 · (length of the first data step);
 *   after each iteration, if the TV change b·dtv exceeds min (sensitivity · R_MAX, R_CAP) ·
 *   (data change) and the residual is above the noise level ε, dtv ← ALPHA_RED · dtv.
 * R_CAP: ASD-POCS converges to a data-consistent volume only while the TV moves the volume less
 * per iteration than the data passes do (Sidky & Pan's r_max < 1).  On the simulator, ratios
 * up to 1.19 (sensitivity 1.25) still worked, 1.43 (sensitivity 1.5) let the TV outrun the data
 * and smear the particles through the whole depth (Dice 0.31); the cap keeps any sensitivity
 * ≥ 1.26 at the 1.25 result (Dice 0.947) instead.
 * The data step/change is the length of the path the a data passes took: Σ over the passes
 * and their OS-SART subsets of ‖x_after − x_before‖ of each subset update (KilnSirtStats.path).
 * With m subsets the update is applied m times per pass and the one TV step per iteration
 * balances all of them; the root-sum-square of the sub-steps (or the net change, as in
 * Sidky & Pan's ART sweep) would make the TV ≈ √m times weaker for the same sensitivity, which
 * left the missing-wedge elongation and the noise only half removed on the simulator. */
#define ISER_ALPHA0    1.0
#define ISER_R_MAX     0.95
#define ISER_ALPHA_RED 0.95
#define ISER_R_CAP     1.2

gboolean
kiln_recon_method_from_string (const char      *name,
                               KilnReconMethod *method)
{
  if (g_strcmp0 (name, "wbp") == 0)
    *method = KILN_RECON_WBP;
  else if (g_strcmp0 (name, "sirt") == 0)
    *method = KILN_RECON_SIRT;
  else if (g_strcmp0 (name, "iser") == 0)
    *method = KILN_RECON_ISER;
  else
    return FALSE;
  return TRUE;
}

const char *
kiln_recon_method_to_string (KilnReconMethod method)
{
  switch (method)
    {
    case KILN_RECON_WBP:
      return "wbp";
    case KILN_RECON_SIRT:
      return "sirt";
    case KILN_RECON_ISER:
      return "iser";
    default:
      return "unknown";
    }
}

void
kiln_reconstruct_params_init (KilnReconParams *p)
{
  memset (p, 0, sizeof *p);
  p->method = KILN_RECON_ISER;
  p->iterations = 300;
  p->data_passes = 1;
  p->tv_steps = 1;
  p->sensitivity = 1.0;
  p->relaxation = 1.0;
  p->subsets = 0;
  p->nonneg = TRUE;
  p->filter = KILN_FILTER_RAMP;
  p->filter_cutoff = 1.0;
  p->keep_on_cancel = TRUE;
  p->wbp_residual = TRUE;
  p->preview_y = -1;
  p->preview_interval_s = 1.0;
}

void
kiln_reconstruct_params_preview (KilnReconParams *p,
                                 guint            centre_row,
                                 guint            n_slices)
{
  n_slices = MAX (n_slices, 1);
  p->slice_start = centre_row >= n_slices / 2 ? centre_row - n_slices / 2 : 0;
  p->slice_end = p->slice_start + n_slices;
  p->preview_y = (int) (centre_row - p->slice_start);
}

typedef struct
{
  const KilnImageStack  *stack;
  const KilnReconParams *p;
  const float           *images;   /* n × H × W, axis vertical */
  guint                  nx, ny, nz, W, H;
  guint                  y_first;  /* first stack row of the output */
  KilnVolume            *out;
  KilnReconResult       *res;
  GCancellable          *cancellable;
  KilnProgressFunc       progress;
  gpointer               progress_data;
  guint                  chunk, n_chunks;
  guint                  subsets;  /* resolved ordered-subset count */
  gint64                 t_start;
  gint64                 last_preview;
  float                 *preview;
  guint64                bytes_now, bytes_peak;
} Ctx;

static void
account (Ctx   *c,
         gint64 bytes)
{
  c->bytes_now += bytes;
  c->bytes_peak = MAX (c->bytes_peak, c->bytes_now);
}

/* Bytes one chunk of @ny slices needs. */
static guint64
chunk_bytes (const Ctx *c,
             guint      ny)
{
  guint64 yp = (ny + S - 1) / S * S;
  guint64 vol = (guint64) c->nx * c->nz * yp * 4;
  guint64 sino = (guint64) c->stack->n_tilts * c->W * yp * 4;
  guint64 b = vol + sino;

  if (c->p->method == KILN_RECON_ISER)
    b += vol;
  if (c->p->method == KILN_RECON_WBP)
    b += sino;   /* rows being filtered */
  if (c->p->support != NULL)
    b += vol / 4;
  b += (guint64) c->stack->n_tilts * (c->W + 2) * S * 4 * omp_get_max_threads ();
  return b;
}

/* Build the chunk's sinogram (slab layout) from stack rows [r0, r0 + proj->ny). */
static float *
make_sino (Ctx                 *c,
           const KilnProjector *proj,
           guint                r0,
           gboolean             filter,
           GError             **error)
{
  const guint n = c->stack->n_tilts, W = c->W, ny = proj->ny;
  const gsize yp = proj->ny_pad;
  float *sino = kiln_projector_alloc_sino (proj, error);
  const float *src = c->images;
  float *rows = NULL;

  if (sino == NULL)
    return NULL;
  account (c, kiln_projector_sino_size (proj) * 4);
  if (filter && c->p->filter != KILN_FILTER_NONE)
    {
      rows = kiln_alloc ((gsize) n * ny * W, sizeof (float), FALSE, "filtered tilt rows", error);
      if (rows == NULL)
        {
          kiln_free (sino);
          return NULL;
        }
      for (guint k = 0; k < n; k++)
        memcpy (rows + (gsize) k * ny * W, c->images + ((gsize) k * c->H + r0) * W,
                sizeof (float) * ny * W);
      kiln_filter_rows (rows, n * ny, W, c->p->filter, c->p->filter_cutoff);
    }

#pragma omp parallel for schedule(static)
  for (gint64 k = 0; k < (gint64) n; k++)
    for (guint y = 0; y < ny; y++)
      {
        const float *row = rows ? rows + ((gsize) k * ny + y) * W
                                : src + ((gsize) k * c->H + r0 + y) * W;
        float *d = sino + (gsize) k * W * yp + y;
        for (guint u = 0; u < W; u++)
          d[u * yp] = row[u];
      }
  kiln_free (rows);
  return sino;
}

static void
report_iteration (Ctx                 *c,
                  const KilnProjector *proj,
                  const KilnSirt      *sirt,
                  const float         *vol,
                  guint                it,
                  guint                y_local0,
                  guint                out_y0,
                  guint                out_n,
                  double               residual,
                  double               tv,
                  double               tv_step)
{
  const KilnReconParams *p = c->p;
  KilnReconIteration info = { 0 };
  gint64 now = g_get_monotonic_time ();
  int py = p->preview_y >= 0 ? p->preview_y : (int) (c->ny / 2);

  info.iteration = it;
  info.n_iterations = p->iterations;
  info.chunk = c->chunk;
  info.n_chunks = c->n_chunks;
  info.residual = residual;
  info.tv = tv;
  info.tv_step = tv_step;
  info.elapsed_s = (now - c->t_start) / 1e6;
  if (c->preview != NULL && (guint) py >= out_y0 && (guint) py < out_y0 + out_n
      && (c->last_preview == 0 || now - c->last_preview >= p->preview_interval_s * 1e6
          || it == p->iterations))
    {
      guint yl = y_local0 + (py - out_y0);
      for (guint z = 0; z < c->nz; z++)
        for (guint x = 0; x < c->nx; x++)
          c->preview[(gsize) z * c->nx + x] = vol[((gsize) z * c->nx + x) * proj->ny_pad + yl];
      info.preview = c->preview;
      info.preview_nx = c->nx;
      info.preview_nz = c->nz;
      info.preview_y = (guint) py;
      info.preview_residual = kiln_sirt_slice_residual (sirt, yl);
      c->last_preview = now;
    }
  p->iteration_func (&info, p->iteration_data);
}

static int
cmp_float (const void *a,
           const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return x < y ? -1 : x > y;
}

/* ‖noise‖ of the tilt images (the whole chunk), for ASD-POCS's data tolerance ε.  Each tilt is
 * cut into blocks of 8 × 8 pixels (u × y); in each block σ is the median absolute deviation of
 * the mixed second differences d = (b(u,y) − b(u+2,y) − b(u,y+2) + b(u+2,y+2)) / 2 (variance σ²
 * for white noise), × 1.4826, and ‖noise‖² = Σ_blocks σ² · pixels.
 *  - blocks: HAADF shot noise is much stronger on the particles than in the vacuum;
 *  - mixed differences: linear trends and the curvature along u or y alone cancel, so smooth
 *    particle projections hardly count as noise; medians: edges do not either;
 *  - lag 2: scan and shot noise after the probe blur are correlated between neighbouring
 *    pixels.  Still, strongly correlated noise is underestimated (≈ 0.66 × on the simulator's
 *    raw series) and strongly curved small objects slightly overestimate it (≈ 1.2 × for
 *    balls of radius 10–15 px with white noise).  With fewer than 3 slices the u-only
 *    difference b(u+2) − b(u) (variance 2σ²) is used. */
static double
estimate_noise_norm (const KilnProjector *proj,
                     const float         *sino)
{
  const guint lag = 2, BU = 8, BY = 8;
  const gboolean mixed = proj->ny > lag;
  const gsize yp = proj->ny_pad;
  double total = 0.0;

  if (proj->nu <= lag)
    return 0.0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+:total)
  for (gint64 k = 0; k < (gint64) proj->n_tilts; k++)
    {
      float d[64];
      for (guint u0 = 0; u0 + lag < proj->nu; u0 += BU)
        for (guint y0 = 0; y0 < proj->ny; y0 += BY)
          {
            guint n = 0;
            double med;
            for (guint u = u0; u < MIN (u0 + BU, proj->nu - lag); u++)
              for (guint y = y0; y < MIN (y0 + BY, proj->ny); y++)
                {
                  const float *b = sino + ((gsize) k * proj->nu + u) * yp + y;
                  if (mixed && y + lag < proj->ny)
                    d[n++] = 0.5f * (b[0] - b[lag * yp] - b[lag] + b[lag * yp + lag]);
                  else if (!mixed)
                    d[n++] = (b[lag * yp] - b[0]) / (float) G_SQRT2;
                }
            if (n == 0)
              continue;
            qsort (d, n, sizeof (float), cmp_float);
            med = n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
            for (guint q = 0; q < n; q++)
              d[q] = fabsf (d[q] - (float) med);
            qsort (d, n, sizeof (float), cmp_float);
            med = n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
            total += pow (1.4826 * med, 2) * (MIN (u0 + BU, proj->nu) - u0) * MIN (BY, proj->ny - y0);
          }
    }
  return sqrt (total);
}

/* Reconstruct output slices [o0, o0 + on) using stack rows with halo [h0, h1). */
static gboolean
run_chunk (Ctx     *c,
           guint    o0,
           guint    on,
           guint    h0,
           guint    h1,
           GError **error)
{
  const KilnReconParams *p = c->p;
  const gboolean iser = p->method == KILN_RECON_ISER;
  KilnProjector *proj = NULL;
  float *sino = NULL, *vol = NULL, *g = NULL;
  guint8 *support = NULL;
  KilnSirt *sirt = NULL;
  gboolean ok = FALSE;
  guint64 bytes_before = c->bytes_now;
  const guint y_local0 = (c->y_first + o0) - h0;   /* chunk-local slice of output slice o0 */
  KilnProgress prog_all, prog;
  double residual = NAN, tv = NAN, dtv = 0.0, eps = 0.0;
  guint it_done = 0;
  gboolean stopped = FALSE;

  kiln_progress_init (&prog_all, c->progress, c->progress_data);
  prog = kiln_progress_sub (&prog_all, (double) c->chunk / c->n_chunks,
                            (double) (c->chunk + 1) / c->n_chunks);

  proj = kiln_projector_new (c->nx, h1 - h0, c->nz, c->W, c->stack->angles_deg,
                             c->stack->n_tilts, p->axis_shift_px, error);
  if (proj == NULL)
    goto out;
  vol = kiln_projector_alloc_volume (proj, error);
  if (vol == NULL)
    goto out;
  account (c, kiln_projector_volume_size (proj) * 4);

  if (p->method == KILN_RECON_WBP)
    {
      kiln_progress_report (&prog, 0.0, "Weighted back-projection");
      sino = make_sino (c, proj, h0, TRUE, error);
      if (sino == NULL)
        goto out;
      if (kiln_check_cancelled (c->cancellable, error))
        goto out;
      kiln_wbp_backproject (proj, sino, vol);
      kiln_free (sino);
      account (c, -(gint64) kiln_projector_sino_size (proj) * 4);
      sino = NULL;
      if (kiln_check_cancelled (c->cancellable, error))
        goto out;
      if (!p->wbp_residual)
        {
          c->res->residual = NAN;
          c->res->tv = NAN;
          kiln_projector_slab_to_volume (proj, vol, y_local0, on, c->out->data, c->ny, o0);
          ok = TRUE;
          goto out;
        }
    }

  /* measured data, unfiltered */
  sino = make_sino (c, proj, h0, FALSE, error);
  if (sino == NULL)
    goto out;

  if (p->method != KILN_RECON_WBP)
    {
      if (p->initial != NULL)
        kiln_projector_volume_to_slab (proj, p->initial->data, p->initial->ny, h0 - c->y_first,
                                       vol);
      if (p->support != NULL)
        {
          support = kiln_alloc (kiln_projector_volume_size (proj), 1, TRUE, "support mask",
                                error);
          if (support == NULL)
            goto out;
          account (c, kiln_projector_volume_size (proj));
          for (guint z = 0; z < c->nz; z++)
            for (guint x = 0; x < c->nx; x++)
              for (guint y = 0; y < proj->ny; y++)
                support[((gsize) z * c->nx + x) * proj->ny_pad + y] =
                  p->support[((gsize) z * c->ny + (h0 - c->y_first) + y) * c->nx + x] != 0;
          /* the start must satisfy the constraint too */
          for (gsize i = 0; i < kiln_projector_volume_size (proj); i++)
            if (!support[i])
              vol[i] = 0.0f;
        }
    }

  sirt = kiln_sirt_new (proj, sino, c->subsets,
                        p->relaxation, p->nonneg, support, error);
  if (sirt == NULL)
    goto out;

  if (iser)
    {
      /* ASD-POCS's data tolerance ε: the estimated noise norm of the data */
      eps = estimate_noise_norm (proj, sino);
      g = kiln_projector_alloc_volume (proj, error);
      if (g == NULL)
        goto out;
      account (c, kiln_projector_volume_size (proj) * 4);
    }

  if (p->method != KILN_RECON_WBP)
    {
      const char *name = iser ? "ISER" : "SIRT";

      for (guint it = 1; it <= p->iterations && !stopped; it++)
        {
          double dp = 0.0, dd = 0.0;   /* data step (path length), ‖b − Ax‖ */

          for (guint a = 0; a < (iser ? p->data_passes : 1); a++)
            {
              KilnSirtStats st;

              if (g_cancellable_is_cancelled (c->cancellable))
                {
                  stopped = TRUE;
                  break;
                }
              kiln_sirt_pass (sirt, vol, &st);
              dp += st.path;
              if (a == 0)
                {
                  residual = st.b2 > 0.0 ? sqrt (st.res2 / st.b2) : 0.0;
                  dd = sqrt (st.res2);
                }
            }
          if (stopped)
            break;

          if (iser && p->sensitivity > 0.0)
            {
              if (dtv == 0.0)
                dtv = p->sensitivity * ISER_ALPHA0 * dp;
              for (guint b = 0; b < p->tv_steps; b++)
                {
                  double g2;

                  if (g_cancellable_is_cancelled (c->cancellable))
                    {
                      stopped = TRUE;
                      break;
                    }
                  g2 = kiln_tv_gradient (proj, vol, g, &tv);
                  if (g2 > 0.0 && dtv > 0.0)
                    kiln_tv_descend (proj, vol, g, dtv / sqrt (g2));
                }
              /* ASD-POCS: shrink the TV step when it outweighs the data step while the data
               * are not yet fitted to their noise level */
              if (p->tv_steps * dtv > MIN (p->sensitivity * ISER_R_MAX, ISER_R_CAP) * dp
                  && dd > eps)
                dtv *= ISER_ALPHA_RED;
            }
          else if (p->iteration_func != NULL)
            tv = kiln_tv_value (proj, vol);

          if (stopped)   /* cancelled between TV steps: keep the volume, no report */
            break;
          it_done = it;
          if (p->iteration_func != NULL)
            report_iteration (c, proj, sirt, vol, it, y_local0, o0, on, residual, tv, dtv);
          if (c->progress != NULL)
            {
              g_autofree char *msg = g_strdup_printf ("%s iteration %u/%u, residual %.4f",
                                                      name, it, p->iterations, residual);
              kiln_progress_report (&prog, (double) it / p->iterations, msg);
            }
        }
      if (stopped && !p->keep_on_cancel)
        {
          kiln_check_cancelled (c->cancellable, error);
          goto out;
        }
    }

  /* the returned volume's own numbers */
  c->res->residual = kiln_sirt_residual (sirt, vol);
  c->res->tv = kiln_tv_value (proj, vol);
  c->res->iterations_done = it_done;
  c->res->stopped = c->res->stopped || stopped;
  kiln_projector_slab_to_volume (proj, vol, y_local0, on, c->out->data, c->ny, o0);
  ok = TRUE;

out:
  kiln_sirt_free (sirt);
  kiln_free (sino);
  kiln_free (vol);
  kiln_free (g);
  kiln_free (support);
  kiln_projector_free (proj);
  c->bytes_now = bytes_before;
  return ok;
}

KilnVolume *
kiln_reconstruct (const KilnImageStack  *stack,
                  const KilnReconParams *params,
                  KilnReconResult       *result,
                  GCancellable          *cancellable,
                  KilnProgressFunc       progress,
                  gpointer               progress_data,
                  GError               **error)
{
  KilnReconParams defaults;
  KilnReconResult dummy;
  const KilnReconParams *p = params;
  Ctx c = { 0 };
  float *rotated = NULL;
  KilnVolume *out = NULL;
  guint y0, y1, chunk_ny, halo;
  guint64 budget, fixed;

  if (p == NULL)
    {
      kiln_reconstruct_params_init (&defaults);
      p = &defaults;
    }
  if (result == NULL)
    result = &dummy;
  memset (result, 0, sizeof *result);
  result->residual = NAN;
  result->tv = NAN;

  g_return_val_if_fail (stack != NULL, NULL);
  if (!stack->has_angles)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "The tilt series has no tilt angles; give them (a .tlt file) to reconstruct");
      return NULL;
    }
  if (p->method != KILN_RECON_WBP && p->method != KILN_RECON_SIRT && p->method != KILN_RECON_ISER)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Unknown reconstruction method %d", (int) p->method);
      return NULL;
    }
  if (p->method != KILN_RECON_WBP && (p->iterations < 1 || p->iterations > 1000000))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%u iterations requested (must be 1 … 1000000)", p->iterations);
      return NULL;
    }
  if (p->method == KILN_RECON_ISER
      && (p->data_passes < 1 || p->data_passes > 1000 || p->tv_steps > 1000))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Application times %u×%u are invalid (data passes 1 … 1000 × TV steps 0 … 1000)",
                   p->data_passes, p->tv_steps);
      return NULL;
    }
  if (!(p->sensitivity >= 0.0 && p->sensitivity <= 1000.0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Sensitivity %g is invalid (must be 0 … 1000)", p->sensitivity);
      return NULL;
    }
  if (!(p->filter_cutoff > 0.0 && p->filter_cutoff <= 1.0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Filter cutoff %g is outside (0, 1] × Nyquist", p->filter_cutoff);
      return NULL;
    }
  if (!isfinite (p->axis_angle_deg) || fabs (p->axis_angle_deg) > 360.0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Tilt-axis angle %g° is invalid", p->axis_angle_deg);
      return NULL;
    }
  if (!isfinite (p->axis_shift_px) || fabs (p->axis_shift_px) >= stack->width / 2.0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Tilt-axis shift %g px lies beyond the %u px wide image "
                   "(|shift| must be below %g px)", p->axis_shift_px, stack->width,
                   stack->width / 2.0);
      return NULL;
    }
  y0 = p->slice_start;
  y1 = p->slice_end;
  if (y0 == 0 && y1 == 0)
    y1 = stack->height;
  if (y0 >= y1 || y1 > stack->height)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Slices %u:%u are not a range of rows within the %u rows along the tilt axis",
                   y0, y1, stack->height);
      return NULL;
    }

  c.stack = stack;
  c.p = p;
  c.W = stack->width;
  c.H = stack->height;
  c.nx = p->width ? p->width : stack->width;
  c.nz = p->thickness ? p->thickness : stack->width;
  c.ny = y1 - y0;
  c.y_first = y0;
  c.res = result;
  c.cancellable = cancellable;
  c.progress = progress;
  c.progress_data = progress_data;
  c.t_start = g_get_monotonic_time ();
  /* ordered subsets: SIRT/WBP 1 unless asked; ISER automatic = one subset per ~10 tilts */
  c.subsets = p->subsets;
  if (p->method == KILN_RECON_WBP || (c.subsets == 0 && p->method == KILN_RECON_SIRT))
    c.subsets = 1;
  else if (c.subsets == 0)
    c.subsets = CLAMP ((stack->n_tilts + 5) / 10, 1, stack->n_tilts);
  if (c.subsets > stack->n_tilts)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%u ordered subsets requested for %u tilts", c.subsets, stack->n_tilts);
      return NULL;
    }
  result->subsets = c.subsets;
  if (c.nx > KILN_MAX_EXTENT || c.nz > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Volume %u × %u × %u is too large", c.nx, c.ny, c.nz);
      return NULL;
    }
  if (p->initial != NULL
      && (p->initial->nx != c.nx || p->initial->ny != c.ny || p->initial->nz != c.nz))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "The volume to resume from is %u × %u × %u, the reconstruction is %u × %u × %u",
                   p->initial->nx, p->initial->ny, p->initial->nz, c.nx, c.ny, c.nz);
      return NULL;
    }
  if (!kiln_image_stack_check_finite (stack, "the tilt series", error))
    return NULL;

  out = kiln_volume_new (c.nx, c.ny, c.nz, error);
  if (out == NULL)
    return NULL;
  out->voxel_size_nm = stack->pixel_size_nm;
  c.out = out;
  account (&c, (guint64) kiln_volume_n_voxels (out) * 4);

  /* axis vertical */
  c.images = stack->data;
  if (p->axis_angle_deg != 0.0)
    {
      KilnXf xf;
      gsize plane = (gsize) stack->width * stack->height;

      rotated = kiln_alloc (kiln_image_stack_n_pixels (stack), sizeof (float), FALSE,
                            "rotated tilt series", error);
      if (rotated == NULL)
        goto fail;
      account (&c, kiln_image_stack_n_pixels (stack) * 4);
      kiln_xf_rotation (&xf, -p->axis_angle_deg, 0.0, 0.0);
#pragma omp parallel for schedule(dynamic, 1)
      for (gint64 k = 0; k < (gint64) stack->n_tilts; k++)
        kiln_transform_image (stack->data + k * plane, stack->width, stack->height, &xf,
                              KILN_INTERP_LINEAR, 0.0f, rotated + k * plane, NULL);
      c.images = rotated;
    }

  if (p->iteration_func != NULL)
    {
      c.preview = kiln_alloc ((gsize) c.nx * c.nz, sizeof (float), FALSE, "preview slice", error);
      if (c.preview == NULL)
        goto fail;
      account (&c, (guint64) c.nx * c.nz * 4);
    }

  /* chunks along y within the memory budget */
  budget = kiln_memory_budget ();
  fixed = c.bytes_now;
  halo = p->method == KILN_RECON_ISER ? ISER_HALO : 0;
  chunk_ny = c.ny;
  if (fixed + chunk_bytes (&c, c.ny) > budget)
    {
      guint lo = S, best = 0;
      for (guint n = lo; n < c.ny; n += S)
        if (fixed + chunk_bytes (&c, n + 2 * halo) <= budget)
          best = n;
      if (best == 0)
        {
          g_autofree char *need = kiln_format_bytes (fixed + chunk_bytes (&c, S + 2 * halo));
          g_autofree char *have = kiln_format_bytes (budget);
          g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                       "Not enough memory to reconstruct %u × %u × %u: even %u slices at a time "
                       "need %s, the memory budget is %s", c.nx, c.ny, c.nz, S, need, have);
          goto fail;
        }
      chunk_ny = best;
    }
  c.n_chunks = (c.ny + chunk_ny - 1) / chunk_ny;
  result->n_chunks = c.n_chunks;

  for (c.chunk = 0; c.chunk < c.n_chunks; c.chunk++)
    {
      guint o0 = c.chunk * chunk_ny;
      guint on = MIN (chunk_ny, c.ny - o0);
      guint h0 = c.n_chunks > 1 && o0 > halo ? y0 + o0 - halo : y0 + (c.n_chunks > 1 ? 0 : o0);
      guint h1 = c.n_chunks > 1 ? MIN (y0 + o0 + on + halo, y1) : y0 + o0 + on;

      if (result->stopped)
        break;
      if (!run_chunk (&c, o0, on, h0, h1, error))
        goto fail;
    }

  kiln_free (c.preview);
  kiln_free (rotated);
  result->seconds = (g_get_monotonic_time () - c.t_start) / 1e6;
  result->peak_bytes = c.bytes_peak;
  kiln_report (progress, progress_data, 1.0, NULL);
  return out;

fail:
  kiln_free (c.preview);
  kiln_free (rotated);
  kiln_volume_unref (out);
  return NULL;
}
