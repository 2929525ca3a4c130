/* kiln-fft.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "kiln-fft.h"

/* A pthread mutex rather than a GMutex: same semantics, but ThreadSanitizer sees it (GLib's
 * futex-based GMutex is invisible to an uninstrumented GLib), so tools/tsan can check that every
 * planner call is serialised. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

void
kiln_fft_lock (void)
{
  pthread_mutex_lock (&planner_lock);
}

void
kiln_fft_unlock (void)
{
  pthread_mutex_unlock (&planner_lock);
}

float *
kiln_fft_alloc_real (gsize n)
{
  return fftwf_alloc_real (MAX (n, 1));
}

fftwf_complex *
kiln_fft_alloc_complex (gsize n)
{
  return fftwf_alloc_complex (MAX (n, 1));
}

void
kiln_fft_free (void *p)
{
  if (p != NULL)
    fftwf_free (p);
}

fftwf_plan
kiln_fft_plan_r2c_1d (int n, float *in, fftwf_complex *out, unsigned flags)
{
  fftwf_plan p;
  kiln_fft_lock ();
  p = fftwf_plan_dft_r2c_1d (n, in, out, flags);
  kiln_fft_unlock ();
  return p;
}

fftwf_plan
kiln_fft_plan_c2r_1d (int n, fftwf_complex *in, float *out, unsigned flags)
{
  fftwf_plan p;
  kiln_fft_lock ();
  p = fftwf_plan_dft_c2r_1d (n, in, out, flags);
  kiln_fft_unlock ();
  return p;
}

fftwf_plan
kiln_fft_plan_r2c_2d (int n0, int n1, float *in, fftwf_complex *out, unsigned flags)
{
  fftwf_plan p;
  kiln_fft_lock ();
  p = fftwf_plan_dft_r2c_2d (n0, n1, in, out, flags);
  kiln_fft_unlock ();
  return p;
}

fftwf_plan
kiln_fft_plan_c2r_2d (int n0, int n1, fftwf_complex *in, float *out, unsigned flags)
{
  fftwf_plan p;
  kiln_fft_lock ();
  p = fftwf_plan_dft_c2r_2d (n0, n1, in, out, flags);
  kiln_fft_unlock ();
  return p;
}

fftwf_plan
kiln_fft_plan_dft_2d (int n0, int n1, fftwf_complex *in, fftwf_complex *out, int sign,
                      unsigned flags)
{
  fftwf_plan p;
  kiln_fft_lock ();
  p = fftwf_plan_dft_2d (n0, n1, in, out, sign, flags);
  kiln_fft_unlock ();
  return p;
}

fftwf_plan
kiln_fft_plan_many_r2c_1d (int n, int howmany, float *in, fftwf_complex *out, unsigned flags)
{
  fftwf_plan p;
  int nh = n / 2 + 1;
  kiln_fft_lock ();
  p = fftwf_plan_many_dft_r2c (1, &n, howmany, in, NULL, 1, n, out, NULL, 1, nh, flags);
  kiln_fft_unlock ();
  return p;
}

fftwf_plan
kiln_fft_plan_many_c2r_1d (int n, int howmany, fftwf_complex *in, float *out, unsigned flags)
{
  fftwf_plan p;
  int nh = n / 2 + 1;
  kiln_fft_lock ();
  p = fftwf_plan_many_dft_c2r (1, &n, howmany, in, NULL, 1, nh, out, NULL, 1, n, flags);
  kiln_fft_unlock ();
  return p;
}

void
kiln_fft_destroy_plan (fftwf_plan plan)
{
  if (plan == NULL)
    return;
  kiln_fft_lock ();
  fftwf_destroy_plan (plan);
  kiln_fft_unlock ();
}

int
kiln_fft_good_size (int n)
{
  for (int m = MAX (n, 1);; m++)
    {
      int r = m;
      while (r % 2 == 0) r /= 2;
      while (r % 3 == 0) r /= 3;
      while (r % 5 == 0) r /= 5;
      while (r % 7 == 0) r /= 7;
      if (r == 1)
        return m;
    }
}

static const struct { KilnFilter f; const char *name; } filter_names[] = {
  { KILN_FILTER_NONE, "none" },
  { KILN_FILTER_RAMP, "ramp" },
  { KILN_FILTER_SHEPP_LOGAN, "shepp-logan" },
  { KILN_FILTER_HAMMING, "hamming" },
  { KILN_FILTER_HANN, "hann" },
  { KILN_FILTER_COSINE, "cosine" },
};

gboolean
kiln_filter_from_string (const char *name, KilnFilter *filter)
{
  for (guint i = 0; i < G_N_ELEMENTS (filter_names); i++)
    if (g_ascii_strcasecmp (name, filter_names[i].name) == 0)
      {
        *filter = filter_names[i].f;
        return TRUE;
      }
  return FALSE;
}

const char *
kiln_filter_to_string (KilnFilter filter)
{
  for (guint i = 0; i < G_N_ELEMENTS (filter_names); i++)
    if (filter_names[i].f == filter)
      return filter_names[i].name;
  return "unknown";
}

float *
kiln_filter_response_new (KilnFilter filter, int n_pad, double cutoff)
{
  int nh = n_pad / 2 + 1;
  float *resp = g_new (float, nh);
  float *kernel;
  fftwf_complex *spec;
  fftwf_plan plan;

  if (cutoff <= 0.0 || cutoff > 1.0)
    cutoff = 1.0;

  if (filter == KILN_FILTER_NONE)
    {
      for (int k = 0; k < nh; k++)
        resp[k] = 1.0f / n_pad;
      return resp;
    }

  /* Discrete Ram-Lak kernel (Kak & Slaney eq. 3.61, unit sample spacing):
   * h(0) = 1/4, h(n odd) = −1/(π n)², h(n even) = 0; its DFT is the ramp without the DC
   * error of a sampled |ω|. */
  kernel = kiln_fft_alloc_real (n_pad);
  spec = kiln_fft_alloc_complex (nh);
  memset (kernel, 0, sizeof (float) * n_pad);
  kernel[0] = 0.25f;
  for (int n = 1; n <= n_pad / 2; n++)
    if (n % 2 == 1)
      {
        float v = (float) (-1.0 / (G_PI * G_PI * (double) n * n));
        kernel[n] = v;
        if (n_pad - n != n)
          kernel[n_pad - n] = v;
      }
  plan = kiln_fft_plan_r2c_1d (n_pad, kernel, spec, FFTW_ESTIMATE);
  fftwf_execute (plan);
  kiln_fft_destroy_plan (plan);

  for (int k = 0; k < nh; k++)
    {
      double ramp = spec[k][0];   /* real and even: |ω| in cycles/sample, 0.5 at Nyquist */
      double w = (double) k / (nh - 1);  /* 0 … 1 of Nyquist */
      double x = w / cutoff;
      double apod = 1.0;

      if (x > 1.0)
        apod = 0.0;
      else
        switch (filter)
          {
          case KILN_FILTER_SHEPP_LOGAN:
            apod = x > 0 ? sin (G_PI_2 * x) / (G_PI_2 * x) : 1.0;
            break;
          case KILN_FILTER_HAMMING:
            apod = 0.54 + 0.46 * cos (G_PI * x);
            break;
          case KILN_FILTER_HANN:
            apod = 0.5 + 0.5 * cos (G_PI * x);
            break;
          case KILN_FILTER_COSINE:
            apod = cos (G_PI_2 * x);
            break;
          case KILN_FILTER_RAMP:
          case KILN_FILTER_NONE:
          default:
            break;
          }
      resp[k] = (float) (ramp * apod / n_pad);
    }
  kiln_fft_free (kernel);
  kiln_fft_free (spec);
  return resp;
}

