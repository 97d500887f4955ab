#include "oacim/model/decoder.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::model {

at::Tensor Decoder::forward(const std::vector<int>& tokens, Backend backend) const {
  at::Tensor x = embed(tokens);
  for (int l = 0; l < num_blocks(); ++l) x = block_forward(l, x, backend);
  return head(x, backend);
}

std::vector<QuantLinear*> Decoder::linears() {
  std::vector<QuantLinear*> out;
  for (int l = 0; l < num_blocks(); ++l) {
    for (QuantLinear* lin : block_linears(l)) out.push_back(lin);
  }
  out.push_back(classifier());
  return out;
}

void Decoder::check_decode_step(const std::vector<int>& tokens, int pos, const KvCache& cache, int max_positions,
                                int vocab_size) {
  if (static_cast<int>(tokens.size()) != cache.batch) {
    throw InvalidArgument("tokens", fmt::format("{} tokens for a cache of {} sequences", tokens.size(), cache.batch));
  }
  if (pos < 0 || pos >= max_positions) {
    throw InvalidArgument("pos", fmt::format("position {} is outside the model's {} positions", pos, max_positions));
  }
  for (int t : tokens) {
    if (t < 0 || t >= vocab_size) throw InvalidArgument("tokens", fmt::format("token {} is outside the vocabulary of {}", t, vocab_size));
  }
}

}  // namespace oacim::model
