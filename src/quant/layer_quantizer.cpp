#include "oacim/quant/layer_quantizer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/storage_bits.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/oa_block_search.hpp"
#include "oacim/quant/gptq_columns.hpp"

namespace oacim::quant {

namespace {

at::Tensor tensor_of(const std::vector<std::int64_t>& v) { return at::tensor(v, at::kLong); }

std::vector<std::int64_t> inverse(const std::vector<std::int64_t>& perm) {
  std::vector<std::int64_t> inv(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
  return inv;
}

// Row ranges of a parallel loop over R rows (at::parallel_for with a grain of rows).
template <typename F>
void for_rows(int rows, const F& f) {
  at::parallel_for(0, rows, 8, [&](std::int64_t r0, std::int64_t r1) { f(static_cast<int>(r0), static_cast<int>(r1)); });
}

// A fit's per-row scales and zeros as two arrays.
struct RowGrids {
  std::vector<float> scale, zero;
  static RowGrids of(const BlockGridFit& fit) {
    RowGrids g;
    for (const GridParams& p : fit.params) {
      g.scale.push_back(p.scale);
      g.zero.push_back(p.zero);
    }
    return g;
  }
};

struct LayerWork {
  int rows = 0;
  int cols = 0;
  GridSpec grid;
  BlockGridOptions grid_options;
};

// GPTQ (docs/algorithms.md B.2); codes land in `codes` (natural order), fits per group in `fits`.
at::Tensor run_gptq(const std::string& name, const LayerWork& lw, at::Tensor w, at::Tensor h, const LayerQuantOptions& o,
                    std::vector<std::int8_t>& codes, std::vector<BlockGridFit>& fits, double& loss,
                    std::int64_t& dead_count) {
  const int R = lw.rows;
  const int C = lw.cols;
  const int gs = lw.grid.block_size;
  const int groups = num_blocks(C, gs);
  const bool one_group = groups == 1;
  fits.assign(static_cast<std::size_t>(groups), BlockGridFit{});
  // B.2: the whole-row quantizer is fitted before dead columns are zeroed.
  if (one_group && !o.static_groups) fits[0] = fit_block(w.data_ptr<float>(), R, C, static_cast<std::size_t>(C), lw.grid_options);
  const at::Tensor dead = dead_columns(h);
  dead_count = dead.sum().item<std::int64_t>();
  fix_dead_columns(h, w, dead);
  if (o.static_groups) {
    for (int g = 0; g < groups; ++g) {
      const BlockRange br = block_range(g, C, gs);
      fits[static_cast<std::size_t>(g)] = fit_block(w.data_ptr<float>() + br.begin, R, br.size(), static_cast<std::size_t>(C), lw.grid_options);
    }
  }
  std::vector<std::int64_t> perm(static_cast<std::size_t>(C));
  std::iota(perm.begin(), perm.end(), 0);
  if (o.act_order) {
    const at::Tensor idx = std::get<1>(at::sort(h.diagonal(), /*stable=*/true, /*dim=*/0, /*descending=*/true));
    perm.assign(idx.data_ptr<std::int64_t>(), idx.data_ptr<std::int64_t>() + C);
    const at::Tensor p = tensor_of(perm);
    w = w.index_select(1, p).contiguous();
    h = h.index_select(0, p).index_select(1, p).contiguous();
  }
  add_damping(h, o.percdamp);
  const at::Tensor u = inverse_cholesky_upper(h, name).contiguous();
  const float* up = u.data_ptr<float>();

  std::vector<std::int8_t> codes_perm(static_cast<std::size_t>(R) * C, 0);
  std::vector<double> row_loss(static_cast<std::size_t>(R), 0.0);
  std::vector<BlockRange> ranges;
  for (int b = 0; b < C; b += o.gptq_block) ranges.push_back(BlockRange{b, std::min(C, b + o.gptq_block)});
  const bool dynamic = !o.static_groups && !one_group;
  std::vector<BlockGridFit> dyn_fits(dynamic ? static_cast<std::size_t>(groups) : 0);

  // Per-row grids as arrays (the column loop reads them across rows), made once per fit.
  std::vector<RowGrids> fixed_grids;
  for (const BlockGridFit& f : fits) fixed_grids.push_back(RowGrids::of(f));
  std::vector<RowGrids> dyn_grids(dyn_fits.size());
  std::vector<const float*> col_scale, col_zero;

  const at::Tensor q = lazy_block_loop(w, u, ranges, [&](const BlockRange& br, const at::Tensor& w1, at::Tensor& q1, at::Tensor& err1) {
    const int n = br.size();
    col_scale.assign(static_cast<std::size_t>(n), nullptr);
    col_zero.assign(static_cast<std::size_t>(n), nullptr);
    for (int jj = br.begin; jj < br.end; ++jj) {
      const RowGrids* g = nullptr;
      if (dynamic) {
        const auto gi = static_cast<std::size_t>(jj / gs);
        // Statistics read W, not the in-block updated W1 (upstream; docs/algorithms.md F.8): W
        // holds the earlier lazy blocks' updates only while this block runs.
        if (jj % gs == 0) {
          dyn_fits[gi] = fit_block(w.data_ptr<float>() + jj, R, std::min(gs, C - jj), static_cast<std::size_t>(C), lw.grid_options);
          dyn_grids[gi] = RowGrids::of(dyn_fits[gi]);
        }
        g = &dyn_grids[gi];
      } else {
        g = &fixed_grids[o.static_groups ? static_cast<std::size_t>(perm[static_cast<std::size_t>(jj)] / gs) : 0];
      }
      col_scale[static_cast<std::size_t>(jj - br.begin)] = g->scale.data();
      col_zero[static_cast<std::size_t>(jj - br.begin)] = g->zero.data();
    }
    GptqBlockColumns job;
    job.rows = R;
    job.n = n;
    job.w1 = w1.data_ptr<float>();
    job.u = up + static_cast<std::size_t>(br.begin) * C + br.begin;
    job.u_stride = static_cast<std::size_t>(C);
    job.scale = col_scale.data();
    job.zero = col_zero.data();
    job.grid = lw.grid;
    job.q1 = q1.data_ptr<float>();
    job.err1 = err1.data_ptr<float>();
    job.codes = codes_perm.data();
    job.code_stride = static_cast<std::size_t>(C);
    job.code_col0 = static_cast<std::size_t>(br.begin);
    job.row_loss = row_loss.data();
    at::parallel_for(0, R, 64, [&](std::int64_t r0, std::int64_t r1) { gptq_block_columns(job, static_cast<int>(r0), static_cast<int>(r1)); });
  });
  loss = std::accumulate(row_loss.begin(), row_loss.end(), 0.0);
  codes.assign(static_cast<std::size_t>(R) * C, 0);
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      codes[static_cast<std::size_t>(r) * C + perm[static_cast<std::size_t>(c)]] = codes_perm[static_cast<std::size_t>(r) * C + c];
    }
  }
  if (dynamic) fits = std::move(dyn_fits);
  return o.act_order ? q.index_select(1, tensor_of(inverse(perm))).contiguous() : q;
}

// OA-CIM (docs/algorithms.md A.3); with identity = true, RTN (H = I, natural block order).
at::Tensor run_oa(const std::string& name, const LayerWork& lw, const at::Tensor& w0, const at::Tensor& h0,
                  const LayerQuantOptions& o, bool identity, PackedCimParts& parts, double& loss,
                  std::int64_t& ones_before, std::int64_t& dead_count) {
  const int R = lw.rows;
  const int C = lw.cols;
  const int bs = lw.grid.block_size;
  const int nb = num_blocks(C, bs);
  // Block-level act-order by the largest raw diag(H) in each block (outlier mode only).
  std::vector<int> order(static_cast<std::size_t>(nb));
  std::iota(order.begin(), order.end(), 0);
  if (o.outliers && !identity) {
    const at::Tensor diag = h0.diagonal().abs().contiguous();
    const float* dp = diag.data_ptr<float>();
    std::vector<float> key(static_cast<std::size_t>(nb));
    for (int b = 0; b < nb; ++b) {
      const BlockRange br = block_range(b, C, bs);
      key[static_cast<std::size_t>(b)] = *std::max_element(dp + br.begin, dp + br.end);
    }
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key[static_cast<std::size_t>(a)] > key[static_cast<std::size_t>(b)]; });
  }
  std::vector<std::int64_t> perm;
  std::vector<BlockRange> ranges;
  std::vector<int> block_at;  // permuted start column -> natural block
  for (int b : order) {
    const BlockRange br = block_range(b, C, bs);
    ranges.push_back(BlockRange{static_cast<int>(perm.size()), static_cast<int>(perm.size()) + br.size()});
    block_at.push_back(b);
    for (int c = br.begin; c < br.end; ++c) perm.push_back(c);
  }
  const bool permuted = !std::is_sorted(perm.begin(), perm.end());
  at::Tensor w = permuted ? w0.index_select(1, tensor_of(perm)).contiguous() : w0.clone().contiguous();
  at::Tensor u;
  if (!identity) {
    at::Tensor h = permuted ? h0.index_select(0, tensor_of(perm)).index_select(1, tensor_of(perm)).contiguous() : h0.clone();
    const at::Tensor dead = dead_columns(h);  // of the raw H, before the damping (OA/SpQR order)
    dead_count = dead.sum().item<std::int64_t>();
    add_damping(h, o.percdamp);
    fix_dead_columns(h, w, dead);
    u = inverse_cholesky_upper(h, name).contiguous();
  }
  const OffsetSearch offset_search(lw.grid, o.offset_search);
  std::vector<double> row_loss(static_cast<std::size_t>(R), 0.0);
  std::size_t range_index = 0;
  ones_before = 0;

  const auto block_fn = [&](const BlockRange& br, const at::Tensor& w1, at::Tensor& q1, at::Tensor& err1) {
    const int b = block_at[range_index++];
    const int n = br.size();
    const int c0 = block_range(b, C, bs).begin;  // natural column of the block's first column
    std::vector<double> ub(static_cast<std::size_t>(n) * n, 0.0);
    const float* up = identity ? nullptr : u.data_ptr<float>();
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < n; ++k) {
        ub[static_cast<std::size_t>(i) * n + k] =
            identity ? (i == k ? 1.0 : 0.0) : static_cast<double>(up[static_cast<std::size_t>(br.begin + i) * C + br.begin + k]);
      }
    }
    const float* w1p = w1.data_ptr<float>();
    std::vector<float> trunc;
    if (o.outliers) {
      std::vector<double> d(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) d[static_cast<std::size_t>(i)] = ub[static_cast<std::size_t>(i) * n + i];
      trunc.resize(static_cast<std::size_t>(2) * R);
      for_rows(R, [&](int r0, int r1) {
        for (int r = r0; r < r1; ++r) minmax_truncate(w1p + static_cast<std::size_t>(r) * n, d.data(), n, lw.grid.bits, &trunc[static_cast<std::size_t>(2) * r]);
      });
    }
    const BlockGridFit fit = fit_block(w1p, R, n, static_cast<std::size_t>(n), lw.grid_options, o.outliers ? &trunc : nullptr);
    store_block_fit(parts, b, fit);
    std::vector<int> offsets(static_cast<std::size_t>(n), 0);
    OaBlockInput in;
    in.rows = R;
    in.n = n;
    in.w = w1p;
    in.stride = static_cast<std::size_t>(n);
    in.u = ub.data();
    in.grid = lw.grid;
    in.params = fit.params.data();
    in.offsets = offsets.data();
    in.outliers = o.outliers;
    OaBlockOutput out;
    out.resize(R, n);
    const auto search = [&]() { for_rows(R, [&](int r0, int r1) { oa_search_rows(in, r0, r1, out); }); };
    const auto in_outlier_quad = [&](int r, int i) {
      const int oc = out.outlier[static_cast<std::size_t>(r)];
      return oc >= 0 && oc / 4 == i / 4;
    };
    const auto stored_ones = [&]() {
      std::int64_t ones = 0;
      for (int r = 0; r < R; ++r) {
        for (int i = 0; i < n; ++i) {
          if (!in_outlier_quad(r, i)) ones += CellCode::from_code(out.codes[static_cast<std::size_t>(r) * n + i]).ones();
        }
        if (out.outlier[static_cast<std::size_t>(r)] >= 0) ones += popcount16(out.outlier_value[static_cast<std::size_t>(r)].bits());
      }
      return ones;
    };
    search();
    ones_before += stored_ones();
    if (o.offsets) {
      // Offsets from the first pass's code cells (outlier quads hold BF16 words), then a full re-run.
      const bool error_aware = o.offset_search.error_weight > 0.0;
      // Error-aware: a cell's error in units of the block's mean squared scaled error per cell.
      double mean_sq = 0.0;
      for (const double l : out.loss) mean_sq += l;
      mean_sq = std::max(mean_sq / (static_cast<double>(R) * n), 1e-300);
      std::vector<int> column;
      std::vector<double> values;
      std::vector<GridParams> grids;
      for (int i = 0; i < n; ++i) {
        column.clear();
        values.clear();
        grids.clear();
        const double d = ub[static_cast<std::size_t>(i) * n + i];
        for (int r = 0; r < R; ++r) {
          if (in_outlier_quad(r, i)) continue;
          const std::size_t k = static_cast<std::size_t>(r) * n + i;
          column.push_back(out.codes[k]);
          // The value the first pass rounded (after the block's error feedback): qhat + err * U[i][i].
          values.push_back(static_cast<double>(out.qhat[k]) + static_cast<double>(out.err[k]) * d);
          grids.push_back(fit.params[static_cast<std::size_t>(r)]);
        }
        std::vector<double> costs;
        if (error_aware) {
          costs = offset_search.error_costs(values, grids, d);
          for (double& c : costs) c /= mean_sq;
        }
        offsets[static_cast<std::size_t>(i)] = offset_search.choose(column, error_aware ? &costs : nullptr).offset;
      }
      search();
    }
    float* q1p = q1.data_ptr<float>();
    float* e1p = err1.data_ptr<float>();
    std::copy(out.qhat.begin(), out.qhat.end(), q1p);
    std::copy(out.err.begin(), out.err.end(), e1p);
    for (int i = 0; i < n; ++i) parts.offsets[static_cast<std::size_t>(c0 + i)] = static_cast<std::int8_t>(offsets[static_cast<std::size_t>(i)]);
    for (int r = 0; r < R; ++r) {
      row_loss[static_cast<std::size_t>(r)] += out.loss[static_cast<std::size_t>(r)];
      for (int i = 0; i < n; ++i) {
        parts.codes[static_cast<std::size_t>(r) * C + c0 + i] = in_outlier_quad(r, i) ? std::int8_t{0} : out.codes[static_cast<std::size_t>(r) * n + i];
      }
      const std::size_t bi = static_cast<std::size_t>(r) * nb + b;
      parts.outlier_col[bi] = out.outlier[static_cast<std::size_t>(r)];
      if (out.outlier[static_cast<std::size_t>(r)] >= 0) parts.outlier_value[bi] = out.outlier_value[static_cast<std::size_t>(r)];
    }
  };
  const at::Tensor q = lazy_block_loop(w, u, ranges, block_fn);  // u undefined for RTN: no error feedback
  loss = std::accumulate(row_loss.begin(), row_loss.end(), 0.0);
  return permuted ? q.index_select(1, tensor_of(inverse(perm))).contiguous() : q;
}

}  // namespace

