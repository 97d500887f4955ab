#pragma once
// The tile kernels of the fast datapath, out[i][j] = sum_k x[k * 6 + i] * w[k * 32 + j] for a
// 6-token by 32-row tile: portable C++, AVX2+FMA and AVX-512 on integers held in fp32, and an
// AVX-512 VNNI kernel on int16 pairs. A FastDatapath picks one when it is built
// (fast_datapath.cpp). Products of small integers summed below 2^24 are exact in fp32 and in
// int32, so every kernel gives the same bits. x86 intrinsics live only here and in
// fast_epilogue.hpp, behind OACIM_HW_X86.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "oacim/hw/fast_datapath.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define OACIM_HW_X86 1
#include <immintrin.h>
#endif

namespace oacim::hw::fast {

constexpr int kP = FastDatapath::kPanelRows;
constexpr int kT = FastDatapath::kTileTokens;

// The int16 layouts of the VNNI kernel keep the two columns of a k pair next to each other, so one
// 32-bit broadcast holds a token's pair and one zmm holds sixteen rows' pairs: element (k, lane)
// of a [n][width] tile sits at (k / 2) * width * 2 + lane * 2 + k % 2 (n is even: blocks are
// whole quads).
inline std::size_t pair_index(int k, int lane, int width) {
  return (static_cast<std::size_t>(k / 2) * width + lane) * 2 + (k & 1);
}

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

#ifdef OACIM_HW_X86
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

// acc += pairwise int16 products of b and w, in place. Inline assembly because GCC 12 copies every
// accumulator of the intrinsic's loop through another register (24 moves per 12 products).
__attribute__((target("avx512f,avx512vnni"), always_inline)) inline void dpwssd(__m512i& acc, __m512i b, __m512i w) {
  asm("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(b), "v"(w));
}

// out as the fp32 kernels give it (every sum below 2^24, so the conversion is exact); x and w in
// the pair layouts above, n columns.
__attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma"), always_inline)) inline void tile_kernel_vnni(
    const std::int16_t* x, const std::int16_t* w, int n, float* out) {
  static_assert(kP == 32 && kT == 6, "the VNNI kernel covers a 32-row panel and 6 tokens");
  __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512(), c10 = _mm512_setzero_si512();
  __m512i c11 = _mm512_setzero_si512(), c20 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512();
  __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512(), c40 = _mm512_setzero_si512();
  __m512i c41 = _mm512_setzero_si512(), c50 = _mm512_setzero_si512(), c51 = _mm512_setzero_si512();
  const auto* xp = reinterpret_cast<const std::int32_t*>(x);  // one token's k pair per 32 bits
  for (int k = 0; k < n; k += 2, xp += kT, w += 2 * kP) {
    const __m512i w0 = _mm512_loadu_si512(w);
    const __m512i w1 = _mm512_loadu_si512(w + 32);
    __m512i b = _mm512_set1_epi32(xp[0]);
    dpwssd(c00, b, w0);
    dpwssd(c01, b, w1);
    b = _mm512_set1_epi32(xp[1]);
    dpwssd(c10, b, w0);
    dpwssd(c11, b, w1);
    b = _mm512_set1_epi32(xp[2]);
    dpwssd(c20, b, w0);
    dpwssd(c21, b, w1);
    b = _mm512_set1_epi32(xp[3]);
    dpwssd(c30, b, w0);
    dpwssd(c31, b, w1);
    b = _mm512_set1_epi32(xp[4]);
    dpwssd(c40, b, w0);
    dpwssd(c41, b, w1);
    b = _mm512_set1_epi32(xp[5]);
    dpwssd(c50, b, w0);
    dpwssd(c51, b, w1);
  }
  // Rows of the panel follow the lanes: w0 holds rows 0-15 (pairs interleaved), w1 rows 16-31.
  // The masked conversion: GCC 12 warns about the unmasked one's undefined pass-through operand.
  const __mmask16 kAll = 0xFFFF;
  _mm512_storeu_ps(out + 0 * kP, _mm512_maskz_cvtepi32_ps(kAll, c00));
  _mm512_storeu_ps(out + 0 * kP + 16, _mm512_maskz_cvtepi32_ps(kAll, c01));
  _mm512_storeu_ps(out + 1 * kP, _mm512_maskz_cvtepi32_ps(kAll, c10));
  _mm512_storeu_ps(out + 1 * kP + 16, _mm512_maskz_cvtepi32_ps(kAll, c11));
  _mm512_storeu_ps(out + 2 * kP, _mm512_maskz_cvtepi32_ps(kAll, c20));
  _mm512_storeu_ps(out + 2 * kP + 16, _mm512_maskz_cvtepi32_ps(kAll, c21));
  _mm512_storeu_ps(out + 3 * kP, _mm512_maskz_cvtepi32_ps(kAll, c30));
  _mm512_storeu_ps(out + 3 * kP + 16, _mm512_maskz_cvtepi32_ps(kAll, c31));
  _mm512_storeu_ps(out + 4 * kP, _mm512_maskz_cvtepi32_ps(kAll, c40));
  _mm512_storeu_ps(out + 4 * kP + 16, _mm512_maskz_cvtepi32_ps(kAll, c41));
  _mm512_storeu_ps(out + 5 * kP, _mm512_maskz_cvtepi32_ps(kAll, c50));
  _mm512_storeu_ps(out + 5 * kP + 16, _mm512_maskz_cvtepi32_ps(kAll, c51));
}
#endif  // OACIM_HW_X86

}  // namespace oacim::hw::fast
