#include "oacim/sim/cim_macro.hpp"

#include "oacim/hw/fixed_width.hpp"
#include "oacim/hw/input_align.hpp"

namespace oacim::sim {

CimMacro::CimMacro(sc_core::sc_module_name name, const CimMacroParams& params, sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), period_(period) {
  SC_HAS_PROCESS(CimMacro);
  SC_THREAD(compute);
  SC_THREAD(pipeline);
}

void CimMacro::compute() {
  const hw::FixedWidth tree{p_.tree_bits, p_.tree_overflow};
  const hw::FixedWidth acc_reg{p_.acc_bits, p_.acc_overflow};
  const int cols = p_.cols;
  while (true) {
    const JobPtr job = in.read();
    const WeightTile& tile = *job->tile;
    const int segs = tile.segments;
    auto result = std::make_shared<MacroResult>();
    result->job = job;
    result->a.assign(static_cast<std::size_t>(cols) * segs, 0);
    std::vector<int> bits(static_cast<std::size_t>(p_.rows));
    for (int plane = p_.mantissa_bits; plane >= 0; --plane) {
      // Broadcast: one bit of every row's aligned input.
      for (int i = 0; i < p_.rows; ++i) bits[i] = hw::input_bit(job->xt[i], plane);
      for (int j = 0; j < tile.valid_cols; ++j) {
        for (int s = 0; s < segs; ++s) {
          const int gated = tile.gated_row[static_cast<std::size_t>(j) * segs + s];
          std::int64_t sum = 0;
          for (int i = tile.seg_begin[s]; i < tile.seg_end[s]; ++i) {
            if (gated >= 0 && i >= gated && i < gated + 4) continue;  // cells gated off for this column
            sum += tile.codes[static_cast<std::size_t>(i) * cols + j] * bits[i];
          }
          bool of = false;
          const std::int64_t t = tree.apply(sum, of);
          counters_.tree_overflows += of;
          std::int64_t& acc = result->a[static_cast<std::size_t>(j) * segs + s];
          acc = hw::shift_accumulate(acc_reg, acc, t, plane == p_.mantissa_bits, of);
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
