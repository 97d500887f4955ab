#include "oacim/sweep/experiment_schema.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace oacim::sweep {

namespace {

ExperimentKey key(std::string name, KeyKind kind, std::string def, std::string doc) {
  ExperimentKey k;
  k.key = std::move(name);
  k.kind = kind;
  k.default_text = std::move(def);
  k.doc = std::move(doc);
  return k;
}
ExperimentKey ranged(ExperimentKey k, double lo, double hi) {
  k.min = lo;
  k.max = hi;
  return k;
}
ExperimentKey choice(std::string name, std::string def, std::vector<std::string> choices, std::string doc,
                     KeyKind kind = KeyKind::Choice) {
  ExperimentKey k = key(std::move(name), kind, std::move(def), std::move(doc));
  k.choices = std::move(choices);
  return k;
}
ExperimentKey required(ExperimentKey k) {
  k.required = true;
  return k;
}

std::vector<ExperimentKey> make_keys() {
  using K = KeyKind;
  return {
      key("name", K::String, "experiment", "title of the report"),
      key("description", K::String, "", "free text shown under the title"),
      required(key("model", K::Path, "",
                   "float model: llama2.c checkpoint (.bin) or Hugging Face directory (config.json, *.safetensors)")),
      key("tokenizer", K::Path, "", "tokenizer override (default: the model's own)"),
      key("data_dir", K::Path, "",
          "folder of the named datasets (wiki.test.raw, ptb.valid.txt, ptb.test.txt, C4 shards); empty: the bundled "
          "tests/data/text, which holds WikiText-2 only"),
      required(key("datasets", K::StringList, "",
                   "evaluation sets: wikitext2 | ptb | ptb-new | c4 | c4-new | a text file; every point is evaluated on each")),
      ranged(key("eval.seqlen", K::Int, "0", "perplexity window in tokens (0: the model's maximum)"), 0, 1 << 20),
      ranged(key("eval.max_windows", K::Int, "0", "evaluate the first N windows of each dataset (0: all)"), 0, 1 << 30),
      key("calibration.source", K::String, "self",
          "self (the model writes its own text, `oacim calib`) | a token file | a text file | c4 | wikitext2 | ptb"),
      ranged(key("calibration.nsamples", K::Int, "128", "calibration samples (windows)"), 1, 1 << 20),
      ranged(key("calibration.seqlen", K::Int, "0", "tokens per calibration sample (0: the model's maximum)"), 0, 1 << 20),
      ranged(key("calibration.seed", K::Int, "0", "seed of the calibration text and windows"), 0, 4294967295.0),
      choice("quantization.method", "oa", {"rtn", "gptq", "oa", "discquant"},
             "rtn | gptq | oa (OA-CIM outlier-aware GPTQ) | discquant (rounding learned by distillation)"),
      ranged(key("quantization.wbits", K::Int, "4", "code bits (2..4: one 4-bit CIM cell)"), 2, 4),
      ranged(key("quantization.block_size", K::Int, "32",
                 "columns per scale/zero, OA block and outlier window (multiple of 4; at most hardware macro.rows)"),
             4, 1 << 20),
      choice("quantization.codes", "signed", {"signed", "unsigned"}, "two's complement [-8, 7] or unsigned [0, 15]"),
      choice("quantization.range", "minmax", {"minmax", "zero-inclusive", "zero-symmetric"}, "range rule of the grid"),
      key("quantization.outliers", K::Bool, "false", "one BF16 outlier per row and block in place of its quad (oa, rtn)"),
      key("quantization.offsets", K::Bool, "false", "per-column offsets that minimise the stored 1 bits (oa, rtn)"),
      choice("quantization.offset_sign", "minimise", {"minimise", "faithful"},
             "offset sign: minimise, or upstream's inverted sign"),
      ranged(key("quantization.qq_scale_bits", K::Int, "0", "second-level bits of the scales (0: off)"), 0, 16),
      ranged(key("quantization.qq_zero_bits", K::Int, "0", "second-level bits of the zeros (0: off)"), 0, 16),
      ranged(key("quantization.percdamp", K::Number, "0.01", "Hessian damping, fraction of mean(diag H)"), 0, 10),
      key("quantization.act_order", K::Bool, "false", "gptq: columns by descending diag(H)"),
      key("quantization.true_sequential", K::Bool, "false", "quantize each block's Linears group by group"),
      choice("quantization.incoherence", "none", {"none", "hadamard"},
             "random Hadamard incoherence: the macro stores W~ = Q D W D Q^T, inputs and outputs rotated around it"),
      ranged(key("quantization.incoherence_seed", K::Int, "0", "seed of the incoherence signs"), 0, 4294967295.0),
      ranged(key("discquant.steps", K::Int, "1024", "discquant: optimizer steps"), 1, 1 << 24),
      ranged(key("discquant.warmup", K::Int, "128", "discquant: linear warm-up steps (fewer than steps)"), 0, 1 << 24),
      ranged(key("discquant.lr", K::Number, "0.01", "discquant: peak learning rate of the cosine schedule"), 1e-9, 10),
      ranged(key("discquant.clamp", K::Number, "0.1", "discquant: clamp of rho * dKL/dx"), 1e-9, 1e6),
      ranged(key("discquant.rho", K::Number, "10", "discquant: rho_factor (the paper's scripts: 200)"), 1e-9, 1e9),
      ranged(key("discquant.windows_per_step", K::Int, "1", "discquant: calibration windows per step"), 1, 1 << 16),
      choice("discquant.init", "rand", {"rand", "orig"}, "discquant: initial x, uniform random or the float weights"),
      ranged(key("discquant.seed", K::Int, "42", "discquant: seed of x and of the window order"), 0, 4294967295.0),
      key("normtweak.enabled", K::Bool, "false",
          "norm-tweak the quantized model on the calibration samples (needs calibration.source self or a token file)"),
      ranged(key("normtweak.lr", K::Number, "1e-5", "lr0 of the first block"), 0, 1),
      ranged(key("normtweak.scale", K::Number, "5", "lr ramp: block l uses lr0 * (1 + scale * l / L)"), 0, 1000),
      ranged(key("normtweak.iters", K::Int, "1", "passes over the calibration samples per block"), 1, 1000),
      choice("normtweak.backend", "fakequant", {"fakequant", "hw"}, "quantized backend in the tweaking loop"),
      key("hardware.config", K::Path, "", "hardware config YAML (default: built-in defaults, docs/configs.md)"),
      choice("backends", "[float, fakequant, hw]", {"float", "fakequant", "hw", "systemc"},
             "backends to compare; systemc co-simulates sampled layers on the first dataset (and gives its hw numbers)",
             K::ChoiceList),
      key("systemc.layers", K::StringList, "[]", "Linears co-simulated in SystemC (default: every Linear of block 0)"),
      ranged(key("systemc.tokens", K::Int, "8", "input rows co-simulated per sampled layer"), 1, 1 << 16),
      ranged(key("thresholds.hw_vs_fakequant_ppl_pct", K::OptNumber, "0.5",
                 "pass when 100 * (ppl_hw / ppl_fakequant - 1) <= this, on every dataset"),
             -100, 1e9),
      ranged(key("thresholds.fakequant_vs_float_ppl_pct", K::OptNumber, "off",
                 "pass when 100 * (ppl_fakequant / ppl_float - 1) <= this, on every dataset"),
             -100, 1e9),
      ranged(key("thresholds.hw_vs_float_ppl_pct", K::OptNumber, "off",
                 "pass when 100 * (ppl_hw / ppl_float - 1) <= this, on every dataset"),
             -100, 1e9),
      ranged(key("thresholds.max_overflows", K::OptNumber, "0",
                 "pass when adder-tree plus accumulator overflow events of the hw runs are at most this"),
             0, 1e18),
      key("thresholds.systemc_bit_exact", K::Bool, "true", "pass only when every co-simulated layer is bit-exact"),
      key("threads", K::Int, "0", "CPU threads per job (0: the machine's cores divided by --jobs)"),
  };
}

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(v);
}

