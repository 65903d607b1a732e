// unicorn tokenize: prints the token ids of a text for a model's tokenizer.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/parse.h"
#include "runtime/tokenizer.h"

namespace unicorn::cli {

int cmd_tokenize(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description opts(
      "usage: unicorn tokenize -m PATH (--text TEXT | --file FILE) [--no-bos] [--no-special] [--json]\n\n"
      "Prints the token ids of a text on one line, separated by spaces. PATH is a tokenizer.json, a .gguf, a .ucn\n"
      "or a model directory with tokenizer.json. BOS is put first when the tokenizer asks for it (tokenizer.ggml.\n"
      "add_bos_token / tokenizer_config.json add_bos_token); special tokens written in the text (e.g. <end_of_turn>)\n"
      "become their ids unless --no-special.\n\n"
      "options");
  opts.add_options()
      ("model,m", po::value<std::string>(), "tokenizer.json, .gguf, .ucn or model directory")
      ("text,t", po::value<std::string>(), "the text to tokenize")
      ("file,f", po::value<std::string>(), "read the text from FILE (its bytes exactly)")
      ("no-bos", "never put BOS first")
      ("no-special", "treat special-token text as plain text")
      ("json", "print {\"ids\": [...], \"pieces\": [...]} (pieces as stored in the vocabulary)")
      ("help,h", "show this help");
  po::variables_map vm;
  if (parse_or_print_help(args, opts, vm)) return kExitOk;
  if (!vm.count("model")) throw po::error("needs -m PATH");
  if (vm.count("text") + vm.count("file") != 1) throw po::error("needs exactly one of --text and --file");

  std::string text;
  if (vm.count("text")) {
    text = vm["text"].as<std::string>();
  } else {
    const std::string path = vm["file"].as<std::string>();
    std::ifstream f(path, std::ios::binary);
    if (!f) fail_in({path, "", ""}, "cannot open");
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) fail_in({path, "", ""}, "read error");
  }

  const auto tok = Tokenizer::load(vm["model"].as<std::string>());
  const bool add_bos = tok->add_bos_default() && !vm.count("no-bos");
  const std::vector<int32_t> ids = tok->encode(text, add_bos, !vm.count("no-special"));

  if (vm.count("json")) {
    nlohmann::json j;
    j["ids"] = ids;
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(tok->piece(id));
    j["pieces"] = pieces;
    j["tokenizer"] = tok->description();
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::cout << line << "\n";
  return kExitOk;
}

}  // namespace unicorn::cli
