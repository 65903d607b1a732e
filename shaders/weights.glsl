// Byte-level reads from the weight buffer (binding 0, uint32 words, little-endian). GGUF blocks are 18/34/144/
// 176/210 bytes, so block starts are only 2-byte aligned; these helpers address single bytes and halves.
layout(std430, binding = 0) readonly buffer Weights { uint w_words[]; };

uint load_u8(uint byte_off) { return (w_words[byte_off >> 2] >> ((byte_off & 3u) * 8u)) & 0xffu; }
int load_i8(uint byte_off) { return int(load_u8(byte_off) << 24) >> 24; }
uint load_u16(uint byte_off) { return (w_words[byte_off >> 2] >> ((byte_off & 2u) * 8u)) & 0xffffu; }
float load_f16(uint byte_off) { return unpackHalf2x16(load_u16(byte_off)).x; }
float load_bf16(uint byte_off) { return uintBitsToFloat(load_u16(byte_off) << 16); }
