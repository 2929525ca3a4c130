/* kiln-volume-view.c
 *
 * The GtkGLArea pattern of gtk-demo's GtkShadertoy: chain up realize first, make_current, check
 * get_error, load shaders from GResource, report compile errors with gtk_gl_area_set_error,
 * delete everything in unrealize and always chain up.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <epoxy/gl.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-volume-view.h"

typedef struct { float m[16]; } Mat4;   /* column-major */

#define BRICK 8                     /* voxels per brick edge (empty-space skipping) */
#define CACHE_MAX_ENTRIES 6         /* time points kept as GL textures */
#define CACHE_MAX_BYTES (768u << 20) /* texture memory of the cache */
#define UPLOAD_CHUNK_VOXELS (4u << 20) /* per idle step of a prefetch upload */
#define INTERACTIVE_DIVISOR 3       /* interactive frames: resolution divided by this per axis */
#define INTERACTIVE_STEP 1.5f       /* interactive isosurface search step (voxels) */
#define MESH_MAX_TRIANGLES (12u << 20) /* larger isosurfaces (noise) are ray-cast */

/* One volume (and its labels) prepared for display: CPU side (normalised 16-bit values, 16- or
 * 32-bit labels, per-brick maxima) made in a worker thread, then uploaded as GL textures (in
 * idle chunks when prefetched). Reference-counted: the worker holds one reference. */
typedef struct
{
  gatomicrefcount  ref_count;
  KilnVolume      *volume;
  KilnLabelVolume *labels;
  /* CPU side, written by entry_prepare() (worker or main thread) */
  GMutex           lock;
  GCond            cond;
  gboolean         prepared;     /* under lock */
  gboolean         failed;
  double           vmin;
  double           vmax;
  guint16         *norm;         /* freed after upload */
  guint16         *labels16;     /* NULL: labels uploaded as 32 bits from labels->data */
  guint            nb[3];
  float           *bricks;       /* nb[0] × nb[1] × nb[2] maxima (normalised) */
  /* GL side (main thread only) */
  GLuint           volume_tex;
  GLuint           label_tex;
  GLuint           brick_tex;
  guint            uploaded_z;   /* slices uploaded so far */
  gboolean         ready;        /* every texture complete */
  gsize            bytes;
  guint64          used;         /* LRU stamp */
  /* isosurface mesh (main thread; the worker only fills its Job) */
  GCancellable    *mesh_job;     /* the extraction under way, NULL if none */
  double           mesh_job_thr; /* its threshold (volume units) */
  KilnMesh        *mesh;         /* extracted, not yet uploaded */
  double           mesh_cpu_thr; /* the threshold of ->mesh */
  double           mesh_failed_thr; /* the last threshold whose extraction failed, NAN if none */
  GLuint           mesh_vao;
  GLuint           mesh_buf[4];  /* positions, normals, labels, indices */
  gsize            mesh_n_indices;
  double           mesh_gl_thr;  /* the threshold of the uploaded mesh, NAN if none */
} Entry;

/* A worker's job: prepare an entry (prefetch) and/or extract its isosurface mesh. */
typedef struct
{
  Entry        *e;
  gboolean      prepare;
  double        thr;             /* NAN: no mesh */
  GCancellable *cancellable;
  KilnMesh     *mesh;
  GError       *error;
} Job;

struct _KilnVolumeView
{
  GtkGLArea        parent_instance;

  KilnVolume      *volume;
  KilnLabelVolume *labels;
  gboolean         upload_pending;
  double           vmin;
  double           vmax;
  Entry           *current;      /* the shown volume's textures (also in cache) */
  GPtrArray       *cache;        /* Entry, LRU by ->used */
  guint64          use_clock;
  guint            upload_id;    /* idle source uploading prefetched entries */

  /* label → displayed id (e.g. tracked id); NULL = identity */
  guint32         *label_map;
  guint            n_label_map;
  gboolean         map_dirty;
  GLuint           map_tex;

  /* interaction: render at reduced resolution while TRUE */
  gboolean         interactive;  /* set by the caller (playing) */
  gboolean         no_skipping;  /* benchmarks: measure without empty-space skipping */
  gboolean         no_mesh;      /* tests and benchmarks: always ray-cast the isosurface */
  gboolean         dragging;
  guint            interact_id;  /* a brief interactive period (zoom, time-point switch) */
  GLuint           low_fbo;
  GLuint           low_tex;
  int              low_size[2];

  KilnRenderMode   mode;
  double           threshold;
  gboolean         hide_unlabelled;
  float            slices[3];
  guint32          selected[2];

  /* camera: orbit about the box centre */
  double           yaw;       /* degrees */
  double           pitch;
  double           zoom;      /* 1 = the whole box fits */
  double           pan_x;     /* nm, in view plane */
  double           pan_y;
  double           drag_yaw;
  double           drag_pitch;
  double           drag_pan_x;
  double           drag_pan_y;

  /* GL */
  GLuint           ray_program;
  GLuint           mesh_program; /* 0: the mesh shaders failed, the ray caster draws */
  GLuint           slice_program; /* slice planes over the mesh; 0: slices are ray-cast */
  GLuint           slice_vao;
  GLuint           slice_vbo;
  GLuint           box_program;
  GLuint           vao;
  GLuint           box_vao;
  GLuint           box_vbo;
  GLuint           overlay_vao;
  GLuint           overlay_vbo;

  gboolean         overlay_visible;
  gboolean         overlay_dirty;
  float            overlay[2 + 2 * 48][3];   /* centre line, then the neck circle as segments */
};

enum {
  LABEL_PICKED,
  VIEW_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnVolumeView, kiln_volume_view, GTK_TYPE_GL_AREA)

static gboolean is_interactive (KilnVolumeView *self);

/* ---------------------------------------------------------------- small matrix helpers */

static Mat4
mat4_mul (const Mat4 *a,
          const Mat4 *b)
{
  Mat4 r;

  for (int c = 0; c < 4; c++)
    for (int row = 0; row < 4; row++)
      {
        float s = 0;
        for (int k = 0; k < 4; k++)
          s += a->m[k * 4 + row] * b->m[c * 4 + k];
        r.m[c * 4 + row] = s;
      }
  return r;
}

static gboolean
mat4_invert (const Mat4 *in,
             Mat4       *out)
{
  /* Gauss–Jordan in double */
  double a[4][8];

  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        a[r][c] = in->m[c * 4 + r];
        a[r][c + 4] = r == c;
      }
  for (int c = 0; c < 4; c++)
    {
      int p = c;
      for (int r = c + 1; r < 4; r++)
        if (fabs (a[r][c]) > fabs (a[p][c]))
          p = r;
      if (fabs (a[p][c]) < 1e-12)
        return FALSE;
      for (int k = 0; k < 8; k++)
        {
          double t = a[c][k];
          a[c][k] = a[p][k];
          a[p][k] = t;
        }
      for (int r = 0; r < 4; r++)
        if (r != c)
          {
            double f = a[r][c] / a[c][c];
            for (int k = 0; k < 8; k++)
              a[r][k] -= f * a[c][k];
          }
    }
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      out->m[c * 4 + r] = (float) (a[r][c + 4] / a[r][r]);
  return TRUE;
}

static void
box_extent (KilnVolumeView *self,
            double          e[3])
{
  double vs = self->volume && self->volume->voxel_size_nm > 0 ? self->volume->voxel_size_nm : 1.0;

  e[0] = self->volume ? self->volume->nx * vs : 1;
  e[1] = self->volume ? self->volume->ny * vs : 1;
  e[2] = self->volume ? self->volume->nz * vs : 1;
}

