/* test-image-view.c — the image viewer: levels, fit, zoom, readout
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>

#include "kiln-image-view.h"

static void
iterate (void)
{
  for (int i = 0; i < 20; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
}

static void
test_levels (void)
{
  GtkWidget *view = kiln_image_view_new ();
  float data[100 * 100];
  double black, white;

  g_object_ref_sink (view);
  /* a ramp 0 … 9999: auto levels at the 0.5 and 99.5 percentiles (tolerance: one sample step
   * of the subsampled histogram, i.e. exact here since every pixel is sampled) */
  for (int i = 0; i < 100 * 100; i++)
    data[i] = (float) i;
  kiln_image_view_set_image (KILN_IMAGE_VIEW (view), data, 100, 100, 2.0);
  kiln_image_view_get_levels (KILN_IMAGE_VIEW (view), &black, &white);
  g_assert_cmpfloat_with_epsilon (black, 49.0, 1.0);
  g_assert_cmpfloat_with_epsilon (white, 9949.0, 1.0);

  kiln_image_view_set_levels (KILN_IMAGE_VIEW (view), 10, 20);
  kiln_image_view_get_levels (KILN_IMAGE_VIEW (view), &black, &white);
  g_assert_cmpfloat (black, ==, 10);
  g_assert_cmpfloat (white, ==, 20);

  /* a constant image must not give white == black */
  for (int i = 0; i < 100 * 100; i++)
    data[i] = 5.0f;
  kiln_image_view_set_image (KILN_IMAGE_VIEW (view), data, 50, 200, 0);
  kiln_image_view_get_levels (KILN_IMAGE_VIEW (view), &black, &white);
  g_assert_cmpfloat (white, >, black);
  g_object_unref (view);
}

static void
test_fit_and_zoom (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = kiln_image_view_new ();
  g_autofree float *data = g_new0 (float, 200 * 100);

  gtk_window_set_default_size (GTK_WINDOW (window), 400, 400);
  gtk_window_set_child (GTK_WINDOW (window), view);
  kiln_image_view_set_image (KILN_IMAGE_VIEW (view), data, 200, 100, 1.0);
  gtk_window_present (GTK_WINDOW (window));
  iterate ();

  /* fit: a 200 × 100 image in a ~400-wide view is shown at zoom ≈ width / 200 */
  {
    int w = gtk_widget_get_width (view);
    int h = gtk_widget_get_height (view);
    double expect = MIN (w / 200.0, h / 100.0);
    g_assert_cmpint (w, >, 0);
    g_assert_cmpfloat_with_epsilon (kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view)), expect, 1e-9);
  }
  kiln_image_view_set_zoom (KILN_IMAGE_VIEW (view), 3.0);
  g_assert_cmpfloat_with_epsilon (kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view)), 3.0, 1e-12);
  kiln_image_view_set_zoom (KILN_IMAGE_VIEW (view), 1000.0);  /* clamped */
  g_assert_cmpfloat (kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view)), <=, 64.0);
  g_assert_true (gtk_widget_activate_action (view, "view.zoom-fit", NULL));
  g_assert_cmpfloat (kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view)), <, 64.0);

  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
}

static void
test_label_colors (void)
{
  GdkRGBA a, b, a2;

  kiln_label_color (1, &a);
  kiln_label_color (2, &b);
  kiln_label_color (1, &a2);
  g_assert_true (gdk_rgba_equal (&a, &a2));
  g_assert_false (gdk_rgba_equal (&a, &b));
  g_assert_cmpfloat (a.alpha, ==, 1.0);
}

static void
on_dragged (KilnImageView *view,
            double         dx,
            double         dy,
            double        *out)
{
  out[0] += dx;
  out[1] += dy;
  out[2] += 1;
}

static void
emit_drag (GtkWidget *view,
           double     dx,
           double     dy)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (view);
  GtkGesture *drag = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && drag == NULL; i++)
    {
      g_autoptr(GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_GESTURE_DRAG (c))
        drag = GTK_GESTURE (c);
    }
  g_assert_nonnull (drag);
  g_signal_emit_by_name (drag, "drag-begin", 50.0, 50.0);
  g_signal_emit_by_name (drag, "drag-update", dx, dy);
  g_signal_emit_by_name (drag, "drag-end", dx, dy);
}

