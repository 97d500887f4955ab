#include "oacim/hw/hw_params.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace oacim::hw {

namespace {

using Set = std::function<void(HwConfig&, const std::string&)>;
using Get = std::function<std::string(const HwConfig&)>;

int to_int(const std::string& v) { return static_cast<int>(std::strtol(v.c_str(), nullptr, 10)); }

HwParam int_param(std::string key, std::string unit, std::string def, double lo, double hi, int HwConfig::*field,
                  std::string doc, bool timing = false, int multiple = 1) {
  HwParam p{std::move(key), ParamKind::Int, std::move(unit), std::move(def), {}, lo, hi, multiple, timing,
            std::move(doc), nullptr, nullptr};
  p.set = [field](HwConfig& c, const std::string& v) { c.*field = to_int(v); };
  p.get = [field](const HwConfig& c) { return std::to_string(c.*field); };
  return p;
}

HwParam format_param(std::string key, std::string def, std::vector<std::string> choices, NumFormat HwConfig::*field,
                     std::string doc) {
  HwParam p{std::move(key), ParamKind::Choice, "", std::move(def), std::move(choices), 0, 0, 1, false,
            std::move(doc), nullptr, nullptr};
  const std::string k = p.key;
  p.set = [field, k](HwConfig& c, const std::string& v) { c.*field = num_format_from_string(v, k); };
  p.get = [field](const HwConfig& c) { return to_string(c.*field); };
  return p;
}

HwParam overflow_param(std::string key, Overflow HwConfig::*field, std::string doc) {
  HwParam p{std::move(key), ParamKind::Choice, "", "saturate", {"saturate", "wrap"}, 0, 0, 1, false,
            std::move(doc), nullptr, nullptr};
  p.set = [field](HwConfig& c, const std::string& v) { c.*field = v == "wrap" ? Overflow::Wrap : Overflow::Saturate; };
  p.get = [field](const HwConfig& c) { return to_string(c.*field); };
  return p;
}

std::vector<HwParam> build_table() {
  std::vector<HwParam> t;
  t.push_back(int_param("macro.rows", "inputs", "64", 4, 1024, &HwConfig::macro_rows,
                        "Input rows of a macro: inputs summed by one column's adder tree. A weight block must fit "
                        "(block_size <= rows); floor(rows / block_size) blocks share one macro pass.",
                        false, 4));
  t.push_back(int_param("macro.cols", "outputs", "64", 1, 4096, &HwConfig::macro_cols,
                        "Output columns of a macro (output features computed per pass). Affects counters and "
                        "cycles, not numerics.",
                        true));
  t.push_back(int_param("macro.write_cycles", "cycles", "64", 0, 1e6, &HwConfig::macro_write_cycles,
                        "Cycles to rewrite a macro's cells from the on-chip weight buffer when the controller moves "
                        "to the next weight tile.",
                        true));
  t.push_back(format_param("input.format", "bf16", {"bf16", "fp16"}, &HwConfig::input_format,
                           "Format activations arrive in; fp32 inputs are first rounded to it, nearest-even."));
  {
    HwParam p{"input.align", ParamKind::Choice, "", "max-exponent", {"max-exponent"}, 0, 0, 1, false,
              "Alignment rule: inputs of a group are shifted to the group's largest exponent.", nullptr, nullptr};
    p.set = [](HwConfig&, const std::string&) {};
    p.get = [](const HwConfig&) { return std::string("max-exponent"); };
    t.push_back(std::move(p));
  }
  {
    HwParam p{"input.align_group", ParamKind::IntOrBlock, "inputs", "block", {}, 4, 65536, 4, false,
              "Inputs sharing one exponent: `block` (the weight block) or a number of inputs that is a "
              "multiple of the block size.",
              nullptr, nullptr};
    p.set = [](HwConfig& c, const std::string& v) { c.align_group = v == "block" ? 0 : to_int(v); };
    p.get = [](const HwConfig& c) { return c.align_group == 0 ? std::string("block") : std::to_string(c.align_group); };
    t.push_back(std::move(p));
  }
  t.push_back(int_param("input.mantissa_bits", "bits", "8", 2, 11, &HwConfig::mantissa_bits,
                        "Magnitude bits kept after alignment, hidden bit included (at most the input format's "
                        "precision: 8 for bf16, 11 for fp16). A bit-serial pass takes mantissa_bits + 1 cycles "
                        "(sign plane included)."));
  {
    HwParam p{"input.rounding", ParamKind::Choice, "", "truncate", {"truncate", "nearest-even"}, 0, 0, 1, false,
              "Bits shifted out by alignment: truncated toward zero (magnitude) or rounded to nearest-even "
              "(a magnitude that rounds up to 2^mantissa_bits saturates at 2^mantissa_bits - 1).",
              nullptr, nullptr};
    p.set = [](HwConfig& c, const std::string& v) {
      c.input_rounding = v == "nearest-even" ? InputRounding::NearestEven : InputRounding::Truncate;
    };
    p.get = [](const HwConfig& c) { return to_string(c.input_rounding); };
    t.push_back(std::move(p));
  }
  t.push_back(int_param("adder_tree.bits", "bits", "16", 4, 32, &HwConfig::tree_bits,
                        "Signed width of a column adder-tree output (the sum of code x input-bit over one block)."));
  t.push_back(overflow_param("adder_tree.overflow", &HwConfig::tree_overflow,
                             "What an adder-tree sum outside its width does: saturate or wrap (two's complement)."));
  t.push_back(int_param("adder_tree.latency", "cycles", "1", 0, 64, &HwConfig::tree_latency,
                        "Pipeline stages between a bit-plane entering the macro and its tree sum.", true));
  t.push_back(int_param("accumulator.bits", "bits", "24", 4, 62, &HwConfig::acc_bits,
                        "Signed width of the shift-accumulator over the bit-serial cycles (must be at least "
                        "adder_tree.bits)."));
  t.push_back(overflow_param("accumulator.overflow", &HwConfig::acc_overflow,
                             "What a shift-accumulator value outside its width does: saturate or wrap."));
  t.push_back(int_param("accumulator.latency", "cycles", "1", 0, 64, &HwConfig::acc_latency,
                        "Pipeline stages of the shift-accumulator after the last bit-plane.", true));
  t.push_back(format_param("psum.format", "fp32", {"fp32", "bf16", "fp16"}, &HwConfig::psum_format,
                           "Format of the block results and of the partial sums accumulated over blocks and "
                           "macros, in column order."));
  t.push_back(int_param("psum.latency", "cycles", "1", 0, 64, &HwConfig::psum_latency,
                        "Cycles of one partial-sum accumulation step.", true));
  t.push_back(format_param("outlier.product", "fp32", {"fp32", "bf16"}, &HwConfig::outlier_format,
                           "Format of the BF16 x BF16 outlier products before they join the partial sum."));
  t.push_back(int_param("outlier.units", "products/cycle", "4", 1, 1024, &HwConfig::outlier_units,
                        "Outlier multipliers working in parallel.", true));
  t.push_back(format_param("scale.format", "bf16", {"bf16", "fp16", "fp32"}, &HwConfig::scale_format,
                           "Format the per-(row, block) dequantization scale is held in."));
  t.push_back(format_param("zero.format", "fp32", {"fp32", "bf16", "fp16"}, &HwConfig::zero_format,
                           "Format the per-(row, block) zero point is held in (non-integer after second-level "
                           "quantization)."));
  t.push_back(int_param("correction.latency", "cycles", "2", 0, 64, &HwConfig::correction_latency,
                        "Cycles of the offset/zero correction and scaling of one block result.", true));
  t.push_back(format_param("output.format", "bf16", {"bf16", "fp16", "fp32"}, &HwConfig::output_format,
                           "The layer output is rounded to this format."));
  {
    HwParam p{"clock.mhz", ParamKind::Number, "MHz", "1000", {}, 1e-3, 1e5, 1, true,
              "Clock frequency; converts cycles into simulated time.", nullptr, nullptr};
    p.set = [](HwConfig& c, const std::string& v) { c.clock_mhz = std::strtod(v.c_str(), nullptr); };
    p.get = [](const HwConfig& c) { return fmt::format("{}", c.clock_mhz); };
    t.push_back(std::move(p));
  }
  t.push_back(int_param("tlm.bus_bytes", "bytes/cycle", "8", 1, 1024, &HwConfig::bus_bytes,
                        "Width of the TLM-2.0 bus that loads weights and activations and reads results.", true));
  return t;
}

bool parse_integer(const std::string& v, long& out) {
  if (v.empty()) return false;
  char* end = nullptr;
  out = std::strtol(v.c_str(), &end, 10);
  return end && *end == '\0';
}

}  // namespace

