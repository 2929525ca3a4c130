/* kiln-phantom.c — analytic sintering phantoms
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
# include <omp.h>
#endif

#include "kiln-alloc.h"
#include "kiln-error.h"
#include "kiln-phantom.h"

#define MAX_INTERVALS 512

/* ---------- small vector helpers ---------- */

static inline double
dot3 (const double a[3], const double b[3])
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline double
min_semi (const KilnPhantomParticle *p)
{
  return MIN (p->semi_nm[0], MIN (p->semi_nm[1], p->semi_nm[2]));
}

static inline double
max_semi (const KilnPhantomParticle *p)
{
  return MAX (p->semi_nm[0], MAX (p->semi_nm[1], p->semi_nm[2]));
}

/* k² = Σ ((p − c)/s)² */
static inline double
ellipsoid_k2 (const KilnPhantomParticle *e,
              const double               p[3])
{
  double k2 = 0;
  for (int i = 0; i < 3; i++)
    {
      double q = (p[i] - e->centre_nm[i]) / e->semi_nm[i];
      k2 += q * q;
    }
  return k2;
}

/* Chord of the line o + s·dir through the ellipsoid: FALSE if missed. */
static gboolean
ellipsoid_chord (const KilnPhantomParticle *e,
                 const double               o[3],
                 const double               dir[3],
                 double                    *s0,
                 double                    *s1)
{
  double a = 0, b = 0, c = -1;
  for (int i = 0; i < 3; i++)
    {
      double oi = (o[i] - e->centre_nm[i]) / e->semi_nm[i];
      double di = dir[i] / e->semi_nm[i];
      a += di * di;
      b += oi * di;
      c += oi * oi;
    }
  double disc = b * b - a * c;
  if (disc <= 0 || a <= 0)
    return FALSE;
  double sq = sqrt (disc);
  /* numerically stable roots */
  double q = (b > 0) ? -(b + sq) : -(b - sq);
  double r0 = q / a, r1 = (q != 0) ? c / q : -r0;
  *s0 = MIN (r0, r1);
  *s1 = MAX (r0, r1);
  return TRUE;
}

/* ---------- necks ---------- */

typedef struct
{
  double ca[3];
  double e[3];
  double d;
  double t0;
  double rn;
  double Ra, Rb;
  double rmax;      /* bounding cylinder radius */
  double slope;     /* Lipschitz constant of the profile */
  guint32 a, b;
  const KilnPhantomParticle *pa, *pb;
} NeckGeom;

static inline double
neck_profile (const NeckGeom *g,
              double          t)
{
  if (t <= g->t0)
    {
      double u = (g->t0 - t) / g->t0;
      return g->rn + (g->Ra - g->rn) * u * u;
    }
  double u = (t - g->t0) / (g->d - g->t0);
  return g->rn + (g->Rb - g->rn) * u * u;
}

/* t along the axis and squared distance from it */
static inline void
neck_coords (const NeckGeom *g,
             const double    p[3],
             double         *t,
             double         *rho2)
{
  double q[3] = { p[0] - g->ca[0], p[1] - g->ca[1], p[2] - g->ca[2] };
  *t = dot3 (q, g->e);
  *rho2 = MAX (0.0, dot3 (q, q) - *t * *t);
}

static inline gboolean
neck_inside (const NeckGeom *g,
             const double    p[3])
{
  double t, rho2;
  neck_coords (g, p, &t, &rho2);
  if (t < 0 || t > g->d)
    return FALSE;
  double r = neck_profile (g, t);
  return rho2 <= r * r;
}

static void
neck_geom (const KilnPhantom     *ph,
           const KilnPhantomNeck *n,
           NeckGeom              *g)
{
  const KilnPhantomParticle *pa = &ph->cores[n->a - 1];
  const KilnPhantomParticle *pb = &ph->cores[n->b - 1];
  double v[3];
  for (int i = 0; i < 3; i++)
    {
      g->ca[i] = pa->centre_nm[i];
      v[i] = pb->centre_nm[i] - pa->centre_nm[i];
    }
  g->d = sqrt (dot3 (v, v));
  for (int i = 0; i < 3; i++)
    g->e[i] = v[i] / g->d;
  g->t0 = n->t0_nm;
  g->rn = n->radius_nm;
  g->Ra = MAX (min_semi (pa), g->rn);
  g->Rb = MAX (min_semi (pb), g->rn);
  g->rmax = MAX (g->Ra, g->Rb);
  g->slope = MAX (2 * (g->Ra - g->rn) / g->t0, 2 * (g->Rb - g->rn) / (g->d - g->t0));
  g->a = n->a;
  g->b = n->b;
  g->pa = pa;
  g->pb = pb;
}

/* Largest distance from the axis point of the ellipsoid's section by the plane ⟂ e at q. */
static double
section_width (const KilnPhantomParticle *p,
               const double               q[3],
               const double               e[3])
{
  double u[3], w[3];
  /* orthonormal basis of the plane */
  double ref[3] = { 1, 0, 0 };
  if (fabs (e[0]) > 0.9)
    {
      ref[0] = 0;
      ref[1] = 1;
    }
  double de = dot3 (ref, e);
  for (int i = 0; i < 3; i++)
    u[i] = ref[i] - de * e[i];
  double nu = sqrt (dot3 (u, u));
  for (int i = 0; i < 3; i++)
    u[i] /= nu;
  w[0] = e[1] * u[2] - e[2] * u[1];
  w[1] = e[2] * u[0] - e[0] * u[2];
  w[2] = e[0] * u[1] - e[1] * u[0];

  gboolean sphere = p->semi_nm[0] == p->semi_nm[1] && p->semi_nm[1] == p->semi_nm[2];
  if (sphere)
    {
      /* exact: the section is a disc around the foot of the centre on the plane */
      double cq[3] = { p->centre_nm[0] - q[0], p->centre_nm[1] - q[1], p->centre_nm[2] - q[2] };
      double h = dot3 (cq, e);
      double r2 = p->semi_nm[0] * p->semi_nm[0] - h * h;
      if (r2 <= 0)
        return 0;
      double off2 = MAX (0.0, dot3 (cq, cq) - h * h);
      return sqrt (off2) + sqrt (r2);
    }
  double best = 0;
  for (int k = 0; k < 720; k++)
    {
      double phi = 2 * G_PI * k / 720;
      double dir[3];
      for (int i = 0; i < 3; i++)
        dir[i] = cos (phi) * u[i] + sin (phi) * w[i];
      double s0, s1;
      if (ellipsoid_chord (p, q, dir, &s0, &s1))
        best = MAX (best, MAX (fabs (s0), fabs (s1)));
    }
  return best;
}

