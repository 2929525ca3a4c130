/* kiln-image-stack.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-image-stack.h"

G_DEFINE_BOXED_TYPE (KilnImageStack, kiln_image_stack, kiln_image_stack_ref, kiln_image_stack_unref)

KilnImageStack *
kiln_image_stack_new (guint    n_tilts,
                      guint    width,
                      guint    height,
                      GError **error)
{
  KilnImageStack *self;
  gsize n;
  g_autofree char *what = NULL;

  if (n_tilts == 0 || width == 0 || height == 0 ||
      width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT || n_tilts > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "Invalid tilt stack dimensions %u × %u × %u (each must be 1 … %u)",
                   n_tilts, width, height, KILN_MAX_EXTENT);
      return NULL;
    }
  if (!kiln_size_mul (&n, n_tilts, width, height, 1))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Tilt stack of %u × %u × %u pixels is too large", n_tilts, width, height);
      return NULL;
    }

  what = g_strdup_printf ("a tilt stack of %u × %u × %u float32", n_tilts, width, height);
  self = g_new0 (KilnImageStack, 1);
  self->data = kiln_alloc (n, sizeof (float), TRUE, what, error);
  if (self->data == NULL)
    {
      g_free (self);
      return NULL;
    }
  g_atomic_ref_count_init (&self->ref_count);
  self->n_tilts = n_tilts;
  self->width = width;
  self->height = height;
  self->angles_deg = g_new0 (double, n_tilts);
  self->has_angles = FALSE;
  self->pixel_size_nm = 0.0;
  self->meta = NULL;
  self->time_s = NAN;
  self->temperature_c = NAN;
  return self;
}

KilnImageStack *
kiln_image_stack_ref (KilnImageStack *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
kiln_image_stack_unref (KilnImageStack *self)
{
  g_return_if_fail (self != NULL);
  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      kiln_free (self->data);
      g_free (self->angles_deg);
      g_free (self->meta);
      g_free (self);
    }
}

static void
copy_metadata (KilnImageStack       *dst,
               const KilnImageStack *src)
{
  memcpy (dst->angles_deg, src->angles_deg, sizeof (double) * src->n_tilts);
  dst->has_angles = src->has_angles;
  dst->pixel_size_nm = src->pixel_size_nm;
  dst->time_s = src->time_s;
  dst->temperature_c = src->temperature_c;
  if (src->meta != NULL)
    dst->meta = g_memdup2 (src->meta, sizeof (KilnTiltMeta) * src->n_tilts);
}

KilnImageStack *
kiln_image_stack_new_like (const KilnImageStack  *self,
                           GError               **error)
{
  KilnImageStack *copy;

  g_return_val_if_fail (self != NULL, NULL);
  copy = kiln_image_stack_new (self->n_tilts, self->width, self->height, error);
  if (copy != NULL)
    copy_metadata (copy, self);
  return copy;
}

KilnImageStack *
kiln_image_stack_copy (const KilnImageStack  *self,
                       GError               **error)
{
  KilnImageStack *copy = kiln_image_stack_new_like (self, error);

  if (copy != NULL)
    memcpy (copy->data, self->data, sizeof (float) * kiln_image_stack_n_pixels (self));
  return copy;
}

gsize
kiln_image_stack_n_pixels (const KilnImageStack *self)
{
  return (gsize) self->n_tilts * self->width * self->height;
}

float *
kiln_image_stack_tilt (KilnImageStack *self,
                       guint           k)
{
  g_return_val_if_fail (k < self->n_tilts, NULL);
  return self->data + (gsize) k * self->width * self->height;
}

const float *
kiln_image_stack_tilt_const (const KilnImageStack *self,
                             guint                 k)
{
  g_return_val_if_fail (k < self->n_tilts, NULL);
  return self->data + (gsize) k * self->width * self->height;
}

gboolean
kiln_image_stack_set_angles (KilnImageStack  *self,
                             const double    *angles_deg,
                             guint            n_angles,
                             GError         **error)
{
  if (n_angles != self->n_tilts)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_MISMATCH,
                   "%u tilt angles given for a stack of %u tilts", n_angles, self->n_tilts);
      return FALSE;
    }
  for (guint i = 0; i < n_angles; i++)
    if (!isfinite (angles_deg[i]) || fabs (angles_deg[i]) > 180.0)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "Tilt angle %u is %g°, outside −180…180°", i + 1, angles_deg[i]);
        return FALSE;
      }
  memcpy (self->angles_deg, angles_deg, sizeof (double) * n_angles);
  self->has_angles = TRUE;
  return TRUE;
}

guint
kiln_image_stack_zero_tilt (const KilnImageStack *self)
{
  guint best = self->n_tilts / 2;

  if (self->has_angles)
    {
      double b = INFINITY;
      for (guint i = 0; i < self->n_tilts; i++)
        if (fabs (self->angles_deg[i]) < b)
          {
            b = fabs (self->angles_deg[i]);
            best = i;
          }
    }
  return best;
}

void
kiln_image_stack_ensure_meta (KilnImageStack *self)
{
  if (self->meta != NULL)
    return;
  self->meta = g_new (KilnTiltMeta, self->n_tilts);
  for (guint i = 0; i < self->n_tilts; i++)
    self->meta[i] = (KilnTiltMeta) { NAN, NAN, NAN };
}

void
kiln_image_stack_stats (const KilnImageStack *self,
                        KilnStats            *stats)
{
  kiln_stats_compute (self->data, kiln_image_stack_n_pixels (self), stats);
}

gboolean
kiln_image_stack_check_finite (const KilnImageStack  *self,
                               const char            *source,
                               GError               **error)
{
  gsize n = kiln_image_stack_n_pixels (self);
  gsize plane = (gsize) self->width * self->height;

  for (gsize i = 0; i < n; i++)
    if (!isfinite (self->data[i]))
      {
        gsize k = i / plane, r = i % plane;
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "%s: pixel (x %" G_GSIZE_FORMAT ", y %" G_GSIZE_FORMAT ") of tilt %"
                     G_GSIZE_FORMAT " is %s", source ? source : "stack",
                     r % self->width, r / self->width, k + 1,
                     isnan (self->data[i]) ? "NaN" : "infinite");
        return FALSE;
      }
  return TRUE;
}
