/* test-tilt-axis.c — tilt-axis search on synthetic series with a known axis, and the needle data
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <tiffio.h>

#include "kiln-test-util.h"
#include "tilt-axis-phantom.h"

/* A cluster of spheres (sintering particles) in a slab, deterministic pseudo-random layout. */
static KilnImageStack *
make_series (double axis_deg, double shift_px, guint32 seed, double noise_sigma)
{
  const guint w = 128, h = 128, n = 41;
  g_autofree double *angles = phantom_angles (-60, 3, n);   /* ±60° in 3° steps */
  PhantomSphere spheres[20];
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  KilnImageStack *stack;

  for (guint i = 0; i < G_N_ELEMENTS (spheres); i++)
    {
      spheres[i].x = g_rand_double_range (rand, -22, 22);
      spheres[i].y = g_rand_double_range (rand, -50, 50);
      spheres[i].z = g_rand_double_range (rand, -12, 12);
      spheres[i].r = g_rand_double_range (rand, 2.5, 6);
      spheres[i].density = g_rand_double_range (rand, 0.5, 1.0);
    }
  stack = phantom_project (spheres, G_N_ELEMENTS (spheres), angles, n, w, h, axis_deg,
                           shift_px);
  if (noise_sigma > 0)
    for (gsize i = 0; i < kiln_image_stack_n_pixels (stack); i++)
      {
        /* Box–Muller */
        double u1 = g_rand_double_range (rand, 1e-12, 1), u2 = g_rand_double (rand);
        stack->data[i] += (float) (noise_sigma * sqrt (-2 * log (u1)) * cos (2 * G_PI * u2));
      }
  return stack;
}

/* angular distance modulo 180° (α and α + 180° are the same axis line) */
static double
axis_distance (double a, double b)
{
  double d = fmod (a - b, 180.0);

  if (d > 90)
    d -= 180;
  if (d < -90)
    d += 180;
  return fabs (d);
}

/* shift of the same axis expressed at angle @b when it was measured at angle @a ≈ b + 180k */
static double
shift_as (double shift, double a, double b)
{
  return fabs (fmod (fabs (a - b) + 90, 360) - 90) < 90 ? shift : -shift;
}

static void
check_known_axis (double axis_deg, double shift_px, gboolean give_angle, double noise)
{
  g_autoptr(KilnImageStack) stack = make_series (axis_deg, shift_px, 7, noise);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTiltAxisResult) res = NULL;
  KilnTiltAxisParams params;

  kiln_tilt_axis_params_init (&params);
  if (give_angle)
    params.axis_angle_deg = axis_deg + 2.0;   /* a start 2° off */
  res = kiln_tilt_axis_find (stack, &params, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  g_test_message ("true %.2f° %.2f px → found %.3f° %.3f px (common line %.2f°), confidence %.3f",
                  axis_deg, shift_px, res->axis_angle_deg, res->axis_shift_px,
                  res->common_line_angle_deg, res->confidence);
  /* issue 7 tolerances: angle within 0.3°, shift within 0.5 px */
  g_assert_cmpfloat (axis_distance (res->axis_angle_deg, axis_deg), <=, 0.3);
  g_assert_cmpfloat_with_epsilon (shift_as (res->axis_shift_px, res->axis_angle_deg, axis_deg),
                                  shift_px, 0.5);
  if (!give_angle)
    /* the common-line start alone: within 1.5° */
    g_assert_cmpfloat (axis_distance (res->common_line_angle_deg, axis_deg), <=, 1.5);
  /* a sharp, informative curve: best score 1 at the found shift (within one coarse step) */
  g_assert_cmpfloat (res->confidence, >, 0.1);
  g_assert_cmpuint (res->n_curve, >=, 5);
  {
    guint ib = 0;
    for (guint j = 1; j < res->n_curve; j++)
      if (res->curve_score[j] > res->curve_score[ib])
        ib = j;
    g_assert_cmpfloat_with_epsilon (res->curve_score[ib], 1.0, 1e-9);
    g_assert_cmpfloat (fabs (res->curve_shift_px[ib] - res->axis_shift_px), <=, 1.5);
  }
}

