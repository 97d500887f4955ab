#include "oacim/core/offset_search.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include <fmt/format.h>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"

namespace oacim {

std::string to_string(OffsetSign sign) { return sign == OffsetSign::Minimise ? "minimise" : "faithful"; }

OffsetSign offset_sign_from_string(const std::string& text, const std::string& key) {
  if (text == "minimise" || text == "minimize") return OffsetSign::Minimise;
  if (text == "faithful") return OffsetSign::Faithful;
  throw InvalidArgument(key, fmt::format("'{}' is not an offset sign (expected minimise|faithful)", text));
}

int default_max_abs_offset(OffsetSign sign, bool outliers) { return sign == OffsetSign::Faithful && outliers ? 7 : 1; }

void OffsetSearchOptions::validate(const GridSpec& grid) const {
  if (!(error_weight >= 0.0) || !std::isfinite(error_weight)) {
    throw InvalidArgument("offset_lambda", fmt::format("{} is not a finite number >= 0", error_weight));
  }
  if (error_weight > 0.0 && sign == OffsetSign::Faithful) {
    throw InvalidArgument("offset_lambda", "the error-aware choice needs offset_sign minimise (faithful is upstream's popcount model)");
  }
  const int limit = grid.offsets_in_cell ? std::max(-grid.in_cell_offset_min(), grid.in_cell_offset_max())
                                         : grid.levels_minus_one();
  if (grid.offsets_in_cell && sign == OffsetSign::Faithful) {
    throw InvalidArgument("offsets_in_cell", "upstream's faithful rule clamps q + o to the code range; use offset_sign minimise");
  }
  if (max_abs_offset < 0 || max_abs_offset > limit) {
    throw InvalidArgument("max_abs_offset", fmt::format("{} is outside 0..{} for {}-bit codes", max_abs_offset, limit,
                                                        grid.bits));
  }
}

OffsetSearch::OffsetSearch(GridSpec grid, OffsetSearchOptions options) : grid_(grid), options_(options) {
  grid_.validate();
  if (grid_.bits > kCellBits) {
    throw InvalidArgument("bits", fmt::format("offsets act on stored {}-bit cells; {}-bit codes do not fit", kCellBits,
                                              grid_.bits));
  }
  options_.validate(grid_);
}

int OffsetSearch::stored_ones(int code, int offset) const {
  const int stored = std::min(std::max(code + offset, grid_.stored_min()), grid_.stored_max());
  return cell_ones(stored);
}

bool OffsetSearch::allowed(int offset) const {
  return !grid_.offsets_in_cell || (offset >= grid_.in_cell_offset_min() && offset <= grid_.in_cell_offset_max());
}

std::vector<std::int64_t> OffsetSearch::candidate_costs(const std::vector<int>& codes) const {
  const int m = options_.max_abs_offset;
  // Histogram first: the cost of a shift depends only on how many rows hold each code.
  std::array<std::int64_t, 256> hist{};
  for (int a : codes) ++hist[static_cast<std::size_t>(a - grid_.code_min())];
  std::vector<std::int64_t> cost(static_cast<std::size_t>(2 * m + 1), 0);
  for (int o = -m; o <= m; ++o) {
    std::int64_t total = 0;
    for (int a = grid_.code_min(); a <= grid_.code_max(); ++a) {
      total += hist[static_cast<std::size_t>(a - grid_.code_min())] * stored_ones(a, o);
    }
    cost[static_cast<std::size_t>(o + m)] = total;
  }
  return cost;
}

int OffsetSearch::faithful_offset(const std::vector<int>& codes) const {
  // Upstream model: P(v) = popcount((clamp(v,-7,7) + 16) mod 16) over a in [-7, 7], shifts b in [-7, 7].
  auto model_ones = [](int v) { return cell_ones(std::min(std::max(v, -7), 7)); };
  std::array<std::int64_t, 15> hist{};
  for (int a : codes) {
    if (a >= -7 && a <= 7) ++hist[static_cast<std::size_t>(a + 7)];
  }
  std::array<std::int64_t, 15> cnt{};
  for (int j = 0; j < 15; ++j) {
    const int b = j - 7;
    std::int64_t total = 0;
    for (int a = -7; a <= 7; ++a) total += hist[static_cast<std::size_t>(a + 7)] * model_ones(a + b);
    cnt[static_cast<std::size_t>(j)] = total;
  }
  std::array<int, 15> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return cnt[static_cast<std::size_t>(x)] < cnt[static_cast<std::size_t>(y)]; });
  // Candidates in ascending cost order; upstream returns -b and keeps the first of minimal |o|.
  int best = 7 - order[0];
  for (int t = 1; t < 3; ++t) {
    const int cand = 7 - order[static_cast<std::size_t>(t)];
    if (std::abs(cand) < std::abs(best)) best = cand;
  }
  return std::min(std::max(best, -options_.max_abs_offset), options_.max_abs_offset);
}

