/* replay-main.c — runs a fuzz target on every file of the given folders (the seed corpus and the
 * regression inputs of past findings), without libFuzzer: the normal test suite's guard that
 * no known input crashes a loader. Prints TAP.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "fuzz-common.h"

int
main (int    argc,
      char **argv)
{
  guint n = 0;

  for (int a = 1; a < argc; a++)
    {
      g_autoptr(GDir) dir = g_dir_open (argv[a], 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL)
        {
          printf ("Bail out! cannot open %s\n", argv[a]);
          return 1;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (argv[a], name, NULL));
      g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
      if (names->len == 0)
        {
          printf ("Bail out! %s holds no inputs\n", argv[a]);
          return 1;
        }
      for (guint i = 0; i < names->len; i++)
        {
          const char *path = g_ptr_array_index (names, i);
          g_autofree char *contents = NULL;
          gsize len = 0;

          if (!g_file_get_contents (path, &contents, &len, NULL))
            {
              printf ("not ok %u - %s unreadable\n", ++n, path);
              continue;
            }
          /* a crash, abort or sanitizer report ends the process: the test fails */
          LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
          printf ("ok %u - %s\n", ++n, path);
        }
    }
  printf ("1..%u\n", n);
  return 0;
}
