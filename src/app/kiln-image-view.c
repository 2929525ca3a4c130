/* kiln-image-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-image-view.h"

struct _KilnImageView
{
  GtkWidget   parent_instance;

  float      *data;
  float      *compare;
  guint32    *labels;
  guint       width;
  guint       height;
  double      pixel_size_nm;

  double      black;
  double      white;

  GdkTexture *texture;
  GdkTexture *compare_texture;
  GdkTexture *label_texture;
  guint32    *outline;    /* a second label image drawn as outlines (teaching: the truth) */
  GdkTexture *outline_texture;

  double      zoom;       /* screen px per image px */
  double      offset_x;   /* widget coordinates of image pixel (0, 0)'s corner */
  double      offset_y;
  gboolean    fit;        /* keep fitting on resize until the user zooms or pans */

  double      split;      /* 0 … 1 of the width, for compare */

  gboolean    axis_visible;
  double      axis_angle;
  double      axis_shift;

  gboolean    roi_visible;
  int         roi[4];

  double      drag_start_x;
  double      drag_start_y;
  gboolean    drag_moves_image;   /* a drag moves the content (::image-dragged) instead of panning */
  gboolean    moving;
  double      move_dx;            /* image px, while moving */
  double      move_dy;
  double      zoom_start;
  double      pointer_x;
  double      pointer_y;
  char       *readout;
};

enum {
  PROP_0,
  PROP_ZOOM,
  PROP_READOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_IMAGE_DRAGGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnImageView, kiln_image_view, GTK_TYPE_WIDGET)

void
kiln_label_color (guint32  label,
                  GdkRGBA *color)
{
  /* golden-angle hues: neighbouring labels get distinct colours, stable for a label */
  double h = fmod (label * 0.61803398875, 1.0) * 6.0;
  double s = 0.75, v = 0.95;
  int i = (int) floor (h);
  double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;

  switch (i % 6)
    {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
    }
  color->red = r;
  color->green = g;
  color->blue = b;
  color->alpha = 1.0;
}

static GdkTexture *
make_grey_texture (const float *data,
                   guint        w,
                   guint        h,
                   double       black,
                   double       white)
{
  gsize stride = (gsize) w * 3;
  guint8 *pix = g_malloc (stride * h);
  double scale = white > black ? 255.0 / (white - black) : 0.0;
  g_autoptr(GBytes) bytes = NULL;

  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      double v = (data[i] - black) * scale;
      guint8 g = isfinite (v) ? (guint8) CLAMP (v + 0.5, 0.0, 255.0) : 0;
      pix[3 * i] = pix[3 * i + 1] = pix[3 * i + 2] = g;
    }
  bytes = g_bytes_new_take (pix, stride * h);
  return gdk_memory_texture_new ((int) w, (int) h, GDK_MEMORY_R8G8B8, bytes, stride);
}

static GdkTexture *
make_label_texture (const guint32 *labels,
                    guint          w,
                    guint          h)
{
  gsize stride = (gsize) w * 4;
  guint8 *pix = g_malloc0 (stride * h);
  g_autoptr(GBytes) bytes = NULL;

  for (gsize i = 0; i < (gsize) w * h; i++)
    if (labels[i] != 0)
      {
        GdkRGBA c;
        kiln_label_color (labels[i], &c);
        /* premultiplied, 45 % opacity */
        pix[4 * i + 0] = (guint8) (c.red * 0.45 * 255);
        pix[4 * i + 1] = (guint8) (c.green * 0.45 * 255);
        pix[4 * i + 2] = (guint8) (c.blue * 0.45 * 255);
        pix[4 * i + 3] = (guint8) (0.45 * 255);
      }
  bytes = g_bytes_new_take (pix, stride * h);
  return gdk_memory_texture_new ((int) w, (int) h, GDK_MEMORY_R8G8B8A8_PREMULTIPLIED, bytes, stride);
}

/* Boundary pixels of the non-zero regions of @labels (a pixel whose label differs from a
 * 4-neighbour's), opaque yellow; everything else transparent. */
