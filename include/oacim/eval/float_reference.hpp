#pragma once
// The float model's next-token distributions on a dataset's perplexity windows, computed once and
// cached on disk, and the token-level comparison of any backend against them (docs/signoff.md,
// "Reading the statistics"): per predicted token the KL divergence KL(float || backend), whether
// the top-1 tokens agree, the change of the correct token's probability, and both losses.
//
// Bounded size: the full distribution (log-probabilities, F32) is stored while windows x tokens x
// vocab x 4 bytes stays within a bound (EvalOptions::float_reference_full_mib); beyond that, the float model's top
// kReferenceTopK log-probabilities with their token ids, and the KL divergence is taken over those
// k tokens plus one "rest" bucket holding the remaining mass: a lower bound of the full KL
// divergence (merging outcomes never raises it). Results name the basis.
#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/eval/token_comparison.hpp"

namespace oacim::eval {

inline constexpr int kReferenceTopK = 32;
inline constexpr const char* kFloatReferenceFormat = "oacim-float-reference/1";

class FloatReference {
 public:
  // Storage for windows [first_window, first_window + n) appended in order, `tokens` = seqlen - 1
  // predictions each. full: the whole distribution, else the top-k.
  FloatReference(int vocab, int tokens_per_window, int first_window, bool full);
  // Whether `windows` windows of `tokens_per_window` predictions over `vocab` fit `max_bytes`.
  static bool full_fits(std::int64_t windows, int tokens_per_window, int vocab, std::int64_t max_bytes);

  // Adds the next window from the float model's logits [seqlen, vocab] of `window` (seqlen ids).
  void append(const at::Tensor& logits, const std::vector<int>& window);
  // Compares a backend's logits of window `w` (absolute index, one of the stored ones) with the
  // stored float distribution; appends one entry per predicted token to `out`.
  void compare(int w, const at::Tensor& logits, const std::vector<int>& window, TokenStats& out) const;
  // Only the backend's loss per predicted token (no reference at hand).
  static void append_token_nll(const at::Tensor& logits, const std::vector<int>& window, TokenStats& out);

  int first_window() const { return first_; }
  int windows() const { return windows_; }
  bool full() const { return full_; }
  std::string basis() const;
  // Windows [begin, end) of this one (which must hold them).
  FloatReference slice(int begin, int end) const;
  // Appends `next`, whose windows follow this one's.
  void extend(const FloatReference& next);
  std::string to_bytes() const;
  static FloatReference from_bytes(const std::string& bytes);

  // Writes atomically with `key` and `describe` (model, dataset, ...) in the metadata and a
  // checksum of every stored number.
  void write(const std::string& path, const std::string& key, const std::vector<std::pair<std::string, std::string>>& describe) const;
  // The stored reference when `path` holds a valid one for `key`, `windows` windows of
  // `tokens_per_window` over `vocab`; nullopt with the reason in `why_not` (missing, another key,
  // damaged: any failed check) so the caller recomputes it.
  static std::optional<FloatReference> read(const std::string& path, const std::string& key, int vocab,
                                            int tokens_per_window, int windows, std::string& why_not);

 private:
  int vocab_ = 0, tokens_ = 0, first_ = 0, windows_ = 0;
  bool full_ = true;
  int k() const { return full_ ? vocab_ : kReferenceTopK; }
  std::vector<float> target_lp_;   // [windows x tokens]
  std::vector<std::int32_t> argmax_;
  std::vector<float> lp_;          // [windows x tokens x k()]
  std::vector<std::int32_t> ids_;  // top-k only: [windows x tokens x k]
  std::uint64_t checksum() const;
};

// The model's files (the file, or the regular files of its directory) as "name:size:mtime|" in
// name order: changes when the model is written again.
std::string model_files_identity(const std::string& model_path);

// The cache key of the float model `source_model` (its path, and model_files_identity) evaluated
// on `corpus` in windows of `seqlen` (`windows` of them) with this basis.
std::string float_reference_key(const std::string& source_model, const std::vector<int>& corpus, int seqlen, int windows,
                                 bool full);

}  // namespace oacim::eval
