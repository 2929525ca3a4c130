/* kiln-reconstruct-panel.h — the Reconstruct step: WBP, SIRT or ISER with a live slice preview
 * and residual/TV curves while iterating, stop-and-keep, orthogonal slices of the result
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_RECONSTRUCT_PANEL (kiln_reconstruct_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnReconstructPanel, kiln_reconstruct_panel, KILN, RECONSTRUCT_PANEL, GtkWidget)

typedef struct
{
  KilnReconMethod method;
  guint           iterations;
  guint           data_passes;   /* application times a */
  guint           tv_steps;      /* application times b */
  double          sensitivity;
  guint           thickness;     /* px */
} KilnReconstructPanelParams;

GtkWidget *kiln_reconstruct_panel_new            (void);
void       kiln_reconstruct_panel_set_document   (KilnReconstructPanel             *self,
                                                  KilnDocument                     *document);
void       kiln_reconstruct_panel_set_time_point (KilnReconstructPanel             *self,
                                                  guint                             index);
void       kiln_reconstruct_panel_set_params     (KilnReconstructPanel             *self,
                                                  const KilnReconstructPanelParams *params);
void       kiln_reconstruct_panel_get_params     (KilnReconstructPanel             *self,
                                                  KilnReconstructPanelParams       *params);
/* Iterations reported so far by the running (or last) reconstruction. */
guint      kiln_reconstruct_panel_get_n_reported (KilnReconstructPanel             *self);
/* The last result's summary (valid after a run ended). */
const KilnReconResult *kiln_reconstruct_panel_get_result (KilnReconstructPanel     *self);
gboolean   kiln_reconstruct_panel_is_idle        (KilnReconstructPanel             *self);
/* Teaching (simulated experiments): the truth volume's slices beside the result's (scaled by
 * the least-squares fit a·recon + b ≈ truth), its RMS error after that fit (truth
 * units: 1 = solid Cu) and the Dice overlap of recon > segmentation threshold (Segment's manual
 * one, else Otsu's) with truth > 0.5. FALSE (NAN) while there is nothing to compare. */
void       kiln_reconstruct_panel_set_show_truth (KilnReconstructPanel             *self,
                                                  gboolean                          show);
gboolean   kiln_reconstruct_panel_get_truth_error (KilnReconstructPanel            *self,
                                                   double                          *rmse,
                                                   double                          *dice);
/* Actions: reconstruct.run, reconstruct.run-all (every time point in turn, each with its own
 * tilt axis when set, else the shown time point's), reconstruct.stop (stop and keep). */

G_END_DECLS
