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
  app_test_screenshot (panel, "reconstruct");

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
