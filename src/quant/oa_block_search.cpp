#include "oacim/quant/oa_block_search.hpp"
#include "oa_search_avx512.hpp"

#include <algorithm>
#include <cmath>

namespace oacim::quant {

void OaBlockOutput::resize(int rows, int n) {
  const std::size_t cells = static_cast<std::size_t>(rows) * n;
  codes.assign(cells, 0);
  qhat.assign(cells, 0.0f);
  err.assign(cells, 0.0f);
  outlier.assign(static_cast<std::size_t>(rows), -1);
  outlier_value.assign(static_cast<std::size_t>(rows), Bf16());
  loss.assign(static_cast<std::size_t>(rows), 0.0);
}

int code_of(double x, const GridParams& p, int offset, const GridSpec& grid) {
  const double q = std::nearbyint(x / std::max(static_cast<double>(p.scale), 1e-9) + p.zero + offset);
  const int shift = grid.offsets_in_cell ? offset : 0;  // offsets in the cell move the range: nothing clips
  return static_cast<int>(std::min(std::max(q, static_cast<double>(grid.code_min() + shift)),
                                   static_cast<double>(grid.code_max() + shift)));
}

void minmax_truncate(const float* w, const double* d, int n, int bits, float* range) {
  // The stable ascending order of the row's values: an insertion sort (stable: it moves a value
  // only past strictly greater ones) into a buffer kept per thread, for a block's few columns.
  thread_local std::vector<int> idx;
  idx.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    int k = i;
    for (; k > 0 && w[idx[static_cast<std::size_t>(k - 1)]] > w[i]; --k) idx[static_cast<std::size_t>(k)] = idx[static_cast<std::size_t>(k - 1)];
    idx[static_cast<std::size_t>(k)] = i;
  }
  const auto s = [&](int j) { return static_cast<double>(w[idx[static_cast<std::size_t>(j)]]); };
  const auto dd = [&](int j) { return d[idx[static_cast<std::size_t>(j)]]; };
  range[0] = static_cast<float>(s(0));
  range[1] = static_cast<float>(s(n - 1));
  if (n < 3) return;
  const double D = 2.0 * ((1 << bits) - 1);
  const auto sq = [](double v) { return v * v; };
  double e_full = 0.0, e_right = sq(2.0 * (s(n - 1) - s(n - 2)) / dd(n - 1)), e_left = sq(2.0 * (s(1) - s(0)) / dd(0));
  for (int j = 0; j < n; ++j) {
    e_full += sq((s(n - 1) - s(0)) / (D * dd(j)));
    if (j < n - 1) e_right += sq((s(n - 2) - s(0)) / (D * dd(j)));
    if (j > 0) e_left += sq((s(n - 1) - s(1)) / (D * dd(j)));
  }
  if (e_right < e_full) range[1] = static_cast<float>(s(n - 2));
  if (e_left < e_full) range[0] = static_cast<float>(s(1));
}

namespace {

// Per-row working state of the search.
class RowSearch {
 public:
  RowSearch(const OaBlockInput& in) : in_(in), n_(in.n), quads_(in.n / 4) {
    w0_.resize(static_cast<std::size_t>(n_));
    nat_code_.resize(static_cast<std::size_t>(n_));
    nat_qhat_.resize(static_cast<std::size_t>(n_));
    nat_err_.resize(static_cast<std::size_t>(n_));
    snap_.resize(static_cast<std::size_t>(quads_) * n_);
    prefix_.resize(static_cast<std::size_t>(quads_) + 1);
    cur_.resize(static_cast<std::size_t>(n_));
  }

  // Runs candidate 0 for row r and records what every other candidate starts from.
  double natural(int r) {
    p_ = in_.params[r];
    const float* w = in_.w + static_cast<std::size_t>(r) * in_.stride;
    for (int c = 0; c < n_; ++c) w0_[static_cast<std::size_t>(c)] = cur_[static_cast<std::size_t>(c)] = w[c];
    double loss = 0.0;
    for (int j = 0; j < n_; ++j) {
      if (j % 4 == 0) {
        std::copy(cur_.begin(), cur_.end(), snap_.begin() + static_cast<std::ptrdiff_t>(j / 4) * n_);
        prefix_[static_cast<std::size_t>(j / 4)] = loss;
      }
      const int q = code_of(cur_[static_cast<std::size_t>(j)], p_, in_.offsets[j], in_.grid);
      const double qh = dequantize_code(q, p_, in_.offsets[j]);
      const double e = (cur_[static_cast<std::size_t>(j)] - qh) / u(j, j);
      nat_code_[static_cast<std::size_t>(j)] = q;
      nat_qhat_[static_cast<std::size_t>(j)] = qh;
      nat_err_[static_cast<std::size_t>(j)] = e;
      loss += e * e;
      propagate(e, j, j + 1);
    }
    prefix_[static_cast<std::size_t>(quads_)] = loss;
    return loss;
  }

