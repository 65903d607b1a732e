#pragma once
// Helpers shared by the Catch2 tests: where ../shared is, and a skip that says why.
#include <cstdlib>
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

}  // namespace unicorn::test

// Leaves the current test case with a visible message (Catch2 v2 has no SKIP).
#define UNICORN_SKIP(msg)            \
  do {                               \
    WARN("SKIPPED: " << msg);        \
    return;                          \
  } while (0)
