#version 450
#define NORM_IN 1
#include "common.glsl"
#include "matvec_q4_k_sg_main.glsl"
