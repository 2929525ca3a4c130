/* kiln-plot.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <cairo-svg.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

#include "kiln-image-view.h"
#include "kiln-plot.h"

typedef struct
{
  char          *name;
  KilnPlotStyle  style;
  guint32        color_label;
  GArray        *x;
  GArray        *y;
  GArray        *yerr;   /* may be empty */
} Series;

struct _KilnPlot
{
  GtkWidget  parent_instance;
  char      *title;
  char      *x_label;
  char      *y_label;
  GPtrArray *series;
  double     marker;
  double     left;     /* the left margin of the last drawing (fits the y tick labels) */
};

G_DEFINE_FINAL_TYPE (KilnPlot, kiln_plot, GTK_TYPE_WIDGET)

#define PLOT_LEFT   64.0
#define PLOT_RIGHT  16.0
#define PLOT_TOP    32.0
#define PLOT_BOTTOM 48.0

static gboolean on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                                  GtkTooltip *tooltip, gpointer data);

static void
series_free (gpointer data)
{
  Series *s = data;

  g_free (s->name);
  g_array_unref (s->x);
  g_array_unref (s->y);
  g_array_unref (s->yerr);
  g_free (s);
}

static double
nice_step (double range,
           int    target_ticks)
{
  double raw = range / MAX (target_ticks, 1);
  double mag = pow (10, floor (log10 (raw)));
  double f = raw / mag;

  if (f < 1.5)
    return mag;
  if (f < 3.5)
    return 2 * mag;
  if (f < 7.5)
    return 5 * mag;
  return 10 * mag;
}

void
kiln_plot_get_range (KilnPlot *self,
                     double   *x0,
                     double   *x1,
                     double   *y0,
                     double   *y1)
{
  double a = INFINITY, b = -INFINITY, c = INFINITY, d = -INFINITY;

  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      for (guint k = 0; k < s->x->len; k++)
        {
          double x = g_array_index (s->x, double, k), y = g_array_index (s->y, double, k);
          double e = s->yerr->len > k ? g_array_index (s->yerr, double, k) : 0;
          if (!isfinite (x) || !isfinite (y))
            continue;
          if (!isfinite (e))
            e = 0;
          a = MIN (a, x);
          b = MAX (b, x);
          c = MIN (c, y - e);
          d = MAX (d, y + e);
        }
    }
  if (!isfinite (a))
    {
      a = 0;
      b = 1;
      c = 0;
      d = 1;
    }
  if (b - a <= 0)
    {
      a -= 0.5;
      b += 0.5;
    }
  if (d - c <= 0)
    {
      c -= 0.5;
      d += 0.5;
    }
  *x0 = a - 0.04 * (b - a);
  *x1 = b + 0.04 * (b - a);
  *y0 = c - 0.08 * (d - c);
  *y1 = d + 0.08 * (d - c);
}

