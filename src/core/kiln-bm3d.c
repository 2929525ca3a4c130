/* kiln-bm3d.c — PSD-aware two-stage BM3D (see kiln-bm3d.h and docs/denoise.md)
 *
 * Determinism and the ROI preview. Every reference block is processed independently from the
 * image data in its search window (no running sums that depend on where a tile starts). Its
 * group estimates are aggregated into a band buffer that belongs to its reference row; bands are
 * merged into the image-size accumulators one after the other in increasing row order, and
 * inside a band the references are visited in increasing column order. Every pixel therefore
 * receives its contributions in the same order whatever the thread count, and a region of
 * interest processed with the reference blocks that can reach it gives the same floats as the
 * whole image.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#pragma GCC optimize ("O3")

#include <math.h>
#include <string.h>
#ifdef _OPENMP
# include <omp.h>
#endif

#include "kiln-bm3d.h"
#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-fft.h"

#define B  KILN_BM3D_BLOCK
#define B2 (B * B)
#define MAX_GROUP 32
#define LAG KILN_BM3D_MAX_LAG
#define LAG_SIDE (2 * LAG + 1)
/* Displacements between two blocks of one group: |d| ≤ 2 × half search. */
#define CT_D (2 * KILN_BM3D_MAX_HALF_SEARCH)
#define CT_SIDE (2 * CT_D + 1)

/* ------------------------------------------------------------------------------------------ */
/* Parameters                                                                                  */

gboolean
kiln_bm3d_profile_from_string (const char      *name,
                               KilnBm3dProfile *profile)
{
  if (g_strcmp0 (name, "fast") == 0)
    *profile = KILN_BM3D_PROFILE_FAST;
  else if (g_strcmp0 (name, "normal") == 0 || g_strcmp0 (name, "np") == 0)
    *profile = KILN_BM3D_PROFILE_NORMAL;
  else
    return FALSE;
  return TRUE;
}

const char *
kiln_bm3d_profile_to_string (KilnBm3dProfile profile)
{
  return profile == KILN_BM3D_PROFILE_FAST ? "fast" : "normal";
}

gboolean
kiln_bm3d_transform_from_string (const char        *name,
                                 KilnBm3dTransform *transform)
{
  if (g_strcmp0 (name, "dct") == 0)
    *transform = KILN_BM3D_TRANSFORM_DCT;
  else if (g_strcmp0 (name, "bior1.5") == 0 || g_strcmp0 (name, "bior") == 0)
    *transform = KILN_BM3D_TRANSFORM_BIOR15;
  else
    return FALSE;
  return TRUE;
}

const char *
kiln_bm3d_transform_to_string (KilnBm3dTransform transform)
{
  return transform == KILN_BM3D_TRANSFORM_BIOR15 ? "bior1.5" : "dct";
}

void
kiln_bm3d_params_init (KilnBm3dParams  *p,
                       KilnBm3dProfile  profile)
{
  memset (p, 0, sizeof *p);
  p->profile = profile;
  if (profile == KILN_BM3D_PROFILE_FAST)
    {
      p->step_ht = 6;
      p->step_wiener = 5;
      p->half_search_ht = 12;
      p->half_search_wiener = 12;
      p->group_ht = 16;
      p->group_wiener = 16;
    }
  else
    {
      p->step_ht = 3;
      p->step_wiener = 3;
      p->half_search_ht = 19;
      p->half_search_wiener = 19;
      p->group_ht = 16;
      p->group_wiener = 32;
    }
  p->tau_ht = 3000;
  p->tau_wiener = 400;
  p->lambda_ht = 0;  /* automatic: kiln_bm3d_params_lambda () */
  p->transform_ht = KILN_BM3D_TRANSFORM_DCT;
  p->mu2 = 1.0;
  p->kaiser_beta = 2.0;
  p->intensity_range = 0;
  p->psd_matching = TRUE;
  p->wiener = TRUE;
}

double
kiln_bm3d_params_lambda (const KilnBm3dParams *params,
                         const KilnBm3dNoise  *noise)
{
  if (params->lambda_ht > 0)
    return params->lambda_ht;
  return noise != NULL && !kiln_bm3d_noise_is_white (noise) ? 3.0 : 2.7;
}

static gboolean
check_params (const KilnBm3dParams *p,
              GError              **error)
{
  const char *bad = NULL;

  if (p->step_ht < 1 || p->step_ht > B || p->step_wiener < 1 || p->step_wiener > B)
    bad = "steps must be 1 … 8";
  else if (p->half_search_ht > KILN_BM3D_MAX_HALF_SEARCH
           || p->half_search_wiener > KILN_BM3D_MAX_HALF_SEARCH)
    bad = "half search width must be ≤ 24";
  else if (p->group_ht < 1 || p->group_ht > MAX_GROUP
           || p->group_wiener < 1 || p->group_wiener > MAX_GROUP)
    bad = "group sizes must be 1 … 32";
  else if (!(p->tau_ht > 0) || !(p->tau_wiener > 0) || !isfinite (p->tau_ht)
           || !isfinite (p->tau_wiener))
    bad = "matching thresholds must be > 0";
  else if (!(p->lambda_ht >= 0) || !isfinite (p->lambda_ht))
    bad = "the hard threshold lambda must be > 0 (0 = automatic)";
  else if (!(p->mu2 > 0) || !isfinite (p->mu2))
    bad = "the Wiener mu² must be > 0";
  else if (!(p->kaiser_beta >= 0) || !isfinite (p->kaiser_beta))
    bad = "the Kaiser beta must be ≥ 0";
  else if (!(p->intensity_range >= 0) || !isfinite (p->intensity_range))
    bad = "the intensity range must be ≥ 0 (0 = automatic)";
  else if (p->transform_ht != KILN_BM3D_TRANSFORM_DCT
           && p->transform_ht != KILN_BM3D_TRANSFORM_BIOR15)
    bad = "unknown stage-1 transform";
  if (bad != NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "BM3D: %s", bad);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Transforms                                                                                  */

static float dct_m[B][B];      /* orthonormal DCT-II, rows = frequencies */

static void
init_dct (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      for (int k = 0; k < B; k++)
        for (int x = 0; x < B; x++)
          {
            dct_m[k][x] = (float) ((k == 0 ? sqrt (1.0 / B) : sqrt (2.0 / B))
                                   * cos (G_PI * (2 * x + 1) * k / (2.0 * B)));
          }
      g_once_init_leave (&once, 1);
    }
}

static double
bessel_i0 (double x)
{
  double s = 1, t = 1;
  for (int k = 1; k < 50; k++)
    {
      t *= (x / (2 * k)) * (x / (2 * k));
      s += t;
      if (t < 1e-17 * s)
        break;
    }
  return s;
}

static void
make_kaiser (double beta, float *win)
{
  double w1[B];
  for (int n = 0; n < B; n++)
    {
      double r = 2.0 * n / (B - 1) - 1.0;
      w1[n] = bessel_i0 (beta * sqrt (MAX (0.0, 1.0 - r * r))) / bessel_i0 (beta);
    }
  for (int y = 0; y < B; y++)
    for (int x = 0; x < B; x++)
      win[y * B + x] = (float) (w1[y] * w1[x]);
}

/* coef[v][u] = Σ_y Σ_x T[v][y] blk[y][x] T[u][x] */
static inline void
dct2 (const float *restrict blk, float *restrict coef)
{
  float tmp[B2];
  for (int v = 0; v < B; v++)
    {
      float row[B] = { 0 };
      for (int y = 0; y < B; y++)
        {
          float t = dct_m[v][y];
          for (int x = 0; x < B; x++)
            row[x] += t * blk[y * B + x];
        }
      for (int x = 0; x < B; x++)
        tmp[v * B + x] = row[x];
    }
  for (int v = 0; v < B; v++)
    for (int u = 0; u < B; u++)
      {
        float s = 0;
        for (int x = 0; x < B; x++)
          s += tmp[v * B + x] * dct_m[u][x];
        coef[v * B + u] = s;
      }
}

