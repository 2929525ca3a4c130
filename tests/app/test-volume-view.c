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
  kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), FALSE);   /* the ray caster's skipping */
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
  kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), TRUE);
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
  /* its mesh was extracted with the prefetch: the switch draws it */
  g_assert_true (kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view)));
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

/* Wait (≤ 10 s) until the view draws its isosurface from the mesh. */
static gboolean
wait_mesh (GtkWidget *view)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view)) && g_get_monotonic_time () < end)
    {
      gtk_gl_area_queue_render (GTK_GL_AREA (view));
      iterate (20);
    }
  iterate (100);
  return kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view));
}

/* Fraction of pixels whose channels all agree within @tol (0…255) between the mesh and the
 * ray-cast picture of the current view. */
static double
mesh_vs_ray_cast (GtkWidget *view,
                  int        tol)
{
  g_autoptr(GdkTexture) mesh = NULL;
  g_autoptr(GdkTexture) ray = NULL;
  g_autofree guint32 *pa = NULL, *pb = NULL;
  gsize n, same = 0;

  g_assert_true (wait_mesh (view));
  mesh = grab (view);
  kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), FALSE);
  iterate (200);
  g_assert_false (kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view)));
  ray = grab (view);
  kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), TRUE);
  if (g_getenv ("KILN_TEST_MESH_IMAGES") != NULL)
    {
      /* for looking: PREFIX-N-mesh.png and PREFIX-N-ray.png */
      static int k;
      g_autofree char *a = g_strdup_printf ("%s-%d-mesh.png", g_getenv ("KILN_TEST_MESH_IMAGES"), k);
      g_autofree char *b = g_strdup_printf ("%s-%d-ray.png", g_getenv ("KILN_TEST_MESH_IMAGES"), k++);
      gdk_texture_save_to_png (mesh, a);
      gdk_texture_save_to_png (ray, b);
    }
  n = (gsize) gdk_texture_get_width (mesh) * gdk_texture_get_height (mesh);
  g_assert_cmpuint (n, ==, (gsize) gdk_texture_get_width (ray) * gdk_texture_get_height (ray));
  pa = g_new (guint32, n);
  pb = g_new (guint32, n);
  gdk_texture_download (mesh, (guchar *) pa, gdk_texture_get_width (mesh) * 4);
  gdk_texture_download (ray, (guchar *) pb, gdk_texture_get_width (ray) * 4);
  for (gsize i = 0; i < n; i++)
    {
      gboolean ok = TRUE;
      for (int c = 0; c < 24; c += 8)
        if (abs ((int) ((pa[i] >> c) & 0xff) - (int) ((pb[i] >> c) & 0xff)) > tol)
          ok = FALSE;
      same += ok;
    }
  return same / (double) n;
}

/* The isosurface drawn from the mesh (surface nets, extracted in a worker) looks as ray-cast:
 * same pixels within a tolerance, the same pixel checks, label colours, selection, hidden
 * substrate. The phantom of make_phantom() plus an unlabelled substrate slab z ≥ 40. */