/* View-projection (orthographic) for the current camera and widget size. */
static Mat4
view_projection (KilnVolumeView *self)
{
  double e[3], c[3], radius, half_h, half_w, aspect;
  double yaw = self->yaw * G_PI / 180, pitch = self->pitch * G_PI / 180;
  double f[3], up0[3] = { 0, -1, 0 }, s[3], u[3], eye[3];
  int w = MAX (1, gtk_widget_get_width (GTK_WIDGET (self)));
  int h = MAX (1, gtk_widget_get_height (GTK_WIDGET (self)));
  Mat4 view = { { 0 } }, proj = { { 0 } };
  double n;

  box_extent (self, e);
  for (int i = 0; i < 3; i++)
    c[i] = e[i] / 2;
  radius = sqrt (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) / 2;

  /* looking direction: along +z at yaw = pitch = 0, so that x runs right and y down as in the
   * 0° tilt image (right-handed: right × up = x × (−y) = −z points back to the viewer) */
  f[0] = sin (yaw) * cos (pitch);
  f[1] = sin (pitch);
  f[2] = cos (yaw) * cos (pitch);
  for (int i = 0; i < 3; i++)
    eye[i] = c[i] - f[i] * radius * 3;
  /* s = f × up, u = s × f */
  s[0] = f[1] * up0[2] - f[2] * up0[1];
  s[1] = f[2] * up0[0] - f[0] * up0[2];
  s[2] = f[0] * up0[1] - f[1] * up0[0];
  n = sqrt (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
  if (n < 1e-9)
    {
      s[0] = 1;
      s[1] = s[2] = 0;
      n = 1;
    }
  for (int i = 0; i < 3; i++)
    s[i] /= n;
  u[0] = s[1] * f[2] - s[2] * f[1];
  u[1] = s[2] * f[0] - s[0] * f[2];
  u[2] = s[0] * f[1] - s[1] * f[0];

  view.m[0] = s[0]; view.m[4] = s[1]; view.m[8] = s[2];
  view.m[1] = u[0]; view.m[5] = u[1]; view.m[9] = u[2];
  view.m[2] = -f[0]; view.m[6] = -f[1]; view.m[10] = -f[2];
  view.m[12] = -(s[0] * eye[0] + s[1] * eye[1] + s[2] * eye[2]) - self->pan_x;
  view.m[13] = -(u[0] * eye[0] + u[1] * eye[1] + u[2] * eye[2]) - self->pan_y;
  view.m[14] = (f[0] * eye[0] + f[1] * eye[1] + f[2] * eye[2]);
  view.m[15] = 1;

  aspect = (double) w / h;
  half_h = radius / self->zoom;
  half_w = half_h * aspect;
  if (aspect < 1)
    {
      half_w = radius / self->zoom;
      half_h = half_w / aspect;
    }
  {
    double near = radius * 0.5, far = radius * 6;
    proj.m[0] = 1 / half_w;
    proj.m[5] = 1 / half_h;
    proj.m[10] = -2 / (far - near);
    proj.m[14] = -(far + near) / (far - near);
    proj.m[15] = 1;
  }
  return mat4_mul (&proj, &view);
}

double
kiln_volume_view_get_view_width_nm (KilnVolumeView *self)
{
  /* the orthographic projection maps view x in [−half_w, half_w] to [−1, 1]; the view matrix is
   * a rotation, so the length of the first row of view_proj is 1 / half_w */
  Mat4 vp = view_projection (self);
  double r = sqrt (vp.m[0] * vp.m[0] + vp.m[4] * vp.m[4] + vp.m[8] * vp.m[8]);
  return r > 0 ? 2.0 / r : 0.0;
}

/* ---------------------------------------------------------------- GL resources */

static GLuint
compile_shader (GLenum       type,
                const char  *resource,
                GError     **error)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, 0, error);
  const char *src;
  GLuint shader;
  GLint ok = 0;

  if (bytes == NULL)
    return 0;
  src = g_bytes_get_data (bytes, NULL);
  shader = glCreateShader (type);
  {
    GLint len = (GLint) g_bytes_get_size (bytes);
    glShaderSource (shader, 1, &src, &len);
  }
  glCompileShader (shader);
  glGetShaderiv (shader, GL_COMPILE_STATUS, &ok);
  if (!ok)
    {
      char log[4096];
      glGetShaderInfoLog (shader, sizeof log, NULL, log);
      g_set_error (error, GDK_GL_ERROR, GDK_GL_ERROR_COMPILATION_FAILED,
                   _("Cannot compile %s: %s"), resource, log);
      glDeleteShader (shader);
      return 0;
    }
  return shader;
}

static GLuint
link_program (const char  *vert,
              const char  *frag,
              GError     **error)
{
  GLuint vs = compile_shader (GL_VERTEX_SHADER, vert, error), fs = 0, program;
  GLint ok = 0;

  if (vs == 0)
    return 0;
  fs = compile_shader (GL_FRAGMENT_SHADER, frag, error);
  if (fs == 0)
    {
      glDeleteShader (vs);
      return 0;
    }
  program = glCreateProgram ();
  glAttachShader (program, vs);
  glAttachShader (program, fs);
  glLinkProgram (program);
  glGetProgramiv (program, GL_LINK_STATUS, &ok);
  glDetachShader (program, vs);
  glDetachShader (program, fs);
  glDeleteShader (vs);
  glDeleteShader (fs);
  if (!ok)
    {
      char log[4096];
      glGetProgramInfoLog (program, sizeof log, NULL, log);
      g_set_error (error, GDK_GL_ERROR, GDK_GL_ERROR_LINK_FAILED, _("Cannot link shaders: %s"), log);
      glDeleteProgram (program);
      return 0;
    }
  return program;
}

/* ---------------------------------------------------------------- prepared volumes */

static Entry *
entry_new (KilnVolume      *volume,
           KilnLabelVolume *labels)
{
  Entry *e = g_new0 (Entry, 1);

  g_atomic_ref_count_init (&e->ref_count);
  e->volume = kiln_volume_ref (volume);
  e->labels = labels ? kiln_label_volume_ref (labels) : NULL;
  g_mutex_init (&e->lock);
  g_cond_init (&e->cond);
  e->mesh_job_thr = e->mesh_cpu_thr = e->mesh_failed_thr = e->mesh_gl_thr = NAN;
  return e;
}

static Entry *
entry_ref (Entry *e)
{
  g_atomic_ref_count_inc (&e->ref_count);
  return e;
}

/* Frees the CPU side; the GL textures must have been deleted (entry_drop_gl). */
static void
entry_unref (Entry *e)
{
  if (!g_atomic_ref_count_dec (&e->ref_count))
    return;
  kiln_volume_unref (e->volume);
  g_clear_pointer (&e->labels, kiln_label_volume_unref);
  g_free (e->norm);
  g_free (e->labels16);
  g_free (e->bricks);
  if (e->mesh_job != NULL)
    g_cancellable_cancel (e->mesh_job);
  g_clear_object (&e->mesh_job);
  g_clear_pointer (&e->mesh, kiln_mesh_free);
  g_mutex_clear (&e->lock);
  g_cond_clear (&e->cond);
  g_free (e);
}

static gboolean
entry_is_prepared (Entry *e)
{
  gboolean done;

  g_mutex_lock (&e->lock);
  done = e->prepared;
  g_mutex_unlock (&e->lock);
  return done;
}

static void
entry_wait_prepared (Entry *e)
{
  g_mutex_lock (&e->lock);
  while (!e->prepared)
    g_cond_wait (&e->cond, &e->lock);
  g_mutex_unlock (&e->lock);
}

/* The CPU side: value range, normalised 16-bit values, 16-bit labels when they fit, and the
 * per-brick maxima of the normalised values over each brick and one voxel around it (trilinear
 * samples inside a brick read voxels at most one voxel outside it). Thread-safe. */
static void
entry_prepare (Entry *e)
{
  const KilnVolume *v = e->volume;
  gsize n = kiln_volume_n_voxels (v);
  guint nx = v->nx, ny = v->ny, nz = v->nz;
  KilnStats st;
  double scale;
  guint16 *norm = NULL, *lab16 = NULL;
  float *bricks = NULL;
  gboolean failed = FALSE;

  kiln_volume_stats (v, &st);
  e->vmin = st.min;
  e->vmax = st.max > st.min ? st.max : st.min + 1;
  scale = 65535.0 / (e->vmax - e->vmin);
  norm = g_try_new (guint16, n);
  e->nb[0] = (nx + BRICK - 1) / BRICK;
  e->nb[1] = (ny + BRICK - 1) / BRICK;
  e->nb[2] = (nz + BRICK - 1) / BRICK;
  bricks = g_try_new (float, (gsize) e->nb[0] * e->nb[1] * e->nb[2]);
  if (e->labels != NULL && kiln_label_volume_max_label (e->labels) <= G_MAXUINT16)
    {
      lab16 = g_try_new (guint16, n);
      failed = lab16 == NULL;
    }
  if (norm == NULL || bricks == NULL || failed)
    {
      g_free (norm);
      g_free (lab16);
      g_free (bricks);
      norm = lab16 = NULL;
      bricks = NULL;
      failed = TRUE;
    }
  else
    {
      const float *src = v->data;
      const guint32 *lsrc = e->labels ? e->labels->data : NULL;
      guint nb0 = e->nb[0], nb1 = e->nb[1], nb2 = e->nb[2];

#pragma omp parallel for schedule(static)
      for (gssize i = 0; i < (gssize) n; i++)
        {
          double x = (src[i] - e->vmin) * scale;
          norm[i] = (guint16) (x <= 0 ? 0 : x >= 65535 ? 65535 : x + 0.5);
          if (lab16 != NULL)
            lab16[i] = (guint16) lsrc[i];
        }
#pragma omp parallel for schedule(dynamic, 1)
      for (gssize bz = 0; bz < (gssize) nb2; bz++)
        for (guint by = 0; by < nb1; by++)
          for (guint bx = 0; bx < nb0; bx++)
            {
              guint x0 = bx * BRICK > 0 ? bx * BRICK - 1 : 0, x1 = MIN (nx, bx * BRICK + BRICK + 1);
              guint y0 = by * BRICK > 0 ? by * BRICK - 1 : 0, y1 = MIN (ny, by * BRICK + BRICK + 1);
              guint z0 = bz * BRICK > 0 ? bz * BRICK - 1 : 0, z1 = MIN (nz, bz * BRICK + BRICK + 1);
              guint16 m = 0;
              for (guint z = z0; z < z1; z++)
                for (guint y = y0; y < y1; y++)
                  {
                    const guint16 *row = norm + ((gsize) z * ny + y) * nx;
                    for (guint x = x0; x < x1; x++)
                      m = MAX (m, row[x]);
                  }
              bricks[((gsize) bz * nb1 + by) * nb0 + bx] = m / 65535.0f;
            }
    }
  g_mutex_lock (&e->lock);
  e->norm = norm;
  e->labels16 = lab16;
  e->bricks = bricks;
  e->failed = failed;
  e->prepared = TRUE;
  g_cond_broadcast (&e->cond);
  g_mutex_unlock (&e->lock);
}

static void
job_free (Job *j)
{
  entry_unref (j->e);
  g_clear_object (&j->cancellable);
  g_clear_pointer (&j->mesh, kiln_mesh_free);
  g_clear_error (&j->error);
  g_free (j);
}

static void
job_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *j = task_data;

  if (j->prepare)
    entry_prepare (j->e);
  if (!isnan (j->thr))
    j->mesh = kiln_isosurface_extract (j->e->volume, j->e->labels, (float) j->thr, j->cancellable,
                                       NULL, NULL, &j->error);
  g_task_return_boolean (task, TRUE);
}

