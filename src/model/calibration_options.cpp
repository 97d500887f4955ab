#include "oacim/model/calibration_options.hpp"

#include "oacim/model/model_options.hpp"

namespace oacim::model {

using K = OptionKind;

const OptionSpec& calibration_nsamples_spec() {
  static const OptionSpec kSpec = option("nsamples", K::Int, "128")
                                      .range(1, 1 << 20)
                                      .cli("nsamples")
                                      .key("calibration.nsamples")
                                      .json("nsamples")
                                      .doc("calibration samples (windows of the calibration text)");
  return kSpec;
}

const OptionSpec& calibration_seqlen_spec() {
  static const OptionSpec kSpec = option("seqlen", K::Int, "0")
                                      .range(0, 1 << 20)
                                      .unit("tokens")
                                      .cli("seqlen")
                                      .key("calibration.seqlen")
                                      .json("seqlen")
                                      .doc("tokens per calibration sample (0: the model's maximum)");
  return kSpec;
}

const OptionSpec& calibration_seed_spec() {
  static const OptionSpec kSpec = option("seed", K::Int, "0")
                                      .range(0, 4294967295.0)
                                      .cli("seed")
                                      .key("calibration.seed")
                                      .json("seed")
                                      .doc("seed of the calibration text and windows");
  return kSpec;
}

namespace {

std::vector<Option<CalibRunOptions>> build() {
  using T = CalibRunOptions;
  OptionSpec nsamples = calibration_nsamples_spec();
  nsamples.cli_aliases = {"n"};
  OptionSpec seqlen = calibration_seqlen_spec();
  seqlen.cli_aliases = {"len"};
  return {
      bind<T>(model_path_spec(), [](auto& o) -> auto& { return o.model_path; }),
      bind<T>(tokenizer_spec(), [](auto& o) -> auto& { return o.tokenizer_path; }),
      bind<T>(nsamples, [](auto& o) -> auto& { return o.gen.n; }),
      bind<T>(seqlen, [](auto& o) -> auto& { return o.gen.length; }),
      bind<T>(calibration_seed_spec(), [](auto& o) -> auto& { return o.gen.seed; }),
      bind<T>(option("top_k", K::Int, "50").range(1, 1 << 20).cli("top-k").doc("sampling keeps the k most likely tokens"),
              [](auto& o) -> auto& { return o.gen.top_k; }),
      bind<T>(option("temperature", K::Number, "1").range(1e-6, 1e6).cli("temperature").doc("sampling temperature"),
              [](auto& o) -> auto& { return o.gen.temperature; }),
      bind<T>(option("greedy", K::IntList, "3,4,5")
                  .range(1, 1 << 20)
                  .cli("greedy")
                  .doc("greedy tokens after the prefix, cycled per chunk"),
              [](auto& o) -> auto& { return o.gen.greedy_lengths; }),
      bind<T>(option("chunk", K::Int, "0").range(0, 1 << 20).cli("chunk").doc("samples decoded together (0: max(1, min(16, n / 3)))"),
              [](auto& o) -> auto& { return o.gen.chunk; }),
      bind<T>(option("first_token_regex", K::String)
                  .cli("first-token-regex")
                  .doc("first tokens' text must match (ECMAScript), e.g. '^ ?[A-Za-z]+$'"),
              [](auto& o) -> auto& { return o.gen.first_token_regex; }),
      bind<T>(option("first_token_ids", K::Path).cli("first-token-ids").doc("file of allowed first-token ids (whitespace-separated)"),
              [](auto& o) -> auto& { return o.first_token_ids_file; }),
      bind_custom<T>(option("no_stop", K::Bool, "false").cli("no-stop").doc("sample to the full length even past an end-of-text token"),
                     [](T& o, const std::string& v) { o.gen.stop_at_eos = v != "true"; },
                     [](const T& o) { return std::string(o.gen.stop_at_eos ? "false" : "true"); }),
      bind<T>(option("out", K::Path).required().cli("out").doc("token sample file to write (.safetensors)"),
              [](auto& o) -> auto& { return o.out; }),
  };
}

}  // namespace

const std::vector<Option<CalibRunOptions>>& calib_options() {
  static const std::vector<Option<CalibRunOptions>> kTable = build();
  return kTable;
}

}  // namespace oacim::model
