/* kiln-tilt-axis-panel.h — the Tilt axis step: the axis line on the 0° tilt, live back-projected
 * slices (three positions along the axis) while the angle/shift change, and the automatic
 * suggestion with its score curve
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_TILT_AXIS_PANEL (kiln_tilt_axis_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnTiltAxisPanel, kiln_tilt_axis_panel, KILN, TILT_AXIS_PANEL, GtkWidget)

#define KILN_TILT_AXIS_PANEL_N_SLICES 3

GtkWidget   *kiln_tilt_axis_panel_new            (void);
void         kiln_tilt_axis_panel_set_document   (KilnTiltAxisPanel *self,
                                                  KilnDocument      *document);
void         kiln_tilt_axis_panel_set_time_point (KilnTiltAxisPanel *self,
                                                  guint              index);
/* Sets the controls (and so the document's axis of the time point). */
void         kiln_tilt_axis_panel_set_axis       (KilnTiltAxisPanel *self,
                                                  double             angle_deg,
                                                  double             shift_px);
void         kiln_tilt_axis_panel_get_axis       (KilnTiltAxisPanel *self,
                                                  double            *angle_deg,
                                                  double            *shift_px);
/* Weighted (Hamming-filtered) or simple back-projection previews. */
void         kiln_tilt_axis_panel_set_weighted   (KilnTiltAxisPanel *self,
                                                  gboolean           weighted);
/* The live preview: KILN_TILT_AXIS_PANEL_N_SLICES slices of thickness × width (NULL before the
 * first), computed for the axis returned in @angle_deg/@shift_px. */
const float *kiln_tilt_axis_panel_get_preview    (KilnTiltAxisPanel *self,
                                                  guint             *width,
                                                  guint             *thickness,
                                                  double            *angle_deg,
                                                  double            *shift_px);
/* The last suggestion, or NULL. */
const KilnTiltAxisResult *kiln_tilt_axis_panel_get_suggestion (KilnTiltAxisPanel *self);
gboolean     kiln_tilt_axis_panel_is_idle        (KilnTiltAxisPanel *self);

G_END_DECLS
