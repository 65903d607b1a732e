#version 450
// matvec_q6_k_sg reading each row through shared memory (STAGED in matvec_q6_k_sg_main.glsl).
#define STAGED
#include "common.glsl"
#include "matvec_q6_k_sg_main.glsl"
