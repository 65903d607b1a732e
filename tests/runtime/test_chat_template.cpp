// Built-in chat formats: exact strings, format detection, Gemma's system-prompt merge.
#include <catch2/catch.hpp>

#include <set>

#include "base/error.h"
#include "runtime/chat_template.h"
#include "tests/test_util.h"

using namespace unicorn;

TEST_CASE("gemma format: model role, trimmed turns, system merged into the first user turn", "[chat]") {
  std::vector<ChatMessage> m = {{"system", "You are terse. "}, {"user", " Hi there\n"}, {"assistant", "Hello."},
                                {"user", "Bye"}};
  CHECK(render_chat(ChatFormat::Gemma, m, true) ==
        "<start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n"
        "<start_of_turn>model\nHello.<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n"
        "<start_of_turn>model\n");
  CHECK(render_chat(ChatFormat::Gemma, {{"user", "ROMEO:"}}, false) == "<start_of_turn>user\nROMEO:<end_of_turn>\n");
}

TEST_CASE("llama 3 format", "[chat]") {
  std::vector<ChatMessage> m = {{"system", "Be brief."}, {"user", "What is 2+2? "}};
  CHECK(render_chat(ChatFormat::Llama3, m, true) ==
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST_CASE("chatml format keeps contents as they are", "[chat]") {
  std::vector<ChatMessage> m = {{"system", "Be brief."}, {"user", "Hi "}, {"assistant", "Hey"}};
  CHECK(render_chat(ChatFormat::ChatML, m, true) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi <|im_end|>\n"
        "<|im_start|>assistant\nHey<|im_end|>\n"
        "<|im_start|>assistant\n");
}

TEST_CASE("chat format detection from template text, architecture and vocabulary", "[chat]") {
  // Fragments of the real templates.
  CHECK(detect_chat_format("{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + role + '\\n' }}", "") ==
        ChatFormat::Gemma);
  CHECK(detect_chat_format("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}", "gemma3") ==
        ChatFormat::Llama3);
  CHECK(detect_chat_format("{% for message in messages %}{{'<|im_start|>' + message['role'] }}", "llama") ==
        ChatFormat::ChatML);
  CHECK(detect_chat_format("", "gemma3n") == ChatFormat::Gemma);
  const std::set<std::string> vocab = {"<|start_header_id|>", "<|eot_id|>"};
  auto has = [&](const std::string& t) { return vocab.count(t) != 0; };
  CHECK(detect_chat_format("", "llama", has) == ChatFormat::Llama3);
  CHECK_FALSE(detect_chat_format("", "llama", [](const std::string&) { return false; }).has_value());
  CHECK_FALSE(detect_chat_format("", "llama").has_value());
}

TEST_CASE("chat format names and end-of-turn markers", "[chat]") {
  for (ChatFormat f : {ChatFormat::Gemma, ChatFormat::Llama3, ChatFormat::ChatML})
    CHECK(chat_format_from_name(chat_format_name(f)) == f);
  CHECK(chat_format_from_name("ChatML") == ChatFormat::ChatML);
  CHECK_FALSE(chat_format_from_name("vicuna").has_value());
  CHECK(std::string(chat_end_of_turn(ChatFormat::Gemma)) == "<end_of_turn>");
  CHECK(std::string(chat_end_of_turn(ChatFormat::Llama3)) == "<|eot_id|>");
  CHECK(std::string(chat_end_of_turn(ChatFormat::ChatML)) == "<|im_end|>");
  CHECK_THROWS_AS(render_chat(ChatFormat::ChatML, {{"tool", "x"}}, true), Error);
}
