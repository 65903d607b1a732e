#version 450
#include "weights.glsl"
#include "dq_f32.glsl"
#include "matmul_wide_main.glsl"
