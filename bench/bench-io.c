/* bench-io.c — read and write a 41 × 1024 × 1024 float32 tilt stack as MRC and TIFF
 *
 * Usage: bench-io [DIR…]   (default: the temporary folder, and /dev/shm when present)
 *
 * Reads come from the page cache (the file was just written and read once before timing).
 * Writes are Kiln's atomic saves: temporary file, fsync, rename — on a disk-backed folder the
 * fsync dominates; on tmpfs (/dev/shm) it costs nothing, which shows the CPU side.
 * Prints the median, min and max of REPS repetitions, in MB/s (10⁶ bytes of pixel data per s).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln.h"

#define N_TILTS 41
#define SIZE    1024
#define REPS    5

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef gboolean (*SaveFunc) (const KilnImageStack *, const char *, GError **);
typedef KilnImageStack *(*LoadFunc) (const char *, GCancellable *, GError **);

static gboolean
save_mrc (const KilnImageStack *s,
          const char           *path,
          GError              **error)
{
  return kiln_mrc_save_stack (s, path, "bench", error);
}

static void
report (const char *format,
        const char *op,
        const char *dir,
        double     *seconds,
        double      mb)
{
  qsort (seconds, REPS, sizeof (double), cmp_double);
  printf ("| %-4s | %-5s | %-22s | %8.3f | %11.0f | %10.0f | %9.0f |\n", format, op, dir,
          seconds[REPS / 2], mb / seconds[REPS / 2], mb / seconds[REPS - 1], mb / seconds[0]);
  fflush (stdout);
}

static void
bench_dir (const char           *dir,
           const KilnImageStack *stack)
{
  const struct { const char *name; const char *ext; SaveFunc save; LoadFunc load; } fmts[] = {
    { "MRC", "mrc", save_mrc, kiln_mrc_load_stack },
    { "TIFF", "tif", kiln_tiff_save_stack, kiln_tiff_load_stack },
  };
  double mb = (double) kiln_image_stack_n_pixels (stack) * sizeof (float) / 1e6;
  g_autofree char *work = NULL;
  g_autoptr(GError) error = NULL;

  work = g_build_filename (dir, "kiln-bench-io-XXXXXX", NULL);
  if (g_mkdtemp (work) == NULL)
    {
      fprintf (stderr, "bench-io: cannot create a folder in %s\n", dir);
      return;
    }

  for (guint f = 0; f < G_N_ELEMENTS (fmts); f++)
    {
      g_autofree char *name = g_strdup_printf ("stack.%s", fmts[f].ext);
      g_autofree char *path = g_build_filename (work, name, NULL);
      double t_write[REPS], t_read[REPS];
      KilnImageStack *r;

      for (int i = 0; i < REPS; i++)
        {
          gint64 t0 = g_get_monotonic_time ();
          if (!fmts[f].save (stack, path, &error))
            g_error ("%s", error->message);
          t_write[i] = (g_get_monotonic_time () - t0) / 1e6;
        }
      /* warm-up read; check the data once */
      r = fmts[f].load (path, NULL, &error);
      if (r == NULL)
        g_error ("%s", error->message);
      if (memcmp (r->data, stack->data, kiln_image_stack_n_pixels (stack) * sizeof (float)) != 0)
        g_error ("%s: data read back differ", path);
      kiln_image_stack_unref (r);
      for (int i = 0; i < REPS; i++)
        {
          gint64 t0 = g_get_monotonic_time ();
          r = fmts[f].load (path, NULL, &error);
          t_read[i] = (g_get_monotonic_time () - t0) / 1e6;
          if (r == NULL)
            g_error ("%s", error->message);
          kiln_image_stack_unref (r);
        }
      report (fmts[f].name, "write", dir, t_write, mb);
      report (fmts[f].name, "read", dir, t_read, mb);
      g_unlink (path);
    }
  g_rmdir (work);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) stack = kiln_image_stack_new (N_TILTS, SIZE, SIZE, &error);
  GRand *rand = g_rand_new_with_seed (1);
  gsize n;

  if (stack == NULL)
    g_error ("%s", error->message);
  n = kiln_image_stack_n_pixels (stack);
  for (gsize i = 0; i < n; i++)
    stack->data[i] = (float) g_rand_double (rand) * 1000.0f;
  g_rand_free (rand);
  stack->pixel_size_nm = 1.04;

  printf ("I/O of a %d × %d × %d float32 stack (%.0f MB), %d repetitions, MB/s = 10⁶ B/s\n\n",
          N_TILTS, SIZE, SIZE, n * 4 / 1e6, REPS);
  printf ("| fmt  | op    | folder                 | median s | median MB/s | worst MB/s | best MB/s |\n");
  printf ("|------|-------|------------------------|----------|-------------|------------|-----------|\n");
  if (argc > 1)
    for (int i = 1; i < argc; i++)
      bench_dir (argv[i], stack);
  else
    {
      bench_dir (g_get_tmp_dir (), stack);
      if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR))
        bench_dir ("/dev/shm", stack);
    }
  return 0;
}
