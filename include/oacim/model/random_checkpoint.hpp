#pragma once
// `oacim random-model`: a Hugging Face `llama` or `opt` directory of seeded random weights at any
// shape (presets: TinyLlama-1.1B, OPT-125m, OPT-1.3B), for timing and memory at real model sizes
// (docs/performance.md "At 1B parameters"). Weights are N(0, 0.02) like transformers' initialiser,
// norms 1, biases 0; F16 or F32; the same seed gives the same bytes. The tokenizer is copied from
// the files the caller names (the model's vocabulary must cover it). Torch-free.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/option_table.hpp"
#include "oacim/core/progress.hpp"

namespace oacim::model {

struct RandomCheckpointOptions {
  std::string family = "llama";  // llama | opt
  std::string preset;            // tinyllama-1.1b | opt-125m | opt-1.3b | "" (the sizes below)
  int hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, positions = 0;
  std::string dtype = "f16";     // f16 | f32
  std::uint64_t seed = 0;
  std::vector<std::string> tokenizer_files;  // copied into the directory (tokenizer.model; vocab.json, merges.txt)
  std::string out_dir;
  ProgressFn progress;

  // Fills the sizes from the preset (explicit sizes win) and checks them; InvalidArgument by name.
  void resolve();
  std::int64_t parameters() const;
};

const std::vector<Option<RandomCheckpointOptions>>& random_checkpoint_options();

// Writes the directory (config.json, model.safetensors, the tokenizer files) atomically; returns
// the options with the sizes resolved.
RandomCheckpointOptions write_random_checkpoint(const RandomCheckpointOptions& options);

}  // namespace oacim::model
