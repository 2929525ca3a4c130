#version 330 core
// Ray casting of a volume in the box [0, extent] (nm), with
//   mode 0: isosurface at `threshold` (first crossing, refined by bisection, Phong lighting),
//           coloured by the particle label at the hit (same colours as the 2D views);
//   mode 1: direct volume rendering, front-to-back compositing through a linear transfer
//           function between `window_lo` and `window_hi`.
// Orthogonal slice planes (x, y, z positions in 0…1, negative = hidden) are drawn where the
// ray crosses them before the surface.
//
// Empty-space skipping: `bricks` holds, per brick of brick_size³ voxels, the largest normalised
// value within the brick and one voxel around it (so any trilinear sample inside the brick is
// ≤ that value). A brick whose maximum is below the threshold (isosurface) or below window_lo
// (volume rendering: zero opacity there) cannot contribute, and the ray jumps to its exit. Rays
// are clipped to the box [box_lo, box_hi] (nm) that holds every brick that can contribute.
// Labels are shown through `label_map` (label → displayed id, e.g. the tracked particle id).

in vec2 ndc;
out vec4 frag_color;

uniform sampler3D volume;        // normalised intensities (R32F)
uniform usampler3D labels;       // particle labels (R32UI), 0 = background
uniform bool has_labels;
uniform bool hide_unlabelled;    // isosurface: skip voxels without a label (substrate, shell)
uniform mat4 inv_view_proj;
uniform vec3 extent;             // box size in nm
uniform vec3 voxels;             // volume size in voxels
uniform int mode;
uniform float threshold;
uniform float window_lo;
uniform float window_hi;
uniform vec3 slice_pos;
uniform uint selected_a;
uniform uint selected_b;
uniform sampler3D bricks;        // per-brick maximum (R32F)
uniform float brick_size;        // voxels per brick edge
uniform vec3 box_lo;             // nm: the part of the box that can contribute
uniform vec3 box_hi;
uniform usampler2D label_map;    // label l at (l % 1024, l / 1024) → displayed id
uniform uint map_size;           // 0: no map (identity)
uniform bool skipping;           // empty-space skipping on (off only to measure it)
uniform float step_scale;        // isosurface search step in voxels (1, coarser while interacting)

vec3 label_color (uint label)
{
  float h = fract (float (label) * 0.61803398875) * 6.0;
  float s = 0.75, v = 0.95;
  float i = floor (h);
  float f = h - i;
  float p = v * (1.0 - s), q = v * (1.0 - s * f), t = v * (1.0 - s * (1.0 - f));
  int k = int (mod (i, 6.0));
  if (k == 0) return vec3 (v, t, p);
  if (k == 1) return vec3 (q, v, p);
  if (k == 2) return vec3 (p, v, t);
  if (k == 3) return vec3 (p, q, v);
  if (k == 4) return vec3 (t, p, v);
  return vec3 (v, p, q);
}

float sample_volume (vec3 p)      // p in nm
{
  return texture (volume, p / extent).r;
}

uint display_id (uint l)
{
  if (l == 0u || l >= map_size)
    return l;
  uint m = texelFetch (label_map, ivec2 (int (l % 1024u), int (l / 1024u)), 0).r;
  return m != 0u ? m : l;
}

uint sample_label (vec3 p)
{
  ivec3 v = clamp (ivec3 (floor (p / extent * voxels)), ivec3 (0), ivec3 (voxels) - 1);
  return display_id (texelFetch (labels, v, 0).r);
}

// The ray parameter where the ray leaves the brick around p, and whether that brick cannot
// contribute (its maximum is below `level`). Outside the brick grid: not empty, exit = t.
float brick_exit (vec3 o, vec3 d, vec3 inv_d, float t, float level, out bool empty)
{
  vec3 p = o + d * t;
  vec3 bsize = extent / voxels * brick_size;
  ivec3 b = ivec3 (floor (p / bsize));
  ivec3 nb = textureSize (bricks, 0);
  empty = false;
  if (any (lessThan (b, ivec3 (0))) || any (greaterThanEqual (b, nb)))
    return t;
  empty = texelFetch (bricks, b, 0).r < level;
  vec3 lo = vec3 (b) * bsize, hi = lo + bsize;
  vec3 exits = (mix (lo, hi, step (0.0, d)) - o) * inv_d;
  return min (min (exits.x, exits.y), exits.z);
}

vec3 gradient (vec3 p)
{
  vec3 h = extent / voxels;
  return vec3 (sample_volume (p + vec3 (h.x, 0, 0)) - sample_volume (p - vec3 (h.x, 0, 0)),
               sample_volume (p + vec3 (0, h.y, 0)) - sample_volume (p - vec3 (0, h.y, 0)),
               sample_volume (p + vec3 (0, 0, h.z)) - sample_volume (p - vec3 (0, 0, h.z)));
}

bool intersect_box (vec3 o, vec3 d, vec3 lo_corner, vec3 hi_corner, out float t0, out float t1)
{
  vec3 inv = 1.0 / d;
  vec3 a = (lo_corner - o) * inv;
  vec3 b = (hi_corner - o) * inv;
  vec3 lo = min (a, b), hi = max (a, b);
  t0 = max (max (lo.x, lo.y), max (lo.z, 0.0));
  t1 = min (min (hi.x, hi.y), hi.z);
  return t1 > t0;
}

