/* test-volume-view.c — the OpenGL volume view renders a labelled sphere and picks it exactly
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>

#include "kiln-image-view.h"
#include "kiln-volume-view.h"

#define N 48

static void
iterate (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

/* One sphere of radius 10 voxels at the centre (label 7), one of radius 6 near a corner
 * (label 3). Values 1 inside, 0 outside; voxel size 2 nm. */
static void
make_phantom (KilnVolume **vol, KilnLabelVolume **lab)
{
  KilnVolume *v = kiln_volume_new (N, N, N, NULL);
  KilnLabelVolume *l = kiln_label_volume_new (N, N, N, NULL);

  for (guint z = 0; z < N; z++)
    for (guint y = 0; y < N; y++)
      for (guint x = 0; x < N; x++)
        {
          double c = N / 2.0;
          double r1 = sqrt (pow (x + 0.5 - c, 2) + pow (y + 0.5 - c, 2) + pow (z + 0.5 - c, 2));
          double r2 = sqrt (pow (x + 0.5 - 9, 2) + pow (y + 0.5 - 9, 2) + pow (z + 0.5 - c, 2));
          if (r1 <= 10)
            {
              KILN_VOXEL (v, x, y, z) = 1.0f;
              KILN_VOXEL (l, x, y, z) = 7;
            }
          else if (r2 <= 6)
            {
              KILN_VOXEL (v, x, y, z) = 1.0f;
              KILN_VOXEL (l, x, y, z) = 3;
            }
        }
  v->voxel_size_nm = l->voxel_size_nm = 2.0;
  *vol = v;
  *lab = l;
}

static GdkTexture *
grab (GtkWidget *widget)
{
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GskRenderNode *node;
  GdkTexture *texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node != NULL)
    {
      GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
      texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
      gsk_render_node_unref (node);
    }
  g_object_unref (paintable);
  return texture;
}

