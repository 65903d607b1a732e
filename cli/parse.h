#pragma once
// Shared flag parsing for the subcommands: one place decides how --help and parse errors behave.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

namespace unicorn::cli {

// Parses args into vm; when --help is given, prints the options and returns true (the caller exits 0) before
// notify() runs, so help works even when required flags are missing. Throws po::error on bad flags.
inline bool parse_or_print_help(const std::vector<std::string>& args,
                                const boost::program_options::options_description& opts,
                                boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return true;
  }
  po::notify(vm);
  return false;
}

}  // namespace unicorn::cli