static void
test_vertical (void)
{
  check_known_axis (-3.0, -20.0, FALSE, 0);
}

static void
test_horizontal (void)
{
  check_known_axis (93.0, 20.0, FALSE, 0);
}

static void
test_given_start (void)
{
  check_known_axis (91.7, -7.6, TRUE, 0);
}

static void
test_noisy (void)
{
  /* noise σ = 1 against sphere chords of up to ~10 */
  check_known_axis (2.0, -15.5, FALSE, 1.0);
}

static void
test_scores (void)
{
  /* the sharpness and TV scores have their minimum at the true shift (within 1 px) for a fixed,
   * true angle (L1 and entropy are offered but less precise with a limited tilt range) */
  g_autoptr(KilnImageStack) stack = make_series (0, 6, 3, 0);
  double pos[3] = { -20, 0, 20 }, shifts[25], costs[25];

  for (guint j = 0; j < 25; j++)
    shifts[j] = -6.0 + j;
  for (KilnAxisScore sc = KILN_AXIS_SCORE_SHARPNESS; sc <= KILN_AXIS_SCORE_TV; sc++)
    {
      g_autoptr(GError) error = NULL;
      guint ib = 0;

      g_assert_true (kiln_tilt_axis_cost_curve (stack, 0, pos, 3, shifts, 25, sc,
                                                KILN_FILTER_HAMMING, costs, NULL, &error));
      g_assert_no_error (error);
      for (guint j = 1; j < 25; j++)
        if (costs[j] < costs[ib])
          ib = j;
      g_test_message ("%s: best %g px", kiln_axis_score_to_string (sc), shifts[ib]);
      g_assert_cmpfloat (fabs (shifts[ib] - 6.0), <=, 1.0);
    }
}

/* The shared ETSpy needle (64 × 64, 91 tilts −90…+90°, 18 nm px), horizontal axis, unaligned
 * (drift ~4 px): read with libtiff directly so that this test does not depend on the I/O
 * branch. */
static KilnImageStack *
load_needle (void)
{
  g_autofree char *path = kiln_test_shared_path ("data/etspy-needle-haadf/stack.tif");
  g_autofree char *tlt = kiln_test_shared_path ("data/etspy-needle-haadf/angles.tlt");
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GArray) angles = g_array_new (FALSE, FALSE, sizeof (double));
  KilnImageStack *stack;
  TIFF *tif;
  guint n = 0;

  if (path == NULL || tlt == NULL)
    return NULL;
  g_assert_true (g_file_get_contents (tlt, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (*g_strstrip (lines[i]))
      {
        double a = g_ascii_strtod (lines[i], NULL);
        g_array_append_val (angles, a);
      }
  tif = TIFFOpen (path, "r");
  g_assert_nonnull (tif);
  do
    n++;
  while (TIFFReadDirectory (tif));
  g_assert_cmpuint (n, ==, angles->len);
  stack = kiln_image_stack_new (n, 64, 64, NULL);
  for (guint k = 0; k < n; k++)
    {
      guint32 w, h;
      guint16 bps;

      g_assert_true (TIFFSetDirectory (tif, k));
      TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &w);
      TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &h);
      TIFFGetField (tif, TIFFTAG_BITSPERSAMPLE, &bps);
      g_assert_cmpuint (w, ==, 64);
      g_assert_cmpuint (h, ==, 64);
      g_assert_cmpuint (bps, ==, 32);
      for (guint y = 0; y < h; y++)
        g_assert_cmpint (TIFFReadScanline (tif, kiln_image_stack_tilt (stack, k) + y * w, y, 0),
                         ==, 1);
    }
  TIFFClose (tif);
  kiln_image_stack_set_angles (stack, (double *) angles->data, n, NULL);
  return stack;
}

