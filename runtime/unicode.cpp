#include "runtime/unicode.h"

#include <algorithm>
#include <array>

#include "runtime/unicode_tables.h"

namespace unicorn::unicode {
namespace {

uint16_t lookup_flags(uint32_t cp) {
  using unicode_data::kFlagRangeCount;
  using unicode_data::kFlagRanges;
  if (cp >= 0x110000) return 0;
  // Last range whose first <= cp.
  size_t lo = 0, hi = kFlagRangeCount;
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (kFlagRanges[mid].first <= cp) lo = mid; else hi = mid;
  }
  return kFlagRanges[lo].flags;
}

const std::array<uint16_t, 128>& ascii_flags() {
  static const std::array<uint16_t, 128> table = [] {
    std::array<uint16_t, 128> t{};
    for (uint32_t c = 0; c < 128; ++c) t[c] = lookup_flags(c);
    return t;
  }();
  return table;
}

uint32_t map_case(const unicode_data::CasePair* map, size_t n, uint32_t cp) {
  const unicode_data::CasePair* end = map + n;
  const auto* it = std::lower_bound(map, end, cp, [](const unicode_data::CasePair& p, uint32_t v) { return p.from < v; });
  return (it != end && it->from == cp) ? it->to : cp;
}

struct ByteMap {
  std::array<std::string, 256> to_char;
  std::array<int16_t, 324> from_cp;  // stand-ins are all below U+0144
  ByteMap() {
    from_cp.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
      to_char[b] = to_utf8(cp);
      from_cp[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

}  // namespace

uint16_t flags(uint32_t cp) { return cp < 128 ? ascii_flags()[cp] : lookup_flags(cp); }

uint32_t to_lower(uint32_t cp) {
  if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  return map_case(unicode_data::kLowerMap, unicode_data::kLowerMapCount, cp);
}

uint32_t to_upper(uint32_t cp) {
  if (cp < 128) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  return map_case(unicode_data::kUpperMap, unicode_data::kUpperMapCount, cp);
}

const char* unicode_version() { return unicode_data::kUnicodeVersion; }

size_t utf8_len(uint8_t lead) {
  static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[lead >> 4];
}

uint32_t decode_utf8(std::string_view s, size_t& pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(pos);
  if (b0 < 0x80) {
    pos += 1;
    return b0;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) { n = 2; cp = b0 & 0x1F; }
  else if ((b0 & 0xF0) == 0xE0) { n = 3; cp = b0 & 0x0F; }
  else if ((b0 & 0xF8) == 0xF0) { n = 4; cp = b0 & 0x07; }
  if (n == 0 || pos + n > s.size()) {
    pos += 1;
    return 0xFFFD;
  }
  for (size_t i = 1; i < n; ++i) {
    const uint8_t b = byte(pos + i);
    if ((b & 0xC0) != 0x80) {
      pos += 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  pos += n;
  return cp;
}

std::vector<uint32_t> to_cpts(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) out.push_back(decode_utf8(s, pos));
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | ((cp >> 18) & 0x07)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string to_utf8(uint32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

const std::string& byte_to_bpe_char(uint8_t b) { return byte_map().to_char[b]; }

int bpe_char_to_byte(uint32_t cp) {
  const auto& m = byte_map();
  return cp < m.from_cp.size() ? m.from_cp[cp] : -1;
}

std::string bytes_to_bpe_text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_bpe_char(static_cast<uint8_t>(c));
  return out;
}

bool bpe_text_to_bytes(std::string_view text, std::string& out) {
  bool ok = true;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const uint32_t cp = decode_utf8(text, pos);
    const int b = bpe_char_to_byte(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      ok = false;
      out.append(text.substr(start, pos - start));
    }
  }
  return ok;
}

}  // namespace unicorn::unicode
