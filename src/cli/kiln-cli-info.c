/* kiln-cli-info.c — kiln-cli info FILE [--json] [--angles TLT]
 *
 * Describes an image stack or volume file: format, size, sample type, pixel size, tilt angles
 * and value range. --json keys (pipeline.md, stable): format, tilts, width, height, depth,
 * dtype, pixel_size_nm, angles_deg, min, max, mean; and also path, std, file_size_bytes,
 * angles_source, and for MRC files mrc_mode, big_endian, label, extended_header_bytes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <tiffio.h>
#include <glib/gstdio.h>

#include "kiln-cli-common.h"

static const char *
mrc_dtype (const KilnMrcInfo *info)
{
  switch (info->mode)
    {
    case 0: return "int8";
    case 1: return "int16";
    case 2: return "float32";
    case 6: return "uint16";
    case 12: return "float16";
    default: return "unknown";
    }
}

static int
ignore_tiff (TIFF       *tif,
             void       *user_data,
             const char *module,
             const char *fmt,
             va_list     ap)
{
  return 1;
}

/* The sample type of the first page of a TIFF file. */
static char *
tiff_dtype (const char *path)
{
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc ();
  guint16 bps = 1, fmt = SAMPLEFORMAT_UINT;
  TIFF *tif;
  char *s;

  TIFFOpenOptionsSetErrorHandlerExtR (opts, ignore_tiff, NULL);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, ignore_tiff, NULL);
  tif = TIFFOpenExt (path, "r", opts);
  TIFFOpenOptionsFree (opts);
  if (tif == NULL)
    return g_strdup ("unknown");
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &fmt);
  TIFFClose (tif);
  s = g_strdup_printf ("%s%u", fmt == SAMPLEFORMAT_IEEEFP ? "float" :
                       fmt == SAMPLEFORMAT_INT ? "int" : "uint", bps);
  return s;
}

/* The data type of the largest image of a DM3/DM4 file (DM's DataType codes). */
static char *
dm_dtype (const char *path)
{
  g_autoptr(KilnDmFile) dm = kiln_dm_file_open (path, NULL);
  const KilnDmTag *list;
  double best_type = -1;
  gsize best_size = 0;

  if (dm == NULL)
    return g_strdup ("unknown");
  list = kiln_dm_tag_lookup (kiln_dm_file_root (dm), "ImageList");
  for (guint i = 0; list != NULL && i < kiln_dm_tag_n_children (list); i++)
    {
      const KilnDmTag *img = kiln_dm_tag_child (list, i);
      const KilnDmTag *data = kiln_dm_tag_lookup (img, "ImageData/Data");
      const KilnDmTag *type = kiln_dm_tag_lookup (img, "ImageData/DataType");
      gsize size = 0;
      double t;

      if (data == NULL || type == NULL || !kiln_dm_tag_get_double (type, &t))
        continue;
      kiln_dm_tag_data (data, &size);
      if (size > best_size)
        {
          best_size = size;
          best_type = t;
        }
    }
  switch ((int) best_type)
    {
    case 1: return g_strdup ("int16");
    case 2: return g_strdup ("float32");
    case 6: return g_strdup ("uint8");
    case 7: return g_strdup ("int32");
    case 9: return g_strdup ("int8");
    case 10: return g_strdup ("uint16");
    case 11: return g_strdup ("uint32");
    case 12: return g_strdup ("float64");
    default: return g_strdup ("unknown");
    }
}

