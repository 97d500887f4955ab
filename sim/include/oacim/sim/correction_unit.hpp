#pragma once
// The offset/zero correction unit: per block segment it sums the aligned inputs (S), the
// offset-weighted inputs (O) and, for a column whose quad is gated by an outlier, removes that
// quad's share (S', O'); then forms the block result scale * 2^e * (A - O' - zero * S') in the
// psum format, in the order of hw/block_arith.hpp.
#include <vector>

#include <systemc>

#include "oacim/sim/activity.hpp"
#include "oacim/sim/packets.hpp"
#include "oacim/sim/sim_params.hpp"

namespace oacim::sim {

class CorrectionUnit : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<MacroResultPtr> in;
  sc_core::sc_fifo_out<BlockValuesPtr> out;

  CorrectionUnit(sc_core::sc_module_name name, const CorrectionUnitParams& params, int cols,
                 sc_core::sc_time period);
  std::int64_t block_results() const { return block_results_; }
  ModuleActivity activity() const { return {"correction_unit", busy_cycles_, block_results_, "block results"}; }

 private:
  void run();  // SC_THREAD
  template <hw::NumFormat P>
  void block_values(const WeightTile& tile, std::size_t n, float* values) const;  // from the scratch below
  CorrectionUnitParams p_;
  int cols_;
  sc_core::sc_time period_;
  std::int64_t busy_cycles_ = 0;
  std::int64_t block_results_ = 0;
  // Scratch of one job (S and O per segment), kept by the module: an SC_THREAD's locals are never freed.
  std::vector<std::int64_t> input_sums_, offset_sums_, quad_s_, quad_o_;
  // [valid cols * segments]; 2^e repeated per column so that the block-value loop is one flat,
  // vectorised loop (a nested column/segment loop measured 2 % slower on bench_systemc).
  std::vector<float> a_minus_o_, s_prime_, pow2_;
};

}  // namespace oacim::sim
