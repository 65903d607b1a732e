#pragma once
// Small helpers for the format tests: write bytes to a file, expect a unicorn::Error containing some text.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"

namespace unicorn::test {

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}
inline void write_bytes(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs FN and requires that it throws unicorn::Error whose what() contains NEEDLE.
template <typename F>
void expect_error(F&& fn, const std::string& needle) {
  try {
    fn();
  } catch (const unicorn::Error& e) {
    INFO("error: " << e.what());
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
    return;
  }
  FAIL("expected a unicorn::Error containing \"" << needle << "\"");
}

}  // namespace unicorn::test