/* blk[y][x] = Σ_v Σ_u T[v][y] coef[v][u] T[u][x] */
static inline void
idct2 (const float *restrict coef, float *restrict blk)
{
  float tmp[B2];
  for (int y = 0; y < B; y++)
    {
      float row[B] = { 0 };
      for (int v = 0; v < B; v++)
        {
          float t = dct_m[v][y];
          for (int u = 0; u < B; u++)
            row[u] += t * coef[v * B + u];
        }
      for (int u = 0; u < B; u++)
        tmp[y * B + u] = row[u];
    }
  for (int y = 0; y < B; y++)
    {
      float row[B] = { 0 };
      for (int u = 0; u < B; u++)
        {
          float t = tmp[y * B + u];
          for (int x = 0; x < B; x++)
            row[x] += t * dct_m[u][x];
        }
      for (int x = 0; x < B; x++)
        blk[y * B + x] = row[x];
    }
}

/* bior1.5, 3-level 2-D Mallat decomposition of an 8 × 8 block with periodic extension at each
 * level. Level l (N = 8, 4, 2 points) maps x to low[j] = Σ_k lo[k]·x[(2j + k − 4) mod N] (rows
 * j < N/2) and high[j] = Σ_k hi[k]·x[(2j + k − 4) mod N] (rows N/2 + j); it is applied along
 * the rows and the columns of the top-left N × N square. At N = 4 and 2 the folded filters are
 * exactly Haar; at N = 8 the low-pass analysis rows have squared norm 1.0590 (the transform is
 * biorthogonal, not orthonormal: coefficient variances are computed with the actual analysis
 * vectors). The inverse levels are the matrix inverses (computed once in double). */
static float bior_f[3][B][B];     /* level l (N = 8 >> l): N × N analysis matrix */
static float bior_i[3][B][B];     /* its inverse */
/* Analysis vectors of the composite 1-D transforms: level 1 rows 0–7, level 2 rows 8–11,
 * level 3 rows 12–13; coefficient (r, c) of the 2-D transform is Σ V[vy]·block·V[vx]ᵀ. */
#define BIOR_NV 14
static float bior_vec[BIOR_NV][B];
static int   bior_vy[B2], bior_vx[B2];
static float bior_norm2[B2];      /* ‖2-D analysis function‖² of each coefficient */

static void
invert (double *a, double *inv, int n)
{
  /* Gauss–Jordan with partial pivoting; a is destroyed (n ≤ 8, well conditioned) */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      inv[i * n + j] = i == j;
  for (int c = 0; c < n; c++)
    {
      int piv = c;
      for (int r = c + 1; r < n; r++)
        if (fabs (a[r * n + c]) > fabs (a[piv * n + c]))
          piv = r;
      for (int j = 0; j < n; j++)
        {
          double t = a[c * n + j];
          a[c * n + j] = a[piv * n + j];
          a[piv * n + j] = t;
          t = inv[c * n + j];
          inv[c * n + j] = inv[piv * n + j];
          inv[piv * n + j] = t;
        }
      {
        double d = a[c * n + c];
        for (int j = 0; j < n; j++)
          {
            a[c * n + j] /= d;
            inv[c * n + j] /= d;
          }
      }
      for (int r = 0; r < n; r++)
        if (r != c && a[r * n + c] != 0)
          {
            double f = a[r * n + c];
            for (int j = 0; j < n; j++)
              {
                a[r * n + j] -= f * a[c * n + j];
                inv[r * n + j] -= f * inv[c * n + j];
              }
          }
    }
}

static void
init_bior (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      static const double lo_i[10] = { 3, -3, -22, 22, 128, 128, 22, -22, -3, 3 };
      double lo[10], hi[10] = { 0 };
      double m[3][B][B], pv[BIOR_NV][B];
      for (int k = 0; k < 10; k++)
        lo[k] = lo_i[k] * G_SQRT2 / 256.0;
      hi[4] = -G_SQRT2 / 2;
      hi[5] = G_SQRT2 / 2;
      memset (m, 0, sizeof m);
      for (int l = 0; l < 3; l++)
        {
          int n = B >> l;
          double a[B * B], inv[B * B];
          for (int j = 0; j < n / 2; j++)
            for (int k = 0; k < 10; k++)
              {
                int x = ((2 * j + k - 4) % n + n) % n;
                m[l][j][x] += lo[k];
                m[l][n / 2 + j][x] += hi[k];
              }
          for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
              a[r * n + c] = m[l][r][c];
          invert (a, inv, n);
          for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
              {
                bior_f[l][r][c] = (float) m[l][r][c];
                bior_i[l][r][c] = (float) inv[r * n + c];
              }
        }
      /* composite analysis vectors */
      memset (pv, 0, sizeof pv);
      for (int r = 0; r < B; r++)
        for (int x = 0; x < B; x++)
          pv[r][x] = m[0][r][x];
      for (int r = 0; r < 4; r++)
        for (int s = 0; s < 4; s++)
          for (int x = 0; x < B; x++)
            pv[8 + r][x] += m[1][r][s] * pv[s][x];
      for (int r = 0; r < 2; r++)
        for (int s = 0; s < 2; s++)
          for (int x = 0; x < B; x++)
            pv[12 + r][x] += m[2][r][s] * pv[8 + s][x];
      for (int r = 0; r < BIOR_NV; r++)
        for (int x = 0; x < B; x++)
          bior_vec[r][x] = (float) pv[r][x];
      for (int r = 0; r < B; r++)
        for (int c = 0; c < B; c++)
          {
            int mx = MAX (r, c), off = mx >= 4 ? 0 : mx >= 2 ? 8 : 12;
            double ny = 0, nx = 0;
            bior_vy[r * B + c] = off + r;
            bior_vx[r * B + c] = off + c;
            for (int x = 0; x < B; x++)
              {
                ny += pv[off + r][x] * pv[off + r][x];
                nx += pv[off + c][x] * pv[off + c][x];
              }
            bior_norm2[r * B + c] = (float) (ny * nx);
          }
      g_once_init_leave (&once, 1);
    }
}

static inline void
bior2 (const float *restrict blk, float *restrict coef)
{
  float t[B2];
  memcpy (coef, blk, B2 * sizeof (float));
  for (int l = 0; l < 3; l++)
    {
      int n = B >> l;
      for (int y = 0; y < n; y++)          /* along x */
        for (int r = 0; r < n; r++)
          {
            float s = 0;
            for (int x = 0; x < n; x++)
              s += bior_f[l][r][x] * coef[y * B + x];
            t[y * B + r] = s;
          }
      for (int r = 0; r < n; r++)          /* along y */
        for (int x = 0; x < n; x++)
          {
            float s = 0;
            for (int y = 0; y < n; y++)
              s += bior_f[l][r][y] * t[y * B + x];
            coef[r * B + x] = s;
          }
    }
}

static inline void
ibior2 (const float *restrict coef, float *restrict blk)
{
  float t[B2];
  memcpy (blk, coef, B2 * sizeof (float));
  for (int l = 2; l >= 0; l--)
    {
      int n = B >> l;
      for (int y = 0; y < n; y++)          /* along y */
        for (int x = 0; x < n; x++)
          {
            float s = 0;
            for (int r = 0; r < n; r++)
              s += bior_i[l][y][r] * blk[r * B + x];
            t[y * B + x] = s;
          }
      for (int y = 0; y < n; y++)          /* along x */
        for (int x = 0; x < n; x++)
          {
            float s = 0;
            for (int r = 0; r < n; r++)
              s += bior_i[l][x][r] * t[y * B + r];
            blk[y * B + x] = s;
          }
    }
}

static inline void
fwd2 (int transform, const float *restrict blk, float *restrict coef)
{
  if (transform == KILN_BM3D_TRANSFORM_BIOR15)
    bior2 (blk, coef);
  else
    dct2 (blk, coef);
}

