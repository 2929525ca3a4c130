/* kiln-backproject.c — simple and weighted back-projection of slices across the tilt axis
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-backproject.h"

#include <math.h>
#include <string.h>

#include "kiln-alloc.h"
#include "kiln-error.h"

struct _KilnBpLines
{
  guint  n_tilts;
  guint  n_line;   /* 2·half + 1 samples per line */
  int    half;     /* sample j is at u = j − half from the image centre */
  float *data;     /* n_tilts × n_line, filtered and weighted */
  float *cos_t;
  float *sin_t;
};

static int
compare_by_angle (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const double *angles = user_data;
  double da = angles[*(const guint *) a], db = angles[*(const guint *) b];

  return da < db ? -1 : da > db ? 1 : 0;
}

gboolean
kiln_bp_angle_weights (const double *angles_deg, guint n, double *weights)
{
  g_autofree guint *order = NULL;
  double lo, hi;

  if (n < 2)
    return FALSE;
  order = g_new (guint, n);
  for (guint k = 0; k < n; k++)
    order[k] = k;
  g_qsort_with_data (order, n, sizeof (guint), compare_by_angle, (gpointer) angles_deg);
  lo = angles_deg[order[0]];
  hi = angles_deg[order[n - 1]];
  if (!(hi - lo > 1e-9))
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      double a = angles_deg[order[i]];
      double left = i > 0 ? a - angles_deg[order[i - 1]] : -1.0;
      double right = i + 1 < n ? angles_deg[order[i + 1]] - a : -1.0;
      double step;

      if (left < 0)
        step = right;
      else if (right < 0)
        step = left;
      else
        step = 0.5 * (left + right);
      weights[order[i]] = step * G_PI / 180.0;
    }
  return TRUE;
}

guint
kiln_bp_default_width (guint image_width, guint image_height, double axis_angle_deg)
{
  double a = axis_angle_deg * G_PI / 180.0;
  double c = fabs (cos (a)), s = fabs (sin (a));
  double len = G_MAXDOUBLE;

  /* the line c + u·(cos α, sin α) leaves the image at |u| = min(W/2/|cos|, H/2/|sin|) */
  if (c > 1e-9)
    len = MIN (len, image_width / c);
  if (s > 1e-9)
    len = MIN (len, image_height / s);
  if (len < 1)
    len = 1;
  return (guint) floor (len + 1e-6);
}

/* Bilinear sample with the coordinates clamped into the image. */
static inline float
sample_clamped (const float *img, guint w, guint h, double x, double y)
{
  int x0, y0, x1, y1;
  double fx, fy;

  x = CLAMP (x, 0.0, (double) (w - 1));
  y = CLAMP (y, 0.0, (double) (h - 1));
  x0 = (int) x;
  y0 = (int) y;
  fx = x - x0;
  fy = y - y0;
  x1 = MIN (x0 + 1, (int) w - 1);
  y1 = MIN (y0 + 1, (int) h - 1);
  return (float) ((1 - fy) * ((1 - fx) * img[(gsize) y0 * w + x0] + fx * img[(gsize) y0 * w + x1])
                  + fy * ((1 - fx) * img[(gsize) y1 * w + x0] + fx * img[(gsize) y1 * w + x1]));
}

