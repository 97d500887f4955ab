#pragma once
// GPTQ checkpoint layers (the layout AutoGPTQ, GPTQModel, transformers and vLLM read;
// docs/models.md "GPTQ checkpoints") to and from PackedCimWeights, exactly. One Linear of R output
// rows (out_features) x C input columns (in_features), G groups:
//   qweight  I32 [C * bits / 32, R]  codes along the input dimension: per output column a
//                                     little-endian bit stream, code k at bits [k*bits, (k+1)*bits)
//                                     (2, 4, 8 bits: 32/bits codes a word; 3 bits: 32 codes in 3 words)
//   qzeros   I32 [G, R * bits / 32]  zeros packed the same way along the output dimension;
//                                     checkpoint_format "gptq" (v1) stores zero - 1, "gptq_v2" the zero
//   scales   F16 [G, R]
//   g_idx    I32 [C]                  each input column's group (not ascending under desc_act)
// w[r][c] = scale[g][r] * (q[c][r] - zero[g][r]), g = g_idx[c], codes unsigned in [0, 2^bits).
// On the chip the columns are reordered so that every group is contiguous (input_order; identity
// unless desc_act scattered them), and a group becomes 32-column blocks sharing its scale and zero.
// No torch.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"

namespace oacim {

enum class GptqZeros { V1, V2 };  // "gptq": stored zero - 1 (AutoGPTQ), "gptq_v2": the zero
std::string to_string(GptqZeros z);
GptqZeros gptq_zeros_from_string(const std::string& text, const std::string& key);  // InvalidArgument

struct GptqLayer {
  int rows = 0;  // out_features
  int cols = 0;  // in_features
  int bits = 4;
  std::vector<std::int32_t> qweight;  // [cols * bits / 32, rows]
  std::vector<std::int32_t> qzeros;   // [groups, rows * bits / 32]
  std::vector<float> scales;          // [groups, rows], fp16 values
  std::vector<std::int32_t> g_idx;    // [cols]
  int groups() const { return rows == 0 ? 0 : static_cast<int>(scales.size() / static_cast<std::size_t>(rows)); }
};

// The bit stream of `count` codes of `bits` bits, packed into 32-bit words (and back).
std::vector<std::int32_t> pack_code_stream(const std::vector<int>& codes, int bits);
std::vector<int> unpack_code_stream(const std::int32_t* words, std::size_t count, int bits);

// Whether `order` is a permutation of the columns 0..cols-1 (an act-order input order).
bool is_column_order(const std::vector<std::int32_t>& order, int cols);

struct GptqImport {
  PackedCimWeights weights;
  std::vector<std::int32_t> input_order;  // chip column j holds input column input_order[j]; empty: identity
};

// `where` names the layer in errors (FormatError): sizes, bits, groups that are not whole blocks,
// non-finite scales, codes or zeros out of range.
GptqImport gptq_to_packed(const GptqLayer& layer, GptqZeros zeros, const std::string& where);

struct GptqExport {
  GptqLayer layer;
  // Columns per group: the largest block multiple within which every row's blocks share their
  // scale and zero (a checkpoint's own group size comes back); `cols` = one group ("-1").
  int group_size = 0;
  bool sym = false;               // every zero is 2^(bits-1) (GPTQ's symmetric grid)
  double max_scale_change = 0.0;  // largest relative change of a scale rounded to fp16
};

// The chip's layer in the GPTQ layout. InvalidArgument naming `where` for
// what the layout cannot hold: outliers, fractional or second-level zeros, codes minus offsets
// that do not fit `bits` bits in a block, zeros v1 cannot store (0), shapes the packing refuses.
// `group_size` > 0 asks for that group (blocks within it must share scale and zero); 0: the largest.
GptqExport packed_to_gptq(const PackedCimWeights& weights, const std::vector<std::int32_t>& input_order, GptqZeros zeros,
                          const std::string& where, int group_size = 0);
// The largest group packed_to_gptq would choose (`cols` for one group per row).
int gptq_group_size(const PackedCimWeights& weights);

}  // namespace oacim
