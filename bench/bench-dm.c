/* bench-dm.c — DM3/DM4 read speed
 *
 * Writes 41 × 1024 × 1024 tilt series as DM3 and DM4 (uint16 and float32, little- and
 * big-endian values) into a temporary folder and times kiln_dm_load_stack() from the page
 * cache (the first read of each file is discarded). Prints the median of 5 reads in MB/s of
 * file size.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

#define NX 1024
#define NY 1024
#define NZ 41
#define REPEATS 5

static void
put_be (GByteArray *b,
        guint64     v,
        guint       n)
{
  for (guint i = 0; i < n; i++)
    {
      guint8 c = (guint8) (v >> (8 * (n - 1 - i)));
      g_byte_array_append (b, &c, 1);
    }
}

/* A data tag holding one uint32 in the value byte order @little. */
static void
tag_u32 (GByteArray *b,
         guint       version,
         const char *name,
         guint32     v,
         gboolean    little)
{
  guint w = version == 4 ? 8 : 4;

  put_be (b, 21, 1);
  put_be (b, strlen (name), 2);
  g_byte_array_append (b, (const guint8 *) name, strlen (name));
  if (version == 4)
    put_be (b, 4 + w + w + 4, 8);
  g_byte_array_append (b, (const guint8 *) "%%%%", 4);
  put_be (b, 1, w);
  put_be (b, 5, w);
  if (little)
    for (guint i = 0; i < 4; i++)
      put_be (b, (v >> (8 * i)) & 0xff, 1);
  else
    put_be (b, v, 4);
}

static void
group_head (GByteArray *b,
            guint       version,
            const char *name,
            guint64     n_tags)
{
  put_be (b, 20, 1);
  put_be (b, strlen (name), 2);
  g_byte_array_append (b, (const guint8 *) name, strlen (name));
  if (version == 4)
    put_be (b, 0, 8);              /* the reader does not rely on group sizes */
  put_be (b, 1, 1);
  put_be (b, 0, 1);
  put_be (b, n_tags, version == 4 ? 8 : 4);
}

/* Header and tags up to the Data array, whose bytes follow; then the tail. */
static void
write_file (const char *path,
            guint       version,
            gboolean    little,
            gboolean    is_float)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  guint w = version == 4 ? 8 : 4;
  guint bpp = is_float ? 4 : 2;
  gsize n = (gsize) NX * NY * NZ;
  g_autofree guint8 *data = g_malloc (n * bpp);
  FILE *f;

  for (gsize i = 0; i < n; i++)
    {
      guint32 u;

      if (is_float)
        {
          float x = (float) (i % 65521) * 0.25f;
          memcpy (&u, &x, 4);
        }
      else
        u = (guint32) (i % 65521);
      for (guint k = 0; k < bpp; k++)
        data[i * bpp + k] = (guint8) (u >> (8 * (little ? k : bpp - 1 - k)));
    }

  put_be (b, version, 4);
  put_be (b, 0, w);
  put_be (b, little ? 1 : 0, 4);
  put_be (b, 1, 1);
  put_be (b, 0, 1);
  put_be (b, 1, w);                  /* root: ImageList */
  group_head (b, version, "ImageList", 1);
  group_head (b, version, "", 1);
  group_head (b, version, "ImageData", 3);
  /* Data */
  put_be (b, 21, 1);
  put_be (b, 4, 2);
  g_byte_array_append (b, (const guint8 *) "Data", 4);
  if (version == 4)
    put_be (b, 4 + w + 3 * w + n * bpp, 8);
  g_byte_array_append (b, (const guint8 *) "%%%%", 4);
  put_be (b, 3, w);
  put_be (b, 20, w);
  put_be (b, is_float ? 6 : 4, w);
  put_be (b, n, w);

  f = g_fopen (path, "wb");
  g_assert_nonnull (f);
  fwrite (b->data, 1, b->len, f);
  fwrite (data, bpp, n, f);
  g_byte_array_set_size (b, 0);
  tag_u32 (b, version, "DataType", is_float ? 2 : 10, little);
  group_head (b, version, "Dimensions", 3);
  tag_u32 (b, version, "", NX, little);
  tag_u32 (b, version, "", NY, little);
  tag_u32 (b, version, "", NZ, little);
  put_be (b, 0, 8);
  fwrite (b->data, 1, b->len, f);
  g_assert_cmpint (fclose (f), ==, 0);
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-bench-dm-XXXXXX", &error);
  const struct { guint version; gboolean little; gboolean is_float; } cases[] = {
    { 3, TRUE, FALSE }, { 4, TRUE, FALSE }, { 4, FALSE, FALSE },
    { 3, TRUE, TRUE }, { 4, TRUE, TRUE }, { 4, FALSE, TRUE },
  };

  g_assert_no_error (error);
  printf ("# kiln_dm_load_stack, %d × %d × %d, page cache, median of %d reads\n",
          NZ, NX, NY, REPEATS);
  printf ("%-8s %-8s %-7s %10s %10s %10s\n", "format", "type", "order", "size_MB", "time_s",
          "MB_per_s");
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *path = g_strdup_printf ("%s/bench.dm%u", dir, cases[c].version);
      double t[REPEATS];
      GStatBuf st;

      write_file (path, cases[c].version, cases[c].little, cases[c].is_float);
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      for (int r = -1; r < REPEATS; r++)
        {
          gint64 t0 = g_get_monotonic_time ();
          KilnImageStack *s = kiln_dm_load_stack (path, NULL, &error);

          g_assert_no_error (error);
          g_assert_cmpuint (s->n_tilts, ==, NZ);
          if (r >= 0)
            t[r] = (g_get_monotonic_time () - t0) * 1e-6;
          kiln_image_stack_unref (s);
        }
      qsort (t, REPEATS, sizeof (double), cmp_double);
      printf ("%-8s %-8s %-7s %10.1f %10.3f %10.0f\n",
              cases[c].version == 4 ? "DM4" : "DM3", cases[c].is_float ? "float32" : "uint16",
              cases[c].little ? "LE" : "BE", st.st_size / 1e6, t[REPEATS / 2],
              st.st_size / 1e6 / t[REPEATS / 2]);
      g_unlink (path);
    }
  g_rmdir (dir);
  return 0;
}