void
kiln_filter_rows (float *rows, guint n_rows, guint width, KilnFilter filter, double cutoff)
{
  int n_pad = kiln_fft_good_size (2 * (int) width);
  int nh = n_pad / 2 + 1;
  g_autofree float *resp = NULL;
  float *probe_in;
  fftwf_complex *probe_out;
  fftwf_plan fwd, inv;

  if (filter == KILN_FILTER_NONE || n_rows == 0)
    return;

  resp = kiln_filter_response_new (filter, n_pad, cutoff);
  probe_in = kiln_fft_alloc_real (n_pad);
  probe_out = kiln_fft_alloc_complex (nh);
  fwd = kiln_fft_plan_r2c_1d (n_pad, probe_in, probe_out, FFTW_ESTIMATE);
  inv = kiln_fft_plan_c2r_1d (n_pad, probe_out, probe_in, FFTW_ESTIMATE);

#pragma omp parallel
  {
    float *buf = kiln_fft_alloc_real (n_pad);
    fftwf_complex *spec = kiln_fft_alloc_complex (nh);

#pragma omp for schedule(static)
    for (gint64 r = 0; r < (gint64) n_rows; r++)
      {
        float *row = rows + (gsize) r * width;
        float left = row[0], right = row[width - 1];

        /* pad by replicating the edges half-way each side, to limit truncation artefacts */
        memcpy (buf, row, sizeof (float) * width);
        for (int i = (int) width; i < n_pad; i++)
          buf[i] = (i - (int) width) < (n_pad - (int) width) / 2 ? right : left;
        fftwf_execute_dft_r2c (fwd, buf, spec);
        for (int k = 0; k < nh; k++)
          {
            spec[k][0] *= resp[k];
            spec[k][1] *= resp[k];
          }
        fftwf_execute_dft_c2r (inv, spec, buf);
        memcpy (row, buf, sizeof (float) * width);
      }
    kiln_fft_free (buf);
    kiln_fft_free (spec);
  }

  kiln_fft_destroy_plan (fwd);
  kiln_fft_destroy_plan (inv);
  kiln_fft_free (probe_in);
  kiln_fft_free (probe_out);
}