static void
test_mesh (void)
{
  KilnVolume *vol;
  KilnLabelVolume *lab;
  GtkWidget *window, *view;
  double rgb[3], lit[3], agree;
  int w, h, corner;

  make_phantom (&vol, &lab);
  for (guint z = 40; z < N; z++)
    for (guint y = 0; y < N; y++)
      for (guint x = 0; x < N; x++)
        KILN_VOXEL (vol, x, y, z) = 1.0f;
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
  /* inside the box, off the spheres: voxel (42, 42) */
  corner = (int) lround (w / 2.0 + (42 - 24) * 2.0 / (kiln_volume_view_get_view_width_nm (KILN_VOLUME_VIEW (view)) / w));
  g_assert_cmpint (corner, <, w);
  g_assert_true (wait_mesh (view));
  g_assert_cmpuint (kiln_volume_view_get_mesh_triangles (KILN_VOLUME_VIEW (view)), >, 1000);

  /* the pixel checks of the ray caster: label 7's colour at the big sphere's projected centre,
   * label 3 at the small one's, the substrate (unlabelled: tan, red > blue) in a corner */
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));
  {
    double nm_per_px = kiln_volume_view_get_view_width_nm (KILN_VOLUME_VIEW (view)) / w;
    int px = (int) lround (w / 2.0 + (9 - 24) * 2.0 / nm_per_px);
    pixel_at (view, px, px, rgb);
    g_assert_true (looks_magenta (rgb));
  }
  pixel_at (view, corner, corner, rgb);
  g_assert_cmpfloat (rgb[0], >, rgb[2] + 0.1);

  /* mesh and ray casting agree: top and oblique views, substrate shown and hidden. The two
   * surfaces differ by up to about half a voxel along the silhouettes (surface nets vs
   * trilinear interpolation of a binary phantom), and their normals by a few degrees: ≥ 97 %
   * of the pixels within 16/255 per channel. */
  for (int preset = 0; preset < 2; preset++)
    for (int hide = 0; hide < 2; hide++)
      {
        kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), preset ? KILN_VIEW_OBLIQUE : KILN_VIEW_TOP);
        kiln_volume_view_set_hide_unlabelled (KILN_VOLUME_VIEW (view), hide);
        agree = mesh_vs_ray_cast (view, 16);
        g_test_message ("mesh vs ray casting, %s, substrate %s: %.2f %% of the pixels within 16/255",
                        preset ? "oblique" : "top", hide ? "hidden" : "shown", 100 * agree);
        g_assert_cmpfloat (agree, >=, 0.97);
      }
  kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_TOP);
  iterate (200);

  /* hidden substrate: background in the corner, the particles stay */
  kiln_volume_view_set_hide_unlabelled (KILN_VOLUME_VIEW (view), TRUE);
  g_assert_true (wait_mesh (view));
  pixel_at (view, corner, corner, rgb);
  g_assert_cmpfloat (rgb[2], <, 60 / 255.0);
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));
  kiln_volume_view_set_hide_unlabelled (KILN_VOLUME_VIEW (view), FALSE);

  /* label map 7 → 3 recolours the mesh; selecting 7 brightens it */
  {
    guint32 map[8] = { 0, 1, 2, 3, 4, 5, 6, 3 };
    kiln_volume_view_set_label_map (KILN_VOLUME_VIEW (view), map, 8);
    g_assert_true (wait_mesh (view));
    pixel_at (view, w / 2, h / 2, rgb);
    g_assert_true (looks_magenta (rgb));
    kiln_volume_view_set_label_map (KILN_VOLUME_VIEW (view), NULL, 0);
  }
  iterate (100);
  pixel_at (view, w / 2, h / 2, lit);
  kiln_volume_view_set_selection (KILN_VOLUME_VIEW (view), 7, 0);
  g_assert_true (wait_mesh (view));
  pixel_at (view, w / 2, h / 2, rgb);
  /* mixed 45 % towards white */
  g_assert_cmpfloat (rgb[0] + rgb[1] + rgb[2], >, lit[0] + lit[1] + lit[2] + 0.2);
  kiln_volume_view_set_selection (KILN_VOLUME_VIEW (view), 0, 0);

  /* a new threshold: a new mesh (until it is ready the ray caster draws); above every value
   * the surface is empty: background everywhere */
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 0.999);
  g_assert_true (wait_mesh (view));
  pixel_at (view, w / 2, h / 2, rgb);
  g_assert_true (looks_green (rgb));

  /* the pair overlay is drawn over everything on both paths, as before the mesh: a line from
   * above the big sphere's centre to above the small one's, placed deep (z = 90 nm, behind the
   * sphere, past the middle of the depth range, where a depth test would hide it), passes over
   * the big sphere's image at voxel (20, 20) of the top view; some pixel within one of its
   * projection is the line's white */
  {
    const double a[3] = { 48, 48, 90 }, b[3] = { 18, 18, 90 }, neck[3] = { 33, 33, 90 };
    double nm_per_px = kiln_volume_view_get_view_width_nm (KILN_VOLUME_VIEW (view)) / w;
    int p = (int) lround (w / 2.0 + (20 - 24) * 2.0 / nm_per_px);

    kiln_volume_view_set_pair_overlay (KILN_VOLUME_VIEW (view), TRUE, a, b, neck, 4.0);
    for (int use_mesh = 1; use_mesh >= 0; use_mesh--)
      {
        gboolean white = FALSE;

        kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), use_mesh);
        if (use_mesh)
          g_assert_true (wait_mesh (view));
        else
          iterate (200);
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            {
              pixel_at (view, p + dx, p + dy, rgb);
              /* the lit surface is at most about 0.5 in red and blue here */
              white |= rgb[0] > 0.9 && rgb[1] > 0.9 && rgb[2] > 0.9;
            }
        g_assert_true (white);
      }
    kiln_volume_view_set_use_mesh (KILN_VOLUME_VIEW (view), TRUE);
    kiln_volume_view_set_pair_overlay (KILN_VOLUME_VIEW (view), FALSE, NULL, NULL, NULL, 0);
  }

  /* slice planes over the mesh (quads depth-tested against it; the surface behind a plane
   * discarded) look as ray-cast: a z plane through the spheres and an x plane, oblique view,
   * with the same tolerance */
  kiln_volume_view_set_threshold (KILN_VOLUME_VIEW (view), 0.5);
  kiln_volume_view_set_preset (KILN_VOLUME_VIEW (view), KILN_VIEW_OBLIQUE);
  kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), -1, -1, 0.45);
  agree = mesh_vs_ray_cast (view, 16);
  g_test_message ("mesh vs ray casting, oblique, z slice: %.2f %% of the pixels within 16/255", 100 * agree);
  g_assert_cmpfloat (agree, >=, 0.97);
  kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), 0.6, -1, 0.3);
  agree = mesh_vs_ray_cast (view, 16);
  g_test_message ("mesh vs ray casting, oblique, x and z slices: %.2f %% of the pixels within 16/255", 100 * agree);
  g_assert_cmpfloat (agree, >=, 0.97);
  kiln_volume_view_set_slices (KILN_VOLUME_VIEW (view), -1, -1, -1);
  /* volume rendering is always ray-cast */
  kiln_volume_view_set_mode (KILN_VOLUME_VIEW (view), KILN_RENDER_VOLUME);
  iterate (100);
  g_assert_false (kiln_volume_view_get_mesh_drawn (KILN_VOLUME_VIEW (view)));

  gtk_window_destroy (GTK_WINDOW (window));
  iterate (50);
  kiln_volume_unref (vol);
  kiln_label_volume_unref (lab);
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
  g_test_add_func ("/app/volume-view/mesh", test_mesh);
  return g_test_run ();
}
