/* kiln-wbp.c — weighted (filtered) back-projection
 *
 * f(x, z) = Σ_θ Δθ · p̃_θ(x cos θ + z sin θ), p̃ = the tilt rows filtered with kiln_filter_rows()
 * (ramp |ω| in cycles/sample, optionally apodised), Δθ the angular weight of the tilt in
 * radians, and the back-projection the projector's Aᵀ (linear interpolation on the detector).
 * With a full 180° set this reproduces the object's values in the units of the projections per
 * pixel (projection = line integral in pixel lengths).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "kiln-reconstruct-private.h"

typedef struct
{
  double a;
  guint  k;
} Ang;

static int
cmp_ang (const void *pa,
         const void *pb)
{
  const Ang *a = pa, *b = pb;
  return a->a < b->a ? -1 : a->a > b->a ? 1 : (int) a->k - (int) b->k;
}

void
kiln_wbp_tilt_weights (const double *angles_deg,
                       guint         n_tilts,
                       float        *weights)
{
  g_autofree Ang *s = g_new (Ang, n_tilts);

  if (n_tilts == 1)
    {
      weights[0] = 1.0f;
      return;
    }
  for (guint k = 0; k < n_tilts; k++)
    {
      s[k].a = angles_deg[k];
      s[k].k = k;
    }
  qsort (s, n_tilts, sizeof (Ang), cmp_ang);
  for (guint i = 0; i < n_tilts; i++)
    {
      double gap;
      if (i == 0)
        gap = s[1].a - s[0].a;
      else if (i == n_tilts - 1)
        gap = s[i].a - s[i - 1].a;
      else
        gap = (s[i + 1].a - s[i - 1].a) / 2.0;
      weights[s[i].k] = (float) (gap * G_PI / 180.0);
    }
}

void
kiln_wbp_backproject (const KilnProjector *proj,
                      const float         *sino,
                      float               *vol)
{
  g_autofree float *w = g_new (float, proj->n_tilts);

  kiln_wbp_tilt_weights (proj->angles_deg, proj->n_tilts, w);
  kiln_projector_back (proj, sino, vol, w, NULL, 0);
}
