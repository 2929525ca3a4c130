/* kiln-app-test-util.h — shared helpers of the panel tests: a small simulated experiment opened
 * in a document, and waiting on the main loop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"
#include "kiln-test-util.h"

static inline void
app_test_wait (gboolean (*done) (gpointer),
               gpointer   data,
               guint      timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!done (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done (data));
}

static void
app_test_on_opened (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(GError) error = NULL;

  gboolean ok = kiln_document_open_finish (KILN_DOCUMENT (source), result, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  *(gboolean *) data = TRUE;
}

static inline gboolean
app_test_flag (gpointer data)
{
  return *(gboolean *) data;
}

/* Open @dir (an experiment folder) in a new document. */
static inline KilnDocument *
app_test_open (const char *dir)
{
  KilnDocument *doc = kiln_document_new ();
  g_autoptr(GFile) file = g_file_new_for_path (dir);
  gboolean opened = FALSE;

  kiln_document_open_async (doc, file, NULL, NULL, NULL, app_test_on_opened, &opened);
  app_test_wait (app_test_flag, &opened, 60);
  return doc;
}

/* The teaching preset with @n_time_points into a new temp folder @name; returns its path. */
static inline char *
app_test_simulate (const char    *name,
                   guint          n_time_points,
                   KilnSimParams *params_out)
{
  char *dir = kiln_test_tmpfile (name);
  g_autoptr(GError) error = NULL;
  KilnSimParams params;

  kiln_sim_params_init (&params, KILN_SIM_PRESET_TEACHING);
  params.n_time_points = n_time_points;
  g_assert_true (kiln_sim_write_experiment (&params, dir, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  if (params_out != NULL)
    *params_out = params;
  return dir;
}

static void
app_test_on_tp_loaded (GObject      *source,
                       GAsyncResult *result,
                       gpointer      data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = kiln_document_load_time_point_finish (KILN_DOCUMENT (source),
                                                                         result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stack);
  *(gboolean *) data = TRUE;
}

static inline void
app_test_load_time_point (KilnDocument *doc,
                          guint         index)
{
  gboolean done = FALSE;

  kiln_document_load_time_point_async (doc, index, NULL, app_test_on_tp_loaded, &done);
  app_test_wait (app_test_flag, &done, 60);
}

/* Mean squared difference of horizontally adjacent pixels: the high-frequency energy. */
static inline double
app_test_roughness (const float *data,
                    guint        width,
                    guint        height)
{
  double s = 0;

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x + 1 < width; x++)
      {
        double d = data[(gsize) y * width + x + 1] - data[(gsize) y * width + x];
        s += d * d;
      }
  return s / ((double) height * (width - 1));
}

/* Save a screenshot of @widget as screenshot-NAME.png in the tests' build directory (for
 * reviewers). */
static inline void
app_test_screenshot (GtkWidget  *widget,
                     const char *name)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snapshot;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  g_autofree char *file = g_strdup_printf ("screenshot-%s.png", name);
  g_autofree char *path = NULL;
  const char *dir = g_getenv ("G_TEST_BUILDDIR");
  graphene_rect_t bounds;

  if (dir == NULL)
    return;   /* run outside meson: no build directory to write into */
  if (w <= 0 || h <= 0 || gtk_widget_get_native (widget) == NULL)
    {
      g_test_message ("no screenshot of %s: not shown (%d × %d)", name, w, h);
      return;
    }
  {
    /* the application's style sheet, which GtkApplication loads in the app (panels built
     * without a KilnApplication would otherwise show, e.g., dark on-screen readouts) */
    static gboolean css_done;
    if (!css_done)
      {
        GtkCssProvider *css = gtk_css_provider_new ();
        gtk_css_provider_load_from_resource (css, "/io/github/kiln_tomo/Kiln/style.css");
        gtk_style_context_add_provider_for_display (gtk_widget_get_display (widget),
                                                    GTK_STYLE_PROVIDER (css),
                                                    GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
        g_object_unref (css);
        css_done = TRUE;
      }
  }
  {
    /* let a few frames be drawn */
    gint64 end = g_get_monotonic_time () + 300 * 1000;
    while (g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE);
  }
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_test_message ("no screenshot of %s: nothing drawn", name);
      return;
    }
  graphene_rect_init (&bounds, 0, 0, w, h);
  {
    /* the Cairo renderer: GTK 4.8's GL renderer garbles text drawn with opacity (dim labels)
     * when rendering to a texture under Xvfb; fall back to the window's renderer */
    GskRenderer *cairo = gsk_cairo_renderer_new ();
    if (gsk_renderer_realize (cairo, gtk_native_get_surface (gtk_widget_get_native (widget)), NULL))
      {
        texture = gsk_renderer_render_texture (cairo, node, &bounds);
        gsk_renderer_unrealize (cairo);
      }
    g_object_unref (cairo);
  }
  if (texture == NULL)
    texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                           node, &bounds);
  path = g_build_filename (dir, file, NULL);
  if (!gdk_texture_save_to_png (texture, path))
    g_test_message ("could not write %s", path);
}
