/* kiln-noise.c — stationary correlated noise models (BM3D "experiment" kernels)
 *
 * Re-specification (algorithms.md §1.3–1.4), written from the mathematics:
 *   white   k = [1]
 *   g1      1 × 31 row, k[j] = 16 − |j − 16|, j = 1…31 (correlated along rows)
 *   g2      cos(√(u²+v²)) · G(u,v) on 101 × 101, G = Gaussian (std 10) normalised to unit sum
 *   g3      cos(u + v) · G(u,v) on 101 × 101
 *   g4      zero-phase kernel with amplitude spectrum √(r0 / (r + r0)), r0 = 0.01·√(W·H),
 *           at the image size
 *   g*w     unit-norm kernel mixed with white: |K_a|² = 0.2 + 0.8·|K|² (β = 0.8)
 * then k ← k · √variance / ‖k‖₂ so Σk² = variance.
 *
 * Deviations from the Python demo code (documented in docs/denoise.md):
 *   - kernels are built W × H (no numpy meshgrid transpose quirk for non-square images);
 *   - the PSD of a kernel larger than the image is computed by folding (aliasing) the kernel
 *     onto the image grid, i.e. the exact PSD of the circulant noise, instead of cropping the
 *     kernel's first rows/columns;
 *   - the random stream is our own (xoshiro256** seeded by splitmix64, Box–Muller), not
 *     NumPy's MT19937.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-noise.h"
#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-fft.h"

#define G_SUPPORT 101
#define BETA_W    0.8

static const char *kind_names[] = {
  "white", "g1", "g2", "g3", "g4", "g1w", "g2w", "g3w", "g4w",
};

gboolean
kiln_noise_kind_from_string (const char    *name,
                             KilnNoiseKind *kind)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (g_ascii_strcasecmp (name, kind_names[i]) == 0)
      {
        *kind = (KilnNoiseKind) i;
        return TRUE;
      }
  if (g_ascii_strcasecmp (name, "gw") == 0 || g_ascii_strcasecmp (name, "g0") == 0)
    {
      *kind = KILN_NOISE_WHITE;
      return TRUE;
    }
  return FALSE;
}

const char *
kiln_noise_kind_to_string (KilnNoiseKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_names))
    return "unknown";
  return kind_names[kind];
}

static gboolean
check_args (KilnNoiseKind kind,
            guint         width,
            guint         height,
            double        variance,
            GError      **error)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_names))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Unknown noise model %d", (int) kind);
      return FALSE;
    }
  if (width == 0 || height == 0 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Noise model: image size %u × %u is out of range (1 … %u)",
                   width, height, (guint) KILN_MAX_EXTENT);
      return FALSE;
    }
  if (!isfinite (variance) || variance < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Noise model: the variance must be finite and ≥ 0 (got %g)", variance);
      return FALSE;
    }
  return TRUE;
}

/* Signed DFT frequency index of bin i on an n-point grid after ifftshift of a centred
 * coordinate range −floor(n/2) … ceil(n/2)−1. */
static inline int
signed_freq (int i, int n)
{
  return i < (n + 1) / 2 ? i : i - n;
}

/* Inverse DFT (real part) of a real, even spectrum spec (h × w, DC at [0]) into a centred
 * kernel (DC of the output moved to (floor(h/2), floor(w/2)), i.e. fftshift). */
static gboolean
real_even_spectrum_to_kernel (const double *spec,
                              int           w,
                              int           h,
                              float        *kernel,
                              GError      **error)
{
  gsize n = (gsize) w * h;
  fftwf_complex *buf = kiln_fft_alloc_complex (n);
  fftwf_plan plan;

  if (buf == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Noise model: cannot allocate a %d × %d FFT buffer", w, h);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      buf[i][0] = (float) spec[i];
      buf[i][1] = 0.0f;
    }
  plan = kiln_fft_plan_dft_2d (h, w, buf, buf, FFTW_BACKWARD, FFTW_ESTIMATE);
  fftwf_execute (plan);
  kiln_fft_destroy_plan (plan);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int ty = (y + h / 2) % h, tx = (x + w / 2) % w;
        kernel[(gsize) ty * w + tx] = buf[(gsize) y * w + x][0] / (float) n;
      }
  kiln_fft_free (buf);
  return TRUE;
}

/* |DFT_{w×h}(k)|² of a kernel kw × kh folded (aliased) onto the w × h grid with its centre
 * (floor(kh/2), floor(kw/2)) at the origin. Result in out (h × w doubles, DC at [0]). */