static void
entry_drop_gl (Entry *e)
{
  if (e->volume_tex)
    glDeleteTextures (1, &e->volume_tex);
  if (e->label_tex)
    glDeleteTextures (1, &e->label_tex);
  if (e->brick_tex)
    glDeleteTextures (1, &e->brick_tex);
  e->volume_tex = e->label_tex = e->brick_tex = 0;
  if (e->mesh_buf[0])
    glDeleteBuffers (4, e->mesh_buf);
  if (e->mesh_vao)
    glDeleteVertexArrays (1, &e->mesh_vao);
  memset (e->mesh_buf, 0, sizeof e->mesh_buf);
  e->mesh_vao = 0;
  e->mesh_n_indices = 0;
  e->mesh_gl_thr = NAN;
  e->uploaded_z = 0;
  e->ready = FALSE;
}

static void
tex3d_params (GLint filter)
{
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MIN_FILTER, filter);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MAG_FILTER, filter);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_WRAP_R, GL_CLAMP_TO_EDGE);
}

/* Upload up to @max_voxels more of a prepared entry (G_MAXSIZE: all of it); the GL context
 * must be current. Returns TRUE when the entry is complete. */
static gboolean
entry_upload (Entry *e,
              gsize  max_voxels)
{
  const KilnVolume *v = e->volume;
  gsize slice = (gsize) v->nx * v->ny;
  guint nz;

  if (e->ready || e->failed)
    return TRUE;
  glPixelStorei (GL_UNPACK_ALIGNMENT, 1);
  if (e->volume_tex == 0)
    {
      glGenTextures (1, &e->volume_tex);
      glBindTexture (GL_TEXTURE_3D, e->volume_tex);
      glTexImage3D (GL_TEXTURE_3D, 0, GL_R16, v->nx, v->ny, v->nz, 0, GL_RED, GL_UNSIGNED_SHORT, NULL);
      tex3d_params (GL_LINEAR);
      glGenTextures (1, &e->label_tex);
      glBindTexture (GL_TEXTURE_3D, e->label_tex);
      if (e->labels != NULL)
        glTexImage3D (GL_TEXTURE_3D, 0, e->labels16 ? GL_R16UI : GL_R32UI, v->nx, v->ny, v->nz, 0,
                      GL_RED_INTEGER, e->labels16 ? GL_UNSIGNED_SHORT : GL_UNSIGNED_INT, NULL);
      else
        {
          guint32 zero = 0;
          glTexImage3D (GL_TEXTURE_3D, 0, GL_R32UI, 1, 1, 1, 0, GL_RED_INTEGER, GL_UNSIGNED_INT, &zero);
        }
      tex3d_params (GL_NEAREST);
      glGenTextures (1, &e->brick_tex);
      glBindTexture (GL_TEXTURE_3D, e->brick_tex);
      glTexImage3D (GL_TEXTURE_3D, 0, GL_R32F, e->nb[0], e->nb[1], e->nb[2], 0, GL_RED, GL_FLOAT, e->bricks);
      tex3d_params (GL_NEAREST);
      e->bytes = slice * v->nz * (2 + (e->labels == NULL ? 0 : e->labels16 ? 2 : 4));
    }
  nz = max_voxels == G_MAXSIZE ? v->nz : (guint) CLAMP (max_voxels / MAX (slice, 1), 1, v->nz);
  nz = MIN (nz, v->nz - e->uploaded_z);
  glBindTexture (GL_TEXTURE_3D, e->volume_tex);
  glTexSubImage3D (GL_TEXTURE_3D, 0, 0, 0, e->uploaded_z, v->nx, v->ny, nz, GL_RED, GL_UNSIGNED_SHORT,
                   e->norm + slice * e->uploaded_z);
  if (e->labels != NULL)
    {
      glBindTexture (GL_TEXTURE_3D, e->label_tex);
      if (e->labels16)
        glTexSubImage3D (GL_TEXTURE_3D, 0, 0, 0, e->uploaded_z, v->nx, v->ny, nz, GL_RED_INTEGER,
                         GL_UNSIGNED_SHORT, e->labels16 + slice * e->uploaded_z);
      else
        glTexSubImage3D (GL_TEXTURE_3D, 0, 0, 0, e->uploaded_z, v->nx, v->ny, nz, GL_RED_INTEGER,
                         GL_UNSIGNED_INT, e->labels->data + slice * e->uploaded_z);
    }
  glBindTexture (GL_TEXTURE_3D, 0);
  glPixelStorei (GL_UNPACK_ALIGNMENT, 4);
  e->uploaded_z += nz;
  if (e->uploaded_z < v->nz)
    return FALSE;
  e->ready = TRUE;
  g_clear_pointer (&e->norm, g_free);
  g_clear_pointer (&e->labels16, g_free);
  return TRUE;
}

static Entry *
cache_find (KilnVolumeView  *self,
            KilnVolume      *volume,
            KilnLabelVolume *labels)
{
  for (guint i = 0; i < self->cache->len; i++)
    {
      Entry *e = g_ptr_array_index (self->cache, i);
      if (e->volume == volume && e->labels == labels)
        return e;
    }
  return NULL;
}

/* Drop least recently used entries (never the current one) beyond the cache's bounds. */
static void
cache_trim (KilnVolumeView *self)
{
  for (;;)
    {
      gsize bytes = 0;
      Entry *oldest = NULL;
      guint oldest_i = 0;

      for (guint i = 0; i < self->cache->len; i++)
        {
          Entry *e = g_ptr_array_index (self->cache, i);
          bytes += e->bytes;
          if (e != self->current && (oldest == NULL || e->used < oldest->used))
            {
              oldest = e;
              oldest_i = i;
            }
        }
      if (oldest == NULL || (self->cache->len <= CACHE_MAX_ENTRIES && bytes <= CACHE_MAX_BYTES))
        return;
      if (oldest->volume_tex && gtk_widget_get_realized (GTK_WIDGET (self)))
        {
          gtk_gl_area_make_current (GTK_GL_AREA (self));
          entry_drop_gl (oldest);
        }
      if (oldest->mesh_job != NULL)
        g_cancellable_cancel (oldest->mesh_job);
      g_ptr_array_remove_index_fast (self->cache, oldest_i);
    }
}

/* Idle: upload prefetched entries in chunks, so that the main loop stays responsive. Its
 * priority is above GTK's redraw (G_PRIORITY_HIGH_IDLE + 20) so that continuous redraws
 * (playing, orbiting) cannot starve it; each chunk is short. */
static gboolean
upload_step (gpointer data)
{
  KilnVolumeView *self = data;

  if (!gtk_widget_get_realized (GTK_WIDGET (self)) || gtk_gl_area_get_error (GTK_GL_AREA (self)) != NULL)
    {
      self->upload_id = 0;
      return G_SOURCE_REMOVE;
    }
  for (guint i = 0; i < self->cache->len; i++)
    {
      Entry *e = g_ptr_array_index (self->cache, i);
      if (e->ready || e->failed || !entry_is_prepared (e))
        continue;
      if (e->norm == NULL && e->volume_tex == 0 && !e->failed)
        continue;   /* CPU side was released (cannot happen before upload) */
      gtk_gl_area_make_current (GTK_GL_AREA (self));
      entry_upload (e, UPLOAD_CHUNK_VOXELS);
      return G_SOURCE_CONTINUE;
    }
  /* nothing ready to upload: entries still being prepared restart this when done */
  self->upload_id = 0;
  return G_SOURCE_REMOVE;
}

