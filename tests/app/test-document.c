/* test-document.c — the document's step results and parameters: Save writes them into the
 * experiment folder and a reopened document gets them back (reconstruction + labels preferred
 * over the simulator's truth), undo/redo of parameter changes round-trips through a panel, and a
 * single imported series cannot be saved as an experiment; what the app saves carries the
 * pipeline's provenance, so `kiln-cli run` skips it and keeps the app's tilt axis.
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

/* ---- The app and kiln-cli run agree on provenance --------------------------------------- */

static JsonObject *
parse_json_text (const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (p, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static JsonObject *
parse_json_file (const char *path)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return parse_json_text (text);
}

static char *
sha_of (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* `kiln-cli run DIR --json`: which steps of the only time point were skipped, as "dasrsm"
 * letters (upper case = skipped, lower case = run) in pipeline order. */
static char *
run_pattern (const char *dir,
             JsonObject **time_point)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonObject) o = NULL;
  JsonArray *steps;
  GString *s = g_string_new (NULL);
  const char *letters = "dasrsm";

  g_assert_cmpint (kiln_test_run_cli (&out, &err, "run", dir, "--threads", "2", "--json", NULL), ==, 0);
  o = parse_json_text (out);
  *time_point = json_object_ref (json_array_get_object_element (json_object_get_array_member (o, "time_points"), 0));
  steps = json_object_get_array_member (*time_point, "steps");
  g_assert_cmpuint (json_array_get_length (steps), ==, 6);
  for (guint i = 0; i < 6; i++)
    {
      JsonObject *st = json_array_get_object_element (steps, i);
      gboolean skipped = json_object_get_boolean_member (st, "skipped");
      g_string_append_c (s, skipped ? g_ascii_toupper (letters[i]) : letters[i]);
    }
  return g_string_free (s, FALSE);
}

static JsonObject *
step_record (const char *dir,
             const char *step)
{
  g_autofree char *path = g_build_filename (dir, "tp01", "results.json", NULL);
  g_autoptr(JsonObject) r = parse_json_file (path);
  JsonObject *steps = json_object_get_object_member (r, "steps");

  if (!json_object_has_member (steps, step))
    return NULL;
  return json_object_ref (json_object_get_object_member (steps, step));
}

/* The app aligns, sets the axis by hand, reconstructs and segments one small time point (64² px,
 * 21 tilts) and saves; `kiln-cli run` then skips every step the app did (exact: same hashes),
 * keeps the app's axis, and after a parameter change re-runs that step and the ones after it. */