static void
test_needle (void)
{
  g_autoptr(KilnImageStack) stack = load_needle ();
  g_autoptr(KilnTiltAxisResult) res = NULL;
  g_autoptr(GError) error = NULL;

  if (stack == NULL)
    {
      g_test_skip ("shared needle data not found");
      return;
    }
  res = kiln_tilt_axis_find (stack, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("needle: %.3f° (common line %.3f°), shift %.3f px, confidence %.3f",
                  res->axis_angle_deg, res->common_line_angle_deg, res->axis_shift_px,
                  res->confidence);
  /* The axis is roughly horizontal. The common-line step cannot tell the needle's long axis
   * from the perpendicular direction (a cylinder projects alike along and across its axis);
   * the back-projection must pick the horizontal family: the chosen common-line angle within
   * 2° of 90°. The slope refinement then settles at ~100.7° on this unaligned series (its
   * back-projected cross-sections are visibly rounder there than at 90°, docs/tilt-axis.md),
   * so the final angle is only asserted within 12° of 90° (modulo 180°). */
  g_assert_cmpfloat (axis_distance (res->common_line_angle_deg, 90.0), <=, 2.0);
  g_assert_cmpfloat (axis_distance (res->axis_angle_deg, 90.0), <=, 12.0);
  /* the needle lies near the image centre: the shift stays within ±8 px (drift ~4 px) */
  g_assert_cmpfloat (fabs (res->axis_shift_px), <=, 8.0);
  g_assert_cmpfloat (res->confidence, >, 0.2);
}

/* The simulator (issue 4): teaching preset (128², −40…+40° in 2° steps, five 100 nm particles
 * with shells and a membrane, probe blur), its noise-free undrifted series (the pipeline denoises
 * and registers before this step), known axis offset ±20 px and angle ±3°; optionally with white
 * Gaussian noise of σ @noise (detector units; the particles stand ~150–200 above the
 * background). Issue 7 tolerances: 0.5 px and 0.3°. The band centre-of-mass trajectories
 * (docs/tilt-axis.md) find these to ≤ 0.05°/0.08 px except (3°, −20 px) of seed 1, where only
 * one particle stays in the field (0.22°/0.25 px). */
static void
check_simulated (double axis_deg, double shift_px, guint64 seed, double start_deg,
                 gboolean fix_angle, double noise)
{
  KilnTiltAxisParams params;
  KilnSimParams sp;
  KilnSimTimePoint *tp;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTiltAxisResult) res = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  double d_angle, d_shift;

  kiln_sim_params_init (&sp, KILN_SIM_PRESET_TEACHING);
  sp.seed = seed;
  sp.make_volume = FALSE;
  sp.drift_sigma_px = 0;
  sp.axis_angle_deg = axis_deg;
  sp.axis_shift_px = shift_px;
  tp = kiln_sim_time_point_new (&sp, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tp);
  stack = kiln_image_stack_copy (tp->clean, &error);
  g_assert_no_error (error);
  if (noise > 0)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed + 100);

      for (gsize i = 0; i < kiln_image_stack_n_pixels (stack); i++)
        {
          /* Box–Muller */
          double u1 = g_rand_double_range (rand, 1e-12, 1), u2 = g_rand_double (rand);
          stack->data[i] += (float) (noise * sqrt (-2 * log (u1)) * cos (2 * G_PI * u2));
        }
    }
  kiln_tilt_axis_params_init (&params);
  params.axis_angle_deg = start_deg;
  params.refine_angle = !fix_angle;
  res = kiln_tilt_axis_find (stack, &params, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  d_angle = axis_distance (res->axis_angle_deg, tp->axis_angle_deg);
  d_shift = fabs (shift_as (res->axis_shift_px, res->axis_angle_deg, tp->axis_angle_deg)
                  - tp->axis_shift_px);
  g_test_message ("simulated %.2f° %.2f px (seed %u, noise σ %g) → %.3f° %.3f px (start %.2f°), "
                  "confidence %.3f", tp->axis_angle_deg, tp->axis_shift_px, (guint) seed, noise,
                  res->axis_angle_deg, res->axis_shift_px, res->common_line_angle_deg,
                  res->confidence);
  /* issue 7: within 0.3° and 0.5 px */
  g_assert_cmpfloat (d_angle, <=, 0.3);
  g_assert_cmpfloat (d_shift, <=, 0.5);
  kiln_sim_time_point_free (tp);
}