static void
draw (KilnPlot *self,
      cairo_t  *cr,
      int       width,
      int       height,
      GdkRGBA  *fg)
{
  double x0, x1, y0, y1, step;
  double left = PLOT_LEFT, right = PLOT_RIGHT, top = PLOT_TOP, bottom = PLOT_BOTTOM;
  double pw = MAX (1, width - left - right), ph = MAX (1, height - top - bottom);
  PangoLayout *layout;
  PangoFontDescription *font;
  int tw, th;

#define PX(x) (left + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (top + (1 - ((y) - y0) / (y1 - y0)) * ph)

  kiln_plot_get_range (self, &x0, &x1, &y0, &y1);
  layout = pango_cairo_create_layout (cr);
  font = pango_font_description_from_string ("Sans 9");
  pango_layout_set_font_description (layout, font);

  /* the left margin fits the widest y tick label beside the rotated y title */
  {
    double ystep = nice_step (y1 - y0, 5);
    int widest = 0;
    for (double t = ceil (y0 / ystep) * ystep; t <= y1; t += ystep)
      {
        char buf[32];
        g_snprintf (buf, sizeof buf, "%g", fabs (t) < ystep * 1e-6 ? 0.0 : t);
        pango_layout_set_text (layout, buf, -1);
        pango_layout_get_pixel_size (layout, &tw, &th);
        widest = MAX (widest, tw);
      }
    pango_layout_set_text (layout, "Ag", -1);
    pango_layout_get_pixel_size (layout, &tw, &th);
    left = MAX (left, 4 + th + 4 + widest + 6);
    pw = MAX (1, width - left - right);
    self->left = left;
  }

  /* frame and ticks */
  cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.8);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, left + 0.5, top + 0.5, pw, ph);
  cairo_stroke (cr);

  step = nice_step (x1 - x0, 6);
  for (double t = ceil (x0 / step) * step; t <= x1; t += step)
    {
      char buf[32];
      g_snprintf (buf, sizeof buf, "%g", fabs (t) < step * 1e-6 ? 0.0 : t);
      cairo_move_to (cr, PX (t), top + ph);
      cairo_line_to (cr, PX (t), top + ph + 4);
      cairo_stroke (cr);
      pango_layout_set_text (layout, buf, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, PX (t) - tw / 2.0, top + ph + 6);
      pango_cairo_show_layout (cr, layout);
    }
  step = nice_step (y1 - y0, 5);
  for (double t = ceil (y0 / step) * step; t <= y1; t += step)
    {
      char buf[32];
      g_snprintf (buf, sizeof buf, "%g", fabs (t) < step * 1e-6 ? 0.0 : t);
      cairo_move_to (cr, left - 4, PY (t));
      cairo_line_to (cr, left, PY (t));
      cairo_stroke (cr);
      pango_layout_set_text (layout, buf, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, left - 6 - tw, PY (t) - th / 2.0);
      pango_cairo_show_layout (cr, layout);
    }

  /* axis titles */
  if (self->x_label)
    {
      pango_layout_set_text (layout, self->x_label, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, left + pw / 2 - tw / 2.0, height - th - 4);
      pango_cairo_show_layout (cr, layout);
    }
  if (self->y_label)
    {
      pango_layout_set_text (layout, self->y_label, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_save (cr);
      cairo_move_to (cr, 4, top + ph / 2 + tw / 2.0);
      cairo_rotate (cr, -G_PI / 2);
      pango_cairo_show_layout (cr, layout);
      cairo_restore (cr);
    }
  if (self->title)
    {
      PangoFontDescription *bold = pango_font_description_from_string ("Sans Bold 10");
      pango_layout_set_font_description (layout, bold);
      pango_layout_set_text (layout, self->title, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, left + pw / 2 - tw / 2.0, 6);
      pango_cairo_show_layout (cr, layout);
      pango_layout_set_font_description (layout, font);
      pango_font_description_free (bold);
    }

  /* data */
  cairo_save (cr);
  cairo_rectangle (cr, left, top, pw, ph);
  cairo_clip (cr);
  if (isfinite (self->marker))
    {
      cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 0.3);
      cairo_move_to (cr, PX (self->marker), top);
      cairo_line_to (cr, PX (self->marker), top + ph);
      cairo_stroke (cr);
    }
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      GdkRGBA c = *fg;
      gboolean started = FALSE;

      if (s->color_label != 0)
        kiln_label_color (s->color_label, &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, 1);
      cairo_set_line_width (cr, s->style == KILN_PLOT_LINE ? 1.5 : 1.0);
      if (s->style == KILN_PLOT_LINE)
        {
          double dash[] = { 5, 3 };
          cairo_set_dash (cr, dash, 2, 0);
        }
      for (guint k = 0; k < s->x->len; k++)
        {
          double x = g_array_index (s->x, double, k), y = g_array_index (s->y, double, k);
          if (!isfinite (x) || !isfinite (y))
            {
              started = FALSE;
              continue;
            }
          if (started)
            cairo_line_to (cr, PX (x), PY (y));
          else
            cairo_move_to (cr, PX (x), PY (y));
          started = TRUE;
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      if (s->style == KILN_PLOT_POINTS)
        for (guint k = 0; k < s->x->len; k++)
          {
            double x = g_array_index (s->x, double, k), y = g_array_index (s->y, double, k);
            double e = s->yerr->len > k ? g_array_index (s->yerr, double, k) : 0;
            if (!isfinite (x) || !isfinite (y))
              continue;
            if (isfinite (e) && e > 0)
              {
                cairo_move_to (cr, PX (x), PY (y - e));
                cairo_line_to (cr, PX (x), PY (y + e));
                cairo_move_to (cr, PX (x) - 3, PY (y - e));
                cairo_line_to (cr, PX (x) + 3, PY (y - e));
                cairo_move_to (cr, PX (x) - 3, PY (y + e));
                cairo_line_to (cr, PX (x) + 3, PY (y + e));
                cairo_stroke (cr);
              }
            cairo_arc (cr, PX (x), PY (y), 3.5, 0, 2 * G_PI);
            cairo_fill (cr);
          }
    }
  cairo_restore (cr);

  /* legend */
  {
    double ly = top + 6;
    for (guint i = 0; i < self->series->len; i++)
      {
        Series *s = g_ptr_array_index (self->series, i);
        GdkRGBA c = *fg;
        if (s->name == NULL)
          continue;
        if (s->color_label != 0)
          kiln_label_color (s->color_label, &c);
        pango_layout_set_text (layout, s->name, -1);
        pango_layout_get_pixel_size (layout, &tw, &th);
        cairo_set_source_rgba (cr, c.red, c.green, c.blue, 1);
        cairo_rectangle (cr, left + pw - tw - 26, ly + th / 2.0 - 2, 14, 4);
        cairo_fill (cr);
        cairo_set_source_rgba (cr, fg->red, fg->green, fg->blue, 1);
        cairo_move_to (cr, left + pw - tw - 8, ly);
        pango_cairo_show_layout (cr, layout);
        ly += th + 2;
      }
  }
  pango_font_description_free (font);
  g_object_unref (layout);
