#include "runtime/chat_template.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"

namespace unicorn {
namespace {

std::string trim(const std::string& s) {
  const auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  auto b = std::find_if_not(s.begin(), s.end(), is_space);
  auto e = std::find_if_not(s.rbegin(), s.rend(), is_space).base();
  return b < e ? std::string(b, e) : std::string();
}

void check_role(const ChatMessage& m) {
  if (m.role != "system" && m.role != "user" && m.role != "assistant")
    fail("chat message role must be system, user or assistant, got '", m.role, "'");
}

// Matches llama.cpp's built-in Gemma format and Gemma 3's own template: "assistant" is "model", contents are
// trimmed, and the system text is merged into the next user turn.
std::string render_gemma(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  std::string pending_system;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      if (!pending_system.empty()) pending_system += "\n\n";
      pending_system += trim(m.content);
      continue;
    }
    const bool model = m.role == "assistant";
    out += "<start_of_turn>";
    out += model ? "model" : "user";
    out += "\n";
    if (!model && !pending_system.empty()) {
      out += pending_system + "\n\n";
      pending_system.clear();
    }
    out += trim(m.content) + "<end_of_turn>\n";
  }
  if (!pending_system.empty()) {
    // A system prompt with no user turn after it still reaches the model, as a user turn of its own.
    out += "<start_of_turn>user\n" + pending_system + "<end_of_turn>\n";
  }
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

std::string render_llama3(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::Gemma: return "gemma";
    case ChatFormat::Llama3: return "llama3";
    case ChatFormat::ChatML: return "chatml";
  }
  return "?";
}

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "gemma") return ChatFormat::Gemma;
  if (lower == "llama3" || lower == "llama-3") return ChatFormat::Llama3;
  if (lower == "chatml") return ChatFormat::ChatML;
  return std::nullopt;
}

std::optional<ChatFormat> detect_chat_format(std::string_view template_text, std::string_view arch,
                                             const std::function<bool(const std::string&)>& has_token) {
  if (template_text.find("<start_of_turn>") != std::string_view::npos) return ChatFormat::Gemma;
  if (template_text.find("<|start_header_id|>") != std::string_view::npos) return ChatFormat::Llama3;
  if (template_text.find("<|im_start|>") != std::string_view::npos) return ChatFormat::ChatML;
  if (arch.substr(0, 5) == "gemma") return ChatFormat::Gemma;
  if (has_token) {
    if (has_token("<start_of_turn>")) return ChatFormat::Gemma;
    if (has_token("<|start_header_id|>")) return ChatFormat::Llama3;
    if (has_token("<|im_start|>")) return ChatFormat::ChatML;
  }
  return std::nullopt;
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  for (const ChatMessage& m : messages) check_role(m);
  switch (format) {
    case ChatFormat::Gemma: return render_gemma(messages, add_generation_prompt);
    case ChatFormat::Llama3: return render_llama3(messages, add_generation_prompt);
    case ChatFormat::ChatML: return render_chatml(messages, add_generation_prompt);
  }
  fail("unknown chat format");
}

const char* chat_end_of_turn(ChatFormat format) {
  switch (format) {
    case ChatFormat::Gemma: return "<end_of_turn>";
    case ChatFormat::Llama3: return "<|eot_id|>";
    case ChatFormat::ChatML: return "<|im_end|>";
  }
  return "";
}

}  // namespace unicorn
