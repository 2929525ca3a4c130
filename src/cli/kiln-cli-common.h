/* kiln-cli-common.h — shared helpers of the kiln-cli subcommands
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "kiln.h"

G_BEGIN_DECLS

enum
{
  KILN_CLI_OK = 0,
  KILN_CLI_RUNTIME_ERROR = 1,
  KILN_CLI_USAGE_ERROR = 2,
};

/* Parse options: on error prints "kiln-cli CMD: message" and the usage to stderr and returns
 * FALSE (exit with KILN_CLI_USAGE_ERROR). --help prints and exits 0 (GOptionContext default). */
gboolean          kiln_cli_parse           (GOptionContext  *context,
                                            int             *argc,
                                            char          ***argv);
/* Print "kiln-cli CMD: <error message>" and return KILN_CLI_RUNTIME_ERROR. */
int               kiln_cli_fail            (const char      *command,
                                            const GError    *error);
/* Usage error with a message; returns KILN_CLI_USAGE_ERROR. */
int               kiln_cli_usage           (GOptionContext  *context,
                                            const char      *command,
                                            const char      *format,
                                            ...) G_GNUC_PRINTF (3, 4);
/* Print @node as one JSON object (pretty) on stdout, with a trailing newline. Takes @node. */
void              kiln_cli_print_json      (JsonNode        *node);
/* A cancellable that is cancelled on SIGINT/SIGTERM (first signal), for long commands. */
GCancellable     *kiln_cli_cancellable     (void);
/* A progress callback that draws a one-line bar on stderr when stderr is a terminal. */
void              kiln_cli_progress        (double           fraction,
                                            const char      *message,
                                            gpointer         user_data);
/* Parse "A:B" into two unsigned ints. */
gboolean          kiln_cli_parse_range     (const char      *text,
                                            guint           *a,
                                            guint           *b);
/* Parse "AxB". */
gboolean          kiln_cli_parse_times     (const char      *text,
                                            guint           *a,
                                            guint           *b);

G_END_DECLS