static double
neck_max_section (const KilnPhantom *ph,
                  guint32            a,
                  guint32            b,
                  double             t,
                  const double       e[3])
{
  const KilnPhantomParticle *pa = &ph->cores[a - 1];
  const KilnPhantomParticle *pb = &ph->cores[b - 1];
  double q[3];
  for (int i = 0; i < 3; i++)
    q[i] = pa->centre_nm[i] + t * e[i];
  return MAX (section_width (pa, q, e), section_width (pb, q, e));
}

/* Choose t0 (plane where the larger section is smallest) and the section width there. */
static void
neck_solve (const KilnPhantom *ph,
            KilnPhantomNeck   *n)
{
  const KilnPhantomParticle *pa = &ph->cores[n->a - 1];
  const KilnPhantomParticle *pb = &ph->cores[n->b - 1];
  double v[3], e[3];
  for (int i = 0; i < 3; i++)
    v[i] = pb->centre_nm[i] - pa->centre_nm[i];
  double d = sqrt (dot3 (v, v));
  for (int i = 0; i < 3; i++)
    e[i] = v[i] / d;

  gboolean spheres = pa->semi_nm[0] == pa->semi_nm[1] && pa->semi_nm[1] == pa->semi_nm[2]
                     && pb->semi_nm[0] == pb->semi_nm[1] && pb->semi_nm[1] == pb->semi_nm[2];
  double t0;
  if (spheres)
    {
      double ra = pa->semi_nm[0], rb = pb->semi_nm[0];
      t0 = (d * d + ra * ra - rb * rb) / (2 * d);     /* radical plane */
      t0 = CLAMP (t0, 0.05 * d, 0.95 * d);
    }
  else
    {
      double lo = 0.05 * d, hi = 0.95 * d;
      int nsamp = 64;
      double best_t = lo, best = G_MAXDOUBLE;
      for (int k = 0; k <= nsamp; k++)
        {
          double t = lo + (hi - lo) * k / nsamp;
          double w = neck_max_section (ph, n->a, n->b, t, e);
          if (w < best)
            {
              best = w;
              best_t = t;
            }
        }
      double step = (hi - lo) / nsamp;
      double l = MAX (lo, best_t - step), h = MIN (hi, best_t + step);
      for (int it = 0; it < 40; it++)
        {
          double m1 = l + (h - l) / 3, m2 = h - (h - l) / 3;
          if (neck_max_section (ph, n->a, n->b, m1, e) < neck_max_section (ph, n->a, n->b, m2, e))
            h = m2;
          else
            l = m1;
        }
      t0 = 0.5 * (l + h);
    }
  n->t0_nm = t0;
  n->section_nm = neck_max_section (ph, n->a, n->b, t0, e);
}

/* ---------- phantom object ---------- */

KilnPhantom *
kiln_phantom_new (void)
{
  KilnPhantom *self = g_new0 (KilnPhantom, 1);
  self->weight[KILN_MATERIAL_NONE] = 0;
  self->weight[KILN_MATERIAL_MEMBRANE] = 0.08;
  self->weight[KILN_MATERIAL_SHELL] = 0.35;
  self->weight[KILN_MATERIAL_CORE] = 1.0;
  self->time_s = NAN;
  self->temperature_c = NAN;
  return self;
}

void
kiln_phantom_free (KilnPhantom *self)
{
  if (self == NULL)
    return;
  g_free (self->cores);
  g_free (self->shell);
  g_free (self->necks);
  g_free (self);
}

KilnPhantom *
kiln_phantom_copy (const KilnPhantom *self)
{
  KilnPhantom *c = g_new (KilnPhantom, 1);
  *c = *self;
  c->cores = g_memdup2 (self->cores, sizeof (KilnPhantomParticle) * self->n_cores);
  c->shell = g_memdup2 (self->shell, sizeof (KilnPhantomParticle) * self->n_shell);
  c->necks = g_memdup2 (self->necks, sizeof (KilnPhantomNeck) * self->n_necks);
  return c;
}

guint32
kiln_phantom_add_core (KilnPhantom *self,
                       double       x_nm,
                       double       y_nm,
                       double       z_nm,
                       double       rx_nm,
                       double       ry_nm,
                       double       rz_nm)
{
  g_return_val_if_fail (rx_nm > 0 && ry_nm > 0 && rz_nm > 0, 0);
  self->cores = g_renew (KilnPhantomParticle, self->cores, self->n_cores + 1);
  KilnPhantomParticle *p = &self->cores[self->n_cores++];
  p->centre_nm[0] = x_nm;
  p->centre_nm[1] = y_nm;
  p->centre_nm[2] = z_nm;
  p->semi_nm[0] = rx_nm;
  p->semi_nm[1] = ry_nm;
  p->semi_nm[2] = rz_nm;
  return self->n_cores;
}

void
kiln_phantom_add_shell (KilnPhantom *self,
                        double       x_nm,
                        double       y_nm,
                        double       z_nm,
                        double       r_nm)
{
  g_return_if_fail (r_nm > 0);
  if (self->n_shell % 256 == 0)
    self->shell = g_renew (KilnPhantomParticle, self->shell, self->n_shell + 256);
  KilnPhantomParticle *p = &self->shell[self->n_shell++];
  p->centre_nm[0] = x_nm;
  p->centre_nm[1] = y_nm;
  p->centre_nm[2] = z_nm;
  p->semi_nm[0] = p->semi_nm[1] = p->semi_nm[2] = r_nm;
}

void
kiln_phantom_set_membrane (KilnPhantom *self,
                           double       z_bottom_nm,
                           double       z_top_nm)
{
  self->has_membrane = z_top_nm > z_bottom_nm;
  self->membrane_z_nm[0] = z_bottom_nm;
  self->membrane_z_nm[1] = z_top_nm;
}

