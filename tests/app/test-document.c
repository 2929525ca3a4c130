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
#include <utime.h>
#include <glib/gstdio.h>

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
    /* the pipeline layout: DIR/tpNN/labels.mrc */
    g_assert_true (g_str_has_suffix (path, "tp02/labels.mrc"));
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

static JsonObject *
denoise_params (const char *psd,
                double      variance)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "psd", psd);
  json_object_set_double_member (o, "variance", variance);
  json_object_set_string_member (o, "profile", "fast");
  return o;
}

/* Autosave and crash restore (#12.4): a session edits parameters, a time point's PT time and a
 * tilt axis, autosaves and "crashes" (the document goes away without a clean close); the
 * reopened experiment offers the autosave, restoring gives back every value; saving removes it;
 * an autosave older than experiment.json is not offered; a damaged one is a clear error. */
static void
test_autosave_restore (void)
{
  g_autofree char *dir = app_test_simulate ("autosave-demo", 2, NULL);
  g_autofree char *autosave = g_build_filename (dir, ".experiment.autosave.json", NULL);
  g_autofree char *json = g_build_filename (dir, "experiment.json", NULL);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autoptr(JsonObject) denoise = denoise_params ("g2", 0.02);
  g_autoptr(JsonObject) recon = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  JsonObject *p;
  double a = 0, sh = 0;
  struct utimbuf later;
  GStatBuf st;

  path = kiln_document_dup_autosave_path (doc);
  g_assert_cmpstr (path, ==, autosave);
  g_assert_false (kiln_document_has_newer_autosave (doc));
  kiln_document_set_step_params (doc, KILN_DOC_STEP_DENOISE, denoise);
  json_object_set_string_member (recon, "method", "sirt");
  json_object_set_int_member (recon, "iterations", 12);
  kiln_document_set_step_params (doc, KILN_DOC_STEP_RECONSTRUCT, recon);
  kiln_document_set_axis (doc, 1, 4.5, -2.0);
  g_assert_true (kiln_document_set_time_s (doc, 1, 77));
  g_assert_true (kiln_document_autosave (doc, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (autosave, G_FILE_TEST_IS_REGULAR));
  g_clear_object (&doc);   /* the "crash": no clean close, the autosave stays */
  g_assert_true (g_file_test (autosave, G_FILE_TEST_IS_REGULAR));

  doc = app_test_open (dir);
  g_assert_true (kiln_document_has_newer_autosave (doc));
  p = kiln_document_get_step_params (doc, KILN_DOC_STEP_DENOISE);
  g_assert_true (p == NULL || g_strcmp0 (json_object_get_string_member_with_default (p, "psd", ""), "g2") != 0);
  g_assert_false (kiln_document_get_axis (doc, 1, NULL, NULL));
  g_assert_false (kiln_document_get_modified (doc));
  g_assert_true (kiln_document_restore_autosave (doc, &error));
  g_assert_no_error (error);
  /* exact values: they went through JSON text, which keeps doubles exactly (%.17g) */
  p = kiln_document_get_step_params (doc, KILN_DOC_STEP_DENOISE);
  g_assert_cmpstr (json_object_get_string_member (p, "psd"), ==, "g2");
  g_assert_cmpfloat (json_object_get_double_member (p, "variance"), ==, 0.02);
  p = kiln_document_get_step_params (doc, KILN_DOC_STEP_RECONSTRUCT);
  g_assert_cmpstr (json_object_get_string_member (p, "method"), ==, "sirt");
  g_assert_cmpint (json_object_get_int_member (p, "iterations"), ==, 12);
  g_assert_true (kiln_document_get_axis (doc, 1, &a, &sh));
  g_assert_cmpfloat (a, ==, 4.5);
  g_assert_cmpfloat (sh, ==, -2.0);
  g_assert_false (kiln_document_get_axis (doc, 0, NULL, NULL));
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 1), ==, 77);
  g_assert_true (kiln_document_get_modified (doc));
  g_assert_true (kiln_document_can_undo (doc));

  /* saving makes the autosave obsolete: it is removed, and the values are in experiment.json */
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));
  g_assert_false (kiln_document_has_newer_autosave (doc));
  g_clear_object (&doc);
  doc = app_test_open (dir);
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 1), ==, 77);
  g_assert_true (kiln_document_get_axis (doc, 1, &a, NULL));
  g_assert_cmpfloat (a, ==, 4.5);

  /* an autosave older than the saved experiment is not offered */
  g_assert_true (kiln_document_set_time_s (doc, 0, 5));
  g_assert_true (kiln_document_autosave (doc, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (autosave, &st), ==, 0);
  later.actime = later.modtime = st.st_mtime + 100;
  g_assert_cmpint (utime (json, &later), ==, 0);
  g_assert_false (kiln_document_has_newer_autosave (doc));

  /* a damaged autosave: an error naming it, nothing applied */
  g_assert_true (g_file_set_contents (autosave, "{ \"format\": ", -1, NULL));
  g_assert_false (kiln_document_restore_autosave (doc, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, ".experiment.autosave.json"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (autosave, "{ \"format\": \"other\" }", -1, NULL));
  g_assert_false (kiln_document_restore_autosave (doc, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  kiln_document_remove_autosave (doc);
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));
}

/* The methods paragraph of the app is the pipeline's (kiln-cli methods) with the app's
 * parameters, plus the tilt axes chosen in the app. */
static void
test_methods (void)
{
  g_autofree char *dir = app_test_simulate ("methods-demo", 1, NULL);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autoptr(JsonObject) denoise = denoise_params ("g2", 0.5);
  g_autoptr(JsonObject) preview = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *cli = NULL;
  g_autofree char *path = kiln_test_tmpfile ("methods-single.mrc");
  g_autoptr(KilnImageStack) st = kiln_image_stack_new (2, 16, 16, NULL);
  g_autoptr(KilnDocument) single = NULL;
  const char *sentence;
  g_autofree char *denoise_sentence = NULL;

  kiln_document_set_step_params (doc, KILN_DOC_STEP_DENOISE, denoise);
  /* an app-only parameter (the tilt-axis preview) must not make the pipeline refuse */
  json_object_set_string_member (preview, "preview", "weighted");
  kiln_document_set_step_params (doc, KILN_DOC_STEP_TILT_AXIS, preview);
  kiln_document_set_axis (doc, 0, 3.5, -1.25);
  text = kiln_document_dup_methods (doc, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "psd = g2"));
  g_assert_nonnull (strstr (text, "variance = 0.5"));
  g_assert_nonnull (strstr (text, "Axis angle found: 3.5 °."));
  g_assert_nonnull (strstr (text, "Axis shift found: -1.25 px."));

  /* the same denoising sentence as kiln-cli methods prints for the saved experiment */
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_assert_cmpint (kiln_test_run_cli (&cli, NULL, "methods", dir, NULL), ==, 0);
  sentence = strstr (cli, "Denoising:");
  g_assert_nonnull (sentence);
  denoise_sentence = g_strndup (sentence, strstr (sentence, ").") - sentence + 2);
  g_assert_nonnull (strstr (denoise_sentence, "psd = g2"));
  g_assert_nonnull (strstr (text, denoise_sentence));

  /* a single series has no analysis to describe */
  g_assert_true (kiln_mrc_save_stack (st, path, "test", &error));
  single = app_test_open (path);
  g_assert_null (kiln_document_dup_methods (single, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
}

/* One layout for the app and kiln-cli run (docs/pipeline.md): the app saves its alignment and
 * axis as DIR/tp01/aligned.mrc, align.xf, axis.json; `kiln-cli run --steps reconstruct,segment,
 * measure` reconstructs from exactly those (it reports the app's axis) and the reopened app shows
 * the pipeline's reconstruction and labels, voxel for voxel. */
static void
test_pipeline_layout (void)
{
  KilnSimParams params;
  g_autofree char *dir = app_test_simulate ("layout-demo", 1, &params);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autoptr(JsonObject) recon = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree KilnXf *xf = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *labels_path = NULL;
  g_autofree char *file = NULL;
  g_autoptr(KilnDocument) again = NULL;
  g_autoptr(KilnVolumePair) pair = NULL;
  g_autoptr(KilnLabelVolume) direct = NULL;
  g_autoptr(KilnExperiment) e = NULL;
  g_autoptr(JsonObject) results = NULL;
  KilnImageStack *stack = kiln_document_get_stack (doc, 0);
  JsonObject *details;
  guint max_label = 0;
  const char *files[] = { "aligned.mrc", "align.xf", "axis.json" };

  /* the app's results: an identity alignment (the raw tilts) and the true axis */
  xf = g_new (KilnXf, stack->n_tilts);
  for (guint k = 0; k < stack->n_tilts; k++)
    kiln_xf_identity (&xf[k]);
  kiln_document_set_aligned (doc, 0, xf, stack);
  kiln_document_set_axis (doc, 0, params.axis_angle_deg, params.axis_shift_px);
  json_object_set_string_member (recon, "method", "wbp");
  kiln_document_set_step_params (doc, KILN_DOC_STEP_RECONSTRUCT, recon);
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_free (file);
      file = g_build_filename (dir, "tp01", files[i], NULL);
      g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
    }

  g_assert_cmpint (kiln_test_run_cli (&out, &err, "run", dir, "--steps", "reconstruct,segment,measure",
                                      "--threads", "2", NULL), ==, 0);
  e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  results = kiln_pipeline_load_results (e, 0, &error);
  g_assert_no_error (error);
  details = json_object_get_object_member (json_object_get_object_member (
              json_object_get_object_member (results, "steps"), "reconstruct"), "details");
  /* the pipeline took the app's axis.json (exact: %.17g JSON numbers) */
  g_assert_cmpfloat (json_object_get_double_member (details, "axis_angle_deg"), ==, params.axis_angle_deg);
  g_assert_cmpfloat (json_object_get_double_member (details, "axis_shift_px"), ==, params.axis_shift_px);

  /* the app opens what the pipeline computed */
  again = app_test_open (dir);
  g_assert_true (kiln_document_has_result (again, 0, KILN_DOC_STEP_ALIGN));
  g_assert_true (kiln_document_has_result (again, 0, KILN_DOC_STEP_RECONSTRUCT));
  g_assert_true (kiln_document_has_result (again, 0, KILN_DOC_STEP_SEGMENT));
  labels_path = kiln_document_dup_labels_path (again, 0);
  g_assert_true (g_str_has_suffix (labels_path, "tp01/labels.mrc"));
  kiln_document_load_volume_async (again, 0, NULL, on_volume, &pair);
  app_test_wait (have_pair, &pair, 30);
  g_assert_nonnull (pair->labels);
  direct = kiln_mrc_load_labels (labels_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (pair->labels->data, direct->data, kiln_label_volume_n_voxels (direct) * 4), ==, 0);
  for (gsize i = 0; i < kiln_label_volume_n_voxels (direct); i++)
    max_label = MAX (max_label, direct->data[i]);
  details = json_object_get_object_member (json_object_get_object_member (
              json_object_get_object_member (results, "steps"), "segment"), "details");
  g_assert_cmpuint (max_label, ==, json_object_get_int_member (details, "n_labels"));
  g_assert_cmpuint (max_label, >=, 1);
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
  g_test_add_func ("/app/document/autosave-restore", test_autosave_restore);
  g_test_add_func ("/app/document/methods", test_methods);
  g_test_add_func ("/app/document/pipeline-layout", test_pipeline_layout);
  return g_test_run ();
}
