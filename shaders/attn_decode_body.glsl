// The decode attention of one query head, shared by attn_decode_v4.comp and attn_decode_rope.comp: scores of the
// keys at positions [kv_start, kv_start + kv_len) (softcap), softmax, and the weighted sum of the values split over
// the workgroup: invocation (g, c) adds keys t = g, g + G, ... into vec4 column c (G = WG_SIZE / (head_dim / 4)
// groups), and the G partial sums are added in shared memory. The including shader declares scores, out4, the push
// constants p (n_kv_heads, head_dim, kv_start, kv_len, scale, softcap) and defines, for vec4 index d of a head:
//   vec4 query4(uint h, uint d), vec4 key4(uint t, uint d, uint i), vec4 value4(uint t, uint d, uint i)
// (t: the key's position relative to kv_start; i: the vec4's index in the caches).
shared vec4 partial4[WG_SIZE];

void attend(uint h, uint kvh) {
  const uint tid = gl_LocalInvocationID.x;
  const uint hd4 = p.head_dim / 4u;
  const uint kv_stride = p.n_kv_heads * hd4;
  const uint s_base = h * p.kv_len;
  const float neg_inf = uintBitsToFloat(0xff800000u);

  float local_max = neg_inf;
  for (uint t = tid; t < p.kv_len; t += WG_SIZE) {
    const uint k_base = (p.kv_start + t) * kv_stride + kvh * hd4;
    vec4 acc = vec4(0.0);
    for (uint d = 0; d < hd4; ++d) acc += query4(h, d) * key4(t, d, k_base + d);
    float s = (acc.x + acc.y + acc.z + acc.w) * p.scale;
    if (p.softcap > 0.0) s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
    scores[s_base + t] = s;
    local_max = max(local_max, s);
  }
  const float m = wg_max(local_max);
  float local_sum = 0.0;
  for (uint t = tid; t < p.kv_len; t += WG_SIZE) {
    const float e = exp(scores[s_base + t] - m);
    scores[s_base + t] = e;
    local_sum += e;
  }
  const float inv = 1.0 / wg_sum(local_sum);
  // The weights written above by other invocations must be visible before the weighted sum reads them.
  memoryBarrierBuffer();
  barrier();
  const uint groups = WG_SIZE / hd4, col = tid % hd4, g = tid / hd4;
  vec4 acc = vec4(0.0);
  if (g < groups) {
    const uint v_base = p.kv_start * kv_stride + kvh * hd4 + col;
    for (uint t = g; t < p.kv_len; t += groups) acc += scores[s_base + t] * value4(t, col, v_base + t * kv_stride);
  }
  partial4[tid] = acc;
  barrier();
  if (tid < hd4) {
    vec4 total = vec4(0.0);
    for (uint i = 0; i < groups; ++i) total += partial4[i * hd4 + tid];
    out4[h * hd4 + tid] = total * inv;
  }
}
