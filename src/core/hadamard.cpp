#include "oacim/core/hadamard.hpp"

#include <cmath>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

namespace {

bool is_prime(int q) {
  if (q < 2) return false;
  for (int d = 2; static_cast<long long>(d) * d <= q; ++d) {
    if (q % d == 0) return false;
  }
  return true;
}

// Quadratic character of a mod q (q an odd prime): 0, 1 or -1.
int chi(long long a, int q) {
  a %= q;
  if (a < 0) a += q;
  if (a == 0) return 0;
  long long r = 1, b = a, e = (q - 1) / 2;  // Euler's criterion
  while (e > 0) {
    if (e & 1) r = r * b % q;
    b = b * b % q;
    e >>= 1;
  }
  return r == 1 ? 1 : -1;
}

// Paley I: q = 3 mod 4, order q + 1. H = I + S, S = [[0, 1^T], [-1, Q]], Q_ij = chi(j - i).
std::vector<std::int8_t> paley1(int q) {
  const int n = q + 1;
  std::vector<std::int8_t> h(static_cast<std::size_t>(n) * n);
  auto at = [&](int i, int j) -> std::int8_t& { return h[static_cast<std::size_t>(i) * n + j]; };
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      int s;
      if (i == 0 && j == 0) s = 0;
      else if (i == 0) s = 1;
      else if (j == 0) s = -1;
      else s = chi(j - i, q);
      at(i, j) = static_cast<std::int8_t>(s + (i == j ? 1 : 0));
    }
  }
  return h;
}

// Paley II: q = 1 mod 4, order 2 (q + 1). C = [[0, 1^T], [1, Q]] (symmetric); each 0 of C becomes
// [[1, -1], [-1, -1]] and each +-1 becomes +-[[1, 1], [1, -1]].
std::vector<std::int8_t> paley2(int q) {
  const int c = q + 1, n = 2 * c;
  std::vector<std::int8_t> h(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < c; ++i) {
    for (int j = 0; j < c; ++j) {
      int v;
      if (i == 0 && j == 0) v = 0;
      else if (i == 0 || j == 0) v = 1;
      else v = chi(j - i, q);
      const int blk[2][2] = {{v == 0 ? 1 : v, v == 0 ? -1 : v}, {v == 0 ? -1 : v, v == 0 ? -1 : -v}};
      for (int a = 0; a < 2; ++a) {
        for (int b = 0; b < 2; ++b) h[static_cast<std::size_t>(2 * i + a) * n + 2 * j + b] = static_cast<std::int8_t>(blk[a][b]);
      }
    }
  }
  return h;
}

// A dense factor of order k, or empty when none is constructed.
std::vector<std::int8_t> dense_factor(int k) {
  if (k == 1) return {1};
  if (k % 4 != 0) return {};
  if (is_prime(k - 1) && (k - 1) % 4 == 3) return paley1(k - 1);
  if (k % 2 == 0 && is_prime(k / 2 - 1) && (k / 2 - 1) % 4 == 1) return paley2(k / 2 - 1);
  return {};
}

}  // namespace

HadamardPlan hadamard_plan(int n) {
  if (n >= 1) {
    // Largest power-of-two factor first: the dense factor stays as small as possible.
    for (int m = 1 << 30; m >= 1; m >>= 1) {
      if (n % m != 0) continue;
      std::vector<std::int8_t> hk = dense_factor(n / m);
      if (!hk.empty()) return HadamardPlan{n, n / m, m, std::move(hk)};
    }
  }
  throw InvalidArgument("incoherence", fmt::format("no Hadamard construction for size {} (need K * 2^m with K = 1, "
                                                   "q + 1 for a prime q = 3 mod 4, or 2 (q + 1) for a prime q = 1 mod 4)",
                                                   n));
}

bool hadamard_supported(int n) {
  try {
    (void)hadamard_plan(n);
    return true;
  } catch (const InvalidArgument&) {
    return false;
  }
}

std::vector<std::int8_t> hadamard_matrix(int n) {
  const HadamardPlan p = hadamard_plan(n);
  std::vector<std::int8_t> h(static_cast<std::size_t>(n) * n);
  // H_K (x) H_m: entry (a m + i, b m + j) = hk[a][b] * (-1)^popcount(i & j).
  for (int a = 0; a < p.k; ++a) {
    for (int i = 0; i < p.m; ++i) {
      for (int b = 0; b < p.k; ++b) {
        for (int j = 0; j < p.m; ++j) {
          const int s = (__builtin_popcount(static_cast<unsigned>(i & j)) & 1) ? -1 : 1;
          h[static_cast<std::size_t>(a * p.m + i) * n + b * p.m + j] =
              static_cast<std::int8_t>(p.hk[static_cast<std::size_t>(a) * p.k + b] * s);
        }
      }
    }
  }
  return h;
}

void hadamard_transform(const HadamardPlan& p, float* x, int rows, bool inverse) {
  const int n = p.n;
  const double norm = 1.0 / std::sqrt(static_cast<double>(n));
  std::vector<double> t(static_cast<std::size_t>(n)), u(static_cast<std::size_t>(n));
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<std::size_t>(r) * n;
    for (int c = 0; c < n; ++c) t[static_cast<std::size_t>(c)] = row[c];
    // Sylvester factor on the last axis of [K, m] (symmetric, so the same both ways).
    for (int a = 0; a < p.k; ++a) {
      double* v = t.data() + static_cast<std::size_t>(a) * p.m;
      for (int len = 1; len < p.m; len <<= 1) {
        for (int i = 0; i < p.m; i += 2 * len) {
          for (int j = i; j < i + len; ++j) {
            const double e = v[j], f = v[j + len];
            v[j] = e + f;
            v[j + len] = e - f;
          }
        }
      }
    }
    // Dense factor on the first axis: y_b = sum_a x_a H[b][a] (x H^T) or H[a][b] (x H).
    if (p.k > 1) {
      for (int b = 0; b < p.k; ++b) {
        for (int j = 0; j < p.m; ++j) {
          double acc = 0.0;
          for (int a = 0; a < p.k; ++a) {
            const int h = inverse ? p.hk[static_cast<std::size_t>(a) * p.k + b] : p.hk[static_cast<std::size_t>(b) * p.k + a];
            acc += h * t[static_cast<std::size_t>(a) * p.m + j];
          }
          u[static_cast<std::size_t>(b) * p.m + j] = acc;
        }
      }
      t.swap(u);
    }
    for (int c = 0; c < n; ++c) row[c] = static_cast<float>(t[static_cast<std::size_t>(c)] * norm);
  }
}

}  // namespace oacim
