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

struct _KilnVolumeView
{
  GtkGLArea        parent_instance;

  KilnVolume      *volume;
  KilnLabelVolume *labels;
  gboolean         upload_pending;
  double           vmin;
  double           vmax;

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
  GLuint           box_program;
  GLuint           vao;
  GLuint           box_vao;
  GLuint           box_vbo;
  GLuint           volume_tex;
  GLuint           label_tex;
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

static void
upload_volume (KilnVolumeView *self)
{
  KilnStats st;
  gsize n;
  g_autofree float *norm = NULL;

  self->upload_pending = FALSE;
  if (self->volume_tex)
    glDeleteTextures (1, &self->volume_tex);
  if (self->label_tex)
    glDeleteTextures (1, &self->label_tex);
  self->volume_tex = self->label_tex = 0;
  if (self->volume == NULL)
    return;

  kiln_volume_stats (self->volume, &st);
  self->vmin = st.min;
  self->vmax = st.max > st.min ? st.max : st.min + 1;
  n = kiln_volume_n_voxels (self->volume);
  norm = g_try_new (float, n);
  if (norm == NULL)
    {
      gtk_gl_area_set_error (GTK_GL_AREA (self),
                             g_error_new (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                          _("Not enough memory to display this volume")));
      return;
    }
  for (gsize i = 0; i < n; i++)
    norm[i] = (float) ((self->volume->data[i] - self->vmin) / (self->vmax - self->vmin));

  glGenTextures (1, &self->volume_tex);
  glBindTexture (GL_TEXTURE_3D, self->volume_tex);
  glPixelStorei (GL_UNPACK_ALIGNMENT, 4);
  glTexImage3D (GL_TEXTURE_3D, 0, GL_R32F, self->volume->nx, self->volume->ny, self->volume->nz,
                0, GL_RED, GL_FLOAT, norm);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_WRAP_R, GL_CLAMP_TO_EDGE);

  glGenTextures (1, &self->label_tex);
  glBindTexture (GL_TEXTURE_3D, self->label_tex);
  if (self->labels != NULL)
    glTexImage3D (GL_TEXTURE_3D, 0, GL_R32UI, self->labels->nx, self->labels->ny, self->labels->nz,
                  0, GL_RED_INTEGER, GL_UNSIGNED_INT, self->labels->data);
  else
    {
      guint32 zero = 0;
      glTexImage3D (GL_TEXTURE_3D, 0, GL_R32UI, 1, 1, 1, 0, GL_RED_INTEGER, GL_UNSIGNED_INT, &zero);
    }
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri (GL_TEXTURE_3D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glBindTexture (GL_TEXTURE_3D, 0);

  /* the bounding box edges */
  {
    double e[3];
    float v[24 * 3];
    int k = 0;
    box_extent (self, e);
    for (int a = 0; a < 3; a++)
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
          for (int end = 0; end < 2; end++)
            {
              int b = (a + 1) % 3, c = (a + 2) % 3;
              float p[3];
              p[a] = (float) (end * e[a]);
              p[b] = (float) (i * e[b]);
              p[c] = (float) (j * e[c]);
              v[k++] = p[0];
              v[k++] = p[1];
              v[k++] = p[2];
            }
    glBindBuffer (GL_ARRAY_BUFFER, self->box_vbo);
    glBufferData (GL_ARRAY_BUFFER, sizeof v, v, GL_STATIC_DRAW);
    glBindBuffer (GL_ARRAY_BUFFER, 0);
  }
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
      if (self->volume_tex)
        glDeleteTextures (1, &self->volume_tex);
      if (self->label_tex)
        glDeleteTextures (1, &self->label_tex);
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
    }
  self->volume_tex = self->label_tex = self->box_vbo = self->vao = self->box_vao = 0;
  self->overlay_vao = self->overlay_vbo = 0;
  self->ray_program = self->box_program = 0;

  GTK_WIDGET_CLASS (kiln_volume_view_parent_class)->unrealize (widget);
}

