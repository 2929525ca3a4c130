#version 330 core
// Slice planes drawn as quads over the mesh isosurface (depth-tested against it).
layout (location = 0) in vec3 position;   // nm
uniform mat4 view_proj;
out vec3 v_pos;

void main ()
{
  v_pos = position;
  gl_Position = view_proj * vec4 (position, 1.0);
}