static char *
format_number (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

int
kiln_cli_info (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = NULL;
  g_autofree char *dtype = NULL;
  g_autofree char *angles_file = NULL;
  g_auto(GStrv) args = NULL;
  gboolean json = FALSE;
  const char *path, *angles_source = NULL;
  KilnFileFormat format;
  KilnMrcInfo mrc = { 0 };
  KilnStats st;
  GStatBuf sb;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { "angles", 0, 0, G_OPTION_ARG_FILENAME, &angles_file,
      "Tilt angles (IMOD .tlt/.rawtlt, degrees) for the stack", "TLT" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "FILE" },
    { NULL }
  };

  context = g_option_context_new ("— describe an image stack or volume file");
  g_option_context_set_summary (context,
    "Prints the format, size, sample type, pixel size (nm), tilt angles (degrees) and value\n"
    "range of a TIFF, MRC, DM3 or DM4 file. For every file, tilts = depth = the number of\n"
    "images (TIFF pages, MRC sections).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!kiln_cli_parse (context, &argc, &argv))
    return KILN_CLI_USAGE_ERROR;
  if (args == NULL || g_strv_length (args) != 1)
    return kiln_cli_usage (context, "info", args == NULL ? "a FILE is needed"
                                                         : "give exactly one FILE");
  path = args[0];

  stack = kiln_io_load_stack (path, kiln_cli_cancellable (), &error);
  if (stack == NULL)
    return kiln_cli_fail ("info", error);
  if (stack->has_angles)
    angles_source = "file";
  if (angles_file != NULL)
    {
      g_autofree double *angles = NULL;
      guint n;

      angles = kiln_tlt_load (angles_file, &n, &error);
      if (angles == NULL)
        return kiln_cli_fail ("info", error);
      if (n != stack->n_tilts)
        {
          g_set_error (&error, KILN_ERROR, KILN_ERROR_MISMATCH,
                       "%s holds %u tilt angles but %s has %u tilts", angles_file, n, path,
                       stack->n_tilts);
          return kiln_cli_fail ("info", error);
        }
      if (!kiln_image_stack_set_angles (stack, angles, n, &error))
        {
          g_prefix_error (&error, "%s: ", angles_file);
          return kiln_cli_fail ("info", error);
        }
      angles_source = angles_file;
    }

  format = kiln_file_format_detect (path);
  switch (format)
    {
    case KILN_FILE_FORMAT_MRC:
      if (!kiln_mrc_read_info (path, &mrc, &error))
        return kiln_cli_fail ("info", error);
      dtype = g_strdup (mrc_dtype (&mrc));
      break;
    case KILN_FILE_FORMAT_TIFF:
      dtype = tiff_dtype (path);
      break;
    case KILN_FILE_FORMAT_DM3:
    case KILN_FILE_FORMAT_DM4:
      dtype = dm_dtype (path);
      break;
    case KILN_FILE_FORMAT_UNKNOWN:
    default:
      dtype = g_strdup ("unknown");
      break;
    }
  kiln_image_stack_stats (stack, &st);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, kiln_file_format_name (format));
      json_builder_set_member_name (b, "tilts");
      json_builder_add_int_value (b, stack->n_tilts);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, stack->width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, stack->height);
      json_builder_set_member_name (b, "depth");
      json_builder_add_int_value (b, stack->n_tilts);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, dtype);
      json_builder_set_member_name (b, "pixel_size_nm");
      if (stack->pixel_size_nm > 0.0)
        json_builder_add_double_value (b, stack->pixel_size_nm);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "angles_deg");
      if (stack->has_angles)
        {
          json_builder_begin_array (b);
          for (guint i = 0; i < stack->n_tilts; i++)
            json_builder_add_double_value (b, stack->angles_deg[i]);
          json_builder_end_array (b);
        }
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "angles_source");
      if (angles_source != NULL)
        json_builder_add_string_value (b, angles_source);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "min");
      json_builder_add_double_value (b, st.min);
      json_builder_set_member_name (b, "max");
      json_builder_add_double_value (b, st.max);
      json_builder_set_member_name (b, "mean");
      json_builder_add_double_value (b, st.mean);
      json_builder_set_member_name (b, "std");
      json_builder_add_double_value (b, st.rms);
      json_builder_set_member_name (b, "file_size_bytes");
      json_builder_add_int_value (b, g_stat (path, &sb) == 0 ? (gint64) sb.st_size : -1);
      if (format == KILN_FILE_FORMAT_MRC)
        {
          json_builder_set_member_name (b, "mrc_mode");
          json_builder_add_int_value (b, mrc.mode);
          json_builder_set_member_name (b, "big_endian");
          json_builder_add_boolean_value (b, mrc.big_endian);
          json_builder_set_member_name (b, "label");
          json_builder_add_string_value (b, mrc.label);
          json_builder_set_member_name (b, "extended_header_bytes");
          json_builder_add_int_value (b, mrc.n_ext_bytes);
        }
      json_builder_end_object (b);
      kiln_cli_print_json (json_builder_get_root (b));
      return KILN_CLI_OK;
    }

  {
    g_autofree char *mn = format_number (st.min);
    g_autofree char *mx = format_number (st.max);
    g_autofree char *me = format_number (st.mean);
    g_autofree char *sd = format_number (st.rms);

    printf ("%s\n", path);
    printf ("  format:      %s%s\n", kiln_file_format_name (format),
            format == KILN_FILE_FORMAT_MRC ? (mrc.big_endian ? " (big-endian)" : " (little-endian)")
                                           : "");
    printf ("  size:        %u images of %u × %u pixels, %s\n", stack->n_tilts, stack->width,
            stack->height, dtype);
    if (stack->pixel_size_nm > 0.0)
      printf ("  pixel size:  %.6g nm\n", stack->pixel_size_nm);
    else
      printf ("  pixel size:  unknown\n");
    if (stack->has_angles)
      {
        double lo = INFINITY, hi = -INFINITY;
        for (guint i = 0; i < stack->n_tilts; i++)
          {
            lo = MIN (lo, stack->angles_deg[i]);
            hi = MAX (hi, stack->angles_deg[i]);
          }
        printf ("  tilt angles: %.6g … %.6g° (%u angles, from %s)\n", lo, hi, stack->n_tilts,
                angles_source);
      }
    else
      printf ("  tilt angles: none in the file (give them with --angles TLT)\n");
    printf ("  values:      %s … %s, mean %s, std %s\n", mn, mx, me, sd);
    if (format == KILN_FILE_FORMAT_MRC && mrc.label[0] != '\0')
      printf ("  label:       %s\n", mrc.label);
  }
  return KILN_CLI_OK;
}
