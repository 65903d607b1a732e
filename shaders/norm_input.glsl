// An input normalized as it is read: x_in(i) = vec4 i of RMSNorm(x) * norm weight, the mean square of x summed
// from the n_parts partial sums per token that a matvec_*_resid kernel left. The including file declares x4 and
// the push constants p (with cols, n_parts, eps) and defines NORM_SS_BINDING and NORM_W_BINDING.
layout(std430, binding = NORM_SS_BINDING) readonly buffer SsPart { float ss_part[]; };
layout(std430, binding = NORM_W_BINDING) readonly buffer NormW { vec4 wn4[]; };
float g_inv = 1.0;
uint g_xbase = 0u;  // vec4 index of this token's row of x
vec4 x_in(uint i) { return x4[i] * wn4[i - g_xbase] * g_inv; }
// Call first, from uniform control flow (it holds barriers).
void begin_input(uint token) {
  float part = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n_parts; i += WG_SIZE) part += ss_part[token * p.n_parts + i];
  g_inv = inversesqrt(wg_sum(part) / float(p.cols) + p.eps);
  g_xbase = token * p.cols / 4u;
}