static gboolean
kernel_power_spectrum (const float *k,
                       guint        kw,
                       guint        kh,
                       guint        w,
                       guint        h,
                       double      *out,
                       GError     **error)
{
  gsize n = (gsize) w * h;
  fftwf_complex *buf = kiln_fft_alloc_complex (n);
  fftwf_plan plan;

  if (buf == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Noise model: cannot allocate a %u × %u FFT buffer", w, h);
      return FALSE;
    }
  memset (buf, 0, n * sizeof (fftwf_complex));
  for (guint y = 0; y < kh; y++)
    for (guint x = 0; x < kw; x++)
      {
        gint64 dy = (gint64) y - kh / 2, dx = (gint64) x - kw / 2;
        gint64 ty = ((dy % h) + h) % h, tx = ((dx % w) + w) % w;
        buf[ty * w + tx][0] += k[(gsize) y * kw + x];
      }
  plan = kiln_fft_plan_dft_2d ((int) h, (int) w, buf, buf, FFTW_FORWARD, FFTW_ESTIMATE);
  fftwf_execute (plan);
  kiln_fft_destroy_plan (plan);
  for (gsize i = 0; i < n; i++)
    out[i] = (double) buf[i][0] * buf[i][0] + (double) buf[i][1] * buf[i][1];
  kiln_fft_free (buf);
  return TRUE;
}

static void
gaussian_1d (double *g, int n, double std)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    {
      double t = i - (n - 1) / 2.0;
      g[i] = exp (-0.5 * t * t / (std * std));
      s += g[i];
    }
  for (int i = 0; i < n; i++)
    g[i] /= s;
}

float *
kiln_noise_kernel_new (KilnNoiseKind   kind,
                       guint           width,
                       guint           height,
                       double          variance,
                       guint          *kw,
                       guint          *kh,
                       GError        **error)
{
  guint w = 1, h = 1;
  float *k = NULL;
  gboolean white_mix = FALSE;
  KilnNoiseKind base = kind;
  double norm2 = 0;

  if (!check_args (kind, width, height, variance, error))
    return NULL;

  switch (kind)
    {
    case KILN_NOISE_G1W: base = KILN_NOISE_G1; white_mix = TRUE; break;
    case KILN_NOISE_G2W: base = KILN_NOISE_G2; white_mix = TRUE; break;
    case KILN_NOISE_G3W: base = KILN_NOISE_G3; white_mix = TRUE; break;
    case KILN_NOISE_G4W: base = KILN_NOISE_G4; white_mix = TRUE; break;
    default: break;
    }

  switch (base)
    {
    case KILN_NOISE_WHITE:
      w = h = 1;
      k = g_new (float, 1);
      k[0] = 1.0f;
      break;
    case KILN_NOISE_G1:
      w = 31;
      h = 1;
      k = g_new (float, 31);
      for (int j = 1; j <= 31; j++)
        k[j - 1] = (float) (16 - ABS (j - 16));
      break;
    case KILN_NOISE_G2:
    case KILN_NOISE_G3:
      {
        double g[G_SUPPORT];
        w = h = G_SUPPORT;
        k = g_new (float, G_SUPPORT * G_SUPPORT);
        gaussian_1d (g, G_SUPPORT, 10.0);
        for (int y = 0; y < G_SUPPORT; y++)
          for (int x = 0; x < G_SUPPORT; x++)
            {
              double u = x - G_SUPPORT / 2, v = y - G_SUPPORT / 2;
              double c = base == KILN_NOISE_G2 ? cos (sqrt (u * u + v * v)) : cos (u + v);
              k[y * G_SUPPORT + x] = (float) (c * g[x] * g[y]);
            }
      }
      break;
    case KILN_NOISE_G4:
      {
        gsize n;
        double *spec;
        double r0 = 0.01 * sqrt ((double) width * height);

        w = width;
        h = height;
        n = (gsize) w * h;
        spec = kiln_alloc (n, sizeof (double), FALSE, "g4 noise spectrum", error);
        if (spec == NULL)
          return NULL;
        k = kiln_alloc (n, sizeof (float), FALSE, "g4 noise kernel", error);
        if (k == NULL)
          {
            kiln_free (spec);
            return NULL;
          }
        for (guint y = 0; y < h; y++)
          for (guint x = 0; x < w; x++)
            {
              double fu = signed_freq (x, w), fv = signed_freq (y, h);
              double r = sqrt (fu * fu + fv * fv);
              spec[(gsize) y * w + x] = sqrt (r0 / (r + r0));
            }
        if (!real_even_spectrum_to_kernel (spec, w, h, k, error))
          {
            kiln_free (spec);
            kiln_free (k);
            return NULL;
          }
        kiln_free (spec);
        /* move to a g_malloc'd buffer: the contract says g_free */
        {
          float *kk = g_try_new (float, n);
          if (kk == NULL)
            {
              kiln_free (k);
              g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                           "Noise model: cannot allocate a %u × %u kernel", w, h);
              return NULL;
            }
          memcpy (kk, k, n * sizeof (float));
          kiln_free (k);
          k = kk;
        }
      }
      break;
    default:
      g_assert_not_reached ();
    }

  if (white_mix)
    {
      /* Unit-norm kernel, |K_a|² = (1 − β) + β|K|² on the support grid (101² or the image). */
      guint sw = base == KILN_NOISE_G4 ? width : G_SUPPORT;
      guint sh = base == KILN_NOISE_G4 ? height : G_SUPPORT;
      gsize n = (gsize) sw * sh;
      double *ps = kiln_alloc (n, sizeof (double), FALSE, "noise spectrum", error);
      float *ka;
      double nn = 0;

      if (ps == NULL)
        {
          g_free (k);
          return NULL;
        }
      for (gsize i = 0; i < (gsize) w * h; i++)
        nn += (double) k[i] * k[i];
      nn = sqrt (nn);
      for (gsize i = 0; i < (gsize) w * h; i++)
        k[i] = (float) (k[i] / nn);
      if (!kernel_power_spectrum (k, w, h, sw, sh, ps, error))
        {
          kiln_free (ps);
          g_free (k);
          return NULL;
        }
      for (gsize i = 0; i < n; i++)
        ps[i] = sqrt ((1.0 - BETA_W) + BETA_W * ps[i]);
      ka = g_try_new (float, n);
      if (ka == NULL)
        {
          kiln_free (ps);
          g_free (k);
          g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                       "Noise model: cannot allocate a %u × %u kernel", sw, sh);
          return NULL;
        }
      if (!real_even_spectrum_to_kernel (ps, sw, sh, ka, error))
        {
          kiln_free (ps);
          g_free (k);
          g_free (ka);
          return NULL;
        }
      kiln_free (ps);
      g_free (k);
      k = ka;
      w = sw;
      h = sh;
    }

  for (gsize i = 0; i < (gsize) w * h; i++)
    norm2 += (double) k[i] * k[i];
  if (norm2 > 0)
    {
      double s = sqrt (variance / norm2);
      for (gsize i = 0; i < (gsize) w * h; i++)
        k[i] = (float) (k[i] * s);
    }
  if (kw != NULL)
    *kw = w;
  if (kh != NULL)
    *kh = h;
  return k;
}

