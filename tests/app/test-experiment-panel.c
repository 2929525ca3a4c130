/* test-experiment-panel.c — the Experiment step: tilt series imported as time points (natural
 * file-name order or acquisition time), sibling .tlt angles, the time-point table's entries
 * (PT time, temperature, pixel size) going through undo/redo, the validation messages (angle
 * count ≠ tilt count, missing angles, non-monotonic times, missing pixel size), the angle preview,
 * and Save As writing an experiment folder that reopens with the edited values.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <utime.h>

#include "kiln-app-test-util.h"
#include "kiln-experiment-panel.h"

#define N_TILTS 5

/* A small series whose pixels encode @id (so the time points can be told apart). */
static void
write_series (const char *path,
              float       id,
              double      pixel_size_nm)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageStack) s = kiln_image_stack_new (N_TILTS, 16, 12, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < kiln_image_stack_n_pixels (s); i++)
    s->data[i] = id + (float) (i % 7);
  s->pixel_size_nm = pixel_size_nm;
  g_assert_true (kiln_mrc_save_stack (s, path, "test", &error));
  g_assert_no_error (error);
}

static void
write_tlt (const char *path,
           guint       n,
           double      step)
{
  g_autofree double *a = g_new (double, n);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    a[i] = -step * (n - 1) / 2.0 + step * i;
  g_assert_true (kiln_tlt_save (path, a, n, &error));
  g_assert_no_error (error);
}

static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Type @text into the named entry and press Enter. */
static void
type_into (GtkWidget  *panel,
           const char *name,
           const char *text)
{
  GtkWidget *entry = find_named (panel, name);

  g_assert_nonnull (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  g_signal_emit_by_name (entry, "activate");
}

static char *
validation_text (KilnDocument *doc)
{
  g_auto(GStrv) messages = kiln_document_validate (doc);

  return g_strjoinv ("\n", messages);
}

typedef struct
{
  KilnDocument *doc;
  guint         n;
} WaitTp;

static gboolean
has_n_time_points (gpointer data)
{
  WaitTp *w = data;

  return kiln_document_get_n_time_points (w->doc) >= w->n;
}

static void
import_and_wait (KilnExperimentPanel *panel,
                 KilnDocument        *doc,
                 const char * const  *paths,
                 guint                n)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  WaitTp w = { doc, kiln_document_get_n_time_points (doc) + n };

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (files, g_file_new_for_path (paths[i]));
  kiln_experiment_panel_import_files (panel, (GFile **) files->pdata, n);
  app_test_wait (has_n_time_points, &w, 30);
}

static gboolean
is_allocated (gpointer widget)
{
  return gtk_widget_get_width (widget) > 0;
}

static const char *
tp_base (KilnDocument *doc,
         guint         i,
         char        **out)
{
  g_free (*out);
  *out = g_path_get_basename (kiln_document_get_time_point_path (doc, i));
  return *out;
}

