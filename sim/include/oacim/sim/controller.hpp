#pragma once
// The controller: on a start command it decodes the packed weights from the weight buffer (the
// BF16 word of an outlier quad, nibbles otherwise), aligns every token's inputs (the input
// aligner), then walks the weight tiles (output tiles outer, input tiles in ascending order),
// rewrites the macro's cells for each tile (the stored nibbles' bits, outlier quads gated off)
// and issues one job per token to the macro and the outlier unit. It finishes when the
// partial-sum accumulator has retired every job.
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "oacim/hw/hw_counters.hpp"
#include "oacim/sim/activity.hpp"
#include "oacim/sim/cim_macro.hpp"
#include "oacim/sim/packets.hpp"
#include "oacim/sim/psum_accumulator.hpp"
#include "oacim/sim/sim_params.hpp"

namespace oacim::sim {

// Buffers written over TLM: raw bytes per region, registers as words.
struct ChipMemory {
  std::uint32_t regs[16] = {};
  std::vector<std::uint8_t> words, mask, scale, zero, offset, act;
  std::vector<float> out;  // results, already in output.format
};

class Controller : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_out<JobPtr> to_macro;
  sc_core::sc_fifo_out<JobPtr> to_outlier;

  Controller(sc_core::sc_module_name name, const ControllerParams& params, ChipMemory& mem, CimMacro& macro,
             PsumAccumulator& psum, sc_core::sc_time period);

  void start() { start_.notify(sc_core::SC_ZERO_TIME); }
  const hw::HwCounters& counters() const { return counters_; }  // alignment, tile loads and writes, weight ones
  const std::string& error() const { return error_; }
  ModuleActivity activity() const { return {"controller", busy_cycles_, counters_.tile_loads, "macro tile loads"}; }

 private:
  // The layer the registers describe, and how it maps onto the macro.
  struct LayerShape {
    int rows = 0, cols = 0, block_size = 0, tokens = 0;
    bool codes_signed = false;
    int blocks = 0, quads = 0, blocks_per_tile = 0, k_tiles = 0;
  };
  void run();  // SC_THREAD
  bool run_layer();
  bool decode_outliers(const LayerShape& L, std::vector<int>& outlier_col, std::vector<float>& outlier_w);
  std::vector<std::shared_ptr<const TileInputs>> align_inputs(const LayerShape& L);
  std::shared_ptr<const WeightTile> build_tile(const LayerShape& L, int n, int k, const std::vector<int>& outlier_col,
                                               const std::vector<float>& outlier_w);

  ControllerParams p_;
  ChipMemory& mem_;
  CimMacro& macro_;
  PsumAccumulator& psum_;
  sc_core::sc_time period_;
  sc_core::sc_event start_;
  hw::HwCounters counters_;
  std::string error_;
  std::int64_t busy_cycles_ = 0;
  std::vector<std::uint64_t> groups_;  // a tile's stored quads, 16 rows a word, [group][column]
};

}  // namespace oacim::sim