static void
ensure_upload_idle (KilnVolumeView *self)
{
  if (self->upload_id == 0)
    self->upload_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE + 10, upload_step, self, NULL);
}

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (source);
  Job *j = g_task_get_task_data (G_TASK (result));
  Entry *e = j->e;

  if (j->prepare && self->cache != NULL)
    ensure_upload_idle (self);
  if (isnan (j->thr) || e->mesh_job != j->cancellable)
    return;   /* no mesh asked, or superseded by another threshold */
  g_clear_object (&e->mesh_job);
  if (j->mesh != NULL && j->mesh->n_triangles > MESH_MAX_TRIANGLES)
    {
      g_clear_error (&j->error);
      j->error = g_error_new (KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                              "%zu triangles are too many to draw", j->mesh->n_triangles);
      g_clear_pointer (&j->mesh, kiln_mesh_free);
    }
  if (j->mesh != NULL)
    {
      g_clear_pointer (&e->mesh, kiln_mesh_free);
      e->mesh = g_steal_pointer (&j->mesh);
      e->mesh_cpu_thr = j->thr;
      if (e == self->current)
        gtk_gl_area_queue_render (GTK_GL_AREA (self));
    }
  else
    {
      /* the ray caster goes on drawing this isosurface */
      if (!g_error_matches (j->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No isosurface mesh: %s", j->error ? j->error->message : "unknown error");
      e->mesh_failed_thr = j->thr;
    }
}

/* Start a worker: prepare @e (when @prepare) and extract its mesh at @thr (unless NAN),
 * cancelling an extraction at another threshold under way. */
static void
start_job (KilnVolumeView *self,
           Entry          *e,
           gboolean        prepare,
           double          thr)
{
  g_autoptr(GTask) task = NULL;
  Job *j = g_new0 (Job, 1);

  j->e = entry_ref (e);
  j->prepare = prepare;
  j->thr = thr;
  if (!isnan (thr))
    {
      if (e->mesh_job != NULL)
        g_cancellable_cancel (e->mesh_job);
      g_clear_object (&e->mesh_job);
      j->cancellable = g_cancellable_new ();
      e->mesh_job = g_object_ref (j->cancellable);
      e->mesh_job_thr = thr;
    }
  task = g_task_new (self, NULL, on_job_done, NULL);
  g_task_set_task_data (task, j, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, job_thread);
}

/* The threshold a mesh is wanted at for @e now, NAN when none. */
static double
wanted_mesh_threshold (KilnVolumeView *self)
{
  if (self->no_mesh || self->mode != KILN_RENDER_ISOSURFACE)
    return NAN;
  return self->threshold;
}

/* Ask for @e's mesh at the current threshold unless it is there, coming, or failed. */
static void
request_mesh (KilnVolumeView *self,
              Entry          *e)
{
  double thr = wanted_mesh_threshold (self);

  if (isnan (thr) || e->mesh_gl_thr == thr || (e->mesh != NULL && e->mesh_cpu_thr == thr)
      || (e->mesh_job != NULL && e->mesh_job_thr == thr) || e->mesh_failed_thr == thr)
    return;
  start_job (self, e, FALSE, thr);
}

/* Upload @e's extracted mesh as vertex and index buffers (context current). */
static void
entry_upload_mesh (Entry *e)
{
  KilnMesh *m = e->mesh;
  gsize nv = m->n_vertices;
  g_autofree guint32 *zero = NULL;

  if (e->mesh_vao == 0)
    {
      glGenVertexArrays (1, &e->mesh_vao);
      glGenBuffers (4, e->mesh_buf);
    }
  glBindVertexArray (e->mesh_vao);
  glBindBuffer (GL_ARRAY_BUFFER, e->mesh_buf[0]);
  glBufferData (GL_ARRAY_BUFFER, nv * 3 * sizeof (float), m->positions, GL_STATIC_DRAW);
  glEnableVertexAttribArray (0);
  glVertexAttribPointer (0, 3, GL_FLOAT, GL_FALSE, 0, NULL);
  glBindBuffer (GL_ARRAY_BUFFER, e->mesh_buf[1]);
  glBufferData (GL_ARRAY_BUFFER, nv * 3 * sizeof (float), m->normals, GL_STATIC_DRAW);
  glEnableVertexAttribArray (1);
  glVertexAttribPointer (1, 3, GL_FLOAT, GL_FALSE, 0, NULL);
  glBindBuffer (GL_ARRAY_BUFFER, e->mesh_buf[2]);
  if (m->labels == NULL)
    zero = g_new0 (guint32, MAX (nv, 1));
  glBufferData (GL_ARRAY_BUFFER, nv * sizeof (guint32), m->labels ? m->labels : zero, GL_STATIC_DRAW);
  glEnableVertexAttribArray (2);
  glVertexAttribIPointer (2, 1, GL_UNSIGNED_INT, 0, NULL);
  glBindBuffer (GL_ELEMENT_ARRAY_BUFFER, e->mesh_buf[3]);
  glBufferData (GL_ELEMENT_ARRAY_BUFFER, m->n_triangles * 3 * sizeof (guint32), m->indices, GL_STATIC_DRAW);
  glBindVertexArray (0);
  glBindBuffer (GL_ARRAY_BUFFER, 0);
  e->mesh_n_indices = m->n_triangles * 3;
  e->mesh_gl_thr = e->mesh_cpu_thr;
  g_clear_pointer (&e->mesh, kiln_mesh_free);
}

/* Makes the shown volume's textures current (context current). */
static void
upload_volume (KilnVolumeView *self)
{
  Entry *e;

  self->upload_pending = FALSE;
  if (self->volume == NULL)
    {
      self->current = NULL;
      return;
    }
  e = cache_find (self, self->volume, self->labels);
  if (e == NULL)
    {
      /* a cold switch: prepare here */
      e = entry_new (self->volume, self->labels);
      g_ptr_array_add (self->cache, e);
      entry_prepare (e);
    }
  else
    entry_wait_prepared (e);   /* a prefetch under way: its worker is nearly done */
  e->used = ++self->use_clock;
  self->current = e;
  if (e->failed)
    {
      gtk_gl_area_set_error (GTK_GL_AREA (self),
                             g_error_new (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                          _("Not enough memory to display this volume")));
      return;
    }
  entry_upload (e, G_MAXSIZE);
  self->vmin = e->vmin;
  self->vmax = e->vmax;
  cache_trim (self);

  /* the bounding box edges */
  {
    double ext[3];
    float v[24 * 3];
    int k = 0;
    box_extent (self, ext);
    for (int a = 0; a < 3; a++)
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
          for (int end = 0; end < 2; end++)
            {
              int b = (a + 1) % 3, c = (a + 2) % 3;
              float p[3];
              p[a] = (float) (end * ext[a]);
              p[b] = (float) (i * ext[b]);
              p[c] = (float) (j * ext[c]);
              v[k++] = p[0];
              v[k++] = p[1];
              v[k++] = p[2];
            }
    glBindBuffer (GL_ARRAY_BUFFER, self->box_vbo);
    glBufferData (GL_ARRAY_BUFFER, sizeof v, v, GL_STATIC_DRAW);
    glBindBuffer (GL_ARRAY_BUFFER, 0);
  }
}

void
kiln_volume_view_prefetch (KilnVolumeView  *self,
                           KilnVolume      *volume,
                           KilnLabelVolume *labels)
{
  Entry *e;

  g_return_if_fail (KILN_IS_VOLUME_VIEW (self));
  g_return_if_fail (volume != NULL);
  g_return_if_fail (labels == NULL ||
                    (labels->nx == volume->nx && labels->ny == volume->ny && labels->nz == volume->nz));

  if ((e = cache_find (self, volume, labels)) != NULL)
    {
      e->used = ++self->use_clock;
      return;
    }
  e = entry_new (volume, labels);
  e->used = ++self->use_clock;
  g_ptr_array_add (self->cache, e);
  cache_trim (self);
  /* the worker extracts the isosurface mesh too, at the threshold shown now */
  start_job (self, e, TRUE, wanted_mesh_threshold (self));
}

gboolean
kiln_volume_view_is_prefetched (KilnVolumeView  *self,
                                KilnVolume      *volume,
                                KilnLabelVolume *labels)
{
  Entry *e;

  g_return_val_if_fail (KILN_IS_VOLUME_VIEW (self), FALSE);
  e = cache_find (self, volume, labels);
  return e != NULL && e->ready;
}

void
kiln_volume_view_get_range (KilnVolumeView *self,
                            double         *min,
                            double         *max)
{
  Entry *e = self->volume ? cache_find (self, self->volume, self->labels) : NULL;

  if (e != NULL && entry_is_prepared (e) && !e->failed)
    {
      *min = e->vmin;
      *max = e->vmax;
    }
  else if (self->volume != NULL)
    {
      KilnStats st;
      kiln_volume_stats (self->volume, &st);
      *min = st.min;
      *max = st.max;
    }
  else
    *min = *max = 0;
}

static void
kiln_volume_view_realize (GtkWidget *widget)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (widget);
  GError *error = NULL;

  GTK_WIDGET_CLASS (kiln_volume_view_parent_class)->realize (widget);

  gtk_gl_area_make_current (GTK_GL_AREA (self));
  if (gtk_gl_area_get_error (GTK_GL_AREA (self)) != NULL)
    return;

  self->ray_program = link_program ("/io/github/kiln_tomo/Kiln/shaders/volume.vert",
                                    "/io/github/kiln_tomo/Kiln/shaders/volume.frag", &error);
  if (self->ray_program != 0)
    self->box_program = link_program ("/io/github/kiln_tomo/Kiln/shaders/box.vert",
                                      "/io/github/kiln_tomo/Kiln/shaders/box.frag", &error);
  if (error != NULL)
    {
      gtk_gl_area_set_error (GTK_GL_AREA (self), error);
      g_error_free (error);
      return;
    }
  /* the mesh isosurface is an acceleration only: without it the ray caster draws */
  self->mesh_program = link_program ("/io/github/kiln_tomo/Kiln/shaders/mesh.vert",
                                     "/io/github/kiln_tomo/Kiln/shaders/mesh.frag", &error);
  if (error != NULL)
    {
      g_warning ("Isosurface meshes are off: %s", error->message);
      g_clear_error (&error);
    }
  if (self->mesh_program != 0)
    self->slice_program = link_program ("/io/github/kiln_tomo/Kiln/shaders/slice.vert",
                                        "/io/github/kiln_tomo/Kiln/shaders/slice.frag", &error);
  if (error != NULL)
    {
      g_warning ("Slice planes over meshes are off: %s", error->message);
      g_clear_error (&error);
    }
  glGenVertexArrays (1, &self->slice_vao);
  glGenBuffers (1, &self->slice_vbo);
  glBindVertexArray (self->slice_vao);
  glBindBuffer (GL_ARRAY_BUFFER, self->slice_vbo);
  glEnableVertexAttribArray (0);
  glVertexAttribPointer (0, 3, GL_FLOAT, GL_FALSE, 0, NULL);
  glBindVertexArray (0);
  glBindBuffer (GL_ARRAY_BUFFER, 0);
  glGenVertexArrays (1, &self->vao);
  glGenVertexArrays (1, &self->box_vao);
  glGenBuffers (1, &self->box_vbo);
  glBindVertexArray (self->box_vao);
  glBindBuffer (GL_ARRAY_BUFFER, self->box_vbo);
  glEnableVertexAttribArray (0);
  glVertexAttribPointer (0, 3, GL_FLOAT, GL_FALSE, 0, NULL);
  glGenVertexArrays (1, &self->overlay_vao);
  glGenBuffers (1, &self->overlay_vbo);
  glBindVertexArray (self->overlay_vao);
  glBindBuffer (GL_ARRAY_BUFFER, self->overlay_vbo);
  glEnableVertexAttribArray (0);
  glVertexAttribPointer (0, 3, GL_FLOAT, GL_FALSE, 0, NULL);
  glBindVertexArray (0);
  glBindBuffer (GL_ARRAY_BUFFER, 0);
  self->upload_pending = TRUE;
  self->overlay_dirty = TRUE;
}

