// OpSDot on 4 x int8 packed in a uint (SPV_KHR_integer_dot_product, Vulkan's shaderIntegerDotProduct), declared
// through GL_EXT_spirv_intrinsics because Debian 12's glslc lacks GL_EXT_integer_dot_product. Capabilities 6019
// (DotProduct) and 6018 (DotProductInput4x8BitPacked); opcode 4450 (OpSDot); the literal 0 is
// PackedVectorFormat4x8Bit (numbers from SPIRV-Headers' spirv.core.grammar.json).
#extension GL_EXT_spirv_intrinsics : require
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot4_packed(uint a, uint b, spirv_literal int packed_vector_format);
int sdot4(uint a, uint b) { return sdot4_packed(a, b, 0); }
