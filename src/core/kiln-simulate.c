/* kiln-simulate.c — simulated sintering experiment with ground truth
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-alloc.h"
#include "kiln-csv.h"
#include "kiln-error.h"
#include "kiln-experiment.h"
#include "kiln-imod.h"
#include "kiln-mrc.h"
#include "kiln-simulate.h"
#include "kiln-tiff.h"
#include "kiln-transform.h"

/* T1…T18 of the paper (pipeline.md): PT time s, process temperature °C. */
static const double schedule[KILN_SIM_N_SCHEDULE][2] = {
  { 0, 372 }, { 5, 370 }, { 12, 370 }, { 17, 370 }, { 22, 370 }, { 27, 372 },
  { 31, 372 }, { 36, 370 }, { 41, 370 }, { 46, 372 }, { 51, 370 }, { 61, 364 },
  { 71, 364 }, { 81, 364 }, { 100, 354 }, { 120, 353 }, { 150, 351 }, { 209, 350 },
};

/* Random stream purposes (part of the seed of every GRand). */
enum
{
  STREAM_LAYOUT = 1,
  STREAM_SHELL,
  STREAM_ANGLES,
  STREAM_DRIFT,
  STREAM_SHOT,
  STREAM_SCAN,
  STREAM_REF_SHOT,
  STREAM_REF_SCAN,
};

static GRand *
stream_new (guint64 seed,
            guint   purpose,
            guint   a,
            guint   b)
{
  guint32 s[6] = { (guint32) seed, (guint32) (seed >> 32), purpose, a, b, 0x6b696c6e };
  return g_rand_new_with_seed_array (s, 6);
}

