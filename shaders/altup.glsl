// Gemma 3n AltUp router, shared by altup_predict / altup_correct: modalities of one token's hidden vector xv (n
// floats at x_base of the buffer read by load_x) as mod[i] = tanh(router[i] . (rmsnorm(xv) * norm_w / n)) for
// i < N. Every invocation returns with mod_s filled. Contains barriers: call from uniform control flow.
layout(constant_id = 1) const uint MAX_N = 8;
shared float mod_s[MAX_N];

void altup_modalities(uint x_base, uint n, uint nn, float eps) {
  float ss = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < n; c += WG_SIZE) {
    const float v = load_x(x_base + c);
    ss += v * v;
  }
  const float inv = inversesqrt(wg_sum(ss) / float(n) + eps) / float(n);
  for (uint i = 0; i < nn; ++i) {
    float d = 0.0;
    for (uint c = gl_LocalInvocationID.x; c < n; c += WG_SIZE) d += router_w[i * n + c] * load_x(x_base + c) * norm_w[c];
    const float total = wg_sum(d);
    if (gl_LocalInvocationID.x == 0) mod_s[i] = tanh(clamp(total * inv, -15.0, 15.0));
  }
  barrier();
}