static void
kiln_volume_view_unrealize (GtkWidget *widget)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (widget);

  gtk_gl_area_make_current (GTK_GL_AREA (self));
  if (gtk_gl_area_get_error (GTK_GL_AREA (self)) == NULL)
    {
      for (guint i = 0; i < self->cache->len; i++)
        entry_drop_gl (g_ptr_array_index (self->cache, i));
      if (self->map_tex)
        glDeleteTextures (1, &self->map_tex);
      if (self->low_tex)
        glDeleteTextures (1, &self->low_tex);
      if (self->low_fbo)
        glDeleteFramebuffers (1, &self->low_fbo);
      if (self->box_vbo)
        glDeleteBuffers (1, &self->box_vbo);
      if (self->overlay_vbo)
        glDeleteBuffers (1, &self->overlay_vbo);
      if (self->overlay_vao)
        glDeleteVertexArrays (1, &self->overlay_vao);
      if (self->vao)
        glDeleteVertexArrays (1, &self->vao);
      if (self->box_vao)
        glDeleteVertexArrays (1, &self->box_vao);
      if (self->ray_program)
        glDeleteProgram (self->ray_program);
      if (self->box_program)
        glDeleteProgram (self->box_program);
      if (self->mesh_program)
        glDeleteProgram (self->mesh_program);
      if (self->slice_program)
        glDeleteProgram (self->slice_program);
      if (self->slice_vbo)
        glDeleteBuffers (1, &self->slice_vbo);
      if (self->slice_vao)
        glDeleteVertexArrays (1, &self->slice_vao);
    }
  for (guint i = 0; i < self->cache->len; i++)
    {
      Entry *e = g_ptr_array_index (self->cache, i);
      if (e->mesh_job != NULL)
        g_cancellable_cancel (e->mesh_job);
    }
  g_ptr_array_set_size (self->cache, 0);
  self->current = NULL;
  g_clear_handle_id (&self->upload_id, g_source_remove);
  self->map_tex = self->low_tex = self->low_fbo = 0;
  self->low_size[0] = self->low_size[1] = 0;
  self->map_dirty = TRUE;
  self->box_vbo = self->vao = self->box_vao = 0;
  self->overlay_vao = self->overlay_vbo = 0;
  self->ray_program = self->box_program = self->mesh_program = self->slice_program = 0;
  self->slice_vao = self->slice_vbo = 0;

  GTK_WIDGET_CLASS (kiln_volume_view_parent_class)->unrealize (widget);
}

/* The part of the box (nm) that holds every brick able to contribute at @level, grown by one
 * voxel; the whole box when slice planes are shown. FALSE when nothing can contribute. */
static gboolean
occupied_box (KilnVolumeView *self,
              Entry          *e,
              float           level,
              float           lo[3],
              float           hi[3])
{
  double ext[3], vs;
  guint bmin[3] = { G_MAXUINT, G_MAXUINT, G_MAXUINT }, bmax[3] = { 0, 0, 0 };
  gboolean any = FALSE;

  box_extent (self, ext);
  vs = ext[0] / self->volume->nx;
  for (int i = 0; i < 3; i++)
    {
      lo[i] = 0;
      hi[i] = (float) ext[i];
    }
  if (self->slices[0] >= 0 || self->slices[1] >= 0 || self->slices[2] >= 0 || self->no_skipping)
    return TRUE;
  for (guint z = 0; z < e->nb[2]; z++)
    for (guint y = 0; y < e->nb[1]; y++)
      for (guint x = 0; x < e->nb[0]; x++)
        if (e->bricks[((gsize) z * e->nb[1] + y) * e->nb[0] + x] >= level)
          {
            any = TRUE;
            bmin[0] = MIN (bmin[0], x); bmax[0] = MAX (bmax[0], x);
            bmin[1] = MIN (bmin[1], y); bmax[1] = MAX (bmax[1], y);
            bmin[2] = MIN (bmin[2], z); bmax[2] = MAX (bmax[2], z);
          }
  if (!any)
    return FALSE;
  for (int i = 0; i < 3; i++)
    {
      lo[i] = (float) MAX (0.0, (bmin[i] * (double) BRICK - 1) * vs);
      hi[i] = (float) MIN (ext[i], ((bmax[i] + 1) * (double) BRICK + 1) * vs);
    }
  return TRUE;
}

static void
upload_label_map (KilnVolumeView *self)
{
  guint n = MAX (self->n_label_map, 1), rows = (n + 1023) / 1024;
  g_autofree guint32 *data = g_new0 (guint32, (gsize) rows * 1024);

  self->map_dirty = FALSE;
  if (self->label_map != NULL)
    memcpy (data, self->label_map, sizeof (guint32) * self->n_label_map);
  if (self->map_tex == 0)
    glGenTextures (1, &self->map_tex);
  glBindTexture (GL_TEXTURE_2D, self->map_tex);
  glPixelStorei (GL_UNPACK_ALIGNMENT, 4);
  glTexImage2D (GL_TEXTURE_2D, 0, GL_R32UI, 1024, rows, 0, GL_RED_INTEGER, GL_UNSIGNED_INT, data);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glBindTexture (GL_TEXTURE_2D, 0);
}

/* The low-resolution target of interactive frames (half the size on each axis). */
static gboolean
ensure_low_target (KilnVolumeView *self,
                   int             w,
                   int             h)
{
  if (self->low_fbo != 0 && self->low_size[0] == w && self->low_size[1] == h)
    return TRUE;
  if (self->low_fbo == 0)
    glGenFramebuffers (1, &self->low_fbo);
  if (self->low_tex == 0)
    glGenTextures (1, &self->low_tex);
  glBindTexture (GL_TEXTURE_2D, self->low_tex);
  glTexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
  glBindTexture (GL_TEXTURE_2D, 0);
  glBindFramebuffer (GL_FRAMEBUFFER, self->low_fbo);
  glFramebufferTexture2D (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, self->low_tex, 0);
  self->low_size[0] = w;
  self->low_size[1] = h;
  return glCheckFramebufferStatus (GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
}

/* The isosurface is drawn from the current entry's mesh when its threshold is the one shown
 * (with slice planes only when their shaders are there). */
static gboolean
mesh_drawable (KilnVolumeView *self)
{
  Entry *e = self->current;

  return self->mesh_program != 0 && e != NULL && e->ready && e->mesh_vao != 0
         && self->mode == KILN_RENDER_ISOSURFACE && !self->no_mesh
         && e->mesh_gl_thr == self->threshold
         && (self->slice_program != 0
             || (self->slices[0] < 0 && self->slices[1] < 0 && self->slices[2] < 0));
}

/* The mesh, with depth test, at full resolution (it is fast enough while interacting too). */
static void
draw_mesh (KilnVolumeView *self,
           Entry          *e,
           const Mat4     *vp,
           const Mat4     *inv)
{
  double ext[3], d[3], n = 0;
  float vs[3];

  box_extent (self, ext);
  vs[0] = (float) (ext[0] / self->volume->nx);
  vs[1] = (float) (ext[1] / self->volume->ny);
  vs[2] = (float) (ext[2] / self->volume->nz);
  /* the viewing direction: from the near to the far plane (orthographic: the same everywhere),
   * as the ray caster's rays */
  for (int i = 0; i < 3; i++)
    {
      double near = -inv->m[8 + i] + inv->m[12 + i], far = inv->m[8 + i] + inv->m[12 + i];
      double wn = -inv->m[11] + inv->m[15], wf = inv->m[11] + inv->m[15];
      d[i] = far / wf - near / wn;
      n += d[i] * d[i];
    }
  n = n > 0 ? sqrt (n) : 1;

  glEnable (GL_DEPTH_TEST);
  glDepthFunc (GL_LESS);
  /* the ray caster sees a surface only where a ray enters the material: back faces are culled
   * (triangles are counter-clockwise seen from outside; the view is a rotation, so they stay
   * counter-clockwise on the screen), which halves the triangles rasterised */
  glEnable (GL_CULL_FACE);
  glCullFace (GL_BACK);
  glFrontFace (GL_CCW);
  glUseProgram (self->mesh_program);
  glUniform3f (glGetUniformLocation (self->mesh_program, "voxels"), (float) self->volume->nx,
               (float) self->volume->ny, (float) self->volume->nz);
  glActiveTexture (GL_TEXTURE0);
  glBindTexture (GL_TEXTURE_2D, self->map_tex);
  glUniform1i (glGetUniformLocation (self->mesh_program, "label_map"), 0);
  glUniform1ui (glGetUniformLocation (self->mesh_program, "map_size"),
                self->label_map != NULL ? self->n_label_map : 0);
  glUniformMatrix4fv (glGetUniformLocation (self->mesh_program, "view_proj"), 1, GL_FALSE, vp->m);
  glUniform3f (glGetUniformLocation (self->mesh_program, "voxel_nm"), vs[0], vs[1], vs[2]);
  glUniform3f (glGetUniformLocation (self->mesh_program, "view_dir"), (float) (d[0] / n),
               (float) (d[1] / n), (float) (d[2] / n));
  glUniform1i (glGetUniformLocation (self->mesh_program, "has_labels"), self->labels != NULL);
  glUniform1i (glGetUniformLocation (self->mesh_program, "hide_unlabelled"), self->hide_unlabelled);
  glUniform1ui (glGetUniformLocation (self->mesh_program, "selected_a"), self->selected[0]);
  glUniform1ui (glGetUniformLocation (self->mesh_program, "selected_b"), self->selected[1]);
  glUniform3f (glGetUniformLocation (self->mesh_program, "extent"), (float) ext[0], (float) ext[1],
               (float) ext[2]);
  glUniform3f (glGetUniformLocation (self->mesh_program, "slice_pos"), self->slices[0],
               self->slices[1], self->slices[2]);
  glBindVertexArray (e->mesh_vao);
  if (e->mesh_n_indices > 0)
    glDrawElements (GL_TRIANGLES, (GLsizei) e->mesh_n_indices, GL_UNSIGNED_INT, NULL);
  glBindVertexArray (0);
  glBindTexture (GL_TEXTURE_2D, 0);
  glDisable (GL_CULL_FACE);

  /* slice planes: quads over the box, depth-tested against the surface (the surface behind a
   * plane was discarded above), grey as the ray caster's (window 0.05 … 1 of the normalised
   * values) */
  if (self->slices[0] >= 0 || self->slices[1] >= 0 || self->slices[2] >= 0)
    {
      float quads[3 * 6 * 3];
      int nv = 0;

      for (int k = 0; k < 3; k++)
        {
          static const int corner[6][2] = { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 0, 0 }, { 1, 1 }, { 0, 1 } };
          int b = (k + 1) % 3, c = (k + 2) % 3;

          if (self->slices[k] < 0)
            continue;
          for (int i = 0; i < 6; i++, nv++)
            {
              quads[3 * nv + k] = (float) (MIN (self->slices[k], 1.0f) * ext[k]);
              quads[3 * nv + b] = (float) (corner[i][0] * ext[b]);
              quads[3 * nv + c] = (float) (corner[i][1] * ext[c]);
            }
        }
      glUseProgram (self->slice_program);
      glActiveTexture (GL_TEXTURE0);
      glBindTexture (GL_TEXTURE_3D, e->volume_tex);
      glUniform1i (glGetUniformLocation (self->slice_program, "volume"), 0);
      glUniformMatrix4fv (glGetUniformLocation (self->slice_program, "view_proj"), 1, GL_FALSE, vp->m);
      glUniform3f (glGetUniformLocation (self->slice_program, "extent"), (float) ext[0],
                   (float) ext[1], (float) ext[2]);
      glUniform1f (glGetUniformLocation (self->slice_program, "window_lo"), 0.05f);
      glUniform1f (glGetUniformLocation (self->slice_program, "window_hi"), 1.0f);
      glBindVertexArray (self->slice_vao);
      glBindBuffer (GL_ARRAY_BUFFER, self->slice_vbo);
      glBufferData (GL_ARRAY_BUFFER, sizeof (float) * 3 * nv, quads, GL_STREAM_DRAW);
      glBindBuffer (GL_ARRAY_BUFFER, 0);
      glDrawArrays (GL_TRIANGLES, 0, nv);
      glBindVertexArray (0);
      glBindTexture (GL_TEXTURE_3D, 0);
    }
  glDisable (GL_DEPTH_TEST);
}

