#include "oa_search_avx512.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
// GCC 12 reports the intrinsics' own _mm512_undefined_pd() pass-through operands as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace oacim::quant {

#if defined(__x86_64__)

namespace {

#define OACIM_AVX512_FN __attribute__((target("avx512f,avx512dq,avx2")))
#define OACIM_AVX512_INLINE __attribute__((target("avx512f,avx512dq,avx2"), always_inline)) inline

constexpr int kLanes = 8;

// The grids of the 8 rows: the fp64 divisor and zero code_of uses, the fp32 scale and zero of
// dequantize_code.
struct Grid8 {
  __m512d divisor;
  __m512d zero_d;
  __m256 scale_f;
  __m256 zero_f;
};

// Per-column constants of the block (the same for every row).
struct Column {
  double offset_d;
  float offset_f;
  double lo, hi;  // the clamp range, moved by the offset when offsets live in the cell
};

// State of 8 rows; every array holds [column][lane].
struct Lanes {
  int n = 0;
  std::vector<double> w0, cur, snap, prefix, nat_qhat, nat_err;
  std::vector<std::int32_t> nat_code;
  std::vector<Column> cols;
  const double* u = nullptr;
  double uat(int a, int b) const { return u[static_cast<std::size_t>(a) * n + b]; }
  double* at(std::vector<double>& v, int c) { return v.data() + static_cast<std::size_t>(c) * kLanes; }
};

// code_of: clamp(nearbyint(x / max(s, 1e-9) + z + o)), as a double holding the integer.
OACIM_AVX512_INLINE __m512d code8(__m512d x, const Grid8& g, const Column& c) {
  __m512d t = _mm512_div_pd(x, g.divisor);
  t = _mm512_add_pd(t, g.zero_d);
  t = _mm512_add_pd(t, _mm512_set1_pd(c.offset_d));
  t = _mm512_roundscale_pd(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_min_pd(_mm512_max_pd(t, _mm512_set1_pd(c.lo)), _mm512_set1_pd(c.hi));
}

// dequantize_code in fp32: s * ((q - z) - o), widened to fp64. Through the integer code, as the
// scalar path goes: a code rounded to -0.0 is the integer 0, whose float is +0.0.
OACIM_AVX512_INLINE __m512d dequant8(__m512d q, const Grid8& g, const Column& c) {
  __m256 t = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm512_cvttpd_epi32(q)), g.zero_f);
  t = _mm256_sub_ps(t, _mm256_set1_ps(c.offset_f));
  return _mm512_cvtps_pd(_mm256_mul_ps(g.scale_f, t));
}

// cur[k] -= e * U[j][k] for k in [from, n).
OACIM_AVX512_INLINE void propagate(Lanes& s, __m512d e, int j, int from) {
  // Locals, so that the loop does not reload the sizes and pointers after every store.
  const int n = s.n;
  const double* __restrict urow = s.u + static_cast<std::size_t>(j) * n;
  double* __restrict cur = s.cur.data();
  for (int k = from; k < n; ++k) {
    double* ck = cur + static_cast<std::size_t>(k) * kLanes;
    _mm512_storeu_pd(ck, _mm512_sub_pd(_mm512_loadu_pd(ck), _mm512_mul_pd(e, _mm512_set1_pd(urow[k]))));
  }
}

