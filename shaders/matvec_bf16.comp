#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_bf16.glsl"
#include "matvec_main.glsl"