static guint64
stream_seed (guint64 seed,
             guint   purpose,
             guint   a,
             guint   b)
{
  /* splitmix-like mixing: a 64-bit seed for kiln_noise_realize */
  guint64 z = seed ^ ((guint64) purpose << 56) ^ ((guint64) a << 28) ^ b;
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double
rand_normal (GRand *r)
{
  /* Box–Muller (one value) */
  double u1 = g_rand_double (r), u2 = g_rand_double (r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
}

static double
rand_poisson (GRand  *r,
              double  lambda)
{
  if (!(lambda > 0))
    return 0;
  if (lambda < 40)
    {
      double L = exp (-lambda), p = 1;
      int k = 0;
      do
        {
          k++;
          p *= g_rand_double (r);
        }
      while (p > L);
      return k - 1;
    }
  double v = floor (lambda + sqrt (lambda) * rand_normal (r) + 0.5);
  return MAX (v, 0.0);
}

/* ---------- parameters ---------- */

void
kiln_sim_params_init (KilnSimParams *p,
                      KilnSimPreset  preset)
{
  memset (p, 0, sizeof *p);
  p->seed = 1;
  p->shell = TRUE;
  p->shell_diameter_nm = 10;
  p->shell_coverage = 0.08;
  p->membrane = TRUE;
  p->membrane_thickness_nm = 8;
  p->scenario = TRUE;
  p->tilt_min_deg = -40;
  p->tilt_max_deg = 40;
  p->tilt_step_deg = 2;
  p->angle_error_sd_deg = 0;
  p->probe_sigma_nm = 0.5;
  p->dose_e_nm2 = 250;
  p->shot_noise = TRUE;
  p->scatter_per_nm = 0.0016;
  p->detector_offset = 20;
  p->scan_noise = KILN_NOISE_G4;
  p->scan_noise_variance = 137;
  p->make_volume = TRUE;
  p->reference_frames = 50;
  if (preset == KILN_SIM_PRESET_PAPER)
    {
      p->n_time_points = 18;
      p->size_px = 1024;
      p->depth_px = 224;
      p->pixel_size_nm = 1.04;
      p->n_particles = 20;
      p->core_diameter_nm = 150;
      p->core_diameter_sd_nm = 12;
      p->h_over_w_sd = 0.06;
      p->axis_angle_deg = 3.0;
      p->axis_shift_px = 6.0;
      p->detector_gain = 100;
      p->drift_sigma_px = 3.0;
      p->supersample = 2;
    }
  else
    {
      p->n_time_points = 6;
      p->size_px = 128;
      p->depth_px = 64;
      p->pixel_size_nm = 4.0;
      p->n_particles = 5;
      p->core_diameter_nm = 100;
      p->core_diameter_sd_nm = 6;
      p->h_over_w_sd = 0.04;
      p->axis_angle_deg = 4.0;
      p->axis_shift_px = 2.5;
      p->detector_gain = 10;
      p->drift_sigma_px = 1.5;
      p->supersample = 4;
    }
}

gboolean
kiln_sim_preset_from_string (const char    *name,
                             KilnSimPreset *preset)
{
  if (g_strcmp0 (name, "teaching") == 0)
    *preset = KILN_SIM_PRESET_TEACHING;
  else if (g_strcmp0 (name, "paper") == 0)
    *preset = KILN_SIM_PRESET_PAPER;
  else
    return FALSE;
  return TRUE;
}

const char *
kiln_sim_preset_to_string (KilnSimPreset preset)
{
  return preset == KILN_SIM_PRESET_PAPER ? "paper" : "teaching";
}

guint
kiln_sim_n_tilts (const KilnSimParams *p)
{
  if (!(p->tilt_step_deg > 0) || !(p->tilt_max_deg >= p->tilt_min_deg))
    return 0;
  double n = floor ((p->tilt_max_deg - p->tilt_min_deg) / p->tilt_step_deg + 1e-6) + 1;
  return n > 100000 ? 0 : (guint) n;
}

double *
kiln_sim_nominal_angles (const KilnSimParams *p,
                         guint               *n_angles)
{
  guint n = kiln_sim_n_tilts (p);
  double *a = g_new (double, MAX (n, 1));
  for (guint k = 0; k < n; k++)
    a[k] = p->tilt_min_deg + k * p->tilt_step_deg;
  *n_angles = n;
  return a;
}

void
kiln_sim_schedule_entry (guint   index,
                         double *time_s,
                         double *temperature_c)
{
  index = MIN (index, KILN_SIM_N_SCHEDULE - 1);
  if (time_s)
    *time_s = schedule[index][0];
  if (temperature_c)
    *temperature_c = schedule[index][1];
}

guint
kiln_sim_schedule_index (const KilnSimParams *p,
                         guint                tp)
{
  guint n = CLAMP (p->n_time_points, 1, KILN_SIM_N_SCHEDULE);
  if (n == 1)
    return 0;
  return (guint) floor ((double) tp * (KILN_SIM_N_SCHEDULE - 1) / (n - 1) + 0.5);
}

static guint64
bytes_per_time_point (const KilnSimParams *p)
{
  guint n = kiln_sim_n_tilts (p);
  guint64 img = (guint64) p->size_px * p->size_px * sizeof (float);
  guint64 b = img * n * 4 + img * 4;
  if (p->make_volume)
    b += (guint64) p->size_px * p->size_px * p->depth_px * (sizeof (float) + sizeof (guint32));
  /* the reference pair keeps all its frames */
  return MAX (b, img * (p->reference_frames + 4));
}

#define BAD(...) \
  G_STMT_START { \
    g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

gboolean
kiln_sim_params_validate (const KilnSimParams *p,
                          GError             **error)
{
  if (p->n_time_points < 1 || p->n_time_points > KILN_SIM_N_SCHEDULE)
    BAD ("Simulation: %u time points requested; the schedule has 1…%d", p->n_time_points,
         KILN_SIM_N_SCHEDULE);
  if (p->size_px < 16 || p->size_px > 8192)
    BAD ("Simulation: image size %u px is outside 16…8192 px", p->size_px);
  if (p->depth_px < 4 || p->depth_px > 4096)
    BAD ("Simulation: volume depth %u px is outside 4…4096 px", p->depth_px);
  if (!(p->pixel_size_nm > 0) || !isfinite (p->pixel_size_nm))
    BAD ("Simulation: pixel size %g nm must be > 0", p->pixel_size_nm);
  if (p->n_particles > 10000)
    BAD ("Simulation: %u particles is too many (at most 10000)", p->n_particles);
  if (p->n_particles > 0 && (!(p->core_diameter_nm > 0) || !(p->core_diameter_sd_nm >= 0)
                             || p->core_diameter_sd_nm > 0.3 * p->core_diameter_nm))
    BAD ("Simulation: core diameter %g ± %g nm is invalid (diameter > 0, spread ≤ 30 %%)",
         p->core_diameter_nm, p->core_diameter_sd_nm);
  if (!(p->h_over_w_sd >= 0) || p->h_over_w_sd > 0.3)
    BAD ("Simulation: H/W spread %g must be within 0…0.3", p->h_over_w_sd);
  if (p->shell && (!(p->shell_diameter_nm > 0) || !(p->shell_coverage >= 0)
                   || p->shell_coverage > 1))
    BAD ("Simulation: shell particles of %g nm at coverage %g are invalid", p->shell_diameter_nm,
         p->shell_coverage);
  if (p->membrane && !(p->membrane_thickness_nm > 0))
    BAD ("Simulation: membrane thickness %g nm must be > 0", p->membrane_thickness_nm);
  if (!(p->tilt_step_deg > 0) || !isfinite (p->tilt_min_deg) || !isfinite (p->tilt_max_deg)
      || p->tilt_max_deg < p->tilt_min_deg)
    BAD ("Simulation: tilt range %g…%g° with step %g° gives no tilts", p->tilt_min_deg,
         p->tilt_max_deg, p->tilt_step_deg);
  if (p->tilt_min_deg <= -85 || p->tilt_max_deg >= 85)
    BAD ("Simulation: tilt range %g…%g° must lie within ±85°", p->tilt_min_deg, p->tilt_max_deg);
  guint nt = kiln_sim_n_tilts (p);
  if (nt == 0 || nt > 1000)
    BAD ("Simulation: %u tilts (range %g…%g° step %g°); 1…1000 allowed", nt, p->tilt_min_deg,
         p->tilt_max_deg, p->tilt_step_deg);
  if (!(p->angle_error_sd_deg >= 0) || p->angle_error_sd_deg > 5)
    BAD ("Simulation: tilt angle error %g° must be within 0…5°", p->angle_error_sd_deg);
  if (!isfinite (p->axis_angle_deg) || !isfinite (p->axis_shift_px)
      || fabs (p->axis_shift_px) > 0.25 * p->size_px)
    BAD ("Simulation: tilt axis angle %g° / shift %g px invalid (|shift| ≤ size/4)",
         p->axis_angle_deg, p->axis_shift_px);
  if (!(p->probe_sigma_nm >= 0) || p->probe_sigma_nm > 50)
    BAD ("Simulation: probe blur σ %g nm must be within 0…50 nm", p->probe_sigma_nm);
  if (!(p->dose_e_nm2 > 0) || !isfinite (p->dose_e_nm2))
    BAD ("Simulation: electron dose %g e⁻/nm² must be > 0", p->dose_e_nm2);
  if (!(p->scatter_per_nm > 0) || !(p->detector_gain > 0) || !isfinite (p->detector_offset))
    BAD ("Simulation: detector model (scattering %g /nm, gain %g, offset %g) invalid",
         p->scatter_per_nm, p->detector_gain, p->detector_offset);
  if (!(p->scan_noise_variance >= 0) || !isfinite (p->scan_noise_variance))
    BAD ("Simulation: scan noise variance %g must be ≥ 0", p->scan_noise_variance);
  if ((guint) p->scan_noise > KILN_NOISE_G4W)
    BAD ("Simulation: unknown scan noise kind %d", (int) p->scan_noise);
  if (!(p->drift_sigma_px >= 0) || p->drift_sigma_px > 0.1 * p->size_px)
    BAD ("Simulation: drift σ %g px must be within 0…size/10", p->drift_sigma_px);
  if (p->supersample < 1 || p->supersample > 8)
    BAD ("Simulation: supersampling %u must be within 1…8", p->supersample);
  if (p->reference_frames < 1 || p->reference_frames > 1000)
    BAD ("Simulation: %u reference frames; 1…1000 allowed", p->reference_frames);
  guint64 need = bytes_per_time_point (p);
  if (need > kiln_memory_budget ())
    {
      g_autofree char *a = kiln_format_bytes (need);
      g_autofree char *b = kiln_format_bytes (kiln_memory_budget ());
      g_set_error (error, KILN_ERROR, KILN_ERROR_NO_MEMORY,
                   "Simulation: one time point of %u × %u px × %u tilts (volume depth %u) needs "
                   "%s, more than the memory budget of %s", p->size_px, p->size_px, nt,
                   p->depth_px, a, b);
      return FALSE;
    }
  return TRUE;
}

/* ---------- the scene ---------- */

typedef enum
{
  ROLE_SINGLE,
  ROLE_PAIR,        /* a, b sintering from contact */
  ROLE_P1,          /* b approaches a, contact at P1_CONTACT_S, then sinters */
  ROLE_P2,          /* a, b sintering; c approaches b, contact at P2_CONTACT_S, pushes b */
} Role;

#define TAU_S         15.0   /* neck growth / densification time constant */
#define RN0           0.15   /* r_n / r̄ at first contact */
#define RNINF         0.45   /* r_n / r̄ at saturation */
#define SHRINK        0.06   /* relative approach of the centres at saturation */
#define P1_CONTACT_S  5.0
#define P1_GAP        0.15   /* initial gap / r̄ */
#define P2_CONTACT_S  36.0
#define P2_GAP        0.25
#define P2_PUSH       0.10   /* extra a–b distance / r̄ after the disturbance */
#define P2_TAU_S      12.0
#define P2_ANGLE      (70.0 * G_PI / 180)

typedef struct
{
  Role   role;
  guint  n;            /* particles in the group */
  guint  first;        /* label of the first particle */
  double r[3];         /* lateral radius of each */
  double hw[3];        /* rz / r */
  double phi;          /* direction of the pair axis in xy */
  double cx, cy;       /* group anchor */
} Group;

typedef struct
{
  guint   n_groups;
  Group  *groups;
  guint   n_cores;
} Layout;

static guint
role_size (Role r)
{
  return r == ROLE_SINGLE ? 1 : r == ROLE_P2 ? 3 : 2;
}

static double
grow (double t)
{
  return t <= 0 ? 0 : 1 - exp (-t / TAU_S);
}

/* xy offsets of the group's particles from its anchor (the a–b midpoint) at their widest
 * configuration (PT 0, plus the later push of P2). */
static void
group_offsets (const Group *g,
               double       off[3][2])
{
  memset (off, 0, sizeof (double) * 6);
  if (g->role == ROLE_SINGLE)
    return;
  double rbar = 0;
  for (guint i = 0; i < g->n; i++)
    rbar += g->r[i] / g->n;
  double d = (g->r[0] + g->r[1]) * (g->role == ROLE_P1 ? 1 + P1_GAP : 1)
             + (g->role == ROLE_P2 ? rbar * P2_PUSH : 0);
  double ux = cos (g->phi), uy = sin (g->phi);
  off[0][0] = -0.5 * d * ux;
  off[0][1] = -0.5 * d * uy;
  off[1][0] = 0.5 * d * ux;
  off[1][1] = 0.5 * d * uy;
  if (g->role == ROLE_P2)
    {
      double dc = (g->r[1] + g->r[2]) * (1 + P2_GAP);
      off[2][0] = off[1][0] + dc * cos (g->phi + P2_ANGLE);
      off[2][1] = off[1][1] + dc * sin (g->phi + P2_ANGLE);
    }
}

static gboolean
layout_build (const KilnSimParams *p,
              Layout              *lay,
              GError             **error)
{
  g_autoptr (GRand) r = stream_new (p->seed, STREAM_LAYOUT, 0, 0);
  guint left = p->n_particles;
  GArray *groups = g_array_new (FALSE, TRUE, sizeof (Group));
  Role plan[4] = { ROLE_P2, ROLE_P1, ROLE_PAIR, ROLE_SINGLE };
  guint label = 1;
  guint singles_budget = p->scenario ? p->n_particles / 6 : p->n_particles;
  while (left > 0)
    {
      Role role;
      if (!p->scenario)
        role = ROLE_SINGLE;
      else if (groups->len == 0 && left >= 3)
        role = plan[0];
      else if (groups->len == 1 && left >= 2)
        role = plan[1];
      else if (left >= 2 && left > singles_budget)
        role = ROLE_PAIR;
      else
        role = ROLE_SINGLE;
      Group g = { 0 };
      g.role = role;
      g.n = role_size (role);
      g.first = label;
      double rbar = 0;
      for (guint i = 0; i < g.n; i++)
        {
          double dn = CLAMP (rand_normal (r), -2, 2);
          g.r[i] = 0.5 * (p->core_diameter_nm + dn * p->core_diameter_sd_nm);
          g.hw[i] = 1 + CLAMP (rand_normal (r), -2, 2) * p->h_over_w_sd;
          rbar += g.r[i] / g.n;
        }
      g.phi = g_rand_double_range (r, 0, 2 * G_PI);
      label += g.n;
      left -= g.n;
      g_array_append_val (groups, g);
    }
  (void) plan;

  /* place the groups (random orientation and position) so that no two particles of different
   * groups come closer than their radii plus two shell diameters, all inside the field */
  double half = 0.5 * p->size_px * p->pixel_size_nm - 2 * p->pixel_size_nm;
  double margin = (p->shell ? 2 * p->shell_diameter_nm : 0) + 4;
  Group *gs = (Group *) groups->data;
  guint ng = groups->len;
  double (*pos)[2] = (double (*)[2]) g_malloc0 (sizeof (double) * 6 * MAX (ng, 1));
  gboolean all = FALSE;
  for (int restart = 0; restart < 100 && !all; restart++)
    {
      all = TRUE;
      for (guint i = 0; i < ng && all; i++)
        {
          gboolean placed = FALSE;
          for (int attempt = 0; attempt < 1000 && !placed; attempt++)
            {
              double off[3][2];
              gs[i].phi = g_rand_double_range (r, 0, 2 * G_PI);
              group_offsets (&gs[i], off);
              double x = g_rand_double_range (r, -half, half), y = g_rand_double_range (r, -half, half);
              placed = TRUE;
              for (guint k = 0; k < gs[i].n && placed; k++)
                {
                  double px = x + off[k][0], py = y + off[k][1];
                  double rk = gs[i].r[k] + margin * 0.5;
                  if (fabs (px) + rk > half || fabs (py) + rk > half)
                    placed = FALSE;
                  for (guint j = 0; j < i && placed; j++)
                    for (guint m = 0; m < gs[j].n && placed; m++)
                      if (hypot (px - pos[3 * j + m][0], py - pos[3 * j + m][1])
                          < gs[i].r[k] + gs[j].r[m] + margin)
                        placed = FALSE;
                }
              if (placed)
                {
                  gs[i].cx = x;
                  gs[i].cy = y;
                  for (guint k = 0; k < gs[i].n; k++)
                    {
                      pos[3 * i + k][0] = x + off[k][0];
                      pos[3 * i + k][1] = y + off[k][1];
                    }
                }
            }
          all = placed;
        }
    }
  g_free (pos);
  if (!all)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Simulation: %u particles of %g nm do not fit in a field of %g × %g nm; "
                   "use fewer or smaller particles, or a larger image", p->n_particles,
                   p->core_diameter_nm, p->size_px * p->pixel_size_nm,
                   p->size_px * p->pixel_size_nm);
      g_array_free (groups, TRUE);
      return FALSE;
    }
  lay->n_groups = groups->len;
  lay->groups = (Group *) g_array_free (groups, FALSE);
  lay->n_cores = label - 1;
  return TRUE;
}

typedef double Vec3[3];

/* Place particle b at 3D distance d from a (centre za known for each), along phi in xy. */
static void
place_from (const double a[3],
            double       zb,
            double       d,
            double       phi,
            double       b[3])
{
  double dz = zb - a[2];
  double h = sqrt (MAX (d * d - dz * dz, 0.0));
  b[0] = a[0] + h * cos (phi);
  b[1] = a[1] + h * sin (phi);
  b[2] = zb;
}

KilnPhantom *
kiln_sim_phantom (const KilnSimParams *p,
                  guint                tp,
                  GError             **error)
{
  if (!kiln_sim_params_validate (p, error))
    return NULL;
  if (tp >= p->n_time_points)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Simulation: time point %u requested of %u", tp + 1, p->n_time_points);
      return NULL;
    }
  Layout lay = { 0 };
  if (!layout_build (p, &lay, error))
    return NULL;

  double t, temp;
  kiln_sim_schedule_entry (kiln_sim_schedule_index (p, tp), &t, &temp);
  g_autoptr (KilnPhantom) ph = kiln_phantom_new ();
  ph->time_s = t;
  ph->temperature_c = temp;
  double zvol = 0.5 * (p->depth_px - 1.0) * p->pixel_size_nm;
  double ztop = -zvol + 0.1 * p->depth_px * p->pixel_size_nm
                + (p->membrane ? p->membrane_thickness_nm : 0);
  if (p->membrane)
    kiln_phantom_set_membrane (ph, ztop - p->membrane_thickness_nm, ztop);

  Vec3 *c = g_new0 (Vec3, MAX (lay.n_cores, 1));
  Vec3 *semi = g_new0 (Vec3, MAX (lay.n_cores, 1));
  /* necks to add after all cores: a, b, radius */
  GArray *necks = g_array_new (FALSE, FALSE, sizeof (Vec3));

  for (guint gi = 0; gi < lay.n_groups; gi++)
    {
      const Group *g = &lay.groups[gi];
      guint l0 = g->first - 1;
      double rbar = 0;
      for (guint i = 0; i < g->n; i++)
        {
          semi[l0 + i][0] = semi[l0 + i][1] = g->r[i];
          semi[l0 + i][2] = g->r[i] * g->hw[i];
          c[l0 + i][2] = ztop + semi[l0 + i][2] + 0.5;   /* resting on the substrate plane */
          rbar += g->r[i] / g->n;
        }
      double ux = cos (g->phi), uy = sin (g->phi);
      if (g->role == ROLE_SINGLE)
        {
          c[l0][0] = g->cx;
          c[l0][1] = g->cy;
          continue;
        }
      double contact = g->r[0] + g->r[1];
      double d, rn = 0;
      double tt = t;
      if (g->role == ROLE_P1)
        {
          if (t < P1_CONTACT_S)
            d = contact * (1 + P1_GAP * (1 - t / P1_CONTACT_S));
          else
            {
              tt = t - P1_CONTACT_S;
              d = contact * (1 - SHRINK * grow (tt));
              rn = rbar * (RN0 + (RNINF - RN0) * grow (tt));
            }
        }
      else
        {
          d = contact * (1 - SHRINK * grow (tt));
          rn = rbar * (RN0 + (RNINF - RN0) * grow (tt));
        }
      if (g->role == ROLE_P2 && t > P2_CONTACT_S)
        d += rbar * P2_PUSH * (1 - exp (-(t - P2_CONTACT_S) / P2_TAU_S));
      /* a and b symmetric about the anchor (in xy) */
      double a3[3] = { g->cx, g->cy, c[l0][2] }, b3[3];
      place_from (a3, c[l0 + 1][2], d, g->phi, b3);
      double mx = 0.5 * (b3[0] - a3[0]), my = 0.5 * (b3[1] - a3[1]);
      c[l0][0] = g->cx - mx;
      c[l0][1] = g->cy - my;
      c[l0 + 1][0] = g->cx + mx;
      c[l0 + 1][1] = g->cy + my;
      if (rn > 0)
        {
          double nk[3] = { l0 + 1, l0 + 2, rn };
          g_array_append_val (necks, nk);
        }
      if (g->role == ROLE_P2)
        {
          /* c comes from 70° off the a→b axis and sinters with b after contact */
          double psi = g->phi + P2_ANGLE;
          double contact_c = g->r[1] + g->r[2];
          double dc, rnc = 0;
          if (t < P2_CONTACT_S)
            dc = contact_c * (1 + P2_GAP * (1 - t / P2_CONTACT_S));
          else
            {
              dc = contact_c * (1 - SHRINK * grow (t - P2_CONTACT_S));
              rnc = 0.5 * (g->r[1] + g->r[2]) * (RN0 + (RNINF - RN0) * grow (t - P2_CONTACT_S));
            }
          double bb[3] = { c[l0 + 1][0], c[l0 + 1][1], c[l0 + 1][2] }, cc[3];
          place_from (bb, c[l0 + 2][2], dc, psi, cc);
          c[l0 + 2][0] = cc[0];
          c[l0 + 2][1] = cc[1];
          if (rnc > 0)
            {
              double nk[3] = { l0 + 2, l0 + 3, rnc };
              g_array_append_val (necks, nk);
            }
        }
      (void) ux;
      (void) uy;
    }
  for (guint i = 0; i < lay.n_cores; i++)
    kiln_phantom_add_core (ph, c[i][0], c[i][1], c[i][2], semi[i][0], semi[i][1], semi[i][2]);

  gboolean ok = TRUE;
  for (guint i = 0; i < necks->len && ok; i++)
    {
      double *nk = g_array_index (necks, Vec3, i);
      ok = kiln_phantom_add_neck (ph, (guint32) nk[0], (guint32) nk[1], nk[2], error);
    }
  g_array_free (necks, TRUE);

  /* shell particles: rigidly attached to their core, same for every time point */
  if (ok && p->shell && p->shell_coverage > 0)
    {
      double rs = 0.5 * p->shell_diameter_nm;
      for (guint i = 0; i < lay.n_cores; i++)
        {
          g_autoptr (GRand) r = stream_new (p->seed, STREAM_SHELL, i, 0);
          double area = 4 * G_PI * pow (semi[i][0] * semi[i][1] * semi[i][2], 2.0 / 3.0);
          guint ns = (guint) floor (p->shell_coverage * area / (G_PI * rs * rs) + 0.5);
          for (guint k = 0; k < ns; k++)
            {
              double u = g_rand_double_range (r, -1, 1), ph_ = g_rand_double_range (r, 0, 2 * G_PI);
              double s = sqrt (1 - u * u);
              double dir[3] = { s * cos (ph_), s * sin (ph_), u };
              double q = 0;
              for (int j = 0; j < 3; j++)
                q += (dir[j] / semi[i][j]) * (dir[j] / semi[i][j]);
              double dist = 1 / sqrt (q) + rs + 0.3 * g_rand_double (r) * rs;
              double pc[3];
              for (int j = 0; j < 3; j++)
                pc[j] = c[i][j] + dist * dir[j];
              if (pc[2] - rs < ztop)
                continue;
              kiln_phantom_add_shell (ph, pc[0], pc[1], pc[2], rs);
            }
        }
    }
  g_free (c);
  g_free (semi);
  g_free (lay.groups);
  if (!ok)
    return NULL;
  return g_steal_pointer (&ph);
}

