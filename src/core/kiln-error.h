/* kiln-error.h — the error domain of libkiln
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KILN_ERROR (kiln_error_quark ())

/**
 * KilnError:
 * @KILN_ERROR_FAILED: generic failure
 * @KILN_ERROR_FORMAT: the file is not of the expected format (wrong magic, bad header)
 * @KILN_ERROR_TRUNCATED: the file ends before the data its header announces
 * @KILN_ERROR_UNSUPPORTED: a valid file using a feature Kiln does not read (mode, compression, …)
 * @KILN_ERROR_INVALID_DATA: the data are unusable (NaN/Inf pixels, absurd dimensions, …)
 * @KILN_ERROR_MISMATCH: two inputs disagree (angle count ≠ tilt count, sizes differ, …)
 * @KILN_ERROR_INVALID_ARGUMENT: a parameter is out of range
 * @KILN_ERROR_NO_MEMORY: the request exceeds the memory budget
 *
 * Cancellation is reported with %G_IO_ERROR_CANCELLED, not with this domain.
 */
typedef enum
{
  KILN_ERROR_FAILED,
  KILN_ERROR_FORMAT,
  KILN_ERROR_TRUNCATED,
  KILN_ERROR_UNSUPPORTED,
  KILN_ERROR_INVALID_DATA,
  KILN_ERROR_MISMATCH,
  KILN_ERROR_INVALID_ARGUMENT,
  KILN_ERROR_NO_MEMORY,
} KilnError;

GQuark kiln_error_quark (void);

/* Make @error's message valid UTF-8 in place (bytes of a file name that is not UTF-8 become
 * U+FFFD), so that it can be shown in the UI or written into JSON. */
void   kiln_error_ensure_utf8 (GError *error);

G_END_DECLS
