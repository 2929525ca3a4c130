/* test-cli-simulate.c — kiln-cli simulate as a script would use it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-test-util.h"

static JsonObject *
parse_json (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (p, text, -1, &error));
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (p);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

/* The written folder holds exactly what the API computes for the same parameters: tilts
 * (bit-identical floats), nominal angles, drift (.xf within its 1e-6 px text precision),
 * labels (identical), particle and pair tables (CSV %.6g precision: relative 1e-5). */
static void
test_simulate_folder (void)
{
  g_autofree char *dir = kiln_test_tmpfile ("exp-a");
  g_autofree char *out = NULL, *err = NULL;
  int rc = kiln_test_run_cli (&out, &err, "simulate", dir, "--preset", "teaching", "--seed", "3",
                              "--time-points", "2", "--json", NULL);
  g_assert_cmpint (rc, ==, 0);
  g_autoptr (JsonObject) o = parse_json (out);
  g_assert_cmpint (json_object_get_int_member (o, "tilts"), ==, 41);
  g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 128);
  g_assert_cmpint (json_object_get_int_member (o, "seed"), ==, 3);
  g_assert_cmpfloat (json_object_get_double_member (o, "pixel_size_nm"), ==, 4.0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "time_points")), ==, 2);

  g_autoptr (GError) error = NULL;
  g_autoptr (KilnExperiment) exp = kiln_experiment_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (exp->time_points->len, ==, 2);
  g_assert_cmpfloat (exp->pixel_size_nm, ==, 4.0);
  g_assert_nonnull (exp->simulation);
  g_assert_cmpstr (exp->reference_average, ==, "reference/average50.tif");

  KilnSimParams p;
  kiln_sim_params_init (&p, KILN_SIM_PRESET_TEACHING);
  p.seed = 3;
  p.n_time_points = 2;
  for (guint tp = 0; tp < 2; tp++)
    {
      KilnExperimentTimePoint *t = g_ptr_array_index (exp->time_points, tp);
      g_autoptr (KilnSimTimePoint) s = kiln_sim_time_point_new (&p, tp, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (t->time_s, ==, s->time_s);
      g_assert_cmpfloat (t->temperature_c, ==, s->temperature_c);

      g_autofree char *f_tilts = kiln_experiment_path (exp, t->tilts);
      g_autoptr (KilnImageStack) st = kiln_mrc_load_stack (f_tilts, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (st->n_tilts, ==, 41);
      g_assert_cmpfloat (fabs (st->pixel_size_nm - 4.0), <, 1e-4);
      g_assert_cmpmem (st->data, kiln_image_stack_n_pixels (st) * 4, s->tilts->data,
                       kiln_image_stack_n_pixels (s->tilts) * 4);

      g_autofree char *f_tlt = kiln_experiment_path (exp, t->angles);
      guint na;
      g_autofree double *ang = kiln_tlt_load (f_tlt, &na, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (na, ==, 41);
      for (guint k = 0; k < na; k++)
        g_assert_cmpfloat (fabs (ang[k] - (-40.0 + 2 * k)), <, 1e-6);

      g_autofree char *truth = kiln_experiment_path (exp, t->truth);
      g_autofree char *f_xf = g_build_filename (truth, "drift.xf", NULL);
      guint nx;
      g_autofree KilnXf *xf = kiln_xf_load (f_xf, &nx, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (nx, ==, 41);
      for (guint k = 0; k < nx; k++)
        {
          g_assert_cmpfloat (fabs (xf[k].dx - s->drift[k].dx), <, 1e-5);
          g_assert_cmpfloat (fabs (xf[k].dy - s->drift[k].dy), <, 1e-5);
          g_assert_cmpfloat (xf[k].a11, ==, 1);
        }

      g_autofree char *f_lab = g_build_filename (truth, "labels.mrc", NULL);
      g_autoptr (KilnLabelVolume) lab = kiln_mrc_load_labels (f_lab, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (lab->data, kiln_label_volume_n_voxels (lab) * 4, s->labels->data,
                       kiln_label_volume_n_voxels (s->labels) * 4);
      g_autofree char *f_vol = g_build_filename (truth, "volume.mrc", NULL);
      g_autoptr (KilnVolume) vol = kiln_mrc_load_volume (f_vol, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (vol->data, kiln_volume_n_voxels (vol) * 4, s->volume->data,
                       kiln_volume_n_voxels (s->volume) * 4);

      g_autofree char *f_pc = g_build_filename (truth, "particles.csv", NULL);
      g_autoptr (GPtrArray) rows = kiln_csv_load (f_pc, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (rows->len, ==, s->n_particles + 1);
      GStrv head = g_ptr_array_index (rows, 0);
      g_assert_cmpstr (head[6], ==, "radius_nm");
      for (guint i = 0; i < s->n_particles; i++)
        {
          GStrv r = g_ptr_array_index (rows, i + 1);
          g_assert_cmpfloat (g_ascii_strtod (r[2], NULL), ==, s->particles[i].label);
          double rad = g_ascii_strtod (r[6], NULL);
          g_assert_cmpfloat (fabs (rad - s->particles[i].radius_nm) / rad, <, 1e-5);
        }
      g_autofree char *f_qc = g_build_filename (truth, "pairs.csv", NULL);
      g_autoptr (GPtrArray) q = kiln_csv_load (f_qc, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (q->len, ==, s->n_pairs + 1);
      GStrv qh = g_ptr_array_index (q, 0);
      g_assert_cmpstr (qh[4], ==, "r_n_nm");
      g_assert_cmpstr (qh[10], ==, "neck_radius_3d_nm");
      for (guint i = 0; i < s->n_pairs; i++)
        {
          GStrv r = g_ptr_array_index (q, i + 1);
          double rn3 = g_ascii_strtod (r[10], NULL);
          g_assert_cmpfloat (fabs (rn3 - s->pairs[i].neck_radius_3d_nm), <=,
                             1e-5 * MAX (1.0, rn3));
        }

      g_autofree char *f_ax = g_build_filename (truth, "axis.json", NULL);
      g_autofree char *ax_text = NULL;
      g_assert_true (g_file_get_contents (f_ax, &ax_text, NULL, NULL));
      g_autoptr (JsonObject) ax = parse_json (ax_text);
      g_assert_cmpfloat (json_object_get_double_member (ax, "axis_angle_deg"), ==, p.axis_angle_deg);
      g_assert_cmpfloat (json_object_get_double_member (ax, "axis_shift_px"), ==, p.axis_shift_px);
    }
  g_autofree char *f_raw = kiln_experiment_path (exp, exp->reference_raw);
  g_autofree char *f_avg = kiln_experiment_path (exp, exp->reference_average);
  g_autoptr (KilnImageStack) raw = kiln_tiff_load_stack (f_raw, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (KilnImageStack) avg = kiln_tiff_load_stack (f_avg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (raw->width, ==, 128);
  g_assert_cmpuint (avg->n_tilts, ==, 1);
}

/* Same seed → the same files (loaded data identical); different seed → different. */
static void
test_simulate_deterministic (void)
{
  g_autofree char *d1 = kiln_test_tmpfile ("exp-d1");
  g_autofree char *d2 = kiln_test_tmpfile ("exp-d2");
  g_autofree char *d3 = kiln_test_tmpfile ("exp-d3");
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL;
  g_assert_cmpint (kiln_test_run_cli (&o1, NULL, "simulate", d1, "--time-points", "1", "--seed",
                                      "9", "--size", "64", "--no-truth-volumes", NULL), ==, 0);
  g_assert_cmpint (kiln_test_run_cli (&o2, NULL, "simulate", d2, "--time-points", "1", "--seed",
                                      "9", "--size", "64", "--no-truth-volumes", NULL), ==, 0);
  g_assert_cmpint (kiln_test_run_cli (&o3, NULL, "simulate", d3, "--time-points", "1", "--seed",
                                      "10", "--size", "64", "--no-truth-volumes", NULL), ==, 0);
  g_autofree char *f1 = g_build_filename (d1, "tp01", "tilts.mrc", NULL);
  g_autofree char *f2 = g_build_filename (d2, "tp01", "tilts.mrc", NULL);
  g_autofree char *f3 = g_build_filename (d3, "tp01", "tilts.mrc", NULL);
  g_autoptr (KilnImageStack) a = kiln_mrc_load_stack (f1, NULL, NULL);
  g_autoptr (KilnImageStack) b = kiln_mrc_load_stack (f2, NULL, NULL);
  g_autoptr (KilnImageStack) c = kiln_mrc_load_stack (f3, NULL, NULL);
  g_assert_nonnull (a);
  g_assert_nonnull (c);
  g_assert_cmpuint (a->width, ==, 64);
  /* --size keeps the field of view: 128 px × 4 nm = 64 px × 8 nm */
  g_assert_cmpfloat (fabs (a->pixel_size_nm - 8.0), <, 1e-4);
  gsize n = kiln_image_stack_n_pixels (a) * 4;
  g_assert_cmpmem (a->data, n, b->data, n);
  g_assert_true (memcmp (a->data, c->data, n) != 0);
  g_autofree char *vol = g_build_filename (d1, "tp01", "truth", "volume.mrc", NULL);
  g_assert_false (g_file_test (vol, G_FILE_TEST_EXISTS));
}

static void
expect_fail (int         want_rc,
             const char *want_in_err,
             const char *dir,
             ...)
{
  const char *args[16];
  va_list ap;
  guint n = 0;
  va_start (ap, dir);
  for (const char *a = va_arg (ap, const char *); a != NULL && n < 12; a = va_arg (ap, const char *))
    args[n++] = a;
  va_end (ap);
  while (n < 12)
    args[n++] = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;
  int rc = kiln_test_run_cli (&out, &err, "simulate", dir, args[0], args[1], args[2], args[3],
                              args[4], args[5], NULL);
  g_assert_cmpint (rc, ==, want_rc);
  g_assert_nonnull (strstr (err, want_in_err));
}

/* Bad parameters: clear error, right exit code, nothing written. */
static void
test_simulate_bad (void)
{
  g_autofree char *dir = kiln_test_tmpfile ("exp-bad");
  expect_fail (1, "dose", dir, "--dose", "-5", NULL);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  expect_fail (2, "preset", dir, "--preset", "huge", NULL);
  expect_fail (2, "--time-points", dir, "--time-points", "0", NULL);
  expect_fail (2, "--size", dir, "--size", "100000", NULL);
  expect_fail (2, "--seed", dir, "--seed", "-3", NULL);
  expect_fail (1, "memory", dir, "--preset", "paper", "--size", "8192", NULL);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_autofree char *err = NULL, *out = NULL;
  g_assert_cmpint (kiln_test_run_cli (&out, &err, "simulate", NULL), ==, 2);

  /* an existing non-empty folder is refused and left untouched */
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_autofree char *keep = g_build_filename (dir, "keep.txt", NULL);
  g_assert_true (g_file_set_contents (keep, "x", 1, NULL));
  expect_fail (1, "not an empty folder", dir, "--time-points", "1", NULL);
  g_assert_true (g_file_test (keep, G_FILE_TEST_EXISTS));
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "keep.txt");
  g_assert_null (g_dir_read_name (d));
}

static void
test_simulate_help (void)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (kiln_test_run_cli (&out, NULL, "simulate", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--preset"));
  g_assert_nonnull (strstr (out, "--seed"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/simulate/folder", test_simulate_folder);
  g_test_add_func ("/cli/simulate/deterministic", test_simulate_deterministic);
  g_test_add_func ("/cli/simulate/bad", test_simulate_bad);
  g_test_add_func ("/cli/simulate/help", test_simulate_help);
  return g_test_run ();
}
