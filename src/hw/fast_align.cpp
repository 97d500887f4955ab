// align_group() on 16 lanes of AVX-512 (declared in input_align.hpp): the fast datapath's input
// alignment, bit for bit the scalar one's (InputAlign.VectorAlignmentEqualsTheScalarOne).
#include <cmath>
#include <limits>

// GCC 12's AVX-512 intrinsics pass an undefined vector through unmasked lanes, which its own
// uninitialized-value analysis then reports (a known false positive of those headers).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "fast_kernels.hpp"  // OACIM_HW_X86
#include "oacim/hw/input_align.hpp"
#include "oacim/hw/number_format.hpp"

namespace oacim::hw {

namespace {

constexpr int kMaxGroup = 256;

#ifdef OACIM_HW_X86
// The steps of align_group() on 16 lanes. bf16 and fp32 inputs decompose the same way once
// rounded: exponent max(field, 1) - 127 (subnormals take the minimum normal exponent, -126 in
// both), significand (fraction | hidden bit) >> (24 - p), exact because bf16's low 16 bits are 0.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2"))) AlignedGroup align_avx512(
    const float* x, int n, const HwConfig& cfg, std::int32_t* xt) {
  AlignedGroup g;
  const bool bf16 = cfg.input_format == NumFormat::Bf16;
  const int p = bf16 ? 8 : 24;
  const int emin = -126;
  const int mb = cfg.mantissa_bits;
  alignas(64) std::int32_t mant[kMaxGroup];
  alignas(64) std::int32_t expo[kMaxGroup];
  __m512i emax_v = _mm512_set1_epi32(emin);
  __mmask16 nonfinite = 0;
  for (int i = 0; i < n; i += 16) {
    const __mmask16 live = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1u);
    __m512i u = _mm512_maskz_loadu_epi32(live, x + i);
    // A NaN's rounding could carry into the sign: caught before rounding; Inf after (field 0xFF).
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)),
                                                 _mm512_set1_epi32(0x7F800000));
    if (bf16) {  // round_bf16: nearest-even on the upper half
      const __m512i lsb = _mm512_and_si512(_mm512_maskz_srli_epi32(0xFFFF, u, 16), _mm512_set1_epi32(1));
      u = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
      u = _mm512_and_si512(u, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
    }
    const __m512i field = _mm512_and_si512(_mm512_maskz_srli_epi32(0xFFFF, u, 23), _mm512_set1_epi32(0xFF));
    const __mmask16 bad = nan | _mm512_mask_cmpeq_epi32_mask(live, field, _mm512_set1_epi32(0xFF));
    nonfinite |= bad;
    const __mmask16 normal = _mm512_cmpneq_epi32_mask(field, _mm512_setzero_si512());
    __m512i sig = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFF));
    sig = _mm512_mask_or_epi32(sig, normal, sig, _mm512_set1_epi32(0x800000));
    sig = _mm512_maskz_srli_epi32(static_cast<__mmask16>(live & ~bad), sig, 24 - p);
    __m512i e = _mm512_sub_epi32(_mm512_max_epi32(field, _mm512_set1_epi32(1)), _mm512_set1_epi32(127));
    e = _mm512_mask_mov_epi32(e, static_cast<__mmask16>(~live | bad), _mm512_set1_epi32(emin));
    emax_v = _mm512_max_epi32(emax_v, e);
    // The sign rides on the significand's top bit (significands are below 2^24).
    sig = _mm512_or_si512(sig, _mm512_and_si512(u, _mm512_set1_epi32(static_cast<int>(0x80000000u))));
    _mm512_store_si512(mant + i, sig);
    _mm512_store_si512(expo + i, e);
  }
  const int emax = _mm512_reduce_max_epi32(emax_v);
  g.nonfinite = nonfinite != 0;
  g.exponent = emax - mb + 1;
  g.pow2 = g.nonfinite ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.0f, g.exponent);
  const bool nearest = cfg.input_rounding == InputRounding::NearestEven;
  const __m512i max_mag = _mm512_set1_epi32((1 << mb) - 1);
  const __m512i one = _mm512_set1_epi32(1);
  for (int i = 0; i < n; i += 16) {
    const __mmask16 live = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512i word = _mm512_load_si512(mant + i);
    const __mmask16 negative = _mm512_movepi32_mask(word);
    const __m512i m = _mm512_and_si512(word, _mm512_set1_epi32(0x7FFFFFFF));
    const __m512i shift = _mm512_add_epi32(_mm512_sub_epi32(_mm512_set1_epi32(emax), _mm512_load_si512(expo + i)),
                                           _mm512_set1_epi32(p - mb));
    __m512i mag = _mm512_srlv_epi32(m, shift);  // counts of 32 and more give 0, as align_group's shift >= 31
    if (nearest) {
      // Round half to even where 0 < shift < 31 (align_group: no rounding at 0, nothing left at 31+).
      const __mmask16 rounds = _mm512_cmpgt_epi32_mask(shift, _mm512_setzero_si512()) &
                               _mm512_cmplt_epi32_mask(shift, _mm512_set1_epi32(31));
      const __m512i rem = _mm512_and_si512(m, _mm512_sub_epi32(_mm512_sllv_epi32(one, shift), one));
      const __m512i half = _mm512_sllv_epi32(one, _mm512_sub_epi32(shift, one));
      const __mmask16 odd = _mm512_test_epi32_mask(mag, one);
      const __mmask16 up = rounds & (_mm512_cmpgt_epi32_mask(rem, half) | (_mm512_cmpeq_epi32_mask(rem, half) & odd));
      mag = _mm512_mask_add_epi32(mag, up, mag, one);
      mag = _mm512_min_epi32(mag, max_mag);
    }
    const __mmask16 flushed = live & _mm512_cmpeq_epi32_mask(mag, _mm512_setzero_si512()) &
                              _mm512_cmpneq_epi32_mask(m, _mm512_setzero_si512());
    g.flushed += __builtin_popcount(flushed);
    const __m512i v = _mm512_mask_sub_epi32(mag, negative, _mm512_setzero_si512(), mag);
    _mm512_mask_storeu_epi32(xt + i, live, v);
  }
  return g;
}
#endif

}  // namespace

bool align_group_vectorized(const HwConfig& cfg) {
#ifdef OACIM_HW_X86
  static const bool cpu = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }();
  return cpu && (cfg.input_format == NumFormat::Bf16 || cfg.input_format == NumFormat::Fp32);
#else
  (void)cfg;
  return false;
#endif
}

AlignedGroup align_group_fast(const float* x, int n, const HwConfig& cfg, std::int32_t* xt) {
#ifdef OACIM_HW_X86
  if (n <= kMaxGroup && align_group_vectorized(cfg)) return align_avx512(x, n, cfg, xt);
#endif
  return align_group(x, n, cfg, xt);
}

}  // namespace oacim::hw
