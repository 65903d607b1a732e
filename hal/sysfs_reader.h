#pragma once
// Small readers for sysfs/procfs style files: one value per file, missing files are "unknown", not errors.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace unicorn::hal {

// Contents of a small text file with trailing whitespace removed; nullopt when it cannot be read.
std::optional<std::string> read_trimmed(const std::string& path);
// A number in decimal or 0x-hex ("0x15bf", "4294967296"); nullopt when missing or not a number.
std::optional<uint64_t> read_number(const std::string& path);
// Parses decimal or 0x-hex text; nullopt when it is not entirely a number.
std::optional<uint64_t> parse_number(const std::string& text);
// Names in a directory (no "." / ".."), sorted; empty when it is absent.
std::vector<std::string> list_dir(const std::string& dir);
// Last path component of a symlink's target ("../../bus/pci/drivers/amdgpu" -> "amdgpu"); empty when not a link.
std::string link_basename(const std::string& path);
// Value of KEY=VALUE in a uevent file; empty when absent.
std::string uevent_value(const std::string& uevent_path, const std::string& key);
bool path_exists(const std::string& path);

}  // namespace unicorn::hal