static inline void
inv2 (int transform, const float *restrict coef, float *restrict blk)
{
  if (transform == KILN_BM3D_TRANSFORM_BIOR15)
    ibior2 (coef, blk);
  else
    idct2 (coef, blk);
}

void
kiln_bm3d_transform_block (KilnBm3dTransform  transform,
                           gboolean           inverse,
                           const float       *in,
                           float             *out)
{
  g_return_if_fail (transform == KILN_BM3D_TRANSFORM_DCT
                    || transform == KILN_BM3D_TRANSFORM_BIOR15);
  init_dct ();
  init_bior ();
  if (inverse)
    inv2 (transform, in, out);
  else
    fwd2 (transform, in, out);
}

/* Orthonormal Haar along the group (n blocks of 64 coefficients, n a power of two). The detail
 * of the dyadic node of size s starting at block a lands at index n/s + a/s; DC at 0. */
static inline void
haar_fwd (float *restrict c, int n, float *restrict tmp)
{
  const float r = (float) G_SQRT2 * 0.5f;
  for (int m = n; m > 1; m /= 2)
    {
      for (int i = 0; i < m / 2; i++)
        {
          const float *a = c + (2 * i) * B2, *b = c + (2 * i + 1) * B2;
          float *lo = tmp + i * B2, *hi = tmp + (m / 2 + i) * B2;
          for (int q = 0; q < B2; q++)
            {
              lo[q] = (a[q] + b[q]) * r;
              hi[q] = (a[q] - b[q]) * r;
            }
        }
      memcpy (c, tmp, (gsize) m * B2 * sizeof (float));
    }
}

static inline void
haar_inv (float *restrict c, int n, float *restrict tmp)
{
  const float r = (float) G_SQRT2 * 0.5f;
  for (int m = 2; m <= n; m *= 2)
    {
      for (int i = 0; i < m / 2; i++)
        {
          const float *lo = c + i * B2, *hi = c + (m / 2 + i) * B2;
          float *a = tmp + (2 * i) * B2, *b = tmp + (2 * i + 1) * B2;
          for (int q = 0; q < B2; q++)
            {
              a[q] = (lo[q] + hi[q]) * r;
              b[q] = (lo[q] - hi[q]) * r;
            }
        }
      memcpy (c, tmp, (gsize) m * B2 * sizeof (float));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Noise                                                                                       */

struct _KilnBm3dNoise
{
  gatomicrefcount ref_count;
  float   *r;          /* LAG_SIDE², R(dx, dy) at [(dy + LAG) * LAG_SIDE + dx + LAG] */
  gboolean white;
  GMutex   lock;
  float   *ctab[KILN_BM3D_N_TRANSFORMS]; /* CT_SIDE² × 64: autocovariance of each 2-D
                                         * transform coefficient, lazily, per transform */
};

static KilnBm3dNoise *
noise_alloc (void)
{
  KilnBm3dNoise *n = g_new0 (KilnBm3dNoise, 1);
  g_atomic_ref_count_init (&n->ref_count);
  g_mutex_init (&n->lock);
  n->r = g_new0 (float, LAG_SIDE * LAG_SIDE);
  return n;
}

static void
noise_finish (KilnBm3dNoise *n)
{
  double r0 = n->r[LAG * LAG_SIDE + LAG];
  n->white = TRUE;
  for (int i = 0; i < LAG_SIDE * LAG_SIDE; i++)
    if (i != LAG * LAG_SIDE + LAG && fabs (n->r[i]) > 1e-6 * r0)
      {
        n->white = FALSE;
        break;
      }
}

KilnBm3dNoise *
kiln_bm3d_noise_new_scaled (const KilnBm3dNoise *noise,
                            double               factor)
{
  KilnBm3dNoise *n;

  g_return_val_if_fail (noise != NULL && factor > 0 && isfinite (factor), NULL);
  n = noise_alloc ();
  for (int i = 0; i < LAG_SIDE * LAG_SIDE; i++)
    n->r[i] = (float) (noise->r[i] * factor);
  n->white = noise->white;
  g_mutex_lock ((GMutex *) &noise->lock);
  for (int t = 0; t < KILN_BM3D_N_TRANSFORMS; t++)
    if (noise->ctab[t] != NULL)
      {
        gsize m = (gsize) CT_SIDE * CT_SIDE * B2;
        n->ctab[t] = g_new (float, m);
        for (gsize i = 0; i < m; i++)
          n->ctab[t][i] = (float) (noise->ctab[t][i] * factor);
      }
  g_mutex_unlock ((GMutex *) &noise->lock);
  return n;
}

KilnBm3dNoise *
kiln_bm3d_noise_ref (KilnBm3dNoise *noise)
{
  g_atomic_ref_count_inc (&noise->ref_count);
  return noise;
}

void
kiln_bm3d_noise_unref (KilnBm3dNoise *noise)
{
  if (noise == NULL)
    return;
  if (g_atomic_ref_count_dec (&noise->ref_count))
    {
      g_free (noise->r);
      for (int t = 0; t < KILN_BM3D_N_TRANSFORMS; t++)
        g_free (noise->ctab[t]);
      g_mutex_clear (&noise->lock);
      g_free (noise);
    }
}

double
kiln_bm3d_noise_variance (const KilnBm3dNoise *noise)
{
  return noise->r[LAG * LAG_SIDE + LAG];
}

double
kiln_bm3d_noise_autocovariance (const KilnBm3dNoise *noise,
                                int                  dx,
                                int                  dy)
{
  g_return_val_if_fail (ABS (dx) <= LAG && ABS (dy) <= LAG, 0.0);
  return noise->r[(dy + LAG) * LAG_SIDE + dx + LAG];
}

gboolean
kiln_bm3d_noise_is_white (const KilnBm3dNoise *noise)
{
  return noise->white;
}

KilnBm3dNoise *
kiln_bm3d_noise_new_psd (const float *psd,
                         guint        width,
                         guint        height,
                         GError     **error)
{
  gsize n = (gsize) width * height;
  fftwf_complex *buf;
  fftwf_plan plan;
  KilnBm3dNoise *noise;
  double norm;

  if (width == 0 || height == 0 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "BM3D noise: PSD size %u × %u is out of range", width, height);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    if (!isfinite (psd[i]) || psd[i] < 0)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "BM3D noise: the PSD has a negative or non-finite value at bin %"
                     G_GSIZE_FORMAT, i);
        return NULL;
      }
  buf = kiln_fft_alloc_complex (n);
  if (buf == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "BM3D noise: cannot allocate a %u × %u FFT buffer", width, height);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    {
      buf[i][0] = psd[i];
      buf[i][1] = 0;
    }
  plan = kiln_fft_plan_dft_2d ((int) height, (int) width, buf, buf, FFTW_BACKWARD,
                               FFTW_ESTIMATE);
  fftwf_execute (plan);
  kiln_fft_destroy_plan (plan);
  /* R(d) = Σ PSD(ξ) e^{2πi<ξ,d>} / (MN)², periodic on the grid */
  norm = 1.0 / ((double) n * (double) n);
  noise = noise_alloc ();
  for (int dy = -LAG; dy <= LAG; dy++)
    for (int dx = -LAG; dx <= LAG; dx++)
      {
        gsize yy = (gsize) (((gint64) dy % (gint64) height + height) % height);
        gsize xx = (gsize) (((gint64) dx % (gint64) width + width) % width);
        noise->r[(dy + LAG) * LAG_SIDE + dx + LAG] = (float) (buf[yy * width + xx][0] * norm);
      }
  kiln_fft_free (buf);
  noise_finish (noise);
  return noise;
}

