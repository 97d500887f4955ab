#pragma once
// The tile kernels of the fast datapath, out[i][j] = sum_k x[k * 6 + i] * w[k * 32 + j] for a
// 6-token by 32-row tile: portable C++, AVX2+FMA and AVX-512. A FastDatapath picks one when it is
// built (fast_datapath.cpp). Products of small integers summed below 2^24 are exact in fp32, so
// every kernel gives the same bits. x86 intrinsics live only here and in fast_epilogue.hpp,
// behind OACIM_HW_X86.
#include <algorithm>

#include "oacim/hw/fast_datapath.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define OACIM_HW_X86 1
#include <immintrin.h>
#endif

namespace oacim::hw::fast {

constexpr int kP = FastDatapath::kPanelRows;
constexpr int kT = FastDatapath::kTileTokens;

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
#endif  // OACIM_HW_X86

}  // namespace oacim::hw::fast
