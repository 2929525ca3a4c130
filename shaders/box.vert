#version 330 core
layout (location = 0) in vec3 position;   // nm
uniform mat4 view_proj;

void main ()
{
  gl_Position = view_proj * vec4 (position, 1.0);
}
