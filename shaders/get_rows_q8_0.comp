#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
#include "weights.glsl"
#include "dq_q8_0.glsl"
#include "get_rows_main.glsl"
