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
  return g_test_run ();
}