KilnBpLines *
kiln_bp_lines_new_full (const float  *data,
                        guint         n_tilts,
                        guint         width,
                        guint         height,
                        const double *angles_deg,
                        double        cx,
                        double        cy,
                        double        axis_angle_deg,
                        double        slice_pos_px,
                        guint         max_width,
                        guint         max_thickness,
                        double        max_shift_px,
                        KilnFilter    filter,
                        double        cutoff,
                        GError      **error)
{
  g_autofree double *weights = NULL;
  KilnBpLines *lines;
  double maxc = 0, maxs = 0, half_d;
  double a = axis_angle_deg * G_PI / 180.0;
  double ax = -sin (a), ay = cos (a), px = cos (a), py = sin (a);

  g_return_val_if_fail (data != NULL && angles_deg != NULL, NULL);

  if (n_tilts < 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "the tilt series has %u tilt; back-projection needs at least 2 tilts at "
                   "different angles", n_tilts);
      return NULL;
    }
  if (width == 0 || height == 0 || width > KILN_MAX_EXTENT || height > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "invalid image size %u × %u for back-projection", width, height);
      return NULL;
    }
  if (max_width == 0 || max_thickness == 0 || max_width > KILN_MAX_EXTENT
      || max_thickness > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "back-projection slice size %u × %u px is out of range (1 … %u)",
                   max_width, max_thickness, (guint) KILN_MAX_EXTENT);
      return NULL;
    }
  if (!isfinite (axis_angle_deg) || !isfinite (slice_pos_px) || !isfinite (max_shift_px)
      || fabs (max_shift_px) > KILN_MAX_EXTENT || fabs (slice_pos_px) > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "axis angle %g°, slice position %g px or shift range %g px is invalid",
                   axis_angle_deg, slice_pos_px, max_shift_px);
      return NULL;
    }
  for (guint k = 0; k < n_tilts; k++)
    if (!isfinite (angles_deg[k]) || fabs (angles_deg[k]) > 360)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                     "tilt angle %u is %g°, not a valid tilt angle", k, angles_deg[k]);
        return NULL;
      }

  weights = g_new (double, n_tilts);
  if (!kiln_bp_angle_weights (angles_deg, n_tilts, weights))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "all %u tilt angles are %g°: back-projection needs a range of tilt angles",
                   n_tilts, angles_deg[0]);
      return NULL;
    }
  if (filter == KILN_FILTER_NONE)
    for (guint k = 0; k < n_tilts; k++)
      weights[k] = 1.0 / n_tilts;

  for (guint k = 0; k < n_tilts; k++)
    {
      double t = angles_deg[k] * G_PI / 180.0;
      maxc = MAX (maxc, fabs (cos (t)));
      maxs = MAX (maxs, fabs (sin (t)));
    }
  half_d = ceil (0.5 * (max_width * maxc + max_thickness * maxs) + fabs (max_shift_px)) + 4;

  lines = g_new0 (KilnBpLines, 1);
  lines->n_tilts = n_tilts;
  lines->half = (int) half_d;
  lines->n_line = 2 * (guint) lines->half + 1;
  lines->data = kiln_alloc ((gsize) n_tilts * lines->n_line, sizeof (float), FALSE,
                            "back-projection lines", error);
  if (lines->data == NULL)
    {
      g_free (lines);
      return NULL;
    }
  lines->cos_t = g_new (float, n_tilts);
  lines->sin_t = g_new (float, n_tilts);

  for (guint k = 0; k < n_tilts; k++)
    {
      double t = angles_deg[k] * G_PI / 180.0;
      const float *img = data + (gsize) k * width * height;
      float *line = lines->data + (gsize) k * lines->n_line;
      double ox = cx + slice_pos_px * ax, oy = cy + slice_pos_px * ay;

      lines->cos_t[k] = (float) cos (t);
      lines->sin_t[k] = (float) sin (t);
      for (guint j = 0; j < lines->n_line; j++)
        {
          double u = (double) j - lines->half;
          line[j] = sample_clamped (img, width, height, ox + u * px, oy + u * py);
        }
    }

  if (filter != KILN_FILTER_NONE)
    kiln_filter_rows (lines->data, n_tilts, lines->n_line, filter,
                      cutoff > 0 && cutoff <= 1 ? cutoff : 1.0);

  for (guint k = 0; k < n_tilts; k++)
    {
      float *line = lines->data + (gsize) k * lines->n_line;
      float w = (float) weights[k];

      for (guint j = 0; j < lines->n_line; j++)
        line[j] *= w;
    }
  return lines;
}

KilnBpLines *
kiln_bp_lines_new (const KilnImageStack *stack,
                   double                axis_angle_deg,
                   double                slice_pos_px,
                   guint                 max_width,
                   guint                 max_thickness,
                   double                max_shift_px,
                   KilnFilter            filter,
                   double                cutoff,
                   GError              **error)
{
  g_return_val_if_fail (stack != NULL, NULL);

  if (!stack->has_angles)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "the tilt series has no tilt angles (give a .tlt file)");
      return NULL;
    }
  return kiln_bp_lines_new_full (stack->data, stack->n_tilts, stack->width, stack->height,
                                 stack->angles_deg, (stack->width - 1) / 2.0,
                                 (stack->height - 1) / 2.0, axis_angle_deg, slice_pos_px,
                                 max_width, max_thickness, max_shift_px, filter, cutoff, error);
}

void
kiln_bp_lines_free (KilnBpLines *lines)
{
  if (lines == NULL)
    return;
  kiln_free (lines->data);
  g_free (lines->cos_t);
  g_free (lines->sin_t);
  g_free (lines);
}

guint
kiln_bp_lines_n_tilts (const KilnBpLines *lines)
{
  return lines->n_tilts;
}

