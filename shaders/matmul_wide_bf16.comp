#version 450
#include "weights.glsl"
#include "dq_bf16.glsl"
#include "matmul_wide_main.glsl"
