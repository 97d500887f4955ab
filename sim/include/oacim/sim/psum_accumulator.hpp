#pragma once
// The partial-sum accumulator: one running sum per (token, output feature) in psum.format,
// adding block results and outlier products in column order (tiles arrive in ascending input
// order); after a column's last tile it rounds to output.format and writes the output buffer.
#include <systemc>

#include "oacim/sim/activity.hpp"
#include "oacim/sim/packets.hpp"
#include "oacim/sim/sim_params.hpp"

namespace oacim::sim {

class PsumAccumulator : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<BlockValuesPtr> values;
  sc_core::sc_fifo_in<OutlierProductsPtr> products;

  PsumAccumulator(sc_core::sc_module_name name, const PsumAccumulatorParams& params, int cols,
                  sc_core::sc_time period);

  // Clears the partial sums for a layer of `rows` output features and `tokens` tokens; results go
  // to `output` ([tokens * rows], values in output.format).
  void begin_layer(int rows, int tokens, std::vector<float>* output);
  std::int64_t jobs_done() const { return jobs_done_; }
  const sc_core::sc_event& job_done_event() const { return job_done_; }
  std::int64_t adds() const { return adds_; }
  ModuleActivity activity() const { return {"psum_accumulator", busy_cycles_, adds_, "additions"}; }

 private:
  void run();  // SC_THREAD
  template <hw::NumFormat P>
  void accumulate_job(const BlockValues& bv, const OutlierProducts& op);
  PsumAccumulatorParams p_;
  int cols_;
  sc_core::sc_time period_;
  int rows_ = 0;
  std::vector<float> psum_;
  std::vector<float>* output_ = nullptr;
  std::int64_t jobs_done_ = 0;
  std::int64_t busy_cycles_ = 0;
  std::int64_t adds_ = 0;
  sc_core::sc_event job_done_;
};

}  // namespace oacim::sim