/* The hot loop: row[i] += p(a·i + b), linear interpolation, all indices inside p. Compiled
 * for AVX2 (gathers) as well as the baseline; the loader picks at run time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__ ((target_clones ("avx2", "default")))
#endif
static void
accumulate_row (float *restrict row, const float *restrict p, float a, float b, int width)
{
#pragma omp simd
  for (int i = 0; i < width; i++)
    {
      float t = a * (float) i + b;
      int ii = (int) t;
      float f = t - (float) ii;

      row[i] += p[ii] + f * (p[ii + 1] - p[ii]);
    }
}

void
kiln_bp_lines_backproject (const KilnBpLines *lines,
                           double             shift_px,
                           guint              width,
                           guint              thickness,
                           float             *out)
{
  kiln_bp_lines_backproject_at (lines, shift_px, 0.0, width, thickness, out);
}

void
kiln_bp_lines_backproject_at (const KilnBpLines *lines,
                              double             shift_px,
                              double             x_centre_px,
                              guint              width,
                              guint              thickness,
                              float             *out)
{
  const double cxo = (width - 1) / 2.0 - x_centre_px, czo = (thickness - 1) / 2.0;
  const int n_line = (int) lines->n_line;

  g_return_if_fail (lines != NULL && out != NULL);

#pragma omp parallel for schedule(static)
  for (gint64 j = 0; j < (gint64) thickness; j++)
    {
      float *row = out + (gsize) j * width;
      double z = (double) j - czo;

      memset (row, 0, sizeof (float) * width);
      for (guint k = 0; k < lines->n_tilts; k++)
        {
          const float *p = lines->data + (gsize) k * lines->n_line;
          /* sample index t(i) = a·i + b, i the output column */
          double ad = lines->cos_t[k];
          double bd = z * lines->sin_t[k] + shift_px + lines->half - ad * cxo;
          double t0 = bd, t1 = ad * (width - 1) + bd;

          if (MIN (t0, t1) >= 1.0 && MAX (t0, t1) <= n_line - 3.0)
            {
              accumulate_row (row, p, (float) ad, (float) bd, (int) width);
            }
          else
            {
              for (guint i = 0; i < width; i++)
                {
                  double t = ad * i + bd;
                  int ii;
                  double f;

                  if (t <= 0)
                    {
                      row[i] += p[0];
                      continue;
                    }
                  if (t >= n_line - 1)
                    {
                      row[i] += p[n_line - 1];
                      continue;
                    }
                  ii = (int) t;
                  f = t - ii;
                  row[i] += (float) (p[ii] + f * (p[ii + 1] - p[ii]));
                }
            }
        }
    }
}

void
kiln_backproject_params_init (KilnBackprojectParams *params)
{
  memset (params, 0, sizeof *params);
  params->filter = KILN_FILTER_NONE;
  params->cutoff = 1.0;
}

gboolean
kiln_backproject_slices (const KilnImageStack        *stack,
                         const KilnBackprojectParams *params,
                         const double                *slice_pos_px,
                         guint                        n_slices,
                         float                       *out,
                         guint                       *width_out,
                         guint                       *thickness_out,
                         GCancellable                *cancellable,
                         KilnProgressFunc             progress,
                         gpointer                     progress_data,
                         GError                     **error)
{
  guint width, thickness;

  g_return_val_if_fail (stack != NULL && params != NULL, FALSE);
  g_return_val_if_fail (n_slices == 0 || slice_pos_px != NULL, FALSE);

  width = params->width ? params->width
                        : kiln_bp_default_width (stack->width, stack->height,
                                                 params->axis_angle_deg);
  thickness = params->thickness ? params->thickness : width;
  if (width > KILN_MAX_EXTENT || thickness > KILN_MAX_EXTENT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "back-projection slice size %u × %u px is out of range (1 … %u)",
                   width, thickness, (guint) KILN_MAX_EXTENT);
      return FALSE;
    }
  if (width_out)
    *width_out = width;
  if (thickness_out)
    *thickness_out = thickness;
  if (out == NULL)
    return TRUE;

  for (guint i = 0; i < n_slices; i++)
    {
      KilnBpLines *lines;

      if (kiln_check_cancelled (cancellable, error))
        return FALSE;
      kiln_report (progress, progress_data, (double) i / MAX (n_slices, 1),
                   "Back-projecting slices");
      lines = kiln_bp_lines_new (stack, params->axis_angle_deg, slice_pos_px[i], width,
                                 thickness, params->axis_shift_px, params->filter,
                                 params->cutoff, error);
      if (lines == NULL)
        return FALSE;
      kiln_bp_lines_backproject (lines, params->axis_shift_px, width, thickness,
                                 out + (gsize) i * width * thickness);
      kiln_bp_lines_free (lines);
    }
  kiln_report (progress, progress_data, 1.0, NULL);
  return TRUE;
}
