/* fuzz-imod.c — .tlt and .xf readers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *path = fuzz_write_input (data, size, ".txt");
  GError *error = NULL;
  guint n = 0;
  double *angles;
  KilnXf *xf;

  angles = kiln_tlt_load (path, &n, &error);
  if (angles != NULL && n > 0)
    {
      volatile double last = angles[n - 1];
      (void) last;
    }
  g_free (angles);
  fuzz_check_error (&error);
  xf = kiln_xf_load (path, &n, &error);
  if (xf != NULL && n > 0)
    {
      volatile double last = xf[n - 1].dy;
      (void) last;
    }
  g_free (xf);
  fuzz_check_error (&error);
  return 0;
}