static GdkTexture *
make_outline_texture (const guint32 *labels,
                      guint          w,
                      guint          h)
{
  gsize stride = (gsize) w * 4;
  guint8 *pix = g_malloc0 (stride * h);
  g_autoptr(GBytes) bytes = NULL;

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        guint32 l = labels[(gsize) y * w + x];
        gboolean edge;

        if (l == 0)
          continue;
        edge = x == 0 || y == 0 || x + 1 == w || y + 1 == h ||
               labels[(gsize) y * w + x - 1] != l || labels[(gsize) y * w + x + 1] != l ||
               labels[(gsize) (y - 1) * w + x] != l || labels[(gsize) (y + 1) * w + x] != l;
        if (edge)
          {
            guint8 *q = pix + (gsize) y * stride + 4 * x;
            q[0] = 255, q[1] = 230, q[2] = 0, q[3] = 255;
          }
      }
  bytes = g_bytes_new_take (pix, stride * h);
  return gdk_memory_texture_new ((int) w, (int) h, GDK_MEMORY_R8G8B8A8_PREMULTIPLIED, bytes, stride);
}

static void
rebuild_textures (KilnImageView *self)
{
  g_clear_object (&self->texture);
  g_clear_object (&self->compare_texture);
  if (self->data != NULL)
    self->texture = make_grey_texture (self->data, self->width, self->height, self->black, self->white);
  if (self->compare != NULL)
    self->compare_texture = make_grey_texture (self->compare, self->width, self->height,
                                               self->black, self->white);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
apply_fit (KilnImageView *self)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  int h = gtk_widget_get_height (GTK_WIDGET (self));

  if (self->width == 0 || w <= 0 || h <= 0)
    return;
  self->zoom = MIN ((double) w / self->width, (double) h / self->height);
  self->offset_x = (w - self->width * self->zoom) / 2.0;
  self->offset_y = (h - self->height * self->zoom) / 2.0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

static void
widget_to_image (KilnImageView *self,
                 double         wx,
                 double         wy,
                 double        *ix,
                 double        *iy)
{
  *ix = (wx - self->offset_x) / self->zoom;
  *iy = (wy - self->offset_y) / self->zoom;
}

static void
zoom_at (KilnImageView *self,
         double         new_zoom,
         double         wx,
         double         wy)
{
  double ix, iy;

  new_zoom = CLAMP (new_zoom, 0.02, 64.0);
  widget_to_image (self, wx, wy, &ix, &iy);
  self->zoom = new_zoom;
  self->offset_x = wx - ix * new_zoom;
  self->offset_y = wy - iy * new_zoom;
  self->fit = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
draw_scale_bar (KilnImageView *self,
                GtkSnapshot   *snapshot,
                int            widget_w,
                int            widget_h)
{
  static const double nice[] = { 1, 2, 5 };
  double nm_per_screen_px, target_nm, bar_nm = 0, bar_px;
  g_autofree char *text = NULL;
  PangoLayout *layout;
  GdkRGBA white = { 1, 1, 1, 1 }, shadow = { 0, 0, 0, 0.6 };
  int tw, th;
  double x0 = 16, y0 = widget_h - 16;

  if (self->pixel_size_nm <= 0 || self->zoom <= 0)
    return;
  nm_per_screen_px = self->pixel_size_nm / self->zoom;
  target_nm = nm_per_screen_px * MIN (widget_w / 5.0, 160.0);
  for (double decade = pow (10, floor (log10 (target_nm))); bar_nm == 0; decade /= 10)
    for (int i = 2; i >= 0; i--)
      if (nice[i] * decade <= target_nm)
        {
          bar_nm = nice[i] * decade;
          break;
        }
  bar_px = bar_nm / nm_per_screen_px;
  if (bar_nm >= 1000)
    text = g_strdup_printf ("%g µm", bar_nm / 1000);
  else
    text = g_strdup_printf ("%g nm", bar_nm);

  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  pango_layout_get_pixel_size (layout, &tw, &th);
  gtk_snapshot_append_color (snapshot, &shadow,
                             &GRAPHENE_RECT_INIT (x0 - 6, y0 - th - 14, MAX (bar_px, tw) + 12, th + 20));
  gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (x0, y0 - 4, bar_px, 4));
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x0, y0 - th - 8));
  gtk_snapshot_append_layout (snapshot, layout, &white);
  gtk_snapshot_restore (snapshot);
  g_object_unref (layout);
}