KilnBm3dNoise *
kiln_bm3d_noise_new_model (KilnNoiseKind kind,
                           guint         width,
                           guint         height,
                           double        variance,
                           GError      **error)
{
  g_autofree float *psd = NULL;
  KilnBm3dNoise *noise;

  if (kind == KILN_NOISE_WHITE)
    {
      if (!isfinite (variance) || variance < 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "BM3D noise: the variance must be finite and ≥ 0 (got %g)", variance);
          return NULL;
        }
      noise = noise_alloc ();
      noise->r[LAG * LAG_SIDE + LAG] = (float) variance;
      noise->white = TRUE;
      return noise;
    }
  psd = kiln_noise_psd_new (kind, width, height, variance, error);
  if (psd == NULL)
    return NULL;
  return kiln_bm3d_noise_new_psd (psd, width, height, error);
}

KilnBm3dNoise *
kiln_bm3d_noise_new_from_region (const float *image,
                                 guint        width,
                                 guint        height,
                                 guint        x0,
                                 guint        y0,
                                 guint        rw,
                                 guint        rh,
                                 GError     **error)
{
  double sxx = 0, syy = 0, sv = 0, sxv = 0, syv = 0, cx, cy, a, bx, by;
  gsize n = (gsize) rw * rh;
  g_autofree double *res = NULL;
  int lmax;
  KilnBm3dNoise *noise;

  if (rw < 16 || rh < 16 || (guint64) x0 + rw > width || (guint64) y0 + rh > height)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "BM3D noise: the flat region %u × %u at (%u, %u) must be at least 16 × 16 "
                   "and lie inside the %u × %u image", rw, rh, x0, y0, width, height);
      return NULL;
    }
  res = g_try_new (double, n);
  if (res == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "BM3D noise: cannot allocate the %u × %u region", rw, rh);
      return NULL;
    }
  /* least-squares plane a + bx·(x − cx) + by·(y − cy); centred coordinates decouple it */
  cx = (rw - 1) / 2.0;
  cy = (rh - 1) / 2.0;
  for (guint y = 0; y < rh; y++)
    for (guint x = 0; x < rw; x++)
      {
        double v = image[(gsize) (y0 + y) * width + x0 + x];
        if (!isfinite (v))
          {
            g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                         "BM3D noise: non-finite pixel at (%u, %u) in the flat region",
                         x0 + x, y0 + y);
            return NULL;
          }
        sv += v;
        sxv += (x - cx) * v;
        syv += (y - cy) * v;
        sxx += (x - cx) * (x - cx);
        syy += (y - cy) * (y - cy);
      }
  a = sv / n;
  bx = sxv / sxx;
  by = syv / syy;
  for (guint y = 0; y < rh; y++)
    for (guint x = 0; x < rw; x++)
      res[(gsize) y * rw + x] = image[(gsize) (y0 + y) * width + x0 + x]
                                - (a + bx * (x - cx) + by * (y - cy));

  lmax = (int) MIN (MIN (rw, rh) / 2, (guint) LAG);
  noise = noise_alloc ();
  for (int dy = -lmax; dy <= lmax; dy++)
    for (int dx = -lmax; dx <= lmax; dx++)
      {
        double s = 0, taper;
        gsize cnt = 0;
        for (int y = MAX (0, -dy); y < (int) rh - MAX (0, dy); y++)
          for (int x = MAX (0, -dx); x < (int) rw - MAX (0, dx); x++)
            {
              s += res[(gsize) y * rw + x] * res[(gsize) (y + dy) * rw + x + dx];
              cnt++;
            }
        taper = (1.0 - (double) ABS (dx) / (lmax + 1)) * (1.0 - (double) ABS (dy) / (lmax + 1));
        noise->r[(dy + LAG) * LAG_SIDE + dx + LAG] = cnt > 0 ? (float) (s / cnt * taper) : 0.0f;
      }
  /* the plane fit removes 3 degrees of freedom */
  noise->r[LAG * LAG_SIDE + LAG] *= (float) ((double) n / MAX (1.0, n - 3.0));
  noise_finish (noise);
  return noise;
}

/* C_i(d) = Σ_e A_{vy(i)}(ey) A_{vx(i)}(ex) R(d + e), A_m(e) = Σ_a V[m][a] V[m][a + e], where
 * coefficient i of the 2-D transform is Σ V[vy(i)](y)·block(y, x)·V[vx(i)](x) (DCT: vy = v,
 * vx = u, V = the DCT matrix; bior1.5: the composite analysis vectors). */
static const float *
noise_ctab (KilnBm3dNoise *noise, int transform)
{
  g_mutex_lock (&noise->lock);
  if (noise->ctab[transform] == NULL)
    {
      gboolean bior = transform == KILN_BM3D_TRANSFORM_BIOR15;
      int nv = bior ? BIOR_NV : B;
      float acf[BIOR_NV][2 * B - 1];
      int vy[B2], vx[B2];
      int qrows = CT_SIDE + 2 * (B - 1);
      float *q = g_new (float, (gsize) nv * qrows * CT_SIDE);
      float *ct = g_new (float, (gsize) CT_SIDE * CT_SIDE * B2);

      for (int i = 0; i < B2; i++)
        {
          vy[i] = bior ? bior_vy[i] : i / B;
          vx[i] = bior ? bior_vx[i] : i % B;
        }
      for (int k = 0; k < nv; k++)
        for (int e = -(B - 1); e <= B - 1; e++)
          {
            const float *vk = bior ? bior_vec[k] : dct_m[k];
            double s = 0;
            for (int a = 0; a < B; a++)
              if (a + e >= 0 && a + e < B)
                s += (double) vk[a] * vk[a + e];
            acf[k][e + B - 1] = (float) s;
          }
      /* Q_m(dx, y') = Σ_ex A_m(ex) R(dx + ex, y'), y' ∈ [−CT_D − 7, CT_D + 7] */
      for (int u = 0; u < nv; u++)
        for (int yi = 0; yi < qrows; yi++)
          {
            int yy = yi - CT_D - (B - 1);
            for (int dx = -CT_D; dx <= CT_D; dx++)
              {
                double s = 0;
                for (int e = -(B - 1); e <= B - 1; e++)
                  s += acf[u][e + B - 1] * (double) noise->r[(yy + LAG) * LAG_SIDE + dx + e + LAG];
                q[((gsize) u * qrows + yi) * CT_SIDE + dx + CT_D] = (float) s;
              }
          }
      for (int dy = -CT_D; dy <= CT_D; dy++)
        for (int dx = -CT_D; dx <= CT_D; dx++)
          {
            float *c = ct + ((gsize) (dy + CT_D) * CT_SIDE + dx + CT_D) * B2;
            for (int i = 0; i < B2; i++)
              {
                double s = 0;
                for (int e = -(B - 1); e <= B - 1; e++)
                  s += acf[vy[i]][e + B - 1]
                       * (double) q[((gsize) vx[i] * qrows + dy + e + CT_D + B - 1) * CT_SIDE
                                    + dx + CT_D];
                c[i] = (float) s;
              }
          }
      g_free (q);
      noise->ctab[transform] = ct;
    }
  g_mutex_unlock (&noise->lock);
  return noise->ctab[transform];
}

/* ------------------------------------------------------------------------------------------ */
/* Core                                                                                        */

typedef struct
{
  int x0, y0, x1, y1;  /* [x0, x1) × [y0, y1) */
} Rect;

typedef struct
{
  int          w, h;
  const float *z;          /* noisy, internal scale */
  const float *basic;      /* stage-1 estimate, internal scale (stage 2) */
  const float *ctab;       /* NULL for white noise */
  const float *norm2;      /* white noise: per-coefficient variance factor (NULL = 1) */
  int          transform;  /* 2-D transform of this stage */
  float        vscale;     /* image-units² → internal units² */
  float        sigma2;     /* R(0), internal units */
  float        corr[(2 * KILN_BM3D_MAX_HALF_SEARCH + 1) * (2 * KILN_BM3D_MAX_HALF_SEARCH + 1)];
  /* stage parameters */
  int          stage;      /* 1 or 2 */
  int          step, hs, n2;
  float        tau;
  float        lambda, mu2;
  float        kaiser[B2];
} Stage;

