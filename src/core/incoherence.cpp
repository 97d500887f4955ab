#include "oacim/core/incoherence.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/hadamard.hpp"
#include "oacim/core/rng.hpp"

namespace oacim {

namespace {

std::vector<std::int8_t> signs(int n, Rng& rng) {
  std::vector<std::int8_t> s(static_cast<std::size_t>(n));
  for (auto& v : s) v = rng.uniform() < 0.5 ? std::int8_t{-1} : std::int8_t{1};
  return s;
}

std::vector<float> transpose(const float* a, int rows, int cols) {
  std::vector<float> t(static_cast<std::size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) t[static_cast<std::size_t>(c) * rows + r] = a[static_cast<std::size_t>(r) * cols + c];
  }
  return t;
}

void scale_columns(float* x, int n, const std::vector<std::int8_t>& s) {
  const std::size_t w = s.size();
  for (int i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < w; ++c) x[static_cast<std::size_t>(i) * w + c] *= s[c];
  }
}

}  // namespace

IncoherenceRotation make_incoherence(int rows, int cols, std::uint64_t seed, const std::string& layer) {
  if (rows < 1 || cols < 1) throw InvalidArgument(layer, "a rotated layer needs positive sizes");
  IncoherenceRotation r;
  r.rows = rows;
  r.cols = cols;
  Rng rng(seed ^ fnv1a64(layer));
  // Both sign vectors are drawn whatever is supported, so one side's support never shifts the other's.
  std::vector<std::int8_t> in = signs(cols, rng), out = signs(rows, rng);
  if (hadamard_supported(cols)) r.sign_in = std::move(in);
  if (hadamard_supported(rows)) r.sign_out = std::move(out);
  return r;
}

void validate_incoherence(const IncoherenceRotation& r, const std::string& what) {
  auto check = [&](const std::vector<std::int8_t>& s, int n, const char* side) {
    if (s.empty()) return;
    if (static_cast<int>(s.size()) != n) {
      throw InvalidArgument(what, fmt::format("{} signs: {} values for size {}", side, s.size(), n));
    }
    for (const auto v : s) {
      if (v != 1 && v != -1) throw InvalidArgument(what, fmt::format("{} signs must be +1 or -1, not {}", side, int{v}));
    }
    if (!hadamard_supported(n)) throw InvalidArgument(what, fmt::format("no Hadamard matrix of order {} ({} side)", n, side));
  };
  check(r.sign_in, r.cols, "input");
  check(r.sign_out, r.rows, "output");
}

void rotate_inputs(const IncoherenceRotation& r, float* x, int n) {
  if (!r.rotates_inputs()) return;
  scale_columns(x, n, r.sign_in);
  hadamard_transform(hadamard_plan(r.cols), x, n, false);
}

void unrotate_outputs(const IncoherenceRotation& r, float* y, int n) {
  if (!r.rotates_outputs()) return;
  hadamard_transform(hadamard_plan(r.rows), y, n, true);
  scale_columns(y, n, r.sign_out);
}

std::vector<float> rotate_weight(const IncoherenceRotation& r, const float* w) {
  // B = (D_out W D_in) Q_C^T row by row; W~ = Q_R B, i.e. W~^T = B^T Q_R^T row by row.
  std::vector<float> b(w, w + static_cast<std::size_t>(r.rows) * r.cols);
  if (r.rotates_outputs()) {
    for (int i = 0; i < r.rows; ++i) {
      for (int c = 0; c < r.cols; ++c) b[static_cast<std::size_t>(i) * r.cols + c] *= r.sign_out[static_cast<std::size_t>(i)];
    }
  }
  rotate_inputs(r, b.data(), r.rows);
  if (!r.rotates_outputs()) return b;
  std::vector<float> bt = transpose(b.data(), r.rows, r.cols);
  hadamard_transform(hadamard_plan(r.rows), bt.data(), r.cols, false);
  return transpose(bt.data(), r.cols, r.rows);
}

std::vector<float> unrotate_weight(const IncoherenceRotation& r, const float* wt) {
  // W = D_out Q_R^T W~ Q_C D_in: E = W~ Q_C row by row, then (Q_R^T E)^T = E^T Q_R row by row.
  std::vector<float> e(wt, wt + static_cast<std::size_t>(r.rows) * r.cols);
  if (r.rotates_inputs()) {
    hadamard_transform(hadamard_plan(r.cols), e.data(), r.rows, true);
    scale_columns(e.data(), r.rows, r.sign_in);
  }
  if (!r.rotates_outputs()) return e;
  std::vector<float> et = transpose(e.data(), r.rows, r.cols);
  hadamard_transform(hadamard_plan(r.rows), et.data(), r.cols, true);
  std::vector<float> out = transpose(et.data(), r.cols, r.rows);
  for (int i = 0; i < r.rows; ++i) {
    for (int c = 0; c < r.cols; ++c) out[static_cast<std::size_t>(i) * r.cols + c] *= r.sign_out[static_cast<std::size_t>(i)];
  }
  return out;
}

std::vector<float> input_rotation_matrix(const IncoherenceRotation& r) {
  std::vector<float> m(static_cast<std::size_t>(r.cols) * r.cols, 0.0f);
  for (int i = 0; i < r.cols; ++i) m[static_cast<std::size_t>(i) * r.cols + i] = 1.0f;
  rotate_inputs(r, m.data(), r.cols);
  return m;
}

std::vector<float> output_rotation_matrix(const IncoherenceRotation& r) {
  std::vector<float> m(static_cast<std::size_t>(r.rows) * r.rows, 0.0f);
  for (int i = 0; i < r.rows; ++i) m[static_cast<std::size_t>(i) * r.rows + i] = 1.0f;
  unrotate_outputs(r, m.data(), r.rows);
  return m;
}

}  // namespace oacim
