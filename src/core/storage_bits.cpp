#include "oacim/core/storage_bits.hpp"

#include "oacim/core/cim_cell.hpp"

namespace oacim {

StorageBits storage_bits(const PackedCimWeights& w) {
  StorageBits s;
  const std::int64_t R = w.rows();
  const std::int64_t C = w.cols();
  const std::int64_t nb = w.blocks();
  const std::int64_t G = num_groups(w.rows(), w.second_level().group_size);
  const SecondLevelSpec& qq = w.second_level();
  s.weights = R * C;
  s.cells = R * C * kCellBits;
  s.scales = R * nb * (qq.quantize_scales() ? qq.scale_bits : 16);
  s.zeros = R * nb * (qq.quantize_zeros() ? qq.zero_bits : 16);
  s.second_level = G * nb * 32 * ((qq.quantize_scales() ? 1 : 0) + (qq.quantize_zeros() ? 1 : 0));
  s.offsets = C * 8;
  int index_bits = 0;
  while ((1 << index_bits) < w.grid().block_size + 1) ++index_bits;
  s.outlier_index = R * nb * index_bits;
  return s;
}

}  // namespace oacim
