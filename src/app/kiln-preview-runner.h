/* kiln-preview-runner.h — the debounced live preview of a panel
 *
 * A control moves → kiln_preview_runner_schedule(): the running preview (if any) is cancelled
 * and, once the controls have been still for the delay, the owner's start function runs a
 * worker for the current values. Each run carries a generation number; when its GTask ends,
 * the owner's callback asks kiln_preview_runner_done() whether the result is current (to show)
 * or stale (to drop) — a stale run makes the runner start again for the latest values.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define KILN_TYPE_PREVIEW_RUNNER (kiln_preview_runner_get_type ())

G_DECLARE_FINAL_TYPE (KilnPreviewRunner, kiln_preview_runner, KILN, PREVIEW_RUNNER, GObject)

/* Start a worker for the current controls: a GTask made with @cancellable whose callback calls
 * kiln_preview_runner_done (runner, @generation). Return FALSE when there is nothing to
 * preview (no task started). */
typedef gboolean (*KilnPreviewStartFunc) (gpointer      owner,
                                          GCancellable *cancellable,
                                          guint         generation);

/* @owner is not referenced: clear the runner (g_clear_object) in the owner's dispose. */
KilnPreviewRunner *kiln_preview_runner_new         (guint                 delay_ms,
                                                    KilnPreviewStartFunc  start,
                                                    gpointer              owner);
/* The controls changed: cancel the running preview, (re)start the delay. */
void               kiln_preview_runner_schedule    (KilnPreviewRunner    *self);
/* From the task's callback (@self may be NULL after the owner's dispose): TRUE when the run of
 * @generation is the latest (show its result); FALSE when stale (drop it; a new run follows). */
gboolean           kiln_preview_runner_done        (KilnPreviewRunner    *self,
                                                    guint                 generation);
/* No delay pending and no worker running. */
gboolean           kiln_preview_runner_is_idle     (KilnPreviewRunner    *self);
guint              kiln_preview_runner_get_delay   (KilnPreviewRunner    *self);

G_END_DECLS
