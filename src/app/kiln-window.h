/* kiln-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-application.h"
#include "kiln-document.h"

G_BEGIN_DECLS

#define KILN_TYPE_WINDOW (kiln_window_get_type ())

G_DECLARE_FINAL_TYPE (KilnWindow, kiln_window, KILN, WINDOW, GtkApplicationWindow)

KilnWindow *kiln_window_new        (KilnApplication *application);
void        kiln_window_open_file  (KilnWindow      *self,
                                    GFile           *file);
void        kiln_window_open_demo  (KilnWindow      *self);
KilnDocument *kiln_window_get_document (KilnWindow  *self);
/* The methods paragraph dialog (main menu → Methods Paragraph…) of the current analysis, with a
 * Copy button; NULL (error shown in the window) for a single series. */
GtkWindow  *kiln_window_show_methods      (KilnWindow *self);
/* Autosave now (as the minute timer does): when the document is modified and no restore is
 * waiting for an answer. */
void        kiln_window_autosave_now      (KilnWindow *self);
/* Whether the restore bar (a newer autosave found on open) is shown. */
gboolean    kiln_window_get_restore_offered (KilnWindow *self);
/* The step shown when a document has been opened (default "experiment"). */
void        kiln_window_set_initial_step (KilnWindow *self,
                                          const char *step);

/* Long work started by a panel: shows @what with a progress bar and a Cancel button (Esc) in
 * the window's status area, cancelling any task still running. Returns the cancellable to
 * pass to the worker, and in @progress/@progress_data a thread-safe progress callback (it may
 * be called from the worker thread). Call kiln_window_end_task() on the main thread when the
 * work ends; a non-cancel @error is shown in the window's error bar. */
GCancellable *kiln_window_begin_task (KilnWindow       *self,
                                      const char       *what,
                                      KilnProgressFunc *progress,
                                      gpointer         *progress_data);
void          kiln_window_end_task   (KilnWindow       *self,
                                      const GError     *error);

/* For panels: kiln_window_begin_task() on the window holding @widget, or (outside a window, e.g.
 * in tests) a new cancellable with no progress callback. Pair with kiln_window_end_task_for(). */
/* Returns a new reference. */
GCancellable *kiln_window_begin_task_for (GtkWidget        *widget,
                                          const char       *what,
                                          KilnProgressFunc *progress,
                                          gpointer         *progress_data);
void          kiln_window_end_task_for   (GtkWidget        *widget,
                                          const GError     *error);

G_END_DECLS
