/* test-segment-panel.c — the Segment step on a simulated experiment: Otsu segmentation of the
 * (noise-free) truth volume given as the reconstruction finds the simulator's particles, a
 * manual threshold changes the result live, and the labels feed the Analyze step through the
 * document (load_volume prefers reconstruction + labels; the saved labels path).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "kiln-app-test-util.h"
#include "kiln-segment-panel.h"

static gboolean
panel_idle (gpointer data)
{
  return kiln_segment_panel_is_idle (KILN_SEGMENT_PANEL (data));
}

static void
on_volume (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GError) error = NULL;
  KilnVolumePair **out = data;

  *out = kiln_document_load_volume_finish (KILN_DOCUMENT (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
have_pair (gpointer data)
{
  return *(KilnVolumePair **) data != NULL;
}

static guint64
foreground (const KilnLabelVolume *l)
{
  guint64 n = 0;

  for (gsize i = 0; i < kiln_label_volume_n_voxels (l); i++)
    n += l->data[i] != 0;
  return n;
}

static void
test_segment (void)
{
  g_autofree char *dir = app_test_simulate ("segment-demo", 2, NULL);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autofree char *vpath = g_build_filename (dir, "tp01", "truth", "volume.mrc", NULL);
  g_autofree char *lpath = g_build_filename (dir, "tp01", "truth", "labels.mrc", NULL);
  g_autoptr(KilnVolume) truth = NULL;
  g_autoptr(KilnLabelVolume) truth_labels = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolumePair) pair = NULL;
  KilnLabelVolume *labels;
  KilnSegmentParams p;
  GtkWidget *window, *panel;
  guint64 both = 0, fg_truth = 0, fg_otsu;
  double dice, otsu;

  truth = kiln_mrc_load_volume (vpath, NULL, &error);
  g_assert_no_error (error);
  truth_labels = kiln_mrc_load_labels (lpath, NULL, &error);
  g_assert_no_error (error);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  panel = kiln_segment_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  kiln_segment_panel_set_document (KILN_SEGMENT_PANEL (panel), doc);
  /* a perfect reconstruction: the truth volume */
  kiln_document_set_reconstruction (doc, 0, truth);
  app_test_wait (panel_idle, panel, 60);

  labels = kiln_document_get_labels (doc, 0);
  g_assert_nonnull (labels);
  g_test_message ("Otsu %.4g: %u labels; truth %u labels", kiln_segment_panel_get_threshold (KILN_SEGMENT_PANEL (panel)),
                  kiln_segment_panel_get_n_labels (KILN_SEGMENT_PANEL (panel)),
                  kiln_label_volume_max_label (truth_labels));
  /* the label count equals the simulator's particle count */
  g_assert_cmpuint (kiln_segment_panel_get_n_labels (KILN_SEGMENT_PANEL (panel)), ==,
                    kiln_label_volume_max_label (truth_labels));
  g_assert_cmpuint (kiln_label_volume_max_label (labels), ==, kiln_label_volume_max_label (truth_labels));
  /* and the particle voxels agree (Dice ≥ 0.9 on a noise-free volume) */
  for (gsize i = 0; i < kiln_label_volume_n_voxels (labels); i++)
    {
      both += labels->data[i] != 0 && truth_labels->data[i] != 0;
      fg_truth += truth_labels->data[i] != 0;
    }
  fg_otsu = foreground (labels);
  dice = 2.0 * both / (fg_otsu + fg_truth);
  g_test_message ("Dice with the truth labels %.3f", dice);
  g_assert_cmpfloat (dice, >=, 0.9);

  /* teaching: the true labels' outlines with the same Dice (to rounding) and no count error */
  kiln_segment_panel_set_show_truth (KILN_SEGMENT_PANEL (panel), TRUE);
  {
    double d;
    int count_error = 99;

    g_assert_true (kiln_segment_panel_get_truth_error (KILN_SEGMENT_PANEL (panel), &d, &count_error));
    g_assert_cmpfloat (fabs (d - dice), <, 1e-9);
    g_assert_cmpint (count_error, ==, 0);
  }
  app_test_screenshot (panel, "segment");

  /* all time points: the second time point's truth volume as its reconstruction gets its own
   * labels, as many as the simulator made */
  {
    g_autofree char *v2 = g_build_filename (dir, "tp02", "truth", "volume.mrc", NULL);
    g_autofree char *l2 = g_build_filename (dir, "tp02", "truth", "labels.mrc", NULL);
    g_autoptr(KilnVolume) truth2 = kiln_mrc_load_volume (v2, NULL, &error);
    g_autoptr(KilnLabelVolume) labels2 = kiln_mrc_load_labels (l2, NULL, &error);

    g_assert_no_error (error);
    kiln_document_set_reconstruction (doc, 1, truth2);
    g_assert_null (kiln_document_get_labels (doc, 1));
    g_assert_true (gtk_widget_activate_action (panel, "segment.run-all", NULL));
    app_test_wait (panel_idle, panel, 60);
    g_assert_nonnull (kiln_document_get_labels (doc, 1));
    g_assert_true (kiln_document_has_result (doc, 1, KILN_DOC_STEP_SEGMENT));
    g_assert_cmpuint (kiln_label_volume_max_label (kiln_document_get_labels (doc, 1)), ==,
                      kiln_label_volume_max_label (labels2));
  }

  /* a manual threshold above Otsu's: fewer particle voxels, recomputed live */
  otsu = kiln_segment_panel_get_threshold (KILN_SEGMENT_PANEL (panel));
  kiln_segment_panel_get_params (KILN_SEGMENT_PANEL (panel), &p);
  p.otsu = FALSE;
  p.threshold = 1.5 * otsu;
  kiln_segment_panel_set_params (KILN_SEGMENT_PANEL (panel), &p);
  app_test_wait (panel_idle, panel, 60);
  g_assert_cmpfloat (fabs (kiln_segment_panel_get_threshold (KILN_SEGMENT_PANEL (panel)) - p.threshold), <, 1e-9);
  g_assert_cmpuint (foreground (kiln_document_get_labels (doc, 0)), <, fg_otsu);
  g_assert_false (json_object_get_boolean_member (kiln_document_get_step_params (doc, KILN_DOC_STEP_SEGMENT), "otsu"));

  /* the Analyze step gets the reconstruction and these labels */
  kiln_document_load_volume_async (doc, 0, NULL, on_volume, &pair);
  app_test_wait (have_pair, &pair, 30);
  g_assert_true (pair->volume == truth);
  g_assert_true (pair->labels == kiln_document_get_labels (doc, 0));
  /* after saving, the labels path is the saved segmentation */
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  {
    g_autofree char *path = kiln_document_dup_labels_path (doc, 0);
    g_autoptr(KilnLabelVolume) back = kiln_mrc_load_labels (path, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_suffix (path, "tp01/labels.mrc"));   /* the pipeline layout */
    g_assert_cmpuint (kiln_label_volume_max_label (back), ==,
                      kiln_label_volume_max_label (kiln_document_get_labels (doc, 0)));
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  /* no accessibility bus: under a loaded xvfb-run it can vanish and GTK then logs a critical */
  g_setenv ("GTK_A11Y", "none", TRUE);
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 77;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/segment-panel/segment", test_segment);
  return g_test_run ();
}
