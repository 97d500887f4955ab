#include "oacim/hw/fast_datapath.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <immintrin.h>

#include "oacim/core/quant_grid.hpp"
#include "oacim/hw/block_arith.hpp"
#include "oacim/hw/fixed_width.hpp"
#include "oacim/hw/input_align.hpp"
#include "oacim/hw/reference_datapath.hpp"

namespace oacim::hw {

namespace {

constexpr int kP = FastDatapath::kPanelRows;
constexpr int kT = FastDatapath::kTileTokens;

// ---- A-tile kernels: out[i][j] = sum_k x[k * kT + i] * w[k * kP + j], i < kT (6), j < kP (32) ----
// x is the token tile packed k-major (prepare_inputs), so the broadcasts read consecutive floats.

__attribute__((always_inline)) inline void tile_kernel_generic(const float* x, const float* w, int n, float* out) {
  float acc[kT][kP] = {};
  for (int k = 0; k < n; ++k) {
    for (int i = 0; i < kT; ++i) {
      const float xi = x[k * kT + i];
      for (int j = 0; j < kP; ++j) acc[i][j] += xi * w[k * kP + j];
    }
  }
  std::copy(&acc[0][0], &acc[0][0] + kT * kP, out);
}

// Sixteen of the panel's rows: w and out advance by kP per k / per token.
__attribute__((target("avx2,fma"), always_inline)) inline void tile_kernel_avx2_16(const float* x, const float* w, int n,
                                                                                 float* out) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < n; ++k, x += kT, w += kP) {
    // Products of small integers summed below 2^24: exact, so fused multiply-add changes nothing.
    const __m256 w0 = _mm256_loadu_ps(w);
    const __m256 w1 = _mm256_loadu_ps(w + 8);
    __m256 b = _mm256_broadcast_ss(x);
    c00 = _mm256_fmadd_ps(b, w0, c00);
    c01 = _mm256_fmadd_ps(b, w1, c01);
    b = _mm256_broadcast_ss(x + 1);
    c10 = _mm256_fmadd_ps(b, w0, c10);
    c11 = _mm256_fmadd_ps(b, w1, c11);
    b = _mm256_broadcast_ss(x + 2);
    c20 = _mm256_fmadd_ps(b, w0, c20);
    c21 = _mm256_fmadd_ps(b, w1, c21);
    b = _mm256_broadcast_ss(x + 3);
    c30 = _mm256_fmadd_ps(b, w0, c30);
    c31 = _mm256_fmadd_ps(b, w1, c31);
    b = _mm256_broadcast_ss(x + 4);
    c40 = _mm256_fmadd_ps(b, w0, c40);
    c41 = _mm256_fmadd_ps(b, w1, c41);
    b = _mm256_broadcast_ss(x + 5);
    c50 = _mm256_fmadd_ps(b, w0, c50);
    c51 = _mm256_fmadd_ps(b, w1, c51);
  }
  _mm256_storeu_ps(out + 0 * kP, c00);
  _mm256_storeu_ps(out + 0 * kP + 8, c01);
  _mm256_storeu_ps(out + 1 * kP, c10);
  _mm256_storeu_ps(out + 1 * kP + 8, c11);
  _mm256_storeu_ps(out + 2 * kP, c20);
  _mm256_storeu_ps(out + 2 * kP + 8, c21);
  _mm256_storeu_ps(out + 3 * kP, c30);
  _mm256_storeu_ps(out + 3 * kP + 8, c31);
  _mm256_storeu_ps(out + 4 * kP, c40);
  _mm256_storeu_ps(out + 4 * kP + 8, c41);
  _mm256_storeu_ps(out + 5 * kP, c50);
  _mm256_storeu_ps(out + 5 * kP + 8, c51);
}

__attribute__((target("avx2,fma"), always_inline)) inline void tile_kernel_avx2(const float* x, const float* w, int n,
                                                                              float* out) {
  tile_kernel_avx2_16(x, w, n, out);
  tile_kernel_avx2_16(x, w + 16, n, out + 16);
}