typedef struct
{
  float coef[MAX_GROUP * B2];
  float pilot[MAX_GROUP * B2];
  float var[MAX_GROUP * B2];
  float tmp[MAX_GROUP * B2];
  float s_lvl[MAX_GROUP * B2];
  float s_nxt[MAX_GROUP * B2];
  float dist[MAX_GROUP];
  int   px[MAX_GROUP], py[MAX_GROUP];
  /* matching of a segment of up to SEG references of one row */
  float   *seg_dist;     /* SEG × n_disp */
  float   *colsum;       /* SEG·8 + 8 columns */
  /* lazily filled 2-D DCTs of the blocks a segment's groups use (noisy, and basic in stage 2) */
  int      cx0, cy0, ccols, crows;
  float   *cache[2];     /* crows × ccols × 64 */
  guint8  *cflag[2];     /* crows × ccols */
} Scratch;

#define SEG 64




/* Reference positions along an axis of length n: 0, step, 2·step, … and n − B. */
static int *
ref_positions (int n, int step, int *count)
{
  int *p = g_new (int, n / step + 2), c = 0;
  for (int v = 0; v < n - B; v += step)
    p[c++] = v;
  p[c++] = n - B;
  *count = c;
  return p;
}

/* Block matching, independent of the tiling. For one reference row yr and a segment of
 * references xr[0..ns), fill sc->seg_dist[i·n_disp + disp] with the per-pixel distance
 * ssd/64 (0–255 units²) plus the PSD correction, for every displacement
 * disp = (dy + hs)·(2hs + 1) + dx + hs; +inf where the candidate leaves the image.
 * Per displacement, the squared differences are summed down each column (8 rows, fixed order)
 * and then over the 8 columns of each reference (fixed order): every distance is the same
 * float expression of the same pixels whatever the segment, tile or thread — no running sums
 * whose start would depend on the tiling. This is what makes the ROI preview exact. */
static void
segment_distances (const Stage *st, Scratch *sc, int yr, const int *xr, int ns)
{
  int w = st->w, hs = st->hs, side = 2 * hs + 1, nd = side * side;
  int x0 = xr[0], x1 = xr[ns - 1] + B;
  int cside = 2 * KILN_BM3D_MAX_HALF_SEARCH + 1;
  const float inv = 1.0f / B2;
  const float *img = st->stage == 1 ? st->z : st->basic;
  float *cs = sc->colsum;

  for (int dy = -hs; dy <= hs; dy++)
    {
      int y = yr + dy;
      for (int dx = -hs; dx <= hs; dx++)
        {
          int disp = (dy + hs) * side + dx + hs;
          float corr = st->corr[(dy + KILN_BM3D_MAX_HALF_SEARCH) * cside
                                + dx + KILN_BM3D_MAX_HALF_SEARCH];
          int lo, hi;

          if (y < 0 || y > st->h - B)
            {
              for (int i = 0; i < ns; i++)
                sc->seg_dist[(gsize) i * nd + disp] = INFINITY;
              continue;
            }
          /* columns c with c + dx inside the image */
          lo = MAX (x0, -dx);
          hi = MIN (x1, w - dx);
          {
            const float *a = img + (gsize) yr * w;
            const float *b = img + (gsize) y * w;
            for (int x = lo; x < hi; x++)
              {
                float d = a[x] - b[x + dx];
                cs[x - x0] = d * d;
              }
          }
          for (int r = 1; r < B; r++)
            {
              const float *a = img + (gsize) (yr + r) * w;
              const float *b = img + (gsize) (y + r) * w;
              for (int x = lo; x < hi; x++)
                {
                  float d = a[x] - b[x + dx];
                  cs[x - x0] += d * d;
                }
            }
          for (int i = 0; i < ns; i++)
            {
              int xc = xr[i] + dx;
              if (xc < 0 || xc > w - B)
                sc->seg_dist[(gsize) i * nd + disp] = INFINITY;
              else
                {
                  const float *c = cs + (xr[i] - x0);
                  float ssd = ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
                  sc->seg_dist[(gsize) i * nd + disp] = ssd * inv + corr;
                }
            }
        }
    }
}

/* Select the group of reference (xr, yr) from its distances: the reference first, then up to
 * n2 − 1 candidates with d < tau in increasing d (ties: raster order of the window); returns
 * the group size rounded down to a power of two. */
static int
select_group (const Stage *st, Scratch *sc, const float *dist, int xr, int yr)
{
  int hs = st->hs, side = 2 * hs + 1, cap = st->n2 - 1, cnt = 0, n;
  float bound = st->tau;

  for (int dy = -hs; cap > 0 && dy <= hs; dy++)
    {
      const float *drow = dist + (dy + hs) * side + hs;
      for (int dx = -hs; dx <= hs; dx++)
        {
          float d = drow[dx];
          int pos;
          if (!(d < bound) || (dx == 0 && dy == 0))
            continue;
          pos = cnt < cap ? cnt : cap - 1;
          while (pos > 0 && sc->dist[pos - 1] > d)
            {
              sc->dist[pos] = sc->dist[pos - 1];
              sc->px[pos + 1] = sc->px[pos];
              sc->py[pos + 1] = sc->py[pos];
              pos--;
            }
          sc->dist[pos] = d;
          sc->px[pos + 1] = xr + dx;
          sc->py[pos + 1] = yr + dy;
          if (cnt < cap)
            cnt++;
          if (cnt == cap)
            bound = MIN (st->tau, sc->dist[cnt - 1]);
        }
    }
  sc->px[0] = xr;
  sc->py[0] = yr;
  n = 1;
  while (n * 2 <= cnt + 1)
    n *= 2;
  return n;
}

static inline const float *
ct_at (const float *ctab, int dx, int dy)
{
  return ctab + ((gsize) (dy + CT_D) * CT_SIDE + dx + CT_D) * B2;
}

/* Noise variance of every 3-D coefficient (Haar index k, DCT index i) of a group, from the
 * pairwise displacements (exact quadratic forms, summed over dyadic nodes). */
static void
group_variances (const Stage *st, Scratch *sc, int n)
{
  if (st->ctab == NULL)
    {
      if (st->norm2 == NULL)
        for (int q = 0; q < n * B2; q++)
          sc->var[q] = st->sigma2;
      else
        for (int q = 0; q < n * B2; q++)
          sc->var[q] = st->sigma2 * st->norm2[q % B2];
      return;
    }
  {
    const float *c0 = ct_at (st->ctab, 0, 0);
    float *lvl = sc->s_lvl, *nxt = sc->s_nxt;
    for (int j = 0; j < n; j++)
      memcpy (lvl + j * B2, c0, B2 * sizeof (float));
    for (int s = 2; s <= n; s *= 2)
      {
        for (int node = 0; node < n / s; node++)
          {
            int a = node * s, h = s / 2;
            float cross[B2] = { 0 };
            const float *sl = lvl + (2 * node) * B2, *sr = lvl + (2 * node + 1) * B2;
            float *out = nxt + node * B2, *var = sc->var + (n / s + node) * B2;
            for (int j = a; j < a + h; j++)
              for (int l = a + h; l < a + s; l++)
                {
                  const float *cc = ct_at (st->ctab, sc->px[j] - sc->px[l], sc->py[j] - sc->py[l]);
                  for (int q = 0; q < B2; q++)
                    cross[q] += cc[q];
                }
            for (int q = 0; q < B2; q++)
              {
                float v = (sl[q] + sr[q] - 2 * cross[q]) / s;
                out[q] = sl[q] + sr[q] + 2 * cross[q];
                var[q] = MAX (v, 0.0f) * st->vscale;
              }
          }
        {
          float *t = lvl;
          lvl = nxt;
          nxt = t;
        }
      }
    for (int q = 0; q < B2; q++)
      sc->var[q] = MAX (lvl[q] / n, 0.0f) * st->vscale;
  }
}

