/* test-reconstruct-panel.c — the Reconstruct step on a simulated experiment: SIRT through the
 * panel, with the simulator's axis, correlates with the truth volume and reports every
 * iteration; an ISER run stopped early keeps its volume.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>

#include "kiln-app-test-util.h"
#include "kiln-reconstruct-panel.h"

static gboolean
panel_idle (gpointer data)
{
  return kiln_reconstruct_panel_is_idle (KILN_RECONSTRUCT_PANEL (data));
}

static gboolean
two_iterations (gpointer data)
{
  return kiln_reconstruct_panel_get_n_reported (KILN_RECONSTRUCT_PANEL (data)) >= 2 ||
         kiln_reconstruct_panel_is_idle (KILN_RECONSTRUCT_PANEL (data));
}

static double
correlation (const float *a,
             const float *b,
             gsize        n)
{
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;

  for (gsize i = 0; i < n; i++)
    ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  for (gsize i = 0; i < n; i++)
    {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
  return sab / sqrt (saa * sbb);
}

static void
test_reconstruct (void)
{
  KilnSimParams sp;
  g_autofree char *dir = app_test_simulate ("recon-demo", 2, &sp);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autofree char *truth_path = g_build_filename (dir, "tp01", "truth", "volume.mrc", NULL);
  g_autoptr(KilnVolume) truth = NULL;
  g_autoptr(GError) error = NULL;
  KilnReconstructPanelParams p;
  const KilnReconResult *res;
  KilnVolume *v;
  GtkWidget *window, *panel;
  double r;

  truth = kiln_mrc_load_volume (truth_path, NULL, &error);
  g_assert_no_error (error);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 800);
  panel = kiln_reconstruct_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  kiln_document_set_axis (doc, 0, sp.axis_angle_deg, sp.axis_shift_px);
  kiln_reconstruct_panel_set_document (KILN_RECONSTRUCT_PANEL (panel), doc);

  p.method = KILN_RECON_SIRT;
  p.iterations = 20;
  p.data_passes = 1;
  p.tv_steps = 1;
  p.sensitivity = 1;
  p.thickness = truth->nz;
  kiln_reconstruct_panel_set_params (KILN_RECONSTRUCT_PANEL (panel), &p);
  g_assert_true (gtk_widget_activate_action (panel, "reconstruct.run", NULL));
  app_test_wait (panel_idle, panel, 120);
  v = kiln_document_get_reconstruction (doc, 0);
  g_assert_nonnull (v);
  g_assert_cmpuint (v->nx, ==, truth->nx);
  g_assert_cmpuint (v->ny, ==, truth->ny);
  g_assert_cmpuint (v->nz, ==, truth->nz);
  res = kiln_reconstruct_panel_get_result (KILN_RECONSTRUCT_PANEL (panel));
  g_assert_cmpuint (res->iterations_done, ==, 20);
  g_assert_false (res->stopped);
  /* every iteration reached the plots */
  g_assert_cmpuint (kiln_reconstruct_panel_get_n_reported (KILN_RECONSTRUCT_PANEL (panel)), ==, 20);
  r = correlation (v->data, truth->data, kiln_volume_n_voxels (v));
  g_test_message ("SIRT 20: correlation with the truth %.3f, residual %.4f", r, res->residual);
  /* noisy, drifted (σ 1.5 px, unaligned) ±40° data: the missing wedge and noise limit the
   * correlation; require 0.5 */
  g_assert_cmpfloat (r, >, 0.5);
  g_assert_true (kiln_document_has_result (doc, 0, KILN_DOC_STEP_RECONSTRUCT));

  /* teaching: the truth beside the result, with the error of the scaled reconstruction (the
   * figure is the least-squares fit a·v + b ≈ truth computed here again: equal to 1e-6) */
  kiln_reconstruct_panel_set_show_truth (KILN_RECONSTRUCT_PANEL (panel), TRUE);
  {
    double rmse, dice, sv = 0, st = 0, svv = 0, svt = 0, a, b, se = 0;
    gsize n = kiln_volume_n_voxels (v);

    g_assert_true (kiln_reconstruct_panel_get_truth_error (KILN_RECONSTRUCT_PANEL (panel), &rmse, &dice));
    for (gsize i = 0; i < n; i++)
      {
        sv += v->data[i], st += truth->data[i];
        svv += (double) v->data[i] * v->data[i], svt += (double) v->data[i] * truth->data[i];
      }
    a = (svt - sv * st / n) / (svv - sv * sv / n);
    b = (st - a * sv) / n;
    for (gsize i = 0; i < n; i++)
      se += (a * v->data[i] + b - truth->data[i]) * (a * v->data[i] + b - truth->data[i]);
    g_test_message ("SIRT 20 against the truth: RMS %.4f, Dice %.3f", rmse, dice);
    g_assert_cmpfloat (fabs (rmse - sqrt (se / n)), <, 1e-6);
    /* a real but imperfect reconstruction: RMS error well under the Cu contrast (1), and the
     * particles overlap the true ones (missing wedge, noise, unaligned drift: Dice ≥ 0.3) */
    g_assert_cmpfloat (rmse, >, 0.001);
    g_assert_cmpfloat (rmse, <, 0.3);
    g_assert_cmpfloat (dice, >=, 0.3);
    g_assert_cmpfloat (dice, <, 1.0);
  }
  app_test_screenshot (panel, "reconstruct");
  {
    /* the truth itself as the reconstruction (with Segment's threshold at 0.5): no error */
    g_autoptr(JsonObject) seg = json_object_new ();
    g_autoptr(KilnVolume) keep = kiln_volume_ref (v);   /* the document drops its reference */
    double rmse, dice;

    json_object_set_boolean_member (seg, "otsu", FALSE);
    json_object_set_double_member (seg, "threshold", 0.5);
    kiln_document_set_step_params (doc, KILN_DOC_STEP_SEGMENT, seg);
    kiln_document_set_reconstruction (doc, 0, truth);
    g_assert_true (kiln_reconstruct_panel_get_truth_error (KILN_RECONSTRUCT_PANEL (panel), &rmse, &dice));
    g_assert_cmpfloat (rmse, <, 1e-5);
    g_assert_cmpfloat (dice, ==, 1.0);
    kiln_document_set_reconstruction (doc, 0, v);
  }
  kiln_reconstruct_panel_set_show_truth (KILN_RECONSTRUCT_PANEL (panel), FALSE);
  g_assert_false (kiln_reconstruct_panel_get_truth_error (KILN_RECONSTRUCT_PANEL (panel), NULL, NULL));

  /* ISER stopped after a few iterations keeps the current volume */
  p.method = KILN_RECON_ISER;
  p.iterations = 300;
  kiln_reconstruct_panel_set_params (KILN_RECONSTRUCT_PANEL (panel), &p);
  g_assert_true (gtk_widget_activate_action (panel, "reconstruct.run", NULL));
  app_test_wait (two_iterations, panel, 60);
  g_assert_true (gtk_widget_activate_action (panel, "reconstruct.stop", NULL));
  app_test_wait (panel_idle, panel, 60);
  res = kiln_reconstruct_panel_get_result (KILN_RECONSTRUCT_PANEL (panel));
  g_test_message ("ISER: %u iterations done, stopped %d, %u reported", res->iterations_done,
                  res->stopped, kiln_reconstruct_panel_get_n_reported (KILN_RECONSTRUCT_PANEL (panel)));
  g_assert_true (res->stopped);
  g_assert_cmpuint (res->iterations_done, >=, 1);
  g_assert_cmpuint (res->iterations_done, <, 300);
  g_assert_true (kiln_document_get_reconstruction (doc, 0) != v);
  v = kiln_document_get_reconstruction (doc, 0);
  g_assert_nonnull (v);
  g_assert_cmpfloat (correlation (v->data, truth->data, kiln_volume_n_voxels (v)), >, 0.3);
  g_assert_cmpstr (json_object_get_string_member (kiln_document_get_step_params (doc, KILN_DOC_STEP_RECONSTRUCT), "method"),
                   ==, "iser");

  /* all time points (SIRT 10): both get a volume like the truth of their own time point */
  p.method = KILN_RECON_SIRT;
  p.iterations = 10;
  kiln_reconstruct_panel_set_params (KILN_RECONSTRUCT_PANEL (panel), &p);
  kiln_document_set_axis (doc, 1, sp.axis_angle_deg, sp.axis_shift_px);
  g_assert_true (gtk_widget_activate_action (panel, "reconstruct.run-all", NULL));
  app_test_wait (panel_idle, panel, 240);
  for (guint tp = 0; tp < 2; tp++)
    {
      g_autofree char *name = g_strdup_printf ("tp%02u", tp + 1);
      g_autofree char *tpath = g_build_filename (dir, name, "truth", "volume.mrc", NULL);
      g_autoptr(KilnVolume) t = kiln_mrc_load_volume (tpath, NULL, &error);
      KilnVolume *r = kiln_document_get_reconstruction (doc, tp);
      double c;

      g_assert_no_error (error);
      g_assert_nonnull (r);
      g_assert_true (r != v);
      c = correlation (r->data, t->data, kiln_volume_n_voxels (t));
      g_test_message ("all time points, SIRT 10: T%u correlation %.3f", tp + 1, c);
      /* same bound as the single SIRT run above */
      g_assert_cmpfloat (c, >, 0.5);
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
  g_test_add_func ("/app/reconstruct-panel/run-and-stop", test_reconstruct);
  return g_test_run ();
}