static void
test_render_and_pick (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = kiln_volume_view_new ();
  KilnVolume *vol;
  KilnLabelVolume *lab;
  g_autoptr(GdkTexture) texture = NULL;
  GError *gl_error;
  guint32 label;
  double pos[3];

  make_phantom (&vol, &lab);
  gtk_window_set_default_size (GTK_WINDOW (window), 300, 300);
  gtk_window_set_child (GTK_WINDOW (window), view);
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), vol, lab);
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 0.5);
  kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_TOP);
  gtk_window_present (GTK_WINDOW (window));
  iterate (600);

  gl_error = gtk_gl_area_get_error (GTK_GL_AREA (view));
  if (gl_error != NULL)
    {
      /* No GL here: the view must show the error instead of crashing; nothing more to test. */
      g_test_skip (gl_error->message);
      gtk_window_destroy (GTK_WINDOW (window));
      kiln_volume_unref (vol);
      kiln_label_volume_unref (lab);
      return;
    }

  /* picking is exact: the centre of the view looks down z through the big sphere */
  {
    int w = gtk_widget_get_width (view), h = gtk_widget_get_height (view);
    label = kiln_volume_view_pick (KILN_VOLUME_VIEW (view), w / 2.0, h / 2.0, pos);
    g_assert_cmpuint (label, ==, 7);
    /* the first labelled voxel along the ray is on the sphere's near cap: the view looks along
     * +z, so z is within one voxel of centre − radius (24 − 10 voxels) */
    g_assert_cmpfloat (fabs (pos[2] / 2.0 - 14.5), <=, 1.0);
    /* the small sphere (label 3) sits at low x and low y: upper left in the top view, as in
     * the 0° image (x right, y down); the box spans the view's height */
    {
      double nm_per_px = kiln_volume_view_get_view_width_nm (KILN_VOLUME_VIEW (view)) / w;
      double px = w / 2.0 + (9 - 24) * 2.0 / nm_per_px, py = h / 2.0 + (9 - 24) * 2.0 / nm_per_px;
      g_assert_cmpuint (kiln_volume_view_pick (KILN_VOLUME_VIEW (view), px, py, NULL), ==, 3);
    }
    /* a corner of the view misses every particle */
    g_assert_cmpuint (kiln_volume_view_pick (KILN_VOLUME_VIEW (view), 2, h - 2, NULL), ==, 0);
  }

  /* the rendered centre pixel shows the lit isosurface in label 7's colour, not background */
  texture = grab (view);
  g_assert_nonnull (texture);
  if (g_getenv ("KILN_TEST_SCREENSHOT") != NULL)
    {
      g_autoptr(GdkTexture) oblique = NULL;
      g_autofree char *path = g_strdup_printf ("%s-oblique.png", g_getenv ("KILN_TEST_SCREENSHOT"));
      gdk_texture_save_to_png (texture, g_getenv ("KILN_TEST_SCREENSHOT"));
      kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_OBLIQUE);
      kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), -1, -1, 0.3);
      iterate (300);
      oblique = grab (view);
      gdk_texture_save_to_png (oblique, path);
      kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), -1, -1, -1);
      kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_TOP);
      iterate (100);
    }
  {
    int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
    g_autofree guint32 *pix = g_new (guint32, (gsize) w * h);
    guint32 centre, corner;
    GdkRGBA expect;
    double r, g, b;

    gdk_texture_download (texture, (guchar *) pix, (gsize) w * 4);
    centre = pix[(h / 2) * w + w / 2];
    corner = pix[2 * w + 2];
    /* the background is (0.11, 0.12, 0.14) */
    g_assert_cmpuint (corner & 0xff, <, 60);
    kiln_label_color (7, &expect);
    r = ((centre >> 16) & 0xff) / 255.0;
    g = ((centre >> 8) & 0xff) / 255.0;
    b = (centre & 0xff) / 255.0;
    /* lit surface: brighter than background and hue-consistent with the label colour (the
     * channel ranking of the label colour is kept) */
    g_assert_cmpfloat (r + g + b, >, 0.6);
    if (expect.red > expect.blue)
      g_assert_cmpfloat (r, >, b);
    else
      g_assert_cmpfloat (b, >, r);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  iterate (50);
  kiln_volume_unref (vol);
  kiln_label_volume_unref (lab);
}

/* The colour of the pixel at (x, y) of the view, 0…1 per channel. */
static void
pixel_at (GtkWidget *view,
          int        x,
          int        y,
          double     rgb[3])
{
  g_autoptr(GdkTexture) texture = grab (view);
  int w, h;
  g_autofree guint32 *pix = NULL;
  guint32 p;

  g_assert_nonnull (texture);
  w = gdk_texture_get_width (texture);
  h = gdk_texture_get_height (texture);
  pix = g_new (guint32, (gsize) w * h);
  gdk_texture_download (texture, (guchar *) pix, (gsize) w * 4);
  p = pix[CLAMP (y, 0, h - 1) * w + CLAMP (x, 0, w - 1)];
  rgb[0] = ((p >> 16) & 0xff) / 255.0;
  rgb[1] = ((p >> 8) & 0xff) / 255.0;
  rgb[2] = (p & 0xff) / 255.0;
}

/* Label 7's colour is green-dominant, label 3's has green as its weakest channel (golden-ratio
 * hues, same as kiln_label_color); lighting scales the channels and adds white, which keeps
 * that ranking. */
static gboolean
looks_green (const double rgb[3])
{
  return rgb[1] > rgb[0] && rgb[1] > rgb[2];
}

static gboolean
looks_magenta (const double rgb[3])
{
  return rgb[1] < rgb[0] && rgb[1] < rgb[2] && rgb[0] + rgb[2] > 0.6;
}