static void
test_simulated (void)
{
  /* fully automatic, all four sign combinations of ±3°, ±20 px */
  check_simulated (3.0, 20.0, 1, NAN, FALSE, 0);
  check_simulated (-3.0, -20.0, 1, NAN, FALSE, 0);
  check_simulated (3.0, -20.0, 2, NAN, FALSE, 0);
  check_simulated (-3.0, 20.0, 2, NAN, FALSE, 0);
  /* the shift alone at the true angle */
  check_simulated (-3.0, -20.0, 2, -3.0, TRUE, 0);
}

static void
test_simulated_noisy (void)
{
  /* mildly noisy (white σ = 5 on ~150–200 of particle signal), fully automatic */
  check_simulated (3.0, 20.0, 2, NAN, FALSE, 5.0);
  check_simulated (-3.0, -20.0, 3, NAN, FALSE, 5.0);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  double one[] = { 10 };
  double same[] = { 0, 0, 0, 0 };
  double ok[] = { -30, -10, 10, 30 };
  g_autoptr(KilnImageStack) s1 = kiln_image_stack_new (1, 32, 32, NULL);
  g_autoptr(KilnImageStack) s4 = kiln_image_stack_new (4, 32, 32, NULL);
  g_autoptr(KilnImageStack) tiny = kiln_image_stack_new (4, 8, 8, NULL);
  g_autoptr(KilnImageStack) noang = kiln_image_stack_new (4, 32, 32, NULL);
  KilnTiltAxisResult *res;
  double angle;

  kiln_image_stack_set_angles (s1, one, 1, NULL);
  res = kiln_tilt_axis_find (s1, NULL, NULL, NULL, NULL, &error);
  g_assert_null (res);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "only 1 tilt"));
  g_clear_error (&error);

  kiln_image_stack_set_angles (s4, same, 4, NULL);
  res = kiln_tilt_axis_find (s4, NULL, NULL, NULL, NULL, &error);
  g_assert_null (res);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "range of tilt angles"));
  g_clear_error (&error);
  g_assert_false (kiln_tilt_axis_common_line (s4, &angle, NULL, NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);

  res = kiln_tilt_axis_find (noang, NULL, NULL, NULL, NULL, &error);
  g_assert_null (res);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);

  kiln_image_stack_set_angles (tiny, ok, 4, NULL);
  res = kiln_tilt_axis_find (tiny, NULL, NULL, NULL, NULL, &error);
  g_assert_null (res);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
}

static void
on_progress (double fraction, const char *message, gpointer user_data)
{
  double *last = user_data;

  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  *last = fraction;
}

static void
cancel_soon (double fraction, const char *message, gpointer user_data)
{
  if (fraction > 0.2)
    g_cancellable_cancel (user_data);
}

static void
test_progress_cancel (void)
{
  g_autoptr(KilnImageStack) stack = make_series (0, 4, 5, 0);
  g_autoptr(KilnImageStack) copy = kiln_image_stack_copy (stack, NULL);
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  KilnTiltAxisResult *res;
  KilnTiltAxisParams params;
  double last = -1;

  kiln_tilt_axis_params_init (&params);
  params.axis_angle_deg = 0;
  res = kiln_tilt_axis_find (stack, &params, NULL, on_progress, &last, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (last, ==, 1.0);
  kiln_tilt_axis_result_free (res);

  res = kiln_tilt_axis_find (stack, NULL, cancel, cancel_soon, cancel, &error);
  g_assert_null (res);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* input untouched */
  g_assert_cmpmem (stack->data, kiln_image_stack_n_pixels (stack) * sizeof (float), copy->data,
                   kiln_image_stack_n_pixels (copy) * sizeof (float));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tilt-axis/vertical", test_vertical);
  g_test_add_func ("/tilt-axis/horizontal", test_horizontal);
  g_test_add_func ("/tilt-axis/given-start", test_given_start);
  g_test_add_func ("/tilt-axis/noisy", test_noisy);
  g_test_add_func ("/tilt-axis/scores", test_scores);
  g_test_add_func ("/tilt-axis/needle", test_needle);
  g_test_add_func ("/tilt-axis/simulated", test_simulated);
  g_test_add_func ("/tilt-axis/simulated-noisy", test_simulated_noisy);
  g_test_add_func ("/tilt-axis/errors", test_errors);
  g_test_add_func ("/tilt-axis/progress-cancel", test_progress_cancel);
  return g_test_run ();
}
