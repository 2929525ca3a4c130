/* test-analyze-panel.c — the Analyze step on the simulated experiment: a pair formed as by two
 * clicks is measured at every time point, agrees with the simulator's truth, and exports CSV.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <math.h>

#include "kiln-analyze-panel.h"
#include "kiln-app-test-util.h"
#include "kiln-document.h"
#include "kiln-volume-view.h"
#include "kiln-test-util.h"

static gboolean opened;

static void
on_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (kiln_document_open_finish (KILN_DOCUMENT (source), result, &error));
  g_assert_no_error (error);
  opened = TRUE;
}

static void
wait_until (gboolean (*done) (gpointer), gpointer data, guint timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!done (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done (data));
}

static gboolean
is_opened (gpointer data)
{
  return opened;
}

static gboolean
panel_idle (gpointer data)
{
  return kiln_analyze_panel_is_idle (KILN_ANALYZE_PANEL (data));
}

static GtkWidget *
find_widget (GtkWidget *root,
             GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_widget (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
not_exporting (gpointer data)
{
  return !kiln_analyze_panel_is_exporting (KILN_ANALYZE_PANEL (data));
}

static void
test_pair_series (void)
{
  g_autofree char *dir = kiln_test_tmpfile ("demo");
  g_autofree char *csv_path = kiln_test_tmpfile ("pairs.csv");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnDocument) doc = kiln_document_new ();
  g_autoptr(GFile) file = NULL;
  g_autoptr(GPtrArray) truth = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  KilnSimParams params;
  GtkWidget *window, *panel;
  guint n_tp, checked = 0;

  kiln_sim_params_init (&params, KILN_SIM_PRESET_TEACHING);
  params.n_time_points = 3;
  g_assert_true (kiln_sim_write_experiment (&params, dir, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  file = g_file_new_for_path (dir);
  kiln_document_open_async (doc, file, NULL, NULL, NULL, on_opened, NULL);
  wait_until (is_opened, NULL, 60);
  n_tp = kiln_document_get_n_time_points (doc);
  g_assert_cmpuint (n_tp, ==, 3);

  window = gtk_window_new ();
  panel = kiln_analyze_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_present (GTK_WINDOW (window));
  kiln_analyze_panel_set_document (KILN_ANALYZE_PANEL (panel), doc);

  /* the last time point's truth pairs: measure the first one over time */
  {
    g_autofree char *path = g_build_filename (dir, "tp03", "truth", "pairs.csv", NULL);
    truth = kiln_csv_load (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (truth->len, >=, 2);
  }
  {
    char **head = g_ptr_array_index (truth, 0);
    char **row = g_ptr_array_index (truth, 1);
    guint32 a = 0, b = 0;
    double r_n = NAN, neck3d = NAN, d = NAN, r_p = NAN;
    double voxel = params.pixel_size_nm;

    for (guint c = 0; head[c] != NULL; c++)
      {
        if (g_str_equal (head[c], "a")) a = (guint32) atoi (row[c]);
        if (g_str_equal (head[c], "b")) b = (guint32) atoi (row[c]);
        if (g_str_equal (head[c], "r_n_nm")) r_n = g_ascii_strtod (row[c], NULL);
        if (g_str_equal (head[c], "neck_radius_3d_nm")) neck3d = g_ascii_strtod (row[c], NULL);
        if (g_str_equal (head[c], "d_nm")) d = g_ascii_strtod (row[c], NULL);
        if (g_str_equal (head[c], "r_p_nm")) r_p = g_ascii_strtod (row[c], NULL);
      }
    g_assert_cmpuint (a, >, 0);
    g_assert_cmpuint (kiln_analyze_panel_add_pair (KILN_ANALYZE_PANEL (panel), b, a), ==, 0);
    g_assert_cmpuint (kiln_analyze_panel_get_n_pairs (KILN_ANALYZE_PANEL (panel)), ==, 1);
    wait_until (panel_idle, panel, 120);

    /* The panel measures the noise-free truth labels, so its values are the core's
     * measurements of the truth (tested against the analytic values in the core's own tests);
     * here: within 1 voxel for lengths (the tolerance for noise-free truth volumes),
     * 0.5 voxel for r_p. */
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_R_N) - r_n), <=, voxel);
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_NECK_RADIUS_3D) - neck3d), <=, voxel);
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_D) - d), <=, voxel);
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_R_P) - r_p), <=, 0.5 * voxel);
    /* a value for every time point at which both particles exist */
    for (guint t = 0; t < n_tp; t++)
      if (isfinite (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 0, t, KILN_MEASURE_D)))
        checked++;
    g_assert_cmpuint (checked, ==, n_tp);

    /* teaching overlay: the truth of the same pair is read from the truth table (the same
     * text, so equal up to the parsing: 1e-9 nm), shown in the readout with the error, and
     * drawn as a curve per pair in the plots while the toggle is on */
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_truth (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_R_N) - r_n), <=, 1e-9);
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_truth (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_D) - d), <=, 1e-9);
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_truth (KILN_ANALYZE_PANEL (panel), 0, 2, KILN_MEASURE_R_P) - r_p), <=, 1e-9);
    g_assert_nonnull (strstr (kiln_analyze_panel_get_readout (KILN_ANALYZE_PANEL (panel)), "Truth"));
    g_assert_cmpuint (kiln_plot_get_n_series (kiln_analyze_panel_get_plot (KILN_ANALYZE_PANEL (panel), 0)), ==, 2);
    kiln_analyze_panel_set_show_truth (KILN_ANALYZE_PANEL (panel), FALSE);
    g_assert_cmpuint (kiln_plot_get_n_series (kiln_analyze_panel_get_plot (KILN_ANALYZE_PANEL (panel), 0)), ==, 1);
    g_assert_null (strstr (kiln_analyze_panel_get_readout (KILN_ANALYZE_PANEL (panel)), "Truth"));
    kiln_analyze_panel_set_show_truth (KILN_ANALYZE_PANEL (panel), TRUE);
    g_assert_cmpuint (kiln_plot_get_n_series (kiln_analyze_panel_get_plot (KILN_ANALYZE_PANEL (panel), 0)), ==, 2);
  }

  /* two clicks (picks) on particles form a second pair whose measures equal the core's */
  {
    GtkWidget *view = find_widget (panel, KILN_TYPE_VOLUME_VIEW);
    char **row = g_ptr_array_index (truth, 2);
    char **head = g_ptr_array_index (truth, 0);
    guint32 a = 0, b = 0;
    g_autofree char *lpath = kiln_document_dup_labels_path (doc, n_tp - 1);
    g_autoptr(KilnLabelVolume) labels = kiln_mrc_load_labels (lpath, NULL, &error);
    KilnPairMeasure m;

    g_assert_nonnull (view);
    g_assert_no_error (error);
    for (guint c = 0; head[c] != NULL; c++)
      {
        if (g_str_equal (head[c], "a")) a = (guint32) atoi (row[c]);
        if (g_str_equal (head[c], "b")) b = (guint32) atoi (row[c]);
      }
    g_signal_emit_by_name (view, "label-picked", a);
    g_assert_cmpuint (kiln_analyze_panel_get_n_pairs (KILN_ANALYZE_PANEL (panel)), ==, 1);
    g_signal_emit_by_name (view, "label-picked", b);
    g_assert_cmpuint (kiln_analyze_panel_get_n_pairs (KILN_ANALYZE_PANEL (panel)), ==, 2);
    wait_until (panel_idle, panel, 120);
    g_assert_true (kiln_measure_pair (labels, NULL, MIN (a, b), MAX (a, b), &m, &error));
    for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
      g_assert_cmpfloat (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 1, n_tp - 1, k), ==, m.value[k]);
  }

  app_test_screenshot (panel, "analyze");

  /* the 3D view as PNG, and a time-lapse of one frame per time point */
  {
    g_autofree char *png = kiln_test_tmpfile ("view.png");
    g_autofree char *frames = kiln_test_tmpfile ("frames");
    g_autoptr(GdkTexture) tex = NULL;

    if (kiln_analyze_panel_save_view_png (KILN_ANALYZE_PANEL (panel), png, &error))
      {
        tex = gdk_texture_new_from_filename (png, &error);
        g_assert_no_error (error);
        g_assert_cmpint (gdk_texture_get_width (tex), >, 0);

        g_mkdir (frames, 0755);
        kiln_analyze_panel_export_timelapse (KILN_ANALYZE_PANEL (panel), frames);
        wait_until (not_exporting, panel, 120);
        for (guint t = 1; t <= n_tp; t++)
          {
            g_autofree char *name = g_strdup_printf ("frame-%03u.png", t);
            g_autofree char *f = g_build_filename (frames, name, NULL);
            g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
          }
      }
    else
      {
        /* no OpenGL here: the export says so */
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
        g_clear_error (&error);
      }
  }

  g_assert_true (kiln_analyze_panel_export_csv (KILN_ANALYZE_PANEL (panel), csv_path, &error));
  g_assert_no_error (error);
  rows = kiln_csv_load (csv_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 1 + 2 * n_tp);
  {
    char **head = g_ptr_array_index (rows, 0);
    g_assert_cmpstr (head[1], ==, "pt_time_s");
    g_assert_cmpstr (head[2], ==, "temperature_C");
    g_assert_cmpstr (head[6], ==, "r_n_nm");
    g_assert_cmpstr (((char **) g_ptr_array_index (rows, 1))[3], ==, "P1");
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

static guint32
csv_uint (char **head, char **row, const char *name)
{
  for (guint c = 0; head[c] != NULL; c++)
    if (g_str_equal (head[c], name))
      return (guint32) atoi (row[c]);
  return 0;
}

static double
csv_double (char **head, char **row, const char *name)
{
  for (guint c = 0; head[c] != NULL; c++)
    if (g_str_equal (head[c], name))
      return g_ascii_strtod (row[c], NULL);
  return NAN;
}

/* Segmentation labels are numbered afresh at every time point: here the second time point's
 * labels are the truth's in reverse order (l → max + 1 − l). The tracking gives every particle
 * the id it has at the first time point, so it keeps its id and colour in the view, a pair
 * formed by ids is measured on the right labels at each time point, and the truth overlay
 * still finds the pair (by overlap with the truth labels). */
static void
test_tracked_ids (void)
{
  g_autofree char *dir = kiln_test_tmpfile ("demo-track");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnDocument) doc = kiln_document_new ();
  g_autoptr(GFile) file = NULL;
  g_autoptr(KilnLabelVolume) truth1 = NULL;
  g_autoptr(KilnLabelVolume) perm = NULL;
  g_autoptr(KilnVolume) vol1 = NULL;
  g_autoptr(GPtrArray) pairs1 = NULL;
  KilnSimParams params;
  GtkWidget *window, *panel, *view;
  guint32 max, a, b;
  guint present = 0;

  kiln_sim_params_init (&params, KILN_SIM_PRESET_TEACHING);
  params.n_time_points = 2;
  g_assert_true (kiln_sim_write_experiment (&params, dir, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  opened = FALSE;
  file = g_file_new_for_path (dir);
  kiln_document_open_async (doc, file, NULL, NULL, NULL, on_opened, NULL);
  wait_until (is_opened, NULL, 60);

  {
    g_autofree char *lp = g_build_filename (dir, "tp02", "truth", "labels.mrc", NULL);
    g_autofree char *vp = g_build_filename (dir, "tp02", "truth", "volume.mrc", NULL);
    g_autofree char *pp = g_build_filename (dir, "tp02", "truth", "pairs.csv", NULL);
    truth1 = kiln_mrc_load_labels (lp, NULL, &error);
    g_assert_no_error (error);
    vol1 = kiln_mrc_load_volume (vp, NULL, &error);
    g_assert_no_error (error);
    pairs1 = kiln_csv_load (pp, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (pairs1->len, >=, 2);
  }
  max = kiln_label_volume_max_label (truth1);
  g_assert_cmpuint (max, >=, 3);
  perm = kiln_label_volume_new (truth1->nx, truth1->ny, truth1->nz, NULL);
  perm->voxel_size_nm = truth1->voxel_size_nm;
  for (gsize i = 0; i < kiln_label_volume_n_voxels (truth1); i++)
    perm->data[i] = truth1->data[i] ? max + 1 - truth1->data[i] : 0;
  kiln_document_set_reconstruction (doc, 1, vol1);
  kiln_document_set_labels (doc, 1, perm);

  window = gtk_window_new ();
  panel = kiln_analyze_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  kiln_analyze_panel_set_document (KILN_ANALYZE_PANEL (panel), doc);
  wait_until (panel_idle, panel, 120);

  /* every particle of the second time point gets back its first-time-point id (the truth
   * labels are stable over time, so that id is its truth label): exact */
  {
    g_autoptr(GArray) particles = kiln_label_particles (truth1);
    for (guint32 l = 1; l <= max; l++)
      if (g_array_index (particles, KilnParticle, l - 1).voxels > 0)
        {
          g_assert_cmpuint (kiln_analyze_panel_get_track_id (KILN_ANALYZE_PANEL (panel), 1, max + 1 - l), ==, l);
          g_assert_cmpuint (kiln_analyze_panel_get_track_id (KILN_ANALYZE_PANEL (panel), 0, l), ==, l);
          present++;
        }
    g_assert_cmpuint (present, >=, 3);
  }

  /* the view shows the second time point's labels under their tracked ids (same colour) */
  view = find_widget (panel, KILN_TYPE_VOLUME_VIEW);
  kiln_analyze_panel_set_time_point (KILN_ANALYZE_PANEL (panel), 1);
  {
    gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    while (kiln_volume_view_display_id (KILN_VOLUME_VIEW (view), max) != 1 && g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, TRUE);
    for (guint32 l = 1; l <= max; l++)
      g_assert_cmpuint (kiln_volume_view_display_id (KILN_VOLUME_VIEW (view), max + 1 - l), ==, l);
  }

  /* a pair formed by ids (the first truth pair) is measured on the permuted labels at the
   * second time point: exactly the core's measure of those labels */
  {
    char **head = g_ptr_array_index (pairs1, 0), **row = g_ptr_array_index (pairs1, 1);
    KilnPairMeasure m;

    a = csv_uint (head, row, "a");
    b = csv_uint (head, row, "b");
    g_assert_cmpuint (kiln_analyze_panel_add_pair (KILN_ANALYZE_PANEL (panel), a, b), ==, 0);
    wait_until (panel_idle, panel, 120);
    g_assert_true (kiln_measure_pair (perm, NULL, MIN (max + 1 - a, max + 1 - b), MAX (max + 1 - a, max + 1 - b), &m, &error));
    g_assert_no_error (error);
    for (int k = 0; k < KILN_MEASURE_N_VALUES; k++)
      if (isfinite (m.value[k]))
        g_assert_cmpfloat (kiln_analyze_panel_get_value (KILN_ANALYZE_PANEL (panel), 0, 1, k), ==, m.value[k]);
    /* the truth of the pair at the second time point, found through the overlap of the
     * permuted labels with the truth labels (same text: 1e-9 nm) */
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_truth (KILN_ANALYZE_PANEL (panel), 0, 1, KILN_MEASURE_R_N) -
                             csv_double (head, row, "r_n_nm")), <=, 1e-9);
    g_assert_cmpfloat (fabs (kiln_analyze_panel_get_truth (KILN_ANALYZE_PANEL (panel), 0, 1, KILN_MEASURE_D) -
                             csv_double (head, row, "d_nm")), <=, 1e-9);
  }

  /* look at it: build/tests/screenshot-analyze-truth.png (pair selected, truth overlay on) */
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  app_test_screenshot (panel, "analyze-truth");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 77;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/analyze-panel/pair-series", test_pair_series);
  g_test_add_func ("/app/analyze-panel/tracked-ids", test_tracked_ids);
  return g_test_run ();
}
