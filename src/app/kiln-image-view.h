/* kiln-image-view.h — the slice/image viewer every panel uses
 *
 * Shows a float image with adjustable contrast, zoom (wheel, pinch), pan (drag), fit, a scale
 * bar in nm, a cursor readout (x, y, value, nm), an optional before/after split with a second
 * image, and overlays (label image, tilt-axis line, ROI rectangle).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define KILN_TYPE_IMAGE_VIEW (kiln_image_view_get_type ())

G_DECLARE_FINAL_TYPE (KilnImageView, kiln_image_view, KILN, IMAGE_VIEW, GtkWidget)

GtkWidget  *kiln_image_view_new              (void);
/* Copies @data (width × height floats). NULL clears. */
void        kiln_image_view_set_image        (KilnImageView *self,
                                              const float   *data,
                                              guint          width,
                                              guint          height,
                                              double         pixel_size_nm);
/* The "after" image of a before/after split (same size as the image), or NULL. */
void        kiln_image_view_set_compare      (KilnImageView *self,
                                              const float   *data);
void        kiln_image_view_set_split        (KilnImageView *self,
                                              double         fraction);
/* Display levels: values ≤ black are black, ≥ white are white. */
void        kiln_image_view_set_levels       (KilnImageView *self,
                                              double         black,
                                              double         white);
void        kiln_image_view_get_levels       (KilnImageView *self,
                                              double        *black,
                                              double        *white);
/* Levels at the 0.5 and 99.5 percentiles of the image. */
void        kiln_image_view_auto_levels      (KilnImageView *self);
void        kiln_image_view_zoom_to_fit      (KilnImageView *self);
double      kiln_image_view_get_zoom         (KilnImageView *self);
void        kiln_image_view_set_zoom         (KilnImageView *self,
                                              double         zoom);
/* Overlays. A label image (uint32, same size; 0 transparent) drawn in label colours. */
void        kiln_image_view_set_labels       (KilnImageView *self,
                                              const guint32 *labels);
/* A line through the image centre shifted by @shift_px, at @angle_deg CCW from image y
 * (pipeline.md's tilt-axis convention). visible = FALSE hides it. */
void        kiln_image_view_set_axis         (KilnImageView *self,
                                              gboolean       visible,
                                              double         angle_deg,
                                              double         shift_px);
void        kiln_image_view_set_roi          (KilnImageView *self,
                                              gboolean       visible,
                                              int            x,
                                              int            y,
                                              int            width,
                                              int            height);
/* A second label image (same size; 0 = background) drawn as outlines, e.g. the simulator's true
 * labels over Kiln's; NULL hides it. */
void        kiln_image_view_set_outline      (KilnImageView *self,
                                              const guint32 *labels);
/* TRUE: a drag moves the image content (drawn moved while dragging) and, when released, emits
 * ::image-dragged (dx_px, dy_px) in image pixels instead of panning. */
void        kiln_image_view_set_drag_moves_image (KilnImageView *self,
                                                  gboolean       moves);
/* The text of the cursor readout, e.g. "x 12, y 40 · 3.51 · (12.5 nm, 41.6 nm)". */
const char *kiln_image_view_get_readout      (KilnImageView *self);
/* The colour used for label @label (also by plots and the 3D view). */
void        kiln_label_color                 (guint32        label,
                                              GdkRGBA       *color);

G_END_DECLS
