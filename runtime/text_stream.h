#pragma once
// Turns the byte pieces of generated tokens into text that is safe to show: never half a UTF-8 character, never
// the start of a --stop string that may still complete, never the stop string itself.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace unicorn {

using TextSink = std::function<void(std::string_view)>;

// TextStream: owns the held-back bytes; single-threaded. push() costs O(held bytes * total stop-string length),
// and at most the longest stop string plus 3 bytes are ever held back.
class TextStream {
 public:
  // Empty stop strings are ignored. sink may be empty (text is still collected in emitted()).
  TextStream(std::vector<std::string> stop_strings, TextSink sink);

  // Appends one token's bytes and emits what can no longer be part of a stop string or a split character.
  // Returns true when a stop string is now complete: the text before it is emitted, it and anything after it are
  // dropped, and further pushes are ignored.
  bool push(std::string_view bytes);
  // End of generation: releases everything still held back (an incomplete character at the very end included).
  void finish();

  bool stopped() const { return stopped_; }
  const std::string& matched_stop() const { return matched_stop_; }
  // Everything given to the sink so far.
  const std::string& emitted() const { return emitted_; }

 private:
  void emit(std::string_view text);

  std::vector<std::string> stops_;
  TextSink sink_;
  std::string pending_;
  std::string emitted_;
  std::string matched_stop_;
  bool stopped_ = false;
};

// Length of the longest suffix of text that begins a UTF-8 character whose remaining bytes have not arrived yet
// (0 when text ends on a character boundary or with bytes that can never complete one).
size_t incomplete_utf8_tail(std::string_view text);

}  // namespace unicorn