static gboolean
kiln_volume_view_render (GtkGLArea    *area,
                         GdkGLContext *context)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (area);
  Mat4 vp, inv;
  double e[3];

  if (gtk_gl_area_get_error (area) != NULL || self->ray_program == 0)
    return FALSE;
  if (self->upload_pending)
    upload_volume (self);

  glClearColor (0.11f, 0.12f, 0.14f, 1.0f);
  glClear (GL_COLOR_BUFFER_BIT);
  if (self->volume == NULL || self->volume_tex == 0)
    return TRUE;

  box_extent (self, e);
  vp = view_projection (self);
  if (!mat4_invert (&vp, &inv))
    return TRUE;

  glUseProgram (self->ray_program);
  glActiveTexture (GL_TEXTURE0);
  glBindTexture (GL_TEXTURE_3D, self->volume_tex);
  glActiveTexture (GL_TEXTURE1);
  glBindTexture (GL_TEXTURE_3D, self->label_tex);
  glUniform1i (glGetUniformLocation (self->ray_program, "volume"), 0);
  glUniform1i (glGetUniformLocation (self->ray_program, "labels"), 1);
  glUniform1i (glGetUniformLocation (self->ray_program, "has_labels"), self->labels != NULL);
  glUniform1i (glGetUniformLocation (self->ray_program, "hide_unlabelled"), self->hide_unlabelled);
  glUniformMatrix4fv (glGetUniformLocation (self->ray_program, "inv_view_proj"), 1, GL_FALSE, inv.m);
  glUniform3f (glGetUniformLocation (self->ray_program, "extent"), (float) e[0], (float) e[1], (float) e[2]);
  glUniform3f (glGetUniformLocation (self->ray_program, "voxels"), (float) self->volume->nx,
               (float) self->volume->ny, (float) self->volume->nz);
  glUniform1i (glGetUniformLocation (self->ray_program, "mode"), self->mode);
  glUniform1f (glGetUniformLocation (self->ray_program, "threshold"),
               (float) ((self->threshold - self->vmin) / (self->vmax - self->vmin)));
  glUniform1f (glGetUniformLocation (self->ray_program, "window_lo"), 0.05f);
  glUniform1f (glGetUniformLocation (self->ray_program, "window_hi"), 1.0f);
  glUniform3f (glGetUniformLocation (self->ray_program, "slice_pos"), self->slices[0], self->slices[1],
               self->slices[2]);
  glUniform1ui (glGetUniformLocation (self->ray_program, "selected_a"), self->selected[0]);
  glUniform1ui (glGetUniformLocation (self->ray_program, "selected_b"), self->selected[1]);
  glBindVertexArray (self->vao);
  glDrawArrays (GL_TRIANGLES, 0, 3);

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
          return l;
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

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           KilnVolumeView           *self)
{
  self->zoom = CLAMP (self->zoom * pow (1.12, -dy), 0.1, 50.0);
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

GdkTexture *
kiln_volume_view_render_texture (KilnVolumeView *self)
{
  GdkPaintable *paintable;
  GtkSnapshot *snapshot;
  GskRenderNode *node;
  GdkTexture *texture = NULL;
  GtkNative *native = gtk_widget_get_native (GTK_WIDGET (self));
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));

  if (native == NULL || w <= 0 || h <= 0 || gtk_gl_area_get_error (GTK_GL_AREA (self)) != NULL)
    return NULL;
  paintable = gtk_widget_paintable_new (GTK_WIDGET (self));
  snapshot = gtk_snapshot_new ();
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

/* ---------------------------------------------------------------- GObject */

static void
kiln_volume_view_finalize (GObject *object)
{
  KilnVolumeView *self = KILN_VOLUME_VIEW (object);

  g_clear_pointer (&self->volume, kiln_volume_unref);
  g_clear_pointer (&self->labels, kiln_label_volume_unref);
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
  gtk_gl_area_set_has_depth_buffer (GTK_GL_AREA (self), FALSE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self), 200, 200);

  self->mode = KILN_RENDER_ISOSURFACE;
  self->zoom = 1.0;
  self->slices[0] = self->slices[1] = self->slices[2] = -1;
  kiln_volume_view_set_preset (self, KILN_VIEW_OBLIQUE);

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
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
  g_clear_pointer (&self->volume, kiln_volume_unref);
  g_clear_pointer (&self->labels, kiln_label_volume_unref);
  self->volume = volume;
  self->labels = labels;
  if (volume != NULL)
    {
      KilnStats st;
      kiln_volume_stats (volume, &st);
      if (self->threshold <= st.min || self->threshold >= st.max)
        self->threshold = (st.min + st.max) / 2;
    }
  self->upload_pending = TRUE;
  gtk_gl_area_queue_render (GTK_GL_AREA (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
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
