#version 450
#include "weights.glsl"
#include "dq_q4_0.glsl"
#include "matmul_cm_main.glsl"
