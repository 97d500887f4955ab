#pragma once
// The outlier FP unit: for every (column, block) of a tile whose quad holds an outlier, the
// BF16 x BF16 product w_o * x_o in outlier.product format, `units` products per cycle.
#include <systemc>

#include "oacim/sim/activity.hpp"
#include "oacim/sim/packets.hpp"
#include "oacim/sim/sim_params.hpp"

namespace oacim::sim {

class OutlierUnit : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<JobPtr> in;
  sc_core::sc_fifo_out<OutlierProductsPtr> out;

  OutlierUnit(sc_core::sc_module_name name, const OutlierUnitParams& params, int cols, sc_core::sc_time period);
  std::int64_t products() const { return products_; }
  ModuleActivity activity() const { return {"outlier_unit", busy_cycles_, products_, "products"}; }

 private:
  void run();  // SC_THREAD
  OutlierUnitParams p_;
  int cols_;
  sc_core::sc_time period_;
  std::int64_t busy_cycles_ = 0;
  std::int64_t products_ = 0;
};

}  // namespace oacim::sim
