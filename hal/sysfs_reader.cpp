#include "hal/sysfs_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>


namespace unicorn::hal {
namespace fs = std::filesystem;

std::optional<std::string> read_trimmed(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) return std::nullopt;
  std::string s = os.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\0'))
    s.pop_back();
  return s;
}

std::optional<uint64_t> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t pos = 0;
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    pos = 2;
    base = 16;
  }
  if (pos >= text.size()) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    if (v > (UINT64_MAX - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return v;
}

std::optional<uint64_t> read_number(const std::string& path) {
  auto s = read_trimmed(path);
  if (!s) return std::nullopt;
  return parse_number(*s);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return names;
  for (const auto& e : it) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string link_basename(const std::string& path) {
  std::error_code ec;
  if (!fs::is_symlink(path, ec)) return {};
  const fs::path target = fs::read_symlink(path, ec);
  if (ec) return {};
  return target.filename().string();
}

std::string uevent_value(const std::string& uevent_path, const std::string& key) {
  auto text = read_trimmed(uevent_path);
  if (!text) return {};
  std::istringstream in(*text);
  std::string line;
  const std::string prefix = key + "=";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return {};
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

}  // namespace unicorn::hal
