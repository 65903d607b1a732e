#pragma once
// UTF-8 <-> code points, Unicode general-category flags, simple case mapping and GPT-2's byte <-> char map.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace unicorn::unicode {

// Category bits of a code point (one major category, plus White_Space and the letter subcategories).
enum CpFlag : uint16_t {
  kLetter = 1, kNumber = 2, kPunct = 4, kSymbol = 8, kMark = 16, kSeparator = 32, kControl = 64,
  kWhitespace = 128, kUpper = 256, kLower = 512, kTitle = 1024, kModifier = 2048, kOtherLetter = 4096,
  kDecimal = 8192,
};

// 0 for unassigned code points (and anything above U+10FFFF). O(log ranges), O(1) for ASCII.
uint16_t flags(uint32_t cp);
inline bool is_whitespace(uint32_t cp) { return (flags(cp) & kWhitespace) != 0; }
inline bool is_letter(uint32_t cp) { return (flags(cp) & kLetter) != 0; }
inline bool is_number(uint32_t cp) { return (flags(cp) & kNumber) != 0; }
uint32_t to_lower(uint32_t cp);
uint32_t to_upper(uint32_t cp);
const char* unicode_version();

// Length of the UTF-8 sequence that a lead byte announces (1 for stray continuation bytes).
size_t utf8_len(uint8_t lead);
// Decodes one code point at `pos` and advances it; malformed input yields U+FFFD and advances one byte.
uint32_t decode_utf8(std::string_view s, size_t& pos);
std::vector<uint32_t> to_cpts(std::string_view s);
void append_utf8(std::string& out, uint32_t cp);
std::string to_utf8(uint32_t cp);

// GPT-2 byte-level BPE: each byte is shown as one printable code point; this maps back and forth.
const std::string& byte_to_bpe_char(uint8_t b);  // UTF-8 of the code point that stands for byte b
int bpe_char_to_byte(uint32_t cp);                // -1 when cp stands for no byte
// Converts raw bytes to their byte-level form (every byte becomes its stand-in character).
std::string bytes_to_bpe_text(std::string_view bytes);
// Undoes bytes_to_bpe_text; false when some character stands for no byte (out then has them as UTF-8).
bool bpe_text_to_bytes(std::string_view text, std::string& out);

}  // namespace unicorn::unicode
