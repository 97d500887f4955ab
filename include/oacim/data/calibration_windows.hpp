#pragma once
// Calibration windows exactly as GPTQ/OA-CIM draw them from a tokenized training text
// (docs/algorithms.md E.3): Python's random.seed(seed), then per sample
// i = random.randint(0, L - seqlen - 1) and the window ids[i : i + seqlen]. Bit-compatible with
// CPython through PyRandom. No torch.
#include <cstdint>
#include <vector>

namespace oacim::data {

struct CalibrationWindow {
  std::int64_t start = 0;   // offset in the corpus
  std::vector<int> tokens;  // seqlen tokens
};

// Throws InvalidArgument when the corpus is shorter than seqlen + 1 tokens or counts are not positive.
std::vector<CalibrationWindow> calibration_windows(const std::vector<int>& corpus, int nsamples, int seqlen,
                                                   std::uint64_t seed);

}  // namespace oacim::data
