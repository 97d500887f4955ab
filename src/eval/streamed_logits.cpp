#include "oacim/eval/streamed_logits.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::eval {

BlockStreamedLogits::BlockStreamedLogits(model::Decoder& decoder, model::Backend backend,
                                         std::vector<std::vector<int>> windows, std::int64_t chunk_bytes)
    : dec_(decoder), backend_(backend), windows_(std::move(windows)) {
  if (chunk_bytes < 1) throw InvalidArgument("stream_blocks_mib", "the hidden states of a chunk need a positive size");
  // The hidden state of one window: its tokens x the width the first block outputs.
  if (!windows_.empty()) {
    const std::int64_t per_window = static_cast<std::int64_t>(windows_[0].size()) * dec_.embed({windows_[0][0]}).size(-1) * 4;
    per_chunk_ = static_cast<std::size_t>(std::max<std::int64_t>(1, chunk_bytes / std::max<std::int64_t>(1, per_window)));
  }
}

void BlockStreamedLogits::run_chunk() {
  at::NoGradGuard no_grad;
  chunk_begin_ = next_;
  const std::size_t end = std::min(windows_.size(), chunk_begin_ + per_chunk_);
  hidden_.clear();
  for (std::size_t w = chunk_begin_; w < end; ++w) hidden_.push_back(dec_.embed(windows_[w]));
  for (int l = 0; l < dec_.num_blocks(); ++l) {
    for (at::Tensor& x : hidden_) x = dec_.block_forward(l, x, backend_);
    for (model::QuantLinear* lin : dec_.block_linears(l)) {
      lin->release_float_copies();
      lin->release_prepared();
    }
  }
  ++chunks_;
}

at::Tensor BlockStreamedLogits::next(const std::vector<int>& tokens) {
  if (next_ >= windows_.size() || tokens != windows_[next_]) {
    throw InvalidArgument("window", fmt::format("window {} asked out of the streamed order", next_));
  }
  if (next_ >= chunk_begin_ + hidden_.size() || hidden_.empty()) run_chunk();
  at::Tensor& x = hidden_[next_ - chunk_begin_];
  at::Tensor logits = dec_.head(x, backend_);
  x = at::Tensor();  // its hidden state is no longer needed
  ++next_;
  return logits;
}

}  // namespace oacim::eval