guint32 *
kiln_sim_tracked_pairs (const KilnSimParams *p,
                        guint               *n_pairs)
{
  Layout lay = { 0 };
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint32));
  *n_pairs = 0;
  if (layout_build (p, &lay, NULL))
    {
      /* P1, P2 first (as in the paper), then the other pairs, then P2's disturber */
      Role order[3] = { ROLE_P1, ROLE_P2, ROLE_PAIR };
      for (int o = 0; o < 3; o++)
        for (guint i = 0; i < lay.n_groups; i++)
          if (lay.groups[i].role == order[o])
            {
              guint32 x = lay.groups[i].first, y = x + 1;
              g_array_append_val (a, x);
              g_array_append_val (a, y);
            }
      for (guint i = 0; i < lay.n_groups; i++)
        if (lay.groups[i].role == ROLE_P2)
          {
            guint32 x = lay.groups[i].first + 1, y = x + 1;
            g_array_append_val (a, x);
            g_array_append_val (a, y);
          }
      g_free (lay.groups);
    }
  *n_pairs = a->len / 2;
  return (guint32 *) g_array_free (a, FALSE);
}

/* ---------- acquisition ---------- */

static void
gaussian_blur (float  *img,
               guint   w,
               guint   h,
               double  sigma_px,
               float  *tmp)
{
  if (!(sigma_px > 0.05))
    return;
  int rad = (int) ceil (3.5 * sigma_px);
  double *k = g_new (double, 2 * rad + 1);
  double s = 0;
  for (int i = -rad; i <= rad; i++)
    s += k[i + rad] = exp (-0.5 * i * i / (sigma_px * sigma_px));
  for (int i = 0; i <= 2 * rad; i++)
    k[i] /= s;
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double acc = 0;
        for (int i = -rad; i <= rad; i++)
          {
            int xx = CLAMP ((int) x + i, 0, (int) w - 1);
            acc += k[i + rad] * img[(gsize) y * w + xx];
          }
        tmp[(gsize) y * w + x] = (float) acc;
      }
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double acc = 0;
        for (int i = -rad; i <= rad; i++)
          {
            int yy = CLAMP ((int) y + i, 0, (int) h - 1);
            acc += k[i + rad] * tmp[(gsize) yy * w + x];
          }
        img[(gsize) y * w + x] = (float) acc;
      }
  g_free (k);
}

