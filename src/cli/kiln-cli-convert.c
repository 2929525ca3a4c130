/* kiln-cli-convert.c — kiln-cli convert IN OUT [--angles TLT] [--pixel-size NM] [--json]
 *
 * Reads TIFF (multi-page), MRC, DM3 or DM4; writes MRC (mode 2) or float32 TIFF, chosen by
 * OUT's extension. When tilt angles are known (from IN or --angles) they are written next to
 * OUT as an IMOD .tlt file (OUT with its extension replaced by .tlt). All writes are atomic.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kiln-cli-common.h"

/* OUT with its extension replaced by ".tlt" ("a/b.mrc" → "a/b.tlt"). */
static char *
tlt_path_for (const char *out)
{
  g_autofree char *dir = g_path_get_dirname (out);
  g_autofree char *base = g_path_get_basename (out);
  char *dot = strrchr (base, '.');
  g_autofree char *name = NULL;

  if (dot != NULL && dot != base)
    *dot = '\0';
  name = g_strconcat (base, ".tlt", NULL);
  return g_build_filename (dir, name, NULL);
}

static gboolean
parse_positive (const char *text,
                double     *value)
{
  char *end;

  if (text == NULL)
    return FALSE;
  *value = g_ascii_strtod (text, &end);
  return end != text && *end == '\0' && isfinite (*value) && *value > 0.0;
}

int
kiln_cli_convert (int    argc,
                  char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  g_autofree char *angles_file = NULL;
  g_autofree char *pixel_text = NULL;
  g_autofree char *tlt_out = NULL;
  g_autofree char *label = NULL;
  g_autofree char *in_base = NULL;
  g_auto(GStrv) args = NULL;
  gboolean json = FALSE;
  double pixel_size = 0.0;
  const char *in, *out;
  KilnFileFormat out_format;
  gboolean ok;
  const GOptionEntry entries[] = {
    { "angles", 0, 0, G_OPTION_ARG_FILENAME, &angles_file,
      "Tilt angles (IMOD .tlt/.rawtlt, degrees), one per image of IN", "TLT" },
    { "pixel-size", 0, 0, G_OPTION_ARG_STRING, &pixel_text,
      "Pixel size in nm (overrides the one in IN)", "NM" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "IN OUT" },
    { NULL }
  };

  context = g_option_context_new ("— convert between TIFF, MRC, DM3 and DM4");
  g_option_context_set_summary (context,
    "Reads IN (TIFF, MRC, DM3 or DM4, recognised by content) and writes OUT as MRC (mode 2,\n"
    "float32: .mrc .st .ali .rec .map) or float32 multi-page TIFF (.tif .tiff). When the tilt\n"
    "angles are known (from IN or --angles), they are also written to OUT's name with the\n"
    "extension .tlt. Nothing is half-written: outputs are replaced atomically.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (args == NULL || g_strv_length (args) != 2)
    return kiln_cli_usage (context, "convert", "give an input file IN and an output file OUT");
  in = args[0];
  out = args[1];
  if (pixel_text != NULL && !parse_positive (pixel_text, &pixel_size))
    return kiln_cli_usage (context, "convert",
                           "--pixel-size must be a positive number of nm, not “%s”", pixel_text);
  out_format = kiln_file_format_for_output (out);
  if (out_format == KILN_FILE_FORMAT_UNKNOWN)
    return kiln_cli_usage (context, "convert",
                           "cannot tell the output format of “%s” (use .mrc, .st, .ali, .rec, "
                           ".map, .tif or .tiff)", out);

  stack = kiln_io_load_stack (in, kiln_cli_cancellable (), &error);
  if (stack == NULL)
    return kiln_cli_fail ("convert", error);
  if (angles_file != NULL)
    {
      g_autofree double *angles = NULL;
      guint n;

      angles = kiln_tlt_load (angles_file, &n, &error);
      if (angles == NULL)
        return kiln_cli_fail ("convert", error);
      if (n != stack->n_tilts)
        {
          g_set_error (&error, KILN_ERROR, KILN_ERROR_MISMATCH,
                       "%s holds %u tilt angles but %s has %u tilts", angles_file, n, in,
                       stack->n_tilts);
          return kiln_cli_fail ("convert", error);
        }
      if (!kiln_image_stack_set_angles (stack, angles, n, &error))
        {
          g_prefix_error (&error, "%s: ", angles_file);
          return kiln_cli_fail ("convert", error);
        }
    }
  if (pixel_size > 0.0)
    stack->pixel_size_nm = pixel_size;

  in_base = g_path_get_basename (in);
  label = g_strdup_printf ("Kiln %s: converted from %s", PACKAGE_VERSION, in_base);
  if (out_format == KILN_FILE_FORMAT_MRC)
    ok = kiln_mrc_save_stack (stack, out, label, &error);
  else
    ok = kiln_tiff_save_stack (stack, out, &error);
  if (!ok)
    return kiln_cli_fail ("convert", error);

  if (stack->has_angles)
    {
      tlt_out = tlt_path_for (out);
      /* --angles naming the very file we would write: it already holds these angles */
      if (angles_file == NULL || g_strcmp0 (angles_file, tlt_out) != 0)
        if (!kiln_tlt_save (tlt_out, stack->angles_deg, stack->n_tilts, &error))
          return kiln_cli_fail ("convert", error);
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "input");
      json_builder_add_string_value (b, in);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, out);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, kiln_file_format_name (out_format));
      json_builder_set_member_name (b, "tilts");
      json_builder_add_int_value (b, stack->n_tilts);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, stack->width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, stack->height);
      json_builder_set_member_name (b, "pixel_size_nm");
      if (stack->pixel_size_nm > 0.0)
        json_builder_add_double_value (b, stack->pixel_size_nm);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "angles_file");
      if (tlt_out != NULL)
        json_builder_add_string_value (b, tlt_out);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
    }
  else
    {
      printf ("Wrote %s (%s, %u images of %u × %u, float32", out,
              kiln_file_format_name (out_format), stack->n_tilts, stack->width, stack->height);
      if (stack->pixel_size_nm > 0.0)
        printf (", %.6g nm/pixel)\n", stack->pixel_size_nm);
      else
        printf (", pixel size unknown)\n");
      if (tlt_out != NULL)
        printf ("Wrote %s (%u tilt angles)\n", tlt_out, stack->n_tilts);
    }
  if (stack->pixel_size_nm <= 0.0)
    g_printerr ("kiln-cli convert: note: %s has no pixel size; give one with --pixel-size NM\n",
                in);
  return KILN_CLI_OK;
}
