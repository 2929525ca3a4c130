/* kiln-phantom.h — analytic sintering phantoms: geometry, voxelisation, projection, truth
 *
 * A phantom is a set of analytic solids in nm, in volume coordinates whose origin is the
 * centre of the volume ((n − 1)/2 in voxel indices) with x across the tilt axis, y along it and
 * z along the beam at 0° tilt (pipeline.md):
 *
 *  - core particles: axis-aligned ellipsoids (semi-axes rx, ry, rz; spheres when equal), one
 *    label each (label = index + 1, stable across time points);
 *  - necks between two cores: a solid of revolution about the line joining the two centres,
 *    with radius profile ρ(t) = r_n + (R_a − r_n)·((t0 − t)/t0)² for 0 ≤ t ≤ t0 and
 *    ρ(t) = r_n + (R_b − r_n)·((t − t0)/(d − t0))² for t0 ≤ t ≤ d (t measured from the centre of
 *    a towards b, d the centre distance, R the lateral semi-axis). The neck plane t0 is where
 *    the two particles' sections are equally wide, and r_n is forced ≥ the width of those
 *    sections, so the minimal cross-section of the union between the two centres is EXACTLY
 *    the disc of radius r_n at t = t0. Voxels of the pair are split between a and b at t0;
 *  - shell particles (~10 nm, material SHELL, label 0, dim);
 *  - a support membrane: the slab membrane_z_nm[0] ≤ z ≤ membrane_z_nm[1] (label 0, dim);
 *    the particles rest on its top face (the substrate plane).
 *
 * Materials have HAADF (Z-contrast) weights; where solids overlap the priority is
 * core/neck > shell > membrane. The volume value of a voxel is Σ weight × covered fraction.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef enum
{
  KILN_MATERIAL_NONE = 0,
  KILN_MATERIAL_MEMBRANE,
  KILN_MATERIAL_SHELL,
  KILN_MATERIAL_CORE,
} KilnMaterial;

typedef struct
{
  double centre_nm[3];    /* x, y, z */
  double semi_nm[3];      /* semi-axes along x, y, z */
} KilnPhantomParticle;

typedef struct
{
  guint32 a;              /* labels (a < b not required) */
  guint32 b;
  double  radius_nm;      /* r_n: exact minimal cross-section radius between the centres */
  /* Derived by kiln_phantom_add_neck() / kiln_phantom_update_necks(): */
  double  t0_nm;          /* neck plane, distance from a's centre along a→b */
  double  section_nm;     /* width of the particles' own sections at t0 (≤ radius_nm) */
} KilnPhantomNeck;

typedef struct
{
  guint                n_cores;       /* core i has label i + 1 */
  KilnPhantomParticle *cores;
  guint                n_shell;
  KilnPhantomParticle *shell;
  guint                n_necks;
  KilnPhantomNeck     *necks;
  gboolean             has_membrane;
  double               membrane_z_nm[2];   /* bottom, top (top = substrate plane) */
  double               weight[4];          /* indexed by KilnMaterial; weight[NONE] = 0 */
  double               time_s;             /* PT time of this state, s (NAN if none) */
  double               temperature_c;      /* process temperature, °C (NAN if none) */
} KilnPhantom;

/* Default weights: core 1, shell 0.35, membrane 0.08. */
KilnPhantom *kiln_phantom_new            (void);
void         kiln_phantom_free           (KilnPhantom        *self);
KilnPhantom *kiln_phantom_copy           (const KilnPhantom  *self);
/* Returns the new core's label. */
guint32      kiln_phantom_add_core       (KilnPhantom        *self,
                                          double              x_nm,
                                          double              y_nm,
                                          double              z_nm,
                                          double              rx_nm,
                                          double              ry_nm,
                                          double              rz_nm);
void         kiln_phantom_add_shell      (KilnPhantom        *self,
                                          double              x_nm,
                                          double              y_nm,
                                          double              z_nm,
                                          double              r_nm);
void         kiln_phantom_set_membrane   (KilnPhantom        *self,
                                          double              z_bottom_nm,
                                          double              z_top_nm);
/* A neck of radius ≥ @radius_nm between cores @a and @b (labels). The radius actually used is
 * max(radius_nm, 1.02 × the particles' section width at the neck plane) and is returned in the
 * neck (so the truth is exact). Fails if a label is unknown, a == b, or the cores are too far
 * apart to touch through a neck (gap > min lateral semi-axis). */
gboolean     kiln_phantom_add_neck       (KilnPhantom        *self,
                                          guint32             a,
                                          guint32             b,
                                          double              radius_nm,
                                          GError            **error);

/* Material at a point (nm) and the core label there (0 if none; necks split at t0). */
KilnMaterial kiln_phantom_material_at    (const KilnPhantom  *self,
                                          const double        p_nm[3],
                                          guint32            *label);