static gboolean
kiln_volume_view_render (GtkGLArea    *area,
                         GdkGLContext *context)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (area);
  Mat4 vp, inv;
  double e[3];
  Entry *cur;
  float norm_threshold, window_lo = 0.05f, lo[3], hi[3];
  GLint target_fbo = 0, viewport[4];
  gboolean low = FALSE;

  if (gtk_gl_area_get_error (area) != NULL || self->ray_program == 0)
    return FALSE;
  if (self->upload_pending)
    upload_volume (self);
  if (self->map_dirty)
    upload_label_map (self);

  /* GtkGLArea turns the depth test on when it has a depth buffer: only the mesh uses it, the
   * ray caster and the box and pair lines draw over what is there */
  glDisable (GL_DEPTH_TEST);
  glClearColor (0.11f, 0.12f, 0.14f, 1.0f);
  glClearDepth (1.0);
  glDepthMask (GL_TRUE);
  glClear (GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  cur = self->current;
  if (self->volume == NULL || cur == NULL || !cur->ready)
    return TRUE;
  if (self->mesh_program != 0)
    {
      request_mesh (self, cur);
      if (cur->mesh != NULL && cur->mesh_cpu_thr == self->threshold)
        entry_upload_mesh (cur);
    }

  box_extent (self, e);
  vp = view_projection (self);
  if (!mat4_invert (&vp, &inv))
    return TRUE;
  norm_threshold = (float) ((self->threshold - self->vmin) / (self->vmax - self->vmin));

  glGetIntegerv (GL_DRAW_FRAMEBUFFER_BINDING, &target_fbo);
  glGetIntegerv (GL_VIEWPORT, viewport);
  if (mesh_drawable (self))
    draw_mesh (self, cur, &vp, &inv);
  else if (occupied_box (self, cur, self->mode == KILN_RENDER_ISOSURFACE ? norm_threshold : window_lo, lo, hi))
    {
      if (is_interactive (self) && viewport[2] >= 64 && viewport[3] >= 64)
        {
          low = ensure_low_target (self, viewport[2] / INTERACTIVE_DIVISOR, viewport[3] / INTERACTIVE_DIVISOR);
          glBindFramebuffer (GL_FRAMEBUFFER, low ? self->low_fbo : (GLuint) target_fbo);
          if (low)
            {
              glViewport (0, 0, self->low_size[0], self->low_size[1]);
              glClear (GL_COLOR_BUFFER_BIT);
            }
        }
      glUseProgram (self->ray_program);
      glActiveTexture (GL_TEXTURE0);
      glBindTexture (GL_TEXTURE_3D, cur->volume_tex);
      glActiveTexture (GL_TEXTURE1);
      glBindTexture (GL_TEXTURE_3D, cur->label_tex);
      glActiveTexture (GL_TEXTURE2);
      glBindTexture (GL_TEXTURE_3D, cur->brick_tex);
      glActiveTexture (GL_TEXTURE3);
      glBindTexture (GL_TEXTURE_2D, self->map_tex);
      glUniform1i (glGetUniformLocation (self->ray_program, "volume"), 0);
      glUniform1i (glGetUniformLocation (self->ray_program, "labels"), 1);
      glUniform1i (glGetUniformLocation (self->ray_program, "bricks"), 2);
      glUniform1i (glGetUniformLocation (self->ray_program, "label_map"), 3);
      glUniform1ui (glGetUniformLocation (self->ray_program, "map_size"),
                    self->label_map != NULL ? self->n_label_map : 0);
      glUniform1f (glGetUniformLocation (self->ray_program, "brick_size"), BRICK);
      glUniform1i (glGetUniformLocation (self->ray_program, "skipping"), !self->no_skipping);
      glUniform1f (glGetUniformLocation (self->ray_program, "step_scale"), is_interactive (self) ? INTERACTIVE_STEP : 1.0f);
      glUniform3f (glGetUniformLocation (self->ray_program, "box_lo"), lo[0], lo[1], lo[2]);
      glUniform3f (glGetUniformLocation (self->ray_program, "box_hi"), hi[0], hi[1], hi[2]);
      glUniform1i (glGetUniformLocation (self->ray_program, "has_labels"), self->labels != NULL);
      glUniform1i (glGetUniformLocation (self->ray_program, "hide_unlabelled"), self->hide_unlabelled);
      glUniformMatrix4fv (glGetUniformLocation (self->ray_program, "inv_view_proj"), 1, GL_FALSE, inv.m);
      glUniform3f (glGetUniformLocation (self->ray_program, "extent"), (float) e[0], (float) e[1], (float) e[2]);
      glUniform3f (glGetUniformLocation (self->ray_program, "voxels"), (float) self->volume->nx,
                   (float) self->volume->ny, (float) self->volume->nz);
      glUniform1i (glGetUniformLocation (self->ray_program, "mode"), self->mode);
      glUniform1f (glGetUniformLocation (self->ray_program, "threshold"), norm_threshold);
      glUniform1f (glGetUniformLocation (self->ray_program, "window_lo"), window_lo);
      glUniform1f (glGetUniformLocation (self->ray_program, "window_hi"), 1.0f);
      glUniform3f (glGetUniformLocation (self->ray_program, "slice_pos"), self->slices[0], self->slices[1],
                   self->slices[2]);
      glUniform1ui (glGetUniformLocation (self->ray_program, "selected_a"), self->selected[0]);
      glUniform1ui (glGetUniformLocation (self->ray_program, "selected_b"), self->selected[1]);
      glBindVertexArray (self->vao);
      glDrawArrays (GL_TRIANGLES, 0, 3);
      if (low)
        {
          glBindFramebuffer (GL_READ_FRAMEBUFFER, self->low_fbo);
          glBindFramebuffer (GL_DRAW_FRAMEBUFFER, target_fbo);
          glViewport (viewport[0], viewport[1], viewport[2], viewport[3]);
          glBlitFramebuffer (0, 0, self->low_size[0], self->low_size[1],
                             viewport[0], viewport[1], viewport[0] + viewport[2], viewport[1] + viewport[3],
                             GL_COLOR_BUFFER_BIT, GL_LINEAR);
          glBindFramebuffer (GL_FRAMEBUFFER, target_fbo);
        }
      for (int unit = 3; unit >= 0; unit--)
        {
          glActiveTexture (GL_TEXTURE0 + unit);
          glBindTexture (unit == 3 ? GL_TEXTURE_2D : GL_TEXTURE_3D, 0);
        }
    }

  glUseProgram (self->box_program);
  glUniformMatrix4fv (glGetUniformLocation (self->box_program, "view_proj"), 1, GL_FALSE, vp.m);
  glUniform4f (glGetUniformLocation (self->box_program, "color"), 0.55f, 0.75f, 0.75f, 1.0f);
  glBindVertexArray (self->box_vao);
  glDrawArrays (GL_LINES, 0, 24);

  if (self->overlay_visible)
    {
      if (self->overlay_dirty)
        {
          glBindBuffer (GL_ARRAY_BUFFER, self->overlay_vbo);
          glBufferData (GL_ARRAY_BUFFER, sizeof self->overlay, self->overlay, GL_DYNAMIC_DRAW);
          glBindBuffer (GL_ARRAY_BUFFER, 0);
          self->overlay_dirty = FALSE;
        }
      glUniform4f (glGetUniformLocation (self->box_program, "color"), 1.0f, 1.0f, 1.0f, 1.0f);
      glBindVertexArray (self->overlay_vao);
      glDrawArrays (GL_LINES, 0, 2);
      glUniform4f (glGetUniformLocation (self->box_program, "color"), 1.0f, 0.85f, 0.2f, 1.0f);
      glDrawArrays (GL_LINES, 2, 2 * 48);
    }

  glBindVertexArray (0);
  glUseProgram (0);
  glActiveTexture (GL_TEXTURE0);
  return TRUE;
}