  // Runs the candidate with the outlier at column `star`; returns its loss, or a value >= bound as
  // soon as it cannot beat `bound`. With `out_row` set, records codes, qhat and errors.
  double outlier_candidate(int star, double bound, OaBlockOutput* out, int r) {
    const int qs = star / 4 * 4;
    double loss = prefix_[static_cast<std::size_t>(qs / 4)];
    if (loss >= bound) return loss;
    // The columns after the quad start from candidate 0's state there; the quad from the block's values.
    std::copy(snap_.begin() + static_cast<std::ptrdiff_t>(qs / 4) * n_, snap_.begin() + static_cast<std::ptrdiff_t>(qs / 4 + 1) * n_,
              cur_.begin());
    for (int c = qs; c < qs + 4; ++c) cur_[static_cast<std::size_t>(c)] = w0_[static_cast<std::size_t>(c)];
    const Bf16 ov = Bf16::from_float(static_cast<float>(cur_[static_cast<std::size_t>(star)]));
    int order[4] = {star, 0, 0, 0};
    for (int c = qs, k = 1; c < qs + 4; ++c) {
      if (c != star) order[k++] = c;
    }
    for (int k = 0; k < 4; ++k) {
      const int j = order[k];
      const double qh = k == 0 ? static_cast<double>(ov.to_float()) : 0.0;
      const double e = (cur_[static_cast<std::size_t>(j)] - qh) / u(j, j);
      loss += e * e;
      // Later quad members (higher column, processed later) and every column after the quad.
      for (int m = k + 1; m < 4; ++m) cur_[static_cast<std::size_t>(order[m])] -= e * u(j, order[m]);
      propagate(e, j, qs + 4);
      if (out) record(out, r, j, 0, qh, e);
    }
    if (loss >= bound) return loss;
    for (int j = qs + 4; j < n_; ++j) {
      const int q = code_of(cur_[static_cast<std::size_t>(j)], p_, in_.offsets[j], in_.grid);
      const double qh = dequantize_code(q, p_, in_.offsets[j]);
      const double e = (cur_[static_cast<std::size_t>(j)] - qh) / u(j, j);
      loss += e * e;
      if (loss >= bound) return loss;
      propagate(e, j, j + 1);
      if (out) record(out, r, j, q, qh, e);
    }
    if (out) {
      for (int j = 0; j < qs; ++j) record(out, r, j, nat_code_[static_cast<std::size_t>(j)], nat_qhat_[static_cast<std::size_t>(j)], nat_err_[static_cast<std::size_t>(j)]);
      out->outlier[static_cast<std::size_t>(r)] = static_cast<std::int16_t>(star);
      out->outlier_value[static_cast<std::size_t>(r)] = ov;
    }
    return loss;
  }

  void record_natural(OaBlockOutput* out, int r) const {
    for (int j = 0; j < n_; ++j) record(out, r, j, nat_code_[static_cast<std::size_t>(j)], nat_qhat_[static_cast<std::size_t>(j)], nat_err_[static_cast<std::size_t>(j)]);
  }

 private:
  double u(int a, int b) const { return in_.u[static_cast<std::size_t>(a) * n_ + b]; }
  void propagate(double e, int j, int from) {
    const double* urow = in_.u + static_cast<std::size_t>(j) * n_;
    for (int k = from; k < n_; ++k) cur_[static_cast<std::size_t>(k)] -= e * urow[k];
  }
  void record(OaBlockOutput* out, int r, int j, int q, double qh, double e) const {
    const std::size_t i = static_cast<std::size_t>(r) * n_ + j;
    out->codes[i] = static_cast<std::int8_t>(q);
    out->qhat[i] = static_cast<float>(qh);
    out->err[i] = static_cast<float>(e);
  }

  const OaBlockInput& in_;
  int n_;
  int quads_;
  GridParams p_;
  std::vector<double> w0_, nat_qhat_, nat_err_, snap_, prefix_, cur_;
  std::vector<int> nat_code_;
};

}  // namespace

void oa_search_rows(const OaBlockInput& in, int r0, int r1, OaBlockOutput& out) {
  static const bool vector_kernel = oa_search_vector_kernel_available();
  int first = r0;
  if (in.kernel == OaSearchKernel::Auto && vector_kernel) first = oa_search_rows_avx512(in, r0, r1, out);
  RowSearch search(in);
  for (int r = first; r < r1; ++r) {
    double best = search.natural(r);
    int best_star = -1;
    if (in.outliers) {
      for (int star = 0; star < in.n; ++star) {
        const double loss = search.outlier_candidate(star, best, nullptr, r);
        if (loss < best) {
          best = loss;
          best_star = star;
        }
      }
    }
    if (best_star < 0) {
      search.record_natural(&out, r);
      out.outlier[static_cast<std::size_t>(r)] = -1;
      out.outlier_value[static_cast<std::size_t>(r)] = Bf16();
    } else {
      search.outlier_candidate(best_star, INFINITY, &out, r);
    }
    out.loss[static_cast<std::size_t>(r)] = best;
  }
}

}  // namespace oacim::quant