const std::vector<HwParam>& hw_params() {
  static const std::vector<HwParam> kTable = build_table();
  return kTable;
}

const HwParam* find_hw_param(const std::string& key) {
  for (const auto& p : hw_params()) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

std::string check_param_value(const HwParam& p, const std::string& value) {
  auto check_int = [&](const std::string& v) -> std::string {
    long n = 0;
    if (!parse_integer(v, n)) return fmt::format("'{}' is not an integer", v);
    if (static_cast<double>(n) < p.min || static_cast<double>(n) > p.max) return fmt::format("{} is outside [{}, {}]", n, p.min, p.max);
    if (n % p.multiple_of != 0) return fmt::format("{} is not a multiple of {}", n, p.multiple_of);
    return "";
  };
  switch (p.kind) {
    case ParamKind::Int: return check_int(value);
    case ParamKind::IntOrBlock: return value == "block" ? "" : check_int(value);
    case ParamKind::Number: {
      char* end = nullptr;
      const double d = std::strtod(value.c_str(), &end);
      if (value.empty() || !end || *end != '\0' || !std::isfinite(d)) return fmt::format("'{}' is not a number", value);
      if (d < p.min || d > p.max) return fmt::format("{} is outside [{}, {}]", d, p.min, p.max);
      return "";
    }
    case ParamKind::Choice:
      for (const auto& c : p.choices) {
        if (c == value) return "";
      }
      {
        std::string list;
        for (const auto& c : p.choices) list += (list.empty() ? "" : ", ") + c;
        return fmt::format("'{}' is not one of {}", value, list);
      }
  }
  return "unknown parameter kind";
}

std::string hw_params_markdown() {
  std::string out = "| key | type | unit | default | values | affects | meaning |\n|---|---|---|---|---|---|---|\n";
  for (const auto& p : hw_params()) {
    std::string type;
    std::string values;
    switch (p.kind) {
      case ParamKind::Int:
        type = "int";
        values = fmt::format("{}..{}", p.min, p.max);
        if (p.multiple_of > 1) values += fmt::format(", multiple of {}", p.multiple_of);
        break;
      case ParamKind::IntOrBlock:
        type = "`block` or int";
        values = fmt::format("block, {}..{} (multiple of {})", p.min, p.max, p.multiple_of);
        break;
      case ParamKind::Number:
        type = "number";
        values = fmt::format("{}..{}", p.min, p.max);
        break;
      case ParamKind::Choice:
        type = "choice";
        for (const auto& c : p.choices) values += (values.empty() ? "" : ", ") + ("`" + c + "`");
        break;
    }
    out += fmt::format("| `{}` | {} | {} | `{}` | {} | {} | {} |\n", p.key, type, p.unit, p.default_text, values,
                       p.timing_only ? "cycles, counters" : "numerics", p.doc);
  }
  return out;
}

}  // namespace oacim::hw
