#include "oacim/model/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::model {

std::uint32_t XorShiftRng::next_u32() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<std::uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
}

float XorShiftRng::next_f32() { return static_cast<float>(next_u32() >> 8) / 16777216.0f; }

namespace {

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());  // first maximum, like run.c
}

// run.c's softmax, in place, in fp32.
void softmax(std::vector<float>& x) {
  float max_val = x[0];
  for (float v : x) max_val = std::max(max_val, v);
  float sum = 0.0f;
  for (float& v : x) {
    v = std::exp(v - max_val);
    sum += v;
  }
  for (float& v : x) v /= sum;
}

int sample_mult(const std::vector<float>& p, float coin) {
  float cdf = 0.0f;
  for (std::size_t i = 0; i < p.size(); ++i) {
    cdf += p[i];
    if (coin < cdf) return static_cast<int>(i);
  }
  return static_cast<int>(p.size()) - 1;
}

}  // namespace

Llama2cSampler::Llama2cSampler(float temperature, float topp, std::uint64_t seed)
    : temperature_(temperature), topp_(topp), rng_(seed) {
  if (!(temperature >= 0.0f)) throw InvalidArgument("temperature", "must be >= 0");
}

int Llama2cSampler::sample(std::vector<float> logits) {
  if (temperature_ == 0.0f) return argmax(logits);
  for (float& v : logits) v /= temperature_;
  softmax(logits);
  const float coin = rng_.next_f32();
  if (topp_ <= 0.0f || topp_ >= 1.0f) return sample_mult(logits, coin);
  // Top-p: drop tokens below (1 - p) / (n - 1) (they cannot be in the nucleus), sort the rest by
  // descending probability (stable, like glibc's merge-sort qsort), cut where the sum passes p.
  const float cutoff = (1.0f - topp_) / static_cast<float>(logits.size() - 1);
  std::vector<std::pair<float, int>> kept;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] >= cutoff) kept.emplace_back(logits[i], static_cast<int>(i));
  }
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  float cumulative = 0.0f;
  std::size_t last = kept.size() - 1;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    cumulative += kept[i].first;
    if (cumulative > topp_) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (std::size_t i = 0; i <= last; ++i) {
    cdf += kept[i].first;
    if (r < cdf) return kept[i].second;
  }
  return kept[last].second;
}

TopKSampler::TopKSampler(int k, float temperature, std::uint64_t seed) : k_(k), temperature_(temperature), rng_(seed) {
  if (k <= 0) throw InvalidArgument("top_k", fmt::format("{} is not a positive count", k));
  if (!(temperature > 0.0f)) throw InvalidArgument("temperature", "top-k sampling needs a temperature > 0");
}

int TopKSampler::sample(const std::vector<float>& logits) {
  std::vector<int> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(k_), idx.size());
  // The k largest, ties to the lower token id, in descending order.
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), [&](int a, int b) {
    return logits[static_cast<std::size_t>(a)] != logits[static_cast<std::size_t>(b)]
               ? logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)]
               : a < b;
  });
  std::vector<float> p(k);
  for (std::size_t i = 0; i < k; ++i) p[i] = logits[static_cast<std::size_t>(idx[i])] / temperature_;
  softmax(p);
  return idx[static_cast<std::size_t>(sample_mult(p, rng_.next_f32()))];
}

}  // namespace oacim::model