// The whole 32-row panel in two zmm registers per token: 12 accumulators.
__attribute__((target("avx512f,avx2,fma"), always_inline)) inline void tile_kernel_avx512(const float* x,
                                                                                        const float* w, int n,
                                                                                        float* out) {
  static_assert(kP == 32, "the AVX-512 kernel covers a 32-row panel");
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  for (int k = 0; k < n; ++k, x += kT, w += kP) {
    const __m512 w0 = _mm512_loadu_ps(w);
    const __m512 w1 = _mm512_loadu_ps(w + 16);
    __m512 b = _mm512_set1_ps(x[0]);
    c00 = _mm512_fmadd_ps(b, w0, c00);
    c01 = _mm512_fmadd_ps(b, w1, c01);
    b = _mm512_set1_ps(x[1]);
    c10 = _mm512_fmadd_ps(b, w0, c10);
    c11 = _mm512_fmadd_ps(b, w1, c11);
    b = _mm512_set1_ps(x[2]);
    c20 = _mm512_fmadd_ps(b, w0, c20);
    c21 = _mm512_fmadd_ps(b, w1, c21);
    b = _mm512_set1_ps(x[3]);
    c30 = _mm512_fmadd_ps(b, w0, c30);
    c31 = _mm512_fmadd_ps(b, w1, c31);
    b = _mm512_set1_ps(x[4]);
    c40 = _mm512_fmadd_ps(b, w0, c40);
    c41 = _mm512_fmadd_ps(b, w1, c41);
    b = _mm512_set1_ps(x[5]);
    c50 = _mm512_fmadd_ps(b, w0, c50);
    c51 = _mm512_fmadd_ps(b, w1, c51);
  }
  _mm512_storeu_ps(out + 0 * kP, c00);
  _mm512_storeu_ps(out + 0 * kP + 16, c01);
  _mm512_storeu_ps(out + 1 * kP, c10);
  _mm512_storeu_ps(out + 1 * kP + 16, c11);
  _mm512_storeu_ps(out + 2 * kP, c20);
  _mm512_storeu_ps(out + 2 * kP + 16, c21);
  _mm512_storeu_ps(out + 3 * kP, c30);
  _mm512_storeu_ps(out + 3 * kP + 16, c31);
  _mm512_storeu_ps(out + 4 * kP, c40);
  _mm512_storeu_ps(out + 4 * kP + 16, c41);
  _mm512_storeu_ps(out + 5 * kP, c50);
  _mm512_storeu_ps(out + 5 * kP + 16, c51);
}

// Input side of a call, laid out for the kernels (all integers held exactly in fp32).
struct PreparedInputs {
  int tokens = 0;
  int padded_tokens = 0;
  int planes = 1;                  // 1: xt itself; else one 0/1 plane per bit
  bool fold_zero = false;          // the kernel's sums are t = D - zero * S' (see FastDatapath)
  std::vector<float> x;            // [planes][C * padded_tokens]: block b at begin(b) * padded_tokens,
                                   // then token tiles of [block cols][6]
  std::vector<float> x_in;         // [C][T] (column-major: the outlier scatter reads along tokens)
  std::vector<float> pow2, s, o;   // [T][nb]
  std::vector<float> qs, qo;       // [C/4][T]
  HwCounters counters;
};

// Outlier corrections of one (block, panel) for every token, [padded_tokens][16] each: scattered
// for the rows with an outlier before the tile loop; other rows hold stale values that the
// epilogue masks off, so it runs without gathers, branches or store-to-load forwarding stalls.
struct TileCorrections {
  std::vector<float> s;  // S of the gated quad
  std::vector<float> o;  // O of the gated quad (bit-plane path only; folded into the codes otherwise)
  std::vector<float> x;  // the outlier's input
  const float* s_at(int t) const { return s.data() + static_cast<std::size_t>(t) * FastDatapath::kPanelRows; }
  const float* o_at(int t) const { return o.data() + static_cast<std::size_t>(t) * FastDatapath::kPanelRows; }
  const float* x_at(int t) const { return x.data() + static_cast<std::size_t>(t) * FastDatapath::kPanelRows; }
};

