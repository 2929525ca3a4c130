/* kiln-alloc.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdatomic.h>
#include <unistd.h>

#include "kiln-alloc.h"
#include "kiln-error.h"

/* set by the UI thread while workers allocate: atomic (ThreadSanitizer, tests/core/test-threads.c) */
static _Atomic guint64 budget_override;

#define LARGE_BLOCK (4u << 20)

guint64
kiln_memory_budget (void)
{
  static gsize init = 0;
  static guint64 dflt;
  guint64 override = atomic_load_explicit (&budget_override, memory_order_relaxed);

  if (override != 0)
    return override;

  if (g_once_init_enter (&init))
    {
      const char *env = g_getenv ("KILN_MEMORY_LIMIT_MB");
      guint64 phys = 0;
      long pages = sysconf (_SC_PHYS_PAGES);
      long psize = sysconf (_SC_PAGE_SIZE);

      if (pages > 0 && psize > 0)
        phys = (guint64) pages * (guint64) psize;
      if (phys == 0)
        phys = G_GUINT64_CONSTANT (4) << 30;
      dflt = phys / 4 * 3;
      if (env != NULL && *env != '\0')
        {
          guint64 mb = g_ascii_strtoull (env, NULL, 10);
          if (mb > 0)
            dflt = mb << 20;
        }
      g_once_init_leave (&init, 1);
    }
  return dflt;
}

void
kiln_set_memory_budget (guint64 bytes)
{
  atomic_store_explicit (&budget_override, bytes, memory_order_relaxed);
}

gboolean
kiln_size_mul (gsize *out,
               gsize  a,
               gsize  b,
               gsize  c,
               gsize  d)
{
  gsize r = a;

  if (!g_size_checked_mul (&r, r, b) ||
      !g_size_checked_mul (&r, r, c) ||
      !g_size_checked_mul (&r, r, d))
    return FALSE;
  *out = r;
  return TRUE;
}

char *
kiln_format_bytes (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

gpointer
kiln_alloc (gsize        n_elements,
            gsize        element_size,
            gboolean     zero,
            const char  *what,
            GError     **error)
{
  gsize bytes;
  gpointer mem;

  if (what == NULL)
    what = "buffer";

  if (!g_size_checked_mul (&bytes, n_elements, element_size))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Cannot allocate %s: its size overflows", what);
      return NULL;
    }
  if (bytes == 0)
    bytes = 1;
  if (bytes > kiln_memory_budget ())
    {
      g_autofree char *need = kiln_format_bytes (bytes);
      g_autofree char *have = kiln_format_bytes (kiln_memory_budget ());
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Not enough memory for %s: it needs %s, the memory budget is %s",
                   what, need, have);
      return NULL;
    }

  if (bytes >= LARGE_BLOCK)
    {
      /* Image-sized blocks: glibc serves them from fresh anonymous mappings, so calloc needs
       * no memset (the kernel's pages are zero until first written), and transparent huge
       * pages make the first touch several times faster. Alignment is glibc's 16 bytes. The
       * block stays free()-compatible. */
      mem = zero ? calloc (1, bytes) : malloc (bytes);
#ifdef MADV_HUGEPAGE
      if (mem != NULL)
        {
          gsize page = (gsize) sysconf (_SC_PAGE_SIZE);
          guintptr start = ((guintptr) mem + page - 1) & ~(guintptr) (page - 1);
          guintptr end = ((guintptr) mem + bytes) & ~(guintptr) (page - 1);
          if (end > start)
            madvise ((void *) start, end - start, MADV_HUGEPAGE);
        }
#endif
    }
  else
    {
      /* 64-byte alignment suits SIMD and FFTW. */
      if (posix_memalign (&mem, 64, bytes) != 0)
        mem = NULL;
      if (mem != NULL && zero)
        memset (mem, 0, bytes);
    }
  if (mem == NULL)
    {
      g_autofree char *need = kiln_format_bytes (bytes);
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Not enough memory for %s: it needs %s", what, need);
      return NULL;
    }
  return mem;
}

void
kiln_free (gpointer mem)
{
  free (mem);
}
