#include "oacim/hw/fast_datapath.hpp"

#include <algorithm>
#include <thread>
#include <type_traits>

#include "fast_epilogue.hpp"
#include "fast_inputs.hpp"
#include "fast_kernels.hpp"
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/hw/cycle_estimate.hpp"
#include "oacim/hw/fixed_width.hpp"
#include "oacim/hw/reference_datapath.hpp"
#include "worker_pool.hpp"

namespace oacim::hw {

using fast::kP;
using fast::kT;
using fast::PreparedInputs;
using fast::TileCorrections;

// Everything one thread needs to run panels; the same body is compiled for each kernel and each
// (partial-sum, outlier-product) format pair, chosen once per FastDatapath.
struct PanelRunner {
  const FastDatapath& d;
  const PreparedInputs& in;
  HwLayerResult& res;

  template <typename Elem>
  const Elem* panel_base() const {
    if constexpr (std::is_same_v<Elem, std::int16_t>) {
      return d.panels_w16_.data();
    } else {
      return d.panels_w_.data();
    }
  }
  template <typename Elem>
  const Elem* input_base() const {
    if constexpr (std::is_same_v<Elem, std::int16_t>) {
      return in.x16.data();
    } else {
      return in.x.data();
    }
  }

  static TileCorrections& corrections(int padded_tokens) {
    thread_local TileCorrections c;
    const std::size_t n = static_cast<std::size_t>(padded_tokens) * kP;
    if (c.s.size() < n) {
      c.s.assign(n, 0.0f);
      c.o.assign(n, 0.0f);
      c.x.assign(n, 0.0f);
    }
    return c;
  }

