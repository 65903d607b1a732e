#pragma once
// The one error type of Unicorn: a message plus the context it happened in (file, tensor, field).
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace unicorn {

// Concatenates anything streamable into a string; used to build error messages and names.
template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Error: value type, thread-safe to copy; what() is one line "FILE: TENSOR: FIELD: message" with empty parts left out.
class Error : public std::runtime_error {
 public:
  struct Context {
    std::string file;
    std::string tensor;
    std::string field;
  };
  explicit Error(std::string message, Context ctx = {});
  const std::string& message() const { return message_; }
  const Context& context() const { return ctx_; }
  // Returns a copy with the file set when it had none (for layers that learn the file name late).
  Error with_file(const std::string& file) const;

 private:
  static std::string format(const std::string& message, const Context& ctx);
  std::string message_;
  Context ctx_;
};

template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail_in(const Error::Context& ctx, Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...), ctx);
}

}  // namespace unicorn