gboolean
kiln_phantom_add_neck (KilnPhantom *self,
                       guint32      a,
                       guint32      b,
                       double       radius_nm,
                       GError     **error)
{
  if (a == 0 || b == 0 || a > self->n_cores || b > self->n_cores || a == b)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Neck between particles %u and %u: the labels must be two different "
                   "particles among 1…%u", a, b, self->n_cores);
      return FALSE;
    }
  if (!(radius_nm >= 0) || !isfinite (radius_nm))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Neck between particles %u and %u: radius %g nm is not a finite value ≥ 0",
                   a, b, radius_nm);
      return FALSE;
    }
  const KilnPhantomParticle *pa = &self->cores[a - 1];
  const KilnPhantomParticle *pb = &self->cores[b - 1];
  double v[3];
  for (int i = 0; i < 3; i++)
    v[i] = pb->centre_nm[i] - pa->centre_nm[i];
  double d = sqrt (dot3 (v, v));
  double ma = min_semi (pa), mb = min_semi (pb);
  if (d > max_semi (pa) + max_semi (pb) + MIN (ma, mb) || d < 0.5 * MAX (ma, mb))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Neck between particles %u and %u: centre distance %.3g nm is out of the "
                   "range a neck can bridge", a, b, d);
      return FALSE;
    }
  KilnPhantomNeck n = { .a = a, .b = b, .radius_nm = radius_nm };
  neck_solve (self, &n);
  n.radius_nm = MAX (radius_nm, 1.02 * n.section_nm);
  if (n.radius_nm >= 0.98 * MIN (ma, mb))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Neck between particles %u and %u: radius %.3g nm is not smaller than the "
                   "particles (smallest semi-axis %.3g nm)", a, b, n.radius_nm, MIN (ma, mb));
      return FALSE;
    }
  self->necks = g_renew (KilnPhantomNeck, self->necks, self->n_necks + 1);
  self->necks[self->n_necks++] = n;
  return TRUE;
}

/* ---------- the compiled scene used by the samplers ---------- */

typedef struct
{
  const KilnPhantom *ph;
  NeckGeom          *necks;
  /* pair lookup for overlapping cores: neck index per (a,b) or -1 */
} Scene;

static void
scene_init (Scene             *s,
            const KilnPhantom *ph)
{
  s->ph = ph;
  s->necks = g_new0 (NeckGeom, MAX (ph->n_necks, 1));
  for (guint i = 0; i < ph->n_necks; i++)
    neck_geom (ph, &ph->necks[i], &s->necks[i]);
}

static void
scene_clear (Scene *s)
{
  g_free (s->necks);
}

static int
scene_neck_of (const Scene *s,
               guint32      a,
               guint32      b)
{
  for (guint i = 0; i < s->ph->n_necks; i++)
    if ((s->necks[i].a == a && s->necks[i].b == b) || (s->necks[i].a == b && s->necks[i].b == a))
      return (int) i;
  return -1;
}

static inline guint32
neck_split (const NeckGeom *g,
            const double    p[3])
{
  double q[3] = { p[0] - g->ca[0], p[1] - g->ca[1], p[2] - g->ca[2] };
  return dot3 (q, g->e) < g->t0 ? g->a : g->b;
}

/* Object index lists: cores are 0…nc−1, necks nc…nc+nn−1, shells after. */
static KilnMaterial
scene_material (const Scene   *s,
                const double   p[3],
                const guint   *objs,
                guint          n_objs,
                guint32       *label)
{
  const KilnPhantom *ph = s->ph;
  guint nc = ph->n_cores, nn = ph->n_necks;
  guint32 first = 0, second = 0;
  int neck = -1;
  gboolean shell = FALSE;
  for (guint k = 0; k < n_objs; k++)
    {
      guint o = objs[k];
      if (o < nc)
        {
          if (ellipsoid_k2 (&ph->cores[o], p) <= 1.0)
            {
              if (first == 0)
                first = o + 1;
              else if (second == 0)
                second = o + 1;
            }
        }
      else if (o < nc + nn)
        {
          if (neck < 0 && neck_inside (&s->necks[o - nc], p))
            neck = (int) (o - nc);
        }
      else if (!shell)
        {
          const KilnPhantomParticle *sp = &ph->shell[o - nc - nn];
          double dx = p[0] - sp->centre_nm[0], dy = p[1] - sp->centre_nm[1],
                 dz = p[2] - sp->centre_nm[2];
          if (dx * dx + dy * dy + dz * dz <= sp->semi_nm[0] * sp->semi_nm[0])
            shell = TRUE;
        }
    }
  /* inside two particles: split by their own neck plane (a third particle's neck solid may
   * reach into their lens); inside a neck solid: split by that neck */
  if (neck >= 0 && second == 0)
    {
      *label = neck_split (&s->necks[neck], p);
      return KILN_MATERIAL_CORE;
    }
  if (first != 0)
    {
      if (second != 0)
        {
          int nk = scene_neck_of (s, first, second);
          if (nk >= 0)
            *label = neck_split (&s->necks[nk], p);
          else
            {
              /* no neck between them: nearest in scaled distance */
              double k1 = ellipsoid_k2 (&ph->cores[first - 1], p);
              double k2 = ellipsoid_k2 (&ph->cores[second - 1], p);
              *label = k1 <= k2 ? first : second;
            }
        }
      else
        *label = first;
      return KILN_MATERIAL_CORE;
    }
  *label = 0;
  if (shell)
    return KILN_MATERIAL_SHELL;
  if (ph->has_membrane && p[2] >= ph->membrane_z_nm[0] && p[2] <= ph->membrane_z_nm[1])
    return KILN_MATERIAL_MEMBRANE;
  return KILN_MATERIAL_NONE;
}

static guint *
all_objects (const KilnPhantom *ph,
             guint             *n)
{
  *n = ph->n_cores + ph->n_necks + ph->n_shell;
  guint *o = g_new (guint, MAX (*n, 1));
  for (guint i = 0; i < *n; i++)
    o[i] = i;
  return o;
}

KilnMaterial
kiln_phantom_material_at (const KilnPhantom *self,
                          const double       p_nm[3],
                          guint32           *label)
{
  Scene s;
  guint n;
  guint32 l = 0;
  scene_init (&s, self);
  guint *objs = all_objects (self, &n);
  KilnMaterial m = scene_material (&s, p_nm, objs, n, &l);
  g_free (objs);
  scene_clear (&s);
  if (label)
    *label = l;
  return m;
}

