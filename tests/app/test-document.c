/* test-document.c — the document's step results and parameters: Save writes them into the
 * experiment folder and a reopened document gets them back (reconstruction + labels preferred
 * over the simulator's truth), undo/redo of parameter changes round-trips through a panel, and a
 * single imported series cannot be saved as an experiment.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "kiln-app-test-util.h"
#include "kiln-denoise-panel.h"
#include "kiln-window.h"

static void
on_volume (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GError) error = NULL;
  KilnVolumePair **out = data;

  *out = kiln_document_load_volume_finish (KILN_DOCUMENT (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
have_pair (gpointer data)
{
  return *(KilnVolumePair **) data != NULL;
}

static void
test_save_reopen (void)
{
  g_autofree char *dir = app_test_simulate ("doc-demo", 2, NULL);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autofree char *vpath = g_build_filename (dir, "tp02", "truth", "volume.mrc", NULL);
  g_autofree char *lpath = g_build_filename (dir, "tp02", "truth", "labels.mrc", NULL);
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) l = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) params = json_object_new ();
  g_autoptr(KilnVolumePair) pair = NULL;
  g_autoptr(KilnDocument) again = NULL;
  g_autoptr(KilnExperiment) exp = NULL;
  double a = 0, s = 0;

  v = kiln_mrc_load_volume (vpath, NULL, &error);
  g_assert_no_error (error);
  l = kiln_mrc_load_labels (lpath, NULL, &error);
  g_assert_no_error (error);
  /* pretend time point 2 was reconstructed (as the truth, scaled) and segmented */
  for (gsize i = 0; i < kiln_volume_n_voxels (v); i++)
    v->data[i] = 2 * v->data[i] + 1;
  kiln_document_set_axis (doc, 1, 3.25, -1.5);
  kiln_document_set_reconstruction (doc, 1, v);
  kiln_document_set_labels (doc, 1, l);
  json_object_set_string_member (params, "method", "sirt");
  kiln_document_set_step_params (doc, KILN_DOC_STEP_RECONSTRUCT, params);
  g_assert_true (kiln_document_get_modified (doc));
  g_assert_true (kiln_document_has_result (doc, 1, KILN_DOC_STEP_SEGMENT));
  g_assert_false (kiln_document_has_result (doc, 0, KILN_DOC_STEP_SEGMENT));
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_assert_false (kiln_document_get_modified (doc));

  /* experiment.json is still a valid experiment and names the results */
  exp = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (kiln_experiment_get_step (exp, "results"));
  g_assert_cmpstr (json_object_get_string_member (kiln_experiment_get_step (exp, "reconstruct"), "method"), ==, "sirt");

  again = app_test_open (dir);
  g_assert_true (kiln_document_get_axis (again, 1, &a, &s));
  g_assert_cmpfloat (a, ==, 3.25);
  g_assert_cmpfloat (s, ==, -1.5);
  g_assert_false (kiln_document_get_axis (again, 0, NULL, NULL));
  g_assert_true (kiln_document_has_result (again, 1, KILN_DOC_STEP_RECONSTRUCT));
  g_assert_true (kiln_document_has_result (again, 1, KILN_DOC_STEP_SEGMENT));
  g_assert_false (kiln_document_has_result (again, 0, KILN_DOC_STEP_RECONSTRUCT));
  {
    g_autofree char *path = kiln_document_dup_labels_path (again, 1);
    g_autofree char *truth_path = kiln_document_dup_labels_path (again, 0);
    g_assert_nonnull (strstr (path, "results"));
    /* time point 1 has no segmentation: the truth's labels */
    g_assert_nonnull (strstr (truth_path, "truth"));
  }
  /* the volume for Analyze is the saved reconstruction (not the truth) with its labels */
  kiln_document_load_volume_async (again, 1, NULL, on_volume, &pair);
  app_test_wait (have_pair, &pair, 30);
  g_assert_cmpuint (pair->volume->nx, ==, v->nx);
  for (gsize i = 0; i < kiln_volume_n_voxels (v); i++)
    g_assert_cmpfloat (pair->volume->data[i], ==, v->data[i]);
  g_assert_nonnull (pair->labels);
  g_assert_cmpint (memcmp (pair->labels->data, l->data, kiln_label_volume_n_voxels (l) * 4), ==, 0);
  g_assert_true (kiln_document_get_reconstruction (again, 1) != NULL);
}

static void
test_undo_redo (void)
{
  g_autofree char *dir = app_test_simulate ("undo-demo", 1, NULL);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *panel = kiln_denoise_panel_new ();
  double variance;
  KilnNoiseKind kind;

  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  kiln_denoise_panel_set_document (KILN_DENOISE_PANEL (panel), doc);
  g_assert_false (kiln_document_can_undo (doc));

  kiln_denoise_panel_set_params (KILN_DENOISE_PANEL (panel), KILN_NOISE_G4, 200, KILN_BM3D_PROFILE_FAST);
  g_usleep (700 * 1000);   /* past the coalescing window: a separate undo step */
  kiln_denoise_panel_set_params (KILN_DENOISE_PANEL (panel), KILN_NOISE_G2, 300, KILN_BM3D_PROFILE_FAST);
  g_assert_true (kiln_document_can_undo (doc));

  g_assert_true (kiln_document_undo (doc));
  kiln_denoise_panel_get_params (KILN_DENOISE_PANEL (panel), &kind, &variance, NULL);
  g_assert_cmpint (kind, ==, KILN_NOISE_G4);
  g_assert_cmpfloat (variance, ==, 200);
  g_assert_true (kiln_document_can_redo (doc));
  g_assert_true (kiln_document_redo (doc));
  kiln_denoise_panel_get_params (KILN_DENOISE_PANEL (panel), &kind, &variance, NULL);
  g_assert_cmpint (kind, ==, KILN_NOISE_G2);
  g_assert_cmpfloat (variance, ==, 300);
  g_assert_cmpfloat (json_object_get_double_member (kiln_document_get_step_params (doc, KILN_DOC_STEP_DENOISE), "variance"), ==, 300);
  /* back to the start: no denoise parameters; the panel shows the simulated noise again */
  g_assert_true (kiln_document_undo (doc));
  g_assert_true (kiln_document_undo (doc));
  g_assert_false (kiln_document_can_undo (doc));
  g_assert_null (kiln_document_get_step_params (doc, KILN_DOC_STEP_DENOISE));
  kiln_denoise_panel_get_params (KILN_DENOISE_PANEL (panel), &kind, &variance, NULL);
  g_assert_cmpfloat (variance, ==, 137);
  /* a new change drops the redo history */
  g_assert_true (kiln_document_can_redo (doc));
  kiln_denoise_panel_set_params (KILN_DENOISE_PANEL (panel), KILN_NOISE_G4, 50, KILN_BM3D_PROFILE_FAST);
  g_assert_false (kiln_document_can_redo (doc));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_single_series (void)
{
  g_autofree char *path = kiln_test_tmpfile ("single.mrc");
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (2, 16, 16, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnDocument) doc = NULL;

  g_assert_true (kiln_mrc_save_stack (st, path, "test", &error));
  g_assert_no_error (error);
  doc = app_test_open (path);
  g_assert_cmpuint (kiln_document_get_n_time_points (doc), ==, 1);
  g_assert_false (kiln_document_save (doc, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
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
  g_test_add_func ("/app/document/save-reopen", test_save_reopen);
  g_test_add_func ("/app/document/undo-redo", test_undo_redo);
  g_test_add_func ("/app/document/single-series", test_single_series);
  return g_test_run ();
}
