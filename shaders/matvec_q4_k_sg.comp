#version 450
#include "common.glsl"
#include "matvec_q4_k_sg_main.glsl"