/* Bounding sphere of an object. */
static void
object_bounds (const Scene *s,
               guint        o,
               double       c[3],
               double      *r)
{
  const KilnPhantom *ph = s->ph;
  guint nc = ph->n_cores, nn = ph->n_necks;
  if (o < nc)
    {
      memcpy (c, ph->cores[o].centre_nm, sizeof (double) * 3);
      *r = max_semi (&ph->cores[o]);
    }
  else if (o < nc + nn)
    {
      const NeckGeom *g = &s->necks[o - nc];
      for (int i = 0; i < 3; i++)
        c[i] = g->ca[i] + 0.5 * g->d * g->e[i];
      *r = sqrt (0.25 * g->d * g->d + g->rmax * g->rmax);
    }
  else
    {
      const KilnPhantomParticle *sp = &ph->shell[o - nc - nn];
      memcpy (c, sp->centre_nm, sizeof (double) * 3);
      *r = sp->semi_nm[0];
    }
}

/* ---------- line integrals ---------- */

typedef struct
{
  double s0, s1;
} Interval;

static int
interval_cmp (const void *a,
              const void *b)
{
  double x = ((const Interval *) a)->s0, y = ((const Interval *) b)->s0;
  return (x > y) - (x < y);
}

/* Sort and merge in place; returns the new count. */
static guint
intervals_merge (Interval *iv,
                 guint     n)
{
  if (n <= 1)
    return n;
  qsort (iv, n, sizeof (Interval), interval_cmp);
  guint m = 0;
  for (guint i = 1; i < n; i++)
    {
      if (iv[i].s0 <= iv[m].s1)
        iv[m].s1 = MAX (iv[m].s1, iv[i].s1);
      else
        iv[++m] = iv[i];
    }
  return m + 1;
}

static double
intervals_length (const Interval *iv,
                  guint           n)
{
  double l = 0;
  for (guint i = 0; i < n; i++)
    l += iv[i].s1 - iv[i].s0;
  return l;
}

/* Length of (merged) a minus (merged) b. */
static double
intervals_minus_length (const Interval *a,
                        guint           na,
                        const Interval *b,
                        guint           nb)
{
  double l = intervals_length (a, na);
  for (guint i = 0; i < na; i++)
    for (guint j = 0; j < nb; j++)
      {
        double lo = MAX (a[i].s0, b[j].s0), hi = MIN (a[i].s1, b[j].s1);
        if (hi > lo)
          l -= hi - lo;
      }
  return MAX (l, 0.0);
}

/* Intervals of the line inside the neck (clipped to the bounding cylinder, sampled). */
static guint
neck_intervals (const NeckGeom *g,
                const double    o[3],
                const double    dir[3],
                Interval       *out,
                guint           max_out)
{
  /* slab 0 ≤ t ≤ d */
  double q[3] = { o[0] - g->ca[0], o[1] - g->ca[1], o[2] - g->ca[2] };
  double tq = dot3 (q, g->e), td = dot3 (dir, g->e);
  double lo = -G_MAXDOUBLE, hi = G_MAXDOUBLE;
  if (fabs (td) < 1e-12)
    {
      if (tq < 0 || tq > g->d)
        return 0;
    }
  else
    {
      double a = (0 - tq) / td, b = (g->d - tq) / td;
      lo = MIN (a, b);
      hi = MAX (a, b);
    }
  /* infinite cylinder of radius rmax */
  double qp[3], dp[3];
  for (int i = 0; i < 3; i++)
    {
      qp[i] = q[i] - tq * g->e[i];
      dp[i] = dir[i] - td * g->e[i];
    }
  double A = dot3 (dp, dp), B = dot3 (qp, dp), C = dot3 (qp, qp) - g->rmax * g->rmax;
  if (A < 1e-12)
    {
      if (C > 0)
        return 0;
    }
  else
    {
      double disc = B * B - A * C;
      if (disc <= 0)
        return 0;
      double sq = sqrt (disc);
      lo = MAX (lo, (-B - sq) / A);
      hi = MIN (hi, (-B + sq) / A);
    }
  if (!(hi > lo))
    return 0;

  /* Only the parts of [lo, hi] outside the two particles matter (the union hides the rest):
   * sample those gaps, refining each inside/outside change by bisection. */
  Interval gaps[3];
  guint ngaps = 0;
  {
    Interval cut[2];
    guint nc = 0;
    double s0, s1;
    if (ellipsoid_chord (g->pa, o, dir, &s0, &s1))
      cut[nc++] = (Interval) { s0, s1 };
    if (ellipsoid_chord (g->pb, o, dir, &s0, &s1))
      cut[nc++] = (Interval) { s0, s1 };
    if (nc == 2 && cut[1].s0 < cut[0].s0)
      {
        Interval tmp = cut[0];
        cut[0] = cut[1];
        cut[1] = tmp;
      }
    double cur = lo;
    for (guint i = 0; i < nc; i++)
      {
        if (cut[i].s0 > cur)
          gaps[ngaps++] = (Interval) { cur, MIN (cut[i].s0, hi) };
        cur = MAX (cur, cut[i].s1);
        if (cur >= hi)
          break;
      }
    if (cur < hi)
      gaps[ngaps++] = (Interval) { cur, hi };
  }

  double step = MAX (0.05, MIN (0.5, g->rn * 0.25));
  guint n = 0;
  double p[3];
  for (guint gi = 0; gi < ngaps; gi++)
    {
      double glo = gaps[gi].s0, ghi = gaps[gi].s1;
      if (!(ghi > glo))
        continue;
      int ns = (int) ceil ((ghi - glo) / step);
      ns = MAX (ns, 2);
      double h = (ghi - glo) / ns;
      gboolean prev = FALSE;
      double start = glo;
      for (int k = 0; k <= ns; k++)
        {
          double s = glo + k * h;
          for (int i = 0; i < 3; i++)
            p[i] = o[i] + s * dir[i];
          gboolean in = neck_inside (g, p);
          if (in != prev)
            {
              double edge;
              if (k == 0)
                edge = s;
              else
                {
                  double a = s - h, b = s;   /* prev at a, in at b */
                  for (int it = 0; it < 24; it++)
                    {
                      double m = 0.5 * (a + b);
                      for (int i = 0; i < 3; i++)
                        p[i] = o[i] + m * dir[i];
                      if (neck_inside (g, p) == prev)
                        a = m;
                      else
                        b = m;
                    }
                  edge = 0.5 * (a + b);
                }
              if (in)
                start = edge;
              else if (n < max_out)
                out[n++] = (Interval) { start, edge };
              prev = in;
            }
        }
      if (prev && n < max_out)
        out[n++] = (Interval) { start, ghi };
    }
  return n;
}