// The floating-point steps for one (kT-token, kP-row) tile of block b; y is [padded_tokens][kP].
template <NumFormat P, NumFormat O>
__attribute__((always_inline)) inline void epilogue(const PreparedInputs& in, const float* a, const TileCorrections& k,
                                                    int t0, int b, int nb, const float* scale, const float* zero,
                                                    const float* ow, const std::int32_t* has, float* y) {
  for (int i = 0; i < kT && t0 + i < in.tokens; ++i) {
    const int t = t0 + i;
    const float s = in.s[static_cast<std::size_t>(t) * nb + b];
    const float o = in.o[static_cast<std::size_t>(t) * nb + b];
    const float pw = in.pow2[static_cast<std::size_t>(t) * nb + b];
    float* yt = y + static_cast<std::size_t>(t) * kP;
    const float* at = a + i * kP;
    const float* ks = k.s_at(t);
    const float* ko = k.o_at(t);
    const float* kx = k.x_at(t);
    for (int j = 0; j < kP; ++j) {
      // Corrections are stale outside the outlier rows of this (block, panel): select, don't trust.
      float v;
      if (in.fold_zero) {
        v = round_to(P, round_to(P, at[j] * scale[j]) * pw);  // A is already t, exactly
      } else {
        const float s_prime = s - (has[j] ? ks[j] : 0.0f);
        const float o_prime = in.planes == 1 ? 0.0f : o - (has[j] ? ko[j] : 0.0f);
        v = block_value<P>(at[j] - o_prime, s_prime, zero[j], scale[j], pw);
      }
      const float yy = round_to(P, yt[j] + v);
      const float p = round_to(P, round_to(O, ow[j] * kx[j]));
      const float yo = round_to(P, yy + p);
      yt[j] = has[j] ? yo : yy;
    }
  }
}

// AVX2 version of epilogue() for fp32 and bf16 partial sums: the same operations in the same
// order, eight rows at a time (explicit intrinsics: no contraction, no reassociation).
template <NumFormat P>
__attribute__((target("avx2,fma"), always_inline)) inline __m256 vround(__m256 v) {
  if constexpr (P == NumFormat::Fp32) {
    return v;
  } else {
    static_assert(P == NumFormat::Bf16, "vround: fp32 or bf16");
    const __m256i u = _mm256_castps_si256(v);
    const __m256i is_nan =
        _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb);
    r = _mm256_and_si256(r, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u)));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC00000), is_nan);
    return _mm256_castsi256_ps(r);
  }
}

template <NumFormat P, NumFormat O>
__attribute__((target("avx2,fma"))) void epilogue_avx2(
    const PreparedInputs& in, const float* a, const TileCorrections& k, int t0, int b, int nb, const float* scale,
    const float* zero, const float* ow, const std::int32_t* has, float* y) {
  const bool single_pass = in.planes == 1;
  for (int i = 0; i < kT && t0 + i < in.tokens; ++i) {
    const int t = t0 + i;
    const std::size_t tb = static_cast<std::size_t>(t) * nb + b;
    const __m256 s = _mm256_set1_ps(in.s[tb]);
    const __m256 o = _mm256_set1_ps(in.o[tb]);
    const __m256 pw = _mm256_set1_ps(in.pow2[tb]);
    float* yt = y + static_cast<std::size_t>(t) * kP;
    for (int h = 0; h < kP; h += 8) {
      // Corrections are stale outside the outlier rows of this (block, panel): masked, not reset.
      const __m256 mask = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(has + h)));
      const __m256 a_vec = _mm256_loadu_ps(a + i * kP + h);
      __m256 tt;
      if (in.fold_zero) {
        tt = a_vec;  // offsets and integer zeros are folded into the codes: A is already t, exactly
      } else {
        const __m256 s_prime = _mm256_sub_ps(s, _mm256_and_ps(mask, _mm256_loadu_ps(k.s_at(t) + h)));
        __m256 d;
        if (single_pass) {
          d = vround<P>(a_vec);  // offsets are folded into the codes
        } else {
          const __m256 o_prime = _mm256_sub_ps(o, _mm256_and_ps(mask, _mm256_loadu_ps(k.o_at(t) + h)));
          d = vround<P>(_mm256_sub_ps(a_vec, o_prime));
        }
        const __m256 zs = vround<P>(_mm256_mul_ps(_mm256_loadu_ps(zero + h), s_prime));
        tt = vround<P>(_mm256_sub_ps(d, zs));
      }
      const __m256 u = vround<P>(_mm256_mul_ps(tt, _mm256_loadu_ps(scale + h)));
      const __m256 v = vround<P>(_mm256_mul_ps(u, pw));
      const __m256 yy = vround<P>(_mm256_add_ps(_mm256_loadu_ps(yt + h), v));
      const __m256 p = vround<P>(vround<O>(_mm256_mul_ps(_mm256_loadu_ps(ow + h), _mm256_loadu_ps(k.x_at(t) + h))));
      const __m256 yo = vround<P>(_mm256_add_ps(yy, p));
      _mm256_storeu_ps(yt + h, _mm256_blendv_ps(yy, yo, mask));
    }
  }
}

}  // namespace

