#pragma once
// Built-in chat formats (Gemma, Llama 3, ChatML): turn a conversation into the prompt text a chat model expects.
// We do not run Jinja; the model's own template text is only used to recognise which format it is.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace unicorn {

enum class ChatFormat { Gemma, Llama3, ChatML };

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
};

const char* chat_format_name(ChatFormat f);
// Parses "gemma", "llama3", "chatml" (case-insensitive); nullopt otherwise.
std::optional<ChatFormat> chat_format_from_name(std::string_view name);

// Recognises the format from the model's chat template text by its markers ("<start_of_turn>",
// "<|start_header_id|>", "<|im_start|>"); without a template, from the architecture ("gemma*" => Gemma) or from
// which marker tokens the vocabulary has (has_token may be empty). nullopt when nothing identifies it.
std::optional<ChatFormat> detect_chat_format(std::string_view template_text, std::string_view arch,
                                             const std::function<bool(const std::string&)>& has_token = {});

// Renders messages in the format, ending with the opening of an assistant turn when add_generation_prompt.
// The BOS token is not included (the tokenizer adds it). Gemma has no system role: system text goes in front of
// the first user turn followed by a blank line, as Gemma's own template does. Throws Error for an unknown role.
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt);

// The text that closes a turn in the format ("<end_of_turn>", "<|eot_id|>", "<|im_end|>"): generation stops there.
const char* chat_end_of_turn(ChatFormat format);

}  // namespace unicorn