/* ---------------------------------------------------------------- picking */

guint32
kiln_volume_view_pick (KilnVolumeView *self,
                       double          x,
                       double          y,
                       double          position_nm[3])
{
  Mat4 vp, inv;
  double e[3], vs, o[3], d[3], t0 = 0, t1 = G_MAXDOUBLE, nd;
  int w = MAX (1, gtk_widget_get_width (GTK_WIDGET (self)));
  int h = MAX (1, gtk_widget_get_height (GTK_WIDGET (self)));
  double ndc_x = 2.0 * x / w - 1.0, ndc_y = 1.0 - 2.0 * y / h;
  float nearp[4], farp[4];
  int ix, iy, iz, stepx, stepy, stepz;
  double tmx, tmy, tmz, tdx, tdy, tdz;

  g_return_val_if_fail (KILN_IS_VOLUME_VIEW (self), 0);
  if (self->labels == NULL || self->volume == NULL)
    return 0;

  box_extent (self, e);
  vs = e[0] / self->volume->nx;
  vp = view_projection (self);
  if (!mat4_invert (&vp, &inv))
    return 0;
  for (int r = 0; r < 4; r++)
    {
      nearp[r] = inv.m[0 * 4 + r] * ndc_x + inv.m[1 * 4 + r] * ndc_y + inv.m[2 * 4 + r] * -1 + inv.m[3 * 4 + r];
      farp[r] = inv.m[0 * 4 + r] * ndc_x + inv.m[1 * 4 + r] * ndc_y + inv.m[2 * 4 + r] * 1 + inv.m[3 * 4 + r];
    }
  for (int i = 0; i < 3; i++)
    {
      o[i] = nearp[i] / nearp[3];
      d[i] = farp[i] / farp[3] - o[i];
    }
  nd = sqrt (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  for (int i = 0; i < 3; i++)
    d[i] /= nd;

  /* clip the ray to the box */
  for (int i = 0; i < 3; i++)
    {
      if (fabs (d[i]) < 1e-12)
        {
          if (o[i] < 0 || o[i] > e[i])
            return 0;
          continue;
        }
      {
        double a = (0 - o[i]) / d[i], b = (e[i] - o[i]) / d[i];
        t0 = MAX (t0, MIN (a, b));
        t1 = MIN (t1, MAX (a, b));
      }
    }
  if (t1 <= t0)
    return 0;

  /* Amanatides–Woo voxel traversal, in voxel units */
  {
    double p[3], dv[3] = { d[0], d[1], d[2] };
    for (int i = 0; i < 3; i++)
      p[i] = (o[i] + d[i] * (t0 + 1e-9)) / vs;
    ix = CLAMP ((int) floor (p[0]), 0, (int) self->labels->nx - 1);
    iy = CLAMP ((int) floor (p[1]), 0, (int) self->labels->ny - 1);
    iz = CLAMP ((int) floor (p[2]), 0, (int) self->labels->nz - 1);
    stepx = dv[0] > 0 ? 1 : -1;
    stepy = dv[1] > 0 ? 1 : -1;
    stepz = dv[2] > 0 ? 1 : -1;
    tdx = fabs (dv[0]) > 1e-12 ? fabs (1.0 / dv[0]) : G_MAXDOUBLE;
    tdy = fabs (dv[1]) > 1e-12 ? fabs (1.0 / dv[1]) : G_MAXDOUBLE;
    tdz = fabs (dv[2]) > 1e-12 ? fabs (1.0 / dv[2]) : G_MAXDOUBLE;
    tmx = fabs (dv[0]) > 1e-12 ? ((stepx > 0 ? ix + 1 : ix) - p[0]) / dv[0] : G_MAXDOUBLE;
    tmy = fabs (dv[1]) > 1e-12 ? ((stepy > 0 ? iy + 1 : iy) - p[1]) / dv[1] : G_MAXDOUBLE;
    tmz = fabs (dv[2]) > 1e-12 ? ((stepz > 0 ? iz + 1 : iz) - p[2]) / dv[2] : G_MAXDOUBLE;
  }
  while (ix >= 0 && iy >= 0 && iz >= 0 &&
         ix < (int) self->labels->nx && iy < (int) self->labels->ny && iz < (int) self->labels->nz)
    {
      guint32 l = KILN_VOXEL (self->labels, ix, iy, iz);
      if (l != 0)
        {
          if (position_nm != NULL)
            {
              position_nm[0] = (ix + 0.5) * vs;
              position_nm[1] = (iy + 0.5) * vs;
              position_nm[2] = (iz + 0.5) * vs;
            }
          return kiln_volume_view_display_id (self, l);
        }
      if (tmx < tmy && tmx < tmz)
        {
          ix += stepx;
          tmx += tdx;
        }
      else if (tmy < tmz)
        {
          iy += stepy;
          tmy += tdy;
        }
      else
        {
          iz += stepz;
          tmz += tdz;
        }
    }
  return 0;
}

/* ---------------------------------------------------------------- input */

static void
on_drag_begin (GtkGestureDrag *gesture,
               double          x,
               double          y,
               KilnVolumeView *self)
{
  self->dragging = TRUE;
  self->drag_yaw = self->yaw;
  self->drag_pitch = self->pitch;
  self->drag_pan_x = self->pan_x;
  self->drag_pan_y = self->pan_y;
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                KilnVolumeView *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));

  if ((state & GDK_SHIFT_MASK) || button == GDK_BUTTON_MIDDLE)
    {
      double nm_per_px = kiln_volume_view_get_view_width_nm (self) / MAX (1, gtk_widget_get_width (GTK_WIDGET (self)));
      self->pan_x = self->drag_pan_x - dx * nm_per_px;
      self->pan_y = self->drag_pan_y + dy * nm_per_px;
    }
  else
    {
      self->yaw = self->drag_yaw + dx * 0.4;
      self->pitch = CLAMP (self->drag_pitch + dy * 0.4, -89.0, 89.0);
    }
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
}

static void
on_drag_end (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             KilnVolumeView *self)
{
  self->dragging = FALSE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));   /* the full-quality frame (unless still interactive) */
}

static gboolean
interaction_over (gpointer data)
{
  KilnVolumeView *self = data;

  self->interact_id = 0;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  return G_SOURCE_REMOVE;
}

/* A short interactive period (zoom steps, time-point switches): full quality 250 ms after the
 * last one. */
static void
interact_briefly (KilnVolumeView *self)
{
  g_clear_handle_id (&self->interact_id, g_source_remove);
  self->interact_id = g_timeout_add (250, interaction_over, self);
}

static gboolean
is_interactive (KilnVolumeView *self)
{
  return self->interactive || self->dragging || self->interact_id != 0;
}

