#include "oacim/hw/hw_params.hpp"

#include <fmt/format.h>

#include "oacim/hw/energy.hpp"

namespace oacim::hw {

namespace {

using K = OptionKind;

OptionBuilder knob(std::string key, OptionKind kind, std::string def, std::string unit, std::string doc,
                   bool timing = false) {
  OptionBuilder b = option(key, kind, std::move(def));
  b.key(std::move(key)).unit(std::move(unit)).doc(std::move(doc)).affects(timing ? "cycles, counters" : "numerics");
  return b;
}

template <class Access>
HwParam int_knob(std::string key, std::string unit, std::string def, double lo, double hi, Access field,
                 std::string doc, bool timing = false, int multiple = 1) {
  return bind<HwConfig>(knob(std::move(key), K::Int, std::move(def), std::move(unit), std::move(doc), timing)
                            .range(lo, hi)
                            .multiple_of(multiple),
                        field);
}

HwParam format_knob(std::string key, std::string def, std::vector<std::string> choices, NumFormat HwConfig::*field,
                    std::string doc) {
  const OptionSpec spec = knob(key, K::Choice, std::move(def), "", std::move(doc)).choices(std::move(choices));
  return bind_custom<HwConfig>(
      spec, [field, key](HwConfig& c, const std::string& v) { c.*field = num_format_from_string(v, key); },
      [field](const HwConfig& c) { return to_string(c.*field); });
}

HwParam overflow_knob(std::string key, Overflow HwConfig::*field, std::string doc) {
  const OptionSpec spec = knob(std::move(key), K::Choice, "saturate", "", std::move(doc)).choices({"saturate", "wrap"});
  return bind_custom<HwConfig>(
      spec, [field](HwConfig& c, const std::string& v) { c.*field = v == "wrap" ? Overflow::Wrap : Overflow::Saturate; },
      [field](const HwConfig& c) { return to_string(c.*field); });
}

// One knob per priced event of hw/energy.hpp: `off` (not configured) or pJ per event.
HwParam energy_knob(const EnergyEvent& e) {
  OptionBuilder b = option(std::string("energy.") + e.name, K::OptNumber, e.default_pj);
  b.key(std::string("energy.") + e.name).unit(e.per).doc(std::string(e.doc) + " `off`: not configured.").affects("energy").range(0, 1e9);
  const auto price = e.price;
  return bind_custom<HwConfig>(
      b,
      [price](HwConfig& c, const std::string& v) {
        c.energy.*price = v == "off" ? std::nullopt : std::optional<double>(parse_option_number(v));
      },
      [price](const HwConfig& c) { return c.energy.*price ? format_option_number(*(c.energy.*price)) : std::string("off"); });
}

std::vector<HwParam> build_table() {
  std::vector<HwParam> t;
  t.push_back(int_knob("macro.rows", "inputs", "64", 4, 1024, [](auto& c) -> auto& { return c.macro_rows; },
                       "Input rows of a macro: inputs summed by one column's adder tree. A weight block must fit "
                       "(block_size <= rows); floor(rows / block_size) blocks share one macro pass.",
                       false, 4));
  t.push_back(int_knob("macro.cols", "outputs", "64", 1, 4096, [](auto& c) -> auto& { return c.macro_cols; },
                       "Output columns of a macro (output features computed per pass). Affects counters and "
                       "cycles, not numerics.",
                       true));
  t.push_back(int_knob("macro.write_cycles", "cycles", "64", 0, 1e6, [](auto& c) -> auto& { return c.macro_write_cycles; },
                       "Cycles to rewrite a macro's cells from the on-chip weight buffer when the controller moves "
                       "to the next weight tile.",
                       true));
  t.push_back(format_knob("input.format", "bf16", {"bf16", "fp16"}, &HwConfig::input_format,
                          "Format activations arrive in; fp32 inputs are first rounded to it, nearest-even."));
  t.push_back(bind_custom<HwConfig>(
      knob("input.align", K::Choice, "max-exponent", "",
           "Alignment rule: inputs of a group are shifted to the group's largest exponent.")
          .choices({"max-exponent"}),
      [](HwConfig&, const std::string&) {}, [](const HwConfig&) { return std::string("max-exponent"); }));
  t.push_back(bind_custom<HwConfig>(
      knob("input.align_group", K::IntOrWord, "block", "inputs",
           "Inputs sharing one exponent: `block` (the weight block) or a number of inputs that is a "
           "multiple of the block size.")
          .word("block")
          .range(4, 65536)
          .multiple_of(4),
      [](HwConfig& c, const std::string& v) { c.align_group = v == "block" ? 0 : parse_option_int(v); },
      [](const HwConfig& c) { return c.align_group == 0 ? std::string("block") : std::to_string(c.align_group); }));
  t.push_back(int_knob("input.mantissa_bits", "bits", "8", 2, 11, [](auto& c) -> auto& { return c.mantissa_bits; },
                       "Magnitude bits kept after alignment, hidden bit included (at most the input format's "
                       "precision: 8 for bf16, 11 for fp16). A bit-serial pass takes mantissa_bits + 1 cycles "
                       "(sign plane included)."));
  t.push_back(bind_custom<HwConfig>(
      knob("input.rounding", K::Choice, "truncate", "",
           "Bits shifted out by alignment: truncated toward zero (magnitude) or rounded to nearest-even "
           "(a magnitude that rounds up to 2^mantissa_bits saturates at 2^mantissa_bits - 1).")
          .choices({"truncate", "nearest-even"}),
      [](HwConfig& c, const std::string& v) {
        c.input_rounding = v == "nearest-even" ? InputRounding::NearestEven : InputRounding::Truncate;
      },
      [](const HwConfig& c) { return to_string(c.input_rounding); }));
  t.push_back(int_knob("adder_tree.bits", "bits", "16", 4, 32, [](auto& c) -> auto& { return c.tree_bits; },
                       "Signed width of a column adder-tree output (the sum of code x input-bit over one block)."));
  t.push_back(overflow_knob("adder_tree.overflow", &HwConfig::tree_overflow,
                            "What an adder-tree sum outside its width does: saturate or wrap (two's complement)."));
  t.push_back(int_knob("adder_tree.latency", "cycles", "1", 0, 64, [](auto& c) -> auto& { return c.tree_latency; },
                       "Pipeline stages between a bit-plane entering the macro and its tree sum.", true));
  t.push_back(int_knob("accumulator.bits", "bits", "24", 4, 62, [](auto& c) -> auto& { return c.acc_bits; },
                       "Signed width of the shift-accumulator over the bit-serial cycles (must be at least "
                       "adder_tree.bits)."));
  t.push_back(overflow_knob("accumulator.overflow", &HwConfig::acc_overflow,
                            "What a shift-accumulator value outside its width does: saturate or wrap."));
  t.push_back(int_knob("accumulator.latency", "cycles", "1", 0, 64, [](auto& c) -> auto& { return c.acc_latency; },
                       "Pipeline stages of the shift-accumulator after the last bit-plane.", true));
  t.push_back(format_knob("psum.format", "fp32", {"fp32", "bf16", "fp16"}, &HwConfig::psum_format,
                          "Format of the block results and of the partial sums accumulated over blocks and "
                          "macros, in column order."));
  t.push_back(int_knob("psum.latency", "cycles", "1", 0, 64, [](auto& c) -> auto& { return c.psum_latency; },
                       "Cycles of one partial-sum accumulation step.", true));
  t.push_back(format_knob("outlier.product", "fp32", {"fp32", "bf16"}, &HwConfig::outlier_format,
                          "Format of the BF16 x BF16 outlier products before they join the partial sum."));
  t.push_back(int_knob("outlier.units", "products/cycle", "4", 1, 1024, [](auto& c) -> auto& { return c.outlier_units; },
                       "Outlier multipliers working in parallel.", true));
  t.push_back(format_knob("scale.format", "bf16", {"bf16", "fp16", "fp32"}, &HwConfig::scale_format,
                          "Format the per-(row, block) dequantization scale is held in."));
  t.push_back(format_knob("zero.format", "fp32", {"fp32", "bf16", "fp16"}, &HwConfig::zero_format,
                          "Format the per-(row, block) zero point is held in (non-integer after second-level "
                          "quantization)."));
  t.push_back(int_knob("correction.latency", "cycles", "2", 0, 64, [](auto& c) -> auto& { return c.correction_latency; },
                       "Cycles of the offset/zero correction and scaling of one block result.", true));
  t.push_back(format_knob("output.format", "bf16", {"bf16", "fp16", "fp32"}, &HwConfig::output_format,
                          "The layer output is rounded to this format."));
  t.push_back(bind_custom<HwConfig>(
      knob("clock.mhz", K::Number, "1000", "MHz", "Clock frequency; converts cycles into simulated time.", true)
          .range(1e-3, 1e5),
      [](HwConfig& c, const std::string& v) { c.clock_mhz = parse_option_number(v); },
      [](const HwConfig& c) { return fmt::format("{}", c.clock_mhz); }));
  t.push_back(int_knob("tlm.bus_bytes", "bytes/cycle", "8", 1, 1024, [](auto& c) -> auto& { return c.bus_bytes; },
                       "Width of the TLM-2.0 bus that loads weights and activations and reads results.", true));
  for (const EnergyEvent& e : energy_events()) t.push_back(energy_knob(e));
  return t;
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

std::string hw_params_markdown() {
  std::string out = "| key | type | unit | default | values | affects | meaning |\n|---|---|---|---|---|---|---|\n";
  for (const auto& p : hw_params()) {
    std::string type;
    std::string values;
    switch (p.kind) {
      case OptionKind::IntOrWord:
        type = fmt::format("`{}` or int", p.word);
        values = fmt::format("{}, {}..{} (multiple of {})", p.word, p.min, p.max, p.multiple_of);
        break;
      case OptionKind::Number:
        type = "number";
        values = fmt::format("{}..{}", p.min, p.max);
        break;
      case OptionKind::OptNumber:
        type = "number or `off`";
        values = fmt::format("`off`, {}..{}", p.min, p.max);
        break;
      case OptionKind::Choice:
        type = "choice";
        for (const auto& c : p.choices) values += (values.empty() ? "" : ", ") + ("`" + c + "`");
        break;
      default:
        type = "int";
        values = fmt::format("{}..{}", p.min, p.max);
        if (p.multiple_of > 1) values += fmt::format(", multiple of {}", p.multiple_of);
        break;
    }
    out += fmt::format("| `{}` | {} | {} | `{}` | {} | {} | {} |\n", p.key, type, p.unit, p.default_text, values,
                       p.affects, p.doc);
  }
  return out;
}

}  // namespace oacim::hw
