#pragma once
// Internal to kernels/: which SIMD targets Highway compiles our kernels for. Skipping SSSE3/SSE4 (every x86-64
// CPU since 2013 has AVX2; older ones fall back to the portable EMU128 code) halves the compile time of each
// kernel file. AVX3_DL (AVX-512 with VNNI/VBMI) is opt-in in Highway 1.0.3; we want it for the int8 dot products
// (kernels/matmul_simd.cpp). Include before any Highway header.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1
#endif
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4)
#endif