FastDatapath::FastDatapath(LayerWeights weights, HwConfig cfg) : w_(std::move(weights)), cfg_(std::move(cfg)) {
  const int n = w_.block_size;
  const std::int64_t qabs = std::max(std::abs(w_.code_min), std::abs(w_.code_max));
  const std::int64_t tree_lo = n * std::min(w_.code_min, 0);
  const std::int64_t tree_hi = n * std::max(w_.code_max, 0);
  const FixedWidth tree{cfg_.tree_bits, cfg_.tree_overflow};
  const FixedWidth acc{cfg_.acc_bits, cfg_.acc_overflow};
  const std::int64_t acc_bound = n * qabs * ((std::int64_t{1} << cfg_.bitplanes()) - 1);
  single_pass_ = tree_lo >= tree.min() && tree_hi <= tree.max() && acc_bound <= acc.max();
  int max_offset = 0;
  for (auto o : w_.offsets) max_offset = std::max(max_offset, std::abs(static_cast<int>(o)));
  exact_ = static_cast<std::int64_t>(n) * (qabs + max_offset) * (std::int64_t{1} << cfg_.mantissa_bits) <
           (std::int64_t{1} << 24);

  // With fp32 partial sums and integer zeros every step up to t = D - zero * S' is exact too, so
  // the zeros fold into the codes as well (q - o - z) and the kernel's sums are t itself.
  bool integer_zeros = true;
  float max_zero = 0.0f;
  for (float z : w_.zero_h) {
    integer_zeros = integer_zeros && std::nearbyint(z) == z;
    max_zero = std::max(max_zero, std::fabs(z));
  }
  fold_zero_ = single_pass_ && exact_ && integer_zeros && cfg_.psum_format == NumFormat::Fp32 &&
               static_cast<double>(n) * (static_cast<double>(qabs + max_offset) + max_zero) *
                       std::ldexp(1.0, cfg_.mantissa_bits) < 16777216.0;

  const int R = w_.rows;
  const int C = w_.cols;
  const int nb = w_.blocks;
  panels_ = (R + kP - 1) / kP;
  padded_rows_ = panels_ * kP;
  panel_offset_.resize(static_cast<std::size_t>(nb) * panels_);
  std::size_t total = 0;
  for (int b = 0; b < nb; ++b) {
    const int nbk = block_range(b, C, n).size();
    for (int p = 0; p < panels_; ++p) {
      panel_offset_[static_cast<std::size_t>(b) * panels_ + p] = total;
      total += static_cast<std::size_t>(nbk) * kP;
    }
  }
  panels_w_.assign(total, 0.0f);
  for (int b = 0; b < nb; ++b) {
    const BlockRange br = block_range(b, C, n);
    for (int p = 0; p < panels_; ++p) {
      float* dst = panels_w_.data() + panel_offset_[static_cast<std::size_t>(b) * panels_ + p];
      for (int k = 0; k < br.size(); ++k) {
        for (int j = 0; j < kP; ++j) {
          const int r = p * kP + j;
          if (r >= R) continue;
          const int c = br.begin + k;
          const int gq = w_.gated_quad(r, b);
          // Single pass: A - O' = sum (q - o) xt over the cells not gated, exact in fp32, so the
          // offsets fold into the panel; the bit-plane path needs A alone (its registers clip A).
          const bool gated = gq >= 0 && c / 4 == gq;
          const int q = w_.codes[static_cast<std::size_t>(r) * C + c];
          const int z = fold_zero_ ? static_cast<int>(w_.zero_h[w_.rb(r, b)]) : 0;
          dst[k * kP + j] = static_cast<float>(gated ? 0 : (single_pass_ ? q - w_.offsets[c] - z : q));
        }
      }
    }
  }
  const std::size_t br_size = static_cast<std::size_t>(nb) * padded_rows_;
  scale_br_.assign(br_size, 0.0f);
  zero_br_.assign(br_size, 0.0f);
  ow_br_.assign(br_size, 0.0f);
  has_outlier_br_.assign(br_size, 0);
  outlier_slot_begin_.assign(static_cast<std::size_t>(nb) * panels_ + 1, 0);
  for (int b = 0; b < nb; ++b) {
    for (int p = 0; p < panels_; ++p) {
      outlier_slot_begin_[static_cast<std::size_t>(b) * panels_ + p] = outlier_slots_.size();
      for (int j = 0; j < kP && p * kP + j < R; ++j) {
        const int r = p * kP + j;
        const std::size_t i = static_cast<std::size_t>(b) * padded_rows_ + r;
        const std::size_t k = w_.rb(r, b);
        scale_br_[i] = w_.scale_h[k];
        zero_br_[i] = w_.zero_h[k];
        if (w_.outlier_col[k] >= 0) {
          ow_br_[i] = w_.outlier_w[k];
          has_outlier_br_[i] = -1;
          outlier_slots_.push_back({j, w_.outlier_col[k] / 4, w_.outlier_col[k]});
        }
      }
    }
  }
  outlier_slot_begin_.back() = outlier_slots_.size();
}