  // Elem: what the kernel reads, float (x, panels_w_) or int16 pairs (x16, panels_w16_); both
  // layouts put a tile or panel at the same element offset.
  template <typename Elem, typename Kernel, typename Epilogue>
  __attribute__((always_inline)) inline void run(int p, Kernel kernel, Epilogue epilogue, HwCounters& cnt,
                                                 std::vector<float>& y, std::vector<float>& a,
                                                 std::vector<float>& ap) const {
    const int C = d.w_.cols;
    const int R = d.w_.rows;
    const int nb = d.w_.blocks;
    const int mb = d.cfg_.mantissa_bits;
    const FixedWidth tree{d.cfg_.tree_bits, d.cfg_.tree_overflow};
    const FixedWidth acc_reg{d.cfg_.acc_bits, d.cfg_.acc_overflow};
    const std::size_t plane_stride = static_cast<std::size_t>(in.padded_tokens) * C;
    TileCorrections& corr = corrections(in.padded_tokens);
    std::fill(y.begin(), y.end(), 0.0f);
    for (int b = 0; b < nb; ++b) {
      const BlockRange br = block_range(b, C, d.w_.block_size);
      const std::size_t bp = static_cast<std::size_t>(b) * d.panels_ + p;
      const Elem* wp = panel_base<Elem>() + d.panel_offset_[bp];
      const std::size_t rofs = static_cast<std::size_t>(b) * d.padded_rows_ + static_cast<std::size_t>(p) * kP;
      const auto* slot_begin = d.outlier_slots_.data() + d.outlier_slot_begin_[bp];
      const auto* slot_end = d.outlier_slots_.data() + d.outlier_slot_begin_[bp + 1];
      for (const auto* sl = slot_begin; sl != slot_end; ++sl) {
        const float* xo = in.x_in.data() + static_cast<std::size_t>(sl->col) * in.tokens;
        if (in.fold_zero) {
          for (int t = 0; t < in.tokens; ++t) corr.x[static_cast<std::size_t>(t) * kP + sl->row] = xo[t];
          continue;
        }
        const float* qs = in.qs.data() + static_cast<std::size_t>(sl->quad) * in.tokens;
        for (int t = 0; t < in.tokens; ++t) {
          const std::size_t i = static_cast<std::size_t>(t) * kP + sl->row;
          corr.s[i] = qs[t];
          corr.x[i] = xo[t];
        }
        if (in.planes > 1) {
          const float* qo = in.qo.data() + static_cast<std::size_t>(sl->quad) * in.tokens;
          for (int t = 0; t < in.tokens; ++t) corr.o[static_cast<std::size_t>(t) * kP + sl->row] = qo[t];
        }
      }
      for (int t0 = 0; t0 < in.tokens; t0 += kT) {
        const Elem* xt = input_base<Elem>() + static_cast<std::size_t>(br.begin) * in.padded_tokens +
                         static_cast<std::size_t>(t0 / kT) * br.size() * kT;
        if (in.planes == 1) {
          kernel(xt, wp, br.size(), a.data());
        } else {
          for (int pl = 0; pl < in.planes; ++pl) kernel(xt + pl * plane_stride, wp, br.size(), ap.data() + pl * kT * kP);
          for (int e = 0; e < kT * kP; ++e) {
            if (t0 + e / kP >= in.tokens || p * kP + e % kP >= R) {
              a[e] = 0.0f;
              continue;
            }
            std::int64_t acc = 0;
            for (int pl = mb; pl >= 0; --pl) {
              bool of = false;
              const std::int64_t tv = tree.apply(static_cast<std::int64_t>(ap[pl * kT * kP + e]), of);
              cnt.tree_overflows += of;
              acc = shift_accumulate(acc_reg, acc, tv, pl == mb, of);
              cnt.acc_overflows += of;
            }
            a[e] = static_cast<float>(acc);
          }
        }
        const float* sc = d.scale_br_.data() + rofs;
        const float* ze = d.zero_br_.data() + rofs;
        const float* ow = d.ow_br_.data() + rofs;
        const std::int32_t* hs = d.has_outlier_br_.data() + rofs;
        epilogue(in, a.data(), corr, t0, b, nb, sc, ze, ow, hs, y.data());
      }

    }
    for (int t = 0; t < in.tokens; ++t) {
      for (int j = 0; j < kP && p * kP + j < R; ++j) {
        res.y[static_cast<std::size_t>(t) * R + p * kP + j] =
            round_to(d.cfg_.output_format, y[static_cast<std::size_t>(t) * kP + j]);
      }
    }
  }
};

namespace {

// The panel loop for one kernel and one format pair. The AVX2 and AVX-512 epilogues serve fp32
// and bf16 partial sums; fp16 partial sums take the portable one.
template <NumFormat P, NumFormat O>
void run_panel_generic(const PanelRunner& pr, int p, HwCounters& cnt, std::vector<float>& y, std::vector<float>& a,
                       std::vector<float>& ap) {
  pr.run<float>(p, fast::tile_kernel_generic, fast::epilogue<P, O>, cnt, y, a, ap);
}

#ifdef OACIM_HW_X86
template <NumFormat P, NumFormat O>
__attribute__((target("avx2,fma"))) void run_panel_avx2(const PanelRunner& pr, int p, HwCounters& cnt,
                                                        std::vector<float>& y, std::vector<float>& a,
                                                        std::vector<float>& ap) {
  if constexpr (P == NumFormat::Fp16) {
    pr.run<float>(p, fast::tile_kernel_avx2, fast::epilogue<P, O>, cnt, y, a, ap);
  } else {
    pr.run<float>(p, fast::tile_kernel_avx2, fast::epilogue_avx2<P, O>, cnt, y, a, ap);
  }
}

template <NumFormat P, NumFormat O>
__attribute__((target("avx512f,avx2,fma"))) void run_panel_avx512(const PanelRunner& pr, int p, HwCounters& cnt,
                                                                   std::vector<float>& y, std::vector<float>& a,
                                                                   std::vector<float>& ap) {
  if constexpr (P == NumFormat::Fp16) {
    pr.run<float>(p, fast::tile_kernel_avx512, fast::epilogue<P, O>, cnt, y, a, ap);
  } else {
    pr.run<float>(p, fast::tile_kernel_avx512, fast::epilogue_avx512<P, O>, cnt, y, a, ap);
  }
}

template <NumFormat P, NumFormat O>
__attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma"))) void run_panel_vnni(
    const PanelRunner& pr, int p, HwCounters& cnt, std::vector<float>& y, std::vector<float>& a, std::vector<float>& ap) {
  if constexpr (P == NumFormat::Fp16) {
    pr.run<std::int16_t>(p, fast::tile_kernel_vnni, fast::epilogue<P, O>, cnt, y, a, ap);
  } else {
    pr.run<std::int16_t>(p, fast::tile_kernel_vnni, fast::epilogue_avx512<P, O>, cnt, y, a, ap);
  }
}
#endif

template <NumFormat P, NumFormat O>
FastDatapath::PanelFn panel_fn_for(FastKernel kernel) {
  switch (kernel) {
#ifdef OACIM_HW_X86
    case FastKernel::Avx512Vnni: return run_panel_vnni<P, O>;
    case FastKernel::Avx512: return run_panel_avx512<P, O>;
    case FastKernel::Avx2: return run_panel_avx2<P, O>;
#endif
    default: return run_panel_generic<P, O>;
  }
}

template <NumFormat P>
FastDatapath::PanelFn panel_fn_for(FastKernel kernel, NumFormat outlier) {
  return outlier == NumFormat::Fp32 ? panel_fn_for<P, NumFormat::Fp32>(kernel) : panel_fn_for<P, NumFormat::Bf16>(kernel);
}

}  // namespace

