// GPTQ's vectorised column loop against the row-by-row loop it replaced (bit for bit), the lazy
// loop's copy of a block that spans every column (group statistics read the un-updated W), and the
// Hessian-weighted output error against an fp64 trace.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <ATen/ATen.h>

#include "oacim/core/block_grid.hpp"
#include "oacim/quant/gptq_columns.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"

namespace oacim::quant {
namespace {

struct RowLoopResult {
  std::vector<float> q, err;
  std::vector<std::int8_t> codes;
  std::vector<double> loss;
};

// The loop as it ran before, one row after another: quantize column i, push its scaled error onto
// the row's later columns.
RowLoopResult row_loop(const GptqBlockColumns& job) {
  const int n = job.n;
  RowLoopResult out;
  out.q.assign(static_cast<std::size_t>(job.rows) * n, 0.0f);
  out.err = out.q;
  out.codes.assign(out.q.size(), 0);
  out.loss.assign(static_cast<std::size_t>(job.rows), 0.0);
  for (int r = 0; r < job.rows; ++r) {
    std::vector<float> row(job.w1 + static_cast<std::size_t>(r) * n, job.w1 + static_cast<std::size_t>(r + 1) * n);
    for (int i = 0; i < n; ++i) {
      const GridParams p{job.scale[i][r], job.zero[i][r]};
      const float* urow = job.u + static_cast<std::size_t>(i) * job.u_stride;
      const float x = row[static_cast<std::size_t>(i)];
      const int code = quantize_code(x, p, 0, job.grid);
      const float xh = dequantize_code(code, p, 0);
      const float e = (x - xh) / urow[i];
      const std::size_t k0 = static_cast<std::size_t>(r) * n + i;
      out.q[k0] = xh;
      out.err[k0] = e;
      out.codes[k0] = static_cast<std::int8_t>(code);
      out.loss[static_cast<std::size_t>(r)] += static_cast<double>(e) * e;
      for (int k = i; k < n; ++k) row[static_cast<std::size_t>(k)] -= e * urow[k];
    }
  }
  return out;
}

void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
}

TEST(GptqColumns, VectorisedOverRowsGivesTheBitsOfTheRowLoop) {
  for (const CodeKind kind : {CodeKind::Unsigned, CodeKind::Signed}) {
    at::manual_seed(kind == CodeKind::Signed ? 2 : 1);
    const int R = 150;  // two chunks of 64 rows and a ragged one
    const int n = 40;
    const int stride = n + 7;
    const at::Tensor w1 = (at::randn({R, n}) * 0.05).contiguous();
    // An upper-triangular U with a positive diagonal, stored with a row stride wider than n.
    const at::Tensor u = (at::triu(at::randn({n, stride}) * 0.1, 0) + at::eye(n, stride) * 0.5).contiguous();
    GridSpec grid;
    grid.kind = kind;
    grid.block_size = 20;
    BlockGridOptions bo;
    bo.grid = grid;
    // Two grids, as two groups of 20 columns would have.
    std::vector<BlockGridFit> fits = {fit_block(w1.data_ptr<float>(), R, 20, n, bo), fit_block(w1.data_ptr<float>() + 20, R, 20, n, bo)};
    std::vector<std::vector<float>> scales(2), zeros(2);
    for (int g = 0; g < 2; ++g) {
      for (const GridParams& p : fits[static_cast<std::size_t>(g)].params) {
        scales[static_cast<std::size_t>(g)].push_back(p.scale);
        zeros[static_cast<std::size_t>(g)].push_back(p.zero);
      }
    }
    std::vector<const float*> col_scale, col_zero;
    for (int i = 0; i < n; ++i) {
      col_scale.push_back(scales[static_cast<std::size_t>(i / 20)].data());
      col_zero.push_back(zeros[static_cast<std::size_t>(i / 20)].data());
    }
    std::vector<float> q(static_cast<std::size_t>(R) * n), err(q.size());
    std::vector<std::int8_t> codes(static_cast<std::size_t>(R) * (n + 3), 0);
    std::vector<double> loss(static_cast<std::size_t>(R), 0.0);
    GptqBlockColumns job;
    job.rows = R;
    job.n = n;
    job.w1 = w1.data_ptr<float>();
    job.u = u.data_ptr<float>();
    job.u_stride = static_cast<std::size_t>(stride);
    job.scale = col_scale.data();
    job.zero = col_zero.data();
    job.grid = grid;
    job.q1 = q.data();
    job.err1 = err.data();
    job.codes = codes.data();
    job.code_stride = static_cast<std::size_t>(n + 3);
    job.code_col0 = 3;
    job.row_loss = loss.data();
    gptq_block_columns(job, 0, 70);  // two calls, as two threads would split the rows
    gptq_block_columns(job, 70, R);

    const RowLoopResult ref = row_loop(job);
    expect_same_bits(q, ref.q, "dequantized values");
    expect_same_bits(err, ref.err, "scaled errors");
    int code_diff = 0;
    for (int r = 0; r < R; ++r) {
      for (int i = 0; i < n; ++i) {
        code_diff += codes[static_cast<std::size_t>(r) * (n + 3) + 3 + i] != ref.codes[static_cast<std::size_t>(r) * n + i];
      }
    }
    EXPECT_EQ(code_diff, 0);
    EXPECT_EQ(std::memcmp(loss.data(), ref.loss.data(), loss.size() * sizeof(double)), 0);
    double spread = 0.0;
    for (const float e : err) spread += std::abs(e);
    EXPECT_GT(spread, 0.0);  // the errors are not all zero: the update path was exercised
  }
}

at::Tensor random_hessian(int cols, int seed) {
  at::manual_seed(seed);
  const at::Tensor x = at::matmul(at::randn({512, cols}), at::randn({cols, cols}) * 0.3 + at::eye(cols));
  HessianAccumulator acc(cols);
  acc.add_batch(x);
  return acc.matrix().clone();
}

// With one lazy block (every column), W gets no update before the block ends, so dynamic groups
// read their statistics from the weights as they came in: the grids static groups fit up front.
TEST(GptqColumns, OneLazyBlockReadsGroupStatisticsFromTheIncomingWeights) {
  for (const int cols : {64, 256}) {
    const at::Tensor h = random_hessian(cols, 7);
    const at::Tensor w = at::randn({48, cols}) * 0.05;
    LayerQuantOptions o;
    o.method = Method::Gptq;
    o.grid.grid.kind = CodeKind::Unsigned;
    o.grid.grid.block_size = 32;
    o.grid.range.rule = RangeRule::ZeroInclusive;
    o.gptq_block = cols;
    LayerQuantOptions s = o;
    s.static_groups = true;
    const at::Tensor dynamic = quantize_layer("dyn", w, h, o).dequantized;
    const at::Tensor fixed = quantize_layer("static", w, h, s).dequantized;
    EXPECT_TRUE(at::equal(dynamic, fixed)) << cols << " columns";
    // Smaller lazy blocks update W between groups, so the statistics (and values) move.
    o.gptq_block = 32;
    EXPECT_FALSE(at::equal(quantize_layer("dyn32", w, h, o).dequantized, fixed)) << cols << " columns";
  }
}

TEST(OutputError, MatchesTheFp64Trace) {
  // Column counts around the 256-column panels: one panel, a ragged second one, several.
  for (const auto& [rows, cols] : std::vector<std::pair<int, int>>{{40, 300}, {300, 72}, {64, 512}, {33, 256}}) {
    const at::Tensor h = random_hessian(cols, rows + cols);
    const at::Tensor w = at::randn({rows, cols}) * 0.05;
    const at::Tensor q = w + at::randn({rows, cols}) * 0.005;
    const auto [err, ref] = output_error(w, q, h);
    const at::Tensor d = (w - q).to(at::kDouble);
    const at::Tensor hd = h.to(at::kDouble);
    const double err64 = (at::mm(d, hd) * d).sum().item<double>();
    const double ref64 = (at::mm(w.to(at::kDouble), hd) * w.to(at::kDouble)).sum().item<double>();
    EXPECT_NEAR(err / err64, 1.0, 1e-5) << rows << "x" << cols;
    EXPECT_NEAR(ref / ref64, 1.0, 1e-5) << rows << "x" << cols;
  }
}

}  // namespace
}  // namespace oacim::quant