static GtkWidget *
show_view (KilnVolume *vol, KilnLabelVolume *lab, GtkWidget **window)
{
  GtkWidget *view = kiln_volume_view_new ();

  *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (*window), 240, 240);
  gtk_window_set_child (GTK_WINDOW (*window), view);
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), vol, lab);
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 0.5);
  kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_TOP);
  gtk_window_present (GTK_WINDOW (*window));
  iterate (500);
  return view;
}

/* Label map (tracked ids), interactive reduced-resolution frames, empty-space skipping on a
 * particle smaller than a brick, direct volume rendering, and prefetched time points. */
static void
test_fast_paths (void)
{
  KilnVolume *vol, *vol2;
  KilnLabelVolume *lab, *lab2;
  GtkWidget *window, *view;
  double rgb[3];
  int w, h;

  make_phantom (&vol, &lab);
  view = show_view (vol, lab, &window);
  if (gtk_gl_area_get_error (GTK_GL_AREA (view)) != NULL)
    {
      g_test_skip (gtk_gl_area_get_error (GTK_GL_AREA (view))->message);
      gtk_window_destroy (GTK_WINDOW (window));
      kiln_volume_unref (vol);
      kiln_label_volume_unref (lab);
      return;
    }
  w = gtk_widget_get_width (view);
  h = gtk_widget_get_height (view);
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));

  /* label map 7 → 3: colour and pick follow the displayed id */
  {
    guint32 map[8] = { 0, 1, 2, 3, 4, 5, 6, 3 };
    kiln_volume_view_set_label_map (KILN_VOLUME_VIEW (view), map, 8);
    iterate (200);
    pixel_at (view, w / 2, h / 2, rgb);
    g_assert_true (looks_magenta (rgb));
    g_assert_cmpuint (kiln_volume_view_pick (KILN_VOLUME_VIEW (view), w / 2.0, h / 2.0, NULL), ==, 3);
    kiln_volume_view_set_label_map (KILN_VOLUME_VIEW (view), NULL, 0);
    g_assert_cmpuint (kiln_volume_view_pick (KILN_VOLUME_VIEW (view), w / 2.0, h / 2.0, NULL), ==, 7);
  }

  /* empty-space skipping does not change the image: the isosurface search starts its steps
   * anew after a skipped brick (so a crossing may be refined from another bracket: ≤ 2 % of
   * the pixels may differ by more than 8/255); volume rendering keeps its sample grid (all
   * pixels within 2/255, rounding only) */
  for (int mode = 0; mode < 2; mode++)
    {
      g_autoptr(GdkTexture) with = NULL;
      g_autoptr(GdkTexture) without = NULL;
      gsize n, differ = 0;
      g_autofree guint32 *pa = NULL, *pb = NULL;

      kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), mode ? KILN_RENDER_VOLUME : KILN_RENDER_ISOSURFACE);
      kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_OBLIQUE);
      iterate (200);
      with = grab (view);
      kiln_volume_view_set_skipping (KILN_VOLUME_VIEW (view), FALSE);
      iterate (200);
      without = grab (view);
      kiln_volume_view_set_skipping (KILN_VOLUME_VIEW (view), TRUE);
      n = (gsize) gdk_texture_get_width (with) * gdk_texture_get_height (with);
      g_assert_cmpuint (n, ==, (gsize) gdk_texture_get_width (without) * gdk_texture_get_height (without));
      pa = g_new (guint32, n);
      pb = g_new (guint32, n);
      gdk_texture_download (with, (guchar *) pa, gdk_texture_get_width (with) * 4);
      gdk_texture_download (without, (guchar *) pb, gdk_texture_get_width (without) * 4);
      for (gsize i = 0; i < n; i++)
        for (int c = 0; c < 24; c += 8)
          if (abs ((int) ((pa[i] >> c) & 0xff) - (int) ((pb[i] >> c) & 0xff)) > (mode ? 2 : 8))
            {
              differ++;
              break;
            }
      if (mode)
        g_assert_cmpuint (differ, ==, 0);
      else
        g_assert_cmpuint (differ, <=, n / 50);
    }
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_ISOSURFACE);
  kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_TOP);
  iterate (200);

  /* interactive frames (a third of the resolution, scaled up) show the same scene */
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), TRUE);
  iterate (200);
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));
  pixel_at (view, 2, h - 3, rgb);
  g_assert_cmpfloat (rgb[2], <, 60 / 255.0);   /* background (0.11, 0.12, 0.14) */
  kiln_volume_view_set_interactive (KILN_VOLUME_VIEW (view), FALSE);

  /* direct volume rendering: labelled colour at the centre, background in the corner */
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_VOLUME);
  iterate (200);
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));
  pixel_at (view, 2, h - 3, rgb);
  g_assert_cmpfloat (rgb[2], <, 60 / 255.0);
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_ISOSURFACE);

  /* a second time point: a sphere of radius 2.5 voxels (smaller than a brick of 8) centred on
   * a brick corner (16, 16, 24), label 3; prefetched, then switched to */
  vol2 = kiln_volume_new (N, N, N, NULL);
  lab2 = kiln_label_volume_new (N, N, N, NULL);
  vol2->voxel_size_nm = lab2->voxel_size_nm = 2.0;
  for (guint z = 0; z < N; z++)
    for (guint y = 0; y < N; y++)
      for (guint x = 0; x < N; x++)
        if (pow (x + 0.5 - 16, 2) + pow (y + 0.5 - 16, 2) + pow (z + 0.5 - 24, 2) <= 2.5 * 2.5)
          {
            KILN_VOXEL (vol2, x, y, z) = 1.0f;
            KILN_VOXEL (lab2, x, y, z) = 3;
          }
  kiln_volume_view_prefetch (KILN_VOLUME_VIEW (view), vol2, lab2);
  {
    gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (!kiln_volume_view_is_prefetched (KILN_VOLUME_VIEW (view), vol2, lab2) &&
           g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_true (kiln_volume_view_is_prefetched (KILN_VOLUME_VIEW (view), vol2, lab2));
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), vol2, lab2);
  /* a switch draws interactive frames first, full quality 250 ms after it */
  g_assert_true (kiln_volume_view_get_interactive (KILN_VOLUME_VIEW (view)));
  iterate (500);
  g_assert_false (kiln_volume_view_get_interactive (KILN_VOLUME_VIEW (view)));
  {
    /* the sphere's centre projects at (16 − 24) voxels × 2 nm from the view's centre */
    double nm_per_px = kiln_volume_view_get_view_width_nm (KILN_VOLUME_VIEW (view)) / w;
    int px = (int) lround (w / 2.0 + (16 - 24) * 2.0 / nm_per_px);
    int py = (int) lround (h / 2.0 + (16 - 24) * 2.0 / nm_per_px);
    pixel_at (view, px, py, rgb);
    g_assert_true (looks_magenta (rgb));
    g_assert_cmpuint (kiln_volume_view_pick (KILN_VOLUME_VIEW (view), px, py, NULL), ==, 3);
    /* the big sphere of the first time point is gone: background at the centre */
    pixel_at (view, w / 2, h / 2, rgb);
    g_assert_cmpfloat (rgb[2], <, 60 / 255.0);
  }
  /* and back to the first (still cached) */
  g_assert_true (kiln_volume_view_is_prefetched (KILN_VOLUME_VIEW (view), vol, lab));
  kiln_volume_view_set_volume (KILN_VOLUME_VIEW (view), vol, lab);
  iterate (500);
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));

  gtk_window_destroy (GTK_WINDOW (window));
  iterate (50);
  kiln_volume_unref (vol);
  kiln_label_volume_unref (lab);
  kiln_volume_unref (vol2);
  kiln_label_volume_unref (lab2);
}

int
main (int argc, char **argv)
{
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 77;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/volume-view/render-and-pick", test_render_and_pick);
  g_test_add_func ("/app/volume-view/fast-paths", test_fast_paths);
  return g_test_run ();
}
