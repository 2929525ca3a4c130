/* kiln-dm.c — placeholder until the DM3/DM4 reader lands: refuses with a clear error.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-dm.h"
#include "kiln-error.h"

KilnImageStack *
kiln_dm_load_stack (const char    *path,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
               "%s: reading Gatan DM3/DM4 files is not available in this build", path);
  return NULL;
}
