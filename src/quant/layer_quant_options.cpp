#include "oacim/quant/layer_quant_options.hpp"

#include <fmt/format.h>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"

namespace oacim::quant {

const EnumNames<Method>& method_names() {
  static const EnumNames<Method> kNames = {
      {Method::Rtn, "rtn"}, {Method::Gptq, "gptq"}, {Method::Oa, "oa"}, {Method::DiscQuant, "discquant"}};
  return kNames;
}

std::string to_string(Method m) { return enum_name(method_names(), m); }

Method method_from_string(const std::string& text, const std::string& key) { return enum_value(method_names(), text, key); }

LayerQuantOptions::LayerQuantOptions() {
  grid.grid.bits = 4;
  grid.grid.kind = CodeKind::Signed;
  grid.grid.block_size = 32;
  grid.range.rule = RangeRule::MinMax;
}

GridSpec LayerQuantOptions::grid_for(int cols) const {
  GridSpec g = grid.grid;
  if (g.block_size == 0) g.block_size = cols;
  return g;
}

void LayerQuantOptions::validate() const {
  BlockGridOptions check = grid;
  if (check.grid.block_size == 0) check.grid.block_size = 4;  // per-row blocks: checked per layer
  check.validate();
  if (grid.grid.bits > kCellBits) {
    throw InvalidArgument("wbits", fmt::format("{} bits do not fit the {}-bit CIM cell", grid.grid.bits, kCellBits));
  }
  offset_search.validate(grid.grid);
  // Measured on stories260K (OA, outliers and offsets, 4-bit, docs/quantization.md): perplexity 6.21
  // at 1, 6.54 at 2, 7.47 at 3, 147.8 at 7, for 47.4 -> 45.1 % of stored bits set. Offsets in the
  // cell never clip, so any offset the cell holds costs no accuracy.
  if (offsets && offset_search.sign == OffsetSign::Minimise && offset_search.max_abs_offset > kMaxMinimiseOffset &&
      !grid.grid.offsets_in_cell) {
    throw InvalidArgument("max_abs_offset",
                          fmt::format("{} with offset_sign minimise: the exact popcount minimiser then moves most codes "
                                      "towards the code with one 1 bit and ruins accuracy (stories260K: perplexity 6.21 "
                                      "at 1, 7.47 at 3, 147.8 at 7 for 2 points fewer ones); use at most {}",
                                      offset_search.max_abs_offset, kMaxMinimiseOffset));
  }
  if (!(percdamp >= 0.0f && percdamp < 1.0f)) {
    throw InvalidArgument("percdamp", fmt::format("{} is outside [0, 1)", percdamp));
  }
  if (gptq_block < 1) throw InvalidArgument("gptq_block", fmt::format("{} must be >= 1", gptq_block));
  if (method == Method::Gptq && (outliers || offsets)) {
    throw InvalidArgument(outliers ? "outliers" : "offsets",
                          "GPTQ has no outliers or offsets; the outlier-aware GPTQ is --method oa");
  }
  if (method != Method::Gptq && (act_order || static_groups)) {
    throw InvalidArgument(act_order ? "act_order" : "static_groups",
                          fmt::format("applies to --method gptq only ({} orders blocks by itself or not at all)",
                                      to_string(method)));
  }
  if ((outliers || method == Method::Oa) && grid.grid.block_size == 0) {
    throw InvalidArgument("block_size", "the outlier-aware quantizer needs blocks (0 = per row is GPTQ/RTN only)");
  }
  if (outliers && !grid.per_row) {
    throw InvalidArgument("outliers", "outliers need per-row statistics (remove --per-block-stats)");
  }
}

void LayerQuantOptions::check_packable() const {
  validate();
  if (method == Method::Gptq && act_order && !static_groups && grid.grid.block_size != 0) {
    throw InvalidArgument("act_order", "with groups, act-order scatters each group over the row and the packed "
                                         "format cannot hold that: add --static-groups (or use per-row grids, --block-size 0)");
  }
}

}  // namespace oacim::quant
