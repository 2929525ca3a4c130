/* kiln-plot.h — a small scientific plot: points with error bars and lines, axes with units
 *
 * Used for the neck radius and distance histories (paper Figs. 8–9) and the variance-tuning
 * and tilt-axis score curves. Exports PNG.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define KILN_TYPE_PLOT (kiln_plot_get_type ())

G_DECLARE_FINAL_TYPE (KilnPlot, kiln_plot, KILN, PLOT, GtkWidget)

typedef enum
{
  KILN_PLOT_POINTS,   /* markers (with error bars when given) joined by thin lines */
  KILN_PLOT_LINE,     /* a model curve */
} KilnPlotStyle;

GtkWidget *kiln_plot_new          (void);
/* Axis titles carry their unit, e.g. "PT time (s)". */
void       kiln_plot_set_labels   (KilnPlot      *self,
                                   const char    *title,
                                   const char    *x_label,
                                   const char    *y_label);
void       kiln_plot_clear        (KilnPlot      *self);
/* Add a series of @n points; @yerr (nullable) are half-widths of the error bars. The colour is
 * the label colour of @color_label (0: the theme's foreground). Returns the series index. */
guint      kiln_plot_add_series   (KilnPlot      *self,
                                   const char    *name,
                                   KilnPlotStyle  style,
                                   guint32        color_label,
                                   const double  *x,
                                   const double  *y,
                                   const double  *yerr,
                                   guint          n);
guint      kiln_plot_get_n_series (KilnPlot      *self);
/* The data range shown (after adding margins). */
void       kiln_plot_get_range    (KilnPlot      *self,
                                   double        *x0,
                                   double        *x1,
                                   double        *y0,
                                   double        *y1);
/* A vertical marker at x (e.g. the current time point); NAN hides it. */
void       kiln_plot_set_marker   (KilnPlot      *self,
                                   double         x);
/* SVG (vector) export, same layout as the PNG. */
gboolean   kiln_plot_save_svg     (KilnPlot      *self,
                                   const char    *path,
                                   int            width,
                                   int            height,
                                   GError       **error);
/* The point nearest to widget position (x, y) within @radius px: its series and index, or
 * FALSE. Used for the hover read-out (a tooltip with the values and units). */
gboolean   kiln_plot_pick         (KilnPlot      *self,
                                   double         x,
                                   double         y,
                                   double         radius,
                                   guint         *series,
                                   guint         *index);
gboolean   kiln_plot_save_png     (KilnPlot      *self,
                                   const char    *path,
                                   int            width,
                                   int            height,
                                   GError       **error);

G_END_DECLS
