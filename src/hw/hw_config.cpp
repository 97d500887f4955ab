#include "oacim/hw/hw_config.hpp"

#include <fmt/format.h>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"
#include "oacim/hw/hw_params.hpp"

namespace oacim::hw {

std::string to_string(Overflow o) { return o == Overflow::Wrap ? "wrap" : "saturate"; }
std::string to_string(InputRounding r) { return r == InputRounding::NearestEven ? "nearest-even" : "truncate"; }

HwConfig default_hw_config() {
  HwConfig cfg;
  for (const auto& p : hw_params()) p.set(cfg, p.default_text);
  cfg.name = "default";
  return cfg;
}

void validate_combinations(const HwConfig& cfg) {
  const std::string& file = cfg.source.empty() ? std::string("<hw config>") : cfg.source;
  if (cfg.acc_bits < cfg.tree_bits) {
    throw ConfigError(file, 0, "accumulator.bits",
                      fmt::format("{} bits is narrower than adder_tree.bits {}: the accumulator must hold one tree "
                                  "sum",
                                  cfg.acc_bits, cfg.tree_bits));
  }
  if (cfg.mantissa_bits > precision_bits(cfg.input_format)) {
    throw ConfigError(file, 0, "input.mantissa_bits",
                      fmt::format("{} bits exceeds the {} bits of a {} significand", cfg.mantissa_bits,
                                  precision_bits(cfg.input_format), to_string(cfg.input_format)));
  }
  if (cfg.align_group != 0 && cfg.align_group % 4 != 0) {
    throw ConfigError(file, 0, "input.align_group", fmt::format("{} is not a multiple of 4", cfg.align_group));
  }
}

void check_mapping(const HwConfig& cfg, int block_size, int code_bits) {
  const std::string where = cfg.source.empty() ? cfg.name : cfg.source;
  if (block_size > cfg.macro_rows) {
    throw InvalidArgument("macro.rows", fmt::format("weights with block_size {} do not fit the {} input rows of a "
                                                    "macro in '{}': a block's sum must come from one adder tree",
                                                    block_size, cfg.macro_rows, where));
  }
  if (cfg.align_group != 0 && cfg.align_group % block_size != 0) {
    throw InvalidArgument("input.align_group",
                          fmt::format("{} inputs in '{}' is not a whole number of weight blocks of {} columns",
                                      cfg.align_group, where, block_size));
  }
  if (code_bits > kCellBits) {
    throw InvalidArgument("weights", fmt::format("{}-bit codes do not fit the {}-bit cells", code_bits, kCellBits));
  }
}

}  // namespace oacim::hw