gboolean
kiln_bm3d_noise_group_variances (const KilnBm3dNoise *noise,
                                 guint                n,
                                 const int           *px,
                                 const int           *py,
                                 float               *var)
{
  return kiln_bm3d_noise_group_variances_transform (noise, KILN_BM3D_TRANSFORM_DCT, n, px, py,
                                                    var);
}

gboolean
kiln_bm3d_noise_group_variances_transform (const KilnBm3dNoise *noise,
                                           KilnBm3dTransform    transform,
                                           guint                n,
                                           const int           *px,
                                           const int           *py,
                                           float               *var)
{
  Stage *st;
  Scratch *sc;

  if (transform != KILN_BM3D_TRANSFORM_DCT && transform != KILN_BM3D_TRANSFORM_BIOR15)
    return FALSE;
  if (n == 0 || n > MAX_GROUP || (n & (n - 1)) != 0)
    return FALSE;
  for (guint j = 0; j < n; j++)
    for (guint l = 0; l < n; l++)
      if (ABS (px[j] - px[l]) > CT_D || ABS (py[j] - py[l]) > CT_D)
        return FALSE;
  init_dct ();
  init_bior ();
  st = g_new0 (Stage, 1);
  sc = g_new0 (Scratch, 1);
  st->vscale = 1.0f;
  st->sigma2 = (float) kiln_bm3d_noise_variance (noise);
  st->transform = transform;
  st->norm2 = transform == KILN_BM3D_TRANSFORM_BIOR15 ? bior_norm2 : NULL;
  st->ctab = noise->white ? NULL : noise_ctab ((KilnBm3dNoise *) noise, transform);
  for (guint j = 0; j < n; j++)
    {
      sc->px[j] = px[j];
      sc->py[j] = py[j];
    }
  group_variances (st, sc, (int) n);
  memcpy (var, sc->var, (gsize) n * B2 * sizeof (float));
  g_free (st);
  g_free (sc);
  return TRUE;
}

void
kiln_bm3d_transform_group (float *blocks,
                           guint  n)
{
  float tmp[MAX_GROUP * B2], c[B2];
  g_return_if_fail (n >= 1 && n <= MAX_GROUP && (n & (n - 1)) == 0);
  init_dct ();
  for (guint j = 0; j < n; j++)
    {
      dct2 (blocks + j * B2, c);
      memcpy (blocks + j * B2, c, sizeof c);
    }
  haar_fwd (blocks, (int) n, tmp);
}

static inline void
load_block (const float *img, int w, int x, int y, float *blk)
{
  for (int r = 0; r < B; r++)
    memcpy (blk + r * B, img + (gsize) (y + r) * w + x, B * sizeof (float));
}

/* Process one reference block; aggregate into the band (rows [by0, …), columns [bx0, …)). */
static void
process_ref (const Stage *st, Scratch *sc, int n,
             float *bnum, float *bden, int bx0, int by0, int bw)
{
  float blk[B2], weight;
  double wsum = 0;

  for (int j = 0; j < n; j++)
    {
      gsize ci = (gsize) (sc->py[j] - sc->cy0) * sc->ccols + (sc->px[j] - sc->cx0);
      for (int im = 0; im < st->stage; im++)
        {
          float *c = sc->cache[im] + ci * B2;
          if (!sc->cflag[im][ci])
            {
              load_block (im == 0 ? st->z : st->basic, st->w, sc->px[j], sc->py[j], blk);
              fwd2 (st->transform, blk, c);
              sc->cflag[im][ci] = 1;
            }
          memcpy ((im == 0 ? sc->coef : sc->pilot) + j * B2, c, B2 * sizeof (float));
        }
    }
  haar_fwd (sc->coef, n, sc->tmp);
  if (st->stage == 2)
    haar_fwd (sc->pilot, n, sc->tmp);
  group_variances (st, sc, n);

  if (st->stage == 1)
    {
      float l2 = st->lambda * st->lambda;
      for (int q = 0; q < n * B2; q++)
        {
          float c = sc->coef[q];
          if (c * c <= l2 * sc->var[q])
            sc->coef[q] = 0;
          else
            wsum += sc->var[q];
        }
    }
  else
    {
      for (int q = 0; q < n * B2; q++)
        {
          float p2 = sc->pilot[q] * sc->pilot[q];
          float nv = st->mu2 * sc->var[q];
          float wf = p2 + nv > 0 ? p2 / (p2 + nv) : 0.0f;
          sc->coef[q] *= wf;
          wsum += (double) wf * wf * sc->var[q];
        }
    }
  if (!(wsum > 0))
    {
      /* nothing kept: weigh by the smallest coefficient variance (finite, positive) */
      float vmin = G_MAXFLOAT;
      for (int q = 0; q < n * B2; q++)
        vmin = MIN (vmin, sc->var[q]);
      wsum = vmin > 0 ? vmin : 1.0;
    }
  weight = (float) (1.0 / wsum);

  haar_inv (sc->coef, n, sc->tmp);
  for (int j = 0; j < n; j++)
    {
      int ox = sc->px[j] - bx0, oy = sc->py[j] - by0;
      inv2 (st->transform, sc->coef + j * B2, blk);
      for (int r = 0; r < B; r++)
        {
          float *nr = bnum + (gsize) (oy + r) * bw + ox;
          float *dr = bden + (gsize) (oy + r) * bw + ox;
          for (int c = 0; c < B; c++)
            {
              float k = weight * st->kaiser[r * B + c];
              nr[c] += k * blk[r * B + c];
              dr[c] += k;
            }
        }
    }
}

static int
n_threads (void)
{
#ifdef _OPENMP
  return omp_get_max_threads ();
#else
  return 1;
#endif
}

static Scratch *
scratch_new (const Stage *st)
{
  int side = 2 * st->hs + 1;
  Scratch *sc = g_new (Scratch, 1);
  sc->seg_dist = g_new (float, (gsize) SEG * side * side);
  sc->colsum = g_new (float, SEG * B + B);
  sc->crows = 2 * st->hs + 1;
  sc->ccols = (SEG - 1) * st->step + 1 + 2 * st->hs;
  for (int im = 0; im < 2; im++)
    {
      sc->cache[im] = im < st->stage
                      ? g_new (float, (gsize) sc->crows * sc->ccols * B2) : NULL;
      sc->cflag[im] = g_new0 (guint8, (gsize) sc->crows * sc->ccols);
    }
  return sc;
}

static void
scratch_free (Scratch *sc)
{
  if (sc == NULL)
    return;
  g_free (sc->seg_dist);
  g_free (sc->colsum);
  for (int im = 0; im < 2; im++)
    {
      g_free (sc->cache[im]);
      g_free (sc->cflag[im]);
    }
  g_free (sc);
}

/* Run one stage for target rectangle t: the estimate at t's pixels is written to dst (image
 * size, only t written). num/den: image-size scratch. */
