#include "oacim/sim/plane_pass.hpp"

#include <stdexcept>
#include <string>

// GCC 12's AVX-512 intrinsics pass an undefined vector through unmasked lanes, which its own
// uninitialized-value analysis then reports (a known false positive of those headers).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "oacim/core/cim_cell.hpp"

namespace oacim::sim {

namespace {

// The pass column by column. Compiled twice, with the popcnt instruction and portable (libgcc's
// popcount); the AVX-512 version below does the same eight columns at a time.
__attribute__((always_inline)) inline std::int64_t plane_pass_body(const PlanePass& a, std::int64_t* out) {
  const int sign_slice = a.negative ? a.planes - 1 : -1;
  std::int64_t set_plain = 0, set_sign = 0;
  for (int s = 0; s < a.segs; ++s) {
    for (int j = 0; j < a.cols; ++j) {
      std::int64_t acc = 0;
      for (int p = a.bitplanes - 1; p >= 0; --p) {
        std::int64_t sum = 0;
        for (int k = 0; k < a.planes; ++k) {
          std::int64_t n = 0;
          for (int w = 0; w < a.words; ++w) {
            n += __builtin_popcountll(a.masked[((static_cast<std::size_t>(k) * a.segs + s) * a.words + w) * a.cols + j] &
                                      a.x[static_cast<std::size_t>(p) * a.words + w]);
          }
          if (k == sign_slice) {
            sum -= n << k;
            set_sign += n;
          } else {
            sum += n << k;
            set_plain += n;
          }
        }
        if (a.fold) {
          acc = p == a.bitplanes - 1 ? -sum : 2 * acc + sum;
        } else {
          out[(static_cast<std::size_t>(p) * a.segs + s) * a.cols + j] = sum;
        }
      }
      if (a.fold) out[static_cast<std::size_t>(s) * a.cols + j] = acc;
    }
  }
  return set_plain + (1 + kCellBits - a.planes) * set_sign;
}

using PlanePassFn = std::int64_t (*)(const PlanePass&, std::int64_t*);


std::int64_t plane_pass_portable(const PlanePass& a, std::int64_t* out) { return plane_pass_body(a, out); }

#if defined(__x86_64__)
__attribute__((target("popcnt"))) std::int64_t plane_pass_popcnt(const PlanePass& a, std::int64_t* out) {
  return plane_pass_body(a, out);
}

#define OACIM_AVX512_POPCNT __attribute__((target("avx512f,avx512vl,avx512vpopcntdq,popcnt")))

// The columns j0 .. j0 + 7 that exist.
OACIM_AVX512_POPCNT inline __mmask8 column_lanes(int cols, int j0) {
  return cols - j0 >= 8 ? __mmask8{0xFF} : static_cast<__mmask8>((1u << (cols - j0)) - 1u);
}

// Slice k's popcounts `n` into the plane's sum, weighted +-2^k, and into the activation counts.
OACIM_AVX512_POPCNT inline void add_slice(__m512i n, int k, bool sign_slice, __m512i& sum, __m512i& set_plain,
                                          __m512i& set_sign) {
  const __m512i weighted = _mm512_sll_epi64(n, _mm_cvtsi32_si128(k));
  if (sign_slice) {
    sum = _mm512_sub_epi64(sum, weighted);
    set_sign = _mm512_add_epi64(set_sign, n);
  } else {
    sum = _mm512_add_epi64(sum, weighted);
    set_plain = _mm512_add_epi64(set_plain, n);
  }
}

// Plane p's sums: shift-accumulated (sign plane first) or stored for the checked replay.
OACIM_AVX512_POPCNT inline void finish_plane(const PlanePass& a, int p, int s, int j0, __mmask8 lanes, __m512i sum,
                                             __m512i& acc, std::int64_t* out) {
  if (a.fold) {
    acc = p == a.bitplanes - 1 ? _mm512_sub_epi64(_mm512_setzero_si512(), sum)
                               : _mm512_add_epi64(_mm512_add_epi64(acc, acc), sum);
  } else {
    _mm512_mask_storeu_epi64(out + (static_cast<std::size_t>(p) * a.segs + s) * a.cols + j0, lanes, sum);
  }
}

// The common shape (one 64-row word per column) with the tile's slices held in registers across
// the planes and the slice count and sign known at compile time.
template <int Planes, bool Negative>
OACIM_AVX512_POPCNT inline void pass_one_word_avx512(const PlanePass& a, std::int64_t* out, __m512i& set_plain,
                                                     __m512i& set_sign) {
  for (int s = 0; s < a.segs; ++s) {
    for (int j0 = 0; j0 < a.cols; j0 += 8) {
      const __mmask8 lanes = column_lanes(a.cols, j0);
      __m512i m[Planes];
      for (int k = 0; k < Planes; ++k) {
        m[k] = _mm512_maskz_loadu_epi64(lanes, a.masked + (static_cast<std::size_t>(k) * a.segs + s) * a.cols + j0);
      }
      __m512i acc = _mm512_setzero_si512();
      for (int p = a.bitplanes - 1; p >= 0; --p) {
        const __m512i xw = _mm512_set1_epi64(static_cast<long long>(a.x[p]));
        __m512i sum = _mm512_setzero_si512();
        for (int k = 0; k < Planes; ++k) {
          add_slice(_mm512_popcnt_epi64(_mm512_and_si512(m[k], xw)), k, Negative && k == Planes - 1, sum, set_plain,
                    set_sign);
        }
        finish_plane(a, p, s, j0, lanes, sum, acc, out);
      }
      if (a.fold) _mm512_mask_storeu_epi64(out + static_cast<std::size_t>(s) * a.cols + j0, lanes, acc);
    }
  }
}

// Any number of words per column.
OACIM_AVX512_POPCNT inline void pass_words_avx512(const PlanePass& a, std::int64_t* out, __m512i& set_plain,
                                                  __m512i& set_sign) {
  for (int s = 0; s < a.segs; ++s) {
    for (int j0 = 0; j0 < a.cols; j0 += 8) {
      const __mmask8 lanes = column_lanes(a.cols, j0);
      __m512i acc = _mm512_setzero_si512();
      for (int p = a.bitplanes - 1; p >= 0; --p) {
        __m512i sum = _mm512_setzero_si512();
        for (int k = 0; k < a.planes; ++k) {
          __m512i n = _mm512_setzero_si512();
          for (int w = 0; w < a.words; ++w) {
            const __m512i m = _mm512_maskz_loadu_epi64(
                lanes, a.masked + ((static_cast<std::size_t>(k) * a.segs + s) * a.words + w) * a.cols + j0);
            const __m512i xw = _mm512_set1_epi64(static_cast<long long>(a.x[static_cast<std::size_t>(p) * a.words + w]));
            n = _mm512_add_epi64(n, _mm512_popcnt_epi64(_mm512_and_si512(m, xw)));
          }
          add_slice(n, k, a.negative && k == a.planes - 1, sum, set_plain, set_sign);
        }
        finish_plane(a, p, s, j0, lanes, sum, acc, out);
      }
      if (a.fold) _mm512_mask_storeu_epi64(out + static_cast<std::size_t>(s) * a.cols + j0, lanes, acc);
    }
  }
}

// plane_pass_body eight columns at a time in AVX-512 registers, with vector popcounts.
OACIM_AVX512_POPCNT std::int64_t plane_pass_avx512(const PlanePass& a, std::int64_t* out) {
  __m512i set_plain = _mm512_setzero_si512();
  __m512i set_sign = _mm512_setzero_si512();
  if (a.words != 1) {
    pass_words_avx512(a, out, set_plain, set_sign);
  } else {
    switch (a.planes * 2 + (a.negative ? 1 : 0)) {
      case 2: pass_one_word_avx512<1, false>(a, out, set_plain, set_sign); break;
      case 3: pass_one_word_avx512<1, true>(a, out, set_plain, set_sign); break;
      case 4: pass_one_word_avx512<2, false>(a, out, set_plain, set_sign); break;
      case 5: pass_one_word_avx512<2, true>(a, out, set_plain, set_sign); break;
      case 6: pass_one_word_avx512<3, false>(a, out, set_plain, set_sign); break;
      case 7: pass_one_word_avx512<3, true>(a, out, set_plain, set_sign); break;
      case 8: pass_one_word_avx512<4, false>(a, out, set_plain, set_sign); break;
      case 9: pass_one_word_avx512<4, true>(a, out, set_plain, set_sign); break;
      default: pass_words_avx512(a, out, set_plain, set_sign); break;
    }
  }
  return _mm512_reduce_add_epi64(set_plain) + (1 + kCellBits - a.planes) * _mm512_reduce_add_epi64(set_sign);
}
#endif

PlanePassKernel widest_kernel() {
  if (plane_pass_kernel_available(PlanePassKernel::Avx512)) return PlanePassKernel::Avx512;
  if (plane_pass_kernel_available(PlanePassKernel::Popcnt)) return PlanePassKernel::Popcnt;
  return PlanePassKernel::Portable;
}

PlanePassFn kernel_function(PlanePassKernel kernel) {
  switch (kernel) {
#if defined(__x86_64__)
    case PlanePassKernel::Avx512: return plane_pass_avx512;
    case PlanePassKernel::Popcnt: return plane_pass_popcnt;
#else
    case PlanePassKernel::Avx512:
    case PlanePassKernel::Popcnt: break;
#endif
    case PlanePassKernel::Portable: return plane_pass_portable;
    case PlanePassKernel::Auto: return kernel_function(widest_kernel());
  }
  return plane_pass_portable;
}

const PlanePassFn auto_kernel = kernel_function(widest_kernel());

}  // namespace

bool plane_pass_kernel_available(PlanePassKernel kernel) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (kernel) {
    case PlanePassKernel::Avx512:
      return __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("popcnt");
    case PlanePassKernel::Popcnt: return __builtin_cpu_supports("popcnt");
    case PlanePassKernel::Portable:
    case PlanePassKernel::Auto: return true;
  }
  return false;
#else
  return kernel == PlanePassKernel::Portable || kernel == PlanePassKernel::Auto;
#endif
}

const char* plane_pass_kernel_name(PlanePassKernel kernel) {
  switch (kernel == PlanePassKernel::Auto ? widest_kernel() : kernel) {
    case PlanePassKernel::Avx512: return "avx512-vpopcntdq";
    case PlanePassKernel::Popcnt: return "popcnt";
    case PlanePassKernel::Portable: return "portable";
    case PlanePassKernel::Auto: break;
  }
  return "portable";
}

std::int64_t run_plane_pass(const PlanePass& pass, std::int64_t* out, PlanePassKernel kernel) {
  if (kernel == PlanePassKernel::Auto) return auto_kernel(pass, out);
  if (!plane_pass_kernel_available(kernel)) {
    throw std::invalid_argument(std::string("plane pass kernel '") + plane_pass_kernel_name(kernel) +
                                "' does not run on this CPU");
  }
  return kernel_function(kernel)(pass, out);
}

}  // namespace oacim::sim
