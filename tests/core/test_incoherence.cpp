// Hadamard incoherence of a Linear: the rotated weight times the rotated input, rotated back, is
// the layer's output; the weight rotation inverts exactly (to 1e-6); dense matrices equal the
// fast transforms; unsupported sides stay unrotated; seeds and layer names fix the signs.
#include <gtest/gtest.h>

#include <cmath>

#include "oacim/core/error.hpp"
#include "oacim/core/incoherence.hpp"
#include "oacim/core/rng.hpp"

namespace oacim {
namespace {

std::vector<float> random(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& f : v) f = static_cast<float>(rng.student_t(4));
  return v;
}

// y [n x R] = x [n x C] W^T
std::vector<float> linear(const std::vector<float>& x, const std::vector<float>& w, int n, int R, int C) {
  std::vector<float> y(static_cast<std::size_t>(n) * R);
  for (int i = 0; i < n; ++i) {
    for (int r = 0; r < R; ++r) {
      double acc = 0;
      for (int c = 0; c < C; ++c) acc += static_cast<double>(x[static_cast<std::size_t>(i) * C + c]) * w[static_cast<std::size_t>(r) * C + c];
      y[static_cast<std::size_t>(i) * R + r] = static_cast<float>(acc);
    }
  }
  return y;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

}  // namespace

TEST(Incoherence, RotatedLayerComputesTheSameOutputs) {
  // 12 x 2^k and 20 = Paley sizes, a power of two, and an unsupported size (172 = 4 x 43).
  for (const auto& [R, C] : std::vector<std::pair<int, int>>{{48, 64}, {64, 48}, {20, 128}, {172, 64}, {64, 172}}) {
    const IncoherenceRotation rot = make_incoherence(R, C, 7, "layers.0.w");
    const std::vector<float> w = random(static_cast<std::size_t>(R) * C, 1), x = random(static_cast<std::size_t>(5) * C, 2);
    const std::vector<float> wt = rotate_weight(rot, w.data());
    std::vector<float> xt = x;
    rotate_inputs(rot, xt.data(), 5);
    std::vector<float> y = linear(xt, wt, 5, R, C);
    unrotate_outputs(rot, y.data(), 5);
    EXPECT_LT(max_abs_diff(y, linear(x, w, 5, R, C)), 1e-4) << R << "x" << C;
    double wmax = 0;
    for (const float v : w) wmax = std::max(wmax, std::fabs(static_cast<double>(v)));
    EXPECT_LT(max_abs_diff(unrotate_weight(rot, wt.data()), w), 1e-6 * wmax) << R << "x" << C << ": exact inverse";
    // The rotation spreads the weights: W~ is not W (where a side rotates).
    if (rot.rotates()) EXPECT_GT(max_abs_diff(wt, w), 1e-2);
    // Dense matrices are the same maps.
    const std::vector<float> mi = input_rotation_matrix(rot), mo = output_rotation_matrix(rot);
    std::vector<float> xt2(x.size(), 0.0f);
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < C; ++j) {
        double acc = 0;
        for (int k = 0; k < C; ++k) acc += static_cast<double>(x[static_cast<std::size_t>(i) * C + k]) * mi[static_cast<std::size_t>(k) * C + j];
        xt2[static_cast<std::size_t>(i) * C + j] = static_cast<float>(acc);
      }
    }
    EXPECT_LT(max_abs_diff(xt2, xt), 1e-5);
    // M_out M_out^T = I (orthogonal).
    for (int i = 0; i < R; i += 7) {
      for (int j = 0; j < R; j += 5) {
        double acc = 0;
        for (int k = 0; k < R; ++k) acc += static_cast<double>(mo[static_cast<std::size_t>(i) * R + k]) * mo[static_cast<std::size_t>(j) * R + k];
        EXPECT_NEAR(acc, i == j ? 1.0 : 0.0, 1e-6);
      }
    }
  }
}

TEST(Incoherence, UnsupportedSidesStayUnrotatedAndSignsAreSeeded) {
  const IncoherenceRotation a = make_incoherence(172, 64, 0, "w1");
  EXPECT_FALSE(a.rotates_outputs());
  EXPECT_TRUE(a.rotates_inputs());
  EXPECT_EQ(a.sign_in, make_incoherence(172, 64, 0, "w1").sign_in);
  EXPECT_NE(a.sign_in, make_incoherence(172, 64, 1, "w1").sign_in);
  EXPECT_NE(a.sign_in, make_incoherence(172, 64, 0, "w3").sign_in);
  // The input signs do not depend on whether the output side is supported.
  EXPECT_EQ(make_incoherence(172, 64, 0, "w1").sign_in, make_incoherence(64, 64, 0, "w1").sign_in);
  IncoherenceRotation bad = a;
  bad.sign_in[3] = 0;
  EXPECT_THROW(validate_incoherence(bad, "w1"), InvalidArgument);
  bad = a;
  bad.sign_out.assign(172, 1);
  EXPECT_THROW(validate_incoherence(bad, "w1"), InvalidArgument);  // no H_172
  bad = a;
  bad.sign_in.pop_back();
  EXPECT_THROW(validate_incoherence(bad, "w1"), InvalidArgument);
  EXPECT_NO_THROW(validate_incoherence(a, "w1"));
}

}  // namespace oacim