/* One noisy frame from its expectation @mean: Poisson on the electron counts, then scan noise. */
static gboolean
noisy_frame (const KilnSimParams *p,
             const float         *mean,
             float               *out,
             guint64              shot_seed_a,
             guint                shot_purpose,
             guint                scan_purpose,
             guint                b,
             GError             **error)
{
  guint w = p->size_px, h = p->size_px;
  gsize n = (gsize) w * h;
  if (p->shot_noise)
    {
      g_autoptr (GRand) r = stream_new (p->seed, shot_purpose, (guint) shot_seed_a, b);
      for (gsize i = 0; i < n; i++)
        {
          double lambda = (mean[i] - p->detector_offset) / p->detector_gain;
          out[i] = (float) (p->detector_offset + p->detector_gain * rand_poisson (r, lambda));
        }
    }
  else
    memcpy (out, mean, n * sizeof (float));
  if (p->scan_noise_variance > 0)
    {
      g_autofree float *noise = g_new (float, n);
      if (!kiln_noise_realize (p->scan_noise, w, h, p->scan_noise_variance,
                               stream_seed (p->seed, scan_purpose, (guint) shot_seed_a, b),
                               noise, error))
        return FALSE;
      for (gsize i = 0; i < n; i++)
        out[i] += noise[i];
    }
  return TRUE;
}

