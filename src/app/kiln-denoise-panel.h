/* kiln-denoise-panel.h — the Denoise step: BM3D with a PSD noise model, live ROI preview,
 * variance tuning on the reference pair, denoising of one or all time points
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_DENOISE_PANEL (kiln_denoise_panel_get_type ())

G_DECLARE_FINAL_TYPE (KilnDenoisePanel, kiln_denoise_panel, KILN, DENOISE_PANEL, GtkWidget)

GtkWidget   *kiln_denoise_panel_new            (void);
void         kiln_denoise_panel_set_document   (KilnDenoisePanel *self,
                                                KilnDocument     *document);
void         kiln_denoise_panel_set_time_point (KilnDenoisePanel *self,
                                                guint             index);
/* Parameters (as the controls show them; setting them records an undo step). */
void         kiln_denoise_panel_set_params     (KilnDenoisePanel *self,
                                                KilnNoiseKind     kind,
                                                double            variance,
                                                KilnBm3dProfile   profile);
void         kiln_denoise_panel_get_params     (KilnDenoisePanel *self,
                                                KilnNoiseKind    *kind,
                                                double           *variance,
                                                KilnBm3dProfile  *profile);
/* The last live preview of the ROI (NULL before the first), its rectangle in the tilt. */
const float *kiln_denoise_panel_get_preview    (KilnDenoisePanel *self,
                                                guint            *x,
                                                guint            *y,
                                                guint            *width,
                                                guint            *height);
/* The curve of the last "Tune variance" (NULL before), KilnTunePoint items. */
GArray      *kiln_denoise_panel_get_tune_curve (KilnDenoisePanel *self);
/* TRUE when no preview, tuning or denoising is pending or running. */
gboolean     kiln_denoise_panel_is_idle        (KilnDenoisePanel *self);

/* Teaching (simulated experiments): the simulator's noise-free tilts of the time point (made
 * again from experiment.json's "simulation" in a worker) beside the result, and the PSNR of the
 * ROI of the noisy tilt and of the denoised one (the live preview, else the denoised stack)
 * against them (peak: the noise-free tilt's max − min). FALSE (NAN) while not available. */
void            kiln_denoise_panel_set_show_truth (KilnDenoisePanel *self,
                                                   gboolean          show);
gboolean        kiln_denoise_panel_get_truth_psnr (KilnDenoisePanel *self,
                                                   double           *noisy_db,
                                                   double           *denoised_db);
/* The noise-free tilts shown (borrowed), or NULL. */
KilnImageStack *kiln_denoise_panel_get_truth      (KilnDenoisePanel *self);

G_END_DECLS
