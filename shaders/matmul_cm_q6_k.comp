#version 450
#include "weights.glsl"
#include "dq_q6_k.glsl"
#include "raw_q6_k.glsl"
#include "matmul_cm_main.glsl"
