#version 450
#include "weights.glsl"
#include "dq_f16.glsl"
#include "matmul_wide_main.glsl"