#undef PX
#undef PY
}

static void
kiln_plot_snapshot (GtkWidget   *widget,
                    GtkSnapshot *snapshot)
{
  KilnPlot *self = KILN_PLOT (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  GdkRGBA fg;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  draw (self, cr, w, h, &fg);
  cairo_destroy (cr);
}

static void
kiln_plot_measure (GtkWidget      *widget,
                   GtkOrientation  orientation,
                   int             for_size,
                   int            *minimum,
                   int            *natural,
                   int            *minimum_baseline,
                   int            *natural_baseline)
{
  *minimum = 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 420 : 260;
}

static void
kiln_plot_finalize (GObject *object)
{
  KilnPlot *self = KILN_PLOT (object);

  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  g_ptr_array_unref (self->series);
  G_OBJECT_CLASS (kiln_plot_parent_class)->finalize (object);
}

static void
kiln_plot_class_init (KilnPlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = kiln_plot_finalize;
  widget_class->snapshot = kiln_plot_snapshot;
  widget_class->measure = kiln_plot_measure;
  gtk_widget_class_set_css_name (widget_class, "kiln-plot");
}

static void
kiln_plot_init (KilnPlot *self)
{
  self->series = g_ptr_array_new_with_free_func (series_free);
  self->marker = NAN;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
}

GtkWidget *
kiln_plot_new (void)
{
  return g_object_new (KILN_TYPE_PLOT, NULL);
}

void
kiln_plot_set_labels (KilnPlot   *self,
                      const char *title,
                      const char *x_label,
                      const char *y_label)
{
  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  self->title = g_strdup (title);
  self->x_label = g_strdup (x_label);
  self->y_label = g_strdup (y_label);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kiln_plot_clear (KilnPlot *self)
{
  g_ptr_array_set_size (self->series, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
kiln_plot_add_series (KilnPlot      *self,
                      const char    *name,
                      KilnPlotStyle  style,
                      guint32        color_label,
                      const double  *x,
                      const double  *y,
                      const double  *yerr,
                      guint          n)
{
  Series *s = g_new0 (Series, 1);

  s->name = g_strdup (name);
  s->style = style;
  s->color_label = color_label;
  s->x = g_array_sized_new (FALSE, FALSE, sizeof (double), n);
  s->y = g_array_sized_new (FALSE, FALSE, sizeof (double), n);
  s->yerr = g_array_sized_new (FALSE, FALSE, sizeof (double), yerr ? n : 0);
  g_array_append_vals (s->x, x, n);
  g_array_append_vals (s->y, y, n);
  if (yerr != NULL)
    g_array_append_vals (s->yerr, yerr, n);
  g_ptr_array_add (self->series, s);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return self->series->len - 1;
}

guint
kiln_plot_get_n_series (KilnPlot *self)
{
  return self->series->len;
}

void
kiln_plot_set_marker (KilnPlot *self,
                      double    x)
{
  self->marker = x;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
kiln_plot_pick (KilnPlot *self,
                double    x,
                double    y,
                double    radius,
                guint    *series,
                guint    *index)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double x0, x1, y0, y1, best = radius * radius;
  double left = MAX (PLOT_LEFT, self->left);
  double pw = MAX (1, w - left - PLOT_RIGHT), ph = MAX (1, h - PLOT_TOP - PLOT_BOTTOM);
  gboolean found = FALSE;

  kiln_plot_get_range (self, &x0, &x1, &y0, &y1);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (s->style != KILN_PLOT_POINTS)
        continue;
      for (guint k = 0; k < s->x->len; k++)
        {
          double px = left + (g_array_index (s->x, double, k) - x0) / (x1 - x0) * pw;
          double py = PLOT_TOP + (1 - (g_array_index (s->y, double, k) - y0) / (y1 - y0)) * ph;
          double d2 = (px - x) * (px - x) + (py - y) * (py - y);
          if (isfinite (d2) && d2 <= best)
            {
              best = d2;
              *series = i;
              *index = k;
              found = TRUE;
            }
        }
    }
  return found;
}

static gboolean
on_query_tooltip (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard,
                  GtkTooltip *tooltip,
                  gpointer    data)
{
  KilnPlot *self = KILN_PLOT (widget);
  guint si, k;
  Series *s;
  g_autofree char *text = NULL;

  if (!kiln_plot_pick (self, x, y, 8, &si, &k))
    return FALSE;
  s = g_ptr_array_index (self->series, si);
  if (s->yerr->len > k && isfinite (g_array_index (s->yerr, double, k)))
    text = g_strdup_printf ("%s\n%s: %.4g\n%s: %.4g ± %.2g", s->name ? s->name : "",
                            self->x_label ? self->x_label : "x", g_array_index (s->x, double, k),
                            self->y_label ? self->y_label : "y", g_array_index (s->y, double, k),
                            g_array_index (s->yerr, double, k));
  else
    text = g_strdup_printf ("%s\n%s: %.4g\n%s: %.4g", s->name ? s->name : "",
                            self->x_label ? self->x_label : "x", g_array_index (s->x, double, k),
                            self->y_label ? self->y_label : "y", g_array_index (s->y, double, k));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

gboolean
kiln_plot_save_svg (KilnPlot    *self,
                    const char  *path,
                    int          width,
                    int          height,
                    GError     **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-%u", path, g_random_int ());
  cairo_surface_t *surface = cairo_svg_surface_create (tmp, width, height);
  cairo_t *cr = cairo_create (surface);
  GdkRGBA fg = { 0, 0, 0, 1 };
  cairo_status_t status;

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw (self, cr, width, height, &fg);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS || g_rename (tmp, path) != 0)
    {
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s: %s"), path,
                   status != CAIRO_STATUS_SUCCESS ? cairo_status_to_string (status) : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_plot_save_png (KilnPlot    *self,
                    const char  *path,
                    int          width,
                    int          height,
                    GError     **error)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  GdkRGBA fg = { 0, 0, 0, 1 };
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-%u", path, g_random_int ());
  cairo_status_t status;

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw (self, cr, width, height, &fg);
  cairo_destroy (cr);
  status = cairo_surface_write_to_png (surface, tmp);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS || g_rename (tmp, path) != 0)
    {
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s: %s"), path,
                   status != CAIRO_STATUS_SUCCESS ? cairo_status_to_string (status) : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}