void fill_storage_stats(LayerQuantStats& s, const PackedCimWeights& packed, std::int64_t ones_before_offsets) {
  const OnesCount ones = count_ones(packed);
  s.ones = ones.ones;
  s.stored_bits = ones.stored_bits;
  s.ones_before_offsets = ones_before_offsets >= 0 ? ones_before_offsets : ones.ones;
  s.outliers = packed.outlier_count();
  s.outlier_share = static_cast<double>(s.outliers) / (static_cast<double>(packed.rows()) * packed.blocks());
  s.bits_per_weight = storage_bits(packed).per_weight();
}

void fill_weight_error(LayerQuantStats& s, const at::Tensor& w, const at::Tensor& dequantized) {
  // One pass without temporaries (fp64 copies of a 7B Linear are 360 MB each): the fp32
  // difference, squared and summed in fp64.
  const at::Tensor wc = w.to(at::kFloat).contiguous();
  const at::Tensor qc = dequantized.to(at::kFloat).contiguous();
  const float* wp = wc.data_ptr<float>();
  const float* qp = qc.data_ptr<float>();
  double num = 0.0;
  double den = 0.0;
  for (std::int64_t i = 0; i < wc.numel(); ++i) {
    const double d = static_cast<double>(wp[i] - qp[i]);
    num += d * d;
    den += static_cast<double>(wp[i]) * wp[i];
  }
  s.weight_mse = num / static_cast<double>(w.numel());
  s.weight_rel_error = den > 0.0 ? std::sqrt(num / den) : 0.0;
}

