/* kiln-cli-methods.c — kiln-cli methods EXPERIMENT_DIR [--json]
 *
 * Prints a methods paragraph: every parameter of every step (with units) as recorded in
 * experiment.json, the results merged by `kiln-cli run`, and the software version.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-cli-common.h"

int
kiln_cli_methods (int    argc,
                  char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object (text, software_version, steps with their effective parameters)",
      NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("EXPERIMENT_DIR — print a methods paragraph for a publication");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnExperiment) e = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Describes the processing of an experiment: each step (denoise, align, axis, reconstruct,\n"
    "segment, measure) with every parameter and its unit, the values found per time point\n"
    "(merged by `kiln-cli run`), computing times and the Kiln version.");
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (argc != 2)
    return kiln_cli_usage (context, "methods", "expected EXPERIMENT_DIR");
  e = kiln_experiment_load (argv[1], &error);
  if (e == NULL)
    return kiln_cli_fail ("methods", error);
  g_autofree char *text = kiln_pipeline_methods (e, &error);
  if (text == NULL)
    return kiln_cli_fail ("methods", error);
  if (!json)
    {
      g_print ("%s", text);
      return KILN_CLI_OK;
    }
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, g_strchomp (text));
  json_builder_set_member_name (b, "software_version");
  json_builder_add_string_value (b, PACKAGE_VERSION);
  json_builder_set_member_name (b, "steps");
  json_builder_begin_object (b);
  for (guint s = 0; s < KILN_N_STEPS; s++)
    {
      JsonObject *p = kiln_pipeline_step_params (e, s, &error);
      if (p == NULL)
        return kiln_cli_fail ("methods", error);
      json_builder_set_member_name (b, kiln_step_to_string (s));
      json_builder_add_value (b, json_node_init_object (json_node_alloc (), p));
      json_object_unref (p);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  kiln_cli_print_json (json_builder_get_root (b));
  return KILN_CLI_OK;
}
