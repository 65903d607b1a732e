#version 450
#include "kv_type.glsl"
#include "common.glsl"

// attn_decode.comp's contract (one query token, one workgroup per query head, GQA, softcap) for head_dim % 4 == 0
// and head_dim <= 4 * WG_SIZE, reading q, K and V as vec4, with the weighted sum over values split across the
// workgroup (attn_decode_body.glsl). attn_decode.comp gives each invocation one scalar column and walks all keys
// serially, which left decode latency-bound on a GPU.
layout(std430, binding = 0) readonly buffer Q { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer K { KV_VEC4 k4[]; };
layout(std430, binding = 2) readonly buffer V { KV_VEC4 v4[]; };
layout(std430, binding = 3) buffer Scores { float scores[]; };
layout(std430, binding = 4) writeonly buffer Out { vec4 out4[]; };
layout(push_constant) uniform Params {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint kv_start;
  uint kv_len;
  float scale;
  float softcap;
} p;

vec4 query4(uint h, uint d) { return q4[h * (p.head_dim / 4u) + d]; }
vec4 key4(uint t, uint d, uint i) { return vec4(k4[i]); }
vec4 value4(uint t, uint d, uint i) { return vec4(v4[i]); }
#include "attn_decode_body.glsl"

void main() {
  const uint h = gl_WorkGroupID.x;
  attend(h, h / (p.n_heads / p.n_kv_heads));
}
