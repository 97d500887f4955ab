#include "oacim/sweep/experiment_schema.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/model/calibration_options.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/tweak/tweak_options.hpp"

namespace oacim::sweep {

namespace {

using K = OptionKind;

// The keys of the experiment itself (no command takes them as options).
std::vector<OptionSpec> own_keys() {
  auto threshold = [](std::string name, std::string def, std::string doc, double lo = -100, double hi = 1e9) {
    return OptionSpec(option("thresholds." + name, K::OptNumber, std::move(def)).key("thresholds." + name).range(lo, hi).doc(std::move(doc)));
  };
  return {
      option("name", K::String, "experiment").key("name").fixed().doc("title of the report"),
      option("description", K::String).key("description").fixed().doc("free text shown under the title"),
      option("datasets", K::StringList)
          .key("datasets")
          .required()
          .doc("evaluation sets: wikitext2 | ptb | ptb-new | c4 | c4-new | a text file; every point is evaluated on each"),
      option("tasks", K::StringList, "")
          .key("tasks")
          .doc("zero-shot task files (JSON lines, docs/models.md) scored on the float, fakequant and hw backends of every point"),
      option("normtweak.enabled", K::Bool, "false")
          .key("normtweak.enabled")
          .doc("norm-tweak the quantized model on the calibration samples (needs calibration.source self or a token file)"),
      option("hardware.config", K::Path)
          .key("hardware.config")
          .doc("hardware config YAML (default: built-in defaults, docs/configs.md)"),
      option("backends", K::ChoiceList, "float,fakequant,hw")
          .key("backends")
          .choices({"float", "fakequant", "hw", "systemc"})
          .doc("backends to compare; systemc co-simulates sampled layers on the first dataset (and gives its hw numbers)"),
      threshold("hw_vs_fakequant_ppl_pct", "0.5", "pass when 100 * (ppl_hw / ppl_fakequant - 1) <= this, on every dataset"),
      threshold("fakequant_vs_float_ppl_pct", "off", "pass when 100 * (ppl_fakequant / ppl_float - 1) <= this, on every dataset"),
      threshold("hw_vs_float_ppl_pct", "off", "pass when 100 * (ppl_hw / ppl_float - 1) <= this, on every dataset"),
      threshold("hw_vs_fakequant_ppl_pct_ci95", "off",
                "pass unless hw is worse than fakequant by more than this many percent of perplexity with 95 % "
                "confidence: the lower end of the paired interval on the same tokens, on every dataset"),
      threshold("hw_max_mean_kld", "off", "pass when the hw backend's mean KL divergence from the float model is at most this (nats per token), on every dataset", 0, 1e9),
      threshold("fakequant_max_mean_kld", "off", "pass when the fakequant backend's mean KL divergence from the float model is at most this (nats per token), on every dataset", 0, 1e9),
      threshold("hw_min_top1_agreement_pct", "off", "pass when the hw backend's top-1 token agrees with the float model's on at least this percentage of tokens, on every dataset", 0, 100),
      threshold("hw_vs_float_acc_drop_pts", "off",
                "pass unless the hw backend's accuracy is below the float model's by more than this many points with 95 % "
                "confidence (paired document by document), on every task"),
      threshold("max_energy_pj_per_token", "off",
                "pass when the hw runs' energy per token (hardware YAML `energy.*` prices, docs/hardware.md) is at most this "
                "many pJ; a total with unpriced events is a lower bound: it fails when above the limit, else n/a",
                0, 1e18),
      threshold("max_overflows", "0", "pass when adder-tree plus accumulator overflow events of the hw runs are at most this", 0, 1e18),
      option("thresholds.systemc_bit_exact", K::Bool, "true")
          .key("thresholds.systemc_bit_exact")
          .doc("pass only when every co-simulated layer is bit-exact"),
      option("threads", K::Int, "0")
          .key("threads")
          .range(0, 1024)
          .fixed()
          .doc("CPU threads per task, for libtorch and OpenBLAS (0: the CPUs its rank may use divided by --jobs); set it for bits that match across machines and rank layouts (docs/scaleout.md)"),
  };
}

// Where a key's section comes in the docs table.
int section_rank(const std::string& key) {
  static const std::vector<std::string> kOrder = {"name", "description", "model", "tokenizer", "data_dir", "datasets",
                                                  "eval", "calibration", "quantization", "discquant", "normtweak",
                                                  "hardware", "backends", "systemc", "thresholds", "threads"};
  const std::string section = key.substr(0, key.find('.'));
  const auto it = std::find(kOrder.begin(), kOrder.end(), section);
  return static_cast<int>(it - kOrder.begin());
}

template <class T>
void add_declared(std::vector<OptionSpec>& keys, const std::vector<Option<T>>& table) {
  for (const auto& o : table) {
    if (o.key.empty() || !o.declares_key) continue;
    const auto same = std::find_if(keys.begin(), keys.end(), [&](const OptionSpec& k) { return k.key == o.key; });
    if (same == keys.end()) {
      keys.push_back(o);
    } else if (same->kind != o.kind || same->default_text != o.default_text || same->doc != o.doc) {
      throw InvariantError(fmt::format("experiment key {} is declared twice, differently", o.key));
    }
  }
}

std::vector<OptionSpec> make_keys() {
  std::vector<OptionSpec> keys = own_keys();
  add_declared(keys, model::calib_options());
  add_declared(keys, quant::quantize_options());
  add_declared(keys, tweak::tweak_options());
  add_declared(keys, eval::eval_options());
  std::stable_sort(keys.begin(), keys.end(),
                   [](const OptionSpec& a, const OptionSpec& b) { return section_rank(a.key) < section_rank(b.key); });
  return keys;
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

std::string experiment_keys_markdown() {
  std::string md = "| key | type | default | doc |\n|---|---|---|---|\n";
  for (const auto& k : experiment_keys()) {
    const std::string def = k.required ? "required" : k.default_text.empty() ? "\"\"" : "`" + k.default_text + "`";
    md += fmt::format("| `{}` | {} | {} | {} |\n", k.key, option_type_text(k), def, markdown_cell(k.doc));
  }
  md += fmt::format("| `{}<knob>` | see the hardware knob table | the config's | one hardware knob, e.g. "
                    "`hardware.set: {{macro.rows: [32, 64]}}` |\n",
                    kHwSetPrefix);
  return md;
}

}  // namespace oacim::sweep
