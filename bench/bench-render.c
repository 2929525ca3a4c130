/* bench-render.c — the 4D view's speed: redraws per second of a 256³ labelled volume as an
 * isosurface and by direct volume rendering at 800 × 600, at full quality and interactive
 * (a third of the resolution), and the time to switch to another time point's volume: prefetched (only
 * the frame) and cold (prepare + upload + frame). Needs a display: run it under `xvfb-run -a` (llvmpipe) or on a desktop.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>

#include "kiln-volume-view.h"

#define N 256

static guint frames;
static gint64 last_frame_us;

static gboolean
on_render (GtkGLArea *area, GdkGLContext *context, gpointer data)
{
  frames++;
  last_frame_us = g_get_monotonic_time ();
  return FALSE;   /* let the view's own handler run */
}

static gboolean
tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  gtk_gl_area_queue_render (GTK_GL_AREA (widget));
  return G_SOURCE_CONTINUE;
}

static void
make_volume (double shift, KilnVolume **vol, KilnLabelVolume **lab)
{
  KilnVolume *v = kiln_volume_new (N, N, N, NULL);
  KilnLabelVolume *l = kiln_label_volume_new (N, N, N, NULL);
  const double c[6][3] = { { 80, 80, 128 }, { 150, 85, 128 }, { 200, 170, 120 },
                           { 90, 180, 140 }, { 160, 200, 110 }, { 128, 128, 60 } };

#pragma omp parallel for
  for (int z = 0; z < N; z++)
    for (int y = 0; y < N; y++)
      for (int x = 0; x < N; x++)
        for (int k = 0; k < 6; k++)
          {
            double dx = x - c[k][0] - shift, dy = y - c[k][1], dz = z - c[k][2];
            double r = sqrt (dx * dx + dy * dy + dz * dz);
            if (r < 36)
              {
                KILN_VOXEL (v, x, y, z) = (float) CLAMP (36 - r, 0, 1);
                KILN_VOXEL (l, x, y, z) = k + 1;
                break;
              }
          }
  v->voxel_size_nm = l->voxel_size_nm = 1.04;
  *vol = v;
  *lab = l;
}

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Redraws per second, median of three windows of at least 2 s and 3 frames each (frames
 * queued continuously; the rate between the first and the last frame of a window). */
static double
measure_fps (void)
{
  double fps[3];

  run_for (300);
  for (int i = 0; i < 3; i++)
    {
      gint64 start = g_get_monotonic_time (), first_us;
      guint first = frames;

      while (frames == first)
        g_main_context_iteration (NULL, TRUE);
      first = frames;
      first_us = last_frame_us;
      while (frames < first + 3 || g_get_monotonic_time () - start < 2 * G_USEC_PER_SEC)
        g_main_context_iteration (NULL, TRUE);
      fps[i] = (frames - first) / ((last_frame_us - first_us) / 1e6);
    }
  return median (fps, 3);
}

/* Wait until the view draws its isosurface from the mesh (extracted in a worker). */
static gboolean
wait_mesh (GtkWidget *view)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  return kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view));
}

/* Median wall time (ms) of three mesh extractions of @v at 0.5, and the triangle count. */
static double
extraction_ms (KilnVolume *v, KilnLabelVolume *l, gsize *n_triangles)
{
  double t[3];

  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      KilnMesh *m = kiln_isosurface_extract (v, l, 0.5f, NULL, NULL, NULL, &error);
      t[i] = (g_get_monotonic_time () - t0) / 1000.0;
      if (m == NULL)
        {
          g_printerr ("bench-render: %s\n", error->message);
          exit (1);
        }
      *n_triangles = m->n_triangles;
      kiln_mesh_free (m);
    }
  return median (t, 3);
}