static double
scene_line_integral (const Scene  *s,
                     const double  o[3],
                     const double  dir[3],
                     const guint  *objs,
                     guint         n_objs)
{
  const KilnPhantom *ph = s->ph;
  guint nc = ph->n_cores, nn = ph->n_necks;
  Interval core[MAX_INTERVALS], shell[MAX_INTERVALS];
  guint ncore = 0, nshell = 0;
  for (guint k = 0; k < n_objs; k++)
    {
      guint o_ = objs[k];
      double s0, s1;
      if (o_ < nc)
        {
          if (ncore < MAX_INTERVALS && ellipsoid_chord (&ph->cores[o_], o, dir, &s0, &s1))
            core[ncore++] = (Interval) { s0, s1 };
        }
      else if (o_ < nc + nn)
        ncore += neck_intervals (&s->necks[o_ - nc], o, dir, core + ncore, MAX_INTERVALS - ncore);
      else
        {
          if (nshell < MAX_INTERVALS && ellipsoid_chord (&ph->shell[o_ - nc - nn], o, dir, &s0, &s1))
            shell[nshell++] = (Interval) { s0, s1 };
        }
    }
  ncore = intervals_merge (core, ncore);
  nshell = intervals_merge (shell, nshell);
  double total = ph->weight[KILN_MATERIAL_CORE] * intervals_length (core, ncore);
  if (nshell > 0)
    total += ph->weight[KILN_MATERIAL_SHELL] * intervals_minus_length (shell, nshell, core, ncore);
  if (ph->has_membrane && fabs (dir[2]) > 1e-9)
    {
      double a = (ph->membrane_z_nm[0] - o[2]) / dir[2], b = (ph->membrane_z_nm[1] - o[2]) / dir[2];
      Interval m = { MIN (a, b), MAX (a, b) };
      /* remove cores and shells inside the slab */
      Interval both[2 * MAX_INTERVALS];
      guint nb = 0;
      for (guint i = 0; i < ncore; i++)
        both[nb++] = core[i];
      for (guint i = 0; i < nshell; i++)
        both[nb++] = shell[i];
      nb = intervals_merge (both, nb);
      total += ph->weight[KILN_MATERIAL_MEMBRANE] * intervals_minus_length (&m, 1, both, nb);
    }
  return total;
}

double
kiln_phantom_line_integral (const KilnPhantom *self,
                            const double       origin_nm[3],
                            const double       dir[3])
{
  Scene s;
  guint n;
  scene_init (&s, self);
  guint *objs = all_objects (self, &n);
  double v = scene_line_integral (&s, origin_nm, dir, objs, n);
  g_free (objs);
  scene_clear (&s);
  return v;
}

/* ---------- voxelisation ---------- */

#define CELL 8

typedef struct
{
  guint   n;
  guint   cap;
  guint  *o;
} ObjList;

static void
objlist_add (ObjList *l,
             guint    o)
{
  if (l->n == l->cap)
    {
      l->cap = MAX (8, l->cap * 2);
      l->o = g_renew (guint, l->o, l->cap);
    }
  l->o[l->n++] = o;
}

/* Conservative: could a boundary of object o be within @thr nm of p? */
static gboolean
object_near_boundary (const Scene  *s,
                      guint         o,
                      const double  p[3],
                      double        thr)
{
  const KilnPhantom *ph = s->ph;
  guint nc = ph->n_cores, nn = ph->n_necks;
  if (o < nc || o >= nc + nn)
    {
      const KilnPhantomParticle *e = o < nc ? &ph->cores[o] : &ph->shell[o - nc - nn];
      double k = sqrt (ellipsoid_k2 (e, p));
      return fabs (k - 1) * min_semi (e) < thr;
    }
  const NeckGeom *g = &s->necks[o - nc];
  double t, rho2;
  neck_coords (g, p, &t, &rho2);
  if (t < -thr || t > g->d + thr)
    return FALSE;
  double rho = sqrt (rho2);
  if (t < thr || t > g->d - thr)
    {
      if (rho < g->rmax + thr)
        return TRUE;
    }
  double r = neck_profile (g, CLAMP (t, 0, g->d));
  return fabs (rho - r) < thr * sqrt (1 + g->slope * g->slope) + 1e-9;
}

gboolean
kiln_phantom_voxelize (const KilnPhantom  *self,
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
                       GError            **error)
{
  if (nx == 0 || ny == 0 || nz == 0 || nx > KILN_MAX_EXTENT || ny > KILN_MAX_EXTENT
      || nz > KILN_MAX_EXTENT || !(voxel_nm > 0) || supersample == 0 || supersample > 16)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Phantom voxelisation: invalid size %u × %u × %u, voxel %g nm or "
                   "supersampling %u (1…16)", nx, ny, nz, voxel_nm, supersample);
      return FALSE;
    }
  g_autoptr (KilnVolume) vol = NULL;
  g_autoptr (KilnLabelVolume) lab = NULL;
  if (volume != NULL && (vol = kiln_volume_new (nx, ny, nz, error)) == NULL)
    return FALSE;
  if ((labels != NULL || label_volume_nm3 != NULL)
      && (lab = kiln_label_volume_new (nx, ny, nz, error)) == NULL)
    return FALSE;
  if (vol)
    vol->voxel_size_nm = voxel_nm;
  if (lab)
    lab->voxel_size_nm = voxel_nm;

  Scene s;
  scene_init (&s, self);

  /* grid of cells */
  guint cx = (nx + CELL - 1) / CELL, cy = (ny + CELL - 1) / CELL, cz = (nz + CELL - 1) / CELL;
  gsize ncell = (gsize) cx * cy * cz;
  ObjList *cells = g_new0 (ObjList, ncell);
  double ox = 0.5 * (nx - 1.0), oy = 0.5 * (ny - 1.0), oz = 0.5 * (nz - 1.0);
  guint nobj = self->n_cores + self->n_necks + self->n_shell;
  for (guint o = 0; o < nobj; o++)
    {
      double c[3], r;
      object_bounds (&s, o, c, &r);
      r += 2 * voxel_nm;
      int lo[3], hi[3];
      double org[3] = { ox, oy, oz };
      guint nmax[3] = { cx, cy, cz };
      gboolean empty = FALSE;
      for (int i = 0; i < 3; i++)
        {
          double a = (c[i] - r) / voxel_nm + org[i], b = (c[i] + r) / voxel_nm + org[i];
          lo[i] = (int) floor (a / CELL);
          hi[i] = (int) floor (b / CELL);
          lo[i] = MAX (lo[i], 0);
          hi[i] = MIN (hi[i], (int) nmax[i] - 1);
          if (lo[i] > hi[i])
            empty = TRUE;
        }
      if (empty)
        continue;
      for (int k = lo[2]; k <= hi[2]; k++)
        for (int j = lo[1]; j <= hi[1]; j++)
          for (int i = lo[0]; i <= hi[0]; i++)
            objlist_add (&cells[((gsize) k * cy + j) * cx + i], o);
    }

  guint ncount = self->n_cores + 1;
  guint ss = supersample;
  double thr = 0.5 * sqrt (3.0) * voxel_nm * 1.01;
  gboolean cancelled = FALSE;
  guint done = 0;
  int nthreads = 1;
