#pragma once
// Decoder: what every model family (LLaMA, OPT, GPT-2) offers to the layers above it, block by
// block, so the quantizer's sequential driver, norm tweaking and evaluation are written once:
// the hidden states entering block 0, one decoder block, the head (final norm + classifier),
// the Linears of a block and their true-sequential groups, and the named non-Linear tensors
// (embeddings, norms, positions) that a quantized model stores beside its packed Linears.
// Hidden states are [T, dim] fp32 for positions 0..T-1. Generation decodes a batch of sequences
// in lockstep, one position per call, with keys and values cached per block.
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/model/quant_linear.hpp"

namespace oacim::model {

class Decoder {
 public:
  virtual ~Decoder() = default;

  virtual std::string family() const = 0;  // "llama", "opt", "gpt2"
  virtual int num_blocks() const = 0;
  virtual int max_positions() const = 0;
  virtual int vocab_size() const = 0;

  virtual at::Tensor embed(const std::vector<int>& tokens) const = 0;
  virtual at::Tensor block_forward(int block, const at::Tensor& x, Backend backend) const = 0;
  virtual at::Tensor head(const at::Tensor& x, Backend backend) const = 0;

  // The Linears of a block in execution order, and the groups a true-sequential quantizer
  // processes one after another (docs/algorithms.md 1.1: LLaMA [k v q] [o] [up gate] [down]; OPT and
  // GPT-2 one Linear per group).
  virtual std::vector<QuantLinear*> block_linears(int block) = 0;
  virtual std::vector<std::vector<QuantLinear*>> sequential_groups(int block) = 0;
  virtual QuantLinear* classifier() = 0;
  // The normalization parameters of a block, by their named_tensors() names (LLaMA: the two
  // RMSNorm weights; OPT, GPT-2: both LayerNorms' weight and bias): what norm tweaking trains.
  virtual std::vector<std::pair<std::string, at::Tensor*>> block_norm_params(int block) = 0;
  // Every non-Linear tensor by a stable name (what a quantized model directory stores).
  virtual std::vector<std::pair<std::string, at::Tensor*>> named_tensors() = 0;

  // Cached incremental decoding of `batch` sequences: per block, keys and values
  // [batch, max_positions, kv_heads, head_size].
  struct KvCache {
    int batch = 0;
    std::vector<at::Tensor> k, v;
  };
  virtual KvCache new_cache(int batch) const = 0;
  // Logits [batch, vocab] of tokens[b] at position `pos` of sequence b; every earlier position
  // must have been stepped through the same cache. Throws InvalidArgument past max_positions.
  virtual at::Tensor decode_step(const std::vector<int>& tokens, int pos, KvCache& cache, Backend backend) const = 0;

  // Logits [T, vocab].
  at::Tensor forward(const std::vector<int>& tokens, Backend backend) const;
  // Every Linear: the blocks' in order, then the classifier.
  std::vector<QuantLinear*> linears();

 protected:
  // Causal attention of queries q [B, T, heads, hs] at positions pos0.. over keys and values
  // k, v [B, T, kv_heads, hs] (grouped-query: head h reads kv head h / (heads / kv_heads)); with
  // a cache, k and v are written at pos0 of block `block` and every cached position is read.
  // Returns the context [B, T, heads * hs].
  static at::Tensor causal_attention(const at::Tensor& q, at::Tensor k, at::Tensor v, int pos0, KvCache* cache, int block);
  // A zeroed cache of `blocks` blocks, each [batch, positions, kv_heads, head_size]; InvalidArgument
  // for a batch below 1.
  static KvCache zero_cache(int batch, int blocks, int positions, int kv_heads, int head_size);
  // InvalidArgument unless one token per cached sequence, each a vocabulary id, and pos in range.
  static void check_decode_step(const std::vector<int>& tokens, int pos, const KvCache& cache, int max_positions,
                                int vocab_size);
};

}  // namespace oacim::model