// Candidate 0 (no outlier) for the 8 rows, recording what every other candidate starts from.
OACIM_AVX512_INLINE __m512d natural(Lanes& s, const Grid8& g) {
  const int n = s.n;
  s.cur = s.w0;
  __m512d loss = _mm512_setzero_pd();
  for (int j = 0; j < n; ++j) {
    if (j % 4 == 0) {
      std::memcpy(s.snap.data() + static_cast<std::size_t>(j / 4) * n * kLanes, s.cur.data(), sizeof(double) * n * kLanes);
      _mm512_storeu_pd(s.at(s.prefix, j / 4), loss);
    }
    const Column& c = s.cols[static_cast<std::size_t>(j)];
    const __m512d x = _mm512_loadu_pd(s.at(s.cur, j));
    const __m512d q = code8(x, g, c);
    const __m512d qh = dequant8(q, g, c);
    const __m512d e = _mm512_div_pd(_mm512_sub_pd(x, qh), _mm512_set1_pd(s.uat(j, j)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(s.nat_code.data() + static_cast<std::size_t>(j) * kLanes), _mm512_cvttpd_epi32(q));
    _mm512_storeu_pd(s.at(s.nat_qhat, j), qh);
    _mm512_storeu_pd(s.at(s.nat_err, j), e);
    loss = _mm512_add_pd(loss, _mm512_mul_pd(e, e));
    propagate(s, e, j, j + 1);
  }
  _mm512_storeu_pd(s.at(s.prefix, n / 4), loss);
  return loss;
}

struct Record {
  OaBlockOutput* out;
  int r0;
  __mmask8 lanes;  // the rows whose chosen candidate this is
};

void record_lanes(const Record& rec, int n, int j, const std::int32_t* code, const double* qh, const double* e) {
  for (int l = 0; l < kLanes; ++l) {
    if (!((rec.lanes >> l) & 1)) continue;
    const std::size_t i = static_cast<std::size_t>(rec.r0 + l) * n + j;
    rec.out->codes[i] = static_cast<std::int8_t>(code ? code[l] : 0);
    rec.out->qhat[i] = static_cast<float>(qh[l]);
    rec.out->err[i] = static_cast<float>(e[l]);
  }
}

// The candidate with the outlier at column `star` for the 8 rows. Without a record, stops once no
// row can beat its bound (a pruned row's loss is already >= its bound and only grows, so the
// choice is that of the row-by-row search); with one, runs to the end and writes the rows in
// rec.lanes.
OACIM_AVX512_FN __m512d outlier_candidate(Lanes& s, const Grid8& g, int star, __m512d bound, const Record* rec, Bf16* ov_out) {
  const int n = s.n;
  const int qs = star / 4 * 4;
  __m512d loss = _mm512_loadu_pd(s.at(s.prefix, qs / 4));
  if (!rec && _mm512_cmp_pd_mask(loss, bound, _CMP_LT_OQ) == 0) return loss;
  std::memcpy(s.cur.data() + static_cast<std::size_t>(qs) * kLanes,
              s.snap.data() + (static_cast<std::size_t>(qs / 4) * n + qs) * kLanes, sizeof(double) * (n - qs) * kLanes);
  std::memcpy(s.at(s.cur, qs), s.at(s.w0, qs), sizeof(double) * 4 * kLanes);
  alignas(64) double ovd[kLanes];
  const double* xs = s.at(s.cur, star);
  for (int l = 0; l < kLanes; ++l) {
    const Bf16 ov = Bf16::from_float(static_cast<float>(xs[l]));
    ovd[l] = static_cast<double>(ov.to_float());
    if (ov_out) ov_out[l] = ov;
  }
  int order[4] = {star, 0, 0, 0};
  for (int c = qs, k = 1; c < qs + 4; ++c) {
    if (c != star) order[k++] = c;
  }
  alignas(64) double qh_l[kLanes];
  alignas(64) double e_l[kLanes];
  for (int k = 0; k < 4; ++k) {
    const int j = order[k];
    const __m512d qh = k == 0 ? _mm512_loadu_pd(ovd) : _mm512_setzero_pd();
    const __m512d e = _mm512_div_pd(_mm512_sub_pd(_mm512_loadu_pd(s.at(s.cur, j)), qh), _mm512_set1_pd(s.uat(j, j)));
    loss = _mm512_add_pd(loss, _mm512_mul_pd(e, e));
    for (int m = k + 1; m < 4; ++m) {
      double* cm = s.at(s.cur, order[m]);
      _mm512_storeu_pd(cm, _mm512_sub_pd(_mm512_loadu_pd(cm), _mm512_mul_pd(e, _mm512_set1_pd(s.uat(j, order[m])))));
    }
    propagate(s, e, j, qs + 4);
    if (rec) {
      _mm512_store_pd(qh_l, qh);
      _mm512_store_pd(e_l, e);
      record_lanes(*rec, n, j, nullptr, qh_l, e_l);
    }
  }
  if (!rec && _mm512_cmp_pd_mask(loss, bound, _CMP_LT_OQ) == 0) return loss;
  alignas(32) std::int32_t code_l[kLanes];
  for (int j = qs + 4; j < n; ++j) {
    const Column& c = s.cols[static_cast<std::size_t>(j)];
    const __m512d x = _mm512_loadu_pd(s.at(s.cur, j));
    const __m512d q = code8(x, g, c);
    const __m512d qh = dequant8(q, g, c);
    const __m512d e = _mm512_div_pd(_mm512_sub_pd(x, qh), _mm512_set1_pd(s.uat(j, j)));
    loss = _mm512_add_pd(loss, _mm512_mul_pd(e, e));
    if (!rec && _mm512_cmp_pd_mask(loss, bound, _CMP_LT_OQ) == 0) return loss;
    propagate(s, e, j, j + 1);
    if (rec) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(code_l), _mm512_cvttpd_epi32(q));
      _mm512_store_pd(qh_l, qh);
      _mm512_store_pd(e_l, e);
      record_lanes(*rec, n, j, code_l, qh_l, e_l);
    }
  }
  if (rec) {
    for (int j = 0; j < qs; ++j) {
      record_lanes(*rec, n, j, s.nat_code.data() + static_cast<std::size_t>(j) * kLanes, s.at(s.nat_qhat, j), s.at(s.nat_err, j));
    }
  }
  return loss;
}

