/* test-align-panel.c — the Align step on a simulated experiment: the shifts found through the
 * panel undo the simulator's drift, the aligned stack is stored in the document and becomes the
 * next step's input, and Save/Open round-trips the transforms.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "kiln-align-panel.h"
#include "kiln-app-test-util.h"
#include "kiln-image-view.h"

static gboolean
panel_idle (gpointer data)
{
  return kiln_align_panel_is_idle (KILN_ALIGN_PANEL (data));
}


/* The first descendant of @widget of @type (depth first). */
static GtkWidget *
find_descendant (GtkWidget *widget,
                 GType      type)
{
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        return c;
      if ((found = find_descendant (c, type)) != NULL)
        return found;
    }
  return NULL;
}

/* Drag the view's content by (dx, dy) widget pixels through its drag gesture's handlers. */
static void
simulate_drag (GtkWidget *view,
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
  g_signal_emit_by_name (drag, "drag-begin", 200.0, 150.0);
  g_signal_emit_by_name (drag, "drag-update", dx / 2, dy / 2);
  g_signal_emit_by_name (drag, "drag-update", dx, dy);
  g_signal_emit_by_name (drag, "drag-end", dx, dy);
}

static void
test_align (void)
{
  KilnSimParams sp;
  g_autofree char *dir = app_test_simulate ("align-demo", 2, &sp);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autoptr(GError) error = NULL;
  g_autofree char *drift_path = g_build_filename (dir, "tp01", "truth", "drift.xf", NULL);
  g_autofree KilnXf *drift = NULL;
  const KilnXf *xf;
  KilnImageStack *raw, *aligned;
  GtkWidget *window, *panel;
  guint n_drift = 0, n_xf = 0;
  double e_aligned, e_none;

  drift = kiln_xf_load (drift_path, &n_drift, &error);
  g_assert_no_error (error);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  panel = kiln_align_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  kiln_align_panel_set_document (KILN_ALIGN_PANEL (panel), doc);
  kiln_align_panel_set_params (KILN_ALIGN_PANEL (panel), KILN_ALIGN_XCORR, sp.axis_angle_deg);

  g_assert_true (gtk_widget_activate_action (panel, "align.run", NULL));
  app_test_wait (panel_idle, panel, 120);
  raw = kiln_document_get_stack (doc, 0);
  aligned = kiln_document_get_aligned (doc, 0);
  g_assert_nonnull (aligned);
  g_assert_cmpuint (aligned->n_tilts, ==, raw->n_tilts);
  g_assert_true (kiln_document_has_result (doc, 0, KILN_DOC_STEP_ALIGN));
  g_assert_true (kiln_document_get_input_stack (doc, 0, KILN_DOC_STEP_TILT_AXIS) == aligned);
  xf = kiln_document_get_alignment (doc, 0, &n_xf);
  g_assert_cmpuint (n_xf, ==, n_drift);
  g_assert_nonnull (kiln_align_panel_get_result (KILN_ALIGN_PANEL (panel)));

  /* the correction moves the content back: xf ≈ −drift, up to what no alignment observes (see
   * kiln_align_rms_error_unobservable_removed). The simulator's drift has σ 1.5 px per axis; require the residual to be
   * under a third of the uncorrected drift and under 0.6 px RMS (the core's own simulator test
   * gets ≤ 0.5 px with cross-correlation on noisier data). */
  e_aligned = kiln_align_rms_error_unobservable_removed (xf, drift, raw->angles_deg, sp.axis_angle_deg, n_xf);
  e_none = kiln_align_rms_error_unobservable_removed (NULL, drift, raw->angles_deg, sp.axis_angle_deg, n_xf);
  g_test_message ("RMS drift %.2f px, after alignment %.2f px", e_none, e_aligned);
  /* the panel shows the same figure to the teacher (same computation: equal up to rounding) */
  g_assert_cmpfloat (fabs (kiln_align_panel_get_truth_error (KILN_ALIGN_PANEL (panel)) - e_aligned), <, 1e-9);
  g_assert_cmpfloat (e_aligned, <, e_none / 3);
  g_assert_cmpfloat (e_aligned, <, 0.6);
  g_assert_cmpstr (json_object_get_string_member (kiln_document_get_step_params (doc, KILN_DOC_STEP_ALIGN), "method"),
                   ==, "xcorr");
  app_test_screenshot (panel, "align");

  /* drag to fix: moving tilt 6's content by (+4, −2) image px adds that to its transform's
   * shift (exactly, up to rounding), re-warps the tilt exactly as kiln_align_apply would, worsens
   * the error against the truth (a 4.5 px error on one tilt of a good alignment), and undo/redo
   * restore / re-apply it */
  {
    KilnAlignPanel *ap = KILN_ALIGN_PANEL (panel);
    GtkWidget *view = find_descendant (panel, KILN_TYPE_IMAGE_VIEW);
    double zoom = kiln_image_view_get_zoom (KILN_IMAGE_VIEW (view));
    KilnXf before = *kiln_align_panel_get_shown_tilt (ap, NULL);
    const KilnXf *after;
    guint tilt = 99;
    double e_fixed;

    kiln_align_panel_set_tilt (ap, 5);
    before = *kiln_align_panel_get_shown_tilt (ap, &tilt);
    g_assert_cmpuint (tilt, ==, 5);
    simulate_drag (view, 4 * zoom, -2 * zoom);
    after = kiln_align_panel_get_shown_tilt (ap, &tilt);
    g_assert_cmpuint (tilt, ==, 5);   /* the view stays on the dragged tilt */
    g_assert_cmpfloat (fabs (after->dx - (before.dx + 4)), <, 1e-9);
    g_assert_cmpfloat (fabs (after->dy - (before.dy - 2)), <, 1e-9);
    {
      const KilnXf *all = kiln_document_get_alignment (doc, 0, &n_xf);
      g_autoptr(KilnImageStack) expect = kiln_align_apply (kiln_document_get_input_stack (doc, 0, KILN_DOC_STEP_ALIGN),
                                                           all, KILN_INTERP_LINEAR, NULL, NULL, NULL, NULL, &error);
      KilnImageStack *got = kiln_document_get_aligned (doc, 0);
      double maxd = 0;

      g_assert_no_error (error);
      for (guint k = 0; k < got->n_tilts; k++)
        for (gsize i = 0; i < (gsize) got->width * got->height; i++)
          maxd = MAX (maxd, fabs (kiln_image_stack_tilt (got, k)[i] - kiln_image_stack_tilt (expect, k)[i]));
      g_assert_cmpfloat (maxd, <, 1e-3);
    }
    e_fixed = kiln_align_panel_get_truth_error (ap);
    g_test_message ("after a wrong fix of tilt 6: %.2f px RMS (was %.2f)", e_fixed, e_aligned);
    g_assert_cmpfloat (e_fixed, >, e_aligned + 0.1);
    g_assert_true (kiln_document_undo (doc));
    after = kiln_align_panel_get_shown_tilt (ap, NULL);
    g_assert_cmpfloat (fabs (after->dx - before.dx) + fabs (after->dy - before.dy), <, 1e-9);
    g_assert_cmpfloat (fabs (kiln_align_panel_get_truth_error (ap) - e_aligned), <, 1e-9);
    g_assert_true (kiln_document_redo (doc));
    after = kiln_align_panel_get_shown_tilt (ap, NULL);
    g_assert_cmpfloat (fabs (after->dx - (before.dx + 4)), <, 1e-9);
    g_assert_cmpfloat (fabs (kiln_align_panel_get_truth_error (ap) - e_fixed), <, 1e-9);
    g_assert_true (kiln_document_undo (doc));
    xf = kiln_document_get_alignment (doc, 0, &n_xf);
  }

  /* all time points: each is aligned (the second from the first's result) and undoes its own
   * drift as well as the single run did (same 0.6 px bound) */
  g_assert_true (gtk_widget_activate_action (panel, "align.run-all", NULL));
  app_test_wait (panel_idle, panel, 240);
  for (guint tp = 0; tp < 2; tp++)
    {
      g_autofree char *p = g_strdup_printf ("tp%02u", tp + 1);
      g_autofree char *dpath = g_build_filename (dir, p, "truth", "drift.xf", NULL);
      g_autofree KilnXf *d = kiln_xf_load (dpath, &n_drift, &error);
      KilnImageStack *s = kiln_document_get_stack (doc, tp);
      const KilnXf *x = kiln_document_get_alignment (doc, tp, &n_xf);
      double e;

      g_assert_no_error (error);
      g_assert_nonnull (s);
      g_assert_nonnull (x);
      g_assert_true (kiln_document_has_result (doc, tp, KILN_DOC_STEP_ALIGN));
      e = kiln_align_rms_error_unobservable_removed (x, d, s->angles_deg, sp.axis_angle_deg, n_xf);
      g_test_message ("all time points: T%u %.2f px RMS", tp + 1, e);
      g_assert_cmpfloat (e, <, 0.6);
    }
  xf = kiln_document_get_alignment (doc, 0, &n_xf);

  /* save and reopen: transforms and aligned stack come back */
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  {
    g_autoptr(KilnDocument) again = app_test_open (dir);
    guint n = 0;
    const KilnXf *back = kiln_document_get_alignment (again, 0, &n);

    g_assert_cmpuint (n, ==, n_xf);
    g_assert_nonnull (kiln_document_get_aligned (again, 0));
    /* .xf files keep 1e-6 precision */
    for (guint k = 0; k < n; k++)
      g_assert_cmpfloat (fabs (back[k].dx - xf[k].dx) + fabs (back[k].dy - xf[k].dy), <, 1e-4);
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  /* no accessibility bus: under a loaded xvfb-run it can vanish and GTK then logs a critical */
  g_setenv ("GTK_A11Y", "none", TRUE);
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 77;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/align-panel/align", test_align);
  return g_test_run ();
}