float *
kiln_noise_psd_new (KilnNoiseKind   kind,
                    guint           width,
                    guint           height,
                    double          variance,
                    GError        **error)
{
  guint kw, kh;
  g_autofree float *k = NULL;
  gsize n;
  double *ps;
  float *psd;

  k = kiln_noise_kernel_new (kind, width, height, variance, &kw, &kh, error);
  if (k == NULL)
    return NULL;
  n = (gsize) width * height;
  ps = kiln_alloc (n, sizeof (double), FALSE, "noise PSD", error);
  if (ps == NULL)
    return NULL;
  if (!kernel_power_spectrum (k, kw, kh, width, height, ps, error))
    {
      kiln_free (ps);
      return NULL;
    }
  psd = g_try_new (float, n);
  if (psd == NULL)
    {
      kiln_free (ps);
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Noise model: cannot allocate a %u × %u PSD", width, height);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    psd[i] = (float) (ps[i] * (double) n);
  kiln_free (ps);
  return psd;
}

/* xoshiro256** seeded with splitmix64; Box–Muller normal deviates. */
typedef struct
{
  guint64 s[4];
} Rng;

static inline guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline guint64
rng_next (Rng *r)
{
  guint64 result = rotl (r->s[1] * 5, 7) * 9;
  guint64 t = r->s[1] << 17;
  r->s[2] ^= r->s[0];
  r->s[3] ^= r->s[1];
  r->s[1] ^= r->s[2];
  r->s[0] ^= r->s[3];
  r->s[2] ^= t;
  r->s[3] = rotl (r->s[3], 45);
  return result;
}

static inline double
rng_uniform (Rng *r)
{
  /* (0, 1]: never 0, so log() is finite */
  return ((rng_next (r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static void
fill_normal (float *out, gsize n, guint64 seed)
{
  Rng r;
  guint64 x = seed;
  for (int i = 0; i < 4; i++)
    r.s[i] = splitmix64 (&x);
  for (gsize i = 0; i < n; i += 2)
    {
      double u1 = rng_uniform (&r), u2 = rng_uniform (&r);
      double rad = sqrt (-2.0 * log (u1));
      out[i] = (float) (rad * cos (2 * G_PI * u2));
      if (i + 1 < n)
        out[i + 1] = (float) (rad * sin (2 * G_PI * u2));
    }
}

gboolean
kiln_noise_realize (KilnNoiseKind   kind,
                    guint           width,
                    guint           height,
                    double          variance,
                    guint64         seed,
                    float          *out,
                    GError        **error)
{
  guint kw, kh;
  g_autofree float *k = NULL;
  guint hw, hh, fw, fh;
  int pw, ph, pwc;
  gsize np, npc;
  float *field = NULL, *kpad = NULL;
  fftwf_complex *ff = NULL, *kf = NULL;
  fftwf_plan fwd, inv;
  float *white;

  g_return_val_if_fail (out != NULL, FALSE);

  k = kiln_noise_kernel_new (kind, width, height, variance, &kw, &kh, error);
  if (k == NULL)
    return FALSE;

  if (kw == 1 && kh == 1)
    {
      fill_normal (out, (gsize) width * height, seed);
      for (gsize i = 0; i < (gsize) width * height; i++)
        out[i] *= k[0];
      return TRUE;
    }

  /* White field (H + 2hh) × (W + 2hw), linear 'same' convolution with k, crop h.  A circular
   * convolution of size ≥ field size gives the same values at the kept outputs, because
   * each kept output needs field samples at offsets [kh/2+hh−kh+1 … ] ⊂ [0, field). */
  hw = (kw + 1) / 2;
  hh = (kh + 1) / 2;
  fw = width + 2 * hw;
  fh = height + 2 * hh;
  pw = kiln_fft_good_size ((int) fw);
  ph = kiln_fft_good_size ((int) fh);
  pwc = pw / 2 + 1;
  np = (gsize) pw * ph;
  npc = (gsize) pwc * ph;

  white = kiln_alloc ((gsize) fw * fh, sizeof (float), FALSE, "white noise field", error);
  if (white == NULL)
    return FALSE;
  field = kiln_fft_alloc_real (np);
  kpad = kiln_fft_alloc_real (np);
  ff = kiln_fft_alloc_complex (npc);
  kf = kiln_fft_alloc_complex (npc);
  if (field == NULL || kpad == NULL || ff == NULL || kf == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Noise model: cannot allocate FFT buffers of %d × %d", pw, ph);
      kiln_free (white);
      kiln_fft_free (field);
      kiln_fft_free (kpad);
      kiln_fft_free (ff);
      kiln_fft_free (kf);
      return FALSE;
    }
  fill_normal (white, (gsize) fw * fh, seed);
  memset (field, 0, np * sizeof (float));
  memset (kpad, 0, np * sizeof (float));
  for (guint y = 0; y < fh; y++)
    memcpy (field + (gsize) y * pw, white + (gsize) y * fw, fw * sizeof (float));
  kiln_free (white);
  for (guint y = 0; y < kh; y++)
    memcpy (kpad + (gsize) y * pw, k + (gsize) y * kw, kw * sizeof (float));

  fwd = kiln_fft_plan_r2c_2d (ph, pw, field, ff, FFTW_ESTIMATE);
  inv = kiln_fft_plan_c2r_2d (ph, pw, ff, field, FFTW_ESTIMATE);
  fftwf_execute_dft_r2c (fwd, field, ff);
  fftwf_execute_dft_r2c (fwd, kpad, kf);
  for (gsize i = 0; i < npc; i++)
    {
      float re = ff[i][0] * kf[i][0] - ff[i][1] * kf[i][1];
      float im = ff[i][0] * kf[i][1] + ff[i][1] * kf[i][0];
      ff[i][0] = re / (float) np;
      ff[i][1] = im / (float) np;
    }
  fftwf_execute_dft_c2r (inv, ff, field);
  kiln_fft_destroy_plan (fwd);
  kiln_fft_destroy_plan (inv);

  /* 'same' output index (y + kh/2) of the full convolution, then crop hh: full index
   * y + hh + kh/2 for output row y (likewise columns). */
  for (guint y = 0; y < height; y++)
    {
      const float *src = field + (gsize) (y + hh + kh / 2) * pw + hw + kw / 2;
      memcpy (out + (gsize) y * width, src, width * sizeof (float));
    }
  kiln_fft_free (field);
  kiln_fft_free (kpad);
  kiln_fft_free (ff);
  kiln_fft_free (kf);
  return TRUE;
}
