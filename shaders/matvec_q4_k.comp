#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_q4_k.glsl"
#include "matvec_main.glsl"
