#pragma once
// The hardware configuration of the CIM accelerator (docs/design.md §3): what the datapath computes
// (numerics) and how long it takes (timing, SystemC only). Every field is declared once, with
// type, unit, default and doc, in the parameter table of hw_params.hpp; the YAML parser, the
// validator, `oacim hw-config --markdown` and docs/configs.md all read that table.
#include <string>

#include "oacim/hw/energy.hpp"
#include "oacim/hw/number_format.hpp"

namespace oacim::hw {

enum class Overflow { Saturate, Wrap };
enum class InputRounding { Truncate, NearestEven };

std::string to_string(Overflow o);
std::string to_string(InputRounding r);

struct HwConfig {
  // ---- numerics ----
  int macro_rows = 0;           // inputs per column adder tree (a macro's input rows)
  int macro_cols = 0;           // output columns of one macro
  NumFormat input_format = NumFormat::Bf16;
  int align_group = 0;          // inputs sharing one exponent; 0 = the weight block
  int mantissa_bits = 0;        // aligned magnitude bits, hidden bit included
  InputRounding input_rounding = InputRounding::Truncate;
  int tree_bits = 0;            // signed width of a column adder-tree output
  Overflow tree_overflow = Overflow::Saturate;
  int acc_bits = 0;             // signed width of the shift-accumulator
  Overflow acc_overflow = Overflow::Saturate;
  NumFormat psum_format = NumFormat::Fp32;
  NumFormat outlier_format = NumFormat::Fp32;
  NumFormat scale_format = NumFormat::Bf16;
  NumFormat zero_format = NumFormat::Fp32;
  NumFormat output_format = NumFormat::Bf16;
  // ---- timing (SystemC) ----
  int macro_write_cycles = 0;   // cycles to rewrite one macro's cells from the weight buffer
  int tree_latency = 0;         // pipeline stages after the adder tree
  int acc_latency = 0;          // pipeline stages of the shift-accumulator
  int correction_latency = 0;
  int outlier_units = 0;        // outlier products per cycle
  int psum_latency = 0;
  double clock_mhz = 0.0;
  int bus_bytes = 0;            // TLM bus width: bytes per cycle
  // ---- energy (reports only): pJ per counted event, unset where not configured ----
  EnergyPrices energy;

  std::string name;             // `name:` of the YAML file, or "default"
  std::string source;           // the file it came from, "" for built-in defaults

  // Cycles of one bit-serial pass: one input bit-plane per cycle, sign plane included.
  int bitplanes() const { return mantissa_bits + 1; }
};

// The table's defaults (docs/design.md §3): macro 64x64, bf16 inputs aligned per block to 8-bit
// mantissas with truncation, 16-bit adder tree, 24-bit accumulator, fp32 partial sums.
HwConfig default_hw_config();

// Checks the combinations the table cannot check key by key (e.g. an accumulator narrower than
// the adder tree). Throws ConfigError naming `cfg.source` and the key.
void validate_combinations(const HwConfig& cfg);

// Checks that `cfg` can run weights of `block_size` columns per block (blocks must fit a macro's
// rows; an alignment group must hold whole blocks). Throws InvalidArgument naming both sides.
void check_mapping(const HwConfig& cfg, int block_size, int code_bits);

}  // namespace oacim::hw
