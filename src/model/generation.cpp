#include "oacim/model/generation.hpp"

#include <algorithm>
#include <memory>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/model/sampler.hpp"

namespace oacim::model {

std::vector<std::vector<int>> generate_batch(const Decoder& model, const std::vector<std::vector<int>>& prompts,
                                             const std::vector<std::uint64_t>& sequence_ids,
                                             const GenerationOptions& o, Backend backend) {
  if (prompts.empty()) return {};
  if (sequence_ids.size() != prompts.size()) throw InvalidArgument("sequence_ids", "one id per prompt is needed");
  if (o.length < 1 || o.length > model.max_positions()) {
    throw InvalidArgument("length", fmt::format("{} is outside 1..{} (the model's positions)", o.length, model.max_positions()));
  }
  const int B = static_cast<int>(prompts.size());
  std::vector<std::vector<int>> seqs = prompts;
  std::vector<bool> done(static_cast<std::size_t>(B), false);
  std::vector<std::unique_ptr<TopKSampler>> samplers;
  for (int b = 0; b < B; ++b) {
    if (prompts[static_cast<std::size_t>(b)].empty() || static_cast<int>(prompts[static_cast<std::size_t>(b)].size()) > o.length) {
      throw InvalidArgument("prompts", fmt::format("prompt {} must hold 1..{} tokens", b, o.length));
    }
    Rng seeder(o.seed * 0x9E3779B97F4A7C15ULL + sequence_ids[static_cast<std::size_t>(b)]);
    samplers.push_back(std::make_unique<TopKSampler>(o.top_k, o.temperature, seeder.next_u64() | 1));
  }
  Decoder::KvCache cache = model.new_cache(B);
  std::vector<int> feed(static_cast<std::size_t>(B));
  for (int pos = 0; pos + 1 < o.length; ++pos) {
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    for (int b = 0; b < B; ++b) {
      const auto& s = seqs[static_cast<std::size_t>(b)];
      // Finished sequences are fed their last token; their outputs are ignored.
      feed[static_cast<std::size_t>(b)] = s[std::min<std::size_t>(static_cast<std::size_t>(pos), s.size() - 1)];
    }
    const at::Tensor logits = model.decode_step(feed, pos, cache, backend).contiguous();
    const std::int64_t V = logits.size(1);
    for (int b = 0; b < B; ++b) {
      auto& s = seqs[static_cast<std::size_t>(b)];
      if (done[static_cast<std::size_t>(b)] || static_cast<int>(s.size()) > pos + 1) continue;  // finished or in prompt
      const float* row = logits.data_ptr<float>() + static_cast<std::int64_t>(b) * V;
      const std::vector<float> l(row, row + V);
      const int next = pos + 1 < o.greedy_until ? static_cast<int>(std::max_element(l.begin(), l.end()) - l.begin())
                                                : samplers[static_cast<std::size_t>(b)]->sample(l);
      s.push_back(next);
      if (std::find(o.stop_ids.begin(), o.stop_ids.end(), next) != o.stop_ids.end()) done[static_cast<std::size_t>(b)] = true;
    }
  }
  return seqs;
}

}  // namespace oacim::model
