/* bench-app-start.c — application start latency: from spawning `kiln --demo` to the first frame
 * of its window, and to the first frame showing the opened demo experiment (median of 5 runs).
 *
 * Needs a display: xvfb-run -a build/bench/bench-app-start [PATH/TO/kiln]
 * The app prints "first-frame" / "document-frame" when KILN_BENCH_START is set (see
 * kiln-application.c) and quits after the document frame. One untimed warm-up run first creates
 * the demo experiment in a private cache folder (as a user's first start does once).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#define N_RUNS 5

typedef struct
{
  double first_ms;
  double document_ms;
} Run;

static gboolean
run_once (const char *kiln,
          char      **envp,
          Run        *run,
          GError    **error)
{
  const char *argv[] = { kiln, "--demo", NULL };
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  GPid pid;
  int out_fd;
  int status = 0;
  gint64 t0;
  char *line;

  run->first_ms = run->document_ms = -1;
  t0 = g_get_monotonic_time ();
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                 &pid, NULL, &out_fd, NULL, error))
    return FALSE;
  raw = g_unix_input_stream_new (out_fd, TRUE);
  in = g_data_input_stream_new (raw);
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL)
    {
      double ms = (g_get_monotonic_time () - t0) / 1000.0;
      if (g_str_equal (line, "first-frame") && run->first_ms < 0)
        run->first_ms = ms;
      else if (g_str_equal (line, "document-frame") && run->document_ms < 0)
        run->document_ms = ms;
      g_free (line);
    }
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
  if (run->first_ms < 0 || run->document_ms < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s --demo ended (status %d) without reporting its frames (no display?)", kiln, status);
      return FALSE;
    }
  return TRUE;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof (double), compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
  g_autofree char *self_dir = g_path_get_dirname (argv[0]);
  g_autofree char *kiln = argc > 1 ? g_strdup (argv[1])
    : g_build_filename (self_dir, "..", "src", "app", "kiln", NULL);
  g_autofree char *schemas = NULL;
  g_autofree char *cache = g_dir_make_tmp ("kiln-bench-start-XXXXXX", NULL);
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  double first[N_RUNS], doc[N_RUNS];
  Run warm;

  if (!g_file_test (kiln, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("bench-app-start: %s is not the kiln program (give its path)\n", kiln);
      return 1;
    }
  {
    g_autofree char *kiln_dir = g_path_get_dirname (kiln);
    schemas = g_build_filename (kiln_dir, "..", "..", "data", NULL);
  }
  envp = g_environ_setenv (envp, "KILN_BENCH_START", "quit", TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache, TRUE);
  envp = g_environ_setenv (envp, "GSETTINGS_BACKEND", "memory", TRUE);
  envp = g_environ_setenv (envp, "GSETTINGS_SCHEMA_DIR", schemas, FALSE);
  envp = g_environ_setenv (envp, "NO_AT_BRIDGE", "1", FALSE);
  envp = g_environ_setenv (envp, "GTK_A11Y", "none", FALSE);

  if (!run_once (kiln, envp, &warm, &error))
    {
      g_printerr ("bench-app-start: %s\n", error->message);
      return 1;
    }
  printf ("Application start (kiln --demo, teaching preset already simulated; warm-up run "
          "%.0f ms including the simulation)\n", warm.document_ms);
  printf ("%-5s %18s %22s\n", "run", "first frame (ms)", "demo shown (ms)");
  for (guint i = 0; i < N_RUNS; i++)
    {
      Run r;
      if (!run_once (kiln, envp, &r, &error))
        {
          g_printerr ("bench-app-start: %s\n", error->message);
          return 1;
        }
      first[i] = r.first_ms;
      doc[i] = r.document_ms;
      printf ("%-5u %18.0f %22.0f\n", i + 1, r.first_ms, r.document_ms);
    }
  printf ("%-5s %18.0f %22.0f\n", "median", median (first, N_RUNS), median (doc, N_RUNS));
  printf ("goal: first frame ≤ 1000 ms\n");
  return 0;
}