static void
sub_progress (double      fraction,
              const char *message,
              gpointer    data)
{
  kiln_progress_report ((const KilnProgress *) data, fraction, message);
}

static KilnImageStack *
stack_new (const KilnSimParams *p,
           guint                n,
           const double        *angles,
           double               t,
           double               temp,
           GError             **error)
{
  KilnImageStack *s = kiln_image_stack_new (n, p->size_px, p->size_px, error);
  if (s == NULL)
    return NULL;
  kiln_image_stack_set_angles (s, angles, n, NULL);
  s->pixel_size_nm = p->pixel_size_nm;
  s->time_s = t;
  s->temperature_c = temp;
  return s;
}

void
kiln_sim_time_point_free (KilnSimTimePoint *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->tilts, kiln_image_stack_unref);
  g_clear_pointer (&self->noise_free, kiln_image_stack_unref);
  g_clear_pointer (&self->clean, kiln_image_stack_unref);
  g_clear_pointer (&self->projections, kiln_image_stack_unref);
  g_free (self->true_angles_deg);
  g_free (self->drift);
  kiln_phantom_free (self->phantom);
  g_clear_pointer (&self->volume, kiln_volume_unref);
  g_clear_pointer (&self->labels, kiln_label_volume_unref);
  g_free (self->particles);
  g_free (self->pairs);
  g_free (self);
}

KilnSimTimePoint *
kiln_sim_time_point_new (const KilnSimParams *params,
                         guint                tp,
                         GCancellable        *cancellable,
                         KilnProgressFunc     progress,
                         gpointer             progress_data,
                         GError             **error)
{
  if (!kiln_sim_params_validate (params, error))
    return NULL;
  if (tp >= params->n_time_points)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Simulation: time point %u requested of %u", tp + 1, params->n_time_points);
      return NULL;
    }
  KilnProgress prog;
  kiln_progress_init (&prog, progress, progress_data);
  const KilnSimParams *p = params;
  g_autoptr (KilnSimTimePoint) s = g_new0 (KilnSimTimePoint, 1);
  s->params = *p;
  s->time_point = tp;
  kiln_sim_schedule_entry (kiln_sim_schedule_index (p, tp), &s->time_s, &s->temperature_c);
  s->axis_angle_deg = p->axis_angle_deg;
  s->axis_shift_px = p->axis_shift_px;

  s->phantom = kiln_sim_phantom (p, tp, error);
  if (s->phantom == NULL)
    return NULL;

  guint n;
  g_autofree double *nominal = kiln_sim_nominal_angles (p, &n);
  s->n_tilts = n;
  s->true_angles_deg = g_new (double, n);
  s->drift = g_new (KilnXf, n);
  {
    g_autoptr (GRand) ra = stream_new (p->seed, STREAM_ANGLES, tp, 0);
    g_autoptr (GRand) rd = stream_new (p->seed, STREAM_DRIFT, tp, 0);
    for (guint k = 0; k < n; k++)
      {
        double e = rand_normal (ra);
        s->true_angles_deg[k] = nominal[k] + p->angle_error_sd_deg * e;
        kiln_xf_identity (&s->drift[k]);
        double dx = rand_normal (rd), dy = rand_normal (rd);
        s->drift[k].dx = p->drift_sigma_px * dx;
        s->drift[k].dy = p->drift_sigma_px * dy;
      }
  }

  if ((s->projections = stack_new (p, n, s->true_angles_deg, s->time_s, s->temperature_c, error)) == NULL
      || (s->clean = stack_new (p, n, nominal, s->time_s, s->temperature_c, error)) == NULL
      || (s->noise_free = stack_new (p, n, nominal, s->time_s, s->temperature_c, error)) == NULL
      || (s->tilts = stack_new (p, n, nominal, s->time_s, s->temperature_c, error)) == NULL)
    return NULL;

  double frac_proj = p->make_volume ? 0.45 : 0.8;
  KilnProgress sub = kiln_progress_sub (&prog, 0, frac_proj);
  if (!kiln_phantom_project (s->phantom, s->true_angles_deg, n, p->size_px, p->size_px,
                             p->pixel_size_nm, p->axis_angle_deg, p->axis_shift_px,
                             s->projections->data, cancellable, sub_progress, &sub, error))
    return NULL;

  /* detector model */
  guint w = p->size_px, h = p->size_px;
  gsize npix = (gsize) w * h;
  double sigma_px = p->scatter_per_nm * p->pixel_size_nm;
  s->electrons_per_px = p->dose_e_nm2 / n * p->pixel_size_nm * p->pixel_size_nm;
  s->counts_per_unit = p->detector_gain * s->electrons_per_px * sigma_px;
  double blur_px = p->probe_sigma_nm / p->pixel_size_nm;
  gboolean failed = FALSE;
  GError *first_error = NULL;