FastDatapath::PanelFn FastDatapath::select_panel_fn(FastKernel kernel, NumFormat psum, NumFormat outlier) {
  switch (psum) {
    case NumFormat::Fp32: return panel_fn_for<NumFormat::Fp32>(kernel, outlier);
    case NumFormat::Bf16: return panel_fn_for<NumFormat::Bf16>(kernel, outlier);
    case NumFormat::Fp16: return panel_fn_for<NumFormat::Fp16>(kernel, outlier);
  }
  return panel_fn_for<NumFormat::Fp32>(kernel, outlier);
}

bool FastDatapath::kernel_supported(FastKernel kernel) {
#ifdef OACIM_HW_X86
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  switch (kernel) {
    case FastKernel::Auto:
    case FastKernel::Generic: return true;
    case FastKernel::Avx2: return avx2;
    case FastKernel::Avx512: return avx2 && __builtin_cpu_supports("avx512f");
    case FastKernel::Avx512Vnni:
      return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return kernel == FastKernel::Auto || kernel == FastKernel::Generic;
#endif
}

FastKernel FastDatapath::resolve_kernel(FastKernel kernel) {
  if (kernel != FastKernel::Auto) {
    if (!kernel_supported(kernel)) {
      throw InvalidArgument("kernel", fmt::format("this CPU cannot run the {} kernel", to_string(kernel)));
    }
    return kernel;
  }
  for (FastKernel k : {FastKernel::Avx512Vnni, FastKernel::Avx512, FastKernel::Avx2}) {
    if (kernel_supported(k)) return k;
  }
  return FastKernel::Generic;
}

const EnumNames<FastKernel>& fast_kernel_names() {
  static const EnumNames<FastKernel> kNames = {{FastKernel::Auto, "auto"},
                                               {FastKernel::Avx512Vnni, "avx512-vnni"},
                                               {FastKernel::Avx512, "avx512"},
                                               {FastKernel::Avx2, "avx2"},
                                               {FastKernel::Generic, "generic"}};
  return kNames;
}

std::string to_string(FastKernel kernel) { return enum_name(fast_kernel_names(), kernel); }

std::int64_t FastDatapath::estimated_cycles(int tokens) const {
  const std::lock_guard<std::mutex> lock(cycle_memo_->m);
  if (cycle_memo_->tokens != tokens) {
    cycle_memo_->cycles = estimate_cycles(w_, cfg_, tokens).cycles;
    cycle_memo_->tokens = tokens;
  }
  return cycle_memo_->cycles;
}

HwLayerResult FastDatapath::forward(const float* x, int tokens, int threads) const {
  if (!exact_) return reference_forward(w_, cfg_, x, tokens);
  const int nthreads = std::max(1, threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  // Storage reused by later calls from this thread. Bound to a reference: lambdas run by the pool's
  // workers must see this thread's instance, not their own thread_local.
  thread_local PreparedInputs scratch;
  PreparedInputs& in = scratch;
  fast::prepare_inputs(in, w_, cfg_, x, tokens, single_pass_, fold_zero_, integer_kernel(), activity_, nthreads);
  HwLayerResult res;
  res.y.assign(static_cast<std::size_t>(tokens) * w_.rows, 0.0f);
  res.counters = in.counters;
  add_static_counters(w_, cfg_, tokens, res.counters);
  if (activity_) {
    add_shape_activity(w_, cfg_, tokens, res.counters);
    res.counters.cycles += estimated_cycles(tokens);
  }
  if (tokens == 0) return res;

  const PanelRunner runner{*this, in, res};
  const int workers = std::min(nthreads, panels_);
  std::vector<HwCounters> thread_counters(static_cast<std::size_t>(workers));
  parallel_chunks(panels_, workers, [&](int chunk, int begin, int end) {
    HwCounters& cnt = thread_counters[static_cast<std::size_t>(chunk)];
    thread_local std::vector<float> y, a, ap;  // kept by the pool's workers between calls
    y.resize(static_cast<std::size_t>(in.padded_tokens) * kP);
    a.assign(kT * kP, 0.0f);
    ap.assign(static_cast<std::size_t>(in.planes) * kT * kP, 0.0f);
    for (int p = begin; p < end; ++p) panel_fn_(runner, p, cnt, y, a, ap);
  });
  for (const auto& c : thread_counters) {
    res.counters.tree_overflows += c.tree_overflows;
    res.counters.acc_overflows += c.acc_overflows;
  }
  return res;
}

}  // namespace oacim::hw