#ifdef _OPENMP
  nthreads = omp_get_max_threads ();
#endif
  guint64 *counts = g_new0 (guint64, (gsize) ncount * nthreads);
  guint64 full = (guint64) ss * ss * ss;

#pragma omp parallel
  {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num ();
#endif
    guint64 *cnt = counts + (gsize) tid * ncount;
    guint *sub_lab = g_new (guint, full);
#pragma omp for schedule(dynamic, 1)
    for (guint z = 0; z < nz; z++)
      {
        if (cancelled)
          continue;
        for (guint y = 0; y < ny; y++)
          for (guint x = 0; x < nx; x++)
            {
              const ObjList *cl = &cells[((gsize) (z / CELL) * cy + y / CELL) * cx + x / CELL];
              double p[3] = { (x - ox) * voxel_nm, (y - oy) * voxel_nm, (z - oz) * voxel_nm };
              gboolean boundary = FALSE;
              for (guint k = 0; k < cl->n && !boundary; k++)
                boundary = object_near_boundary (&s, cl->o[k], p, thr);
              if (!boundary && self->has_membrane
                  && (fabs (p[2] - self->membrane_z_nm[0]) < thr
                      || fabs (p[2] - self->membrane_z_nm[1]) < thr))
                boundary = TRUE;
              gsize idx = ((gsize) z * ny + y) * nx + x;
              if (!boundary)
                {
                  guint32 l = 0;
                  KilnMaterial m = scene_material (&s, p, cl->o, cl->n, &l);
                  if (vol)
                    vol->data[idx] = (float) self->weight[m];
                  if (lab)
                    lab->data[idx] = l;
                  cnt[l] += full;
                  continue;
                }
              double w = 0;
              guint ncore = 0;
              guint nl = 0;
              for (guint kz = 0; kz < ss; kz++)
                for (guint ky = 0; ky < ss; ky++)
                  for (guint kx = 0; kx < ss; kx++)
                    {
                      double q[3] = {
                        p[0] + ((kx + 0.5) / ss - 0.5) * voxel_nm,
                        p[1] + ((ky + 0.5) / ss - 0.5) * voxel_nm,
                        p[2] + ((kz + 0.5) / ss - 0.5) * voxel_nm,
                      };
                      guint32 l = 0;
                      KilnMaterial m = scene_material (&s, q, cl->o, cl->n, &l);
                      w += self->weight[m];
                      cnt[l]++;
                      if (l != 0)
                        {
                          ncore++;
                          sub_lab[nl++] = l;
                        }
                    }
              if (vol)
                vol->data[idx] = (float) (w / full);
              if (lab)
                {
                  guint32 best = 0;
                  if (2 * ncore >= full)
                    {
                      /* majority label among the core sub-samples */
                      guint best_n = 0;
                      for (guint i = 0; i < nl; i++)
                        {
                          guint c = 0;
                          for (guint j = 0; j < nl; j++)
                            c += sub_lab[j] == sub_lab[i];
                          if (c > best_n || (c == best_n && sub_lab[i] < best))
                            {
                              best_n = c;
                              best = sub_lab[i];
                            }
                        }
                    }
                  lab->data[idx] = best;
                }
            }
#pragma omp atomic
        done++;
        if (tid == 0)
          {
            if (g_cancellable_is_cancelled (cancellable))
              cancelled = TRUE;
            kiln_report (progress, progress_data, (double) done / nz, "Voxelising the phantom");
          }
      }
    g_free (sub_lab);
  }

  for (gsize i = 0; i < ncell; i++)
    g_free (cells[i].o);
  g_free (cells);
  scene_clear (&s);

  if (kiln_check_cancelled (cancellable, error))
    {
      g_free (counts);
      return FALSE;
    }
  if (label_volume_nm3)
    {
      double *lv = g_new0 (double, ncount);
      double v3 = voxel_nm * voxel_nm * voxel_nm / full;
      for (guint l = 1; l < ncount; l++)
        {
          guint64 c = 0;
          for (int t = 0; t < nthreads; t++)
            c += counts[(gsize) t * ncount + l];
          lv[l] = c * v3;
        }
      *label_volume_nm3 = lv;
    }
  g_free (counts);
  if (volume)
    *volume = g_steal_pointer (&vol);
  if (labels)
    *labels = g_steal_pointer (&lab);
  return TRUE;
}

/* ---------- projection ---------- */

