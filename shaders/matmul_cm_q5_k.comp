#version 450
#include "weights.glsl"
#include "dq_q5_k.glsl"
#include "matmul_cm_main.glsl"
