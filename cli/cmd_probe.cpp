// Placeholder until this command lands; it refuses to run rather than pretend.
#include "base/error.h"
#include "cli/commands.h"

namespace unicorn::cli {
int cmd_probe(const std::vector<std::string>&) { fail("'probe' is not built yet in this revision"); }
}  // namespace unicorn::cli
