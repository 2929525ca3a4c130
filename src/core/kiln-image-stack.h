/* kiln-image-stack.h — a tilt series: n tilts × height × width float32 images
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "kiln-stats.h"

G_BEGIN_DECLS

/**
 * KilnTiltMeta:
 *
 * Optional per-tilt metadata. Unknown values are NAN.
 */
typedef struct
{
  double time_s;          /* acquisition time of this tilt, s */
  double temperature_c;   /* specimen temperature, °C */
  double dose_e_nm2;      /* electron dose of this image, e⁻/nm² */
} KilnTiltMeta;

/**
 * KilnImageStack:
 * @n_tilts: number of images (pages)
 * @width: image width (x, columns)
 * @height: image height (y, rows)
 * @data: n_tilts × height × width floats, tilt-major then row-major: data[(k*height + y)*width + x]
 * @angles_deg: n_tilts tilt angles in degrees (valid only when @has_angles)
 * @has_angles: whether @angles_deg holds real angles
 * @pixel_size_nm: pixel size in nm, 0 when unknown
 * @meta: (nullable): n_tilts per-tilt metadata, or NULL
 * @time_s: process time of the series (PT), s, NAN when unknown
 * @temperature_c: process temperature of the series, °C, NAN when unknown
 *
 * Reference counted; fields are public for speed, but only the owner of the single reference
 * should write to them (use kiln_image_stack_copy() before modifying a shared stack).
 */
typedef struct
{
  /*< private >*/
  gatomicrefcount ref_count;
  /*< public >*/
  guint         n_tilts;
  guint         width;
  guint         height;
  float        *data;
  double       *angles_deg;
  gboolean      has_angles;
  double        pixel_size_nm;
  KilnTiltMeta *meta;
  double        time_s;
  double        temperature_c;
} KilnImageStack;

#define KILN_TYPE_IMAGE_STACK (kiln_image_stack_get_type ())

GType           kiln_image_stack_get_type      (void) G_GNUC_CONST;
KilnImageStack *kiln_image_stack_new           (guint                  n_tilts,
                                                guint                  width,
                                                guint                  height,
                                                GError               **error);
KilnImageStack *kiln_image_stack_ref           (KilnImageStack        *self);
void            kiln_image_stack_unref         (KilnImageStack        *self);
KilnImageStack *kiln_image_stack_copy          (const KilnImageStack  *self,
                                                GError               **error);
/* Copy of the geometry and metadata with zeroed pixels. */
KilnImageStack *kiln_image_stack_new_like      (const KilnImageStack  *self,
                                                GError               **error);
gsize           kiln_image_stack_n_pixels      (const KilnImageStack  *self);
float          *kiln_image_stack_tilt          (KilnImageStack        *self,
                                                guint                  k);
const float    *kiln_image_stack_tilt_const    (const KilnImageStack  *self,
                                                guint                  k);
gboolean        kiln_image_stack_set_angles    (KilnImageStack        *self,
                                                const double          *angles_deg,
                                                guint                  n_angles,
                                                GError               **error);
/* Index of the tilt nearest 0° (the middle one without angles). */
guint           kiln_image_stack_zero_tilt     (const KilnImageStack  *self);
/* Allocates @meta (all NAN) if absent. */
void            kiln_image_stack_ensure_meta   (KilnImageStack        *self);
void            kiln_image_stack_stats         (const KilnImageStack  *self,
                                                KilnStats             *stats);
/* FALSE with KILN_ERROR_INVALID_DATA naming @source and the first bad pixel if any pixel
 * is NaN or infinite. */
gboolean        kiln_image_stack_check_finite  (const KilnImageStack  *self,
                                                const char            *source,
                                                GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnImageStack, kiln_image_stack_unref)

G_END_DECLS
