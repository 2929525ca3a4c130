/* kiln-experiment-panel.h — the Experiment step: browse the tilts of a time point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln.h"

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

G_END_DECLS
