/* test-threads.c — libkiln used from several GThreads at once, as the app's workers do
 *
 * Written for ThreadSanitizer (tools/tsan) but also part of the normal suite: each test checks
 * results against a known answer, while the threads share what libkiln shares — the memory
 * budget, the FFTW planner lock, progress callbacks and cancellation from another thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-test-util.h"

#define N_THREADS 4

/* ------------------------------------------------------------------------------------------ */
/* The memory budget: changed by one thread while others allocate                             */

typedef struct
{
  gint stop;
  gint failures;     /* wrong answers seen by a worker */
  gint ok_small;
} BudgetShared;

static gpointer
budget_worker (gpointer data)
{
  BudgetShared *s = data;

  for (guint i = 0; i < 2000 && !g_atomic_int_get (&s->stop); i++)
    {
      g_autoptr(GError) error = NULL;
      /* 64 KiB: always within both budgets the other thread switches between */
      float *small = kiln_alloc (16384, sizeof (float), i % 2, "small test buffer", &error);
      /* 1 GiB: beyond both budgets, must always be refused with a message */
      gpointer big;

      if (small == NULL)
        g_atomic_int_inc (&s->failures);
      else
        g_atomic_int_inc (&s->ok_small);
      kiln_free (small);
      g_clear_error (&error);
      big = kiln_alloc ((gsize) 1 << 28, sizeof (float), FALSE, "big test buffer", &error);
      if (big != NULL || !g_error_matches (error, KILN_ERROR, KILN_ERROR_NO_MEMORY) ||
          strstr (error->message, "big test buffer") == NULL)
        g_atomic_int_inc (&s->failures);
      kiln_free (big);
    }
  return NULL;
}

static void
test_budget (void)
{
  BudgetShared s = { 0 };
  GThread *t[N_THREADS];

  kiln_set_memory_budget (128u << 20);
  for (guint i = 0; i < N_THREADS; i++)
    t[i] = g_thread_new ("budget", budget_worker, &s);
  for (guint i = 0; i < 2000; i++)
    {
      kiln_set_memory_budget (i % 2 ? (64u << 20) : (128u << 20));
      g_assert_cmpuint (kiln_memory_budget (), <=, 128u << 20);
    }
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (t[i]);
  kiln_set_memory_budget (0);   /* back to the default */
  g_assert_cmpint (s.failures, ==, 0);
  g_assert_cmpint (s.ok_small, ==, N_THREADS * 2000);
}

/* ------------------------------------------------------------------------------------------ */
/* FFTW plans made and destroyed from several threads (the planner is not thread-safe: the     */
/* kiln-fft wrappers serialise it)                                                            */

typedef struct
{
  guint n;          /* transform size, different per thread */
  gint  failures;
} FftJob;

static gpointer
fft_worker (gpointer data)
{
  FftJob *job = data;
  const guint n = job->n, nh = n / 2 + 1;

  for (guint rep = 0; rep < 40; rep++)
    {
      float *in = kiln_fft_alloc_real ((gsize) n * n);
      fftwf_complex *out = kiln_fft_alloc_complex ((gsize) n * nh);
      fftwf_plan plan = kiln_fft_plan_r2c_2d ((int) n, (int) n, in, out, FFTW_ESTIMATE);
      const guint kx = 1 + rep % 3, ky = 2;

      /* cos(2π(kx x + ky y)/n): the spectrum is n²/2 at (ky, kx) and ~0 elsewhere */
      for (guint y = 0; y < n; y++)
        for (guint x = 0; x < n; x++)
          in[(gsize) y * n + x] = (float) cos (2 * G_PI * (kx * x + ky * y) / n);
      fftwf_execute (plan);
      for (guint y = 0; y < n; y++)
        for (guint x = 0; x < nh; x++)
          {
            double re = out[(gsize) y * nh + x][0], im = out[(gsize) y * nh + x][1];
            double expect = (y == ky && x == kx) ? n * n / 2.0 : 0.0;
            /* float FFT of an n² signal: error ≲ 1e-4 · n² */
            if (fabs (re - expect) > 1e-4 * n * n || fabs (im) > 1e-4 * n * n)
              g_atomic_int_inc (&job->failures);
          }
      kiln_fft_destroy_plan (plan);
      kiln_fft_free (in);
      kiln_fft_free (out);
    }
  return NULL;
}

