/* fuzz-tiff.c — TIFF loader
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *path = fuzz_write_input (data, size, ".tif");
  GError *error = NULL;

  fuzz_check_stack (kiln_tiff_load_stack (path, NULL, &error));
  fuzz_check_error (&error);
  return 0;
}
