#include "oacim/sim/cim_macro.hpp"

#include <algorithm>

#include "oacim/core/cim_cell.hpp"
#include "oacim/hw/fixed_width.hpp"
#include "oacim/sim/plane_pass.hpp"

namespace oacim::sim {

CimMacro::CimMacro(sc_core::sc_module_name name, const CimMacroParams& params, sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), period_(period) {
  SC_HAS_PROCESS(CimMacro);
  SC_THREAD(compute);
  SC_THREAD(pipeline);
}

namespace {

// Bits of rows [begin, end) that fall in 64-row word w.
std::uint64_t row_range_bits(int begin, int end, int w) {
  const int lo = std::max(begin - 64 * w, 0);
  const int hi = std::min(end - 64 * w, 64);
  if (hi <= lo) return 0;
  const std::uint64_t upto_hi = hi == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
  return upto_hi & ~((std::uint64_t{1} << lo) - 1);
}

}  // namespace

void CimMacro::slice(const std::shared_ptr<const WeightTile>& tile) {
  if (slices_.tile == tile) return;
  TileSlices& sl = slices_;
  sl.tile = tile;
  const int cols = p_.cols;
  const int segs = tile->segments;
  sl.words = tile->words;
  const std::size_t slice_size = static_cast<std::size_t>(sl.words) * cols;
  const std::uint64_t* bits = tile->cell_bits.data();  // [kCellBits][words][cols]
  const auto slice_is = [&](int k, int other) {       // slice k equals slice `other`, or is 0 when other < 0
    for (std::size_t i = 0; i < slice_size; ++i) {
      if (bits[k * slice_size + i] != (other < 0 ? 0 : bits[other * slice_size + i])) return false;
    }
    return true;
  };
  // The fewest code bits that hold every cell: a non-negative tile drops its zero top slices, a
  // negative one the slices that only repeat the sign.
  sl.negative = tile->codes_signed && !slice_is(kCellBits - 1, -1);
  sl.planes = kCellBits;
  if (sl.negative) {
    while (sl.planes > 1 && slice_is(sl.planes - 1, sl.planes - 2)) --sl.planes;
  } else {
    while (sl.planes > 1 && slice_is(sl.planes - 1, -1)) --sl.planes;
  }
  const int lo = sl.negative ? -(1 << (sl.planes - 1)) : 0;
  const int hi = sl.negative ? (1 << (sl.planes - 1)) - 1 : (1 << sl.planes) - 1;
  // Within both registers for every input of this tile, the replay may skip their overflow checks.
  int seg_rows = 0;
  for (int s = 0; s < segs; ++s) seg_rows = std::max(seg_rows, tile->seg_end[s] - tile->seg_begin[s]);
  sl.cannot_overflow = hw::bit_serial_cannot_clip(hw::FixedWidth{p_.tree_bits, p_.tree_overflow},
                                                  hw::FixedWidth{p_.acc_bits, p_.acc_overflow}, seg_rows, lo, hi,
                                                  p_.mantissa_bits + 1);
  const std::size_t words = static_cast<std::size_t>(sl.words);
  sl.masked.assign(static_cast<std::size_t>(sl.planes) * segs * words * cols, 0);
  sl.tree_adds_per_plane = 0;
  sl.macs_per_job = 0;
  for (int j = 0; j < tile->valid_cols; ++j) {
    for (int s = 0; s < segs; ++s) {
      const int gated = tile->gated_row[static_cast<std::size_t>(j) * segs + s];
      const int cells = tile->seg_end[s] - tile->seg_begin[s] - (gated >= 0 ? 4 : 0);
      sl.tree_adds_per_plane += std::max(cells - 1, 0);
      sl.macs_per_job += cells;
      for (std::size_t w = 0; w < words; ++w) {
        std::uint64_t m = row_range_bits(tile->seg_begin[s], tile->seg_end[s], static_cast<int>(w));
        if (gated >= 0) m &= ~row_range_bits(gated, gated + 4, static_cast<int>(w));  // gated off for this column
        for (int k = 0; k < sl.planes; ++k) {
          sl.masked[((static_cast<std::size_t>(k) * segs + s) * words + w) * cols + j] = bits[k * slice_size + w * cols + j] & m;
        }
      }
    }
  }
}

void CimMacro::compute() {
  const hw::FixedWidth tree{p_.tree_bits, p_.tree_overflow};
  const hw::FixedWidth acc_reg{p_.acc_bits, p_.acc_overflow};
  const int cols = p_.cols;
  const int bitplanes = p_.mantissa_bits + 1;
  // Scratch kept by the module, not by this thread's stack: an SC_THREAD never returns, so its
  // locals would never be freed (LeakSanitizer reports them at exit).
  std::vector<std::int64_t>& sums = tree_inputs_;
  while (true) {
    const JobPtr job = in.read();
    const WeightTile& tile = *job->tile;
    slice(job->tile);
    const TileSlices& sl = slices_;
    const int segs = tile.segments;
    const std::size_t seg_cols = static_cast<std::size_t>(cols) * segs;
    const PlanePass pass{sl.masked.data(), job->inputs->planes.data(), bitplanes, cols, segs, sl.planes, sl.words,
                         sl.negative, sl.cannot_overflow};
    sums.resize(bitplanes * seg_cols);
    counters_.cell_activations += run_plane_pass(pass, sums.data());
    counters_.input_ones += job->inputs->ones;
    // The checked replay of the shift-accumulators, sign plane (the MSB) first; a tile whose
    // registers cannot clip was folded by the pass (the same steps without the checks).
    std::int64_t* acc = sums.data();
    if (!sl.cannot_overflow) {
      acc_.assign(seg_cols, 0);
      for (int plane = p_.mantissa_bits; plane >= 0; --plane) {
        const std::int64_t* ps = sums.data() + plane * seg_cols;
        const bool sign_plane = plane == p_.mantissa_bits;
        for (int s = 0; s < segs; ++s) {
          for (int j = 0; j < tile.valid_cols; ++j) {
            const std::size_t i = static_cast<std::size_t>(s) * cols + j;
            bool of = false;
            const std::int64_t t = tree.apply(ps[i], of);
            counters_.tree_overflows += of;
            acc_[i] = hw::shift_accumulate(acc_reg, acc_[i], t, sign_plane, of);
            counters_.acc_overflows += of;
          }
        }
      }
      acc = acc_.data();
    }
    auto result = std::make_shared<MacroResult>();
    result->job = job;
    result->a.assign(seg_cols, 0);
    for (int j = 0; j < tile.valid_cols; ++j) {
      for (int s = 0; s < segs; ++s) result->a[static_cast<std::size_t>(j) * segs + s] = acc[static_cast<std::size_t>(s) * cols + j];
    }
    counters_.tree_adds += sl.tree_adds_per_plane * bitplanes;
    counters_.acc_steps += static_cast<std::int64_t>(tile.valid_cols) * segs * bitplanes;
    counters_.input_bitplanes += bitplanes;
    counters_.macs += sl.macs_per_job;
    busy_cycles_ += bitplanes;
    wait(static_cast<double>(bitplanes) * period_);  // one bit-plane per cycle
    ++counters_.macro_activations;
    in_flight_.emplace_back(sc_core::sc_time_stamp() + p_.pipeline_cycles * period_, result);
    pushed_.notify(sc_core::SC_ZERO_TIME);
    ++jobs_done_;
    job_done_.notify(sc_core::SC_ZERO_TIME);
  }
}

void CimMacro::pipeline() {
  while (true) {
    while (in_flight_.empty()) wait(pushed_);
    const auto [ready, result] = in_flight_.front();
    in_flight_.pop_front();
    if (ready > sc_core::sc_time_stamp()) wait(ready - sc_core::sc_time_stamp());
    out.write(result);
  }
}

ModuleActivity CimMacro::activity() const {
  return {"cim_macro", busy_cycles_, counters_.input_bitplanes, "bit-planes"};
}

}  // namespace oacim::sim
