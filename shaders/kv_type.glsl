// Element type of the KV cache: float, or float16_t when compiled with -DKV_F16 (the NAME_kvf16 shaders; they need
// storageBuffer16BitAccess). Loads convert with float()/vec4(), stores with KV_SCALAR(); arithmetic stays fp32.
#ifdef KV_F16
#extension GL_EXT_shader_16bit_storage : require
#define KV_SCALAR float16_t
#define KV_VEC4 f16vec4
#else
#define KV_SCALAR float
#define KV_VEC4 vec4
#endif