static gboolean
run_stage (const Stage      *st,
           Rect              t,
           float            *num,
           float            *den,
           float            *dst,
           GCancellable     *cancellable,
           const KilnProgress *prog,
           GError          **error)
{
  int nyr, nxr, *yr_all, *xr_all;
  int ry0 = -1, ry1 = -1, rx0 = -1, rx1 = -1;
  int reach = st->hs + B - 1;
  int bx0, bx1, bw, bh, chunk;
  float *bands;
  gsize band_sz;
  gboolean ok = TRUE;
  int n_scratch = n_threads ();
  Scratch **scratch = g_new0 (Scratch *, n_scratch);

  yr_all = ref_positions (st->h, st->step, &nyr);
  xr_all = ref_positions (st->w, st->step, &nxr);
  /* references whose group may touch t: start within [t0 − reach, t1 − 1 + hs] */
  for (int i = 0; i < nyr; i++)
    if (yr_all[i] >= t.y0 - reach && yr_all[i] <= t.y1 - 1 + st->hs)
      {
        if (ry0 < 0)
          ry0 = i;
        ry1 = i + 1;
      }
  for (int i = 0; i < nxr; i++)
    if (xr_all[i] >= t.x0 - reach && xr_all[i] <= t.x1 - 1 + st->hs)
      {
        if (rx0 < 0)
          rx0 = i;
        rx1 = i + 1;
      }
  g_assert (ry0 >= 0 && rx0 >= 0);

  bx0 = MAX (0, xr_all[rx0] - st->hs);
  bx1 = MIN (st->w, xr_all[rx1 - 1] + st->hs + B);
  bw = bx1 - bx0;
  bh = 2 * st->hs + B;
  /* at most ~16 parallel regions per stage (each ends in a barrier, costly on a loaded
   * machine), at least 2 rows per thread */
  chunk = MAX (MAX (4, 2 * n_threads ()), (ry1 - ry0 + 15) / 16);
  band_sz = (gsize) bw * bh;
  bands = kiln_alloc ((gsize) chunk * 2, band_sz * sizeof (float), FALSE, "BM3D band buffers",
                      error);
  if (bands == NULL)
    {
      g_free (yr_all);
      g_free (xr_all);
      g_free (scratch);
      return FALSE;
    }

  /* accumulators over the rows/columns the references can reach */
  {
    int ay0 = MAX (0, yr_all[ry0] - st->hs), ay1 = MIN (st->h, yr_all[ry1 - 1] + st->hs + B);
    for (int y = ay0; y < ay1; y++)
      {
        memset (num + (gsize) y * st->w + bx0, 0, bw * sizeof (float));
        memset (den + (gsize) y * st->w + bx0, 0, bw * sizeof (float));
      }
  }

  for (int c0 = ry0; c0 < ry1 && ok; c0 += chunk)
    {
      int c1 = MIN (ry1, c0 + chunk);

      if (kiln_check_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      kiln_progress_report (prog, (double) (c0 - ry0) / (ry1 - ry0), NULL);

#pragma omp parallel if ((c1 - c0) * (rx1 - rx0) >= 256)
      {
        int side = 2 * st->hs + 1;
        Scratch *sc;
#ifdef _OPENMP
        int tid = omp_get_thread_num ();
#else
        int tid = 0;
#endif
        /* per-thread scratch, allocated once per stage (thread ids are stable across the
         * parallel regions; a larger team than planned falls back to its own buffers) */
        if (tid < n_scratch && scratch[tid] != NULL)
          sc = scratch[tid];
        else
          {
            sc = scratch_new (st);
            if (tid < n_scratch)
              scratch[tid] = sc;
          }
#pragma omp for schedule(dynamic, 1)
        for (int ci = c0; ci < c1; ci++)
          {
            int yr = yr_all[ci];
            int by0 = yr - st->hs;
            float *bnum = bands + (gsize) (ci - c0) * 2 * band_sz;
            float *bden = bnum + band_sz;
            memset (bnum, 0, 2 * band_sz * sizeof (float));
            for (int s0 = rx0; s0 < rx1; s0 += SEG)
              {
                int ns = MIN (SEG, rx1 - s0);
                segment_distances (st, sc, yr, xr_all + s0, ns);
                /* block positions the segment's groups can use */
                sc->cx0 = xr_all[s0] - st->hs;
                sc->cy0 = yr - st->hs;
                for (int im = 0; im < st->stage; im++)
                  memset (sc->cflag[im], 0, (gsize) sc->crows * sc->ccols);
                for (int i = 0; i < ns; i++)
                  {
                    int n = select_group (st, sc, sc->seg_dist + (gsize) i * side * side,
                                          xr_all[s0 + i], yr);
                    process_ref (st, sc, n, bnum, bden, bx0, by0, bw);
                  }
              }
          }
        if (tid >= n_scratch)
          scratch_free (sc);
      }

      /* merge in row order (deterministic) */
      for (int ci = c0; ci < c1; ci++)
        {
          int yr = yr_all[ci];
          int by0 = yr - st->hs;
          const float *bnum = bands + (gsize) (ci - c0) * 2 * band_sz;
          const float *bden = bnum + band_sz;
          int y0 = MAX (0, by0), y1 = MIN (st->h, by0 + bh);
          for (int y = y0; y < y1; y++)
            {
              float *nr = num + (gsize) y * st->w + bx0;
              float *dr = den + (gsize) y * st->w + bx0;
              const float *sn = bnum + (gsize) (y - by0) * bw;
              const float *sd = bden + (gsize) (y - by0) * bw;
              for (int x = 0; x < bw; x++)
                {
                  nr[x] += sn[x];
                  dr[x] += sd[x];
                }
            }
        }
    }
  kiln_free (bands);
  g_free (yr_all);
  g_free (xr_all);
  for (int i = 0; i < n_scratch; i++)
    scratch_free (scratch[i]);
  g_free (scratch);
  if (!ok)
    return FALSE;

  for (int y = t.y0; y < t.y1; y++)
    for (int x = t.x0; x < t.x1; x++)
      {
        gsize i = (gsize) y * st->w + x;
        dst[i] = den[i] > 0 ? num[i] / den[i] : st->z[i];
      }
  kiln_progress_report (prog, 1.0, NULL);
  return TRUE;
}

static void
stage_init (Stage *st, const KilnBm3dParams *p, int stage, const KilnBm3dNoise *noise,
            float vscale, int w, int h)
{
  int cside = 2 * KILN_BM3D_MAX_HALF_SEARCH + 1;
  memset (st, 0, sizeof *st);
  st->w = w;
  st->h = h;
  st->stage = stage;
  st->step = (int) (stage == 1 ? p->step_ht : p->step_wiener);
  st->hs = (int) (stage == 1 ? p->half_search_ht : p->half_search_wiener);
  st->n2 = (int) (stage == 1 ? p->group_ht : p->group_wiener);
  st->tau = (float) (stage == 1 ? p->tau_ht : p->tau_wiener);
  st->lambda = (float) kiln_bm3d_params_lambda (p, noise);
  st->mu2 = (float) p->mu2;
  st->vscale = vscale;
  st->sigma2 = (float) (kiln_bm3d_noise_variance (noise) * vscale);
  st->transform = stage == 1 ? (int) p->transform_ht : KILN_BM3D_TRANSFORM_DCT;
  st->norm2 = st->transform == KILN_BM3D_TRANSFORM_BIOR15 ? bior_norm2 : NULL;
  st->ctab = noise->white ? NULL : noise_ctab ((KilnBm3dNoise *) noise, st->transform);
  make_kaiser (p->kaiser_beta, st->kaiser);
  /* Expected noise part of the per-pixel distance is 2(R(0) − R(Δ)); adding 2R(Δ) makes it
   * the same for every displacement (stage 1 only: stage 2 matches the basic estimate). */
  for (int dy = -KILN_BM3D_MAX_HALF_SEARCH; dy <= KILN_BM3D_MAX_HALF_SEARCH; dy++)
    for (int dx = -KILN_BM3D_MAX_HALF_SEARCH; dx <= KILN_BM3D_MAX_HALF_SEARCH; dx++)
      st->corr[(dy + KILN_BM3D_MAX_HALF_SEARCH) * cside + dx + KILN_BM3D_MAX_HALF_SEARCH] =
        (stage == 1 && p->psd_matching && !noise->white && (dx != 0 || dy != 0))
        ? (float) (2.0 * kiln_bm3d_noise_autocovariance (noise, dx, dy) * vscale) : 0.0f;
}

static gboolean
check_image (const float *in, guint width, guint height, GError **error)
{
  if (width < 2 * B || height < 2 * B || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "BM3D: the image is %u × %u; it must be at least 16 × 16", width, height);
      return FALSE;
    }
  for (gsize i = 0; i < (gsize) width * height; i++)
    if (!isfinite (in[i]))
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "BM3D: non-finite pixel at (%u, %u)", (guint) (i % width),
                     (guint) (i / width));
        return FALSE;
      }
  return TRUE;
}