static void
test_fft_plans (void)
{
  FftJob jobs[N_THREADS];
  GThread *t[N_THREADS];

  for (guint i = 0; i < N_THREADS; i++)
    {
      jobs[i].n = 16 + 8 * i;
      jobs[i].failures = 0;
      t[i] = g_thread_new ("fft", fft_worker, &jobs[i]);
    }
  for (guint i = 0; i < N_THREADS; i++)
    {
      g_thread_join (t[i]);
      g_assert_cmpint (jobs[i].failures, ==, 0);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Reconstructions in worker threads: progress, concurrency, cancellation from another thread */

#define SZ 48
#define NT 31

/* A centred disc of radius 10 px in every slice, projected analytically (chord length). */
static KilnImageStack *
disc_stack (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageStack *s = kiln_image_stack_new (NT, SZ, SZ, &error);
  g_autofree double *angles = g_new (double, NT);
  const double r = 10, x0 = 0, z0 = 0;   /* centred: no sign convention involved */

  g_assert_no_error (error);
  for (guint k = 0; k < NT; k++)
    {
      double t = (-90.0 + 180.0 * (k + 0.5) / NT) * G_PI / 180.0;   /* full range: no wedge */
      /* the centre's coordinate along the detector: x cos t + z sin t */
      double c = x0 * cos (t) + z0 * sin (t);
      angles[k] = t * 180.0 / G_PI;
      for (guint y = 0; y < SZ; y++)
        for (guint u = 0; u < SZ; u++)
          {
            double d = (u + 0.5 - SZ / 2.0) - c;
            s->data[((gsize) k * SZ + y) * SZ + u] = d * d < r * r ? (float) (2 * sqrt (r * r - d * d)) : 0.0f;
          }
    }
  g_assert_true (kiln_image_stack_set_angles (s, angles, NT, &error));
  s->pixel_size_nm = 1;
  return s;
}

typedef struct
{
  const KilnImageStack *stack;
  KilnReconMethod       method;
  guint                 iterations;
  GCancellable         *cancellable;
  gint                  n_progress;
  gint                  bad_progress;   /* fraction outside [0, 1] or going back */
  double                last_fraction;
  KilnVolume           *volume;
  GError               *error;
} ReconJob;

static void
recon_progress (double      fraction,
                const char *message,
                gpointer    data)
{
  ReconJob *job = data;

  /* called in the worker thread */
  if (!(fraction >= 0.0 && fraction <= 1.0 + 1e-9) || fraction < job->last_fraction - 1e-9)
    g_atomic_int_inc (&job->bad_progress);
  job->last_fraction = fraction;
  g_atomic_int_inc (&job->n_progress);
  (void) message;
}

static gpointer
recon_worker (gpointer data)
{
  ReconJob *job = data;
  KilnReconParams p;

  kiln_reconstruct_params_init (&p);
  p.method = job->method;
  p.iterations = job->iterations;
  p.thickness = SZ;
  p.keep_on_cancel = FALSE;   /* cancelled: an error, not the last iterate */
  job->last_fraction = 0;
  job->volume = kiln_reconstruct (job->stack, &p, NULL, job->cancellable, recon_progress, job,
                                  &job->error);
  return NULL;
}

/* Mean over the disc (r < 8 px, away from the edge) in the middle slice: the disc's value 1. */
static double
disc_mean (const KilnVolume *v)
{
  double sum = 0;
  guint n = 0, y = v->ny / 2;

  for (guint z = 0; z < v->nz; z++)
    for (guint x = 0; x < v->nx; x++)
      {
        double dx = x + 0.5 - v->nx / 2.0, dz = z + 0.5 - v->nz / 2.0;
        if (dx * dx + dz * dz < 64)
          {
            sum += v->data[((gsize) z * v->ny + y) * v->nx + x];
            n++;
          }
      }
  g_assert_cmpuint (n, >, 100);
  return sum / n;
}

static void
test_concurrent_reconstructions (void)
{
  g_autoptr(KilnImageStack) stack = disc_stack ();
  g_autoptr(KilnImageStack) before = kiln_image_stack_copy (stack, NULL);
  ReconJob jobs[3] = {
    { stack, KILN_RECON_WBP, 0 },
    { stack, KILN_RECON_SIRT, 20 },
    { stack, KILN_RECON_WBP, 0 },
  };
  GThread *t[3];

  for (guint i = 0; i < 3; i++)
    t[i] = g_thread_new ("recon", recon_worker, &jobs[i]);
  for (guint i = 0; i < 3; i++)
    {
      double mean;

      g_thread_join (t[i]);
      g_assert_no_error (jobs[i].error);
      g_assert_nonnull (jobs[i].volume);
      g_assert_cmpint (jobs[i].bad_progress, ==, 0);
      g_assert_cmpint (jobs[i].n_progress, >, 0);
      /* the disc's density is 1; 31 tilts over 180° and 20 SIRT iterations: within 0.05 */
      mean = disc_mean (jobs[i].volume);
      g_test_message ("job %u: disc mean %.4f", i, mean);
      g_assert_cmpfloat_with_epsilon (mean, 1.0, 0.05);
    }
  /* the two WBP runs, made at the same time, agree to rounding (float sums: 1e-5 relative) */
  for (gsize i = 0; i < kiln_volume_n_voxels (jobs[0].volume); i++)
    g_assert_cmpfloat_with_epsilon (jobs[0].volume->data[i], jobs[2].volume->data[i],
                                    1e-5 * (1 + fabs (jobs[0].volume->data[i])));
  /* the shared input was only read */
  g_assert_cmpmem (stack->data, kiln_image_stack_n_pixels (stack) * sizeof (float),
                   before->data, kiln_image_stack_n_pixels (before) * sizeof (float));
  for (guint i = 0; i < 3; i++)
    kiln_volume_unref (jobs[i].volume);
}

static void
test_cancel_from_thread (void)
{
  g_autoptr(KilnImageStack) stack = disc_stack ();
  g_autoptr(KilnImageStack) before = kiln_image_stack_copy (stack, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  ReconJob job = { stack, KILN_RECON_SIRT, 100000, cancellable };
  GThread *t;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  t = g_thread_new ("recon", recon_worker, &job);
  /* wait for the worker to be well under way, then cancel from this thread */
  while (g_atomic_int_get (&job.n_progress) < 3 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_cancellable_cancel (cancellable);
  g_thread_join (t);
  g_assert_null (job.volume);
  g_assert_error (job.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&job.error);
  g_assert_cmpint (job.bad_progress, ==, 0);
  g_assert_cmpmem (stack->data, kiln_image_stack_n_pixels (stack) * sizeof (float),
                   before->data, kiln_image_stack_n_pixels (before) * sizeof (float));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/threads/memory-budget", test_budget);
  g_test_add_func ("/threads/fft-plans", test_fft_plans);
  g_test_add_func ("/threads/concurrent-reconstructions", test_concurrent_reconstructions);
  g_test_add_func ("/threads/cancel-from-thread", test_cancel_from_thread);
  return g_test_run ();
}
