#include "oacim/model/decoder.hpp"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
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

at::Tensor Decoder::causal_attention(const at::Tensor& q, at::Tensor k, at::Tensor v, int pos0, KvCache* cache, int block) {
  const std::int64_t B = q.size(0), T = q.size(1), H = q.size(2), hs = q.size(3), KVH = k.size(2), G = H / KVH;
  std::int64_t S = T;  // keys visible to the last query
  if (cache) {
    at::Tensor& ck = cache->k[static_cast<std::size_t>(block)];
    at::Tensor& cv = cache->v[static_cast<std::size_t>(block)];
    ck.narrow(1, pos0, T).copy_(k);
    cv.narrow(1, pos0, T).copy_(v);
    S = pos0 + T;
    k = ck.narrow(1, 0, S);
    v = cv.narrow(1, 0, S);
  }
  // Without copying keys: head h = kv * G + g reads kv head kv.
  const at::Tensor qg = q.reshape({B, T, KVH, G, hs}).permute({0, 2, 3, 1, 4});  // [B, KVH, G, T, hs]
  at::Tensor scores = at::matmul(qg, k.permute({0, 2, 3, 1}).unsqueeze(2)) / std::sqrt(static_cast<float>(hs));
  if (T > 1) {
    const at::Tensor qpos = at::arange(pos0, pos0 + T).unsqueeze(1);
    const at::Tensor kpos = at::arange(0, S).unsqueeze(0);
    scores = scores.masked_fill(kpos > qpos, -std::numeric_limits<float>::infinity());
  }
  const at::Tensor att = at::softmax(scores, -1);  // [B, KVH, G, T, S]
  return at::matmul(att, v.transpose(1, 2).unsqueeze(2)).permute({0, 3, 1, 2, 4}).reshape({B, T, H * hs});
}

Decoder::KvCache Decoder::zero_cache(int batch, int blocks, int positions, int kv_heads, int head_size) {
  if (batch < 1) throw InvalidArgument("batch", fmt::format("{} is not a positive batch size", batch));
  KvCache c;
  c.batch = batch;
  for (int l = 0; l < blocks; ++l) {
    c.k.push_back(at::zeros({batch, positions, kv_heads, head_size}));
    c.v.push_back(at::zeros({batch, positions, kv_heads, head_size}));
  }
  return c;
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
