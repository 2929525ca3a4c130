/* kiln-volume-view.h — OpenGL rendering of a reconstructed volume (GtkGLArea)
 *
 * An isosurface at the segmentation threshold (with lighting, particles coloured by their
 * tracked label), drawn from a triangle mesh extracted in a worker thread and ray-cast in a
 * fragment shader until the mesh is ready, or direct volume rendering (ray-cast); orthogonal slice
 * planes; bounding box; orbit (drag), zoom (scroll), pan (shift-drag or middle drag). Clicking a
 * particle picks its label exactly (a voxel traversal of the label volume along the click's
 * ray), and emits ::label-picked.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "kiln.h"

G_BEGIN_DECLS

#define KILN_TYPE_VOLUME_VIEW (kiln_volume_view_get_type ())

G_DECLARE_FINAL_TYPE (KilnVolumeView, kiln_volume_view, KILN, VOLUME_VIEW, GtkGLArea)

typedef enum
{
  KILN_RENDER_ISOSURFACE,
  KILN_RENDER_VOLUME,
} KilnRenderMode;

typedef enum
{
  KILN_VIEW_TOP,      /* down the beam (z), as the 0° image */
  KILN_VIEW_FRONT,    /* along y, the tilt axis */
  KILN_VIEW_SIDE,     /* along x */
  KILN_VIEW_OBLIQUE,
} KilnViewPreset;

GtkWidget *kiln_volume_view_new            (void);
/* Show @volume (and optionally its @labels, same size). Keeps references. */
void       kiln_volume_view_set_volume     (KilnVolumeView   *self,
                                            KilnVolume       *volume,
                                            KilnLabelVolume  *labels);
void       kiln_volume_view_set_mode       (KilnVolumeView   *self,
                                            KilnRenderMode    mode);
/* Isosurface threshold in the volume's own units. */
void       kiln_volume_view_set_threshold  (KilnVolumeView   *self,
                                            double            threshold);
void       kiln_volume_view_set_hide_unlabelled (KilnVolumeView *self,
                                            gboolean          hide);
/* Slice planes at fractions 0…1 of each axis; a negative value hides that plane. */
void       kiln_volume_view_set_slices     (KilnVolumeView   *self,
                                            double            x,
                                            double            y,
                                            double            z);
void       kiln_volume_view_set_preset     (KilnVolumeView   *self,
                                            KilnViewPreset    preset);
/* Highlight up to two labels (0 = none). */
void       kiln_volume_view_set_selection  (KilnVolumeView   *self,
                                            guint32           a,
                                            guint32           b);
/* Draw the centre line of a pair (centres in nm) and its neck as a circle of @neck_radius_nm
 * around @neck_centre_nm, perpendicular to the centre line. visible = FALSE hides it. */
void       kiln_volume_view_set_pair_overlay (KilnVolumeView *self,
                                            gboolean          visible,
                                            const double      centre_a_nm[3],
                                            const double      centre_b_nm[3],
                                            const double      neck_centre_nm[3],
                                            double            neck_radius_nm);
/* The label of the first labelled voxel under widget point (x, y), 0 if none; @position_nm
 * (nullable) gets the voxel centre in nm. */
guint32    kiln_volume_view_pick           (KilnVolumeView   *self,
                                            double            x,
                                            double            y,
                                            double            position_nm[3]);
/* Labels are shown (colour, selection, picking) as map[label] when a map is set (e.g. the
 * tracked particle ids of this time point); labels ≥ n_map or mapped to 0 show as themselves.
 * NULL: identity. Copies @map. */
void       kiln_volume_view_set_label_map  (KilnVolumeView   *self,
                                            const guint32    *map,
                                            guint             n_map);
guint32    kiln_volume_view_display_id     (KilnVolumeView   *self,
                                            guint32           label);
/* Prepare @volume/@labels for display ahead (CPU side in a worker thread, then GL textures
 * uploaded in idle chunks) so that a later set_volume() with them only binds textures. A
 * small LRU cache (6 time points, 768 MiB of textures) keeps them. */
void       kiln_volume_view_prefetch       (KilnVolumeView   *self,
                                            KilnVolume       *volume,
                                            KilnLabelVolume  *labels);
/* TRUE once @volume/@labels are uploaded (a switch to them needs one frame only). */
gboolean   kiln_volume_view_is_prefetched  (KilnVolumeView   *self,
                                            KilnVolume       *volume,
                                            KilnLabelVolume  *labels);
/* Value range of the shown volume (from the prepared data when available). */
void       kiln_volume_view_get_range      (KilnVolumeView   *self,
                                            double           *min,
                                            double           *max);
/* While interactive (during an orbit drag, until 250 ms after a zoom step or a switch to
 * another volume, or while the caller sets it, e.g. while playing
 * through time), frames are ray-cast at a third of the resolution on each axis and scaled up; a
 * full-quality frame follows when it ends. */
void       kiln_volume_view_set_interactive (KilnVolumeView  *self,
                                            gboolean          interactive);
gboolean   kiln_volume_view_get_interactive (KilnVolumeView  *self);
/* Empty-space skipping (on by default; turning it off is for benchmarks and tests only: the
 * image must be the same). */
void       kiln_volume_view_set_skipping   (KilnVolumeView   *self,
                                            gboolean          skipping);
/* The isosurface is drawn from a triangle mesh (kiln-isosurface.h, surface nets) extracted in
 * a worker thread for each volume and threshold (prefetched time points included); until it
 * is ready, if it fails, and while slice planes are shown, the ray caster draws it. Turning the
 * mesh off is for tests and benchmarks only (the image must be nearly the same). */
void       kiln_volume_view_set_use_mesh   (KilnVolumeView   *self,
                                            gboolean          use_mesh);
/* TRUE when the current frame's isosurface is drawn from the mesh. */
gboolean   kiln_volume_view_get_mesh_drawn (KilnVolumeView   *self);
/* Triangles of the mesh drawn now (0 when ray-cast). */
gsize      kiln_volume_view_get_mesh_triangles (KilnVolumeView *self);
/* Render the current view into a texture (for PNG export); NULL if GL failed. */
GdkTexture *kiln_volume_view_render_texture (KilnVolumeView *self);
/* Width of the view in nm at the volume's centre (for the scale bar). The ::view-changed
 * signal tells when it (or anything else about the camera) changes. */
double     kiln_volume_view_get_view_width_nm (KilnVolumeView *self);

G_END_DECLS
