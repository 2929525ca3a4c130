/* kiln-tiff.h — TIFF tilt stacks (libtiff)
 *
 * Reads multi-page and single-page series of 8/16/32-bit signed/unsigned integer and float32
 * greyscale images, stripped or tiled, with any compression libtiff decodes. Writes float32
 * multi-page, atomically.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

/* One page per tilt. Pixel size from the resolution tags when their unit is cm (or from an
 * ImageJ "unit=nm"/"unit=micron" description), else 0. */
KilnImageStack *kiln_tiff_load_stack   (const char            *path,
                                        GCancellable          *cancellable,
                                        GError               **error);
/* A series of single-page files (one tilt each, all the same size), in the order given. */
KilnImageStack *kiln_tiff_load_series  (const char * const    *paths,
                                        GCancellable          *cancellable,
                                        GError               **error);
gboolean        kiln_tiff_save_stack   (const KilnImageStack  *stack,
                                        const char            *path,
                                        GError               **error);
/* A volume as nz float32 pages of nx × ny. */
gboolean        kiln_tiff_save_volume  (const KilnVolume      *volume,
                                        const char            *path,
                                        GError               **error);
/* One float32 page of width × height. */
gboolean        kiln_tiff_save_image   (const float           *data,
                                        guint                  width,
                                        guint                  height,
                                        double                 pixel_size_nm,
                                        const char            *path,
                                        GError               **error);

G_END_DECLS
