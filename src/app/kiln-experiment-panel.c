/* kiln-experiment-panel.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-experiment-panel.h"
#include "kiln-image-view.h"

struct _KilnExperimentPanel
{
  GtkWidget       parent_instance;

  KilnImageStack *stack;
  guint           tilt;

  /* template children */
  GtkWidget      *box;
  KilnImageView  *view;
  GtkScale       *tilt_scale;
  GtkAdjustment  *tilt_adjustment;
  GtkLabel       *tilt_label;
  GtkLabel       *info_label;
  GtkLabel       *readout_label;
};

G_DEFINE_FINAL_TYPE (KilnExperimentPanel, kiln_experiment_panel, GTK_TYPE_WIDGET)

static void
update_tilt (KilnExperimentPanel *self)
{
  g_autofree char *text = NULL;

  if (self->stack == NULL)
    {
      kiln_image_view_set_image (self->view, NULL, 0, 0, 0);
      gtk_label_set_label (self->tilt_label, "");
      return;
    }
  kiln_image_view_set_image (self->view, kiln_image_stack_tilt_const (self->stack, self->tilt),
                             self->stack->width, self->stack->height, self->stack->pixel_size_nm);
  if (self->stack->has_angles)
    text = g_strdup_printf (_("Tilt %u of %u · %+.1f°"), self->tilt + 1, self->stack->n_tilts,
                            self->stack->angles_deg[self->tilt]);
  else
    text = g_strdup_printf (_("Tilt %u of %u · angle unknown"), self->tilt + 1, self->stack->n_tilts);
  gtk_label_set_label (self->tilt_label, text);
}

static void
on_tilt_changed (GtkAdjustment       *adjustment,
                 KilnExperimentPanel *self)
{
  guint t = (guint) lround (gtk_adjustment_get_value (adjustment));

  if (self->stack == NULL || t == self->tilt)
    return;
  self->tilt = MIN (t, self->stack->n_tilts - 1);
  update_tilt (self);
}

static void
on_readout (KilnImageView       *view,
            GParamSpec          *pspec,
            KilnExperimentPanel *self)
{
  gtk_label_set_label (self->readout_label, kiln_image_view_get_readout (view));
}

static void
kiln_experiment_panel_dispose (GObject *object)
{
  KilnExperimentPanel *self = KILN_EXPERIMENT_PANEL (object);

  g_clear_pointer (&self->stack, kiln_image_stack_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_EXPERIMENT_PANEL);
  G_OBJECT_CLASS (kiln_experiment_panel_parent_class)->dispose (object);
}

static void
kiln_experiment_panel_class_init (KilnExperimentPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_experiment_panel_dispose;

  g_type_ensure (KILN_TYPE_IMAGE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/kiln_tomo/Kiln/kiln-experiment-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, box);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, view);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tilt_scale);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tilt_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, tilt_label);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, info_label);
  gtk_widget_class_bind_template_child (widget_class, KilnExperimentPanel, readout_label);
  gtk_widget_class_bind_template_callback (widget_class, on_tilt_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_readout);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
kiln_experiment_panel_init (KilnExperimentPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
kiln_experiment_panel_new (void)
{
  return g_object_new (KILN_TYPE_EXPERIMENT_PANEL, NULL);
}

void
kiln_experiment_panel_set_stack (KilnExperimentPanel *self,
                                 KilnImageStack      *stack)
{
  g_autofree char *info = NULL;

  g_return_if_fail (KILN_IS_EXPERIMENT_PANEL (self));

  if (stack != NULL)
    kiln_image_stack_ref (stack);
  g_clear_pointer (&self->stack, kiln_image_stack_unref);
  self->stack = stack;

  if (stack == NULL)
    {
      gtk_label_set_label (self->info_label, "");
      update_tilt (self);
      return;
    }

  self->tilt = kiln_image_stack_zero_tilt (stack);
  if (stack->pixel_size_nm > 0)
    info = g_strdup_printf (_("%u tilts · %u × %u px · %.3g nm/px · field %.0f × %.0f nm"),
                            stack->n_tilts, stack->width, stack->height, stack->pixel_size_nm,
                            stack->width * stack->pixel_size_nm, stack->height * stack->pixel_size_nm);
  else
    info = g_strdup_printf (_("%u tilts · %u × %u px · pixel size unknown"),
                            stack->n_tilts, stack->width, stack->height);
  gtk_label_set_label (self->info_label, info);

  g_signal_handlers_block_by_func (self->tilt_adjustment, on_tilt_changed, self);
  gtk_adjustment_configure (self->tilt_adjustment, self->tilt, 0, stack->n_tilts - 1, 1, 5, 0);
  g_signal_handlers_unblock_by_func (self->tilt_adjustment, on_tilt_changed, self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->tilt_scale), stack->n_tilts > 1);
  update_tilt (self);
}

void
kiln_experiment_panel_set_tilt (KilnExperimentPanel *self,
                                guint                index)
{
  gtk_adjustment_set_value (self->tilt_adjustment, index);
}

guint
kiln_experiment_panel_get_tilt (KilnExperimentPanel *self)
{
  return self->tilt;
}
