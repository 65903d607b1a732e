#version 450
#include "common.glsl"
#include "weights.glsl"
#include "dq_f32.glsl"
#include "matvec_main.glsl"