#pragma omp parallel
  {
    float *tmp = g_new (float, npix);
#pragma omp for schedule(dynamic, 1)
    for (guint k = 0; k < n; k++)
      {
        const float *pk = s->projections->data + k * npix;
        float *ck = s->clean->data + k * npix;
        float *dk = s->noise_free->data + k * npix;
        float *tk = s->tilts->data + k * npix;
        memcpy (ck, pk, npix * sizeof (float));
        gaussian_blur (ck, w, h, blur_px, tmp);
        for (gsize i = 0; i < npix; i++)
          ck[i] = (float) (p->detector_offset + s->counts_per_unit * ck[i]);
        /* fill from outside the field: the mean of the clean image's border (vacuum/membrane) */
        double border = 0;
        for (guint i = 0; i < w; i++)
          border += ck[i] + ck[(gsize) (h - 1) * w + i];
        for (guint j = 0; j < h; j++)
          border += ck[(gsize) j * w] + ck[(gsize) j * w + w - 1];
        border /= 2.0 * (w + h);
        kiln_transform_image (ck, w, h, &s->drift[k], KILN_INTERP_CUBIC, (float) border, dk, NULL);
        if (p->shot_noise)
          {
            g_autoptr (GRand) r = stream_new (p->seed, STREAM_SHOT, tp, k);
            for (gsize i = 0; i < npix; i++)
              {
                double lambda = (dk[i] - p->detector_offset) / p->detector_gain;
                tk[i] = (float) (p->detector_offset + p->detector_gain * rand_poisson (r, lambda));
              }
          }
        else
          memcpy (tk, dk, npix * sizeof (float));
      }
    g_free (tmp);
  }
  if (kiln_check_cancelled (cancellable, error))
    return NULL;
  if (p->scan_noise_variance > 0)
    {
      /* one independent, seeded realisation per tilt: the thread that computes it does not
       * matter */
#pragma omp parallel
      {
        float *noise = g_new (float, npix);
#pragma omp for schedule(dynamic, 1)
        for (guint k = 0; k < n; k++)
          {
            GError *e = NULL;
            gboolean bad;
#pragma omp atomic read
            bad = failed;
            if (bad)
              continue;
            if (!kiln_noise_realize (p->scan_noise, w, h, p->scan_noise_variance,
                                     stream_seed (p->seed, STREAM_SCAN, tp, k), noise, &e))
              {
#pragma omp critical (kiln_sim_error)
                {
                  if (first_error == NULL)
                    first_error = e;
                  else
                    g_error_free (e);
                  failed = TRUE;
                }
                continue;
              }
            float *tk = s->tilts->data + k * npix;
            for (gsize i = 0; i < npix; i++)
              tk[i] += noise[i];
          }
        g_free (noise);
      }
      if (failed)
        {
          g_propagate_error (error, first_error);
          return NULL;
        }
    }
  kiln_progress_report (&prog, frac_proj + 0.05, "Acquisition model");

  if (p->make_volume)
    {
      g_autofree double *lv = NULL;
      KilnProgress vsub = kiln_progress_sub (&prog, frac_proj + 0.05, 0.97);
      if (!kiln_phantom_voxelize (s->phantom, p->size_px, p->size_px, p->depth_px,
                                  p->pixel_size_nm, p->supersample, &s->volume, &s->labels, &lv,
                                  cancellable, sub_progress, &vsub, error))
        return NULL;
      s->particles = kiln_phantom_particle_truth (s->phantom, s->labels, lv, &s->n_particles);
    }
  else
    s->particles = kiln_phantom_particle_truth (s->phantom, NULL, NULL, &s->n_particles);

  guint np;
  g_autofree guint32 *pairs = kiln_sim_tracked_pairs (p, &np);
  s->n_pairs = np;
  s->pairs = g_new0 (KilnPairTruth, MAX (np, 1));
  for (guint i = 0; i < np; i++)
    if (!kiln_phantom_pair_truth (s->phantom, s->labels, pairs[2 * i], pairs[2 * i + 1],
                                  &s->pairs[i], error))
      return NULL;
  kiln_progress_report (&prog, 1.0, NULL);
  return g_steal_pointer (&s);
}

gboolean
kiln_sim_reference_pair (const KilnSimParams *params,
                         float              **raw,
                         float              **average,
                         GCancellable        *cancellable,
                         GError             **error)
{
  if (!kiln_sim_params_validate (params, error))
    return FALSE;
  const KilnSimParams *p = params;
  g_autoptr (KilnPhantom) ph = kiln_sim_phantom (p, 0, error);
  if (ph == NULL)
    return FALSE;
  guint w = p->size_px, h = p->size_px, n_series = kiln_sim_n_tilts (p);
  gsize npix = (gsize) w * h;
  double zero = 0;
  g_autofree float *mean = kiln_alloc (npix, sizeof (float), TRUE, "reference image", error);
  if (mean == NULL)
    return FALSE;
  if (!kiln_phantom_project (ph, &zero, 1, w, h, p->pixel_size_nm, p->axis_angle_deg,
                             p->axis_shift_px, mean, cancellable, NULL, NULL, error))
    return FALSE;
  g_autofree float *tmp = g_new (float, npix);
  gaussian_blur (mean, w, h, p->probe_sigma_nm / p->pixel_size_nm, tmp);
  double cpu = p->detector_gain * (p->dose_e_nm2 / n_series * p->pixel_size_nm * p->pixel_size_nm)
               * p->scatter_per_nm * p->pixel_size_nm;
  for (gsize i = 0; i < npix; i++)
    mean[i] = (float) (p->detector_offset + cpu * mean[i]);

  guint nf = p->reference_frames;
  float *frames = kiln_alloc ((gsize) nf, npix * sizeof (float), FALSE, "reference frames", error);
  if (frames == NULL)
    return FALSE;
  gboolean failed = FALSE;
  GError *first_error = NULL;
#pragma omp parallel for schedule(dynamic, 1)
  for (guint f = 0; f < nf; f++)
    {
      gboolean bad;
#pragma omp atomic read
      bad = failed;
      if (bad || g_cancellable_is_cancelled (cancellable))
        continue;
      GError *e = NULL;
      if (!noisy_frame (p, mean, frames + (gsize) f * npix, f, STREAM_REF_SHOT, STREAM_REF_SCAN, 0, &e))
        {
#pragma omp critical (kiln_sim_error)
          {
            if (first_error == NULL)
              first_error = e;
            else
              g_error_free (e);
            failed = TRUE;
          }
        }
    }
  if (failed || kiln_check_cancelled (cancellable, error))
    {
      if (failed)
        g_propagate_error (error, first_error);
      kiln_free (frames);
      return FALSE;
    }
  /* fixed summation order: deterministic */
  double *acc = g_new0 (double, npix);
  for (guint f = 0; f < nf; f++)
    for (gsize i = 0; i < npix; i++)
      acc[i] += frames[(gsize) f * npix + i];
  float *r0 = g_new (float, npix);
  memcpy (r0, frames, npix * sizeof (float));
  kiln_free (frames);
  float *avg = g_new (float, npix);
  for (gsize i = 0; i < npix; i++)
    avg[i] = (float) (acc[i] / nf);
  g_free (acc);
  *raw = r0;
  *average = avg;
  return TRUE;
}

