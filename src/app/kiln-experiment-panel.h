/* kiln-experiment-panel.h — the Experiment step: browse the tilts of a time point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln.h"
#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_EXPERIMENT_PANEL (kiln_experiment_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnExperimentPanel, kiln_experiment_panel, KILN, EXPERIMENT_PANEL, GtkWidget)

GtkWidget *kiln_experiment_panel_new       (void);
/* Show @stack (may be NULL). Keeps a reference. */
void       kiln_experiment_panel_set_stack (KilnExperimentPanel *self,
                                            KilnImageStack      *stack);
void       kiln_experiment_panel_set_tilt  (KilnExperimentPanel *self,
                                            guint                index);
guint      kiln_experiment_panel_get_tilt  (KilnExperimentPanel *self);
/* The document whose time points the table shows and edits (pixel size, PT time,
 * temperature, angles; each edit undoable), with validation messages. */
void       kiln_experiment_panel_set_document   (KilnExperimentPanel *self,
                                                 KilnDocument        *document);
/* Show time point @index (its stack once loaded, and its angle table). */
void       kiln_experiment_panel_set_time_point (KilnExperimentPanel *self,
                                                 guint                index);
/* Import @files as new time points (what the file chooser and a drop do), in the order of the
 * panel's order menu; progress in the window. */
void       kiln_experiment_panel_import_files   (KilnExperimentPanel *self,
                                                 GFile              **files,
                                                 guint                n_files);

G_END_DECLS
