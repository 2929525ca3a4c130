/* kiln-analyze-panel.h — the Analyze step: the 4D view, particle pairs, their measures over time
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"
#include "kiln-plot.h"

G_BEGIN_DECLS

#define KILN_TYPE_ANALYZE_PANEL (kiln_analyze_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnAnalyzePanel, kiln_analyze_panel, KILN, ANALYZE_PANEL, GtkWidget)

GtkWidget *kiln_analyze_panel_new            (void);
void       kiln_analyze_panel_set_document   (KilnAnalyzePanel *self,
                                              KilnDocument     *document);
void       kiln_analyze_panel_set_time_point (KilnAnalyzePanel *self,
                                              guint             index);
/* Form the pair A:B as if the user had clicked both particles; measures every time point in a
 * worker and updates the plots. Returns the pair's index. */
guint      kiln_analyze_panel_add_pair       (KilnAnalyzePanel *self,
                                              guint32           a,
                                              guint32           b);
guint      kiln_analyze_panel_get_n_pairs    (KilnAnalyzePanel *self);
/* Measured value of pair @pair at time point @tp (NAN while not measured). */
double     kiln_analyze_panel_get_value      (KilnAnalyzePanel *self,
                                              guint             pair,
                                              guint             tp,
                                              KilnMeasureValue  value);
/* TRUE once every time point of every pair is measured. */
gboolean   kiln_analyze_panel_is_idle        (KilnAnalyzePanel *self);
/* The 3D view as PNG; a time-lapse: one PNG per time point (frame-001.png …) into @dir, written
 * as the time points load (kiln_analyze_panel_is_exporting() says when it is done). */
gboolean   kiln_analyze_panel_save_view_png  (KilnAnalyzePanel *self,
                                              const char       *path,
                                              GError          **error);
void       kiln_analyze_panel_export_timelapse (KilnAnalyzePanel *self,
                                              const char       *dir);
gboolean   kiln_analyze_panel_is_exporting   (KilnAnalyzePanel *self);
gboolean   kiln_analyze_panel_export_csv     (KilnAnalyzePanel *self,
                                              const char       *path,
                                              GError          **error);

/* Teaching overlay (simulated experiments): the simulator's truth of pair @pair at @tp (NAN
 * when unknown); shown beside the measured values and as curves in the plots while on. */
void       kiln_analyze_panel_set_show_truth (KilnAnalyzePanel *self,
                                              gboolean          show);
double     kiln_analyze_panel_get_truth      (KilnAnalyzePanel *self,
                                              guint             pair,
                                              guint             tp,
                                              KilnMeasureValue  value);
/* The tracked id (= colour, and the id pairs use) of @label at time point @tp; @label itself
 * until the tracking is done or when it failed. */
guint32    kiln_analyze_panel_get_track_id   (KilnAnalyzePanel *self,
                                              guint             tp,
                                              guint32           label);
/* The readout's text (the selected pair's values, and the truth when shown). */
const char *kiln_analyze_panel_get_readout   (KilnAnalyzePanel *self);
/* Plot 0: r_n/r_p against time, 1: d/2r_p against time, 2: r_n against d. */
KilnPlot  *kiln_analyze_panel_get_plot       (KilnAnalyzePanel *self,
                                              guint             index);

G_END_DECLS
