#version 330 core
// A slice plane's grey level, as the ray caster's slice_color (volume.frag).
in vec3 v_pos;
out vec4 frag_color;

uniform sampler3D volume;        // normalised intensities
uniform vec3 extent;             // box size in nm
uniform float window_lo;
uniform float window_hi;

void main ()
{
  float v = clamp ((texture (volume, v_pos / extent).r - window_lo) / max (window_hi - window_lo, 1e-6), 0.0, 1.0);
  frag_color = vec4 (vec3 (v), 1.0);
}
