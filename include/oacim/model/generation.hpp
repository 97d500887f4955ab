#pragma once
// Batched generation with a KV cache: a batch of prompts decoded in lockstep, one position per
// step. Positions before `greedy_until` take the argmax; later ones are drawn by top-k sampling
// (temperature T), each sequence with its own seeded generator, so a sequence's tokens do not
// depend on which others share its batch. A sequence ends at a stop id (kept) or at `length`.
#include <cstdint>
#include <vector>

#include "oacim/model/decoder.hpp"

namespace oacim::model {

struct GenerationOptions {
  int length = 0;          // tokens per sequence, prompt included (<= the model's positions)
  int greedy_until = 0;    // positions < greedy_until are argmax-decoded
  int top_k = 50;
  float temperature = 1.0f;
  std::vector<int> stop_ids;
  std::uint64_t seed = 0;
};

// `sequence_ids[b]` seeds sequence b's sampler together with options.seed (pass global indices
// so that results are independent of batching). Prompts must be non-empty and within length.
std::vector<std::vector<int>> generate_batch(const Decoder& model, const std::vector<std::vector<int>>& prompts,
                                             const std::vector<std::uint64_t>& sequence_ids,
                                             const GenerationOptions& options, Backend backend);

}  // namespace oacim::model