/* Weighted line integral Σ weight × length (nm) along the whole line through @origin_nm with
 * unit direction @dir. Exact for ellipsoids and slabs (analytic chords); necks are sampled and
 * their boundaries refined by bisection (< 0.01 nm). */
double       kiln_phantom_line_integral  (const KilnPhantom  *self,
                                          const double        origin_nm[3],
                                          const double        dir[3]);

/**
 * kiln_phantom_voxelize:
 * @supersample: sub-samples per axis in voxels that a boundary crosses (1 = none, 4 typical)
 * @volume: (out) (optional): Σ weight × covered fraction per voxel, voxel_size_nm set
 * @labels: (out) (optional): core label of the voxel centre's majority sub-sample, 0 = other
 * @label_volume_nm3: (out) (optional) (array length = n_cores + 1): covered volume of each
 *   label (index = label; [0] unused), from the anti-aliased coverage; free with g_free
 */
gboolean     kiln_phantom_voxelize       (const KilnPhantom  *self,
                                          guint               nx,
                                          guint               ny,
                                          guint               nz,
                                          double              voxel_nm,
                                          guint               supersample,
                                          KilnVolume        **volume,
                                          KilnLabelVolume   **labels,
                                          double            **label_volume_nm3,
                                          GCancellable       *cancellable,
                                          KilnProgressFunc    progress,
                                          gpointer            progress_data,
                                          GError            **error);

/**
 * kiln_phantom_project:
 * @out: n_angles × height × width floats: the line integral of the phantom through each pixel
 *   centre, in units of (weight × pixels), i.e. the same units as summing the voxelised volume
 *   along a ray with step 1 voxel.
 *
 * Geometry (pipeline.md): the image point d (pixels from the image centre) lies at detector
 * coordinates u = d.x cos α + d.y sin α − shift, v = −d.x sin α + d.y cos α, (α = axis angle,
 * counter-clockwise from image y, in the x/y sense of kiln_xf_rotation), and its ray is the set
 * of volume points with y = v and x cos θ + z sin θ = u (u, v, x, y, z in pixels × pixel_nm).
 */
gboolean     kiln_phantom_project        (const KilnPhantom  *self,
                                          const double       *angles_deg,
                                          guint               n_angles,
                                          guint               width,
                                          guint               height,
                                          double              pixel_nm,
                                          double              axis_angle_deg,
                                          double              axis_shift_px,
                                          float              *out,
                                          GCancellable       *cancellable,
                                          KilnProgressFunc    progress,
                                          gpointer            progress_data,
                                          GError            **error);

/* Ground truth of one core particle. */
typedef struct
{
  guint32 label;
  double  centre_nm[3];        /* analytic centre, volume coordinates (origin at centre) */
  double  radius_nm;           /* equivalent-sphere radius of the label's volume (with its
                                  half of its necks, minus nothing outside the volume) */
  double  volume_nm3;          /* that volume (anti-aliased coverage) */
  double  semi_nm[3];          /* analytic semi-axes */
  double  h_over_w;            /* analytic rz / mean(rx, ry) */
  guint64 voxels;              /* voxels carrying the label */
} KilnParticleTruth;

/* Ground truth of one necked (or approaching) pair: 3D and by the paper's 2D protocol. */
typedef struct
{
  guint32 a;
  guint32 b;
  /* exact / 3D */
  double  neck_radius_3d_nm;   /* analytic minimal cross-section radius (0 = no neck) */
  double  centre_distance_nm;  /* analytic distance of the two centres */
  double  distance_3d_nm;      /* distance of the two labels' centres of mass (voxels) */
  double  radius_3d_nm;        /* mean equivalent-sphere radius of the two labels */
  /* paper protocol (Fig. 7) on the label volume: z-projection of the two labels only */
  double  r_n_nm;              /* half the narrowest width of the joint footprint between the
                                  two centres of mass, across the line joining them */
  double  d_xy_nm;             /* distance of the footprints' centres of mass */
  double  d_z_nm;              /* |Δ (min z + max z)/2| */
  double  d_nm;                /* sqrt(d_xy² + d_z²) */
  double  r_p_nm;              /* mean radius of the equal-area circles of the footprints */
  double  h_over_w;            /* mean of (z extent / footprint width across the pair axis) */
} KilnPairTruth;

/* From the analytic phantom and its label volume (as made by kiln_phantom_voxelize with the
 * same phantom) and the per-label coverage volumes (may be NULL: voxel counts are used). */
KilnParticleTruth *kiln_phantom_particle_truth (const KilnPhantom      *self,
                                                const KilnLabelVolume  *labels,
                                                const double           *label_volume_nm3,
                                                guint                  *n_particles);
gboolean           kiln_phantom_pair_truth     (const KilnPhantom      *self,
                                                const KilnLabelVolume  *labels,
                                                guint32                 a,
                                                guint32                 b,
                                                KilnPairTruth          *truth,
                                                GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnPhantom, kiln_phantom_free)

G_END_DECLS