/* Milliseconds from set_volume until the new volume's frame has been drawn. */
static double
switch_to (GtkWidget *view, KilnVolume *v, KilnLabelVolume *l)
{
  gint64 t0;
  guint before;

  run_for (200);
  before = frames;
  t0 = g_get_monotonic_time ();
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), v, l);
  /* the new volume's frame has been drawn once the next one starts (frames are queued
   * continuously by the tick callback) */
  while (frames < before + 2)
    g_main_context_iteration (NULL, TRUE);
  return (last_frame_us - t0) / 1000.0;
}

static void
wait_prefetched (GtkWidget *view, KilnVolume *v, KilnLabelVolume *l)
{
  kiln_volume_view_prefetch (KILN_VOLUME_VIEW (view), v, l);
  while (!kiln_volume_view_is_prefetched (KILN_VOLUME_VIEW (view), v, l))
    g_main_context_iteration (NULL, TRUE);
}

int
main (int argc, char **argv)
{
  GtkWidget *window, *view;
  KilnVolume *v[5];
  KilnLabelVolume *l[5];
  double fps_iso_mesh, fps_iso_mesh_low, fps_iso_mesh_slice, extract_ms, fps_empty;
  gsize n_tri = 0;
  double fps_iso_plain, fps_iso, fps_iso_low, fps_dvr_plain, fps_dvr, fps_dvr_low, warm[3], warm_play[3], cold[3];
  gboolean quick = argc > 1 && g_str_equal (argv[1], "--quick");   /* redraw figures only */

  if (!gtk_init_check ())
    {
      g_printerr ("bench-render: needs a display (run it under xvfb-run -a)\n");
      return 77;
    }
  for (int i = 0; i < 5; i++)
    make_volume (4.0 * i, &v[i], &l[i]);

  window = gtk_window_new ();
  view = kiln_volume_view_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 600);
  gtk_window_set_child (GTK_WINDOW (window), view);
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), v[0], l[0]);
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 0.5);
  g_signal_connect (view, "render", G_CALLBACK (on_render), NULL);
  gtk_window_present (GTK_WINDOW (window));
  run_for (1500);
  if (gtk_gl_area_get_error (GTK_GL_AREA (view)) != NULL)
    {
      g_printerr ("bench-render: no OpenGL: %s\n", gtk_gl_area_get_error (GTK_GL_AREA (view))->message);
      return 1;
    }

  gtk_widget_add_tick_callback (view, tick, NULL, NULL);
  /* the isosurface from its triangle mesh (the default once extracted) */
  if (!wait_mesh (view))
    {
      g_printerr ("bench-render: the isosurface mesh was not ready within 60 s\n");
      return 1;
    }
  fps_iso_mesh = measure_fps ();
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), TRUE);
  fps_iso_mesh_low = measure_fps ();
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), FALSE);
  extract_ms = extraction_ms (v[0], l[0], &n_tri);
  if (quick)
    {
      /* the isosurface figures only, for trying changes */
      g_print ("%-52s %7.1f/s\n", "isosurface (mesh), full quality", fps_iso_mesh);
      g_print ("%-52s %7.1f/s\n", "isosurface (mesh), interactive", fps_iso_mesh_low);
      g_print ("%-52s %7.0f ms  %zu triangles\n", "mesh extraction (256³, 2 threads)", extract_ms, n_tri);
      return 0;
    }
  /* with a slice plane (quads over the mesh) */
  kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), -1, -1, 0.5);
  fps_iso_mesh_slice = measure_fps ();
  kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), -1, -1, -1);
  /* the frame's cost without anything to draw: a threshold above every value */
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 2.0);
  wait_mesh (view);
  fps_empty = measure_fps ();
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 0.5);
  wait_mesh (view);
  /* the ray caster: each step of its speed-up, measured in turn */
  kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), FALSE);
  kiln_volume_view_set_skipping (KILN_VOLUME_VIEW (view), FALSE);
  fps_iso_plain = measure_fps ();
  kiln_volume_view_set_skipping (KILN_VOLUME_VIEW (view), TRUE);
  fps_iso = measure_fps ();
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), TRUE);
  fps_iso_low = measure_fps ();
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), FALSE);
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_VOLUME);
  kiln_volume_view_set_skipping (KILN_VOLUME_VIEW (view), FALSE);
  fps_dvr_plain = measure_fps ();
  kiln_volume_view_set_skipping (KILN_VOLUME_VIEW (view), TRUE);
  fps_dvr = measure_fps ();
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), TRUE);
  fps_dvr_low = measure_fps ();
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), FALSE);
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_ISOSURFACE);
  kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), TRUE);

  /* warm: the next time point was prefetched (as the Analyze panel does for tp ± 1); first
   * from an idle view (a switch draws ⅓-resolution frames for 250 ms), then while playing */
  for (int i = 0; i < 3; i++)
    {
      wait_prefetched (view, v[i + 1], l[i + 1]);
      warm[i] = switch_to (view, v[i + 1], l[i + 1]);
    }
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), TRUE);
  for (int i = 0; i < 3; i++)
    {
      int k = (i + 1) % 3;   /* v[1…3] are still cached */
      warm_play[i] = switch_to (view, v[k + 1], l[k + 1]);
    }
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), FALSE);
  /* cold: a volume never seen (prepared and uploaded on the switch); the cache keeps at most
   * six entries, so v[4] and then v[0] alternate with fresh copies */
  for (int i = 0; i < 3; i++)
    {
      KilnVolume *cv;
      KilnLabelVolume *cl;
      make_volume (2.0 + i, &cv, &cl);
      cold[i] = switch_to (view, cv, cl);
      kiln_volume_unref (cv);
      kiln_label_volume_unref (cl);
    }

  g_print ("%-52s %10s %10s\n", "4D view (256³ labelled volume, 800 × 600)", "median", "goal");
  g_print ("%-52s %7.1f/s %10s\n", "isosurface redraws, mesh, full quality", fps_iso_mesh, "≥ 10/s");
  g_print ("%-52s %7.1f/s %10s\n", "isosurface redraws, mesh, interactive", fps_iso_mesh_low, "≥ 10/s");
  g_print ("%-52s %7.1f/s %10s\n", "isosurface redraws, mesh, with a slice plane", fps_iso_mesh_slice, "—");
  g_print ("%-52s %7.0f ms %10s\n", "mesh extraction, worker thread (surface nets)", extract_ms, "—");
  g_print ("%-52s %9zu %10s\n", "  its triangles", n_tri, "—");
  g_print ("%-52s %7.1f/s %10s\n", "redraws with nothing to draw (frame overhead)", fps_empty, "—");
  g_print ("%-52s %7.1f/s %10s\n", "isosurface ray-cast, without empty-space skipping", fps_iso_plain, "—");
  g_print ("%-52s %7.1f/s %10s\n", "isosurface ray-cast, full quality (idle)", fps_iso, "—");
  g_print ("%-52s %7.1f/s %10s\n", "isosurface ray-cast, interactive (⅓ resolution)", fps_iso_low, "—");
  g_print ("%-52s %7.1f/s %10s\n", "volume rendering redraws, without skipping", fps_dvr_plain, "—");
  g_print ("%-52s %7.1f/s %10s\n", "volume rendering redraws, full quality", fps_dvr, "—");
  g_print ("%-52s %7.1f/s %10s\n", "volume rendering redraws, interactive", fps_dvr_low, "—");
  g_print ("%-52s %7.0f ms %10s\n", "switch to a prefetched time point (⅓-res frame)", median (warm, 3), "≤ 200 ms");
  g_print ("%-52s %7.0f ms %10s\n", "  the same while playing (interactive frames)", median (warm_play, 3), "≤ 200 ms");
  g_print ("%-52s %7.0f ms %10s\n", "cold switch (prepare + upload + ⅓-res frame)", median (cold, 3), "—");
  gtk_window_destroy (GTK_WINDOW (window));
  for (int i = 0; i < 5; i++)
    {
      kiln_volume_unref (v[i]);
      kiln_label_volume_unref (l[i]);
    }
  return 0;
}
