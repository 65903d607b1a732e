#version 450
layout(local_size_x_id = 0) in;

// Split-K decode attention, pass 2: one workgroup per query head merges the n_splits partial results of
// attn_split.comp: M = max_s m_s, out[d] = sum_s exp(m_s - M) o_s[d] / sum_s exp(m_s - M) l_s.
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Params { uint head_dim; uint n_splits; } p;

void main() {
  const uint h = gl_WorkGroupID.x;
  const uint rec_len = p.head_dim + 2u;
  const uint base = h * p.n_splits * rec_len;
  float mx = part[base + p.head_dim];
  for (uint s = 1; s < p.n_splits; ++s) mx = max(mx, part[base + s * rec_len + p.head_dim]);
  float l = 0.0;
  for (uint s = 0; s < p.n_splits; ++s) {
    l += exp(part[base + s * rec_len + p.head_dim] - mx) * part[base + s * rec_len + p.head_dim + 1u];
  }
  const float inv = 1.0 / l;
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim; d += gl_WorkGroupSize.x) {
    float acc = 0.0;
    for (uint s = 0; s < p.n_splits; ++s) acc += exp(part[base + s * rec_len + p.head_dim] - mx) * part[base + s * rec_len + d];
    outv[h * p.head_dim + d] = acc * inv;
  }
}
