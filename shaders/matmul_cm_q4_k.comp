#version 450
#include "weights.glsl"
#include "dq_q4_k.glsl"
#include "raw_q4_k.glsl"
#include "matmul_cm_main.glsl"