static void
test_import_edit_validate (void)
{
  g_autofree char *dir = kiln_test_tmpfile ("exp-import");
  g_autofree char *s1 = g_build_filename (dir, "series1.mrc", NULL);
  g_autofree char *s2 = g_build_filename (dir, "series2.mrc", NULL);
  g_autofree char *s10 = g_build_filename (dir, "series10.mrc", NULL);
  g_autofree char *t2 = g_build_filename (dir, "series2.tlt", NULL);
  g_autofree char *t10 = g_build_filename (dir, "series10.tlt", NULL);
  g_autofree char *good10 = g_build_filename (dir, "fixed10.tlt", NULL);
  g_autofree char *saved = g_build_filename (dir, "saved-experiment", NULL);
  g_autofree char *text = NULL;
  g_autofree char *base = NULL;
  g_autoptr(KilnDocument) doc = kiln_document_new ();
  g_autoptr(KilnDocument) again = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { s10, s2, s1 };   /* deliberately not in order */
  GtkWidget *window, *panel;
  KilnImageStack *stack;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_series (s1, 100, 0.8);
  write_series (s2, 200, 0.8);
  write_series (s10, 1000, 0.8);
  write_tlt (t2, N_TILTS, 15);        /* −30 … +30° */
  write_tlt (t10, N_TILTS - 1, 15);   /* one angle short */
  write_tlt (good10, N_TILTS, 10);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  panel = kiln_experiment_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  kiln_experiment_panel_set_document (KILN_EXPERIMENT_PANEL (panel), doc);

  import_and_wait (KILN_EXPERIMENT_PANEL (panel), doc, paths, 3);
  g_assert_cmpuint (kiln_document_get_n_time_points (doc), ==, 3);
  /* natural order of the names: series1, series2, series10 */
  g_assert_cmpstr (tp_base (doc, 0, &base), ==, "series1.mrc");
  g_assert_cmpstr (tp_base (doc, 1, &base), ==, "series2.mrc");
  g_assert_cmpstr (tp_base (doc, 2, &base), ==, "series10.mrc");
  g_assert_nonnull (kiln_document_get_experiment (doc));
  g_assert_null (kiln_document_get_folder (doc));
  /* the pixel size comes from the MRC header; exact float round trip of 0.8 within 1e-6 nm */
  g_assert_cmpfloat_with_epsilon (kiln_document_get_pixel_size_nm (doc), 0.8, 1e-6);
  /* the sibling .tlt gave series2 its angles (exact values written above) */
  stack = kiln_document_get_stack (doc, 1);
  g_assert_nonnull (stack);
  g_assert_true (stack->has_angles);
  g_assert_cmpfloat_with_epsilon (stack->angles_deg[0], -30, 1e-9);
  g_assert_cmpfloat_with_epsilon (stack->angles_deg[4], 30, 1e-9);
  g_assert_cmpfloat (stack->data[0], ==, 200);

  text = validation_text (doc);
  g_assert_nonnull (strstr (text, "T1: the series has no tilt angles"));
  g_assert_nonnull (strstr (text, "has 4 angles but the series has 5 tilts"));
  g_assert_nonnull (strstr (text, "T1 has no PT time"));
  g_assert_null (strstr (text, "pixel size"));
  /* the panel shows them */
  {
    GtkWidget *label = find_named (panel, "validation");
    g_assert_nonnull (label);
    g_assert_true (gtk_widget_get_visible (label));
    g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (label)), "has 4 angles"));
  }

  /* edit the PT times through the table: 0, 60, 30 s → not increasing at T3 */
  type_into (panel, "time-0", "0");
  type_into (panel, "time-1", "60");
  type_into (panel, "time-2", "30");
  type_into (panel, "temperature-2", "415.5");
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 1), ==, 60);
  g_assert_cmpfloat (kiln_document_get_temperature_c (doc, 2), ==, 415.5);
  g_clear_pointer (&text, g_free);
  text = validation_text (doc);
  g_assert_nonnull (strstr (text, "PT times do not increase: T3 is at 30 s, after T2 at 60 s"));
  g_assert_null (strstr (text, "has no PT time"));
  /* not a number: refused, marked, nothing changes */
  type_into (panel, "time-2", "soon");
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 2), ==, 30);
  g_assert_true (gtk_widget_has_css_class (find_named (panel, "time-2"), "error"));
  /* emptied: nothing applied, the value shown again, not marked */
  type_into (panel, "time-1", "  ");
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 1), ==, 60);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (panel, "time-1"))), ==, "60");
  g_assert_false (gtk_widget_has_css_class (find_named (panel, "time-1"), "error"));

  /* undo the temperature and the last time, redo the time */
  g_assert_true (kiln_document_undo (doc));
  g_assert_true (isnan (kiln_document_get_temperature_c (doc, 2)));
  g_assert_true (kiln_document_undo (doc));
  g_assert_true (isnan (kiln_document_get_time_s (doc, 2)));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (panel, "time-2"))), ==, "");
  g_assert_true (kiln_document_redo (doc));
  g_assert_cmpfloat (kiln_document_get_time_s (doc, 2), ==, 30);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (panel, "time-2"))), ==, "30");
  type_into (panel, "time-2", "120");

  /* the pixel size, undoable; loaded stacks follow it */
  type_into (panel, "pixel-size", "1.25");
  g_assert_cmpfloat (kiln_document_get_pixel_size_nm (doc), ==, 1.25);
  g_assert_cmpfloat (kiln_document_get_stack (doc, 0)->pixel_size_nm, ==, 1.25);
  g_assert_true (kiln_document_undo (doc));
  g_assert_cmpfloat_with_epsilon (kiln_document_get_pixel_size_nm (doc), 0.8, 1e-6);
  g_assert_true (kiln_document_redo (doc));
  g_assert_cmpfloat (kiln_document_get_pixel_size_nm (doc), ==, 1.25);

  /* a fitting .tlt for series10 clears its message; undo brings the mismatch back */
  g_assert_true (kiln_document_set_angles_path (doc, 2, good10, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_document_get_stack (doc, 2)->has_angles);
  g_assert_cmpfloat_with_epsilon (kiln_document_get_stack (doc, 2)->angles_deg[0], -20, 1e-9);
  g_clear_pointer (&text, g_free);
  text = validation_text (doc);
  g_assert_null (strstr (text, "has 4 angles"));
  g_assert_true (kiln_document_undo (doc));
  g_clear_pointer (&text, g_free);
  text = validation_text (doc);
  g_assert_nonnull (strstr (text, "has 4 angles"));
  g_assert_true (kiln_document_redo (doc));
  /* an unreadable .tlt is an error naming it, nothing changes */
  g_assert_false (kiln_document_set_angles_path (doc, 0, "/nonexistent/x.tlt", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "x.tlt"));
  g_clear_error (&error);
  g_assert_null (kiln_document_get_angles_path (doc, 0));

  /* the angle preview of the shown time point */
  kiln_experiment_panel_set_time_point (KILN_EXPERIMENT_PANEL (panel), 1);
  {
    GtkWidget *title = find_named (panel, "angles-title");
    g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (title)), "series2.tlt"));
    g_assert_nonnull (find_named (panel, "angle-4"));
    g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (find_named (panel, "angle-4"))), ==, "+30.00");
  }
  app_test_wait (is_allocated, window, 10);
  app_test_screenshot (window, "experiment-panel");

  /* Save As writes a folder experiment that reopens with the edited values */
  g_assert_true (kiln_document_save_as (doc, saved, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_document_get_folder (doc), ==, saved);
  g_assert_cmpstr (kiln_document_get_title (doc), ==, "saved-experiment");
  again = app_test_open (saved);
  g_assert_cmpuint (kiln_document_get_n_time_points (again), ==, 3);
  g_assert_cmpfloat (kiln_document_get_pixel_size_nm (again), ==, 1.25);
  g_assert_cmpfloat (kiln_document_get_time_s (again, 1), ==, 60);
  g_assert_cmpfloat (kiln_document_get_time_s (again, 2), ==, 120);
  app_test_load_time_point (again, 2);
  stack = kiln_document_get_stack (again, 2);
  g_assert_cmpfloat (stack->data[0], ==, 1000);
  g_assert_true (stack->has_angles);
  g_assert_cmpfloat_with_epsilon (stack->angles_deg[4], 20, 1e-4);   /* .tlt text precision */

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_import_by_time (void)
{
  g_autofree char *dir = kiln_test_tmpfile ("exp-import-time");
  g_autofree char *a = g_build_filename (dir, "a.mrc", NULL);
  g_autofree char *b = g_build_filename (dir, "b.mrc", NULL);
  g_autofree char *base = NULL;
  g_autoptr(KilnDocument) doc = kiln_document_new ();
  g_autoptr(KilnDocument) single = NULL;
  const char *paths[] = { a, b };
  struct utimbuf early = { 1000000000, 1000000000 }, late = { 1000000600, 1000000600 };
  GtkWidget *panel = kiln_experiment_panel_new ();
  GtkDropDown *order;

  g_object_ref_sink (panel);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_series (a, 1, 0);   /* no pixel size in the header */
  write_series (b, 2, 0);
  /* no loader gives a series time here: the files' modification times order them, b first */
  g_assert_cmpint (utime (a, &late), ==, 0);
  g_assert_cmpint (utime (b, &early), ==, 0);
  kiln_experiment_panel_set_document (KILN_EXPERIMENT_PANEL (panel), doc);
  order = GTK_DROP_DOWN (find_named (panel, "import-order"));
  gtk_drop_down_set_selected (order, 1);
  import_and_wait (KILN_EXPERIMENT_PANEL (panel), doc, paths, 2);
  g_assert_cmpstr (tp_base (doc, 0, &base), ==, "b.mrc");
  g_assert_cmpstr (tp_base (doc, 1, &base), ==, "a.mrc");
  {
    g_autofree char *text = validation_text (doc);
    g_autoptr(GError) error = NULL;
    g_autofree char *out = g_build_filename (dir, "cannot-save", NULL);

    g_assert_nonnull (strstr (text, "pixel size is unknown"));
    /* saving without a pixel size is refused with a clear error */
    g_assert_false (kiln_document_save_as (doc, out, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "pixel size"));
  }

  /* a document holding one opened series becomes an experiment when series are added */
  single = app_test_open (a);
  g_assert_null (kiln_document_get_experiment (single));
  kiln_experiment_panel_set_document (KILN_EXPERIMENT_PANEL (panel), single);
  gtk_drop_down_set_selected (order, 0);
  import_and_wait (KILN_EXPERIMENT_PANEL (panel), single, paths + 1, 1);
  g_assert_cmpuint (kiln_document_get_n_time_points (single), ==, 2);
  g_assert_nonnull (kiln_document_get_experiment (single));
  g_assert_cmpstr (tp_base (single, 0, &base), ==, "a.mrc");
  g_assert_cmpstr (tp_base (single, 1, &base), ==, "b.mrc");
  g_assert_cmpfloat (kiln_document_get_stack (single, 1)->data[0], ==, 2);

  kiln_experiment_panel_set_document (KILN_EXPERIMENT_PANEL (panel), NULL);
  g_object_unref (panel);
}

/* Series added to an experiment folder are copied into it on save (experiment.json holds only
 * relative paths), and the folder reopens with them. */
static void
test_add_to_experiment (void)
{
  g_autofree char *dir = app_test_simulate ("exp-add", 1, NULL);
  g_autofree char *outside = kiln_test_tmpfile ("exp-add-outside.mrc");
  g_autofree char *copied = g_build_filename (dir, "tp02", "tilts.mrc", NULL);
  g_autoptr(KilnDocument) doc = app_test_open (dir);
  g_autoptr(KilnDocument) again = NULL;
  g_autoptr(KilnExperiment) e = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { outside };
  GtkWidget *panel = kiln_experiment_panel_new ();
  KilnExperimentTimePoint *etp;

  g_object_ref_sink (panel);
  write_series (outside, 7, 0);
  kiln_experiment_panel_set_document (KILN_EXPERIMENT_PANEL (panel), doc);
  import_and_wait (KILN_EXPERIMENT_PANEL (panel), doc, paths, 1);
  g_assert_cmpuint (kiln_document_get_n_time_points (doc), ==, 2);
  g_assert_true (kiln_document_set_time_s (doc, 1, 1e6));
  g_assert_true (kiln_document_save (doc, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (copied, G_FILE_TEST_IS_REGULAR));
  e = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  etp = g_ptr_array_index (e->time_points, 1);
  g_assert_cmpstr (etp->tilts, ==, "tp02/tilts.mrc");
  again = app_test_open (dir);
  g_assert_cmpuint (kiln_document_get_n_time_points (again), ==, 2);
  g_assert_cmpfloat (kiln_document_get_time_s (again, 1), ==, 1e6);
  app_test_load_time_point (again, 1);
  /* the copy holds the series' pixels (first pixel = 7 + 0) and got the experiment's pixel size */
  g_assert_cmpfloat (kiln_document_get_stack (again, 1)->data[0], ==, 7);
  g_assert_cmpfloat (kiln_document_get_stack (again, 1)->pixel_size_nm, ==,
                     kiln_document_get_pixel_size_nm (again));
  kiln_experiment_panel_set_document (KILN_EXPERIMENT_PANEL (panel), NULL);
  g_object_unref (panel);
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
  g_test_add_func ("/app/experiment-panel/import-edit-validate", test_import_edit_validate);
  g_test_add_func ("/app/experiment-panel/import-by-time", test_import_by_time);
  g_test_add_func ("/app/experiment-panel/add-to-experiment", test_add_to_experiment);
  return g_test_run ();
}
