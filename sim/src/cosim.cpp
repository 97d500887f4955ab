#include "oacim/sim/cosim.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include <tlm_utils/simple_initiator_socket.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/hw/number_format.hpp"
#include "oacim/sim/address_map.hpp"
#include "oacim/sim/cim_accelerator.hpp"

namespace oacim::sim {

namespace {

bool g_elaborated = false;

// The host side: writes a layer over the bus, starts it, polls for completion, reads results.
class CosimDriver : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<CosimDriver> socket;

  CosimDriver(sc_core::sc_module_name name, const hw::HwConfig& cfg, const std::vector<CosimCase>& cases,
              CimAccelerator& chip, std::vector<CosimResult>& results)
      : sc_core::sc_module(name), socket("socket"), cfg_(cfg), cases_(cases), chip_(chip), results_(results) {
    SC_HAS_PROCESS(CosimDriver);
    SC_THREAD(run);
  }

 private:
  void transfer(tlm::tlm_command cmd, std::uint64_t address, void* data, std::size_t len) {
    constexpr std::size_t kBurst = 4096;
    auto* bytes = static_cast<unsigned char*>(data);
    for (std::size_t done = 0; done < len; done += kBurst) {
      const std::size_t n = std::min(kBurst, len - done);
      tlm::tlm_generic_payload trans;
      sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
      trans.set_command(cmd);
      trans.set_address(address + done);
      trans.set_data_ptr(bytes + done);
      trans.set_data_length(static_cast<unsigned>(n));
      trans.set_streaming_width(static_cast<unsigned>(n));
      trans.set_byte_enable_ptr(nullptr);
      trans.set_dmi_allowed(false);
      trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      socket->b_transport(trans, delay);
      if (trans.is_response_error()) {
        SC_REPORT_ERROR("oacim/cosim", ("TLM error at address " + std::to_string(address + done)).c_str());
      }
      wait(delay);
    }
  }
  void write_reg(int reg, std::uint32_t v) { transfer(tlm::TLM_WRITE_COMMAND, addr::kRegs + 4u * reg, &v, 4); }
  std::uint32_t read_reg(int reg) {
    std::uint32_t v = 0;
    transfer(tlm::TLM_READ_COMMAND, addr::kRegs + 4u * reg, &v, 4);
    return v;
  }
  template <typename T>
  void write_region(std::uint64_t base, const std::vector<T>& v) {
    transfer(tlm::TLM_WRITE_COMMAND, base, const_cast<T*>(v.data()), v.size() * sizeof(T));  // TLM writes only read it
  }
  std::int64_t cycles_since(sc_core::sc_time t0) const {
    return std::llround((sc_core::sc_time_stamp() - t0) / chip_.period());
  }

  void run() {
    for (const CosimCase& c : cases_) {
      const PackedCimWeights& w = *c.weights;
      CosimResult res;
      const auto wall0 = std::chrono::steady_clock::now();
      const hw::HwCounters before = chip_.counters();
      const std::vector<ModuleActivity> act_before = chip_.activity();
      const int R = w.rows();
      const int C = w.cols();

      sc_core::sc_time t0 = sc_core::sc_time_stamp();
      write_reg(addr::kRegRows, static_cast<std::uint32_t>(R));
      write_reg(addr::kRegCols, static_cast<std::uint32_t>(C));
      write_reg(addr::kRegBlockSize, static_cast<std::uint32_t>(w.grid().block_size));
      write_reg(addr::kRegCodeSigned, w.grid().is_signed() ? 1u : 0u);
      write_reg(addr::kRegTokens, static_cast<std::uint32_t>(c.tokens));
      write_region(addr::kWords, w.packed_words());
      write_region(addr::kMask, w.parts().outlier_col);
      write_region(addr::kScale, w.parts().scales);
      write_region(addr::kZero, w.parts().zeros);
      write_region(addr::kOffset, w.parts().offsets);
      std::vector<std::uint16_t> act(c.x.size());
      for (std::size_t i = 0; i < act.size(); ++i) {
        act[i] = cfg_.input_format == hw::NumFormat::Fp16 ? fp16_bits_from_float(c.x[i]) : Bf16::from_float(c.x[i]).bits();
      }
      write_region(addr::kAct, act);
      res.load_cycles = cycles_since(t0);

      write_reg(addr::kRegStart, 1);
      std::uint32_t status = 0;
      while ((status = read_reg(addr::kRegStatus)) == 0) wait(16 * chip_.period());
      res.compute_cycles = static_cast<std::int64_t>(read_reg(addr::kRegCyclesLo)) |
                           (static_cast<std::int64_t>(read_reg(addr::kRegCyclesHi)) << 32);
      res.ok = status == 1;
      if (!res.ok) {
        res.error = chip_.error();
      } else {
        const sc_core::sc_time t1 = sc_core::sc_time_stamp();
        const std::size_t n = static_cast<std::size_t>(c.tokens) * R;
        res.y.resize(n);
        if (cfg_.output_format == hw::NumFormat::Fp32) {
          if (n) transfer(tlm::TLM_READ_COMMAND, addr::kOut, res.y.data(), n * 4);
        } else {
          std::vector<std::uint16_t> bits(n);
          if (n) transfer(tlm::TLM_READ_COMMAND, addr::kOut, bits.data(), n * 2);
          for (std::size_t i = 0; i < n; ++i) {
            res.y[i] = cfg_.output_format == hw::NumFormat::Fp16 ? float_from_fp16_bits(bits[i])
                                                                : Bf16::from_bits(bits[i]).to_float();
          }
        }
        res.readback_cycles = cycles_since(t1);
      }
      res.simulated_ns = static_cast<double>(res.load_cycles + res.compute_cycles + res.readback_cycles) *
                         chip_.period().to_seconds() * 1e9;
      // This layer's share of the chip's running totals; the weight bits describe the layer loaded.
      const hw::HwCounters after = chip_.counters();
      res.counters = after;
      res.counters -= before;
      res.counters.tokens = c.tokens;
      res.counters.weight_ones = after.weight_ones;
      res.counters.weight_bits = after.weight_bits;
      // The cycles the simulator measured: the datapath models carry the timing model's count here,
      // so "counters equal" holds the two together on every co-simulated layer.
      if (res.ok) res.counters.cycles = res.compute_cycles;
      const std::vector<ModuleActivity> act_after = chip_.activity();
      for (std::size_t i = 0; i < act_after.size(); ++i) {
        ModuleActivity a = act_after[i];
        a.busy_cycles -= act_before[i].busy_cycles;
        a.items -= act_before[i].items;
        res.activity.push_back(a);
      }
      res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
      results_.push_back(std::move(res));
    }
  }

  hw::HwConfig cfg_;
  const std::vector<CosimCase>& cases_;
  CimAccelerator& chip_;
  std::vector<CosimResult>& results_;
};

}  // namespace

bool cosim_elaborated() { return g_elaborated; }

std::vector<CosimResult> run_cosim(const hw::HwConfig& cfg, const std::vector<CosimCase>& cases) {
  if (g_elaborated) {
    throw Error("run_cosim: SystemC can elaborate only once per process; run every layer in one call");
  }
  g_elaborated = true;
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  std::vector<CosimResult> results;
  CimAccelerator chip("chip", cfg);
  CosimDriver driver("driver", cfg, cases, chip, results);
  driver.socket.bind(chip.socket);
  sc_core::sc_start();
  if (results.size() != cases.size()) throw Error("run_cosim: the simulation stopped before every layer finished");
  return results;
}

}  // namespace oacim::sim
