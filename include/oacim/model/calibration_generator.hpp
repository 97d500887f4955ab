#pragma once
// Self-generated calibration text (docs/algorithms.md C.3, LLM-QAT / Norm Tweaking): the float model
// writes its own calibration set. First tokens are drawn without repeats by a seeded Python-
// compatible generator from the vocabulary minus special ids, tokens whose text is blank or not
// UTF-8, and tokens starting with three identical characters, optionally restricted by a regex on
// the token text or an allow-list of ids (to keep one language). Chunk k of the samples decodes
// greedily to greedy_lengths[k % size] tokens after the family's prefix, then samples top-k to
// `length` tokens, ending early at a stop id. Samples are returned as token ids (no re-encoding).
// This header exposes no torch types.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "oacim/core/token_file.hpp"

namespace oacim::model {

struct LoadedModel;

struct CalibrationGenOptions {
  int n = 128;
  int length = 0;  // tokens per sample including the prefix; 0 = the model's positions
  std::uint64_t seed = 0;
  int top_k = 50;
  float temperature = 1.0f;
  std::vector<int> greedy_lengths = {3, 4, 5};  // cycled per chunk (NT: 3 + k mod 3)
  int chunk = 0;                                // samples decoded together; 0 = NT's max(1, min(16, n / 3))
  std::string first_token_regex;                // ECMAScript, matched against the whole token text
  std::vector<int> allowed_first_tokens;        // empty = every token that passes the filters
  bool stop_at_eos = true;
  // Bytes the generation may add; -1 = what the host has (MemAvailable + SwapFree). Decoding
  // makes every Linear's fp32 weight; a model that cannot fit is refused before the first token.
  std::int64_t memory_limit_bytes = -1;
};

// The first tokens the generator may draw, in id order (exposed for tests and for error messages).
std::vector<int> eligible_first_tokens(const LoadedModel& model, const CalibrationGenOptions& options);

// InvalidArgument for impossible options (fewer eligible tokens than n, a bad regex, lengths out
// of range) and, under key "model", for a model whose fp32 weights do not fit the memory left
// (memory_limit_bytes). `progress(done, total)` after each chunk.
TokenSamples generate_calibration(const LoadedModel& model, const CalibrationGenOptions& options,
                                  const std::function<void(int, int)>& progress = {});
// One rank's share of generate_calibration: the samples of chunks k with k % ranks == rank, by
// their index in the whole set. A chunk's samples depend on the options and the chunk alone, so
// the shares of any number of ranks put together are generate_calibration's samples bit for bit.
// `progress(chunks done, this rank's chunks)`. Refusals as generate_calibration's.
struct CalibrationShare {
  std::vector<int> index;                   // ascending sample indices
  std::vector<std::vector<int>> samples;    // [index.size()] token ids
};
CalibrationShare generate_calibration_share(const LoadedModel& model, const CalibrationGenOptions& options, int rank,
                                            int ranks, const std::function<void(int, int)>& progress = {});
// The shares of every rank (any order) as generate_calibration returns them, metadata included;
// InvalidArgument unless they hold each of the n samples exactly once.
TokenSamples assemble_calibration(const LoadedModel& model, const CalibrationGenOptions& options,
                                  std::vector<CalibrationShare> shares);

}  // namespace oacim::model
