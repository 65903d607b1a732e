#version 450
#include "common.glsl"
#include "matvec_q6_k_sg_main.glsl"