OACIM_AVX512_FN void search8(const OaBlockInput& in, int r0, Lanes& s, OaBlockOutput& out) {
  const int n = in.n;
  alignas(64) double divisor[kLanes], zero_d[kLanes];
  alignas(32) float scale_f[kLanes], zero_f[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const GridParams& p = in.params[r0 + l];
    divisor[l] = std::max(static_cast<double>(p.scale), 1e-9);
    zero_d[l] = static_cast<double>(p.zero);
    scale_f[l] = p.scale;
    zero_f[l] = p.zero;
    const float* w = in.w + static_cast<std::size_t>(r0 + l) * in.stride;
    for (int c = 0; c < n; ++c) s.w0[static_cast<std::size_t>(c) * kLanes + l] = w[c];
  }
  Grid8 g;
  g.divisor = _mm512_load_pd(divisor);
  g.zero_d = _mm512_load_pd(zero_d);
  g.scale_f = _mm256_load_ps(scale_f);
  g.zero_f = _mm256_load_ps(zero_f);

  __m512d best = natural(s, g);
  alignas(32) std::int32_t best_star[kLanes];
  for (int& b : best_star) b = -1;
  if (in.outliers) {
    for (int star = 0; star < n; ++star) {
      const __m512d loss = outlier_candidate(s, g, star, best, nullptr, nullptr);
      const __mmask8 better = _mm512_cmp_pd_mask(loss, best, _CMP_LT_OQ);
      best = _mm512_mask_mov_pd(best, better, loss);
      for (int l = 0; l < kLanes; ++l) {
        if ((better >> l) & 1) best_star[l] = star;
      }
    }
  }
  alignas(64) double best_l[kLanes];
  _mm512_store_pd(best_l, best);
  __mmask8 natural_lanes = 0;
  for (int l = 0; l < kLanes; ++l) {
    out.loss[static_cast<std::size_t>(r0 + l)] = best_l[l];
    if (best_star[l] < 0) {
      natural_lanes = static_cast<__mmask8>(natural_lanes | (1u << l));
      out.outlier[static_cast<std::size_t>(r0 + l)] = -1;
      out.outlier_value[static_cast<std::size_t>(r0 + l)] = Bf16();
    }
  }
  const Record nat{&out, r0, natural_lanes};
  for (int j = 0; j < n; ++j) {
    record_lanes(nat, n, j, s.nat_code.data() + static_cast<std::size_t>(j) * kLanes, s.at(s.nat_qhat, j), s.at(s.nat_err, j));
  }
  // Each chosen outlier column once, for the rows that chose it.
  for (int l = 0; l < kLanes; ++l) {
    const int star = best_star[l];
    if (star < 0) continue;
    __mmask8 lanes = 0;
    bool first = true;
    for (int m = 0; m < kLanes; ++m) {
      if (best_star[m] == star) {
        first = first && m >= l;
        lanes = static_cast<__mmask8>(lanes | (1u << m));
      }
    }
    if (!first) continue;  // done with the lowest lane that chose it
    const Record rec{&out, r0, lanes};
    Bf16 ov[kLanes];
    (void)outlier_candidate(s, g, star, _mm512_set1_pd(INFINITY), &rec, ov);
    for (int m = 0; m < kLanes; ++m) {
      if (!((lanes >> m) & 1)) continue;
      out.outlier[static_cast<std::size_t>(r0 + m)] = static_cast<std::int16_t>(star);
      out.outlier_value[static_cast<std::size_t>(r0 + m)] = ov[m];
    }
  }
}

}  // namespace

bool oa_search_vector_kernel_available() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

int oa_search_rows_avx512(const OaBlockInput& in, int r0, int r1, OaBlockOutput& out) {
  Lanes s;
  s.n = in.n;
  s.u = in.u;
  const std::size_t cells = static_cast<std::size_t>(in.n) * kLanes;
  s.w0.assign(cells, 0.0);
  s.cur.assign(cells, 0.0);
  s.snap.assign(cells * static_cast<std::size_t>(in.n / 4), 0.0);
  s.prefix.assign(static_cast<std::size_t>(in.n / 4 + 1) * kLanes, 0.0);
  s.nat_qhat.assign(cells, 0.0);
  s.nat_err.assign(cells, 0.0);
  s.nat_code.assign(cells, 0);
  for (int j = 0; j < in.n; ++j) {
    const int o = in.offsets[j];
    const int shift = in.grid.offsets_in_cell ? o : 0;
    s.cols.push_back(Column{static_cast<double>(o), static_cast<float>(o), static_cast<double>(in.grid.code_min() + shift),
                            static_cast<double>(in.grid.code_max() + shift)});
  }
  int r = r0;
  for (; r + kLanes <= r1; r += kLanes) search8(in, r, s, out);
  return r;
}

#else

bool oa_search_vector_kernel_available() { return false; }
int oa_search_rows_avx512(const OaBlockInput&, int r0, int, OaBlockOutput&) { return r0; }

#endif

}  // namespace oacim::quant
