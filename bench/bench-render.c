/* bench-render.c — the 4D view's speed: redraws per second of a 256³ labelled volume as an
 * isosurface at 800 × 600, and the time to switch to another time point's volume (upload +
 * first frame). Needs a display: run it under `xvfb-run -a` (llvmpipe) or on a desktop.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>

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

int
main (int argc, char **argv)
{
  GtkWidget *window, *view;
  KilnVolume *v1, *v2;
  KilnLabelVolume *l1, *l2;
  double fps_iso, fps_dvr, switch_ms[3];

  if (!gtk_init_check ())
    {
      g_printerr ("bench-render: needs a display (run it under xvfb-run -a)\n");
      return 77;
    }
  make_volume (0, &v1, &l1);
  make_volume (12, &v2, &l2);

  window = gtk_window_new ();
  view = kiln_volume_view_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 600);
  gtk_window_set_child (GTK_WINDOW (window), view);
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), v1, l1);
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
  frames = 0;
  run_for (5000);
  fps_iso = frames / 5.0;
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_VOLUME);
  run_for (500);
  frames = 0;
  run_for (5000);
  fps_dvr = frames / 5.0;
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_ISOSURFACE);

  for (int i = 0; i < 3; i++)
    {
      gint64 t0;
      guint before;
      run_for (300);
      before = frames;
      t0 = g_get_monotonic_time ();
      kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), i % 2 ? v1 : v2, i % 2 ? l1 : l2);
      /* the new volume's frame has been drawn once the next one starts (frames are queued
       * continuously by the tick callback) */
      while (frames < before + 2)
        g_main_context_iteration (NULL, TRUE);
      switch_ms[i] = (last_frame_us - t0) / 1000.0;
    }

  g_print ("%-46s %10s %10s\n", "4D view (256³ labelled volume, 800 × 600)", "figure", "goal");
  g_print ("%-46s %7.1f/s %10s\n", "isosurface redraws", fps_iso, "≥ 10/s");
  g_print ("%-46s %7.1f/s %10s\n", "direct volume rendering redraws", fps_dvr, "—");
  g_print ("%-46s %7.0f ms %10s\n", "switch time point (upload + one frame), median",
           MIN (MAX (switch_ms[0], switch_ms[1]), MAX (MIN (switch_ms[0], switch_ms[1]), switch_ms[2])),
           "≤ 200 ms");
  gtk_window_destroy (GTK_WINDOW (window));
  kiln_volume_unref (v1);
  kiln_volume_unref (v2);
  kiln_label_volume_unref (l1);
  kiln_label_volume_unref (l2);
  return 0;
}