void
kiln_volume_view_set_interactive (KilnVolumeView *self,
                                  gboolean        interactive)
{
  g_return_if_fail (KILN_IS_VOLUME_VIEW (self));
  self->interactive = interactive;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

void
kiln_volume_view_set_use_mesh (KilnVolumeView *self,
                               gboolean        use_mesh)
{
  g_return_if_fail (KILN_IS_VOLUME_VIEW (self));
  self->no_mesh = !use_mesh;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

gboolean
kiln_volume_view_get_mesh_drawn (KilnVolumeView *self)
{
  g_return_val_if_fail (KILN_IS_VOLUME_VIEW (self), FALSE);
  return mesh_drawable (self);
}

gsize
kiln_volume_view_get_mesh_triangles (KilnVolumeView *self)
{
  g_return_val_if_fail (KILN_IS_VOLUME_VIEW (self), 0);
  return mesh_drawable (self) ? self->current->mesh_n_indices / 3 : 0;
}

void
kiln_volume_view_set_skipping (KilnVolumeView *self,
                               gboolean        skipping)
{
  g_return_if_fail (KILN_IS_VOLUME_VIEW (self));
  self->no_skipping = !skipping;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

gboolean
kiln_volume_view_get_interactive (KilnVolumeView *self)
{
  g_return_val_if_fail (KILN_IS_VOLUME_VIEW (self), FALSE);
  return is_interactive (self);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           KilnVolumeView           *self)
{
  self->zoom = CLAMP (self->zoom * pow (1.12, -dy), 0.1, 50.0);
  /* reduced resolution while the wheel turns, full quality 250 ms after the last step */
  interact_briefly (self);
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
  return TRUE;
}

static void
on_click (GtkGestureClick *gesture,
          int              n_press,
          double           x,
          double           y,
          KilnVolumeView  *self)
{
  guint32 label;

  if (n_press != 1)
    return;
  label = kiln_volume_view_pick (self, x, y, NULL);
  g_signal_emit (self, signals[LABEL_PICKED], 0, label);
}

static void
kiln_volume_view_size_allocate (GtkWidget *widget,
                                int        width,
                                int        height,
                                int        baseline)
{
  GTK_WIDGET_CLASS (kiln_volume_view_parent_class)->size_allocate (widget, width, height, baseline);
  g_signal_emit (widget, signals[VIEW_CHANGED], 0);
}

static GdkTexture *
render_snapshot (KilnVolumeView *self,
                 GtkNative      *native,
                 int             w,
                 int             h)
{
  GdkPaintable *paintable = gtk_widget_paintable_new (GTK_WIDGET (self));
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderNode *node;
  GdkTexture *texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node != NULL)
    {
      texture = gsk_renderer_render_texture (gtk_native_get_renderer (native), node,
                                             &GRAPHENE_RECT_INIT (0, 0, w, h));
      gsk_render_node_unref (node);
    }
  g_object_unref (paintable);
  return texture;
}

GdkTexture *
kiln_volume_view_render_texture (KilnVolumeView *self)
{
  GdkTexture *texture;
  GtkNative *native = gtk_widget_get_native (GTK_WIDGET (self));
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  gboolean saved = self->interactive, dragging = self->dragging;

  if (native == NULL || w <= 0 || h <= 0 || gtk_gl_area_get_error (GTK_GL_AREA (self)) != NULL)
    return NULL;
  if (!is_interactive (self))
    return render_snapshot (self, native, w, h);
  /* exports are full quality: end a brief interactive period, render without it */
  g_clear_handle_id (&self->interact_id, g_source_remove);
  self->interactive = self->dragging = FALSE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  texture = render_snapshot (self, native, w, h);
  self->interactive = saved;
  self->dragging = dragging;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  return texture;
}

/* ---------------------------------------------------------------- GObject */

static void
kiln_volume_view_finalize (GObject *object)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (object);

  g_clear_pointer (&self->volume, kiln_volume_unref);
  g_clear_pointer (&self->labels, kiln_label_volume_unref);
  g_clear_handle_id (&self->interact_id, g_source_remove);
  g_clear_handle_id (&self->upload_id, g_source_remove);
  g_clear_pointer (&self->cache, g_ptr_array_unref);
  g_free (self->label_map);
  G_OBJECT_CLASS (kiln_volume_view_parent_class)->finalize (object);
}

static void
kiln_volume_view_class_init (KilnVolumeViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkGLAreaClass *area_class = GTK_GL_AREA_CLASS (klass);

  object_class->finalize = kiln_volume_view_finalize;
  widget_class->realize = kiln_volume_view_realize;
  widget_class->unrealize = kiln_volume_view_unrealize;
  area_class->render = kiln_volume_view_render;

  /**
   * KilnVolumeView::label-picked:
   * @label: the particle label clicked, 0 for background
   */
  signals[LABEL_PICKED] = g_signal_new ("label-picked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /**
   * KilnVolumeView::view-changed:
   *
   * The camera moved (orbit, zoom, pan, preset) or the widget was resized.
   */
  signals[VIEW_CHANGED] = g_signal_new ("view-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  widget_class->size_allocate = kiln_volume_view_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "kiln-volume-view");
}

static void
kiln_volume_view_init (KilnVolumeView *self)
{
  GtkGesture *drag, *click;
  GtkEventController *scroll;

  gtk_gl_area_set_required_version (GTK_GL_AREA (self), 3, 3);
  gtk_gl_area_set_has_depth_buffer (GTK_GL_AREA (self), TRUE);   /* the mesh isosurface */
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self), 200, 200);

  self->mode = KILN_RENDER_ISOSURFACE;
  self->zoom = 1.0;
  self->cache = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_unref);
  self->map_dirty = TRUE;
  self->slices[0] = self->slices[1] = self->slices[2] = -1;
  kiln_volume_view_set_preset (self, KILN_VIEW_OBLIQUE);

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  click = gtk_gesture_click_new ();
  g_signal_connect (click, "released", G_CALLBACK (on_click), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
}

GtkWidget *
kiln_volume_view_new (void)
{
  return g_object_new (KILN_TYPE_VOLUME_VIEW, NULL);
}

void
kiln_volume_view_set_volume (KilnVolumeView  *self,
                             KilnVolume      *volume,
                             KilnLabelVolume *labels)
{
  g_return_if_fail (KILN_IS_VOLUME_VIEW (self));
  g_return_if_fail (labels == NULL || volume == NULL ||
                    (labels->nx == volume->nx && labels->ny == volume->ny && labels->nz == volume->nz));

  if (volume != NULL)
    kiln_volume_ref (volume);
  if (labels != NULL)
    kiln_label_volume_ref (labels);
  /* switching from one volume to another (time points): the first frames are interactive, a
   * full-quality one follows 250 ms after the last switch */
  if (self->volume != NULL && volume != NULL && volume != self->volume &&
      gtk_widget_get_realized (GTK_WIDGET (self)))
    interact_briefly (self);
  g_clear_pointer (&self->volume, kiln_volume_unref);
  g_clear_pointer (&self->labels, kiln_label_volume_unref);
  self->volume = volume;
  self->labels = labels;
  if (volume != NULL)
    {
      double lo, hi;
      kiln_volume_view_get_range (self, &lo, &hi);
      if (self->threshold <= lo || self->threshold >= hi)
        self->threshold = (lo + hi) / 2;
    }
  self->upload_pending = TRUE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
}

void
kiln_volume_view_set_label_map (KilnVolumeView *self,
                                const guint32  *map,
                                guint           n_map)
{
  g_return_if_fail (KILN_IS_VOLUME_VIEW (self));
  g_clear_pointer (&self->label_map, g_free);
  self->n_label_map = 0;
  if (map != NULL && n_map > 0)
    {
      self->label_map = g_memdup2 (map, sizeof (guint32) * n_map);
      self->n_label_map = n_map;
    }
  self->map_dirty = TRUE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

guint32
kiln_volume_view_display_id (KilnVolumeView *self,
                             guint32         label)
{
  g_return_val_if_fail (KILN_IS_VOLUME_VIEW (self), label);
  if (label == 0 || self->label_map == NULL || label >= self->n_label_map || self->label_map[label] == 0)
    return label;
  return self->label_map[label];
}

void
kiln_volume_view_set_mode (KilnVolumeView *self,
                           KilnRenderMode  mode)
{
  self->mode = mode;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

void
kiln_volume_view_set_threshold (KilnVolumeView *self,
                                double          threshold)
{
  self->threshold = threshold;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

void
kiln_volume_view_set_hide_unlabelled (KilnVolumeView *self,
                                      gboolean        hide)
{
  self->hide_unlabelled = hide;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

void
kiln_volume_view_set_slices (KilnVolumeView *self,
                             double          x,
                             double          y,
                             double          z)
{
  self->slices[0] = (float) x;
  self->slices[1] = (float) y;
  self->slices[2] = (float) z;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

void
kiln_volume_view_set_preset (KilnVolumeView *self,
                             KilnViewPreset  preset)
{
  switch (preset)
    {
    case KILN_VIEW_TOP:
      self->yaw = 0;
      self->pitch = 0;
      break;
    case KILN_VIEW_FRONT:
      self->yaw = 0;
      self->pitch = 89;
      break;
    case KILN_VIEW_SIDE:
      self->yaw = 90;
      self->pitch = 0;
      break;
    case KILN_VIEW_OBLIQUE:
    default:
      self->yaw = 30;
      self->pitch = 35;
      break;
    }
  self->pan_x = self->pan_y = 0;
  self->zoom = 1.0;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
}

void
kiln_volume_view_set_selection (KilnVolumeView *self,
                                guint32         a,
                                guint32         b)
{
  self->selected[0] = a;
  self->selected[1] = b;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}

void
kiln_volume_view_set_pair_overlay (KilnVolumeView *self,
                                   gboolean        visible,
                                   const double    a[3],
                                   const double    b[3],
                                   const double    neck[3],
                                   double          neck_radius_nm)
{
  double axis[3], u[3], v[3], n, helper[3] = { 1, 0, 0 };

  self->overlay_visible = visible && a != NULL && b != NULL && neck != NULL;
  if (self->overlay_visible)
    {
      for (int i = 0; i < 3; i++)
        {
          self->overlay[0][i] = (float) a[i];
          self->overlay[1][i] = (float) b[i];
          axis[i] = b[i] - a[i];
        }
      n = sqrt (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
      if (n < 1e-9)
        n = 1;
      for (int i = 0; i < 3; i++)
        axis[i] /= n;
      if (fabs (axis[0]) > 0.9)
        {
          helper[0] = 0;
          helper[1] = 1;
        }
      /* u = axis × helper, v = axis × u: an orthonormal basis of the neck plane */
      u[0] = axis[1] * helper[2] - axis[2] * helper[1];
      u[1] = axis[2] * helper[0] - axis[0] * helper[2];
      u[2] = axis[0] * helper[1] - axis[1] * helper[0];
      n = sqrt (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
      for (int i = 0; i < 3; i++)
        u[i] /= n;
      v[0] = axis[1] * u[2] - axis[2] * u[1];
      v[1] = axis[2] * u[0] - axis[0] * u[2];
      v[2] = axis[0] * u[1] - axis[1] * u[0];
      for (int k = 0; k < 48; k++)
        for (int e = 0; e < 2; e++)
          {
            double t = 2 * G_PI * (k + e) / 48;
            for (int i = 0; i < 3; i++)
              self->overlay[2 + 2 * k + e][i] =
                (float) (neck[i] + neck_radius_nm * (cos (t) * u[i] + sin (t) * v[i]));
          }
      self->overlay_dirty = TRUE;
    }
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
}