/* ---------- writing an experiment folder ---------- */

static gboolean
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      if (d)
        {
          const char *n;
          while ((n = g_dir_read_name (d)) != NULL)
            {
              g_autofree char *c = g_build_filename (path, n, NULL);
              remove_tree (c);
            }
          g_dir_close (d);
        }
      return g_rmdir (path) == 0;
    }
  return g_unlink (path) == 0;
}

static gboolean
make_dir (const char  *path,
          GError     **error)
{
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot create folder: %s",
                   path, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

static JsonObject *
params_to_json (const KilnSimParams *p)
{
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "seed", (gint64) p->seed);
  json_object_set_int_member (o, "time_points", p->n_time_points);
  json_object_set_int_member (o, "size_px", p->size_px);
  json_object_set_int_member (o, "depth_px", p->depth_px);
  json_object_set_double_member (o, "pixel_size_nm", p->pixel_size_nm);
  json_object_set_int_member (o, "particles", p->n_particles);
  json_object_set_double_member (o, "core_diameter_nm", p->core_diameter_nm);
  json_object_set_double_member (o, "core_diameter_sd_nm", p->core_diameter_sd_nm);
  json_object_set_double_member (o, "h_over_w_sd", p->h_over_w_sd);
  json_object_set_boolean_member (o, "shell", p->shell);
  json_object_set_double_member (o, "shell_diameter_nm", p->shell_diameter_nm);
  json_object_set_double_member (o, "shell_coverage", p->shell_coverage);
  json_object_set_boolean_member (o, "membrane", p->membrane);
  json_object_set_double_member (o, "membrane_thickness_nm", p->membrane_thickness_nm);
  json_object_set_boolean_member (o, "scenario", p->scenario);
  json_object_set_double_member (o, "tilt_min_deg", p->tilt_min_deg);
  json_object_set_double_member (o, "tilt_max_deg", p->tilt_max_deg);
  json_object_set_double_member (o, "tilt_step_deg", p->tilt_step_deg);
  json_object_set_double_member (o, "angle_error_sd_deg", p->angle_error_sd_deg);
  json_object_set_double_member (o, "axis_angle_deg", p->axis_angle_deg);
  json_object_set_double_member (o, "axis_shift_px", p->axis_shift_px);
  json_object_set_double_member (o, "probe_sigma_nm", p->probe_sigma_nm);
  json_object_set_double_member (o, "dose_e_nm2", p->dose_e_nm2);
  json_object_set_boolean_member (o, "shot_noise", p->shot_noise);
  json_object_set_double_member (o, "scatter_per_nm", p->scatter_per_nm);
  json_object_set_double_member (o, "detector_gain", p->detector_gain);
  json_object_set_double_member (o, "detector_offset", p->detector_offset);
  json_object_set_string_member (o, "scan_noise", kiln_noise_kind_to_string (p->scan_noise));
  json_object_set_double_member (o, "scan_noise_variance", p->scan_noise_variance);
  json_object_set_double_member (o, "drift_sigma_px", p->drift_sigma_px);
  json_object_set_int_member (o, "supersample", p->supersample);
  json_object_set_boolean_member (o, "truth_volumes", p->make_volume);
  json_object_set_int_member (o, "reference_frames", p->reference_frames);
  return o;
}

static gboolean
save_json (JsonObject  *o,
           const char  *path,
           GError     **error)
{
  g_autoptr (JsonNode) n = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (n, o);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, n);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  g_autofree char *t2 = g_strconcat (text, "\n", NULL);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents (path, t2, -1, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot save: %s", path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_time_point (const KilnSimTimePoint *s,
                  const char             *dir,
                  GError                **error)
{
  const KilnSimParams *p = &s->params;
  g_autofree char *truth = g_build_filename (dir, "truth", NULL);
  if (!make_dir (truth, error))
    return FALSE;
  g_autofree char *f_tilts = g_build_filename (dir, "tilts.mrc", NULL);
  g_autofree char *f_tlt = g_build_filename (dir, "angles.tlt", NULL);
  g_autofree char *label = g_strdup_printf ("Kiln simulation PT %g s, %g C, seed %" G_GUINT64_FORMAT,
                                            s->time_s, s->temperature_c, p->seed);
  if (!kiln_mrc_save_stack (s->tilts, f_tilts, label, error)
      || !kiln_tlt_save (f_tlt, s->tilts->angles_deg, s->n_tilts, error))
    return FALSE;
  if (s->volume)
    {
      g_autofree char *f_vol = g_build_filename (truth, "volume.mrc", NULL);
      g_autofree char *f_lab = g_build_filename (truth, "labels.mrc", NULL);
      if (!kiln_mrc_save_volume (s->volume, f_vol, "Kiln simulation truth volume", error)
          || !kiln_mrc_save_labels (s->labels, f_lab, "Kiln simulation truth labels", error))
        return FALSE;
    }
  g_autofree char *f_xf = g_build_filename (truth, "drift.xf", NULL);
  if (!kiln_xf_save (f_xf, s->drift, s->n_tilts, error))
    return FALSE;

  const char *pcols[] = { "time_point", "pt_time_s", "label", "x_nm", "y_nm", "z_nm",
                          "radius_nm", "volume_nm3", "semi_x_nm", "semi_y_nm", "semi_z_nm",
                          "h_over_w", "voxels", NULL };
  g_autoptr (KilnCsv) pc = kiln_csv_new (pcols);
  for (guint i = 0; i < s->n_particles; i++)
    {
      const KilnParticleTruth *t = &s->particles[i];
      double row[] = { s->time_point + 1, s->time_s, t->label, t->centre_nm[0], t->centre_nm[1],
                       t->centre_nm[2], t->radius_nm, t->volume_nm3, t->semi_nm[0], t->semi_nm[1],
                       t->semi_nm[2], t->h_over_w, s->volume ? (double) t->voxels : NAN };
      kiln_csv_add_row (pc, row);
    }
  g_autofree char *f_pc = g_build_filename (truth, "particles.csv", NULL);
  if (!kiln_csv_save (pc, f_pc, error))
    return FALSE;

  const char *qcols[] = { "time_point", "pt_time_s", "a", "b", "r_n_nm", "d_xy_nm", "d_z_nm",
                          "d_nm", "r_p_nm", "h_over_w", "neck_radius_3d_nm", "distance_3d_nm",
                          "radius_3d_nm", "centre_distance_nm", NULL };
  g_autoptr (KilnCsv) qc = kiln_csv_new (qcols);
  for (guint i = 0; i < s->n_pairs; i++)
    {
      const KilnPairTruth *q = &s->pairs[i];
      double row[] = { s->time_point + 1, s->time_s, q->a, q->b, q->r_n_nm, q->d_xy_nm, q->d_z_nm,
                       q->d_nm, q->r_p_nm, q->h_over_w, q->neck_radius_3d_nm, q->distance_3d_nm,
                       q->radius_3d_nm, q->centre_distance_nm };
      kiln_csv_add_row (qc, row);
    }
  g_autofree char *f_qc = g_build_filename (truth, "pairs.csv", NULL);
  if (!kiln_csv_save (qc, f_qc, error))
    return FALSE;

  g_autoptr (JsonObject) ax = json_object_new ();
  json_object_set_double_member (ax, "axis_angle_deg", s->axis_angle_deg);
  json_object_set_double_member (ax, "axis_shift_px", s->axis_shift_px);
  json_object_set_double_member (ax, "pixel_size_nm", p->pixel_size_nm);
  json_object_set_double_member (ax, "pt_time_s", s->time_s);
  json_object_set_double_member (ax, "temperature_C", s->temperature_c);
  JsonArray *nom = json_array_new (), *tru = json_array_new ();
  for (guint k = 0; k < s->n_tilts; k++)
    {
      json_array_add_double_element (nom, s->tilts->angles_deg[k]);
      json_array_add_double_element (tru, s->true_angles_deg[k]);
    }
  json_object_set_array_member (ax, "nominal_angles_deg", nom);
  json_object_set_array_member (ax, "true_angles_deg", tru);
  json_object_set_string_member (ax, "drift_xf", "drift.xf");
  json_object_set_string_member (ax, "drift_semantics",
                                 "IMOD .xf applied to the noise-free image of each tilt: the "
                                 "content moved by (dx, dy) px; apply the inverse to align");
  json_object_set_double_member (ax, "electrons_per_px", s->electrons_per_px);
  json_object_set_double_member (ax, "counts_per_unit", s->counts_per_unit);
  json_object_set_double_member (ax, "detector_offset", p->detector_offset);
  json_object_set_double_member (ax, "detector_gain", p->detector_gain);
  json_object_set_double_member (ax, "volume_weight_core", s->phantom->weight[KILN_MATERIAL_CORE]);
  json_object_set_double_member (ax, "volume_weight_shell", s->phantom->weight[KILN_MATERIAL_SHELL]);
  json_object_set_double_member (ax, "volume_weight_membrane",
                                 s->phantom->weight[KILN_MATERIAL_MEMBRANE]);
  g_autofree char *f_ax = g_build_filename (truth, "axis.json", NULL);
  return save_json (ax, f_ax, error);
}