gboolean
kiln_phantom_project (const KilnPhantom  *self,
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
                      GError            **error)
{
  if (n_angles == 0 || width == 0 || height == 0 || !(pixel_nm > 0)
      || !isfinite (axis_angle_deg) || !isfinite (axis_shift_px))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Phantom projection: invalid geometry (%u tilts of %u × %u px, pixel %g nm)",
                   n_angles, width, height, pixel_nm);
      return FALSE;
    }
  for (guint k = 0; k < n_angles; k++)
    if (!isfinite (angles_deg[k]) || fabs (angles_deg[k]) >= 89.0)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                     "Phantom projection: tilt angle %g° (tilt %u) is not within ±89°",
                     angles_deg[k], k);
        return FALSE;
      }

  Scene s;
  scene_init (&s, self);
  guint nobj = self->n_cores + self->n_necks + self->n_shell;
  const double cell = 8.0;   /* px */
  double R = 0.5 * sqrt ((double) width * width + (double) height * height) + fabs (axis_shift_px) + 2;
  guint nb = (guint) ceil (2 * R / cell) + 1;
  double ca = cos (axis_angle_deg * G_PI / 180), sa = sin (axis_angle_deg * G_PI / 180);
  double cxp = 0.5 * (width - 1.0), cyp = 0.5 * (height - 1.0);
  gboolean ok = TRUE;

  for (guint k = 0; k < n_angles && ok; k++)
    {
      if (kiln_check_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      double th = angles_deg[k] * G_PI / 180, ct = cos (th), st = sin (th);
      ObjList *bins = g_new0 (ObjList, (gsize) nb * nb);
      for (guint o = 0; o < nobj; o++)
        {
          double c[3], r;
          object_bounds (&s, o, c, &r);
          double uc = (c[0] * ct + c[2] * st) / pixel_nm, vc = c[1] / pixel_nm;
          double rp = r / pixel_nm + 1.0;
          int u0 = (int) floor ((uc - rp + R) / cell), u1 = (int) floor ((uc + rp + R) / cell);
          int v0 = (int) floor ((vc - rp + R) / cell), v1 = (int) floor ((vc + rp + R) / cell);
          u0 = MAX (u0, 0);
          v0 = MAX (v0, 0);
          u1 = MIN (u1, (int) nb - 1);
          v1 = MIN (v1, (int) nb - 1);
          for (int j = v0; j <= v1; j++)
            for (int i = u0; i <= u1; i++)
              objlist_add (&bins[(gsize) j * nb + i], o);
        }
      float *img = out + (gsize) k * width * height;
      double dir[3] = { -st, 0, ct };
#pragma omp parallel for schedule(dynamic, 4)
      for (guint y = 0; y < height; y++)
        for (guint x = 0; x < width; x++)
          {
            double dx = x - cxp, dy = y - cyp;
            double u = dx * ca + dy * sa - axis_shift_px;
            double v = -dx * sa + dy * ca;
            int bi = (int) floor ((u + R) / cell), bj = (int) floor ((v + R) / cell);
            static const guint none[1] = { 0 };
            const guint *objs = none;
            guint n = 0;
            if (bi >= 0 && bj >= 0 && bi < (int) nb && bj < (int) nb)
              {
                const ObjList *l = &bins[(gsize) bj * nb + bi];
                objs = l->o;
                n = l->n;
              }
            double o[3] = { u * ct * pixel_nm, v * pixel_nm, u * st * pixel_nm };
            img[(gsize) y * width + x] = (float) (scene_line_integral (&s, o, dir, objs, n) / pixel_nm);
          }
      for (gsize i = 0; i < (gsize) nb * nb; i++)
        g_free (bins[i].o);
      g_free (bins);
      kiln_report (progress, progress_data, (double) (k + 1) / n_angles, "Projecting the phantom");
    }
  scene_clear (&s);
  return ok;
}

/* ---------- ground truth ---------- */

KilnParticleTruth *
kiln_phantom_particle_truth (const KilnPhantom     *self,
                             const KilnLabelVolume *labels,
                             const double          *label_volume_nm3,
                             guint                 *n_particles)
{
  guint n = self->n_cores;
  KilnParticleTruth *t = g_new0 (KilnParticleTruth, MAX (n, 1));
  guint64 *cnt = g_new0 (guint64, n + 1);
  if (labels)
    {
      gsize nv = kiln_label_volume_n_voxels (labels);
      for (gsize i = 0; i < nv; i++)
        if (labels->data[i] <= n)
          cnt[labels->data[i]]++;
    }
  double vox = labels ? labels->voxel_size_nm : 0;
  for (guint i = 0; i < n; i++)
    {
      const KilnPhantomParticle *p = &self->cores[i];
      t[i].label = i + 1;
      memcpy (t[i].centre_nm, p->centre_nm, sizeof (double) * 3);
      memcpy (t[i].semi_nm, p->semi_nm, sizeof (double) * 3);
      t[i].h_over_w = p->semi_nm[2] / (0.5 * (p->semi_nm[0] + p->semi_nm[1]));
      t[i].voxels = cnt[i + 1];
      if (label_volume_nm3)
        t[i].volume_nm3 = label_volume_nm3[i + 1];
      else if (labels)
        t[i].volume_nm3 = cnt[i + 1] * vox * vox * vox;
      else
        t[i].volume_nm3 = 4.0 / 3.0 * G_PI * p->semi_nm[0] * p->semi_nm[1] * p->semi_nm[2];
      t[i].radius_nm = cbrt (3 * t[i].volume_nm3 / (4 * G_PI));
    }
  g_free (cnt);
  *n_particles = n;
  return t;
}