vec4 slice_color (vec3 p)
{
  float v = clamp ((sample_volume (p) - window_lo) / max (window_hi - window_lo, 1e-6), 0.0, 1.0);
  return vec4 (vec3 (v), 1.0);
}

void main ()
{
  vec4 near = inv_view_proj * vec4 (ndc, -1.0, 1.0);
  vec4 far = inv_view_proj * vec4 (ndc, 1.0, 1.0);
  vec3 o = near.xyz / near.w;
  vec3 d = normalize (far.xyz / far.w - o);
  vec3 light = -d;   // head light: the surface facing the viewer is lit
  vec4 background = vec4 (0.11, 0.12, 0.14, 1.0);
  float t0, t1;

  if (!intersect_box (o, d, box_lo, box_hi, t0, t1))
    {
      frag_color = background;
      return;
    }

  // nearest visible slice plane along the ray
  float t_slice = 1e30;
  for (int k = 0; k < 3; k++)
    if (slice_pos[k] >= 0.0 && abs (d[k]) > 1e-6)
      {
        float ts = (slice_pos[k] * extent[k] - o[k]) / d[k];
        if (ts > t0 && ts < t1 && ts < t_slice)
          t_slice = ts;
      }

  // one voxel per step in the isosurface search (the crossing is refined by bisection), half a
  // voxel for the volume rendering integral
  float step = min (min (extent.x / voxels.x, extent.y / voxels.y), extent.z / voxels.z) * (mode == 0 ? step_scale : 0.5);
  vec4 acc = vec4 (0.0);

  vec3 inv_d = 1.0 / d;
  if (mode == 0)
    {
      float prev_t = t0;
      float prev_v = sample_volume (o + d * t0);
      float t = t0 + step;
      float next_check = t0;
      while (t <= t1)
        {
          if (t > t_slice)
            break;
          if (skipping && t >= next_check)
            {
              bool empty;
              float exit_t = brick_exit (o, d, inv_d, t, threshold, empty);
              if (empty)
                {
                  // nothing in this brick reaches the threshold: no crossing up to its exit
                  prev_t = max (exit_t, t);
                  prev_v = 0.0;
                  t = prev_t + 0.01 * step;
                  continue;
                }
              next_check = exit_t;   // occupied: step through it without looking again
            }
          vec3 p = o + d * t;
          float v = sample_volume (p);
          if (v >= threshold && prev_v < threshold)
            {
              float a = prev_t, b = t;
              for (int i = 0; i < 6; i++)
                {
                  float m = 0.5 * (a + b);
                  if (sample_volume (o + d * m) >= threshold) b = m; else a = m;
                }
              vec3 hit = o + d * b;
              // the label just inside the surface: look up to 4 half-voxel steps deeper, so
              // that grazing hits on a particle's rim still find its label
              uint label = 0u;
              for (int k = 1; k <= 4 && has_labels && label == 0u; k++)
                label = sample_label (hit + d * (step * float (k)));
              if (has_labels && hide_unlabelled && label == 0u)
                {
                  prev_t = t;
                  prev_v = v;
                  t += step;
                  continue;
                }
              vec3 n = normalize (-gradient (hit) + 1e-6);
              float diff = max (dot (n, light), 0.0);
              float spec = pow (max (dot (reflect (-light, n), -d), 0.0), 24.0);
              vec3 base = label != 0u ? label_color (label) : vec3 (0.85, 0.62, 0.38);
              if (label != 0u && (label == selected_a || label == selected_b))
                base = mix (base, vec3 (1.0), 0.45);
              frag_color = vec4 (base * (0.25 + 0.75 * diff) + vec3 (0.25 * spec), 1.0);
              return;
            }
          prev_t = t;
          prev_v = v;
          t += step;
        }
      frag_color = t_slice < 1e29 ? slice_color (o + d * t_slice) : background;
      return;
    }

  // the sample grid starts where the ray enters the whole box, as without the tight bounds
  float full_t0, full_t1;
  if (intersect_box (o, d, vec3 (0.0), extent, full_t0, full_t1))
    t0 = full_t0 + ceil ((t0 - full_t0) / step) * step;
  float next_check = t0;
  for (float t = t0; t <= t1 && acc.a < 0.98; t += step)   // early termination when opaque
    {
      if (t > t_slice)
        {
          vec4 c = slice_color (o + d * t_slice);
          acc.rgb += (1.0 - acc.a) * c.rgb;
          acc.a = 1.0;
          break;
        }
      if (skipping && t >= next_check)
        {
          bool empty;
          float exit_t = brick_exit (o, d, inv_d, t, window_lo, empty);
          if (empty)
            {
              // zero opacity up to the brick's exit: continue on the same sample grid after it
              t = max (t, t0 + floor ((exit_t - t0) / step) * step);
              continue;
            }
          next_check = exit_t;
        }
      vec3 p = o + d * t;
      float v = clamp ((sample_volume (p) - window_lo) / max (window_hi - window_lo, 1e-6), 0.0, 1.0);
      float alpha = 1.0 - pow (1.0 - v * 0.08, step / (extent.x / voxels.x));
      vec3 c = vec3 (1.0, 0.85, 0.6) * v;
      if (has_labels)
        {
          uint label = sample_label (p);
          if (label != 0u)
            c = label_color (label) * (0.4 + 0.6 * v);
        }
      acc.rgb += (1.0 - acc.a) * alpha * c;
      acc.a += (1.0 - acc.a) * alpha;
    }
  frag_color = vec4 (acc.rgb + (1.0 - acc.a) * background.rgb, 1.0);
}
