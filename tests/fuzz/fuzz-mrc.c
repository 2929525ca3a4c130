/* fuzz-mrc.c — MRC loaders (stack, volume, labels)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *path = fuzz_write_input (data, size, ".mrc");
  GError *error = NULL;
  KilnVolume *v;
  KilnLabelVolume *l;

  fuzz_check_stack (kiln_mrc_load_stack (path, NULL, &error));
  fuzz_check_error (&error);
  v = kiln_mrc_load_volume (path, NULL, &error);
  if (v != NULL)
    kiln_volume_unref (v);
  fuzz_check_error (&error);
  l = kiln_mrc_load_labels (path, NULL, &error);
  if (l != NULL)
    kiln_label_volume_unref (l);
  fuzz_check_error (&error);
  return 0;
}
