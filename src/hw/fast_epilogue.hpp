#pragma once
// The floating-point steps after the tile kernel, for one (6-token, 32-row) tile of one block, in
// the order of block_arith.hpp: portable C++ for every partial-sum format, and AVX2 and AVX-512
// versions for fp32 and bf16 partial sums (explicit intrinsics: no contraction, no reassociation).
#include <cstdint>

#include "fast_inputs.hpp"
#include "fast_kernels.hpp"
#include "oacim/hw/block_arith.hpp"

namespace oacim::hw::fast {

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

#ifdef OACIM_HW_X86
// AVX2 version of epilogue() for fp32 and bf16 partial sums: the same operations in the same
// order, eight rows at a time.
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

// AVX-512 version of epilogue_avx2(): the same operations in the same order, sixteen rows at a
// time, the outlier rows as a mask register.
template <NumFormat P>
__attribute__((target("avx512f,avx2,fma"), always_inline)) inline __m512 vround512(__m512 v) {
  if constexpr (P == NumFormat::Fp32) {
    return v;
  } else {
    static_assert(P == NumFormat::Bf16, "vround512: fp32 or bf16");
    const __m512i u = _mm512_castps_si512(v);
    const __mmask16 is_nan =
        _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    const __m512i lsb = _mm512_and_si512(_mm512_maskz_srli_epi32(0xFFFF, u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb);
    r = _mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
    r = _mm512_mask_mov_epi32(r, is_nan, _mm512_set1_epi32(0x7FC00000));
    return _mm512_castsi512_ps(r);
  }
}

template <NumFormat P, NumFormat O>
__attribute__((target("avx512f,avx2,fma"))) void epilogue_avx512(
    const PreparedInputs& in, const float* a, const TileCorrections& k, int t0, int b, int nb, const float* scale,
    const float* zero, const float* ow, const std::int32_t* has, float* y) {
  static_assert(kP % 16 == 0, "whole zmm rows");
  const bool single_pass = in.planes == 1;
  __mmask16 masks[kP / 16];
  for (int h = 0; h < kP; h += 16) {
    const __m512i hv = _mm512_loadu_si512(has + h);
    masks[h / 16] = _mm512_test_epi32_mask(hv, hv);
  }
  for (int i = 0; i < kT && t0 + i < in.tokens; ++i) {
    const int t = t0 + i;
    const std::size_t tb = static_cast<std::size_t>(t) * nb + b;
    const __m512 s = _mm512_set1_ps(in.s[tb]);
    const __m512 o = _mm512_set1_ps(in.o[tb]);
    const __m512 pw = _mm512_set1_ps(in.pow2[tb]);
    float* yt = y + static_cast<std::size_t>(t) * kP;
    for (int h = 0; h < kP; h += 16) {
      // Corrections are stale outside the outlier rows of this (block, panel): masked, not reset.
      const __mmask16 mask = masks[h / 16];
      const __m512 a_vec = _mm512_loadu_ps(a + i * kP + h);
      __m512 tt;
      if (in.fold_zero) {
        tt = a_vec;  // offsets and integer zeros are folded into the codes: A is already t, exactly
      } else {
        const __m512 s_prime = _mm512_sub_ps(s, _mm512_maskz_loadu_ps(mask, k.s_at(t) + h));
        __m512 d;
        if (single_pass) {
          d = vround512<P>(a_vec);  // offsets are folded into the codes
        } else {
          const __m512 o_prime = _mm512_sub_ps(o, _mm512_maskz_loadu_ps(mask, k.o_at(t) + h));
          d = vround512<P>(_mm512_sub_ps(a_vec, o_prime));
        }
        const __m512 zs = vround512<P>(_mm512_mul_ps(_mm512_loadu_ps(zero + h), s_prime));
        tt = vround512<P>(_mm512_sub_ps(d, zs));
      }
      const __m512 u = vround512<P>(_mm512_mul_ps(tt, _mm512_loadu_ps(scale + h)));
      const __m512 v = vround512<P>(_mm512_mul_ps(u, pw));
      const __m512 yy = vround512<P>(_mm512_add_ps(_mm512_loadu_ps(yt + h), v));
      const __m512 p =
          vround512<P>(vround512<O>(_mm512_mul_ps(_mm512_loadu_ps(ow + h), _mm512_loadu_ps(k.x_at(t) + h))));
      const __m512 yo = vround512<P>(_mm512_add_ps(yy, p));
      _mm512_storeu_ps(yt + h, _mm512_mask_blend_ps(mask, yy, yo));
    }
  }
}
#endif  // OACIM_HW_X86

}  // namespace oacim::hw::fast
