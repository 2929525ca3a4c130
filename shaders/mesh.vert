#version 330 core
// The isosurface as a triangle mesh (extracted on the CPU by surface nets, kiln-isosurface.h):
// positions in voxel units of the box, scaled to nm; the label → displayed id mapping and the
// selection are resolved per vertex.
layout (location = 0) in vec3 position;   // voxel units: voxel i's centre at i + 0.5
layout (location = 1) in vec3 normal;     // unit, outward
layout (location = 2) in uint label;      // nearest labelled voxel, 0 = none

uniform mat4 view_proj;
uniform vec3 voxel_nm;                    // nm per voxel along x, y, z
uniform usampler2D label_map;             // label l at (l % 1024, l / 1024) → displayed id
uniform uint map_size;                    // 0: no map (identity)

out vec3 v_normal;
out vec3 v_voxel;
flat out uint v_label;

uint display_id (uint l)
{
  if (l == 0u || l >= map_size)
    return l;
  uint m = texelFetch (label_map, ivec2 (int (l % 1024u), int (l / 1024u)), 0).r;
  return m != 0u ? m : l;
}

void main ()
{
  v_normal = normal;
  v_voxel = position;
  v_label = display_id (label);
  gl_Position = view_proj * vec4 (position * voxel_nm, 1.0);
}
