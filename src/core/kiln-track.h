/* kiln-track.h — particle identities across time points, and pair series over time
 *
 * Each time point's labels are matched to the previous time point's: the cost of pairing
 * particle i (before) with j (now) is
 *     (1 − overlap_ij / min(V_i, V_j)) + distance_ij / max_distance
 * (overlap in voxels, centroid distance in nm), pairs with no overlap and a centroid distance
 * beyond max_distance are forbidden; the assignment of least total cost is found by the
 * Hungarian algorithm (greedy by cost above 400 particles).  A particle of the previous time
 * point left unmatched whose voxels lie for ≥ merge_fraction inside one particle now has MERGED
 * into it; otherwise it LEFT (out of the volume, or vanished).  A particle now left unmatched
 * ENTERED and gets a new track id.  Track ids of the first time point are its labels.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "kiln-csv.h"
#include "kiln-measure.h"
#include "kiln-volume.h"

G_BEGIN_DECLS

typedef struct
{
  double max_distance_nm;   /* 0: automatic (the mean equivalent-sphere radius before) */
  double merge_fraction;    /* default 0.3 */
} KilnTrackParams;

typedef enum
{
  KILN_TRACK_ENTER,
  KILN_TRACK_LEAVE,
  KILN_TRACK_MERGE,
  KILN_TRACK_REASSIGN,
} KilnTrackEventKind;

typedef struct
{
  guint              time_point;
  KilnTrackEventKind kind;
  guint32            track;        /* the track that entered, left, merged or was reassigned */
  guint32            into_track;   /* MERGE: the track it merged into; REASSIGN: swapped with */
} KilnTrackEvent;

typedef struct _KilnTracking KilnTracking;

void          kiln_track_params_init      (KilnTrackParams        *params);
KilnTracking *kiln_tracking_new           (const KilnTrackParams  *params);
void          kiln_tracking_free          (KilnTracking           *tracking);
/* Append a time point: its labels are matched to those of the previous one (same size). */
gboolean      kiln_tracking_add           (KilnTracking           *tracking,
                                           const KilnLabelVolume  *labels,
                                           GCancellable           *cancellable,
                                           GError                **error);
guint         kiln_tracking_n_time_points (KilnTracking           *tracking);
guint32       kiln_tracking_n_tracks      (KilnTracking           *tracking);
/* The track of @label at @time_point (0: none), and the label of @track there (0: absent). */
guint32       kiln_tracking_track_of      (KilnTracking           *tracking,
                                           guint                   time_point,
                                           guint32                 label);
guint32       kiln_tracking_label_of      (KilnTracking           *tracking,
                                           guint                   time_point,
                                           guint32                 track);
/* Manual correction: from @time_point on, @label (at @time_point) belongs to @track; the label
 * that had @track there (if any) takes the old track of @label, and the swap is carried to
 * every later time point (identities follow the corrected chain). */
gboolean      kiln_tracking_reassign      (KilnTracking           *tracking,
                                           guint                   time_point,
                                           guint32                 label,
                                           guint32                 track,
                                           GError                **error);
/* Events in time order (array of KilnTrackEvent, owned by @tracking). */
const GArray *kiln_tracking_events        (KilnTracking           *tracking);

/* Least-cost assignment of an n_rows × n_cols cost matrix (row-major); costs ≥ @forbidden are
 * never chosen. row_to_col[i] = column of row i or −1. Returns the number of rows assigned. */
guint         kiln_assign_min_cost        (const double           *cost,
                                           guint                   n_rows,
                                           guint                   n_cols,
                                           double                  forbidden,
                                           int                    *row_to_col);

/* One row of a pair's series over time. */
typedef struct
{
  guint           time_point;     /* 0-based */
  double          pt_time_s;      /* NaN when unknown */
  double          temperature_C;  /* NaN when unknown */
  gboolean        present;        /* FALSE: a particle of the pair is absent or they merged */
  KilnPairMeasure measure;        /* labels of this time point in measure.a, measure.b */
} KilnPairSeriesRow;

/* Measure the pair of tracks (@track_a, @track_b) at every time point of @tracking;
 * @labels[t] are the label volumes given to kiln_tracking_add; @pt_time_s, @temperature_c
 * (nullable) per time point.  Error bars from the labels (morphology ±1) when @with_errors. */
GArray       *kiln_pair_series            (KilnTracking           *tracking,
                                           KilnLabelVolume *const *labels,
                                           const double           *pt_time_s,
                                           const double           *temperature_c,
                                           guint32                 track_a,
                                           guint32                 track_b,
                                           gboolean                with_errors,
                                           GCancellable           *cancellable,
                                           GError                **error);
/* CSV: time_point, pt_time_s, temperature_C, pair ("A:B" track ids), label_a, label_b,
 * touching, then every measure and its error bar (r_n_nm, r_n_err_nm, …, h_over_w,
 * h_over_w_err, …).  @rows: KilnPairSeriesRow; the pair named by @track_a, @track_b. */
KilnCsv      *kiln_pair_series_csv        (const GArray           *rows,
                                           guint32                 track_a,
                                           guint32                 track_b);
/* The same in two steps, for several pairs in one table. */
KilnCsv      *kiln_pair_series_csv_new    (void);
void          kiln_pair_series_csv_append (KilnCsv                *csv,
                                           const GArray           *rows,
                                           guint32                 track_a,
                                           guint32                 track_b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnTracking, kiln_tracking_free)

G_END_DECLS
