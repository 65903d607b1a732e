#pragma once
// Helpers shared by the Catch2 tests: where ../shared is, and a skip that says why.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace unicorn::test {

// ../shared beside the repo (env UNICORN_SHARED overrides); empty when absent.
inline std::string shared_dir() {
  const char* env = std::getenv("UNICORN_SHARED");
  std::string dir = env != nullptr ? env : UNICORN_SHARED_DIR;
  return std::filesystem::is_directory(dir) ? dir : std::string();
}

// Path of an item under ../shared, or empty when ../shared or the item is absent.
inline std::string shared_path(const std::string& rel) {
  const std::string dir = shared_dir();
  if (dir.empty()) return {};
  const std::string p = dir + "/" + rel;
  return std::filesystem::exists(p) ? p : std::string();
}

inline std::string test_data(const std::string& rel) { return std::string(UNICORN_TEST_DATA_DIR) + "/" + rel; }

// A fresh empty temporary directory for one test.
inline std::string temp_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() / ("unicorn-test-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// Reads a raw little-endian float32 file (e.g. a fixture's logits.f32).
inline std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  REQUIRE(f.good());
  std::vector<float> v(static_cast<size_t>(f.tellg()) / sizeof(float));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// Relative L2 error ||ours - ref|| / ||ref||, the bound the issues state for logits.
inline double rel_l2(const std::vector<float>& ours, const std::vector<float>& ref) {
  REQUIRE(ours.size() == ref.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (double(ours[i]) - ref[i]) * (double(ours[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / den);
}

// Decompresses a .gz file through gzip(1), so the tests need no zlib.
inline std::string gunzip(const std::string& path) {
  const std::string cmd = "gzip -dc '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(pclose(p) == 0);
  return out;
}

}  // namespace unicorn::test

// Leaves the current test case with a visible message (Catch2 v2 has no SKIP).
#define UNICORN_SKIP(msg)            \
  do {                               \
    WARN("SKIPPED: " << msg);        \
    return;                          \
  } while (0)
