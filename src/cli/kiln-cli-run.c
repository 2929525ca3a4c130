/* kiln-cli-run.c — kiln-cli run EXPERIMENT_DIR [--time-point N] [--steps LIST] [--threads N]
 *                  [--force] [--no-merge] [--json]
 *
 * Runs the recorded steps (experiment.json "steps") of one time point or of all, skipping the
 * unchanged ones (docs/pipeline.md). With --time-point, only that time point's folder is
 * written (tpNN/results.json, outputs, run.log): experiment.json is only read, so array tasks
 * never conflict. Without --time-point every time point is run and the results are merged into
 * experiment.json (also what `kiln-cli run DIR --merge-only` does after an array job).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-cli-common.h"

static gboolean
parse_time_point (const KilnExperiment *e,
                  const char           *text,
                  guint                *index)
{
  for (guint i = 0; i < e->time_points->len; i++)
    {
      const KilnExperimentTimePoint *tp = g_ptr_array_index (e->time_points, i);
      if (g_strcmp0 (tp->name, text) == 0)
        {
          *index = i;
          return TRUE;
        }
    }
  guint64 n = 0;
  if (!g_ascii_string_to_unsigned (text, 10, 1, e->time_points->len, &n, NULL))
    return FALSE;
  *index = (guint) n - 1;
  return TRUE;
}

int
kiln_cli_run (int    argc,
              char **argv)
{
  g_autofree char *tp_arg = NULL, *steps_arg = NULL;
  int threads = 0;
  gboolean json = FALSE, force = FALSE, merge_only = FALSE, no_merge = FALSE;
  GOptionEntry entries[] = {
    { "time-point", 't', 0, G_OPTION_ARG_STRING, &tp_arg,
      "Run only this time point: its number (1 = first) or its name (tp01); writes only its "
      "folder, not experiment.json (for array jobs)", "N" },
    { "steps", 's', 0, G_OPTION_ARG_STRING, &steps_arg,
      "Comma-separated steps to run (default all: denoise,align,axis,reconstruct,segment,"
      "measure)", "LIST" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads,
      "OpenMP threads (default: OMP_NUM_THREADS or all cores)", "N" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Run the steps even when unchanged", NULL },
    { "merge-only", 0, 0, G_OPTION_ARG_NONE, &merge_only,
      "Run nothing: merge every time point's results.json into experiment.json", NULL },
    { "no-merge", 0, 0, G_OPTION_ARG_NONE, &no_merge,
      "Without --time-point: do not update experiment.json", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("EXPERIMENT_DIR — run the recorded processing steps of an experiment");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  guint mask = KILN_STEPS_ALL, first = 0, last = 0, n_merged = 0;
  gboolean merged = FALSE;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Runs denoise → align → axis → reconstruct → segment → measure with the parameters recorded\n"
    "in experiment.json \"steps\" (defaults for the missing ones; docs/pipeline.md), writing\n"
    "tpNN/denoised.mrc, aligned.mrc, align.xf, axis.json, reconstruction.mrc, labels.mrc,\n"
    "pairs.csv, results.json and run.log. A step whose inputs and parameters are unchanged\n"
    "(SHA-256 content hash) is skipped. With --time-point only that time point is run and\n"
    "experiment.json is not written (one process per time point: SLURM array tasks, GNU\n"
    "parallel); a run without --time-point (or --merge-only) merges every time point's results\n"
    "into experiment.json.");
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 2)
    return kiln_cli_usage (context, "run", "expected EXPERIMENT_DIR");
  if (threads < 0 || threads > 4096)
    return kiln_cli_usage (context, "run", "--threads must be 1 … 4096");
  if (merge_only && (tp_arg != NULL || steps_arg != NULL || force || no_merge))
    return kiln_cli_usage (context, "run",
                           "--merge-only takes no --time-point, --steps, --force or --no-merge");
  if (no_merge && tp_arg != NULL)
    return kiln_cli_usage (context, "run", "--no-merge is implied by --time-point");
  if (steps_arg != NULL && !kiln_steps_parse (steps_arg, &mask, &error))
    return kiln_cli_usage (context, "run", "--steps: %s", error->message);
  if (threads > 0)
    omp_set_num_threads (threads);

  e = kiln_experiment_load (argv[1], &error);
  if (e == NULL)
    return kiln_cli_fail ("run", error);
  last = e->time_points->len;
  if (tp_arg != NULL)
    {
      if (!parse_time_point (e, tp_arg, &first))
        return kiln_cli_usage (context, "run",
                               "--time-point: “%s” is neither 1 … %u nor a time point name",
                               tp_arg, e->time_points->len);
      last = first + 1;
    }

  cancellable = kiln_cli_cancellable ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "experiment");
  json_builder_add_string_value (b, e->dir);
  json_builder_set_member_name (b, "software_version");
  json_builder_add_string_value (b, PACKAGE_VERSION);
  json_builder_set_member_name (b, "time_points");
  json_builder_begin_array (b);
  for (guint i = merge_only ? last : first; i < last; i++)
    {
      const KilnExperimentTimePoint *tp = g_ptr_array_index (e->time_points, i);
      g_autoptr(GArray) reports = g_array_new (FALSE, TRUE, sizeof (KilnStepReport));
      g_array_set_clear_func (reports, kiln_step_report_clear);
      gint64 t1 = g_get_monotonic_time ();
      if (!json)
        g_printerr ("%s:\n", tp->name);
      g_autoptr(JsonObject) r = kiln_pipeline_run_time_point (e, i, mask, force, reports,
                                                              cancellable, kiln_cli_progress,
                                                              NULL, &error);
      if (r == NULL)
        {
          g_prefix_error (&error, "%s: ", tp->name);
          return kiln_cli_fail ("run", error);
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, tp->name);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, (g_get_monotonic_time () - t1) / 1e6);
      json_builder_set_member_name (b, "steps");
      json_builder_begin_array (b);
      for (guint k = 0; k < reports->len; k++)
        {
          KilnStepReport *rep = &g_array_index (reports, KilnStepReport, k);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "step");
          json_builder_add_string_value (b, kiln_step_to_string (rep->step));
          json_builder_set_member_name (b, "skipped");
          json_builder_add_boolean_value (b, rep->skipped);
          json_builder_set_member_name (b, "seconds");
          json_builder_add_double_value (b, rep->seconds);
          json_builder_set_member_name (b, "hash");
          json_builder_add_string_value (b, rep->hash);
          /* who made the recorded result (the app or the pipeline), and for the axis step
           * where the axis came from (search, parameters, manual = set in the app) */
          JsonObject *rsteps = json_object_get_object_member (r, "steps");
          const char *sname = kiln_step_to_string (rep->step);
          JsonObject *rec = rsteps != NULL && json_object_has_member (rsteps, sname)
            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (rsteps, sname))
            ? json_object_get_object_member (rsteps, sname) : NULL;
          const char *origin = rec != NULL
            ? json_object_get_string_member_with_default (rec, "origin", "pipeline") : "pipeline";
          JsonObject *det = rec != NULL && json_object_has_member (rec, "details")
            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (rec, "details"))
            ? json_object_get_object_member (rec, "details") : NULL;
          const char *axis_source = rep->step == KILN_STEP_AXIS && det != NULL
            ? json_object_get_string_member_with_default (det, "source", NULL) : NULL;
          json_builder_set_member_name (b, "origin");
          json_builder_add_string_value (b, origin);
          if (axis_source != NULL)
            {
              json_builder_set_member_name (b, "axis_source");
              json_builder_add_string_value (b, axis_source);
            }
          json_builder_end_object (b);
          if (!json)
            {
              const char *note = g_strcmp0 (axis_source, "manual") == 0
                ? " (axis set in the app, kept)" : g_str_equal (origin, "app") ? " (saved by the app)" : "";
              if (rep->skipped)
                g_print ("%s %-12s skipped (unchanged)%s\n", tp->name, sname, note);
              else
                g_print ("%s %-12s done in %.2f s%s\n", tp->name, sname, rep->seconds, note);
            }
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  if (tp_arg == NULL && !no_merge)
    {
      if (!kiln_pipeline_merge (e, &n_merged, &error))
        return kiln_cli_fail ("run", error);
      merged = TRUE;
      if (!json)
        g_print ("Merged the results of %u time point(s) into %s/experiment.json\n", n_merged,
                 e->dir);
    }
  json_builder_set_member_name (b, "merged");
  json_builder_add_boolean_value (b, merged);
  json_builder_set_member_name (b, "merged_time_points");
  json_builder_add_int_value (b, n_merged);
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, (g_get_monotonic_time () - t0) / 1e6);
  json_builder_end_object (b);
  if (json)
    kiln_cli_print_json (json_builder_get_root (b));
  return KILN_CLI_OK;
}
