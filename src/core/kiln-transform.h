/* kiln-transform.h — resampling images through IMOD-style 2×3 transforms
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "kiln-imod.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_INTERP_NEAREST,
  KILN_INTERP_LINEAR,
  KILN_INTERP_CUBIC,   /* Catmull-Rom (Keys a = −0.5) */
} KilnInterp;

/* Sample @src (w × h) at (x, y) in pixel coordinates (0-based, pixel centres at integers);
 * outside the image returns @fill and *inside = FALSE (inside may be NULL). */
float    kiln_sample               (const float  *src,
                                    guint         w,
                                    guint         h,
                                    double        x,
                                    double        y,
                                    KilnInterp    interp,
                                    float         fill,
                                    gboolean     *inside);

/* dst(x') = src(x) where x' − c = A (x − c) + d, c the image centre ((w−1)/2, (h−1)/2):
 * IMOD's .xf semantics (the transform moves the content of src by d). @mask (nullable) gets
 * 1 where the source pixel was inside @src, else 0. dst must not alias src. */
void     kiln_transform_image      (const float  *src,
                                    guint         w,
                                    guint         h,
                                    const KilnXf *xf,
                                    KilnInterp    interp,
                                    float         fill,
                                    float        *dst,
                                    guint8       *mask);

/* The transform for a rotation by @angle_deg (counter-clockwise in a y-down image viewed
 * with y up, i.e. the mathematical sense in (x, y)) about the centre, then a shift. */
void     kiln_xf_rotation          (KilnXf       *xf,
                                    double        angle_deg,
                                    double        dx,
                                    double        dy);
/* c = a ∘ b (apply b first). */
void     kiln_xf_compose           (const KilnXf *a,
                                    const KilnXf *b,
                                    KilnXf       *c);
gboolean kiln_xf_invert            (const KilnXf *xf,
                                    KilnXf       *inv);

G_END_DECLS
