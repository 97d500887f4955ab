// The fast OA block search against upstream's formulation written out directly: every candidate
// (no outlier, or the outlier at each column) run as a full pass in its own processing order with
// the permuted, un-refactorised U, then the row-wise argmin (docs/algorithms.md A.3 steps 2-7).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "oacim/core/bf16.hpp"
#include "oacim/core/block_grid.hpp"
#include "oacim/quant/oa_block_search.hpp"

namespace oacim::quant {
namespace {

struct Problem {
  int rows, n;
  std::vector<float> w;
  std::vector<double> u;
  std::vector<GridParams> params;
  std::vector<int> offsets;
  GridSpec grid;
};

Problem random_problem(int rows, int n, unsigned seed, bool with_offsets) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  Problem p{rows, n, {}, {}, {}, {}, GridSpec{}};
  p.grid.bits = 4;
  p.grid.kind = CodeKind::Signed;
  p.grid.block_size = n;
  for (int i = 0; i < rows * n; ++i) {
    float v = g(rng);
    if (rng() % 23 == 0) v *= 8.0f;  // heavy tails make outliers worth taking
    p.w.push_back(v);
  }
  p.u.assign(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    p.u[static_cast<std::size_t>(i) * n + i] = 0.5 + std::fabs(g(rng));
    for (int k = i + 1; k < n; ++k) p.u[static_cast<std::size_t>(i) * n + k] = 0.3 * g(rng);
  }
  BlockGridOptions bo;
  bo.grid = p.grid;
  p.params = fit_block(p.w.data(), rows, n, static_cast<std::size_t>(n), bo).params;
  p.offsets.assign(static_cast<std::size_t>(n), 0);
  if (with_offsets) {
    for (int& o : p.offsets) o = static_cast<int>(rng() % 3) - 1;
  }
  return p;
}

struct RowResult {
  int outlier = -1;
  double loss = 0.0;
  std::vector<int> codes;
  std::vector<double> qhat, err;
};

// Upstream: for candidate k the processing order is c*, its quad's other members ascending, the
// columns before the quad, the columns after it; U is permuted, not re-factorised.
RowResult brute_force_row(const Problem& p, int r, bool outliers) {
  const int n = p.n;
  RowResult best;
  best.loss = INFINITY;
  for (int k = 0; k <= (outliers ? n : 0); ++k) {
    const int star = k - 1;
    std::vector<int> order;
    if (star < 0) {
      for (int c = 0; c < n; ++c) order.push_back(c);
    } else {
      const int qs = star / 4 * 4;
      order.push_back(star);
      for (int c = qs; c < qs + 4; ++c) if (c != star) order.push_back(c);
      for (int c = 0; c < qs; ++c) order.push_back(c);
      for (int c = qs + 4; c < n; ++c) order.push_back(c);
    }
    std::vector<double> cur(p.w.begin() + static_cast<std::ptrdiff_t>(r) * n, p.w.begin() + static_cast<std::ptrdiff_t>(r + 1) * n);
    RowResult rr;
    rr.outlier = star;
    rr.codes.assign(static_cast<std::size_t>(n), 0);
    rr.qhat.assign(static_cast<std::size_t>(n), 0.0);
    rr.err.assign(static_cast<std::size_t>(n), 0.0);
    for (std::size_t pos = 0; pos < order.size(); ++pos) {
      const int j = order[pos];
      double qh;
      int code = 0;
      if (j == star) {
        qh = round_to_bf16(static_cast<float>(cur[static_cast<std::size_t>(j)]));
      } else if (star >= 0 && j / 4 == star / 4) {
        qh = 0.0;
      } else {
        code = code_of(cur[static_cast<std::size_t>(j)], p.params[static_cast<std::size_t>(r)], p.offsets[static_cast<std::size_t>(j)], p.grid);
        qh = dequantize_code(code, p.params[static_cast<std::size_t>(r)], p.offsets[static_cast<std::size_t>(j)]);
      }
      const double e = (cur[static_cast<std::size_t>(j)] - qh) / p.u[static_cast<std::size_t>(j) * n + j];
      rr.loss += e * e;
      rr.codes[static_cast<std::size_t>(j)] = code;
      rr.qhat[static_cast<std::size_t>(j)] = qh;
      rr.err[static_cast<std::size_t>(j)] = e;
      for (std::size_t later = pos + 1; later < order.size(); ++later) {
        const int j2 = order[later];
        cur[static_cast<std::size_t>(j2)] -= e * p.u[static_cast<std::size_t>(j) * n + j2];
      }
    }
    if (rr.loss < best.loss) best = rr;
  }
  return best;
}

OaBlockOutput search(const Problem& p, bool outliers, OaSearchKernel kernel) {
  OaBlockInput in;
  in.rows = p.rows;
  in.n = p.n;
  in.w = p.w.data();
  in.stride = static_cast<std::size_t>(p.n);
  in.u = p.u.data();
  in.grid = p.grid;
  in.params = p.params.data();
  in.offsets = p.offsets.data();
  in.outliers = outliers;
  in.kernel = kernel;
  OaBlockOutput out;
  out.resize(p.rows, p.n);
  oa_search_rows(in, 0, p.rows, out);
  return out;
}

void expect_matches_brute_force(const Problem& p, bool outliers, int* outlier_rows,
                                OaSearchKernel kernel = OaSearchKernel::Auto) {
  const OaBlockOutput out = search(p, outliers, kernel);
  for (int r = 0; r < p.rows; ++r) {
    const RowResult ref = brute_force_row(p, r, outliers);
    ASSERT_EQ(out.outlier[static_cast<std::size_t>(r)], ref.outlier) << "row " << r;
    EXPECT_NEAR(out.loss[static_cast<std::size_t>(r)], ref.loss, 1e-9 * std::max(1.0, ref.loss)) << "row " << r;
    if (ref.outlier >= 0) {
      ++*outlier_rows;
      EXPECT_EQ(out.outlier_value[static_cast<std::size_t>(r)].to_float(), static_cast<float>(ref.qhat[static_cast<std::size_t>(ref.outlier)]));
    }
    for (int c = 0; c < p.n; ++c) {
      const std::size_t i = static_cast<std::size_t>(r) * p.n + c;
      const bool quad = ref.outlier >= 0 && c / 4 == ref.outlier / 4;
      if (!quad) {
        EXPECT_EQ(out.codes[i], ref.codes[static_cast<std::size_t>(c)]) << "row " << r << " col " << c;
      }
      EXPECT_EQ(out.qhat[i], static_cast<float>(ref.qhat[static_cast<std::size_t>(c)])) << "row " << r << " col " << c;
      EXPECT_NEAR(out.err[i], ref.err[static_cast<std::size_t>(c)], 1e-5 * std::max(1.0, std::fabs(ref.err[static_cast<std::size_t>(c)])));
    }
  }
}

TEST(OaBlockSearch, MatchesEveryCandidateEnumerated) {
  int outlier_rows = 0;
  for (int n : {4, 8, 12, 16, 32}) {
    for (unsigned seed = 1; seed <= 3; ++seed) {
      const Problem p = random_problem(48, n, seed * 100 + static_cast<unsigned>(n), seed == 2);
      SCOPED_TRACE(testing::Message() << "n=" << n << " seed=" << seed);
      expect_matches_brute_force(p, true, &outlier_rows);
      expect_matches_brute_force(p, false, &outlier_rows);
      int scalar_rows = 0;
      expect_matches_brute_force(p, true, &scalar_rows, OaSearchKernel::Scalar);
    }
  }
  // The comparison means something only if many rows took an outlier and many did not.
  EXPECT_GT(outlier_rows, 100);
  EXPECT_LT(outlier_rows, 15 * 48);
}

template <typename T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The eight-row AVX-512 kernel against the row-by-row search: every output the same bytes, for
// grids signed and unsigned, offsets clamped and in the cell, with and without outliers, and a
// row count that leaves a tail for the row-by-row search.
TEST(OaBlockSearch, VectorKernelGivesTheRowByRowBits) {
  if (!oa_search_vector_kernel_available()) GTEST_SKIP() << "this CPU has no AVX-512";
  int compared = 0;
  for (int n : {4, 8, 16, 32}) {
    for (unsigned seed = 1; seed <= 4; ++seed) {
      Problem p = random_problem(8 * 5 + 3, n, seed * 31 + static_cast<unsigned>(n), seed % 2 == 0);
      if (seed >= 3) {
        p.grid.kind = CodeKind::Unsigned;
        p.grid.offsets_in_cell = seed == 4;
        BlockGridOptions bo;
        bo.grid = p.grid;
        p.params = fit_block(p.w.data(), p.rows, n, static_cast<std::size_t>(n), bo).params;
      }
      for (const bool outliers : {true, false}) {
        SCOPED_TRACE(testing::Message() << "n=" << n << " seed=" << seed << " outliers=" << outliers);
        const OaBlockOutput v = search(p, outliers, OaSearchKernel::Auto);
        const OaBlockOutput r = search(p, outliers, OaSearchKernel::Scalar);
        EXPECT_TRUE(same_bytes(v.codes, r.codes));
        EXPECT_TRUE(same_bytes(v.qhat, r.qhat));
        EXPECT_TRUE(same_bytes(v.err, r.err));
        EXPECT_TRUE(same_bytes(v.outlier, r.outlier));
        EXPECT_TRUE(same_bytes(v.loss, r.loss));
        for (std::size_t i = 0; i < v.outlier_value.size(); ++i) EXPECT_EQ(v.outlier_value[i], r.outlier_value[i]);
        compared += static_cast<int>(std::count_if(r.outlier.begin(), r.outlier.end(), [](std::int16_t o) { return o >= 0; }));
      }
    }
  }
  EXPECT_GT(compared, 100);  // many rows took an outlier, so the candidate path was compared
}

TEST(OaBlockSearch, TiesGoToNoOutlier) {
  // A row of exact grid values has zero error without an outlier; no candidate can beat it.
  Problem p = random_problem(1, 8, 7, false);
  for (int c = 0; c < 8; ++c) p.w[static_cast<std::size_t>(c)] = static_cast<float>(c - 4);
  BlockGridOptions bo;
  bo.grid = p.grid;
  p.params = fit_block(p.w.data(), 1, 8, 8, bo).params;
  int dummy = 0;
  expect_matches_brute_force(p, true, &dummy);
  EXPECT_EQ(dummy, 0);
}

TEST(OaBlockSearch, MinmaxTruncateDropsALoneExtreme) {
  // A.4 on numbers worked by hand (D = 30): with d = 1 everywhere the clipped value's own term
  // [2 * 4.7]^2 = 88.4 dwarfs E_full = 8 * (5/30)^2 = 0.22, so both ends stay.
  std::vector<float> w = {0.0f, 0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.0f, 5.0f};
  std::vector<double> d(8, 1.0);
  float range[2];
  minmax_truncate(w.data(), d.data(), 8, 4, range);
  EXPECT_EQ(range[0], 0.0f);
  EXPECT_EQ(range[1], 5.0f);
  // A large U diagonal at the extreme's column makes its scaled error cheap: E_right =
  // (9.4/100)^2 + 7 * (0.3/30)^2 = 0.0095 < E_full = 7 * (5/30)^2 + (5/3000)^2 = 0.194: clipped.
  d[7] = 100.0;
  minmax_truncate(w.data(), d.data(), 8, 4, range);
  EXPECT_EQ(range[0], 0.0f);
  EXPECT_EQ(range[1], 0.3f);
  // The low end is decided on its own: a lone low value with a large diagonal goes too.
  std::vector<float> low = {-5.0f, 0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.0f, 0.3f};
  std::vector<double> dl(8, 1.0);
  dl[0] = 100.0;
  minmax_truncate(low.data(), dl.data(), 8, 4, range);
  EXPECT_EQ(range[0], 0.0f);
  EXPECT_EQ(range[1], 0.3f);
}

}  // namespace
}  // namespace oacim::quant
