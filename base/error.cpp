#include "base/error.h"

namespace unicorn {

Error::Error(std::string message, Context ctx)
    : std::runtime_error(format(message, ctx)), message_(std::move(message)), ctx_(std::move(ctx)) {}

std::string Error::format(const std::string& message, const Context& ctx) {
  std::string out;
  for (const std::string* part : {&ctx.file, &ctx.tensor, &ctx.field}) {
    if (!part->empty()) out += *part + ": ";
  }
  out += message;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';  // errors are one line by contract
  }
  return out;
}

Error Error::with_file(const std::string& file) const {
  if (!ctx_.file.empty()) return *this;
  Context ctx = ctx_;
  ctx.file = file;
  return Error(message_, ctx);
}

}  // namespace unicorn