/* Yellow pixels (the outline colour) in a rendering of @view. */
static guint
count_yellow (GtkWidget *view)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (view);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guint8 *pix = NULL;
  GtkSnapshot *snapshot;
  int w = gtk_widget_get_width (view), h = gtk_widget_get_height (view);
  guint n = 0;
  gint64 end = g_get_monotonic_time () + 200 * 1000;

  /* let the change be drawn */
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  snapshot = gtk_snapshot_new ();

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (view)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, w, h));
  w = gdk_texture_get_width (texture);
  h = gdk_texture_get_height (texture);
  pix = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (texture, pix, (gsize) w * 4);
  /* GDK_MEMORY_DEFAULT: B8G8R8A8 premultiplied */
  for (gsize i = 0; i < (gsize) w * h; i++)
    n += pix[4 * i + 2] > 200 && pix[4 * i + 1] > 180 && pix[4 * i] < 80;
  return n;
}

/* The outline overlay is drawn (yellow) and dropped with an image of another size;
 * drag-moves-image: a drag reports the content's move in image pixels (widget px / zoom); without
 * it a drag pans and reports nothing. */
static void
test_drag_and_outline (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = kiln_image_view_new ();
  g_autofree float *data = g_new0 (float, 100 * 100);
  g_autofree guint32 *labels = g_new0 (guint32, 100 * 100);
  double got[3] = { 0, 0, 0 };
  double zoom;

  gtk_window_set_default_size (GTK_WINDOW (window), 400, 400);
  gtk_window_set_child (GTK_WINDOW (window), view);
  kiln_image_view_set_image (KILN_IMAGE_VIEW (view), data, 100, 100, 1.0);
  for (guint y = 40; y < 60; y++)
    for (guint x = 30; x < 70; x++)
      labels[y * 100 + x] = 3;
  kiln_image_view_set_outline (KILN_IMAGE_VIEW (view), labels);
  gtk_window_present (GTK_WINDOW (window));
  iterate ();
  /* the outline is drawn: at zoom z, the 40 × 20 box's 116 border pixels cover 116·z² screen
   * pixels; linear filtering dims their outer half (measured: exactly half stay yellow), so
   * require a quarter */
  zoom = kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view));
  g_assert_cmpuint (count_yellow (view), >, 29 * zoom * zoom);
  kiln_image_view_set_outline (KILN_IMAGE_VIEW (view), NULL);
  g_assert_cmpuint (count_yellow (view), ==, 0);
  kiln_image_view_set_outline (KILN_IMAGE_VIEW (view), labels);
  g_signal_connect (view, "image-dragged", G_CALLBACK (on_dragged), got);
  zoom = kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view));
  g_assert_cmpfloat (zoom, >, 0);

  /* panning: nothing reported */
  emit_drag (view, 30, 12);
  g_assert_cmpfloat (got[2], ==, 0);

  kiln_image_view_set_drag_moves_image (KILN_IMAGE_VIEW (view), TRUE);
  emit_drag (view, 30, -12);
  g_assert_cmpfloat (got[2], ==, 1);
  g_assert_cmpfloat_with_epsilon (got[0], 30 / zoom, 1e-9);
  g_assert_cmpfloat_with_epsilon (got[1], -12 / zoom, 1e-9);
  /* the zoom did not change and a click without a move reports nothing */
  g_assert_cmpfloat (kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view)), ==, zoom);
  emit_drag (view, 0, 0);
  g_assert_cmpfloat (got[2], ==, 1);
  iterate ();

  /* an image of another size drops the outline */
  kiln_image_view_set_image (KILN_IMAGE_VIEW (view), data, 50, 200, 1.0);
  iterate ();
  g_assert_cmpuint (count_yellow (view), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  iterate ();
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
  g_test_add_func ("/app/image-view/levels", test_levels);
  g_test_add_func ("/app/image-view/fit-and-zoom", test_fit_and_zoom);
  g_test_add_func ("/app/image-view/label-colors", test_label_colors);
  g_test_add_func ("/app/image-view/drag-and-outline", test_drag_and_outline);
  return g_test_run ();
}
