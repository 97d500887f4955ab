#pragma once
// Random Hadamard incoherence of one Linear (docs/algorithms.md D.4, QuIP), as a CIM chip runs it: the
// macro stores the rotated weight W~ = Q_R D_out W D_in Q_C^T (quantized like any weight), an
// input transform unit feeds it x~ = x D_in Q_C^T, and an output transform unit turns its result
// back, y = y~ Q_R D_out, so y = x W^T exactly up to rounding (Q_n = H_n / sqrt(n) orthogonal,
// D = diag of random signs). A side whose size has no Hadamard construction (hadamard.hpp) is
// left unrotated (identity, no signs). The transforms run in fp32 outside the datapath. No torch.
#include <cstdint>
#include <string>
#include <vector>

namespace oacim {

struct IncoherenceRotation {
  int rows = 0;                       // R = out features
  int cols = 0;                       // C = in features
  std::vector<std::int8_t> sign_in;   // [C] +-1; empty: inputs not rotated
  std::vector<std::int8_t> sign_out;  // [R] +-1; empty: outputs not rotated
  bool rotates_inputs() const { return !sign_in.empty(); }
  bool rotates_outputs() const { return !sign_out.empty(); }
  bool rotates() const { return rotates_inputs() || rotates_outputs(); }
};

// Signs from Rng(seed ^ fnv1a64(layer)): the same layer and seed give the same rotation.
IncoherenceRotation make_incoherence(int rows, int cols, std::uint64_t seed, const std::string& layer);
// Checks sizes and signs (InvalidArgument naming `what`): for rotations read from files.
void validate_incoherence(const IncoherenceRotation& r, const std::string& what);

// x [n x C] <- (x . s_in) Q_C^T: what the macro sees.
void rotate_inputs(const IncoherenceRotation& r, float* x, int n);
// y [n x R] <- (y Q_R) . s_out: the layer's outputs from the macro's.
void unrotate_outputs(const IncoherenceRotation& r, float* y, int n);
// W [R x C] -> W~ = Q_R D_out W D_in Q_C^T, and back.
std::vector<float> rotate_weight(const IncoherenceRotation& r, const float* w);
std::vector<float> unrotate_weight(const IncoherenceRotation& r, const float* w_rotated);
// The same maps as dense matrices (for autograd): x~ = x M_in [C x C], y = y~ M_out [R x R].
std::vector<float> input_rotation_matrix(const IncoherenceRotation& r);
std::vector<float> output_rotation_matrix(const IncoherenceRotation& r);

}  // namespace oacim
