#include "oacim/sim/cim_accelerator.hpp"

#include <algorithm>
#include <cstring>

#include "oacim/core/bf16.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/hw/cycle_estimate.hpp"
#include "oacim/sim/address_map.hpp"

namespace oacim::sim {

CimAccelerator::CimAccelerator(sc_core::sc_module_name name, const hw::HwConfig& cfg)
    : sc_core::sc_module(name),
      socket("socket"),
      cfg_(cfg),
      period_(clock_period(cfg)),
      macro_jobs_("macro_jobs", hw::PipelineQueues::kMacroJobs),
      outlier_jobs_("outlier_jobs", hw::PipelineQueues::kOutlierJobs),
      macro_results_("macro_results", hw::PipelineQueues::kMacroResults),
      block_values_("block_values", hw::PipelineQueues::kBlockValues),
      outlier_products_("outlier_products", hw::PipelineQueues::kOutlierProducts),
      macro_("macro", CimMacroParams::from(cfg), period_),
      correction_("correction", CorrectionUnitParams::from(cfg), cfg.macro_cols, period_),
      outlier_("outlier", OutlierUnitParams::from(cfg), cfg.macro_cols, period_),
      psum_("psum", PsumAccumulatorParams::from(cfg), cfg.macro_cols, period_),
      controller_("controller", ControllerParams::from(cfg), mem_, macro_, psum_, period_) {
  socket.register_b_transport(this, &CimAccelerator::b_transport);
  controller_.to_macro(macro_jobs_);
  controller_.to_outlier(outlier_jobs_);
  macro_.in(macro_jobs_);
  macro_.out(macro_results_);
  correction_.in(macro_results_);
  correction_.out(block_values_);
  outlier_.in(outlier_jobs_);
  outlier_.out(outlier_products_);
  psum_.values(block_values_);
  psum_.products(outlier_products_);
}

// Bytes of a buffer region for the layer the registers describe (0 when they describe none),
// at most the region's size.
std::uint64_t CimAccelerator::layer_bytes(std::uint64_t region) const {
  const std::uint64_t rows = mem_.regs[addr::kRegRows];
  const std::uint64_t cols = mem_.regs[addr::kRegCols];
  const std::uint64_t bs = mem_.regs[addr::kRegBlockSize];
  const std::uint64_t tokens = mem_.regs[addr::kRegTokens];
  if (bs == 0) return 0;
  const std::uint64_t blocks = (cols + bs - 1) / bs;
  std::uint64_t n = 0;
  switch (region) {
    case addr::kWords: n = rows * (cols / 4) * 2; break;
    case addr::kMask: n = rows * blocks * 2; break;
    case addr::kScale:
    case addr::kZero: n = rows * blocks * 4; break;
    case addr::kOffset: n = cols; break;
    case addr::kAct: n = tokens * cols * 2; break;
    default: break;
  }
  return std::min<std::uint64_t>(n, addr::kRegionSize);
}

void CimAccelerator::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const std::uint64_t address = trans.get_address();
  const std::uint64_t region = address / addr::kRegionSize * addr::kRegionSize;
  const std::uint64_t offset = address - region;
  const unsigned len = trans.get_data_length();
  unsigned char* data = trans.get_data_ptr();
  const bool is_write = trans.is_write();
  trans.set_response_status(tlm::TLM_OK_RESPONSE);

  std::vector<std::uint8_t>* buffer = nullptr;
  switch (region) {
    case addr::kWords: buffer = &mem_.words; break;
    case addr::kMask: buffer = &mem_.mask; break;
    case addr::kScale: buffer = &mem_.scale; break;
    case addr::kZero: buffer = &mem_.zero; break;
    case addr::kOffset: buffer = &mem_.offset; break;
    case addr::kAct: buffer = &mem_.act; break;
    default: break;
  }
  if (region == addr::kRegs) {
    if (len != 4 || offset % 4 != 0 || offset / 4 >= addr::kNumRegs) {
      trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    const std::size_t reg = offset / 4;
    if (is_write) {
      std::memcpy(&mem_.regs[reg], data, 4);
      if (reg == addr::kRegStart && mem_.regs[reg] != 0) {
        mem_.regs[reg] = 0;
        mem_.regs[addr::kRegStatus] = 0;
        controller_.start();
      }
    } else {
      std::memcpy(data, &mem_.regs[reg], 4);
    }
  } else if (buffer) {
    if (!is_write) {
      trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);  // input buffers are write-only
      return;
    }
    if (buffer->size() < offset + len) {
      // Sized once for the layer the registers describe, instead of regrowing (and copying) as
      // the bursts arrive.
      if (buffer->capacity() < offset + len) buffer->reserve(std::max<std::uint64_t>(offset + len, layer_bytes(region)));
      buffer->resize(offset + len, 0);
    }
    std::memcpy(buffer->data() + offset, data, len);
  } else if (region == addr::kOut) {
    const unsigned width = cfg_.output_format == hw::NumFormat::Fp32 ? 4 : 2;
    if (is_write || offset % width != 0 || len % width != 0 || (offset + len) / width > mem_.out.size()) {
      trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    for (unsigned i = 0; i < len / width; ++i) {
      const float v = mem_.out[offset / width + i];
      if (width == 4) {
        std::memcpy(data + 4 * i, &v, 4);
      } else {
        const std::uint16_t bits = cfg_.output_format == hw::NumFormat::Fp16 ? fp16_bits_from_float(v)
                                                                             : Bf16::from_float(v).bits();
        std::memcpy(data + 2 * i, &bits, 2);
      }
    }
  } else {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  // Loosely timed: the bus moves bus_bytes per cycle.
  const std::int64_t cycles = (len + cfg_.bus_bytes - 1) / cfg_.bus_bytes;
  delay += static_cast<double>(cycles) * period_;
  bus_bytes_moved_ += len;
  bus_cycles_ += cycles;
}

hw::HwCounters CimAccelerator::counters() const {
  hw::HwCounters c = macro_.counters();
  const hw::HwCounters& k = controller_.counters();
  c.inputs_flushed = k.inputs_flushed;
  c.nonfinite_inputs = k.nonfinite_inputs;
  c.inputs_aligned = k.inputs_aligned;
  c.tile_loads = k.tile_loads;
  c.cell_bits_written = k.cell_bits_written;
  c.cell_ones_written = k.cell_ones_written;
  c.block_results = correction_.block_results();
  c.psum_adds = psum_.adds();
  c.weight_ones = k.weight_ones;
  c.weight_bits = k.weight_bits;
  c.outlier_hits = outlier_.products();
  return c;
}

std::vector<ModuleActivity> CimAccelerator::activity() const {
  return {controller_.activity(), macro_.activity(), correction_.activity(), outlier_.activity(), psum_.activity(),
          {"tlm_bus", bus_cycles_, bus_bytes_moved_, "bytes"}};
}

}  // namespace oacim::sim
