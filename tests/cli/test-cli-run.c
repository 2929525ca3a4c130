/* test-cli-run.c — kiln-cli run and kiln-cli methods: exit codes, --json keys, array-job style
 * runs (one process per time point, then a merge), a corrupt experiment.json
 *
 * The experiment: `kiln-cli simulate --size 64 --time-points 2` (teaching preset, 41 tilts of
 * 64² px) with fast BM3D, the axis angle given and 5 ISER iterations recorded in "steps".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "kiln-test-util.h"

static char *exp_dir;

/* run kiln-cli with its stdout captured and dropped (it must not mix with the TAP output) */
static char *quiet_out;

static int
quiet_status (int status)
{
  g_clear_pointer (&quiet_out, g_free);
  return status;
}

#define RUN_QUIET(...) quiet_status (kiln_test_run_cli (&quiet_out, __VA_ARGS__))

static char *
file_sha (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static const char *
ensure_experiment (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  if (exp_dir != NULL)
    return exp_dir;
  exp_dir = kiln_test_tmpfile ("exp");
  int status = RUN_QUIET (&err, "simulate", exp_dir, "--preset", "teaching",
                                  "--size", "64", "--time-points", "2", NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr(KilnExperiment) e = kiln_experiment_load (exp_dir, &error);
  g_assert_no_error (error);
  g_autoptr(JsonObject) den = json_object_new ();
  json_object_set_string_member (den, "profile", "fast");
  kiln_experiment_set_step (e, "denoise", den);
  g_autoptr(JsonObject) axis = json_object_new ();
  json_object_set_double_member (axis, "axis_angle_deg", 4);
  json_object_set_boolean_member (axis, "refine_angle", FALSE);
  kiln_experiment_set_step (e, "axis", axis);
  g_autoptr(JsonObject) rec = json_object_new ();
  json_object_set_int_member (rec, "iterations", 5);
  kiln_experiment_set_step (e, "reconstruct", rec);
  g_assert_true (kiln_experiment_save (e, exp_dir, &error));
  g_assert_no_error (error);
  return exp_dir;
}

static JsonObject *
parse (const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (p, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static void
test_usage (void)
{
  const char *dir = ensure_experiment ();
  g_autofree char *err = NULL, *out = NULL;

  g_assert_cmpint (RUN_QUIET (NULL, "run", NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET (&err, "run", dir, "--steps", "denoise,blur", NULL),
                   ==, 2);
  g_assert_nonnull (strstr (err, "blur"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (RUN_QUIET (&err, "run", dir, "--time-point", "3", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "time-point"));
  g_assert_cmpint (RUN_QUIET (NULL, "run", dir, "--threads", "-1", NULL), ==, 2);
  g_assert_cmpint (RUN_QUIET (NULL, "run", dir, "--merge-only", "-t", "1", NULL),
                   ==, 2);
  g_assert_cmpint (kiln_test_run_cli (&out, NULL, "run", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--time-point"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, NULL, "methods", "--help", NULL), ==, 0);
  g_clear_pointer (&err, g_free);
  g_autofree char *missing = kiln_test_tmpfile ("no-such-experiment");
  g_assert_cmpint (RUN_QUIET (&err, "run", missing, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "no-such-experiment"));
  g_assert_cmpint (RUN_QUIET (NULL, "methods", missing, NULL), ==, 1);
  g_assert_cmpint (RUN_QUIET (NULL, "methods", NULL), ==, 2);
  /* a later step alone, before its inputs exist: a runtime error naming the file */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (RUN_QUIET (&err, "run", dir, "-t", "1", "--steps", "segment",
                                      NULL), ==, 1);
  g_assert_nonnull (strstr (err, "reconstruction.mrc"));
}

static GSubprocess *
spawn_run (const char *dir, const char *tp)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                     | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                                     g_getenv ("KILN_CLI"), "run", dir, "--time-point", tp,
                                     "--threads", "1", "--json", NULL);
  g_assert_no_error (error);
  return p;
}

static void
test_array_then_merge (void)
{
  const char *dir = ensure_experiment ();
  g_autofree char *ej = g_build_filename (dir, "experiment.json", NULL);
  g_autofree char *before = file_sha (ej);
  g_autoptr(GError) error = NULL;
  const char *tps[2] = { "1", "tp02" };   /* by number and by name */
  GSubprocess *procs[2];

  /* two processes at once, one time point each (what the SLURM array does) */
  for (int i = 0; i < 2; i++)
    procs[i] = spawn_run (dir, tps[i]);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (procs[i], NULL, NULL, &out, &err, &error));
      g_assert_no_error (error);
      if (g_subprocess_get_exit_status (procs[i]) != 0)
        g_test_message ("stderr: %s", err);
      g_assert_cmpint (g_subprocess_get_exit_status (procs[i]), ==, 0);
      g_autoptr(JsonObject) o = parse (out);
      g_assert_false (json_object_get_boolean_member (o, "merged"));
      g_assert_cmpstr (json_object_get_string_member (o, "software_version"), ==,
                       PACKAGE_VERSION);
      JsonArray *a = json_object_get_array_member (o, "time_points");
      g_assert_cmpuint (json_array_get_length (a), ==, 1);
      JsonObject *t = json_array_get_object_element (a, 0);
      g_assert_cmpstr (json_object_get_string_member (t, "name"), ==, i == 0 ? "tp01" : "tp02");
      JsonArray *steps = json_object_get_array_member (t, "steps");
      g_assert_cmpuint (json_array_get_length (steps), ==, 6);
      for (guint k = 0; k < 6; k++)
        {
          JsonObject *s = json_array_get_object_element (steps, k);
          g_assert_cmpstr (json_object_get_string_member (s, "step"), ==,
                           kiln_step_to_string (k));
          g_assert_false (json_object_get_boolean_member (s, "skipped"));
          g_assert_cmpfloat (json_object_get_double_member (s, "seconds"), >, 0);
          g_assert_cmpuint (strlen (json_object_get_string_member (s, "hash")), ==, 64);
        }
      g_object_unref (procs[i]);
    }
  /* the workers did not write experiment.json; each wrote its own folder */
  g_autofree char *mid = file_sha (ej);
  g_assert_cmpstr (before, ==, mid);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("tp%02d", i + 1);
      g_autofree char *pairs = g_build_filename (dir, name, "pairs.csv", NULL);
      g_autofree char *log = g_build_filename (dir, name, "run.log", NULL);
      g_autofree char *csv = NULL;
      g_assert_true (g_file_get_contents (pairs, &csv, NULL, NULL));
      g_assert_true (g_str_has_prefix (csv, "time_point,pt_time_s,temperature_C,a,b,r_n_nm,"));
      g_assert_true (g_file_test (log, G_FILE_TEST_IS_REGULAR));
    }

  /* the final step: everything is unchanged, the results are merged */
  g_autofree char *out = NULL;
  g_assert_cmpint (kiln_test_run_cli (&out, NULL, "run", dir, "--json", NULL), ==, 0);
  g_autoptr(JsonObject) o = parse (out);
  g_assert_true (json_object_get_boolean_member (o, "merged"));
  g_assert_cmpint (json_object_get_int_member (o, "merged_time_points"), ==, 2);
  JsonArray *a = json_object_get_array_member (o, "time_points");
  g_assert_cmpuint (json_array_get_length (a), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonArray *steps = json_object_get_array_member (json_array_get_object_element (a, i),
                                                       "steps");
      for (guint k = 0; k < json_array_get_length (steps); k++)
        g_assert_true (json_object_get_boolean_member (json_array_get_object_element (steps, k),
                                                       "skipped"));
    }
  g_autoptr(KilnExperiment) e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  for (guint s = 0; s < KILN_N_STEPS; s++)
    {
      JsonObject *so = kiln_experiment_get_step (e, kiln_step_to_string (s));
      g_assert_nonnull (so);
      JsonObject *res = json_object_get_object_member (so, "results");
      g_assert_true (json_object_has_member (res, "tp01"));
      g_assert_true (json_object_has_member (res, "tp02"));
    }
  /* the recorded parameters survive the merge */
  g_assert_cmpint (json_object_get_int_member (kiln_experiment_get_step (e, "reconstruct"),
                                               "iterations"), ==, 5);

  /* human output of a re-run: one line per step, "skipped" */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (kiln_test_run_cli (&out, NULL, "run", dir, "-t", "2", "--steps",
                                      "segment,measure", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tp02 segment      skipped (unchanged)"));
  g_assert_nonnull (strstr (out, "tp02 measure      skipped (unchanged)"));
  g_assert_null (strstr (out, "denoise"));
}

static void
test_methods (void)
{
  const char *dir = ensure_experiment ();
  g_autofree char *out = NULL, *json = NULL;

  g_assert_cmpint (kiln_test_run_cli (&out, NULL, "methods", dir, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Kiln " PACKAGE_VERSION));
  for (guint s = 0; s < KILN_N_STEPS; s++)
    {
      g_autofree char *tag = g_strdup_printf ("[step %s]", kiln_step_to_string (s));
      g_assert_nonnull (strstr (out, tag));
      g_autoptr(JsonObject) d = kiln_pipeline_step_defaults (s);
      g_autoptr(GList) keys = json_object_get_members (d);
      for (GList *l = keys; l != NULL; l = l->next)
        {
          g_autofree char *k = g_strdup_printf ("%s = ", (char *) l->data);
          g_assert_nonnull (strstr (out, k));
        }
    }
  /* recorded values and units */
  g_assert_nonnull (strstr (out, "iterations = 5 (count)"));
  g_assert_nonnull (strstr (out, "axis_angle_deg = 4 °"));
  g_assert_nonnull (strstr (out, "profile = fast"));
  g_assert_nonnull (strstr (out, "pixel size of 8 nm"));

  g_assert_cmpint (kiln_test_run_cli (&json, NULL, "methods", dir, "--json", NULL), ==, 0);
  g_autoptr(JsonObject) o = parse (json);
  g_assert_nonnull (strstr (json_object_get_string_member (o, "text"), "[step measure]"));
  g_assert_cmpstr (json_object_get_string_member (o, "software_version"), ==, PACKAGE_VERSION);
  JsonObject *steps = json_object_get_object_member (o, "steps");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (steps,
                                                                              "reconstruct"),
                                               "iterations"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (steps,
                                                                              "reconstruct"),
                                               "data_passes"), ==, 1);
}

static void
test_corrupt (void)
{
  const char *dir = ensure_experiment ();
  g_autofree char *bad = kiln_test_tmpfile ("corrupt");
  g_autofree char *ej = g_build_filename (bad, "experiment.json", NULL);
  g_autofree char *err = NULL, *err2 = NULL;
  const char text[] = "{ \"format_version\": 1, \"title\": \"cut";

  g_assert_cmpint (g_mkdir_with_parents (bad, 0700), ==, 0);
  kiln_test_write_bytes (ej, text, sizeof text - 1);
  g_assert_cmpint (RUN_QUIET (&err, "run", bad, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "experiment.json"));
  g_assert_cmpint (RUN_QUIET (&err2, "run", bad, "--merge-only", NULL), ==, 1);
  g_autofree char *after = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (ej, &after, &len, NULL));
  g_assert_cmpmem (after, len, text, sizeof text - 1);

  /* an unknown parameter in a valid experiment.json: a clear error, nothing written */
  g_autofree char *good = g_build_filename (dir, "experiment.json", NULL);
  g_autofree char *good_text = NULL;
  g_assert_true (g_file_get_contents (good, &good_text, NULL, NULL));
  g_autofree char *typo = kiln_test_tmpfile ("typo");
  g_autofree char *typo_ej = g_build_filename (typo, "experiment.json", NULL);
  g_autoptr(GString) s = g_string_new (good_text);
  g_string_replace (s, "\"iterations\"", "\"iteration\"", 1);
  g_assert_cmpint (g_mkdir_with_parents (typo, 0700), ==, 0);
  kiln_test_write_bytes (typo_ej, s->str, s->len);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (RUN_QUIET (&err, "run", typo, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "“iteration”"));
  g_autofree char *tp01 = g_build_filename (typo, "tp01", NULL);
  g_assert_false (g_file_test (tp01, G_FILE_TEST_EXISTS));
}

/* Run a contrib script with bash/sh (it only calls kiln-cli when not submitting). */
static int
run_script (const char  *interpreter,
            const char  *script,
            const char  *arg,
            const char  *env_name,
            const char  *env_value,
            char       **out,
            char       **err)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "contrib", script,
                                            NULL);
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (l, "SLURM_ARRAY_TASK_ID");
  g_subprocess_launcher_unsetenv (l, "KILN_MERGE");
  g_subprocess_launcher_setenv (l, "SLURM_CPUS_PER_TASK", "1", TRUE);
  if (env_name != NULL)
    g_subprocess_launcher_setenv (l, env_name, env_value, TRUE);
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn (l, &error, interpreter, path, arg, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, out, err, &error));
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (p);
}

/* The SLURM array script in task mode and merge mode (no SLURM needed: it reads the variables
 * SLURM sets), and the GNU parallel example; after test_array_then_merge every step is done. */
static void
test_scripts (void)
{
  const char *dir = ensure_experiment ();
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *out3 = NULL,
                  *err3 = NULL;

  g_assert_cmpint (run_script ("bash", "slurm/kiln-array.sbatch", dir, "SLURM_ARRAY_TASK_ID",
                               "2", &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "tp02 reconstruct  skipped (unchanged)"));
  g_assert_null (strstr (out, "tp01"));
  g_assert_cmpint (run_script ("bash", "slurm/kiln-array.sbatch", dir, "KILN_MERGE", "1",
                               &out2, &err2), ==, 0);
  g_assert_nonnull (strstr (out2, "Merged the results of 2 time point(s)"));

  int status = run_script ("sh", "parallel/run-all.sh", dir, NULL, NULL, &out3, &err3);
  g_autofree char *parallel = g_find_program_in_path ("parallel");
  if (parallel == NULL)
    {
      /* without GNU parallel the script says so and does nothing */
      g_assert_cmpint (status, ==, 1);
      g_assert_nonnull (strstr (err3, "GNU parallel is not installed"));
    }
  else
    {
      g_assert_cmpint (status, ==, 0);
      g_assert_nonnull (strstr (out3, "Merged the results of 2 time point(s)"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/run/usage", test_usage);
  g_test_add_func ("/cli/run/array-then-merge", test_array_then_merge);
  g_test_add_func ("/cli/run/scripts", test_scripts);
  g_test_add_func ("/cli/run/methods", test_methods);
  g_test_add_func ("/cli/run/corrupt", test_corrupt);
  int status = g_test_run ();
  g_free (exp_dir);
  return status;
}
