/* kiln-progress.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-progress.h"

void
kiln_progress_init (KilnProgress     *p,
                    KilnProgressFunc  func,
                    gpointer          data)
{
  p->func = func;
  p->data = data;
  p->start = 0.0;
  p->span = 1.0;
}

KilnProgress
kiln_progress_sub (const KilnProgress *p,
                   double              start,
                   double              end)
{
  KilnProgress sub = *p;

  sub.start = p->start + p->span * start;
  sub.span = p->span * (end - start);
  return sub;
}

void
kiln_progress_report (const KilnProgress *p,
                      double              fraction,
                      const char         *message)
{
  if (p == NULL || p->func == NULL)
    return;
  p->func (CLAMP (p->start + p->span * CLAMP (fraction, 0.0, 1.0), 0.0, 1.0), message, p->data);
}

void
kiln_report (KilnProgressFunc  func,
             gpointer          data,
             double            fraction,
             const char       *message)
{
  if (func != NULL)
    func (CLAMP (fraction, 0.0, 1.0), message, data);
}

gboolean
kiln_check_cancelled (GCancellable  *cancellable,
                      GError       **error)
{
  return g_cancellable_set_error_if_cancelled (cancellable, error);
}