namespace {

// A small persistent pool, so that a layer call does not pay for thread creation and each worker
// keeps its scratch buffers (thread_local) from one call to the next.
class WorkerPool {
 public:
  static WorkerPool& instance() {
    static WorkerPool pool;
    return pool;
  }
  // Runs fn(0), ..., fn(n - 1) at once, fn(0) on the calling thread.
  void run(int n, const std::function<void(int)>& fn) {
    if (n <= 1) {
      fn(0);
      return;
    }
    std::lock_guard<std::mutex> one_call(call_mutex_);
    {
      std::lock_guard<std::mutex> lock(m_);
      while (static_cast<int>(workers_.size()) < n - 1) {
        const int index = static_cast<int>(workers_.size()) + 1;
        workers_.emplace_back([this, index] { loop(index); });
      }
      fn_ = &fn;
      active_ = n;
      pending_ = n - 1;
      ++generation_;
    }
    cv_.notify_all();
    fn(0);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void loop(int index) {
    std::uint64_t seen = 0;
    while (true) {
      const std::function<void(int)>* fn = nullptr;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= active_) continue;
        fn = fn_;
      }
      (*fn)(index);
      std::lock_guard<std::mutex> lock(m_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
  std::mutex call_mutex_;
  std::mutex m_;
  std::condition_variable cv_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* fn_ = nullptr;
  std::uint64_t generation_ = 0;
  int active_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

// Runs fn(chunk, begin, end) over [0, n) split into `threads` contiguous chunks.
template <typename Fn>
void parallel_chunks(int n, int threads, Fn fn) {
  threads = std::max(1, std::min(threads, n));
  const std::function<void(int)> task = [&](int k) { fn(k, n * k / threads, n * (k + 1) / threads); };
  WorkerPool::instance().run(threads, task);
}

void prepare_inputs(PreparedInputs& in, const LayerWeights& w, const HwConfig& cfg, const float* x, int tokens,
                    bool single_pass, bool fold_zero, int threads) {
  in.counters = HwCounters{};
  const int C = w.cols;
  const int nb = w.blocks;
  in.tokens = tokens;
  in.padded_tokens = (tokens + kT - 1) / kT * kT;
  in.planes = single_pass ? 1 : cfg.bitplanes();
  in.fold_zero = fold_zero;
  in.x.assign(static_cast<std::size_t>(in.planes) * in.padded_tokens * C, 0.0f);
  in.x_in.resize(static_cast<std::size_t>(tokens) * C);
  in.pow2.resize(static_cast<std::size_t>(tokens) * nb);
  in.s.resize(in.pow2.size());
  in.o.resize(in.pow2.size());
  // Quad sums feed only the gated-quad corrections, which folding makes unnecessary.
  if (!fold_zero) in.qs.resize(static_cast<std::size_t>(tokens) * (C / 4));
  if (!single_pass) in.qo.resize(static_cast<std::size_t>(tokens) * (C / 4));
  std::vector<BlockRange> ranges;
  for (int b = 0; b < nb; ++b) ranges.push_back(block_range(b, C, w.block_size));
  const std::size_t plane_stride = static_cast<std::size_t>(in.padded_tokens) * C;
  std::vector<HwCounters> chunk_counters(static_cast<std::size_t>(std::max(1, threads)));
  parallel_chunks(tokens, threads, [&](int chunk, int begin, int end) {
    HwCounters local;
    thread_local TokenInputs ti;
    for (int t = begin; t < end; ++t) {
      prepare_token_inputs(w, cfg, x + static_cast<std::size_t>(t) * C, ti);
      local.inputs_flushed += ti.flushed;
      local.nonfinite_inputs += ti.nonfinite;
      const std::size_t tile = static_cast<std::size_t>(t / kT);
      const std::size_t lane = static_cast<std::size_t>(t % kT);
      for (int b = 0; b < nb; ++b) {
        const BlockRange& br = ranges[static_cast<std::size_t>(b)];
        float* xb = in.x.data() + static_cast<std::size_t>(br.begin) * in.padded_tokens +
                    tile * static_cast<std::size_t>(br.size()) * kT + lane;
        const std::int32_t* src = ti.xt.data() + br.begin;
        if (single_pass) {
          for (int k = 0; k < br.size(); ++k) xb[k * kT] = static_cast<float>(src[k]);
        } else {
          for (int k = 0; k < br.size(); ++k) {
            for (int pl = 0; pl < in.planes; ++pl) {
              xb[pl * plane_stride + k * kT] = static_cast<float>(input_bit(src[k], pl));
            }
          }
        }
        const std::size_t i = static_cast<std::size_t>(t) * nb + b;
        in.pow2[i] = ti.block_pow2[b];
        in.s[i] = static_cast<float>(ti.block_s[b]);
        in.o[i] = single_pass ? 0.0f : static_cast<float>(ti.block_o[b]);
      }
      for (int c = 0; c < C; ++c) in.x_in[static_cast<std::size_t>(c) * tokens + t] = ti.x_in[c];
      if (!fold_zero) {
        for (int q = 0; q < C / 4; ++q) in.qs[static_cast<std::size_t>(q) * tokens + t] = static_cast<float>(ti.quad_s[q]);
      }
      if (!single_pass) {
        for (int q = 0; q < C / 4; ++q) in.qo[static_cast<std::size_t>(q) * tokens + t] = static_cast<float>(ti.quad_o[q]);
      }
    }
    chunk_counters[static_cast<std::size_t>(chunk)] = local;
  });
  for (const auto& c : chunk_counters) in.counters += c;
}

}  // namespace

// Everything one thread needs to run panels; the same body is compiled for AVX-512, AVX2+FMA and generic.
struct PanelRunner {
  const FastDatapath& d;
  const PreparedInputs& in;
  HwLayerResult& res;

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

  template <bool Avx2, typename Kernel>
  __attribute__((always_inline)) inline void run(int p, Kernel kernel, HwCounters& cnt, std::vector<float>& y,
                                                 std::vector<float>& a, std::vector<float>& ap) const {
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
      const float* wp = d.panels_w_.data() + d.panel_offset_[bp];
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
        const float* xt = in.x.data() + static_cast<std::size_t>(br.begin) * in.padded_tokens +
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
#define OACIM_EPILOGUE(PF, OF) epilogue<PF, OF>(in, a.data(), corr, t0, b, nb, sc, ze, ow, hs, y.data())
#define OACIM_EPILOGUE_AVX2(PF, OF) epilogue_avx2<PF, OF>(in, a.data(), corr, t0, b, nb, sc, ze, ow, hs, y.data())
        const bool o32 = d.cfg_.outlier_format == NumFormat::Fp32;
        bool done = false;
        if constexpr (Avx2) {
          done = true;
          if (d.cfg_.psum_format == NumFormat::Fp32) {
            if (o32) OACIM_EPILOGUE_AVX2(NumFormat::Fp32, NumFormat::Fp32); else OACIM_EPILOGUE_AVX2(NumFormat::Fp32, NumFormat::Bf16);
          } else if (d.cfg_.psum_format == NumFormat::Bf16) {
            if (o32) OACIM_EPILOGUE_AVX2(NumFormat::Bf16, NumFormat::Fp32); else OACIM_EPILOGUE_AVX2(NumFormat::Bf16, NumFormat::Bf16);
          } else {
            done = false;
          }
        }
        if (!done) switch (d.cfg_.psum_format) {
          case NumFormat::Fp32:
            if (o32) OACIM_EPILOGUE(NumFormat::Fp32, NumFormat::Fp32); else OACIM_EPILOGUE(NumFormat::Fp32, NumFormat::Bf16);
            break;
          case NumFormat::Bf16:
            if (o32) OACIM_EPILOGUE(NumFormat::Bf16, NumFormat::Fp32); else OACIM_EPILOGUE(NumFormat::Bf16, NumFormat::Bf16);
            break;
          case NumFormat::Fp16:
            if (o32) OACIM_EPILOGUE(NumFormat::Fp16, NumFormat::Fp32); else OACIM_EPILOGUE(NumFormat::Fp16, NumFormat::Bf16);
            break;
        }
#undef OACIM_EPILOGUE
#undef OACIM_EPILOGUE_AVX2
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

using PanelFn = void (*)(const PanelRunner&, int, HwCounters&, std::vector<float>&, std::vector<float>&,
                         std::vector<float>&);

__attribute__((target("avx512f,avx2,fma"))) void run_panel_avx512(const PanelRunner& pr, int p, HwCounters& cnt,
                                                                   std::vector<float>& y, std::vector<float>& a,
                                                                   std::vector<float>& ap) {
  pr.run<true>(p, tile_kernel_avx512, cnt, y, a, ap);
}

__attribute__((target("avx2,fma"))) void run_panel_avx2(const PanelRunner& pr, int p, HwCounters& cnt,
                                                        std::vector<float>& y, std::vector<float>& a,
                                                        std::vector<float>& ap) {
  pr.run<true>(p, tile_kernel_avx2, cnt, y, a, ap);
}

void run_panel_generic(const PanelRunner& pr, int p, HwCounters& cnt, std::vector<float>& y, std::vector<float>& a,
                       std::vector<float>& ap) {
  pr.run<false>(p, tile_kernel_generic, cnt, y, a, ap);
}

PanelFn pick_panel_fn() {
  __builtin_cpu_init();
  // The widest kernel the CPU has; OACIM_HW_KERNEL=avx2|generic forces a narrower one (tests,
  // benchmarks). All give the same bits.
  const char* force = std::getenv("OACIM_HW_KERNEL");
  const std::string want = force ? force : "";
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if ((want.empty() || want == "avx512") && avx2 && __builtin_cpu_supports("avx512f")) return run_panel_avx512;
  if (want != "generic" && avx2) return run_panel_avx2;
  return run_panel_generic;
}

}  // namespace

HwLayerResult FastDatapath::forward(const float* x, int tokens, int threads) const {
  if (!exact_) return reference_forward(w_, cfg_, x, tokens);
  const int nthreads = std::max(1, threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  // Storage reused by later calls from this thread. Bound to a reference: lambdas run by the pool's
  // workers must see this thread's instance, not their own thread_local.
  thread_local PreparedInputs scratch;
  PreparedInputs& in = scratch;
  prepare_inputs(in, w_, cfg_, x, tokens, single_pass_, fold_zero_, nthreads);
  HwLayerResult res;
  res.y.assign(static_cast<std::size_t>(tokens) * w_.rows, 0.0f);
  res.counters = in.counters;
  add_static_counters(w_, cfg_, tokens, res.counters);
  if (tokens == 0) return res;

  static const PanelFn panel_fn = pick_panel_fn();
  const PanelRunner runner{*this, in, res};
  const int workers = std::min(nthreads, panels_);
  std::vector<HwCounters> thread_counters(static_cast<std::size_t>(workers));
  parallel_chunks(panels_, workers, [&](int chunk, int begin, int end) {
    HwCounters& cnt = thread_counters[static_cast<std::size_t>(chunk)];
    thread_local std::vector<float> y, a, ap;  // kept by the pool's workers between calls
    y.resize(static_cast<std::size_t>(in.padded_tokens) * kP);
    a.assign(kT * kP, 0.0f);
    ap.assign(static_cast<std::size_t>(in.planes) * kT * kP, 0.0f);
    for (int p = begin; p < end; ++p) panel_fn(runner, p, cnt, y, a, ap);
  });
  for (const auto& c : thread_counters) {
    res.counters.tree_overflows += c.tree_overflows;
    res.counters.acc_overflows += c.acc_overflows;
  }
  return res;
}

}  // namespace oacim::hw
