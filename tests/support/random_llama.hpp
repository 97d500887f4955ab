#pragma once
// A 3-block Hugging Face LLaMA of seeded random weights (hidden 64, MLP 128, 4 heads over 2
// key/value heads, LLaMA-2's 32000-piece tokenizer), written once per test process under
// TempDir()/`name`: a model whose Linear weights load on demand from a mapped checkpoint.
#include <cstdint>
#include <filesystem>
#include <string>

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
  o.out_dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(o.out_dir);
  model::write_random_checkpoint(o);
  return o.out_dir;
}

}  // namespace oacim::test
