/* kiln-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln-application.h"

G_BEGIN_DECLS

#define KILN_TYPE_WINDOW (kiln_window_get_type ())

G_DECLARE_FINAL_TYPE (KilnWindow, kiln_window, KILN, WINDOW, GtkApplicationWindow)

KilnWindow *kiln_window_new        (KilnApplication *application);
void        kiln_window_open_file  (KilnWindow      *self,
                                    GFile           *file);
void        kiln_window_open_demo  (KilnWindow      *self);

G_END_DECLS
