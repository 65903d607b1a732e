#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_q6_k.glsl"
#include "matvec_main.glsl"
