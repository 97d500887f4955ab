#pragma once
// Logits of many perplexity windows computed block-major: every window through block 0, then
// through block 1, ..., then the head window by window. After all windows of a chunk have passed
// a block, its Linears release what they made (fp32 weights made from a mapped checkpoint,
// dequantized matrices, the datapath's prepared panels), so a model whose weights do not fit in
// memory evaluates with one block's made weights at a time plus the chunk's hidden states
// (windows x seqlen x hidden x 4 bytes, at most `chunk_bytes`). The logits equal
// Decoder::forward's for each window bit for bit: the same operations on the same inputs.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/model/decoder.hpp"

namespace oacim::eval {

class BlockStreamedLogits {
 public:
  // `windows`: the token windows in the order next() will be asked for them.
  BlockStreamedLogits(model::Decoder& decoder, model::Backend backend, std::vector<std::vector<int>> windows,
                      std::int64_t chunk_bytes);
  // The logits [seqlen, vocab] of the next window, computing its chunk block by block first when
  // needed; InvalidArgument when `tokens` is not the next window.
  at::Tensor next(const std::vector<int>& tokens);
  // Chunks computed so far (how often every block's weights were made).
  int chunks() const { return chunks_; }

 private:
  void run_chunk();
  model::Decoder& dec_;
  model::Backend backend_;
  std::vector<std::vector<int>> windows_;
  std::size_t per_chunk_ = 1;
  std::size_t next_ = 0;          // the next window next() returns
  std::size_t chunk_begin_ = 0;   // the first window of hidden_
  std::vector<at::Tensor> hidden_;  // last block's outputs of windows chunk_begin_..
  int chunks_ = 0;
};

}  // namespace oacim::eval
