#version 450
#extension GL_EXT_shader_atomic_float : require
#define SPLIT_K 2u
#include "weights.glsl"
#include "dq_q6_k.glsl"
#include "raw_q6_k.glsl"
#include "matmul_wide_main.glsl"
