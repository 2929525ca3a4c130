/* kiln-dm.h — Gatan DigitalMicrograph DM3 and DM4 files
 *
 * Parses the tag tree, takes the largest image (the tilt series), its calibration (pixel size
 * and unit → nm) and the tilt angles from the third dimension's calibration or the tomography
 * tags.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"

G_BEGIN_DECLS

KilnImageStack *kiln_dm_load_stack (const char    *path,
                                    GCancellable  *cancellable,
                                    GError       **error);

G_END_DECLS
