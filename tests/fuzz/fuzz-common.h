/* fuzz-common.h — shared by the libFuzzer targets: loaders take paths, so each input is written
 * to one temporary file per process and the loader is run on it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kiln.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static inline const char *
fuzz_write_input (const uint8_t *data,
                  size_t         size,
                  const char    *suffix)
{
  static char *path;
  FILE *f;

  if (path == NULL)
    {
      /* keep every allocation bounded: 256 MiB is far beyond any sane test input */
      kiln_set_memory_budget (256u << 20);
      path = g_strdup_printf ("%s/kiln-fuzz-%d%s", g_get_tmp_dir (), (int) getpid (), suffix);
    }
  f = fopen (path, "wb");
  if (f == NULL)
    abort ();
  if (size > 0 && fwrite (data, 1, size, f) != size)
    abort ();
  fclose (f);
  return path;
}

/* A loaded stack must be self-consistent. */
static inline void
fuzz_check_stack (KilnImageStack *stack)
{
  if (stack == NULL)
    return;
  if (stack->n_tilts == 0 || stack->width == 0 || stack->height == 0 || stack->data == NULL)
    abort ();
  /* touch the last pixel: it must be inside the allocation (ASan checks) */
  volatile float last = stack->data[kiln_image_stack_n_pixels (stack) - 1];
  (void) last;
  kiln_image_stack_unref (stack);
}

/* A failed load must say why in valid, non-empty UTF-8 (it is shown in the UI, printed by
 * kiln-cli and written into JSON), whatever bytes the file holds. Clears @error. */
static inline void
fuzz_check_error (GError **error)
{
  if (*error != NULL &&
      ((*error)->message == NULL || (*error)->message[0] == '\0' ||
       !g_utf8_validate ((*error)->message, -1, NULL)))
    abort ();
  g_clear_error (error);
}
