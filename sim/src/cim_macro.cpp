#include "oacim/sim/cim_macro.hpp"

#include <algorithm>

#include "oacim/core/cim_cell.hpp"
#include "oacim/hw/fixed_width.hpp"
#include "oacim/hw/input_align.hpp"

namespace oacim::sim {

CimMacro::CimMacro(sc_core::sc_module_name name, const CimMacroParams& params, sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), period_(period) {
  SC_HAS_PROCESS(CimMacro);
  SC_THREAD(compute);
  SC_THREAD(pipeline);
}

namespace {

// The tree sums of one broadcast plane for every (segment, column) of `valid_cols` (arrays
// strided by `cols`): sum_k +-2^k popcount(code_k & x & cells), columns innermost so that the loop
// vectorizes. Compiled three times: AVX-512 vector popcount, the popcnt instruction, and portable
// (libgcc's popcount); the widest the CPU runs is chosen once. Returns the plane's cell activations:
// the stored `1` bits that meet an input `1`, a negative tile's top slice standing for the sign bits
// above it in the 4-bit cell.
__attribute__((always_inline)) inline std::int64_t plane_sums_body(const std::uint64_t* code,
                                                                   const std::uint64_t* cells, const std::uint64_t* x,
                                                                   int cols, int valid_cols, int segs, int planes,
                                                                   bool negative, int words, std::int64_t* sums) {
  for (int i = 0; i < segs * cols; ++i) sums[i] = 0;
  std::int64_t activations = 0;
  for (int k = 0; k < planes; ++k) {
    const bool sign_slice = negative && k == planes - 1;
    const std::int64_t weight = (sign_slice ? -1 : 1) * (std::int64_t{1} << k);
    const std::int64_t cell_bits = sign_slice ? 1 + kCellBits - planes : 1;  // `1` bits per set bit of this slice
    std::int64_t set = 0;
    for (int w = 0; w < words; ++w) {
      const std::uint64_t xw = x[w];
      const std::uint64_t* ck = code + (static_cast<std::size_t>(k) * words + w) * cols;
      for (int s = 0; s < segs; ++s) {
        const std::uint64_t* ms = cells + (static_cast<std::size_t>(s) * words + w) * cols;
        std::int64_t* out = sums + static_cast<std::size_t>(s) * cols;
        for (int j = 0; j < valid_cols; ++j) {
          const std::int64_t n = __builtin_popcountll(ck[j] & xw & ms[j]);
          out[j] += weight * n;
          set += n;
        }
      }
    }
    activations += cell_bits * set;
  }
  return activations;
}

// Bits of rows [begin, end) that fall in 64-row word w.
std::uint64_t row_range_bits(int begin, int end, int w) {
  const int lo = std::max(begin - 64 * w, 0);
  const int hi = std::min(end - 64 * w, 64);
  if (hi <= lo) return 0;
  const std::uint64_t upto_hi = hi == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
  return upto_hi & ~((std::uint64_t{1} << lo) - 1);
}

using PlaneSumsFn = std::int64_t (*)(const std::uint64_t*, const std::uint64_t*, const std::uint64_t*, int, int, int, int, bool,
                             int, std::int64_t*);

std::int64_t plane_sums_portable(const std::uint64_t* code, const std::uint64_t* cells, const std::uint64_t* x, int cols,
                         int valid_cols, int segs, int planes, bool negative, int words, std::int64_t* sums) {
  return plane_sums_body(code, cells, x, cols, valid_cols, segs, planes, negative, words, sums);
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) std::int64_t plane_sums_popcnt(const std::uint64_t* code, const std::uint64_t* cells,
                                                         const std::uint64_t* x, int cols, int valid_cols, int segs,
                                                         int planes, bool negative, int words, std::int64_t* sums) {
  return plane_sums_body(code, cells, x, cols, valid_cols, segs, planes, negative, words, sums);
}

__attribute__((target("avx512f,avx512vl,avx512vpopcntdq,popcnt"))) std::int64_t plane_sums_avx512(
    const std::uint64_t* code, const std::uint64_t* cells, const std::uint64_t* x, int cols, int valid_cols, int segs,
    int planes, bool negative, int words, std::int64_t* sums) {
  return plane_sums_body(code, cells, x, cols, valid_cols, segs, planes, negative, words, sums);
}
#endif

PlaneSumsFn plane_sums_for_this_cpu() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vl")) return plane_sums_avx512;
  if (__builtin_cpu_supports("popcnt")) return plane_sums_popcnt;
#endif
  return plane_sums_portable;
}

const PlaneSumsFn plane_sums = plane_sums_for_this_cpu();

}  // namespace

