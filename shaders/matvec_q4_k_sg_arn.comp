#version 450
// matvec_q4_k_sg with the add_rmsnorm that follows it run by its last workgroup (matvec_tail.glsl).
#define TAIL_ADD_RMSNORM
#include "common.glsl"
#include "matvec_q4_k_sg_main.glsl"
