#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_q5_k.glsl"
#include "matvec_main.glsl"
