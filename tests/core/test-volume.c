/* test-volume.c — KilnVolume and KilnLabelVolume
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "kiln-test-util.h"

static void
test_volume (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnVolume) v = kiln_volume_new (4, 3, 2, &error);
  g_autoptr(KilnVolume) c = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (kiln_volume_n_voxels (v), ==, 24);
  KILN_VOXEL (v, 3, 2, 1) = 5.0f;
  g_assert_cmpfloat (v->data[(1 * 3 + 2) * 4 + 3], ==, 5.0f);
  v->voxel_size_nm = 2.0;
  c = kiln_volume_copy (v, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (KILN_VOXEL (c, 3, 2, 1), ==, 5.0f);
  g_assert_cmpfloat (c->voxel_size_nm, ==, 2.0);
}

static void
test_labels (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelVolume) l = kiln_label_volume_new (2, 2, 2, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (kiln_label_volume_max_label (l), ==, 0);
  KILN_VOXEL (l, 1, 1, 1) = 70000;
  g_assert_cmpuint (kiln_label_volume_max_label (l), ==, 70000);
}

static void
test_bad (void)
{
  g_autoptr(GError) error = NULL;
  KilnVolume *v = kiln_volume_new (1000000, 1, 1, &error);

  g_assert_null (v);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA);
  g_clear_error (&error);
  kiln_set_memory_budget (1000);
  v = kiln_volume_new (100, 100, 100, &error);
  kiln_set_memory_budget (0);
  g_assert_null (v);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume/basics", test_volume);
  g_test_add_func ("/volume/labels", test_labels);
  g_test_add_func ("/volume/bad", test_bad);
  return g_test_run ();
}
