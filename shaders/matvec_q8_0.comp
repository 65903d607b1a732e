#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_q8_0.glsl"
#include "matvec_main.glsl"
