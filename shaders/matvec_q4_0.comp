#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_q4_0.glsl"
#include "matvec_main.glsl"