static void
kiln_image_view_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  KilnImageView *self = KILN_IMAGE_VIEW (widget);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  GdkRGBA bg = { 0.12, 0.12, 0.13, 1 };
  graphene_rect_t img;

  gtk_snapshot_append_color (snapshot, &bg, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (self->texture == NULL)
    return;
  if (self->fit)
    apply_fit (self);

  img = GRAPHENE_RECT_INIT (self->offset_x, self->offset_y,
                            self->width * self->zoom, self->height * self->zoom);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (self->moving)
    {
      /* the content being dragged: drawn where it would go */
      graphene_rect_t moved = GRAPHENE_RECT_INIT (self->offset_x + self->move_dx * self->zoom,
                                                  self->offset_y + self->move_dy * self->zoom,
                                                  self->width * self->zoom, self->height * self->zoom);
      gtk_snapshot_append_texture (snapshot, self->texture, &moved);
    }
  else
    gtk_snapshot_append_texture (snapshot, self->texture, &img);

  if (self->compare_texture != NULL)
    {
      double sx = w * self->split;
      GdkRGBA line = { 1, 0.8, 0.2, 1 };

      gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (sx, 0, w - sx, h));
      gtk_snapshot_append_texture (snapshot, self->compare_texture, &img);
      gtk_snapshot_pop (snapshot);
      gtk_snapshot_append_color (snapshot, &line, &GRAPHENE_RECT_INIT (sx - 1, 0, 2, h));
    }

  if (self->labels != NULL)
    {
      if (self->label_texture == NULL)
        self->label_texture = make_label_texture (self->labels, self->width, self->height);
      gtk_snapshot_append_texture (snapshot, self->label_texture, &img);
    }

  if (self->outline != NULL)
    {
      if (self->outline_texture == NULL)
        self->outline_texture = make_outline_texture (self->outline, self->width, self->height);
      gtk_snapshot_append_texture (snapshot, self->outline_texture, &img);
    }

  if (self->roi_visible)
    {
      GdkRGBA c[4] = { { 0.3, 0.8, 1, 1 }, { 0.3, 0.8, 1, 1 }, { 0.3, 0.8, 1, 1 }, { 0.3, 0.8, 1, 1 } };
      float bw[4] = { 2, 2, 2, 2 };
      GskRoundedRect rr;

      gsk_rounded_rect_init_from_rect (&rr,
                                       &GRAPHENE_RECT_INIT (self->offset_x + self->roi[0] * self->zoom,
                                                            self->offset_y + self->roi[1] * self->zoom,
                                                            self->roi[2] * self->zoom,
                                                            self->roi[3] * self->zoom), 0);
      gtk_snapshot_append_border (snapshot, &rr, bw, c);
    }

  if (self->axis_visible)
    {
      /* Through the centre, shifted ⟂ to the axis; angle CCW from image y (y points down on
       * screen, so CCW as seen is a negative screen rotation). */
      GdkRGBA red = { 1, 0.25, 0.2, 0.9 };
      double cx = self->offset_x + (self->width / 2.0) * self->zoom;
      double cy = self->offset_y + (self->height / 2.0) * self->zoom;
      double len = hypot (w, h) * 2;
      double a = self->axis_angle * G_PI / 180.0;

      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (cx + self->axis_shift * self->zoom * cos (a),
                                                              cy + self->axis_shift * self->zoom * sin (a)));
      gtk_snapshot_rotate (snapshot, (float) self->axis_angle);
      gtk_snapshot_append_color (snapshot, &red, &GRAPHENE_RECT_INIT (-1, -len / 2, 2, len));
      gtk_snapshot_restore (snapshot);
    }
  gtk_snapshot_pop (snapshot);

  draw_scale_bar (self, snapshot, w, h);
}

