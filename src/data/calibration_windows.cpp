#include "oacim/data/calibration_windows.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/py_random.hpp"

namespace oacim::data {

std::vector<CalibrationWindow> calibration_windows(const std::vector<int>& corpus, int nsamples, int seqlen,
                                                   std::uint64_t seed) {
  if (nsamples <= 0) throw InvalidArgument("nsamples", fmt::format("{} is not a positive count", nsamples));
  if (seqlen <= 0) throw InvalidArgument("seqlen", fmt::format("{} is not a positive length", seqlen));
  const auto L = static_cast<std::int64_t>(corpus.size());
  if (L < static_cast<std::int64_t>(seqlen) + 1) {
    throw InvalidArgument("seqlen", fmt::format("the calibration text has {} tokens, fewer than seqlen {} + 1", L, seqlen));
  }
  PyRandom rng(seed);
  std::vector<CalibrationWindow> out;
  for (int s = 0; s < nsamples; ++s) {
    CalibrationWindow w;
    w.start = rng.randint(0, L - seqlen - 1);
    w.tokens.assign(corpus.begin() + w.start, corpus.begin() + w.start + seqlen);
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace oacim::data
