#version 450
// matvec_q4_k_sg for the q/k/v projections of a decode step: RoPE and the KV-cache append in its stores
// (matvec_out.glsl).
#define ROPE_OUT
#include "kv_type.glsl"
#include "common.glsl"
#include "matvec_q4_k_sg_main.glsl"
