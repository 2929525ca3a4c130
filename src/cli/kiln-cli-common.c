/* kiln-cli-common.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>

#include "kiln-cli-common.h"

gboolean
kiln_cli_parse (GOptionContext   *context,
                int              *argc,
                char           ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("kiln-cli: %s\n\n%s", error->message, help);
      return FALSE;
    }
  return TRUE;
}

int
kiln_cli_fail (const char   *command,
               const GError *error)
{
  /* a file name that is not UTF-8 shows as U+FFFD rather than making stderr invalid UTF-8 */
  g_autofree char *message = g_utf8_make_valid (error ? error->message : "failed", -1);

  g_printerr ("kiln-cli %s: %s\n", command, message);
  return KILN_CLI_RUNTIME_ERROR;
}

int
kiln_cli_usage (GOptionContext *context,
                const char     *command,
                const char     *format,
                ...)
{
  va_list args;
  g_autofree char *msg = NULL;
  g_autofree char *help = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (context != NULL)
    help = g_option_context_get_help (context, TRUE, NULL);
  g_printerr ("kiln-cli %s: %s\n%s%s", command, msg, help ? "\n" : "", help ? help : "");
  return KILN_CLI_USAGE_ERROR;
}

void
kiln_cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
  json_node_unref (node);
}

static volatile sig_atomic_t got_signal;
static GCancellable *signal_cancellable;

static void
signal_handler (int signum)
{
  got_signal = 1;
  /* g_cancellable_cancel is not async-signal-safe; a watcher thread polls got_signal. */
}

static gpointer
signal_watch (gpointer data)
{
  while (!got_signal)
    g_usleep (50000);
  g_cancellable_cancel (signal_cancellable);
  return NULL;
}

GCancellable *
kiln_cli_cancellable (void)
{
  if (signal_cancellable == NULL)
    {
      struct sigaction sa = { 0 };
      signal_cancellable = g_cancellable_new ();
      sa.sa_handler = signal_handler;
      sigemptyset (&sa.sa_mask);
      sigaction (SIGINT, &sa, NULL);
      sigaction (SIGTERM, &sa, NULL);
      g_thread_unref (g_thread_new ("kiln-cli-signals", signal_watch, NULL));
    }
  return signal_cancellable;
}

void
kiln_cli_progress (double      fraction,
                   const char *message,
                   gpointer    user_data)
{
  static gint64 last;
  gint64 now;

  if (!isatty (STDERR_FILENO))
    return;
  now = g_get_monotonic_time ();
  if (fraction < 1.0 && now - last < 100000)
    return;
  last = now;
  g_printerr ("\r%3d%% %-60.60s", (int) (fraction * 100.0 + 0.5), message ? message : "");
  if (fraction >= 1.0)
    g_printerr ("\n");
}

static gboolean
parse_pair (const char *text,
            char        sep,
            guint      *a,
            guint      *b)
{
  char *end;
  guint64 va, vb;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  va = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || g_ascii_tolower (*end) != sep || va > G_MAXUINT)
    return FALSE;
  text = end + 1;
  if (!g_ascii_isdigit (*text))
    return FALSE;
  vb = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || *end != '\0' || vb > G_MAXUINT)
    return FALSE;
  *a = (guint) va;
  *b = (guint) vb;
  return TRUE;
}

gboolean
kiln_cli_parse_range (const char *text,
                      guint      *a,
                      guint      *b)
{
  return parse_pair (text, ':', a, b);
}

gboolean
kiln_cli_parse_times (const char *text,
                      guint      *a,
                      guint      *b)
{
  return parse_pair (text, 'x', a, b);
}
