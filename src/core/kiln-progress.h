/* kiln-progress.h — the progress and cancellation convention of every long operation
 *
 * Every long core function is synchronous and takes, as its last arguments:
 *
 *   GCancellable *cancellable, KilnProgressFunc progress, gpointer progress_data, GError **error
 *
 * It calls @progress now and then with a fraction in [0, 1] and a short translatable message
 * (may be NULL), from the calling thread only.  When @cancellable is cancelled it stops soon,
 * returns FALSE/NULL with %G_IO_ERROR_CANCELLED and leaves its inputs untouched.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * KilnProgressFunc:
 * @fraction: progress in [0, 1]
 * @message: (nullable): what is being done now
 * @user_data: closure
 */
typedef void (*KilnProgressFunc) (double      fraction,
                                  const char *message,
                                  gpointer    user_data);

/**
 * KilnProgress:
 *
 * A small helper that maps the progress of a sub-step into a range of the whole
 * ([start, start + span]) and rate-limits nothing: callers report at sensible points.
 */
typedef struct
{
  KilnProgressFunc func;
  gpointer         data;
  double           start;
  double           span;
} KilnProgress;

void     kiln_progress_init     (KilnProgress     *p,
                                 KilnProgressFunc  func,
                                 gpointer          data);
KilnProgress kiln_progress_sub  (const KilnProgress *p,
                                 double            start,
                                 double            end);
void     kiln_progress_report   (const KilnProgress *p,
                                 double            fraction,
                                 const char       *message);

/* Report directly through a bare callback (NULL-safe). */
void     kiln_report            (KilnProgressFunc  func,
                                 gpointer          data,
                                 double            fraction,
                                 const char       *message);

/* Returns TRUE (and sets G_IO_ERROR_CANCELLED) when @cancellable is cancelled. */
gboolean kiln_check_cancelled   (GCancellable     *cancellable,
                                 GError          **error);

G_END_DECLS
