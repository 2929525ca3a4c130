/* test-pipeline.c — kiln-pipeline: the recorded steps on a small simulated experiment, content
 * hash skipping, per-time-point results merged without conflict, measures against the truth
 *
 * The experiment: the teaching preset reduced to 2 time points of 64² px (8 nm/px, so 100 nm
 * particles are 12.5 px wide), 41 tilts ±40°, with fast BM3D, the axis angle given
 * (4°, the simulator's) and 10 ISER iterations recorded in experiment.json "steps".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "kiln-test-util.h"

static char *exp_dir;

static void
set_member (JsonObject *steps, const char *step, const char *key, JsonNode *value)
{
  JsonObject *o;
  if (!json_object_has_member (steps, step))
    json_object_set_object_member (steps, step, json_object_new ());
  o = json_object_get_object_member (steps, step);
  json_object_set_member (o, key, value);
}

static JsonNode *
num (double x)
{
  return json_node_init_double (json_node_alloc (), x);
}

static JsonNode *
str (const char *s)
{
  return json_node_init_string (json_node_alloc (), s);
}

static const char *
ensure_experiment (void)
{
  KilnSimParams p;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = NULL;

  if (exp_dir != NULL)
    return exp_dir;
  exp_dir = kiln_test_tmpfile ("exp");
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  /* like `kiln-cli simulate --size 64`: the field of view is kept */
  double f = (double) p.size_px / 64;
  p.pixel_size_nm *= f;
  p.depth_px = MAX (8u, (guint) lround (p.depth_px / f));
  p.axis_shift_px /= f;
  p.drift_sigma_px /= f;
  p.size_px = 64;
  p.n_time_points = 2;
  p.tilt_step_deg = 2;
  p.reference_frames = 2;
  g_assert_true (kiln_sim_write_experiment (&p, exp_dir, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  e = kiln_experiment_load (exp_dir, &error);
  g_assert_no_error (error);
  set_member (e->steps, "denoise", "profile", str ("fast"));
  set_member (e->steps, "axis", "axis_angle_deg", num (p.axis_angle_deg));
  set_member (e->steps, "axis", "refine_angle",
              json_node_init_boolean (json_node_alloc (), FALSE));
  set_member (e->steps, "reconstruct", "iterations", json_node_init_int (json_node_alloc (), 10));
  g_assert_true (kiln_experiment_save (e, exp_dir, &error));
  g_assert_no_error (error);
  return exp_dir;
}

static char *
sha256_of (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static char *
tp_file (const char *tp, const char *name)
{
  return g_build_filename (exp_dir, tp, name, NULL);
}

static GArray *
run (const KilnExperiment *e, guint index, guint mask, gboolean force)
{
  g_autoptr(GError) error = NULL;
  GArray *reports = g_array_new (FALSE, TRUE, sizeof (KilnStepReport));
  g_array_set_clear_func (reports, kiln_step_report_clear);
  g_autoptr(JsonObject) r = kiln_pipeline_run_time_point (e, index, mask, force, reports, NULL,
                                                          NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return reports;
}

static int
column (char **header, const char *name)
{
  for (int i = 0; header[i] != NULL; i++)
    if (g_str_equal (header[i], name))
      return i;
  g_error ("no column %s", name);
  return -1;
}

static double
cell (GPtrArray *rows, guint row, const char *name)
{
  char **h = g_ptr_array_index (rows, 0);
  char **r = g_ptr_array_index (rows, row);
  return g_ascii_strtod (r[column (h, name)], NULL);
}

/* Measured pairs against the truth. Measured particles are matched to truth particles by their
 * centres in x, y within 16 nm (2 voxels) after removing the common offset of the two frames
 * (the aligned series sits in the frame of the drifted 0° tilt, and an error of the found axis
 * shift translates the reconstruction across the axis); z is not compared (the reconstruction
 * is thicker than the truth volume). Every
 * truth pair with a neck (r_n > 0) must be measured, with the centre distance d within 8 nm (one
 * voxel) and the particle radius r_p within 8 nm; a truth pair whose neck is narrower than 20 nm
 * (2.5 voxels: tp01's 16 nm neck) may come out not touching after segmentation, but if it is
 * measured the same tolerances apply. r_n itself is not compared: after 10 ISER
 * iterations on 41 tilts ±40° the necks are blurred along z (see docs/pipeline.md). */
static void
check_against_truth (const char *tp,
                     guint       min_checked)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mp = tp_file (tp, "pairs.csv");
  g_autofree char *tp_truth = g_build_filename (tp, "truth", NULL);
  g_autofree char *tpart = tp_file (tp_truth, "particles.csv");
  g_autofree char *tpair = tp_file (tp_truth, "pairs.csv");
  g_autoptr(GPtrArray) m = kiln_csv_load (mp, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) parts = kiln_csv_load (tpart, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) truth = kiln_csv_load (tpair, &error);
  g_assert_no_error (error);
  guint n_checked = 0;

  /* every segmented particle's centre (x, y in nm from the volume centre) */
  g_autofree char *lp = tp_file (tp, "labels.mrc");
  g_autoptr(KilnLabelVolume) lv = kiln_mrc_load_labels (lp, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GArray) mp_parts = kiln_label_particles (lv);
  guint n_m = 0;
  double mx[64], my[64];
  guint mlabel[64];
  for (guint i = 0; i < mp_parts->len && n_m < G_N_ELEMENTS (mx); i++)
    {
      const KilnParticle *q = &g_array_index (mp_parts, KilnParticle, i);
      if (q->voxels == 0)
        continue;
      mx[n_m] = (q->centroid[0] - (lv->nx - 1) / 2.0) * lv->voxel_size_nm;
      my[n_m] = (q->centroid[1] - (lv->ny - 1) / 2.0) * lv->voxel_size_nm;
      mlabel[n_m++] = q->label;
    }
  g_assert_cmpuint (n_m, >=, 2);
  /* the common x, y offset of the two frames: the candidate (one measured particle on one truth
   * particle) that puts the most measured particles within 16 nm of a truth particle */
  double best_dx = 0, best_dy = 0;
  guint best_count = 0;
  for (guint i = 0; i < n_m; i++)
    for (guint k = 1; k < parts->len; k++)
      {
        double dx = cell (parts, k, "x_nm") - mx[i], dy = cell (parts, k, "y_nm") - my[i];
        guint count = 0;
        for (guint j = 0; j < n_m; j++)
          for (guint l = 1; l < parts->len; l++)
            if (hypot (mx[j] + dx - cell (parts, l, "x_nm"), my[j] + dy - cell (parts, l, "y_nm"))
                <= 16)
              {
                count++;
                break;
              }
        if (count > best_count)
          best_count = count, best_dx = dx, best_dy = dy;
      }
  g_test_message ("%s: %u of %u particles matched, frame offset (%.1f, %.1f) nm", tp,
                  best_count, n_m, best_dx, best_dy);
  /* the segmentation finds (nearly) every particle */
  g_assert_cmpuint (best_count + 1, >=, parts->len - 1);
  guint map[256] = { 0 };
  for (guint j = 0; j < n_m; j++)
    for (guint l = 1; l < parts->len; l++)
      if (hypot (mx[j] + best_dx - cell (parts, l, "x_nm"),
                 my[j] + best_dy - cell (parts, l, "y_nm")) <= 16 && mlabel[j] < 256)
        map[mlabel[j]] = (guint) cell (parts, l, "label");
  for (guint t = 1; t < truth->len; t++)
    {
      double rn_true = cell (truth, t, "r_n_nm");
      if (!(rn_true > 0))
        continue;
      guint ta = (guint) cell (truth, t, "a"), tb = (guint) cell (truth, t, "b");
      gboolean found = FALSE;
      for (guint i = 1; i < m->len; i++)
        {
          guint ma = map[(guint) cell (m, i, "a")], mb = map[(guint) cell (m, i, "b")];
          if (!((ma == ta && mb == tb) || (ma == tb && mb == ta)))
            continue;
          found = TRUE;
          g_test_message ("%s pair %u:%u d %.1f nm (truth %.1f), r_p %.1f nm (truth %.1f), "
                          "r_n %.1f nm (truth %.1f)", tp, ta, tb, cell (m, i, "d_nm"),
                          cell (truth, t, "d_nm"), cell (m, i, "r_p_nm"),
                          cell (truth, t, "r_p_nm"), cell (m, i, "r_n_nm"),
                          cell (truth, t, "r_n_nm"));
          g_assert_cmpfloat_with_epsilon (cell (m, i, "d_nm"), cell (truth, t, "d_nm"), 8);
          g_assert_cmpfloat_with_epsilon (cell (m, i, "r_p_nm"), cell (truth, t, "r_p_nm"), 8);
        }
      if (rn_true >= 20)
        g_assert_true (found);
      n_checked += found;
    }
  g_assert_cmpuint (n_checked, >=, min_checked);
}

static void
test_params (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = kiln_experiment_load (ensure_experiment (), &error);
  guint mask = 0;

  g_assert_no_error (error);
  g_assert_true (kiln_steps_parse ("segment, measure", &mask, &error));
  g_assert_cmpuint (mask, ==, (1u << KILN_STEP_SEGMENT) | (1u << KILN_STEP_MEASURE));
  g_assert_false (kiln_steps_parse ("denoise,blur", &mask, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "blur"));
  g_clear_error (&error);

  /* recorded values override the defaults (ISER 300 → 10), the rest are the defaults */
  g_autoptr(JsonObject) r = kiln_pipeline_step_params (e, KILN_STEP_RECONSTRUCT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (r, "iterations"), ==, 10);
  g_assert_cmpint (json_object_get_int_member (r, "data_passes"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (r, "sensitivity"), ==, 1);
  g_autoptr(JsonObject) d = kiln_pipeline_step_defaults (KILN_STEP_RECONSTRUCT);
  g_assert_cmpint (json_object_get_int_member (d, "iterations"), ==, 300);

  /* canonical JSON: sorted keys, 1 and 1.0 alike */
  g_autoptr(JsonParser) p1 = json_parser_new ();
  g_autoptr(JsonParser) p2 = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p1, "{\"b\": 1, \"a\": [true, \"x\"]}", -1, NULL));
  g_assert_true (json_parser_load_from_data (p2, "{\"a\": [true, \"x\"], \"b\": 1.0}", -1, NULL));
  g_autofree char *c1 = kiln_pipeline_canonical_json (json_parser_get_root (p1));
  g_autofree char *c2 = kiln_pipeline_canonical_json (json_parser_get_root (p2));
  g_assert_cmpstr (c1, ==, c2);
  g_assert_cmpstr (c1, ==, "{\"a\":[true,\"x\"],\"b\":1}");

  /* unknown key and wrong type: clear errors naming the file and the key */
  JsonObject *seg = json_object_new ();
  json_object_set_int_member (seg, "erode", 1);
  kiln_experiment_set_step (e, "segment", seg);
  g_assert_null (kiln_pipeline_step_params (e, KILN_STEP_SEGMENT, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "experiment.json"));
  g_assert_nonnull (strstr (error->message, "“erode”"));
  g_clear_error (&error);
  json_object_remove_member (seg, "erode");
  json_object_set_string_member (seg, "min_voxels", "many");
  g_assert_null (kiln_pipeline_step_params (e, KILN_STEP_SEGMENT, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "steps.segment.min_voxels"));
  g_clear_error (&error);
  json_object_set_double_member (seg, "min_voxels", 2.5);
  g_assert_null (kiln_pipeline_step_params (e, KILN_STEP_SEGMENT, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  /* … and a run with bad parameters does nothing at all */
  g_assert_null (kiln_pipeline_run_time_point (e, 0, KILN_STEPS_ALL, FALSE, NULL, NULL, NULL,
                                               NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_autofree char *log = tp_file ("tp01", "run.log");
  g_assert_false (g_file_test (log, G_FILE_TEST_EXISTS));
  json_object_unref (seg);

  /* a later step without its inputs: the error names the missing file */
  g_autoptr(KilnExperiment) e2 = kiln_experiment_load (exp_dir, &error);
  g_assert_no_error (error);
  g_assert_null (kiln_pipeline_run_time_point (e2, 0, 1u << KILN_STEP_ALIGN, FALSE, NULL, NULL,
                                               NULL, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "denoised.mrc"));
  g_clear_error (&error);
  g_assert_null (kiln_pipeline_run_time_point (e2, 2, KILN_STEPS_ALL, FALSE, NULL, NULL, NULL,
                                               NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* a bad value: the step fails naming experiment.json and the key, no output, no results */
  JsonObject *den = json_object_new ();
  json_object_set_string_member (den, "psd", "pink");
  kiln_experiment_set_step (e2, "denoise", den);
  json_object_unref (den);
  g_assert_null (kiln_pipeline_run_time_point (e2, 0, KILN_STEPS_ALL, FALSE, NULL, NULL, NULL,
                                               NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "experiment.json: steps.denoise.psd"));
  g_autofree char *den_out = tp_file ("tp01", "denoised.mrc");
  g_autofree char *res_out = tp_file ("tp01", "results.json");
  g_assert_false (g_file_test (den_out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (res_out, G_FILE_TEST_EXISTS));
  /* a time point name that would leave the experiment folder */
  KilnExperimentTimePoint *tp0 = g_ptr_array_index (e2->time_points, 0);
  g_autofree char *saved_name = tp0->name;
  tp0->name = g_strdup ("../escape");
  g_clear_error (&error);
  g_assert_null (kiln_pipeline_run_time_point (e2, 0, KILN_STEPS_ALL, FALSE, NULL, NULL, NULL,
                                               NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_free (tp0->name);
  tp0->name = g_steal_pointer (&saved_name);
  /* a step that is not an object */
  json_object_set_int_member (e2->steps, "measure", 3);
  g_clear_error (&error);
  g_assert_null (kiln_pipeline_step_params (e2, KILN_STEP_MEASURE, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
}

static void
progress_cb (double fraction, const char *message, gpointer data)
{
  double *last = data;
  g_assert_cmpfloat (fraction, >=, *last - 1e-9);
  g_assert_cmpfloat (fraction, <=, 1 + 1e-9);
  *last = fraction;
}

static const char *const outputs[] = {
  "denoised.mrc", "aligned.mrc", "align.xf", "axis.json", "reconstruction.mrc", "labels.mrc",
  "pairs.csv", "results.json", "run.log",
};

static void
test_run_and_skip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = kiln_experiment_load (ensure_experiment (), &error);
  g_autofree char *ej = g_build_filename (exp_dir, "experiment.json", NULL);
  g_autofree char *ej_before = sha256_of (ej);
  g_autoptr(GArray) reports = g_array_new (FALSE, TRUE, sizeof (KilnStepReport));
  double last = 0;

  g_assert_no_error (error);
  g_array_set_clear_func (reports, kiln_step_report_clear);
  g_autoptr(JsonObject) res = kiln_pipeline_run_time_point (e, 0, KILN_STEPS_ALL, FALSE, reports,
                                                            NULL, progress_cb, &last, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  g_assert_cmpfloat (last, ==, 1);
  g_assert_cmpuint (reports->len, ==, KILN_N_STEPS);
  for (guint i = 0; i < reports->len; i++)
    {
      KilnStepReport *r = &g_array_index (reports, KilnStepReport, i);
      g_assert_cmpint (r->step, ==, i);
      g_assert_false (r->skipped);
      g_assert_cmpuint (strlen (r->hash), ==, 64);
    }
  for (guint i = 0; i < G_N_ELEMENTS (outputs); i++)
    {
      g_autofree char *f = tp_file ("tp01", outputs[i]);
      g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
    }
  /* the worker only reads experiment.json */
  g_autofree char *ej_after = sha256_of (ej);
  g_assert_cmpstr (ej_before, ==, ej_after);
  /* results.json records hashes, outputs' SHA-256, parameters, version and time */
  JsonObject *steps = json_object_get_object_member (res, "steps");
  JsonObject *rec = json_object_get_object_member (steps, "reconstruct");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (rec, "parameters"),
                                               "iterations"), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (rec, "software_version"), ==, PACKAGE_VERSION);
  g_assert_cmpfloat (json_object_get_double_member (rec, "seconds"), >, 0);
  g_autofree char *recon = tp_file ("tp01", "reconstruction.mrc");
  g_autofree char *recon_sum = sha256_of (recon);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (rec, "outputs"),
                                                  "tp01/reconstruction.mrc"), ==, recon_sum);
  check_against_truth ("tp01", 0);

  /* second run: every step unchanged, nothing rewritten */
  g_autofree char *labels = tp_file ("tp01", "labels.mrc");
  GStatBuf st1, st2;
  g_assert_cmpint (g_stat (labels, &st1), ==, 0);
  g_autoptr(GArray) again = run (e, 0, KILN_STEPS_ALL, FALSE);
  g_assert_cmpuint (again->len, ==, KILN_N_STEPS);
  for (guint i = 0; i < again->len; i++)
    {
      KilnStepReport *r = &g_array_index (again, KilnStepReport, i);
      g_assert_true (r->skipped);
      g_assert_cmpstr (r->hash, ==, g_array_index (reports, KilnStepReport, i).hash);
    }
  g_assert_cmpint (g_stat (labels, &st2), ==, 0);
  g_assert_cmpint (st1.st_mtime, ==, st2.st_mtime);
  g_assert_cmpint (st1.st_ino, ==, st2.st_ino);

  /* an output modified by hand is detected: that step and only the ones whose inputs change
   * run again (segment rewrites labels.mrc identically, so measure is skipped) */
  g_autoptr(KilnLabelVolume) lv = kiln_mrc_load_labels (labels, NULL, &error);
  g_assert_no_error (error);
  lv->data[0] = 999;
  g_assert_true (kiln_mrc_save_labels (lv, labels, "tampered", &error));
  g_autoptr(GArray) fix = run (e, 0, KILN_STEPS_ALL, FALSE);
  for (guint i = 0; i < fix->len; i++)
    {
      KilnStepReport *r = &g_array_index (fix, KilnStepReport, i);
      g_assert_cmpint (r->skipped, ==, r->step != KILN_STEP_SEGMENT);
    }

  /* the log has timings of every step */
  g_autofree char *log_path = tp_file ("tp01", "run.log");
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  for (guint s = 0; s < KILN_N_STEPS; s++)
    {
      g_autofree char *done = g_strdup_printf ("tp01 %s: done in ", kiln_step_to_string (s));
      g_autofree char *skip = g_strdup_printf ("tp01 %s: skipped", kiln_step_to_string (s));
      g_assert_nonnull (strstr (log, done));
      g_assert_nonnull (strstr (log, skip));
    }
}

static void
test_change_parameter (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = kiln_experiment_load (ensure_experiment (), &error);
  g_autofree char *labels = tp_file ("tp01", "labels.mrc");
  g_autofree char *before = sha256_of (labels);

  g_assert_no_error (error);
  /* an opening (erode then dilate by 1 voxel) changes the labels → segment and measure run */
  JsonObject *seg = json_object_new ();
  json_object_set_int_member (seg, "erode_voxels", 1);
  json_object_set_int_member (seg, "dilate_voxels", 1);
  kiln_experiment_set_step (e, "segment", seg);
  json_object_unref (seg);
  g_autoptr(GArray) r = run (e, 0, KILN_STEPS_ALL, FALSE);
  g_assert_cmpuint (r->len, ==, KILN_N_STEPS);
  for (guint i = 0; i < r->len; i++)
    {
      KilnStepReport *rep = &g_array_index (r, KilnStepReport, i);
      g_assert_cmpint (rep->skipped, ==, rep->step < KILN_STEP_SEGMENT);
    }
  g_autofree char *after = sha256_of (labels);
  g_assert_cmpstr (before, !=, after);

  /* back to the recorded parameters: segment runs again, labels as before */
  g_autoptr(KilnExperiment) e2 = kiln_experiment_load (exp_dir, &error);
  g_assert_no_error (error);
  g_autoptr(GArray) r2 = run (e2, 0, (1u << KILN_STEP_SEGMENT) | (1u << KILN_STEP_MEASURE),
                              FALSE);
  g_assert_cmpuint (r2->len, ==, 2);
  g_assert_false (g_array_index (r2, KilnStepReport, 0).skipped);
  g_autofree char *again = sha256_of (labels);
  g_assert_cmpstr (before, ==, again);
}

static void
test_cancel (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = kiln_experiment_load (ensure_experiment (), &error);
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autofree char *res = tp_file ("tp01", "results.json");
  g_autofree char *den = tp_file ("tp01", "denoised.mrc");
  g_autofree char *res_before = sha256_of (res);
  g_autofree char *den_before = sha256_of (den);

  g_assert_no_error (error);
  g_cancellable_cancel (c);
  g_assert_null (kiln_pipeline_run_time_point (e, 0, 1u << KILN_STEP_DENOISE, TRUE, NULL, c,
                                               NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_autofree char *res_after = sha256_of (res);
  g_autofree char *den_after = sha256_of (den);
  g_assert_cmpstr (res_before, ==, res_after);
  g_assert_cmpstr (den_before, ==, den_after);
}

typedef struct
{
  guint       index;
  guint       mask;
  gboolean    force;
  JsonObject *result;
  GError     *error;
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  /* each worker loads the experiment itself, as a separate process would */
  g_autoptr(KilnExperiment) e = kiln_experiment_load (exp_dir, &w->error);
  if (e != NULL)
    w->result = kiln_pipeline_run_time_point (e, w->index, w->mask, w->force, NULL, NULL, NULL,
                                              NULL, &w->error);
  return NULL;
}

static void
test_parallel_merge (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ej = g_build_filename (ensure_experiment (), "experiment.json", NULL);
  g_autofree char *ej_before = sha256_of (ej);
  Worker w[2] = {
    { 0, (1u << KILN_STEP_SEGMENT) | (1u << KILN_STEP_MEASURE), TRUE, NULL, NULL },
    { 1, KILN_STEPS_ALL, FALSE, NULL, NULL },
  };
  GThread *t[2];

  for (int i = 0; i < 2; i++)
    t[i] = g_thread_new ("worker", worker_thread, &w[i]);
  for (int i = 0; i < 2; i++)
    {
      g_thread_join (t[i]);
      g_assert_no_error (w[i].error);
      g_assert_nonnull (w[i].result);
    }
  g_autofree char *ej_mid = sha256_of (ej);
  g_assert_cmpstr (ej_before, ==, ej_mid);
  check_against_truth ("tp02", 3);

  g_autoptr(KilnExperiment) e = kiln_experiment_load (exp_dir, &error);
  g_assert_no_error (error);
  guint n = 0;
  g_assert_true (kiln_pipeline_merge (e, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);

  /* reload: both time points' results, the recorded parameters and the rest kept */
  g_autoptr(KilnExperiment) m = kiln_experiment_load (exp_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m->simulation);
  g_assert_cmpuint (m->time_points->len, ==, 2);
  g_autoptr(JsonObject) rp = kiln_pipeline_step_params (m, KILN_STEP_RECONSTRUCT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (rp, "iterations"), ==, 10);
  for (guint i = 0; i < 2; i++)
    {
      const KilnExperimentTimePoint *tp = g_ptr_array_index (m->time_points, i);
      JsonObject *rsteps = json_object_get_object_member (w[i].result, "steps");
      for (guint s = 0; s < KILN_N_STEPS; s++)
        {
          const char *name = kiln_step_to_string (s);
          JsonObject *so = kiln_experiment_get_step (m, name);
          g_assert_nonnull (so);
          JsonObject *res = json_object_get_object_member (so, "results");
          g_assert_nonnull (res);
          g_assert_true (json_object_has_member (res, tp->name));
          JsonObject *tr = json_object_get_object_member (res, tp->name);
          JsonObject *wr = json_object_get_object_member (rsteps, name);
          g_assert_cmpstr (json_object_get_string_member (tr, "hash"), ==,
                           json_object_get_string_member (wr, "hash"));
        }
    }
  for (int i = 0; i < 2; i++)
    json_object_unref (w[i].result);

  /* merged results do not count as parameters: nothing reruns */
  g_autoptr(GArray) r = run (m, 1, KILN_STEPS_ALL, FALSE);
  for (guint i = 0; i < r->len; i++)
    g_assert_true (g_array_index (r, KilnStepReport, i).skipped);

  /* the methods paragraph names every step, every parameter and the version */
  g_autofree char *text = kiln_pipeline_methods (m, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, PACKAGE_VERSION));
  for (guint s = 0; s < KILN_N_STEPS; s++)
    {
      g_autofree char *tag = g_strdup_printf ("[step %s]", kiln_step_to_string (s));
      g_assert_nonnull (strstr (text, tag));
      g_autoptr(JsonObject) d = kiln_pipeline_step_defaults (s);
      g_autoptr(GList) keys = json_object_get_members (d);
      for (GList *l = keys; l != NULL; l = l->next)
        {
          g_autofree char *k = g_strdup_printf ("%s = ", (char *) l->data);
          g_assert_nonnull (strstr (text, k));
        }
    }
  g_assert_nonnull (strstr (text, "iterations = 10 (count)"));
  g_assert_nonnull (strstr (text, "axis_angle_deg = 4 °"));

  /* a corrupt results file: merge fails naming it, experiment.json untouched */
  g_autofree char *ej_good = sha256_of (ej);
  g_autofree char *rj = tp_file ("tp02", "results.json");
  kiln_test_write_bytes (rj, "{ \"steps\": ", 11);
  g_assert_false (kiln_pipeline_merge (m, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "results.json"));
  g_autofree char *ej_still = sha256_of (ej);
  g_assert_cmpstr (ej_good, ==, ej_still);
}

/* Results made elsewhere (the app): kiln_pipeline_record_step gives them the hash a run would
 * give (exact string equality), so a run skips them; an axis.json with "source": "manual" is
 * kept by the axis step even when forced; app-only align "fixes" are part of the hash. One time
 * point of 64² px, 21 tilts (±40° every 4°). */
static void
test_record_step (void)
{
  KilnSimParams p;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = NULL;
  g_autofree char *dir = kiln_test_tmpfile ("record");
  g_autofree char *axis_path = g_build_filename (dir, "tp01", "axis.json", NULL);
  g_autofree char *log_path = g_build_filename (dir, "tp01", "run.log", NULL);
  g_autofree char *axis_sha = NULL;
  g_autofree char *axis_sha2 = NULL;
  g_autofree char *hash_run = NULL;
  g_autofree char *log_text = NULL;
  g_autoptr(JsonObject) details = json_object_new ();
  g_autoptr(JsonObject) other = json_object_new ();
  g_autoptr(JsonObject) results = NULL;
  g_autoptr(JsonObject) ap = NULL;
  JsonObject *rec;
  const char *manual = "{ \"axis_angle_deg\": 2.5, \"axis_shift_px\": 0.75, \"searched\": false, "
                       "\"source\": \"manual\" }\n";

  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  double f = (double) p.size_px / 64;
  p.pixel_size_nm *= f;
  p.depth_px = MAX (8u, (guint) lround (p.depth_px / f));
  p.axis_shift_px /= f;
  p.drift_sigma_px /= f;
  p.size_px = 64;
  p.n_time_points = 1;
  p.tilt_step_deg = 4;
  p.reference_frames = 2;
  g_assert_true (kiln_sim_write_experiment (&p, dir, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  set_member (e->steps, "denoise", "profile", str ("fast"));
  set_member (e->steps, "reconstruct", "method", str ("wbp"));
  g_assert_true (kiln_experiment_save (e, dir, &error));
  g_assert_no_error (error);

  /* the pipeline denoises, aligns and reconstructs (with the app's axis, written as the app
   * does); its own reconstruct hash is the reference */
  g_array_unref (run (e, 0, (1u << KILN_STEP_DENOISE) | (1u << KILN_STEP_ALIGN), FALSE));
  kiln_test_write_bytes (axis_path, manual, strlen (manual));
  axis_sha = sha256_of (axis_path);
  json_object_set_double_member (details, "axis_angle_deg", 2.5);
  json_object_set_double_member (details, "axis_shift_px", 0.75);
  json_object_set_string_member (details, "source", "manual");
  g_assert_true (kiln_pipeline_record_step (e, 0, KILN_STEP_AXIS, NULL, details, "app", &error));
  g_assert_no_error (error);
  {
    g_autoptr(GArray) r = run (e, 0, (1u << KILN_STEP_AXIS) | (1u << KILN_STEP_RECONSTRUCT), FALSE);
    g_assert_true (g_array_index (r, KilnStepReport, 0).skipped);    /* recorded by the "app" */
    g_assert_false (g_array_index (r, KilnStepReport, 1).skipped);
    hash_run = g_strdup (g_array_index (r, KilnStepReport, 1).hash);
  }
  results = kiln_pipeline_load_results (e, 0, &error);
  g_assert_no_error (error);
  rec = json_object_get_object_member (json_object_get_object_member (results, "steps"), "reconstruct");
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (rec, "details"),
                                                    "axis_angle_deg"), ==, 2.5);

  /* recording the same output with the experiment's parameters gives the run's hash exactly */
  g_assert_true (kiln_pipeline_record_step (e, 0, KILN_STEP_RECONSTRUCT, NULL, NULL, "app", &error));
  g_assert_no_error (error);
  g_clear_pointer (&results, json_object_unref);
  results = kiln_pipeline_load_results (e, 0, &error);
  rec = json_object_get_object_member (json_object_get_object_member (results, "steps"), "reconstruct");
  g_assert_cmpstr (json_object_get_string_member (rec, "hash"), ==, hash_run);
  g_assert_cmpstr (json_object_get_string_member (rec, "origin"), ==, "app");
  {
    g_autoptr(GArray) r = run (e, 0, 1u << KILN_STEP_RECONSTRUCT, FALSE);
    g_assert_true (g_array_index (r, KilnStepReport, 0).skipped);
  }
  /* …and with other parameters (the app's result made differently): the run redoes it */
  json_object_set_string_member (other, "method", "sirt");
  g_assert_true (kiln_pipeline_record_step (e, 0, KILN_STEP_RECONSTRUCT, other, NULL, "app", &error));
  g_assert_no_error (error);
  {
    g_autoptr(GArray) r = run (e, 0, 1u << KILN_STEP_RECONSTRUCT, FALSE);
    g_assert_false (g_array_index (r, KilnStepReport, 0).skipped);
    g_assert_cmpstr (g_array_index (r, KilnStepReport, 0).hash, ==, hash_run);
  }

  /* a forced axis step keeps the manual axis (file untouched, reported as manual) */
  {
    g_autoptr(GArray) r = run (e, 0, 1u << KILN_STEP_AXIS, TRUE);
    g_assert_false (g_array_index (r, KilnStepReport, 0).skipped);
  }
  axis_sha2 = sha256_of (axis_path);
  g_assert_cmpstr (axis_sha, ==, axis_sha2);
  g_clear_pointer (&results, json_object_unref);
  results = kiln_pipeline_load_results (e, 0, &error);
  rec = json_object_get_object_member (json_object_get_object_member (results, "steps"), "axis");
  rec = json_object_get_object_member (rec, "details");
  g_assert_cmpstr (json_object_get_string_member (rec, "source"), ==, "manual");
  g_assert_false (json_object_get_boolean_member (rec, "searched"));
  g_assert_cmpfloat (json_object_get_double_member (rec, "axis_shift_px"), ==, 0.75);

  /* a missing output/input is an error naming the file, and said in run.log */
  g_assert_false (kiln_pipeline_record_step (e, 0, KILN_STEP_MEASURE, NULL, NULL, "app", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "labels.mrc"));
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (log_path, &log_text, NULL, NULL));
  g_assert_nonnull (strstr (log_text, "measure: the result saved by the app is not recorded"));
  g_assert_nonnull (strstr (log_text, "axis: keeping the axis set in the app"));

  /* the app's hand fixes of the alignment are a parameter (in the hash); not an array: error */
  {
    g_autoptr(JsonArray) fixes = json_array_new ();
    json_array_add_int_element (fixes, 3);
    set_member (e->steps, "align", "fixes", json_node_init_array (json_node_alloc (), fixes));
    ap = kiln_pipeline_step_params (e, KILN_STEP_ALIGN, &error);
    g_assert_no_error (error);
    g_assert_true (json_object_has_member (ap, "fixes"));
    g_autoptr(GArray) r = run (e, 0, 1u << KILN_STEP_ALIGN, FALSE);
    g_assert_false (g_array_index (r, KilnStepReport, 0).skipped);
    g_clear_pointer (&log_text, g_free);
    g_assert_true (g_file_get_contents (log_path, &log_text, NULL, NULL));
    g_assert_nonnull (strstr (log_text, "hand fixes"));
    set_member (e->steps, "align", "fixes", str ("3"));
    g_clear_pointer (&ap, json_object_unref);
    ap = kiln_pipeline_step_params (e, KILN_STEP_ALIGN, &error);
    g_assert_null (ap);
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "experiment.json"));
    g_assert_nonnull (strstr (error->message, "fixes"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pipeline/params", test_params);
  g_test_add_func ("/pipeline/run-and-skip", test_run_and_skip);
  g_test_add_func ("/pipeline/change-parameter", test_change_parameter);
  g_test_add_func ("/pipeline/cancel", test_cancel);
  g_test_add_func ("/pipeline/parallel-merge", test_parallel_merge);
  g_test_add_func ("/pipeline/record-step", test_record_step);
  int status = g_test_run ();
  g_free (exp_dir);
  return status;
}
