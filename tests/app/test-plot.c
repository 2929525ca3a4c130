/* test-plot.c — the plot widget: ranges, series, PNG export
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>

#include "kiln-plot.h"
#include "kiln-test-util.h"

static void
test_range_and_png (void)
{
  GtkWidget *plot = kiln_plot_new ();
  const double x[] = { 0, 5, 12, 60, 209 };
  const double y[] = { 10, 20, 25, 30, 31 };
  const double e[] = { 1, 1, 2, 2, 2 };
  double x0, x1, y0, y1;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_test_tmpfile ("plot.png");
  g_autoptr(GdkTexture) png = NULL;

  g_object_ref_sink (plot);
  kiln_plot_set_labels (KILN_PLOT (plot), "Neck radius", "PT time (s)", "r_n (nm)");
  g_assert_cmpuint (kiln_plot_add_series (KILN_PLOT (plot), "P1", KILN_PLOT_POINTS, 3, x, y, e, 5), ==, 0);
  g_assert_cmpuint (kiln_plot_get_n_series (KILN_PLOT (plot)), ==, 1);

  /* the range covers every point with its error bar, with margins of 4 % (x) and 8 % (y) */
  kiln_plot_get_range (KILN_PLOT (plot), &x0, &x1, &y0, &y1);
  g_assert_cmpfloat_with_epsilon (x0, -0.04 * 209, 1e-9);
  g_assert_cmpfloat_with_epsilon (x1, 209 + 0.04 * 209, 1e-9);
  g_assert_cmpfloat_with_epsilon (y0, 9 - 0.08 * 24, 1e-9);
  g_assert_cmpfloat_with_epsilon (y1, 33 + 0.08 * 24, 1e-9);

  g_assert_true (kiln_plot_save_png (KILN_PLOT (plot), path, 400, 300, &error));
  g_assert_no_error (error);
  png = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (png), ==, 400);
  g_assert_cmpint (gdk_texture_get_height (png), ==, 300);

  /* SVG export: a well-formed SVG document */
  {
    g_autofree char *svg_path = kiln_test_tmpfile ("plot.svg");
    g_autofree char *svg = NULL;
    g_assert_true (kiln_plot_save_svg (KILN_PLOT (plot), svg_path, 400, 300, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (svg_path, &svg, NULL, NULL));
    g_assert_nonnull (strstr (svg, "<svg"));
    g_assert_nonnull (strstr (svg, "</svg>"));
  }

  /* hover: the point nearest the pointer is found within the radius, nothing far away */
  {
    GtkWidget *window = gtk_window_new ();
    guint si = 99, k = 99;
    int w, h;
    double px, py;

    gtk_window_set_default_size (GTK_WINDOW (window), 400, 300);
    gtk_window_set_child (GTK_WINDOW (window), plot);
    gtk_window_present (GTK_WINDOW (window));
    for (int i = 0; i < 50; i++)
      while (g_main_context_iteration (NULL, FALSE))
        ;
    w = gtk_widget_get_width (plot);
    h = gtk_widget_get_height (plot);
    kiln_plot_get_range (KILN_PLOT (plot), &x0, &x1, &y0, &y1);
    /* where the point (60, 30) is drawn: the plot area starts 64 px from the left, 32 from the
     * top, and ends 16 px from the right, 48 from the bottom */
    px = 64 + (60 - x0) / (x1 - x0) * (w - 80);
    py = 32 + (1 - (30 - y0) / (y1 - y0)) * (h - 80);
    g_assert_true (kiln_plot_pick (KILN_PLOT (plot), px + 2, py - 2, 8, &si, &k));
    g_assert_cmpuint (si, ==, 0);
    g_assert_cmpuint (k, ==, 3);
    g_assert_false (kiln_plot_pick (KILN_PLOT (plot), 2, 2, 8, &si, &k));
    gtk_window_set_child (GTK_WINDOW (window), NULL);
    gtk_window_destroy (GTK_WINDOW (window));
  }

  /* NaN points are skipped, not drawn at 0, and do not widen the range */
  {
    const double xn[] = { 1, NAN };
    const double yn[] = { NAN, 100 };
    kiln_plot_add_series (KILN_PLOT (plot), NULL, KILN_PLOT_LINE, 0, xn, yn, NULL, 2);
    kiln_plot_get_range (KILN_PLOT (plot), &x0, &x1, &y0, &y1);
    g_assert_cmpfloat (y1, <, 40);
  }
  kiln_plot_clear (KILN_PLOT (plot));
  g_assert_cmpuint (kiln_plot_get_n_series (KILN_PLOT (plot)), ==, 0);
  g_object_unref (plot);
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
  g_test_add_func ("/app/plot/range-and-png", test_range_and_png);
  return g_test_run ();
}
