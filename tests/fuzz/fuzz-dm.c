/* fuzz-dm.c — Gatan DM3/DM4 loader
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *path = fuzz_write_input (data, size, ".dm3");
  GError *error = NULL;

  KilnDmFile *file;

  fuzz_check_stack (kiln_dm_load_stack (path, NULL, &error));
  fuzz_check_error (&error);
  /* the tag tree as kiln-cli info --tags lists it (bounded listing of any tree) */
  file = kiln_dm_file_open (path, &error);
  if (file != NULL)
    {
      char *dump = kiln_dm_file_dump (file);
      if (dump == NULL)
        abort ();
      g_free (dump);
      kiln_dm_file_free (file);
    }
  fuzz_check_error (&error);
  return 0;
}