std::vector<double> OffsetSearch::error_costs(const std::vector<double>& w, const std::vector<GridParams>& params,
                                              double d) const {
  if (w.size() != params.size()) throw InvalidArgument("error_costs", "one grid per row is needed");
  const int m = options_.max_abs_offset;
  std::vector<double> cost(static_cast<std::size_t>(2 * m + 1), 0.0);
  const double inv_d2 = 1.0 / (d * d);
  for (std::size_t r = 0; r < w.size(); ++r) {
    const auto err = [&](int o) {
      const double qh = dequantize_code(quantize_code(static_cast<float>(w[r]), params[r], o, grid_), params[r], o);
      return (w[r] - qh) * (w[r] - qh);
    };
    const double e0 = err(0);
    for (int o = -m; o <= m; ++o) cost[static_cast<std::size_t>(o + m)] += (err(o) - e0) * inv_d2;
  }
  return cost;
}

OffsetChoice OffsetSearch::choose(const std::vector<int>& codes, const std::vector<double>* error_costs) const {
  for (int a : codes) {
    if (a < grid_.code_min() || a > grid_.code_max()) {
      throw InvalidArgument("codes", fmt::format("code {} is outside [{}, {}]", a, grid_.code_min(), grid_.code_max()));
    }
  }
  const int m = options_.max_abs_offset;
  const auto cost = candidate_costs(codes);
  const bool error_aware = options_.error_weight > 0.0;
  if (error_aware && (!error_costs || error_costs->size() != cost.size())) {
    throw InvalidArgument("offset_lambda", "the error-aware offset choice needs the error cost of every candidate");
  }
  // ones + lambda * error: exact integers when lambda is 0.
  const auto total = [&](int o) {
    const double ones = static_cast<double>(cost[static_cast<std::size_t>(o + m)]);
    return error_aware ? ones + options_.error_weight * (*error_costs)[static_cast<std::size_t>(o + m)] : ones;
  };
  OffsetChoice choice;
  if (options_.sign == OffsetSign::Minimise) {
    int best = 0;
    for (int o = -m; o <= m; ++o) {
      if (!allowed(o)) continue;  // a code would leave the cell
      const double c = total(o), cb = total(best);
      if (c < cb || (c == cb && (std::abs(o) < std::abs(best) || (std::abs(o) == std::abs(best) && o < best)))) {
        best = o;
      }
    }
    choice.offset = best;
    if (error_costs) choice.error_increase = (*error_costs)[static_cast<std::size_t>(best + m)];
  } else {
    choice.offset = faithful_offset(codes);
  }
  choice.ones_before = cost[static_cast<std::size_t>(m)];
  choice.ones_after = cost[static_cast<std::size_t>(choice.offset + m)];
  for (int a : codes) {
    const int shifted = a + choice.offset;
    if (shifted < grid_.stored_min() || shifted > grid_.stored_max()) ++choice.clipped;
  }
  return choice;
}

}  // namespace oacim
