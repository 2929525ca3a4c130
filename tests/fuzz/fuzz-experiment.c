/* fuzz-experiment.c — experiment.json loader
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *path = fuzz_write_input (data, size, "-experiment.json");
  GError *error = NULL;
  KilnExperiment *e = kiln_experiment_load (path, &error);

  if (e != NULL)
    {
      for (guint i = 0; i < e->time_points->len; i++)
        {
          KilnExperimentTimePoint *tp = g_ptr_array_index (e->time_points, i);
          g_autofree char *abs = kiln_experiment_path (e, tp->tilts);
          (void) abs;
        }
      kiln_experiment_free (e);
    }
  fuzz_check_error (&error);
  return 0;
}
