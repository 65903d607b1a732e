#pragma once
// Subcommands of the unicorn binary. Each parses its own flags (Boost.Program_options) and prints;
// the work itself lives in the libraries. args excludes the program and subcommand names.
#include <string>
#include <vector>

namespace unicorn::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;    // bad input, I/O or runtime failure (one-line message on stderr)
inline constexpr int kExitUsage = 2;    // bad flags
inline constexpr int kExitMissing = 3;  // probe --require: the requested device is absent

using CommandFn = int (*)(const std::vector<std::string>& args);

struct Command {
  const char* name;
  const char* summary;
  CommandFn fn;
};

int cmd_probe(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_pack(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_serve(const std::vector<std::string>& args);
int cmd_synth(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_perplexity(const std::vector<std::string>& args);

}  // namespace unicorn::cli
