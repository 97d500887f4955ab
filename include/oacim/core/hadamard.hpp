#pragma once
// Hadamard matrices and the fast orthogonal transform Q_n = H_n / sqrt(n) for the incoherence
// processing of docs/algorithms.md D.4, constructed rather than tabulated: n = K * 2^m with H_K from
// Paley's constructions (I: K = q + 1, q prime = 3 mod 4; II: K = 2 (q + 1), q prime = 1 mod 4)
// or K = 1, times Sylvester's H_{2^m}. Covers the LLM sizes upstream hard-codes except through
// other factors: 3072 = 12 * 256, 9216 = 36 * 256, 14336 = 28 * 512, and 11008 = 5504 * 2
// (Paley I, q = 5503) where upstream uses a tabulated H_172. No torch.
#include <cstdint>
#include <vector>

namespace oacim {

// The decomposition used for n: H_n = H_K (x) H_{2^m} (K = 1 for powers of two).
struct HadamardPlan {
  int n = 0;
  int k = 1;      // order of the dense factor
  int m = 1;      // 2^m-size Sylvester factor (m here is the size, a power of two)
  std::vector<std::int8_t> hk;  // H_K row-major, entries +-1
};

// True when n has a construction (n = 1, 2, or K * 2^m as above).
bool hadamard_supported(int n);
// InvalidArgument naming n when there is none.
HadamardPlan hadamard_plan(int n);
// The full n x n matrix (+-1, row-major): for tests and small sizes.
std::vector<std::int8_t> hadamard_matrix(int n);

// x <- x Q_n^T for each of `rows` rows of length n (Q_n symmetric only for Sylvester sizes; the
// dense factor is applied as written). `inverse` applies x <- x Q_n, undoing it exactly up to
// rounding. fp32 values, double accumulation in the dense factor.
void hadamard_transform(const HadamardPlan& plan, float* x, int rows, bool inverse = false);

}  // namespace oacim
