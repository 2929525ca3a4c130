#version 330 core
// Lighting and colours of the mesh isosurface, as the ray caster's (volume.frag): a head light
// along the viewing direction, Phong with the same coefficients, the normal interpolated from
// the vertices' (the volume's gradient there, as the ray caster computes it), particles
// coloured by the label the vertex carries.
in vec3 v_normal;
in vec3 v_voxel;                 // position in voxel units of the box
flat in uint v_label;
out vec4 frag_color;

uniform vec3 voxels;             // volume size in voxels
uniform vec3 view_dir;           // the (orthographic) viewing direction, unit
uniform bool has_labels;
uniform bool hide_unlabelled;    // skip the surface without a label (substrate, shell)
uniform uint selected_a;
uniform uint selected_b;
uniform vec3 voxel_nm;           // nm per voxel
uniform vec3 extent;             // box size in nm
uniform vec3 slice_pos;          // slice planes at these fractions of the box; negative: hidden

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

void main ()
{
  uint label = has_labels ? v_label : 0u;
  // The ray caster sees a surface only where a ray enters the material: no back faces, and
  // no caps where the material is cut by the box (the mesh closes it along the box faces).
  if (!gl_FrontFacing || (has_labels && hide_unlabelled && label == 0u)
      || any (lessThan (v_voxel, vec3 (1e-3))) || any (greaterThan (v_voxel, voxels - 1e-3)))
    discard;
  vec3 d = view_dir;
  // a slice plane between the viewer and the surface hides it (it is drawn there instead): the
  // ray back towards the viewer meets the plane inside the box
  vec3 p = v_voxel * voxel_nm;
  for (int k = 0; k < 3; k++)
    if (slice_pos[k] >= 0.0 && abs (d[k]) > 1e-6)
      {
        float t = (p[k] - slice_pos[k] * extent[k]) / d[k];
        vec3 q = p - d * t;
        q[k] = 0.5 * extent[k];
        if (t > 0.0 && all (greaterThanEqual (q, vec3 (0.0))) && all (lessThanEqual (q, extent)))
          discard;
      }
  vec3 light = -d;
  vec3 n = normalize (v_normal + 1e-6);
  float diff = max (dot (n, light), 0.0);
  float spec = pow (max (dot (reflect (-light, n), -d), 0.0), 24.0);
  vec3 base = label != 0u ? label_color (label) : vec3 (0.85, 0.62, 0.38);
  if (label != 0u && (label == selected_a || label == selected_b))
    base = mix (base, vec3 (1.0), 0.45);
  frag_color = vec4 (base * (0.25 + 0.75 * diff) + vec3 (0.25 * spec), 1.0);
}
