#include "oacim/quant/gptq_columns.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace oacim::quant {

namespace {

constexpr int kChunk = 64;  // rows per transposed chunk: n x 64 floats stay in L1/L2

// One chunk of rows through every column of the block. Compiled for AVX-512, AVX2 and the
// baseline (target_clones picks at load time); the update loop has a fixed trip count so it
// vectorises, and -ffp-contract=off keeps its multiply and subtract separate, as the scalar loop.
__attribute__((target_clones("avx512f", "avx2", "default"))) void chunk_columns(const GptqBlockColumns& job, int r0,
                                                                                int nr, float* buf) {
  const int n = job.n;
  const float lo = static_cast<float>(job.grid.code_min());
  const float hi = static_cast<float>(job.grid.code_max());
  alignas(64) float e[kChunk] = {};
  alignas(64) float q[kChunk] = {};
  alignas(64) int code[kChunk] = {};
  for (int i = 0; i < n; ++i) {
    float* col = buf + static_cast<std::size_t>(i) * kChunk;
    for (int rr = 0; rr < nr; ++rr) col[rr] = job.w1[static_cast<std::size_t>(r0 + rr) * n + i];
    for (int rr = nr; rr < kChunk; ++rr) col[rr] = 0.0f;
  }
  for (int i = 0; i < n; ++i) {
    const float* col = buf + static_cast<std::size_t>(i) * kChunk;
    // The rows' grids, padded past the chunk's last row (scale 1, zero 0: finite scratch values).
    alignas(64) float s[kChunk];
    alignas(64) float z[kChunk];
    for (int rr = 0; rr < kChunk; ++rr) {
      s[rr] = rr < nr ? job.scale[i][r0 + rr] : 1.0f;
      z[rr] = rr < nr ? job.zero[i][r0 + rr] : 0.0f;
    }
    const float* urow = job.u + static_cast<std::size_t>(i) * job.u_stride;
    const float d = urow[i];
    // quantize_code and dequantize_code with offset 0, written out so that the loop vectorises
    // (GptqColumns.VectorisedOverRowsGivesTheBitsOfTheRowLoop holds them to the calls).
    for (int rr = 0; rr < kChunk; ++rr) {
      const float x = col[rr];
      const float qf = std::min(std::max(std::nearbyint(x / std::max(s[rr], 1e-9f) + z[rr] + 0.0f), lo), hi);
      code[rr] = static_cast<int>(qf);
      q[rr] = s[rr] * ((static_cast<float>(code[rr]) - z[rr]) - 0.0f);
      e[rr] = (x - q[rr]) / d;
    }
    for (int rr = 0; rr < nr; ++rr) {
      const std::size_t r = static_cast<std::size_t>(r0 + rr);
      job.q1[r * n + i] = q[rr];
      job.err1[r * n + i] = e[rr];
      job.codes[r * job.code_stride + job.code_col0 + i] = static_cast<std::int8_t>(code[rr]);
      job.row_loss[r] += static_cast<double>(e[rr]) * e[rr];
    }
    for (int k = i + 1; k < n; ++k) {
      const float uk = urow[k];
      float* b = buf + static_cast<std::size_t>(k) * kChunk;
      for (int rr = 0; rr < kChunk; ++rr) b[rr] -= e[rr] * uk;
    }
  }
}

}  // namespace

void gptq_block_columns(const GptqBlockColumns& job, int r0, int r1) {
  std::vector<float> buf(static_cast<std::size_t>(job.n) * kChunk);
  for (int r = r0; r < r1; r += kChunk) chunk_columns(job, r, std::min(kChunk, r1 - r), buf.data());
}

}  // namespace oacim::quant