gboolean
kiln_sim_write_experiment (const KilnSimParams *params,
                           const char          *outdir,
                           GCancellable        *cancellable,
                           KilnProgressFunc     progress,
                           gpointer             progress_data,
                           GError             **error)
{
  if (!kiln_sim_params_validate (params, error))
    return FALSE;
  if (g_file_test (outdir, G_FILE_TEST_EXISTS))
    {
      GDir *d = g_file_test (outdir, G_FILE_TEST_IS_DIR) ? g_dir_open (outdir, 0, NULL) : NULL;
      gboolean empty = d != NULL && g_dir_read_name (d) == NULL;
      if (d)
        g_dir_close (d);
      if (!empty)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "%s: exists and is not an empty folder; choose a new output folder",
                       outdir);
          return FALSE;
        }
    }
  /* check the layout once before writing anything */
  {
    g_autoptr (KilnPhantom) ph = kiln_sim_phantom (params, 0, error);
    if (ph == NULL)
      return FALSE;
  }
  g_autofree char *parent = g_path_get_dirname (outdir);
  g_autofree char *base = g_path_get_basename (outdir);
  if (!make_dir (parent, error))
    return FALSE;
  g_autofree char *tmpl = g_strdup_printf ("%s/.%s.partial-XXXXXX", parent, base);
  if (g_mkdtemp (tmpl) == NULL)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot create a folder "
                   "next to it: %s", outdir, g_strerror (e));
      return FALSE;
    }
  KilnProgress prog;
  kiln_progress_init (&prog, progress, progress_data);
  g_autoptr (KilnExperiment) exp = kiln_experiment_new ();
  exp->title = g_strdup_printf ("Simulated sintering experiment (seed %" G_GUINT64_FORMAT ")",
                                params->seed);
  exp->pixel_size_nm = params->pixel_size_nm;
  exp->simulation = params_to_json (params);
  gboolean ok = TRUE;
  guint ntp = params->n_time_points;
  for (guint tp = 0; tp < ntp && ok; tp++)
    {
      KilnProgress sub = kiln_progress_sub (&prog, (double) tp / (ntp + 1), (double) (tp + 1) / (ntp + 1));
      g_autoptr (KilnSimTimePoint) s = kiln_sim_time_point_new (params, tp, cancellable,
                                                                sub_progress, &sub, error);
      if (s == NULL)
        {
          ok = FALSE;
          break;
        }
      g_autofree char *name = g_strdup_printf ("tp%02u", tp + 1);
      g_autofree char *dir = g_build_filename (tmpl, name, NULL);
      if (!make_dir (dir, error) || !write_time_point (s, dir, error))
        {
          ok = FALSE;
          break;
        }
      g_autofree char *r_tilts = g_strdup_printf ("%s/tilts.mrc", name);
      g_autofree char *r_tlt = g_strdup_printf ("%s/angles.tlt", name);
      g_autofree char *r_truth = g_strdup_printf ("%s/truth", name);
      kiln_experiment_add_time_point (exp, name, s->time_s, s->temperature_c, r_tilts, r_tlt,
                                      r_truth);
    }
  if (ok)
    {
      kiln_progress_report (&prog, (double) ntp / (ntp + 1), "Reference frames");
      g_autofree float *raw = NULL;
      g_autofree float *avg = NULL;
      g_autofree char *rdir = g_build_filename (tmpl, "reference", NULL);
      g_autofree char *f_raw = g_build_filename (rdir, "raw.tif", NULL);
      g_autofree char *avg_name = g_strdup_printf ("average%u.tif", params->reference_frames);
      g_autofree char *f_avg = g_build_filename (rdir, avg_name, NULL);
      ok = kiln_sim_reference_pair (params, &raw, &avg, cancellable, error)
           && make_dir (rdir, error)
           && kiln_tiff_save_image (raw, params->size_px, params->size_px, params->pixel_size_nm,
                                    f_raw, error)
           && kiln_tiff_save_image (avg, params->size_px, params->size_px, params->pixel_size_nm,
                                    f_avg, error);
      exp->reference_raw = g_strdup ("reference/raw.tif");
      exp->reference_average = g_strdup_printf ("reference/%s", avg_name);
    }
  if (ok)
    ok = kiln_experiment_save (exp, tmpl, error);
  if (ok)
    {
      if (g_file_test (outdir, G_FILE_TEST_IS_DIR))
        g_rmdir (outdir);   /* empty, checked above */
      if (g_rename (tmpl, outdir) != 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: cannot move the "
                       "finished experiment into place: %s", outdir, g_strerror (e));
          ok = FALSE;
        }
    }
  if (!ok)
    remove_tree (tmpl);
  else
    kiln_progress_report (&prog, 1.0, NULL);
  return ok;
}