static void
test_app_pipeline_provenance (void)
{
  KilnSimParams params;
  g_autofree char *dir = kiln_test_tmpfile ("provenance-demo");
  g_autofree char *axis_path = g_build_filename (dir, "tp01", "axis.json", NULL);
  g_autofree char *log_path = g_build_filename (dir, "tp01", "run.log", NULL);
  g_autofree char *vpath = g_build_filename (dir, "tp01", "truth", "volume.mrc", NULL);
  g_autofree char *lpath = g_build_filename (dir, "tp01", "truth", "labels.mrc", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = NULL;
  g_autoptr(KilnDocument) doc = NULL;
  g_autoptr(JsonObject) den = json_object_new ();
  g_autoptr(JsonObject) align = json_object_new ();
  g_autoptr(JsonObject) recon = json_object_new ();
  g_autoptr(JsonObject) recon2 = json_object_new ();
  g_autoptr(JsonObject) align2 = json_object_new ();
  g_autoptr(JsonObject) seg = json_object_new ();
  g_autoptr(JsonObject) tp = NULL;
  g_autoptr(JsonObject) rec = NULL;
  g_autoptr(JsonObject) axis_file = NULL;
  g_autoptr(KilnImageStack) aligned = NULL;
  g_autoptr(KilnVolume) v = NULL;
  g_autoptr(KilnLabelVolume) l = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *axis_sha = NULL;
  g_autofree char *axis_sha2 = NULL;
  g_autofree char *log_text = NULL;
  KilnAlignParams ap;
  KilnAlignResult *ar;
  KilnImageStack *denoised;
  JsonObject *details;
  const char *app_steps[] = { "align", "axis", "reconstruct", "segment" };

  /* a small experiment: 64² px (the field of view kept), ±40° every 4° = 21 tilts */
  kiln_sim_params_init (&params, KILN_SIM_PRESET_TEACHING);
  params.n_time_points = 1;
  params.pixel_size_nm *= (double) params.size_px / 64;
  params.size_px = 64;
  params.tilt_step_deg = 4;
  g_assert_true (kiln_sim_write_experiment (&params, dir, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  json_object_set_string_member (den, "profile", "fast");
  kiln_experiment_set_step (e, "denoise", den);
  g_assert_true (kiln_experiment_save (e, dir, &error));
  g_assert_no_error (error);
  /* the pipeline denoises (the app's steps start from its denoised series) */
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "run", dir, "--steps", "denoise", "--threads", "2", NULL), ==, 0);

  doc = app_test_open (dir);
  denoised = kiln_document_get_denoised (doc, 0);
  g_assert_nonnull (denoised);
  g_assert_cmpuint (denoised->n_tilts, ==, 21);

  /* the app: xcorr alignment of the denoised series, computed here as the Align panel does
   * (resampled linearly: Save records "interpolation": "linear" in steps.align) */
  json_object_set_string_member (align, "method", "xcorr");
  json_object_set_double_member (align, "axis_angle_deg", 0);
  kiln_document_set_step_params_discrete (doc, KILN_DOC_STEP_ALIGN, align);
  kiln_align_params_init (&ap);
  ap.method = KILN_ALIGN_XCORR;
  ar = kiln_align_series (denoised, &ap, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  aligned = kiln_align_apply (denoised, ar->xf, KILN_INTERP_LINEAR, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  kiln_document_set_aligned (doc, 0, ar->xf, aligned);
  kiln_align_result_free (ar);
  /* an axis fixed by hand (not what a search would give to 1e-9) */
  kiln_document_set_axis (doc, 0, 3.25, -1.5);
  /* "reconstruct" and "segment": the truth volume and labels stand in for the app's results
   * (provenance does not depend on their content) */
  json_object_set_string_member (recon, "method", "wbp");
  kiln_document_set_step_params_discrete (doc, KILN_DOC_STEP_RECONSTRUCT, recon);
  v = kiln_mrc_load_volume (vpath, NULL, &error);
  g_assert_no_error (error);
  kiln_document_set_reconstruction (doc, 0, v);
  json_object_set_boolean_member (seg, "otsu", TRUE);
  json_object_set_int_member (seg, "erode_voxels", 0);
  kiln_document_set_step_params_discrete (doc, KILN_DOC_STEP_SEGMENT, seg);
  l = kiln_mrc_load_labels (lpath, NULL, &error);
  g_assert_no_error (error);
  kiln_document_set_labels (doc, 0, l);
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);

  g_clear_pointer (&e, kiln_experiment_free);
  e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (kiln_experiment_get_step (e, "align"), "interpolation"), ==, "linear");

  /* the app recorded the pipeline's provenance for each of its steps */
  for (guint i = 0; i < G_N_ELEMENTS (app_steps); i++)
    {
      g_clear_pointer (&rec, json_object_unref);
      rec = step_record (dir, app_steps[i]);
      g_assert_nonnull (rec);
      g_assert_cmpstr (json_object_get_string_member (rec, "origin"), ==, "app");
      g_assert_cmpuint (strlen (json_object_get_string_member (rec, "hash")), ==, 64);
    }
  axis_file = parse_json_file (axis_path);
  g_assert_cmpstr (json_object_get_string_member (axis_file, "source"), ==, "manual");
  axis_sha = sha_of (axis_path);

  /* kiln-cli run: every step done (denoise by the pipeline, the rest by the app) is skipped;
   * measure runs (nobody did it) */
  pattern = run_pattern (dir, &tp);
  g_assert_cmpstr (pattern, ==, "DASRSm");
  {
    JsonArray *steps = json_object_get_array_member (tp, "steps");
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (steps, 0), "origin"), ==, "pipeline");
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (steps, 1), "origin"), ==, "app");
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (steps, 2), "axis_source"), ==, "manual");
  }
  axis_sha2 = sha_of (axis_path);
  g_assert_cmpstr (axis_sha, ==, axis_sha2);
  /* the methods paragraph (from the merged results) says what was done in the app */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "methods", dir, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "For 1 time point(s) the axis was set in the Kiln app"));
  g_assert_nonnull (strstr (out, "For 1 time point(s) this step was computed interactively in the Kiln app"));

  /* a reconstruction parameter changed in the app: reconstruct, segment and measure rerun */
  json_object_set_string_member (recon2, "method", "sirt");
  json_object_set_int_member (recon2, "iterations", 2);
  kiln_document_set_step_params_discrete (doc, KILN_DOC_STEP_RECONSTRUCT, recon2);
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_clear_pointer (&pattern, g_free);
  g_clear_pointer (&tp, json_object_unref);
  pattern = run_pattern (dir, &tp);
  g_assert_cmpstr (pattern, ==, "DASrsm");
  /* the reconstruction used the app's axis (exact: %.17g JSON numbers) */
  g_clear_pointer (&rec, json_object_unref);
  rec = step_record (dir, "reconstruct");
  g_assert_false (json_object_has_member (rec, "origin"));
  details = json_object_get_object_member (rec, "details");
  g_assert_cmpfloat (json_object_get_double_member (details, "axis_angle_deg"), ==, 3.25);
  g_assert_cmpfloat (json_object_get_double_member (details, "axis_shift_px"), ==, -1.5);

  /* an alignment parameter changed: align reruns, the axis step keeps the app's axis (not
   * searched, axis.json untouched, said in run.log), then everything after it reruns */
  json_object_set_string_member (align2, "method", "com");
  json_object_set_double_member (align2, "axis_angle_deg", 0);
  kiln_document_set_step_params_discrete (doc, KILN_DOC_STEP_ALIGN, align2);
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_clear_pointer (&pattern, g_free);
  g_clear_pointer (&tp, json_object_unref);
  pattern = run_pattern (dir, &tp);
  g_assert_cmpstr (pattern, ==, "Dasrsm");
  g_clear_pointer (&axis_sha2, g_free);
  axis_sha2 = sha_of (axis_path);
  g_assert_cmpstr (axis_sha, ==, axis_sha2);
  g_clear_pointer (&rec, json_object_unref);
  rec = step_record (dir, "axis");
  details = json_object_get_object_member (rec, "details");
  g_assert_cmpstr (json_object_get_string_member (details, "source"), ==, "manual");
  g_assert_false (json_object_get_boolean_member (details, "searched"));
  g_assert_cmpfloat (json_object_get_double_member (details, "axis_angle_deg"), ==, 3.25);
  g_assert_cmpfloat (json_object_get_double_member (details, "axis_shift_px"), ==, -1.5);
  g_assert_true (g_file_get_contents (log_path, &log_text, NULL, NULL));
  g_assert_nonnull (strstr (log_text, "keeping the axis set in the app"));
  g_assert_nonnull (strstr (log_text, "align: recorded the result saved by the app"));

  /* the axis cleared in the app: Save removes its manual axis.json (a run searches again) and a
   * reopened document has no axis */
  kiln_document_clear_axis (doc, 0);
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (axis_path, G_FILE_TEST_EXISTS));
  g_clear_object (&doc);
  doc = app_test_open (dir);
  g_assert_false (kiln_document_get_axis (doc, 0, NULL, NULL));
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
  g_test_add_func ("/app/document/app-pipeline-provenance", test_app_pipeline_provenance);
  return g_test_run ();
}
