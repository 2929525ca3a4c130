/* bench-app-preview.c — the live previews' latency on the teaching experiment: the time from
 * the last movement of a control until its preview is on screen (the debounce, the worker and
 * the next painted frame), for the Denoise ROI preview (variance), the Tilt axis back-projected
 * slices (shift) and the Segment label overlay (threshold). A "drag" is five control changes
 * 30 ms apart; the clock starts at the last one. Prints a table with median, min and max of
 * the runs. Needs a display: run it under `xvfb-run -a`.
 *
 *   xvfb-run -a build/bench/bench-app-preview [RUNS]      (default 7 runs per preview)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>

#include "kiln-denoise-panel.h"
#include "kiln-document.h"
#include "kiln-segment-panel.h"
#include "kiln-tilt-axis-panel.h"

static void
wait_until (gboolean (*done) (gpointer),
            gpointer   data,
            double     timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!done (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  if (!done (data))
    g_error ("timed out");
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* Keep the main loop running for @ms. */
static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       data)
{
  *(gboolean *) data = TRUE;
}

/* Wait until @widget's window has painted a frame with what is queued now. */
static void
wait_painted (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gboolean painted = FALSE;
  gulong id;

  if (clock == NULL)
    return;
  gtk_widget_queue_draw (widget);
  id = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &painted);
  wait_until (flag_set, &painted, 10);
  g_signal_handler_disconnect (clock, id);
}

/* Delete @path and everything under it. */
static void
remove_tree (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
on_opened (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GError) error = NULL;

  if (!kiln_document_open_finish (KILN_DOCUMENT (source), result, &error))
    g_error ("%s", error->message);
  *(gboolean *) data = TRUE;
}

static GtkWidget *
show (GtkWidget *panel)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
report (const char *what,
        const char *debounce,
        double     *ms,
        guint       n)
{
  glong pad = 38 - g_utf8_strlen (what, -1);   /* printf pads bytes, not characters */

  qsort (ms, n, sizeof (double), cmp_double);
  g_print ("| %s%*s | %-8s | %6.0f | %6.0f | %6.0f | %4u |\n", what, (int) MAX (pad, 0), "", debounce,
           n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2, ms[0], ms[n - 1], n);
}

typedef void (*SetFunc) (GtkWidget *panel, guint step);
typedef gboolean (*IdleFunc) (gpointer panel);

