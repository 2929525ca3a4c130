/* kiln-cli.c — the command-line front end of libkiln
 *
 * The commands, options and --json keys are a contract (../shared/design/pipeline.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "kiln-cli-common.h"

typedef int (*KilnCliFunc) (int argc, char **argv);

typedef struct
{
  const char  *name;
  KilnCliFunc  func;
  const char  *summary;
} KilnCliCommand;

#define DECLARE(n) int kiln_cli_##n (int argc, char **argv);
DECLARE (info) DECLARE (convert) DECLARE (simulate) DECLARE (denoise) DECLARE (denoise_tune)
DECLARE (align) DECLARE (tilt_axis) DECLARE (reconstruct) DECLARE (segment) DECLARE (measure)
DECLARE (track) DECLARE (run) DECLARE (methods)
#undef DECLARE

static const KilnCliCommand commands[] = {
#ifdef KILN_CLI_HAVE_INFO
  { "info", kiln_cli_info, "Describe an image stack or volume file" },
#endif
#ifdef KILN_CLI_HAVE_CONVERT
  { "convert", kiln_cli_convert, "Convert between TIFF, MRC and DM3/DM4" },
#endif
#ifdef KILN_CLI_HAVE_SIMULATE
  { "simulate", kiln_cli_simulate, "Write a simulated sintering experiment with ground truth" },
#endif
#ifdef KILN_CLI_HAVE_DENOISE
  { "denoise", kiln_cli_denoise, "BM3D denoising for correlated noise" },
#endif
#ifdef KILN_CLI_HAVE_DENOISE_TUNE
  { "denoise-tune", kiln_cli_denoise_tune, "Choose the BM3D noise variance by maximum PSNR" },
#endif
#ifdef KILN_CLI_HAVE_ALIGN
  { "align", kiln_cli_align, "Align a tilt series" },
#endif
#ifdef KILN_CLI_HAVE_TILT_AXIS
  { "tilt-axis", kiln_cli_tilt_axis, "Find the tilt axis angle and shift" },
#endif
#ifdef KILN_CLI_HAVE_RECONSTRUCT
  { "reconstruct", kiln_cli_reconstruct, "Reconstruct a volume (WBP, SIRT, ISER-style TV)" },
#endif
#ifdef KILN_CLI_HAVE_SEGMENT
  { "segment", kiln_cli_segment, "Binarise and label particles" },
#endif
#ifdef KILN_CLI_HAVE_MEASURE
  { "measure", kiln_cli_measure, "Measure neck radius and distances of particle pairs" },
#endif
#ifdef KILN_CLI_HAVE_TRACK
  { "track", kiln_cli_track, "Track particles across time points" },
#endif
#ifdef KILN_CLI_HAVE_RUN
  { "run", kiln_cli_run, "Run the recorded steps of an experiment" },
#endif
#ifdef KILN_CLI_HAVE_METHODS
  { "methods", kiln_cli_methods, "Print a methods paragraph for an experiment" },
#endif
  { NULL, NULL, NULL }
};

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: kiln-cli COMMAND [OPTIONS…]\n\n"
           "Kiln %s — time-resolved electron tomography of sintering nanoparticles.\n\n"
           "Commands:\n", PACKAGE_VERSION);
  for (guint i = 0; commands[i].name != NULL; i++)
    fprintf (out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fprintf (out,
           "\nOptions:\n"
           "  -h, --help     Show this list of commands\n"
           "  --version      Print the version\n"
           "\nEvery command takes --help (its options) and --json (one JSON object on stdout).\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. Units: nm, degrees, s, °C.\n"
           "See kiln-cli(1) and docs/guide.md for the whole pipeline.\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      usage (stderr);
      return KILN_CLI_USAGE_ERROR;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return KILN_CLI_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("kiln-cli %s\n", PACKAGE_VERSION);
      return KILN_CLI_OK;
    }

  for (guint i = 0; commands[i].name != NULL; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);

  fprintf (stderr, "kiln-cli: unknown command “%s”\n\n", argv[1]);
  usage (stderr);
  return KILN_CLI_USAGE_ERROR;
}
