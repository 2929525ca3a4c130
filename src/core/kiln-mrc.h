/* kiln-mrc.h — MRC2014 stacks and volumes
 *
 * Reads modes 0 (int8), 1 (int16), 2 (float32), 6 (uint16) and 12 (float16), either
 * endianness (from the machine stamp), pixel size from the header (cella / mx, Å → nm),
 * extended headers skipped (FEI1/FEI2 tilt angles taken from them when present).
 * Writes mode 2 (volumes, stacks) with pixel size, min/max/mean/rms and a label, atomically;
 * label volumes as mode 6 (uint16) when every label fits, else mode 2.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-image-stack.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef struct
{
  guint  nx, ny, nz;
  int    mode;
  double pixel_size_nm;   /* x; 0 when the header has none */
  double dmin, dmax, dmean, rms;
  gboolean big_endian;
  gsize  data_offset;
  guint  n_ext_bytes;
  char   ext_type[5];
  char   label[81];       /* first label */
} KilnMrcInfo;

gboolean         kiln_mrc_read_info      (const char             *path,
                                          KilnMrcInfo            *info,
                                          GError                **error);
/* Sections are tilts. */
KilnImageStack  *kiln_mrc_load_stack     (const char             *path,
                                          GCancellable           *cancellable,
                                          GError                **error);
KilnVolume      *kiln_mrc_load_volume    (const char             *path,
                                          GCancellable           *cancellable,
                                          GError                **error);
KilnLabelVolume *kiln_mrc_load_labels    (const char             *path,
                                          GCancellable           *cancellable,
                                          GError                **error);
gboolean         kiln_mrc_save_stack     (const KilnImageStack   *stack,
                                          const char             *path,
                                          const char             *label,
                                          GError                **error);
gboolean         kiln_mrc_save_volume    (const KilnVolume       *volume,
                                          const char             *path,
                                          const char             *label,
                                          GError                **error);
gboolean         kiln_mrc_save_labels    (const KilnLabelVolume  *labels,
                                          const char             *path,
                                          const char             *label,
                                          GError                **error);

G_END_DECLS
