#include "oacim/model/llama2c_checkpoint.hpp"

#include <climits>
#include <cstdint>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/finite.hpp"
#include "oacim/model/hf_checkpoint.hpp"

namespace oacim::model {

namespace {

// The 7 x int32 header, validated; `size` receives the file's size.
Llama2cConfig read_header(std::ifstream& in, const std::string& path, std::uint64_t& size) {
  if (!in) throw FormatError(path, "cannot open the llama2.c checkpoint");
  size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  std::int32_t h[7];
  if (size < sizeof h || !in.read(reinterpret_cast<char*>(h), sizeof h)) {
    throw FormatError(path, fmt::format("{} bytes cannot hold the 28-byte llama2.c header", size));
  }
  Llama2cConfig c;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.shared_classifier = h[5] > 0;
  // The sign says whether the classifier is shared; INT32_MIN has no positive counterpart.
  c.vocab_size = h[5] == INT32_MIN ? 0 : h[5] < 0 ? -h[5] : h[5];
  c.seq_len = h[6];
  const bool sane = c.dim > 0 && c.dim <= 65536 && c.hidden_dim > 0 && c.hidden_dim <= 1 << 18 && c.n_layers > 0 &&
                    c.n_layers <= kMaxModelBlocks && c.n_heads > 0 && c.dim % c.n_heads == 0 && c.n_kv_heads > 0 &&
                    c.n_heads % c.n_kv_heads == 0 && c.vocab_size > 0 && c.vocab_size <= 1 << 22 && c.seq_len > 0 &&
                    c.seq_len <= 1 << 20 && c.head_size() % 2 == 0;
  if (!sane) {
    throw FormatError(path, fmt::format("header (dim {}, hidden {}, layers {}, heads {}, kv heads {}, vocab {}, "
                                        "seq_len {}) does not describe a llama2.c model",
                                        h[0], h[1], h[2], h[3], h[4], h[5], h[6]));
  }
  return c;
}

}  // namespace

Llama2cConfig read_llama2c_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::uint64_t size = 0;
  return read_header(in, path, size);
}

Llama2cWeights load_llama2c(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::uint64_t size = 0;
  Llama2cWeights w;
  w.config = read_header(in, path, size);
  const Llama2cConfig& c = w.config;
  constexpr std::uint64_t kHeaderBytes = 7 * sizeof(std::int32_t);
  const std::uint64_t L = c.n_layers, D = c.dim, H = c.hidden_dim, V = c.vocab_size, KV = c.kv_dim();
  const std::uint64_t half_head = c.head_size() / 2;
  struct Part {
    const char* name;
    std::vector<float>* dst;
    std::uint64_t count;
  };
  std::vector<float> freq_unused;
  std::vector<Part> parts = {{"tok_embeddings", &w.tok_embeddings, V * D},
                             {"rms_att_weight", &w.rms_att, L * D},
                             {"wq", &w.wq, L * D * D},
                             {"wk", &w.wk, L * KV * D},
                             {"wv", &w.wv, L * KV * D},
                             {"wo", &w.wo, L * D * D},
                             {"rms_ffn_weight", &w.rms_ffn, L * D},
                             {"w1", &w.w1, L * H * D},
                             {"w2", &w.w2, L * D * H},
                             {"w3", &w.w3, L * H * D},
                             {"rms_final_weight", &w.rms_final, D},
                             {"freq_cis_real/imag", &freq_unused, 2 * static_cast<std::uint64_t>(c.seq_len) * half_head}};
  if (!c.shared_classifier) parts.push_back({"wcls", &w.wcls, V * D});
  std::uint64_t expected = kHeaderBytes;
  for (const Part& p : parts) expected += p.count * sizeof(float);
  std::uint64_t offset = kHeaderBytes;
  for (const Part& p : parts) {
    const std::uint64_t bytes = p.count * sizeof(float);
    if (offset + bytes > size) {
      throw FormatError(path, fmt::format("truncated: tensor '{}' needs bytes {}..{} but the file has {} (a complete "
                                          "file has {})",
                                          p.name, offset, offset + bytes, size, expected));
    }
    p.dst->resize(p.count);
    in.read(reinterpret_cast<char*>(p.dst->data()), static_cast<std::streamsize>(bytes));
    if (!in) throw FormatError(path, fmt::format("read error in tensor '{}'", p.name));
    if (p.dst != &freq_unused) require_finite(p.dst->data(), p.dst->size(), path, p.name, c.dim);
    offset += bytes;
  }
  if (offset != size) {
    throw FormatError(path, fmt::format("{} bytes after the last tensor: the header does not match the file "
                                        "({} bytes expected)",
                                        size - offset, expected));
  }
  if (c.shared_classifier) w.wcls = w.tok_embeddings;
  return w;
}

}  // namespace oacim::model