/* One run: a drag of five changes 30 ms apart; ms from the last change to the painted preview. */
static double
measure (GtkWidget *panel,
         SetFunc    set,
         IdleFunc   idle,
         guint      run)
{
  gint64 t0 = 0;

  for (guint k = 0; k < 5; k++)
    {
      set (panel, run * 5 + k);
      t0 = g_get_monotonic_time ();
      if (k < 4)
        spin (30);
    }
  wait_until (idle, panel, 60);
  wait_painted (panel);
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static void
set_variance (GtkWidget *panel,
              guint      step)
{
  kiln_denoise_panel_set_params (KILN_DENOISE_PANEL (panel), KILN_NOISE_G4, 100 + 10 * (step % 20),
                                 KILN_BM3D_PROFILE_FAST);
}

static gboolean
denoise_idle (gpointer panel)
{
  return kiln_denoise_panel_is_idle (panel) &&
         kiln_denoise_panel_get_preview (panel, NULL, NULL, NULL, NULL) != NULL;
}

static double axis_angle;

static void
set_shift (GtkWidget *panel,
           guint      step)
{
  kiln_tilt_axis_panel_set_axis (KILN_TILT_AXIS_PANEL (panel), axis_angle, -3 + 0.25 * (step % 24));
}

static gboolean
axis_idle (gpointer panel)
{
  return kiln_tilt_axis_panel_is_idle (panel);
}

static double otsu;

static void
set_threshold (GtkWidget *panel,
               guint      step)
{
  KilnSegmentParams p;

  kiln_segment_panel_get_params (KILN_SEGMENT_PANEL (panel), &p);
  p.otsu = FALSE;
  p.threshold = otsu * (0.8 + 0.02 * (step % 20));
  kiln_segment_panel_set_params (KILN_SEGMENT_PANEL (panel), &p);
}

static gboolean
segment_idle (gpointer panel)
{
  return kiln_segment_panel_is_idle (panel);
}

int
main (int    argc,
      char **argv)
{
  guint runs = argc > 1 ? (guint) atoi (argv[1]) : 7;
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnDocument) doc = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree double *ms = NULL;
  KilnSimParams sp;
  gboolean opened = FALSE;
  GtkWidget *window, *panel;

  g_setenv ("GTK_A11Y", "none", TRUE);
  if (!gtk_init_check ())
    {
      g_printerr ("bench-app-preview: no display (run it under xvfb-run -a)\n");
      return 77;
    }
  runs = CLAMP (runs, 1, 50);
  ms = g_new (double, runs);

  /* the teaching experiment, one time point */
  tmp = g_dir_make_tmp ("kiln-bench-preview-XXXXXX", &error);
  g_assert_no_error (error);
  dir = g_build_filename (tmp, "teaching", NULL);
  kiln_sim_params_init (&sp, KILN_SIM_PRESET_TEACHING);
  sp.n_time_points = 1;
  if (!kiln_sim_write_experiment (&sp, dir, NULL, NULL, NULL, &error))
    g_error ("%s", error->message);
  doc = kiln_document_new ();
  file = g_file_new_for_path (dir);
  kiln_document_open_async (doc, file, NULL, NULL, NULL, on_opened, &opened);
  wait_until (flag_set, &opened, 60);
  axis_angle = sp.axis_angle_deg;

  g_print ("Live preview latency on the teaching experiment (128², 41 tilts), OMP_NUM_THREADS=%s:\n"
           "from the last of 5 control changes 30 ms apart to the painted preview, %u runs\n\n",
           g_getenv ("OMP_NUM_THREADS") ? g_getenv ("OMP_NUM_THREADS") : "(all)", runs);
  g_print ("| %-38s | %-8s | %6s | %6s | %6s | %4s |\n", "preview (control)", "debounce", "median", "min", "max", "runs");
  g_print ("|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------", "----------",
           "--------", "--------", "--------", "------");

  /* Denoise: the ROI preview follows the variance */
  panel = kiln_denoise_panel_new ();
  window = show (panel);
  kiln_denoise_panel_set_document (KILN_DENOISE_PANEL (panel), doc);
  wait_until (denoise_idle, panel, 60);
  for (guint r = 0; r < runs; r++)
    ms[r] = measure (panel, set_variance, denoise_idle, r);
  report ("Denoise ROI, 64² BM3D fast (variance)", "80 ms", ms, runs);
  gtk_window_destroy (GTK_WINDOW (window));

  /* Tilt axis: three back-projected slices follow the shift */
  panel = kiln_tilt_axis_panel_new ();
  window = show (panel);
  kiln_tilt_axis_panel_set_document (KILN_TILT_AXIS_PANEL (panel), doc);
  wait_until (axis_idle, panel, 60);
  for (guint r = 0; r < runs; r++)
    ms[r] = measure (panel, set_shift, axis_idle, r);
  report ("Tilt axis, 3 BP slices (shift)", "40 ms", ms, runs);
  gtk_window_destroy (GTK_WINDOW (window));

  /* Segment: the label overlay follows the threshold (the truth volume as the reconstruction) */
  {
    g_autofree char *vpath = g_build_filename (dir, "tp01", "truth", "volume.mrc", NULL);
    g_autoptr(KilnVolume) v = kiln_mrc_load_volume (vpath, NULL, &error);

    g_assert_no_error (error);
    if (!kiln_segment_otsu (v, &otsu, &error))
      g_error ("%s", error->message);
    panel = kiln_segment_panel_new ();
    window = show (panel);
    kiln_segment_panel_set_document (KILN_SEGMENT_PANEL (panel), doc);
    kiln_document_set_reconstruction (doc, 0, v);
    wait_until (segment_idle, panel, 60);
    for (guint r = 0; r < runs; r++)
      ms[r] = measure (panel, set_threshold, segment_idle, r);
    report ("Segment labels, 128²×64 (threshold)", "100 ms", ms, runs);
    gtk_window_destroy (GTK_WINDOW (window));
  }

  /* remove the experiment */
  remove_tree (tmp);
  return 0;
}
