/* kiln-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-error.h"

G_DEFINE_QUARK (kiln-error-quark, kiln_error)

void
kiln_error_ensure_utf8 (GError *error)
{
  char *valid;

  if (error == NULL || error->message == NULL || g_utf8_validate (error->message, -1, NULL))
    return;
  valid = g_utf8_make_valid (error->message, -1);
  g_free (error->message);
  error->message = valid;
}