gboolean
kiln_phantom_pair_truth (const KilnPhantom     *self,
                         const KilnLabelVolume *labels,
                         guint32                a,
                         guint32                b,
                         KilnPairTruth         *truth,
                         GError               **error)
{
  if (a == 0 || b == 0 || a > self->n_cores || b > self->n_cores || a == b)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Pair %u:%u: the labels must be two different particles among 1…%u",
                   a, b, self->n_cores);
      return FALSE;
    }
  memset (truth, 0, sizeof *truth);
  truth->a = a;
  truth->b = b;
  for (guint i = 0; i < self->n_necks; i++)
    if ((self->necks[i].a == a && self->necks[i].b == b)
        || (self->necks[i].a == b && self->necks[i].b == a))
      truth->neck_radius_3d_nm = self->necks[i].radius_nm;
  const double *pa = self->cores[a - 1].centre_nm, *pb = self->cores[b - 1].centre_nm;
  truth->centre_distance_nm = sqrt ((pa[0] - pb[0]) * (pa[0] - pb[0])
                                    + (pa[1] - pb[1]) * (pa[1] - pb[1])
                                    + (pa[2] - pb[2]) * (pa[2] - pb[2]));
  truth->distance_3d_nm = truth->radius_3d_nm = NAN;
  truth->r_n_nm = truth->d_xy_nm = truth->d_z_nm = truth->d_nm = NAN;
  truth->r_p_nm = truth->h_over_w = NAN;
  if (labels == NULL)
    return TRUE;

  guint nx = labels->nx, ny = labels->ny, nz = labels->nz;
  double vs = labels->voxel_size_nm > 0 ? labels->voxel_size_nm : 1.0;
  double ox = 0.5 * (nx - 1.0), oy = 0.5 * (ny - 1.0), oz = 0.5 * (nz - 1.0);
  gsize npix = (gsize) nx * ny;
  guint32 *ca = kiln_alloc (npix, sizeof (guint32), TRUE, "pair column counts", error);
  guint32 *cb = ca ? kiln_alloc (npix, sizeof (guint32), TRUE, "pair column counts", error) : NULL;
  if (cb == NULL)
    {
      kiln_free (ca);
      return FALSE;
    }
  double sum[2][3] = { { 0 } };
  guint64 n3[2] = { 0, 0 };
  int zmin[2] = { G_MAXINT, G_MAXINT }, zmax[2] = { -1, -1 };
  for (guint z = 0; z < nz; z++)
    for (guint y = 0; y < ny; y++)
      for (guint x = 0; x < nx; x++)
        {
          guint32 l = labels->data[((gsize) z * ny + y) * nx + x];
          int w = l == a ? 0 : l == b ? 1 : -1;
          if (w < 0)
            continue;
          sum[w][0] += x;
          sum[w][1] += y;
          sum[w][2] += z;
          n3[w]++;
          zmin[w] = MIN (zmin[w], (int) z);
          zmax[w] = MAX (zmax[w], (int) z);
          if (w == 0)
            ca[(gsize) y * nx + x]++;
          else
            cb[(gsize) y * nx + x]++;
        }
  if (n3[0] == 0 || n3[1] == 0)
    {
      kiln_free (ca);
      kiln_free (cb);
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "Pair %u:%u: particle %u has no voxels in the label volume", a, b,
                   n3[0] == 0 ? a : b);
      return FALSE;
    }
  double c3[2][3];
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < 3; i++)
      c3[w][i] = sum[w][i] / n3[w];
  double dd = 0;
  for (int i = 0; i < 3; i++)
    dd += (c3[0][i] - c3[1][i]) * (c3[0][i] - c3[1][i]);
  truth->distance_3d_nm = sqrt (dd) * vs;
  double v3 = vs * vs * vs;
  truth->radius_3d_nm = 0.5 * (cbrt (3 * n3[0] * v3 / (4 * G_PI)) + cbrt (3 * n3[1] * v3 / (4 * G_PI)));

  /* footprints of the z-projection (paper Fig. 7): a column goes to the label with more voxels */
  guint8 *fp = kiln_alloc (npix, 1, TRUE, "pair footprints", error);   /* 0 none, 1 a, 2 b */
  if (fp == NULL)
    {
      kiln_free (ca);
      kiln_free (cb);
      return FALSE;
    }
  double s2[2][2] = { { 0 } };
  guint64 area[2] = { 0, 0 };
  for (guint y = 0; y < ny; y++)
    for (guint x = 0; x < nx; x++)
      {
        gsize i = (gsize) y * nx + x;
        if (ca[i] == 0 && cb[i] == 0)
          continue;
        int w = ca[i] >= cb[i] ? 0 : 1;
        fp[i] = (guint8) (w + 1);
        s2[w][0] += x;
        s2[w][1] += y;
        area[w]++;
      }
  kiln_free (ca);
  kiln_free (cb);
  if (area[0] == 0 || area[1] == 0)
    {
      kiln_free (fp);
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_DATA,
                   "Pair %u:%u: particle %u is hidden under the other in the z-projection", a, b,
                   area[0] == 0 ? a : b);
      return FALSE;
    }
  double c2[2][2];
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < 2; i++)
      c2[w][i] = s2[w][i] / area[w];
  double ex = c2[1][0] - c2[0][0], ey = c2[1][1] - c2[0][1];
  double dxy = sqrt (ex * ex + ey * ey);
  truth->d_xy_nm = dxy * vs;
  double za = 0.5 * (zmin[0] + zmax[0]), zb = 0.5 * (zmin[1] + zmax[1]);
  truth->d_z_nm = fabs (za - zb) * vs;
  truth->d_nm = sqrt (truth->d_xy_nm * truth->d_xy_nm + truth->d_z_nm * truth->d_z_nm);
  truth->r_p_nm = 0.5 * (sqrt (area[0] / G_PI) + sqrt (area[1] / G_PI)) * vs;
  (void) ox;
  (void) oy;
  (void) oz;

  if (dxy > 1e-9)
    {
      ex /= dxy;
      ey /= dxy;
    }
  else
    {
      ex = 1;
      ey = 0;
    }
  double nxv = -ey, nyv = ex;
  /* narrowest width of the joint footprint across the axis, between the centres of mass */
  const double step = 0.25;
  double wmin = G_MAXDOUBLE;
  for (double t = 0; t <= dxy; t += step)
    {
      double px = c2[0][0] + t * ex, py = c2[0][1] + t * ey;
      double width = 0;
      for (int sgn = -1; sgn <= 1; sgn += 2)
        {
          for (double s = (sgn > 0 ? 0.5 * step : -0.5 * step);; s += sgn * step)
            {
              int ix = (int) lround (px + s * nxv), iy = (int) lround (py + s * nyv);
              if (ix < 0 || iy < 0 || ix >= (int) nx || iy >= (int) ny
                  || fp[(gsize) iy * nx + ix] == 0)
                break;
              width += step;
            }
        }
      wmin = MIN (wmin, width);
    }
  truth->r_n_nm = 0.5 * wmin * vs;

  /* aspect ratios: z extent over the footprint width across the axis */
  double hw = 0;
  for (int w = 0; w < 2; w++)
    {
      double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
      for (guint y = 0; y < ny; y++)
        for (guint x = 0; x < nx; x++)
          if (fp[(gsize) y * nx + x] == w + 1)
            {
              double s = (x - c2[w][0]) * nxv + (y - c2[w][1]) * nyv;
              lo = MIN (lo, s);
              hi = MAX (hi, s);
            }
      double wid = hi - lo + 1;
      hw += (zmax[w] - zmin[w] + 1) / wid;
    }
  truth->h_over_w = 0.5 * hw;
  kiln_free (fp);
  return TRUE;
}
