/* kiln-segment-panel.h — the Segment step: threshold (Otsu or manual) with the histogram,
 * erode/dilate, watershed split, label overlay on slices and the particle table; the labels go
 * to the document (and from there to the Analyze step)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_SEGMENT_PANEL (kiln_segment_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnSegmentPanel, kiln_segment_panel, KILN, SEGMENT_PANEL, GtkWidget)

GtkWidget *kiln_segment_panel_new            (void);
void       kiln_segment_panel_set_document   (KilnSegmentPanel        *self,
                                              KilnDocument            *document);
void       kiln_segment_panel_set_time_point (KilnSegmentPanel        *self,
                                              guint                    index);
/* Uses otsu, threshold, erode, dilate and split of @params. */
void       kiln_segment_panel_set_params     (KilnSegmentPanel        *self,
                                              const KilnSegmentParams *params);
void       kiln_segment_panel_get_params     (KilnSegmentPanel        *self,
                                              KilnSegmentParams       *params);
/* The threshold the last segmentation used, and its label count. */
double     kiln_segment_panel_get_threshold  (KilnSegmentPanel        *self);
guint32    kiln_segment_panel_get_n_labels   (KilnSegmentPanel        *self);
gboolean   kiln_segment_panel_is_idle        (KilnSegmentPanel        *self);
/* Teaching (simulated experiments): outline the true labels over Kiln's and report the Dice
 * overlap of the particle voxels and the particle count error (found − true). FALSE (and NAN)
 * while there is nothing to compare. */
void       kiln_segment_panel_set_show_truth (KilnSegmentPanel        *self,
                                              gboolean                 show);
gboolean   kiln_segment_panel_get_truth_error (KilnSegmentPanel       *self,
                                               double                 *dice,
                                               int                    *count_error);
/* Action segment.run-all: segment every time point that has a reconstruction. */

G_END_DECLS
