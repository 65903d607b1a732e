#include "runtime/text_stream.h"

#include <algorithm>

namespace unicorn {

size_t incomplete_utf8_tail(std::string_view text) {
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  const size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
    const unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 0;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    else return 0;  // ASCII or an invalid lead: nothing to wait for
    return back < need ? back : 0;
  }
  return 0;  // only continuation bytes: stray, emit them
}

TextStream::TextStream(std::vector<std::string> stop_strings, TextSink sink) : sink_(std::move(sink)) {
  for (std::string& s : stop_strings)
    if (!s.empty()) stops_.push_back(std::move(s));
}

void TextStream::emit(std::string_view text) {
  if (text.empty()) return;
  emitted_.append(text);
  if (sink_) sink_(text);
}

bool TextStream::push(std::string_view bytes) {
  if (stopped_) return true;
  pending_.append(bytes);

  // A stop string that is now complete: the earliest one wins.
  size_t stop_at = std::string::npos;
  for (const std::string& s : stops_) {
    const size_t at = pending_.find(s);
    if (at != std::string::npos && (stop_at == std::string::npos || at < stop_at)) {
      stop_at = at;
      matched_stop_ = s;
    }
  }
  if (stop_at != std::string::npos) {
    emit(std::string_view(pending_).substr(0, stop_at));
    pending_.clear();
    stopped_ = true;
    return true;
  }

  // Hold back the longest tail that is a proper prefix of some stop string: it may still complete.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k) {
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  std::string_view ready = std::string_view(pending_).substr(0, pending_.size() - hold);
  ready = ready.substr(0, ready.size() - incomplete_utf8_tail(ready));
  const size_t n = ready.size();
  emit(ready);
  pending_.erase(0, n);
  return false;
}

void TextStream::finish() {
  if (stopped_) return;
  emit(pending_);
  pending_.clear();
}

}  // namespace unicorn
