#pragma once
// A 3-block Hugging Face LLaMA of seeded random weights (hidden 64, MLP 128, 4 heads over 2
// key/value heads, LLaMA-2's 32000-piece tokenizer), written once per test process under
// TempDir()/`name`.<pid>: a model whose Linear weights load on demand from a mapped checkpoint.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "oacim/model/random_checkpoint.hpp"

namespace oacim::test {

inline std::string write_random_llama(const std::string& name, std::uint64_t seed) {
  model::RandomCheckpointOptions o;
  o.hidden = 64;
  o.intermediate = 128;
  o.layers = 3;
  o.heads = 4;
  o.kv_heads = 2;
  o.vocab = 32000;
  o.positions = 128;
  o.seed = seed;
  o.tokenizer_files = {std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/llama2_sp32k.tokenizer.model"};
  // One directory per process: ctest runs each TEST of a file as its own process, in parallel, and
  // a shared directory would be rewritten under a test reading it. Removed when the process ends.
  struct Written {
    std::vector<std::string> dirs;
    ~Written() {
      for (const std::string& d : dirs) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
      }
    }
  };
  static Written written;
  o.out_dir = ::testing::TempDir() + "/" + name + "." + std::to_string(::getpid());
  std::filesystem::remove_all(o.out_dir);
  model::write_random_checkpoint(o);
  written.dirs.push_back(o.out_dir);
  return o.out_dir;
}

// write_random_llama once per process for each name: the tests of a file share the directory.
inline const std::string& cached_random_llama(const std::string& name, std::uint64_t seed) {
  static std::map<std::string, std::string> dirs;
  auto it = dirs.find(name);
  if (it == dirs.end()) it = dirs.emplace(name, write_random_llama(name, seed)).first;
  return it->second;
}

}  // namespace oacim::test