void CimMacro::slice(const std::shared_ptr<const WeightTile>& tile) {
  if (slices_.tile == tile) return;
  TileSlices& sl = slices_;
  sl.tile = tile;
  const int rows = p_.rows;
  const int cols = p_.cols;
  const int segs = tile->segments;
  int lo = 0, hi = 0;
  for (const std::int8_t c : tile->codes) {
    lo = std::min(lo, static_cast<int>(c));
    hi = std::max(hi, static_cast<int>(c));
  }
  sl.negative = lo < 0;
  sl.planes = 1;
  while (sl.negative ? (lo < -(1 << (sl.planes - 1)) || hi > (1 << (sl.planes - 1)) - 1) : hi > (1 << sl.planes) - 1) {
    ++sl.planes;
  }
  // Within both registers for every input of this tile, the replay may skip their overflow checks.
  int seg_rows = 0;
  for (int s = 0; s < segs; ++s) seg_rows = std::max(seg_rows, tile->seg_end[s] - tile->seg_begin[s]);
  sl.cannot_overflow = hw::bit_serial_cannot_clip(hw::FixedWidth{p_.tree_bits, p_.tree_overflow},
                                                  hw::FixedWidth{p_.acc_bits, p_.acc_overflow}, seg_rows, lo, hi,
                                                  p_.mantissa_bits + 1);
  sl.words = (rows + 63) / 64;
  const std::size_t words = static_cast<std::size_t>(sl.words);
  sl.code.assign(static_cast<std::size_t>(cols) * sl.planes * words, 0);
  sl.cells.assign(static_cast<std::size_t>(cols) * segs * words, 0);
  sl.tree_adds_per_plane = 0;
  for (int j = 0; j < tile->valid_cols; ++j) {
    for (int i = 0; i < rows; ++i) {
      // Only the set bits: a code's bits above `planes` are its sign extension.
      unsigned bits = static_cast<std::uint8_t>(tile->codes[static_cast<std::size_t>(i) * cols + j]) & ((1u << sl.planes) - 1u);
      for (; bits != 0; bits &= bits - 1) {
        const std::size_t k = static_cast<std::size_t>(__builtin_ctz(bits));
        sl.code[(k * words + i / 64) * cols + j] |= std::uint64_t{1} << (i % 64);
      }
    }
    for (int s = 0; s < segs; ++s) {
      const int gated = tile->gated_row[static_cast<std::size_t>(j) * segs + s];
      const int cells = tile->seg_end[s] - tile->seg_begin[s] - (gated >= 0 ? 4 : 0);
      sl.tree_adds_per_plane += std::max(cells - 1, 0);
      for (std::size_t w = 0; w < words; ++w) {
        std::uint64_t m = row_range_bits(tile->seg_begin[s], tile->seg_end[s], static_cast<int>(w));
        if (gated >= 0) m &= ~row_range_bits(gated, gated + 4, static_cast<int>(w));  // gated off for this column
        sl.cells[(static_cast<std::size_t>(s) * words + w) * cols + j] = m;
      }
    }
  }
}

void CimMacro::compute() {
  const hw::FixedWidth tree{p_.tree_bits, p_.tree_overflow};
  const hw::FixedWidth acc_reg{p_.acc_bits, p_.acc_overflow};
  const int cols = p_.cols;
  // Scratch kept by the module, not by this thread's stack: an SC_THREAD never returns, so its
  // locals would never be freed (LeakSanitizer reports them at exit).
  std::vector<std::uint64_t>& x = plane_bits_;
  std::vector<std::int64_t>& sums = tree_inputs_;
  while (true) {
    const JobPtr job = in.read();
    const WeightTile& tile = *job->tile;
    slice(job->tile);
    const TileSlices& sl = slices_;
    const std::size_t words = static_cast<std::size_t>(sl.words);
    const int segs = tile.segments;
    sums.resize(static_cast<std::size_t>(cols) * segs);
    auto result = std::make_shared<MacroResult>();
    result->job = job;
    result->a.assign(static_cast<std::size_t>(cols) * segs, 0);
    for (int plane = p_.mantissa_bits; plane >= 0; --plane) {
      // Broadcast: one bit of every row's aligned input.
      x.assign(words, 0);
      for (int i = 0; i < p_.rows; ++i) x[i / 64] |= static_cast<std::uint64_t>(hw::input_bit(job->xt[i], plane)) << (i % 64);
      counters_.cell_activations += plane_sums(sl.code.data(), sl.cells.data(), x.data(), cols, tile.valid_cols, segs,
                                               sl.planes, sl.negative, sl.words, sums.data());
      for (const std::uint64_t word : x) counters_.input_ones += __builtin_popcountll(word);
      counters_.tree_adds += sl.tree_adds_per_plane;
      counters_.acc_steps += static_cast<std::int64_t>(tile.valid_cols) * segs;
      const bool sign_plane = plane == p_.mantissa_bits;
      for (int j = 0; j < tile.valid_cols; ++j) {
        for (int s = 0; s < segs; ++s) {
          const std::int64_t sum = sums[static_cast<std::size_t>(s) * cols + j];
          std::int64_t& acc = result->a[static_cast<std::size_t>(j) * segs + s];
          if (sl.cannot_overflow) {  // both registers hold every value of this tile: the same steps
            acc = sign_plane ? -sum : 2 * acc + sum;
            continue;
          }
          bool of = false;
          const std::int64_t t = tree.apply(sum, of);
          counters_.tree_overflows += of;
          acc = hw::shift_accumulate(acc_reg, acc, t, sign_plane, of);
          counters_.acc_overflows += of;
        }
      }
      ++counters_.input_bitplanes;
      ++busy_cycles_;
      wait(period_);
    }
    for (int j = 0; j < tile.valid_cols; ++j) {
      for (int s = 0; s < segs; ++s) {
        const int gated = tile.gated_row[static_cast<std::size_t>(j) * segs + s];
        counters_.macs += (tile.seg_end[s] - tile.seg_begin[s]) - (gated >= 0 ? 4 : 0);
      }
    }
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
