/* test-atomic-save.c — a save killed at any moment (SIGKILL) never leaves a damaged file: the
 * target always holds the previous or the new content, complete.
 *
 * The test re-runs its own binary as a child ("--save-loop PATH") that saves two different
 * volumes over PATH in a tight loop; the parent kills it after a random delay, 60 times, and
 * each time checks the file. It covers kiln_mrc_save_volume and kiln_csv_save.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln-test-util.h"

#define N_TRIALS 60
#define NX 48
#define NY 40
#define NZ 24

static KilnVolume *
make_volume (float base)
{
  KilnVolume *v = kiln_volume_new (NX, NY, NZ, NULL);

  for (gsize i = 0; i < kiln_volume_n_voxels (v); i++)
    v->data[i] = base + (float) (i % 1000);
  v->voxel_size_nm = 1.5;
  return v;
}

static int
save_loop (const char *path)
{
  g_autoptr(KilnVolume) a = make_volume (0.0f);
  g_autoptr(KilnVolume) b = make_volume (5000.0f);
  g_autofree char *csv_path = g_strconcat (path, ".csv", NULL);
  const char *cols[] = { "index", "value_nm", NULL };

  for (guint i = 0;; i++)
    {
      g_autoptr(KilnCsv) csv = kiln_csv_new (cols);
      double row[2] = { i % 2, i % 2 ? 5000 : 0 };

      for (guint r = 0; r < 2000; r++)
        kiln_csv_add_row (csv, row);
      if (!kiln_mrc_save_volume (i % 2 ? b : a, path, "atomic save test", NULL))
        return 1;
      if (!kiln_csv_save (csv, csv_path, NULL))
        return 1;
      if (i == 0)
        {
          /* tell the parent the first complete save exists */
          g_autofree char *flag = g_strconcat (path, ".ready", NULL);
          g_file_set_contents (flag, "1", 1, NULL);
        }
    }
  return 0;
}

static void
check_volume (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolume) v = kiln_mrc_load_volume (path, NULL, &error);
  float base;

  g_assert_no_error (error);
  g_assert_nonnull (v);
  g_assert_cmpuint (v->nx, ==, NX);
  g_assert_cmpuint (v->nz, ==, NZ);
  base = v->data[0];
  g_assert_true (base == 0.0f || base == 5000.0f);
  /* complete: every voxel of one of the two versions */
  for (gsize i = 0; i < kiln_volume_n_voxels (v); i++)
    g_assert_cmpfloat (v->data[i], ==, base + (float) (i % 1000));
}

static void
check_csv (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = kiln_csv_load (path, &error);
  const char *first;

  g_assert_no_error (error);
  /* header + 2000 rows + the empty remainder after the final newline */
  g_assert_cmpuint (rows->len, >=, 2001);
  first = ((char **) g_ptr_array_index (rows, 1))[0];
  for (guint r = 1; r <= 2000; r++)
    g_assert_cmpstr (((char **) g_ptr_array_index (rows, r))[0], ==, first);
}

static const char *self_exe;

static void
test_kill_during_save (void)
{
  g_autofree char *path = kiln_test_tmpfile ("volume.mrc");
  g_autofree char *csv_path = g_strconcat (path, ".csv", NULL);
  g_autofree char *flag = g_strconcat (path, ".ready", NULL);
  GRand *rand = g_rand_new_with_seed (4242);

  for (guint trial = 0; trial < N_TRIALS; trial++)
    {
      g_autoptr(GError) error = NULL;
      char *argv[] = { (char *) self_exe, (char *) "--save-loop", path, NULL };
      GPid pid;
      int status;
      gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      g_unlink (flag);
      g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error);
      g_assert_no_error (error);
      while (!g_file_test (flag, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
        g_usleep (1000);
      g_assert_true (g_file_test (flag, G_FILE_TEST_EXISTS));
      g_usleep (g_rand_int_range (rand, 0, 30000));   /* 0 … 30 ms into the loop */
      kill (pid, SIGKILL);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_spawn_close_pid (pid);
      g_assert_true (WIFSIGNALED (status));

      check_volume (path);
      check_csv (csv_path);
    }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "--save-loop"))
    return save_loop (argv[2]);

  self_exe = argv[0];
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/atomic-save/kill-during-save", test_kill_during_save);
  return g_test_run ();
}