static gboolean
denoise_rect (const float          *in,
              guint                 width,
              guint                 height,
              const KilnBm3dNoise  *noise,
              const KilnBm3dParams *params,
              Rect                  roi,
              float                *out,
              int                   out_stride,
              GCancellable         *cancellable,
              KilnProgressFunc      progress,
              gpointer              progress_data,
              GError              **error)
{
  int w = (int) width, h = (int) height;
  gsize n = (gsize) width * height;
  double mn = G_MAXDOUBLE, mx = -G_MAXDOUBLE, range, scale, var;
  float *z = NULL, *num = NULL, *den = NULL, *basic = NULL, *fin = NULL;
  Stage *st = NULL;
  KilnProgress prog, sub;
  Rect t1;
  gboolean ok = FALSE;

  g_return_val_if_fail (noise != NULL && params != NULL && out != NULL, FALSE);
  init_dct ();
  init_bior ();
  if (!check_params (params, error) || !check_image (in, width, height, error))
    return FALSE;
  kiln_progress_init (&prog, progress, progress_data);

  for (gsize i = 0; i < n; i++)
    {
      mn = MIN (mn, in[i]);
      mx = MAX (mx, in[i]);
    }
  range = params->intensity_range > 0 ? params->intensity_range : mx - mn;
  var = kiln_bm3d_noise_variance (noise);
  if (!(range > 0) || !(var > 0))
    {
      /* constant image or no noise: nothing to remove */
      for (int y = roi.y0; y < roi.y1; y++)
        memmove (out + (gsize) (y - roi.y0) * out_stride, in + (gsize) y * w + roi.x0,
                 (roi.x1 - roi.x0) * sizeof (float));
      kiln_report (progress, progress_data, 1.0, NULL);
      return TRUE;
    }
  scale = 255.0 / range;

  z = kiln_alloc (n, sizeof (float), FALSE, "BM3D normalised image", error);
  num = z ? kiln_alloc (n, sizeof (float), FALSE, "BM3D numerator", error) : NULL;
  den = num ? kiln_alloc (n, sizeof (float), FALSE, "BM3D denominator", error) : NULL;
  basic = den ? kiln_alloc (n, sizeof (float), FALSE, "BM3D basic estimate", error) : NULL;
  if (basic == NULL)
    goto out;
  if (params->wiener)
    {
      fin = kiln_alloc (n, sizeof (float), FALSE, "BM3D final estimate", error);
      if (fin == NULL)
        goto out;
    }
  for (gsize i = 0; i < n; i++)
    z[i] = (float) ((in[i] - mn) * scale);

  st = g_new (Stage, 1);
  /* stage-1 target: every pixel a stage-2 group touching roi can read */
  if (params->wiener)
    {
      int m = 2 * (int) params->half_search_wiener + B - 1;
      t1.x0 = MAX (0, roi.x0 - m);
      t1.y0 = MAX (0, roi.y0 - m);
      t1.x1 = MIN (w, roi.x1 + m);
      t1.y1 = MIN (h, roi.y1 + m);
    }
  else
    t1 = roi;

  stage_init (st, params, 1, noise, (float) (scale * scale), w, h);
  st->z = z;
  sub = kiln_progress_sub (&prog, 0.0, params->wiener ? 0.4 : 1.0);
  if (!run_stage (st, t1, num, den, basic, cancellable, &sub, error))
    goto out;
  if (params->wiener)
    {
      stage_init (st, params, 2, noise, (float) (scale * scale), w, h);
      st->z = z;
      st->basic = basic;
      sub = kiln_progress_sub (&prog, 0.4, 1.0);
      if (!run_stage (st, roi, num, den, fin, cancellable, &sub, error))
        goto out;
    }
  {
    const float *res = params->wiener ? fin : basic;
    for (int y = roi.y0; y < roi.y1; y++)
      for (int x = roi.x0; x < roi.x1; x++)
        out[(gsize) (y - roi.y0) * out_stride + (x - roi.x0)] =
          (float) (res[(gsize) y * w + x] / scale + mn);
  }
  ok = TRUE;

out:
  g_free (st);
  kiln_free (z);
  kiln_free (num);
  kiln_free (den);
  kiln_free (basic);
  kiln_free (fin);
  return ok;
}

gboolean
kiln_bm3d_denoise (const float          *in,
                   guint                 width,
                   guint                 height,
                   const KilnBm3dNoise  *noise,
                   const KilnBm3dParams *params,
                   float                *out,
                   GCancellable         *cancellable,
                   KilnProgressFunc      progress,
                   gpointer              progress_data,
                   GError              **error)
{
  Rect all = { 0, 0, (int) width, (int) height };
  return denoise_rect (in, width, height, noise, params, all, out, (int) width, cancellable,
                       progress, progress_data, error);
}

gboolean
kiln_bm3d_denoise_roi (const float          *in,
                       guint                 width,
                       guint                 height,
                       const KilnBm3dNoise  *noise,
                       const KilnBm3dParams *params,
                       guint                 x,
                       guint                 y,
                       guint                 roi_width,
                       guint                 roi_height,
                       float                *out,
                       GCancellable         *cancellable,
                       KilnProgressFunc      progress,
                       gpointer              progress_data,
                       GError              **error)
{
  Rect r;
  if (roi_width == 0 || roi_height == 0 || (guint64) x + roi_width > width
      || (guint64) y + roi_height > height)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "BM3D: the region %u × %u at (%u, %u) is empty or leaves the %u × %u image",
                   roi_width, roi_height, x, y, width, height);
      return FALSE;
    }
  r.x0 = (int) x;
  r.y0 = (int) y;
  r.x1 = (int) (x + roi_width);
  r.y1 = (int) (y + roi_height);
  return denoise_rect (in, width, height, noise, params, r, out, (int) roi_width, cancellable,
                       progress, progress_data, error);
}

typedef struct
{
  KilnProgressFunc func;
  gpointer         data;
  guint            k, n;
} StackProgress;

static void
stack_progress (double fraction, const char *message, gpointer user_data)
{
  StackProgress *sp = user_data;
  if (sp->func != NULL)
    sp->func ((sp->k + fraction) / sp->n, message, sp->data);
}

KilnImageStack *
kiln_bm3d_denoise_stack (const KilnImageStack *stack,
                         const KilnBm3dNoise  *noise,
                         const KilnBm3dParams *params,
                         GCancellable         *cancellable,
                         KilnProgressFunc      progress,
                         gpointer              progress_data,
                         GError              **error)
{
  g_autoptr (KilnImageStack) res = NULL;
  StackProgress sp = { progress, progress_data, 0, stack->n_tilts };

  res = kiln_image_stack_copy (stack, error);
  if (res == NULL)
    return NULL;
  for (guint k = 0; k < stack->n_tilts; k++)
    {
      sp.k = k;
      if (!kiln_bm3d_denoise (kiln_image_stack_tilt_const (stack, k), stack->width,
                              stack->height, noise, params, kiln_image_stack_tilt (res, k),
                              cancellable, stack_progress, &sp, error))
        {
          if (error != NULL && *error != NULL && (*error)->domain == KILN_ERROR)
            g_prefix_error (error, "Tilt %u: ", k);
          return NULL;
        }
    }
  kiln_report (progress, progress_data, 1.0, NULL);
  return g_steal_pointer (&res);
}

double
kiln_psnr (const float *a,
           const float *reference,
           gsize        n,
           double       peak)
{
  double mse = 0;
  if (peak <= 0)
    {
      double mn = G_MAXDOUBLE, mx = -G_MAXDOUBLE;
      for (gsize i = 0; i < n; i++)
        {
          mn = MIN (mn, reference[i]);
          mx = MAX (mx, reference[i]);
        }
      peak = mx - mn;
    }
  for (gsize i = 0; i < n; i++)
    {
      double d = (double) a[i] - reference[i];
      mse += d * d;
    }
  mse /= MAX (n, 1);
  if (mse == 0)
    return INFINITY;
  return 10.0 * log10 (peak * peak / mse);
}
