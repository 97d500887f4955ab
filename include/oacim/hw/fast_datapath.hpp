#pragma once
// The fast CIM datapath model: bit-identical to reference_forward(), at GEMM speed. The integer
// block sums A are exact in fp32 (|A| < 2^24 is checked from the config), so they come from an
// integer (AVX-512 VNNI, int16 pairs) or fp32 micro-kernel over 32-row panels and 6-token tiles,
// one block at a time, fused with the
// floating-point steps of block_arith.hpp in the same order as the reference. When the adder tree
// or the accumulator can overflow, every bit-plane gets its own fp32 product and the integer
// saturate/wrap sequence is replayed per element. No torch. The kernel (AVX-512 VNNI, AVX-512,
// AVX2+FMA or portable C++; all give the same bits) and the epilogue for the config's formats are chosen once,
// when the object is built: the widest the CPU has, or the one asked for.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "oacim/core/option_table.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/hw/layer_weights.hpp"

namespace oacim::hw {

enum class FastKernel { Auto, Avx512Vnni, Avx512, Avx2, Generic };
const EnumNames<FastKernel>& fast_kernel_names();
std::string to_string(FastKernel kernel);

struct PanelRunner;

class FastDatapath {
 public:
  // InvalidArgument("kernel") when this CPU cannot run the kernel asked for.
  FastDatapath(LayerWeights weights, HwConfig cfg, FastKernel kernel = FastKernel::Auto);

  // x: [T * C] fp32 activations. threads <= 0: all hardware threads.
  HwLayerResult forward(const float* x, int tokens, int threads = 0) const;

  // The layer's shapes, scales, zeros, offsets and outliers; its codes only where forward() runs
  // the reference (not exact_in_fp32()): otherwise they live in the prepared panels alone.
  const LayerWeights& weights() const { return w_; }
  const HwConfig& config() const { return cfg_; }
  // One product per block (no overflow possible) rather than one per bit-plane.
  bool single_pass() const { return single_pass_; }
  // Whether the fp32 kernels are exact for this config; otherwise forward() runs the reference.
  bool exact_in_fp32() const { return exact_; }
  // Offsets and (integer) zeros folded into the prepared codes: fp32 partial sums only.
  bool folds_zeros() const { return fold_zero_; }
  // Bytes held for the prepared weight panels.
  std::size_t prepared_bytes() const {
    return panels_w_.size() * sizeof(float) + panels_w16_.size() * sizeof(std::int16_t);
  }
  // The kernel this object runs (never Auto).
  FastKernel kernel() const { return kernel_; }
  // Whether the kernel reads int16 pairs (panels_w16_, PreparedInputs::x16) rather than fp32.
  bool integer_kernel() const { return kernel_ == FastKernel::Avx512Vnni; }
  static bool kernel_supported(FastKernel kernel);
  // Off: forward() leaves the activity counters (input ones, cell activations, tree additions,
  // accumulator steps, block results, partial-sum additions, aligned inputs, cycles) at 0; what
  // bench_hw times their cost against. On by default.
  void set_activity_counters(bool on) { activity_ = on; }

  static constexpr int kPanelRows = 32;
  static constexpr int kTileTokens = 6;

  // One thread's work on one 32-row panel: the kernel and epilogue of this object, fused.
  using PanelFn = void (*)(const PanelRunner&, int panel, HwCounters&, std::vector<float>& y, std::vector<float>& a,
                           std::vector<float>& a_planes);

 private:
  static FastKernel resolve_kernel(FastKernel kernel);
  static PanelFn select_panel_fn(FastKernel kernel, NumFormat psum, NumFormat outlier);

  LayerWeights w_;
  HwConfig cfg_;
  FastKernel kernel_;
  PanelFn panel_fn_ = nullptr;
  bool single_pass_ = true;
  bool exact_ = true;
  bool fold_zero_ = false;
  bool activity_ = true;
  int panels_ = 0;
  int padded_rows_ = 0;
  std::vector<float> panels_w_;            // per (block, panel): [block cols][32] codes as fp32
  std::vector<std::int16_t> panels_w16_;   // the same codes in the VNNI pair layout (pair_index)
  std::vector<std::size_t> panel_offset_;  // [nb * panels]
  // Per (block, padded row) views of LayerWeights, contiguous over rows.
  std::vector<float> scale_br_, zero_br_, ow_br_;  // ow: outlier value, 0 where none
  std::vector<std::int32_t> has_outlier_br_;
  // Rows with an outlier per (block, panel): row within the panel, gated quad, outlier column.
  struct OutlierSlot {
    std::int32_t row, quad, col;
  };
  std::vector<OutlierSlot> outlier_slots_;
  std::vector<std::size_t> outlier_slot_begin_;  // [nb * panels + 1]
  // The timing model's cycles of the last token count asked for (calls repeat one window size).
  struct CycleMemo {
    std::mutex m;
    int tokens = -1;
    std::int64_t cycles = 0;
  };
  std::shared_ptr<CycleMemo> cycle_memo_ = std::make_shared<CycleMemo>();
  std::int64_t estimated_cycles(int tokens) const;

  friend struct PanelRunner;
};

}  // namespace oacim::hw