std::string range_reason(const ExperimentKey& k, double v) {
  if (k.min == k.max || (v >= k.min && v <= k.max)) return "";
  return fmt::format("must be in [{}, {}]", k.min, k.max);
}

std::string kind_name(KeyKind kind) {
  switch (kind) {
    case KeyKind::String: return "string";
    case KeyKind::Path: return "path";
    case KeyKind::Int: return "integer";
    case KeyKind::Number: return "number";
    case KeyKind::Bool: return "bool";
    case KeyKind::Choice: return "choice";
    case KeyKind::OptNumber: return "number or off";
    case KeyKind::StringList: return "list of strings";
    case KeyKind::ChoiceList: return "list of choices";
  }
  return "?";
}

}  // namespace

const std::vector<ExperimentKey>& experiment_keys() {
  static const std::vector<ExperimentKey> kKeys = make_keys();
  return kKeys;
}

const ExperimentKey* find_experiment_key(const std::string& name) {
  for (const auto& k : experiment_keys()) {
    if (k.key == name) return &k;
  }
  return nullptr;
}

std::string check_key_value(const ExperimentKey& k, const std::string& value) {
  double v = 0;
  switch (k.kind) {
    case KeyKind::String:
    case KeyKind::StringList:
      return "";
    case KeyKind::Path:
      return value.empty() && k.required ? "must not be empty" : "";
    case KeyKind::Int: {
      if (!parse_double(value, v) || v != std::floor(v) || std::fabs(v) > 9.0e15) {
        return fmt::format("'{}' is not an integer", value);
      }
      return range_reason(k, v);
    }
    case KeyKind::Number:
      if (!parse_double(value, v)) return fmt::format("'{}' is not a number", value);
      return range_reason(k, v);
    case KeyKind::OptNumber:
      if (value == "off") return "";
      if (!parse_double(value, v)) return fmt::format("'{}' is neither a number nor off", value);
      return range_reason(k, v);
    case KeyKind::Bool:
      return value == "true" || value == "false" ? "" : fmt::format("'{}' is not true or false", value);
    case KeyKind::Choice:
    case KeyKind::ChoiceList:
      for (const auto& c : k.choices) {
        if (c == value) return "";
      }
      return fmt::format("'{}' is not one of {}", value, fmt::join(k.choices, " | "));
  }
  return "";
}

std::string experiment_keys_markdown() {
  std::string md = "| key | type | default | doc |\n|---|---|---|---|\n";
  for (const auto& k : experiment_keys()) {
    std::string type = kind_name(k.kind);
    if (!k.choices.empty()) type = fmt::format("{}", fmt::join(k.choices, " \\| "));
    if (k.kind == KeyKind::ChoiceList) type = "list of " + type;
    if (k.min != k.max && (k.kind == KeyKind::Int || k.kind == KeyKind::Number)) {
      type += fmt::format(" [{}, {}]", k.min, k.max);
    }
    const std::string def = k.required ? "required" : k.default_text.empty() ? "\"\"" : "`" + k.default_text + "`";
    md += fmt::format("| `{}` | {} | {} | {} |\n", k.key, type, def, k.doc);
  }
  md += fmt::format("| `{}<knob>` | see the hardware knob table | the config's | one hardware knob, e.g. "
                    "`hardware.set: {{macro.rows: [32, 64]}}` |\n",
                    kHwSetPrefix);
  return md;
}

}  // namespace oacim::sweep
