/* kiln-align-panel.h — the Align step: cross-correlation or Mattes-MI alignment of the tilts,
 * the aligned tilts and the per-tilt shifts (with the simulator's true drift when known)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_ALIGN_PANEL (kiln_align_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnAlignPanel, kiln_align_panel, KILN, ALIGN_PANEL, GtkWidget)

GtkWidget *kiln_align_panel_new            (void);
void       kiln_align_panel_set_document   (KilnAlignPanel  *self,
                                            KilnDocument    *document);
void       kiln_align_panel_set_time_point (KilnAlignPanel  *self,
                                            guint            index);
void       kiln_align_panel_set_params     (KilnAlignPanel  *self,
                                            KilnAlignMethod  method,
                                            double           axis_angle_deg);
void       kiln_align_panel_get_params     (KilnAlignPanel  *self,
                                            KilnAlignMethod *method,
                                            double          *axis_angle_deg);
/* The last alignment's result (per-tilt table), or NULL. */
const KilnAlignResult *kiln_align_panel_get_result (KilnAlignPanel *self);
/* Teaching: RMS error (px) of the shown alignment against the simulator's drift, after removing
 * what no alignment observes (global offset, motion of off-axis content); NAN without truth. */
double     kiln_align_panel_get_truth_error (KilnAlignPanel *self);
gboolean   kiln_align_panel_is_idle        (KilnAlignPanel  *self);
/* The shown tilt and its transform in the document's alignment (NULL when not aligned). */
const KilnXf *kiln_align_panel_get_shown_tilt (KilnAlignPanel *self,
                                               guint          *tilt);
void       kiln_align_panel_set_tilt       (KilnAlignPanel  *self,
                                            guint            tilt);
/* Actions: align.run (this time point), align.run-all (every time point, each starting from the
 * previous one's result). Dragging the aligned tilt in the view fixes its shift by hand (an
 * undoable change of the align step's "fixes" parameter). */

G_END_DECLS