static void
kiln_image_view_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  *minimum = 64;
  *natural = 512;
}

static void
kiln_image_view_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  KilnImageView *self = KILN_IMAGE_VIEW (widget);

  if (self->fit)
    apply_fit (self);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           KilnImageView            *self)
{
  double x = self->pointer_x, y = self->pointer_y;

  if (x < 0 || y < 0)
    {
      x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  zoom_at (self, self->zoom * pow (1.15, -dy), x, y);
  return TRUE;
}

static void
on_drag_begin (GtkGestureDrag *gesture,
               double          x,
               double          y,
               KilnImageView  *self)
{
  self->drag_start_x = self->offset_x;
  self->drag_start_y = self->offset_y;
  self->moving = self->drag_moves_image && self->texture != NULL;
  self->move_dx = self->move_dy = 0;
}

static void
on_drag_end (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             KilnImageView  *self)
{
  if (!self->moving)
    return;
  self->moving = FALSE;
  self->move_dx = dx / self->zoom;
  self->move_dy = dy / self->zoom;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->move_dx != 0 || self->move_dy != 0)
    g_signal_emit (self, signals[SIGNAL_IMAGE_DRAGGED], 0, self->move_dx, self->move_dy);
  self->move_dx = self->move_dy = 0;
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                KilnImageView  *self)
{
  if (self->compare_texture != NULL &&
      gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture)) & GDK_SHIFT_MASK)
    {
      double sx, sy;
      gtk_gesture_drag_get_start_point (gesture, &sx, &sy);
      kiln_image_view_set_split (self, (sx + dx) / MAX (1, gtk_widget_get_width (GTK_WIDGET (self))));
      return;
    }
  if (self->moving)
    {
      self->move_dx = dx / self->zoom;
      self->move_dy = dy / self->zoom;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  self->offset_x = self->drag_start_x + dx;
  self->offset_y = self->drag_start_y + dy;
  self->fit = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_zoom_begin (GtkGesture       *gesture,
               GdkEventSequence *sequence,
               KilnImageView    *self)
{
  self->zoom_start = self->zoom;
}

static void
on_zoom_scale (GtkGestureZoom *gesture,
               double          scale,
               KilnImageView  *self)
{
  double x, y;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    {
      x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  zoom_at (self, self->zoom_start * scale, x, y);
}

static void
on_click (GtkGestureClick *gesture,
          int              n_press,
          double           x,
          double           y,
          KilnImageView   *self)
{
  if (n_press == 2)
    kiln_image_view_zoom_to_fit (self);
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           KilnImageView            *self)
{
  double ix, iy;
  long px, py;

  self->pointer_x = x;
  self->pointer_y = y;
  if (self->data == NULL)
    return;
  widget_to_image (self, x, y, &ix, &iy);
  px = (long) floor (ix);
  py = (long) floor (iy);
  g_free (self->readout);
  if (px < 0 || py < 0 || px >= (long) self->width || py >= (long) self->height)
    self->readout = g_strdup ("");
  else
    {
      float v = self->data[(gsize) py * self->width + px];
      if (self->pixel_size_nm > 0)
        self->readout = g_strdup_printf (_("x %ld, y %ld · value %.4g · (%.1f nm, %.1f nm)"),
                                         px, py, v, px * self->pixel_size_nm, py * self->pixel_size_nm);
      else
        self->readout = g_strdup_printf (_("x %ld, y %ld · value %.4g"), px, py, v);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READOUT]);
}

static void
kiln_image_view_finalize (GObject *object)
{
  KilnImageView *self = KILN_IMAGE_VIEW (object);

  g_clear_pointer (&self->data, g_free);
  g_clear_pointer (&self->compare, g_free);
  g_clear_pointer (&self->labels, g_free);
  g_clear_pointer (&self->outline, g_free);
  g_clear_object (&self->outline_texture);
  g_clear_pointer (&self->readout, g_free);
  g_clear_object (&self->texture);
  g_clear_object (&self->compare_texture);
  g_clear_object (&self->label_texture);
  G_OBJECT_CLASS (kiln_image_view_parent_class)->finalize (object);
}

static void
kiln_image_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  KilnImageView *self = KILN_IMAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_READOUT:
      g_value_set_string (value, self->readout ? self->readout : "");
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_image_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  KilnImageView *self = KILN_IMAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      kiln_image_view_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
zoom_in_action (GtkWidget *widget, const char *name, GVariant *param)
{
  KilnImageView *self = KILN_IMAGE_VIEW (widget);
  zoom_at (self, self->zoom * 1.25, gtk_widget_get_width (widget) / 2.0, gtk_widget_get_height (widget) / 2.0);
}

static void
zoom_out_action (GtkWidget *widget, const char *name, GVariant *param)
{
  KilnImageView *self = KILN_IMAGE_VIEW (widget);
  zoom_at (self, self->zoom / 1.25, gtk_widget_get_width (widget) / 2.0, gtk_widget_get_height (widget) / 2.0);
}

static void
zoom_fit_action (GtkWidget *widget, const char *name, GVariant *param)
{
  kiln_image_view_zoom_to_fit (KILN_IMAGE_VIEW (widget));
}

static void
auto_levels_action (GtkWidget *widget, const char *name, GVariant *param)
{
  kiln_image_view_auto_levels (KILN_IMAGE_VIEW (widget));
}

static void
kiln_image_view_class_init (KilnImageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = kiln_image_view_finalize;
  object_class->get_property = kiln_image_view_get_property;
  object_class->set_property = kiln_image_view_set_property;
  widget_class->snapshot = kiln_image_view_snapshot;
  widget_class->measure = kiln_image_view_measure;
  widget_class->size_allocate = kiln_image_view_size_allocate;

  properties[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, 0.02, 64.0, 1.0,
                                               G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_READOUT] = g_param_spec_string ("readout", NULL, NULL, "",
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* ::image-dragged (double dx_px, double dy_px): with drag-moves-image set, the user dragged
   * the content by (dx, dy) image pixels (x right, y down). */
  signals[SIGNAL_IMAGE_DRAGGED] = g_signal_new ("image-dragged", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  gtk_widget_class_install_action (widget_class, "view.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_install_action (widget_class, "view.auto-levels", NULL, auto_levels_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "view.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "view.zoom-fit", NULL);

  gtk_widget_class_set_css_name (widget_class, "kiln-image-view");
}

static void
kiln_image_view_init (KilnImageView *self)
{
  GtkEventController *scroll, *motion;
  GtkGesture *drag, *zoom, *click;

  self->zoom = 1.0;
  self->fit = TRUE;
  self->split = 0.5;
  self->white = 1.0;
  self->readout = g_strdup ("");
  self->pointer_x = self->pointer_y = -1;

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  zoom = gtk_gesture_zoom_new ();
  g_signal_connect (zoom, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (zoom, "scale-changed", G_CALLBACK (on_zoom_scale), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (zoom));

  click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_click), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
kiln_image_view_new (void)
{
  return g_object_new (KILN_TYPE_IMAGE_VIEW, NULL);
}

void
kiln_image_view_set_image (KilnImageView *self,
                           const float   *data,
                           guint          width,
                           guint          height,
                           double         pixel_size_nm)
{
  gboolean size_changed;

  g_return_if_fail (KILN_IS_IMAGE_VIEW (self));

  size_changed = width != self->width || height != self->height;
  g_clear_pointer (&self->data, g_free);
  if (size_changed)
    {
      g_clear_pointer (&self->compare, g_free);
      g_clear_pointer (&self->labels, g_free);
      g_clear_object (&self->label_texture);
      g_clear_pointer (&self->outline, g_free);
      g_clear_object (&self->outline_texture);
    }
  if (data != NULL && width > 0 && height > 0)
    {
      self->data = g_memdup2 (data, sizeof (float) * width * height);
      self->width = width;
      self->height = height;
    }
  else
    self->width = self->height = 0;
  self->pixel_size_nm = pixel_size_nm;
  if (size_changed)
    {
      self->fit = TRUE;
      kiln_image_view_auto_levels (self);
    }
  else
    rebuild_textures (self);
}

void
kiln_image_view_set_compare (KilnImageView *self,
                             const float   *data)
{
  g_return_if_fail (KILN_IS_IMAGE_VIEW (self));
  g_clear_pointer (&self->compare, g_free);
  if (data != NULL && self->data != NULL)
    self->compare = g_memdup2 (data, sizeof (float) * self->width * self->height);
  rebuild_textures (self);
}

void
kiln_image_view_set_split (KilnImageView *self,
                           double         fraction)
{
  self->split = CLAMP (fraction, 0.0, 1.0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kiln_image_view_set_levels (KilnImageView *self,
                            double         black,
                            double         white)
{
  self->black = black;
  self->white = white;
  rebuild_textures (self);
}

void
kiln_image_view_get_levels (KilnImageView *self,
                            double        *black,
                            double        *white)
{
  *black = self->black;
  *white = self->white;
}

static int
cmp_float (gconstpointer a,
           gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

void
kiln_image_view_auto_levels (KilnImageView *self)
{
  gsize n = (gsize) self->width * self->height, m = 0, step;
  g_autofree float *sample = NULL;

  if (self->data == NULL || n == 0)
    {
      rebuild_textures (self);
      return;
    }
  step = MAX (1, n / 65536);
  sample = g_new (float, n / step + 1);
  for (gsize i = 0; i < n; i += step)
    if (isfinite (self->data[i]))
      sample[m++] = self->data[i];
  if (m > 0)
    {
      qsort (sample, m, sizeof (float), cmp_float);
      self->black = sample[(gsize) (0.005 * (m - 1))];
      self->white = sample[(gsize) (0.995 * (m - 1))];
      if (self->white <= self->black)
        self->white = self->black + 1.0;
    }
  rebuild_textures (self);
}

void
kiln_image_view_zoom_to_fit (KilnImageView *self)
{
  self->fit = TRUE;
  apply_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
kiln_image_view_get_zoom (KilnImageView *self)
{
  return self->zoom;
}

void
kiln_image_view_set_zoom (KilnImageView *self,
                          double         zoom)
{
  zoom_at (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
kiln_image_view_set_labels (KilnImageView *self,
                            const guint32 *labels)
{
  g_clear_pointer (&self->labels, g_free);
  g_clear_object (&self->label_texture);
  if (labels != NULL && self->data != NULL)
    self->labels = g_memdup2 (labels, sizeof (guint32) * self->width * self->height);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kiln_image_view_set_axis (KilnImageView *self,
                          gboolean       visible,
                          double         angle_deg,
                          double         shift_px)
{
  self->axis_visible = visible;
  self->axis_angle = angle_deg;
  self->axis_shift = shift_px;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kiln_image_view_set_roi (KilnImageView *self,
                         gboolean       visible,
                         int            x,
                         int            y,
                         int            width,
                         int            height)
{
  self->roi_visible = visible;
  self->roi[0] = x;
  self->roi[1] = y;
  self->roi[2] = width;
  self->roi[3] = height;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
kiln_image_view_get_readout (KilnImageView *self)
{
  return self->readout;
}

void
kiln_image_view_set_outline (KilnImageView *self,
                             const guint32 *labels)
{
  g_return_if_fail (KILN_IS_IMAGE_VIEW (self));
  g_clear_pointer (&self->outline, g_free);
  g_clear_object (&self->outline_texture);
  if (labels != NULL && self->width > 0)
    self->outline = g_memdup2 (labels, sizeof (guint32) * self->width * self->height);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kiln_image_view_set_drag_moves_image (KilnImageView *self,
                                      gboolean       moves)
{
  g_return_if_fail (KILN_IS_IMAGE_VIEW (self));
  self->drag_moves_image = moves;
}
