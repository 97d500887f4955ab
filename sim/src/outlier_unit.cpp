#include "oacim/sim/outlier_unit.hpp"

#include "oacim/hw/block_arith.hpp"

namespace oacim::sim {

OutlierUnit::OutlierUnit(sc_core::sc_module_name name, const OutlierUnitParams& params, int cols,
                         sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), cols_(cols), period_(period) {
  SC_HAS_PROCESS(OutlierUnit);
  SC_THREAD(run);
}

void OutlierUnit::run() {
  while (true) {
    const JobPtr job = in.read();
    const WeightTile& tile = *job->tile;
    auto out_p = std::make_shared<OutlierProducts>();
    out_p->job = job;
    out_p->p.assign(static_cast<std::size_t>(cols_) * tile.segments, 0.0f);
    std::int64_t n = 0;
    const float* x_in = job->inputs->x_in.data();
    const int* row = tile.outlier_row.data();
    float* products = out_p->p.data();
    for (std::size_t k = 0; k < static_cast<std::size_t>(tile.valid_cols) * tile.segments; ++k) {
      if (row[k] < 0) continue;
      products[k] = hw::outlier_product(p_.psum_format, p_.product_format, tile.outlier_w[k], x_in[row[k]]);
      ++n;
    }
    if (n > 0) {
      const std::int64_t cycles = (n + p_.units - 1) / p_.units;
      wait(static_cast<double>(cycles) * period_);
      busy_cycles_ += cycles;
      products_ += n;
    }
    out.write(out_p);
  }
}

}  // namespace oacim::sim
