/* kiln-fft.h — FFTW (float) plan creation under one lock, aligned buffers, and the
 * one-dimensional reconstruction filters (ramp and apodised ramps) shared by back-projection,
 * weighted back-projection and tilt-axis scoring.
 *
 * FFTW's planner is not thread-safe (only fftwf_execute* is). Create and destroy every plan
 * through these wrappers (or between kiln_fft_lock/unlock); execute them anywhere with the
 * new-array execute functions (fftwf_execute_dft_r2c etc.) on buffers of the same alignment.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <fftw3.h>

G_BEGIN_DECLS

void           kiln_fft_lock              (void);
void           kiln_fft_unlock            (void);

float         *kiln_fft_alloc_real        (gsize n);
fftwf_complex *kiln_fft_alloc_complex     (gsize n);
void           kiln_fft_free              (void *p);

/* Wrappers taking the lock. Flags: FFTW_ESTIMATE unless you cache the plan. */
fftwf_plan     kiln_fft_plan_r2c_1d       (int n, float *in, fftwf_complex *out, unsigned flags);
fftwf_plan     kiln_fft_plan_c2r_1d       (int n, fftwf_complex *in, float *out, unsigned flags);
fftwf_plan     kiln_fft_plan_r2c_2d       (int n0, int n1, float *in, fftwf_complex *out,
                                           unsigned flags);
fftwf_plan     kiln_fft_plan_c2r_2d       (int n0, int n1, fftwf_complex *in, float *out,
                                           unsigned flags);
fftwf_plan     kiln_fft_plan_dft_2d       (int n0, int n1, fftwf_complex *in, fftwf_complex *out,
                                           int sign, unsigned flags);
/* howmany rows of length n, contiguous (stride 1, distance n real / n/2+1 complex). */
fftwf_plan     kiln_fft_plan_many_r2c_1d  (int n, int howmany, float *in, fftwf_complex *out,
                                           unsigned flags);
fftwf_plan     kiln_fft_plan_many_c2r_1d  (int n, int howmany, fftwf_complex *in, float *out,
                                           unsigned flags);
void           kiln_fft_destroy_plan      (fftwf_plan plan);

/* Smallest size ≥ n whose only prime factors are 2, 3, 5 and 7. */
int            kiln_fft_good_size         (int n);

typedef enum
{
  KILN_FILTER_NONE,         /* simple (unfiltered) back-projection */
  KILN_FILTER_RAMP,         /* |ω| (Ram-Lak), band-limited, from the real-space kernel */
  KILN_FILTER_SHEPP_LOGAN,  /* ramp × sinc */
  KILN_FILTER_HAMMING,      /* ramp × (0.54 + 0.46 cos) */
  KILN_FILTER_HANN,         /* ramp × (0.5 + 0.5 cos) */
  KILN_FILTER_COSINE,       /* ramp × cos */
} KilnFilter;

gboolean       kiln_filter_from_string    (const char *name, KilnFilter *filter);
const char    *kiln_filter_to_string      (KilnFilter filter);

/* The frequency response (length n_pad/2 + 1, bins 0 … Nyquist) of @filter for rows padded to
 * @n_pad, with the apodisation window reaching zero at @cutoff × Nyquist (0 < cutoff ≤ 1).
 * Built from the discrete real-space Ram-Lak kernel, so there is no DC offset error.
 * The ramp is |ω| in cycles per sample (0.25 at half Nyquist, 0.5 at Nyquist), so that a
 * filtered back-projection f(x) = Σ_θ Δθ · p_filtered(x·cosθ + z·sinθ), with Δθ the tilt step
 * in radians, reproduces the object's values (unit pixel spacing).
 * Scaled for use with an unnormalised r2c→c2r pair: includes the 1/n_pad factor.
 * KILN_FILTER_NONE gives 1/n_pad everywhere (identity). */
float         *kiln_filter_response_new   (KilnFilter filter, int n_pad, double cutoff);

/* Filter @n_rows rows of @width samples in place (zero-padded to ≥ 2·width), in parallel. */
void           kiln_filter_rows           (float *rows, guint n_rows, guint width,
                                           KilnFilter filter, double cutoff);

G_END_DECLS
