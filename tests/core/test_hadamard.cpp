// Constructed Hadamard matrices (Sylvester, Paley I and II): H H^T = n I exactly; the fast
// transform equals the explicit Q_n = H / sqrt(n) and its inverse undoes it to 1e-6; the LLM
// sizes of docs/algorithms.md D.4 (3072, 9216, 14336, 11008) are constructed; others are refused.
#include <gtest/gtest.h>

#include <cmath>

#include "oacim/core/error.hpp"
#include "oacim/core/hadamard.hpp"
#include "oacim/core/rng.hpp"

namespace oacim {
namespace {

void expect_orthogonal(const std::vector<std::int8_t>& h, int n) {
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      long dot = 0;
      for (int c = 0; c < n; ++c) dot += h[static_cast<std::size_t>(i) * n + c] * h[static_cast<std::size_t>(j) * n + c];
      ASSERT_EQ(dot, i == j ? n : 0) << "n " << n << " rows " << i << ", " << j;
    }
  }
}

TEST(Hadamard, ConstructedMatricesAreOrthogonal) {
  // Sylvester; Paley I (12: q 11, 20: q 19, 44: q 43, 60: q 59); Paley II (28: q 13, 36: q 17);
  // products with powers of two (24, 40, 56, 72, 96, 144).
  for (int n : {1, 2, 4, 8, 16, 64, 12, 20, 44, 60, 28, 36, 24, 40, 56, 72, 96, 144}) {
    ASSERT_TRUE(hadamard_supported(n)) << n;
    const auto h = hadamard_matrix(n);
    for (auto v : h) ASSERT_TRUE(v == 1 || v == -1);
    expect_orthogonal(h, n);
  }
}

TEST(Hadamard, LlmSizesAreConstructed) {
  EXPECT_EQ(hadamard_plan(3072).k, 12);
  EXPECT_EQ(hadamard_plan(9216).k, 36);
  EXPECT_EQ(hadamard_plan(14336).k, 28);
  EXPECT_EQ(hadamard_plan(4096).k, 1);
  const HadamardPlan p = hadamard_plan(11008);  // 5504 x 2: Paley I with q = 5503
  EXPECT_EQ(p.k, 5504);
  EXPECT_EQ(p.m, 2);
  // Sampled row pairs of the order-5504 factor are orthogonal.
  Rng rng(3);
  for (int t = 0; t < 50; ++t) {
    const int i = static_cast<int>(rng.next_u64() % 5504), j = static_cast<int>(rng.next_u64() % 5504);
    long dot = 0;
    for (int c = 0; c < 5504; ++c) dot += p.hk[static_cast<std::size_t>(i) * 5504 + c] * p.hk[static_cast<std::size_t>(j) * 5504 + c];
    EXPECT_EQ(dot, i == j ? 5504 : 0) << i << ", " << j;
  }
  for (int n : {3, 6, 10, 172, 344}) EXPECT_FALSE(hadamard_supported(n)) << n;
  EXPECT_THROW(hadamard_plan(172), InvalidArgument);
}

TEST(Hadamard, FastTransformEqualsTheMatrixAndInverts) {
  Rng rng(1);
  for (int n : {8, 12, 28, 36, 96, 3072}) {
    const HadamardPlan p = hadamard_plan(n);
    std::vector<float> x(static_cast<std::size_t>(2) * n);
    for (auto& v : x) v = static_cast<float>(rng.normal());
    std::vector<float> y = x;
    hadamard_transform(p, y.data(), 2);
    if (n <= 96) {  // y = x Q^T with Q = H / sqrt(n)
      const auto h = hadamard_matrix(n);
      for (int r = 0; r < 2; ++r) {
        for (int b = 0; b < n; ++b) {
          double acc = 0;
          for (int a = 0; a < n; ++a) acc += x[static_cast<std::size_t>(r) * n + a] * h[static_cast<std::size_t>(b) * n + a];
          EXPECT_NEAR(y[static_cast<std::size_t>(r) * n + b], acc / std::sqrt(n), 1e-5) << n;
        }
      }
    }
    double nx = 0, ny = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      nx += double(x[i]) * x[i];
      ny += double(y[i]) * y[i];
    }
    EXPECT_NEAR(ny / nx, 1.0, 1e-6) << "orthogonal: the norm is kept, n " << n;
    hadamard_transform(p, y.data(), 2, true);
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], x[i], 1e-6) << n;
  }
}

}  // namespace
}  // namespace oacim