LayerQuantResult quantize_layer(const std::string& name, const at::Tensor& w_in, const at::Tensor& h_in,
                                const LayerQuantOptions& o, bool pack) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.method == Method::DiscQuant) {
    throw InvalidArgument(name, "DiscQuant trains every Linear of the model together (discquant_model), not one layer");
  }
  if (pack) {
    o.check_packable();
  } else {
    o.validate();
  }
  if (w_in.dim() != 2) throw InvalidArgument(name, "a Linear weight must be 2-d [out, in]");
  const int R = static_cast<int>(w_in.size(0));
  const int C = static_cast<int>(w_in.size(1));
  if (C % 4 != 0) throw InvalidArgument(name, fmt::format("{} input columns: the CIM quads need a multiple of 4", C));
  const at::Tensor w = w_in.to(at::kFloat).contiguous();
  if (!at::isfinite(w).all().item<bool>()) throw InvalidArgument(name, "the weight holds non-finite values");
  const bool needs_h = uses_hessian(o.method);
  if (needs_h && (!h_in.defined() || h_in.dim() != 2 || h_in.size(0) != C || h_in.size(1) != C)) {
    throw InvalidArgument(name, fmt::format("{} needs a {}x{} Hessian", to_string(o.method), C, C));
  }
  const at::Tensor h = needs_h ? h_in.to(at::kFloat).contiguous() : at::Tensor();

  LayerWork lw;
  lw.rows = R;
  lw.cols = C;
  lw.grid = o.grid_for(C);
  lw.grid_options = o.grid;
  lw.grid_options.grid = lw.grid;

  LayerQuantResult res;
  LayerQuantStats& s = res.stats;
  s.layer = name;
  s.rows = R;
  s.cols = C;
  PackedCimParts parts = empty_parts(R, C, lw.grid, o.grid.qq, o.offset_search.sign);
  std::int64_t ones_before = -1;
  if (o.method == Method::Gptq) {
    std::vector<BlockGridFit> fits;
    res.dequantized = run_gptq(name, lw, w.clone(), h.clone(), o, parts.codes, fits, s.gptq_loss, s.dead_columns);
    if (pack) {
      for (int b = 0; b < num_blocks(C, lw.grid.block_size); ++b) store_block_fit(parts, b, fits[static_cast<std::size_t>(b)]);
    }
  } else {
    res.dequantized = run_oa(name, lw, w, h, o, o.method == Method::Rtn, parts, s.gptq_loss, ones_before, s.dead_columns);
  }
  if (pack) {
    auto packed = std::make_shared<const PackedCimWeights>(std::move(parts));
    // The algorithm's fake-quant weights are by construction what the format dequantizes to.
    const std::vector<float> deq = packed->dequantize();
    const float* qp = res.dequantized.data_ptr<float>();
    for (std::size_t i = 0; i < deq.size(); ++i) {
      if (deq[i] != qp[i]) {
        throw InvariantError(fmt::format("{}: packed weight ({}, {}) dequantizes to {} but the quantizer computed {}", name,
                                         i / static_cast<std::size_t>(C), i % static_cast<std::size_t>(C), deq[i], qp[i]));
      }
    }
    fill_storage_stats(s, *packed, ones_before);
    res.packed = std::move(packed);
  }
  fill_weight_error(s, w, res.dequantized);
  if (h.defined()) {
    const auto [e, ref] = output_error(w, res.dequantized, h);
    s.output_error = ref > 0.0 ? e / ref : 0.0;
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace oacim::quant
