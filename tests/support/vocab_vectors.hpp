#pragma once
// llama.cpp's tokenizer test vectors: `.inp` holds inputs separated by "\n__ggml_vocab_test__\n",
// `.out` one line of token ids per input.
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace oacim::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// (input, expected ids) pairs; empty when the files are missing.
inline std::vector<std::pair<std::string, std::vector<int>>> vocab_vectors(const std::string& stem) {
  const std::string inp = read_text(stem + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (std::size_t at = 0;;) {
    const std::size_t next = inp.find(sep, at);
    if (next == std::string::npos) break;
    inputs.push_back(inp.substr(at, next - at));
    at = next + sep.size();
  }
  std::istringstream out(read_text(stem + ".out"));
  std::vector<std::pair<std::string, std::vector<int>>> cases;
  std::string line;
  for (std::size_t k = 0; k < inputs.size() && std::getline(out, line); ++k) {
    std::vector<int> ids;
    std::istringstream ls(line);
    for (int id; ls >> id;) ids.push_back(id);
    cases.emplace_back(inputs[k], std::move(ids));
  }
  return cases;
}

}  // namespace oacim::test
