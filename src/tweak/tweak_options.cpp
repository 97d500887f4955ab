#include "oacim/tweak/tweak_options.hpp"

#include "oacim/model/model_options.hpp"

namespace oacim::tweak {

namespace {

using K = OptionKind;
using T = TweakRunOptions;

// A single value replaces the grid axis; a list on the grid option does too (applied after it).
Option<T> grid_value(OptionSpec spec, std::vector<double> T::*axis) {
  return bind_custom<T>(
      spec, [axis](T& o, const std::string& v) { o.*axis = {parse_option_number(v)}; },
      [axis](const T& o) { return (o.*axis).size() == 1 ? format_option_number((o.*axis)[0]) : std::string(); });
}
Option<T> grid_list(OptionSpec spec, std::vector<double> T::*axis) {
  return bind_custom<T>(
      spec,
      [axis](T& o, const std::string& v) {
        o.*axis = {};
        option_detail::from_text(v, o.*axis);
      },
      [axis](const T& o) { return (o.*axis).size() > 1 ? option_detail::to_text(o.*axis) : std::string(); },
      [axis](const T& o) { return nlohmann::json(o.*axis); });
}

std::vector<Option<T>> build() {
  return {
      bind<T>(option("model_path", K::Path)
                  .cli("model")
                  .reads_key("model")
                  .doc("the float model (checked against the quantized directory's source)"),
              [](auto& o) -> auto& { return o.model_path; }),
      bind<T>(option("quantized_dir", K::Path).required().cli("quantized").doc("quantized model directory (`oacim quantize --out`)"),
              [](auto& o) -> auto& { return o.quantized_dir; }),
      bind<T>(option("calib", K::Path).required().cli("calib").json("calib").doc("token sample file (`oacim calib`)"),
              [](auto& o) -> auto& { return o.calib; }),
      bind<T>(option("nsamples", K::Int, "0")
                  .range(0, 1 << 20)
                  .cli("nsamples")
                  .reads_key("calibration.nsamples")
                  .json("nsamples")
                  .doc("samples used (0: all in the file)"),
              [](auto& o) -> auto& { return o.nsamples; }),
      bind<T>(option("seqlen", K::Int, "0").range(0, 1 << 20).unit("tokens").cli("seqlen").json("seqlen")
                  .doc("cut samples to this many tokens (0: as stored)"),
              [](auto& o) -> auto& { return o.seqlen; }),
      bind<T>(option("heldout", K::Int, "-1").range(-1, 1 << 20).cli("heldout")
                  .doc("samples held out to choose a grid point (-1: n/8 with a grid, 0 without)"),
              [](auto& o) -> auto& { return o.heldout; }),
      grid_value(option("lr", K::Number, "1e-5").range(0, 1).cli("lr").key("normtweak.lr").doc("lr0 of the first block"),
                 &T::lrs),
      grid_value(option("scale", K::Number, "5").range(0, 1000).cli("scale").key("normtweak.scale")
                     .doc("lr ramp: block l uses lr0 * (1 + scale * l / L)"),
                 &T::scales),
      grid_list(option("grid_lr", K::NumberList).range(0, 1).cli("grid-lr").json("grid_lr")
                    .doc("comma-separated lr0 values to search (replaces lr)"),
                &T::lrs),
      grid_list(option("grid_scale", K::NumberList).range(0, 1000).cli("grid-scale").json("grid_scale")
                    .doc("comma-separated scales to search (replaces scale)"),
                &T::scales),
      bind<T>(option("iters", K::Int, "1").range(1, 1000).cli("iters").key("normtweak.iters").json("iters")
                  .doc("passes over the calibration samples per block"),
              [](auto& o) -> auto& { return o.iters; }),
      bind<T>(option("faithful", K::Bool, "false").cli("faithful").json("faithful")
                  .doc("next block's input recorded before each step (NT) instead of after tweaking"),
              [](auto& o) -> auto& { return o.faithful; }),
      bind<T>(option("backend", K::Choice, "fakequant").choices({"fakequant", "hw"}).cli("backend").key("normtweak.backend")
                  .json("backend").doc("quantized backend in the tweaking loop"),
              [](auto& o) -> auto& { return o.backend; }),
      bind_custom<T>(option("hw", K::Path).cli("hw").json("hw_config")
                         .when([](const OptionLookup& v) { return v("backend") == "hw"; })
                         .doc("hardware config for backend hw (default: built-in defaults)"),
                     [](T& o, const std::string& v) { o.hw_file = v; }, [](const T& o) { return o.hw_file; },
                     [](const T& o) { return nlohmann::json(o.hw.name); }),
      bind_custom<T>(option("select_on", K::String).cli("select-on").json("select_on")
                         .doc("choose the grid point on this dataset's perplexity (upstream practice; warns)"),
                     [](T& o, const std::string& v) { o.select_on = v; }, [](const T& o) { return o.select_on; },
                     [](const T& o) { return nlohmann::json(o.select_on.empty() ? "heldout-calibration" : o.select_on); }),
      bind<T>(model::data_dir_spec(), [](auto& o) -> auto& { return o.data_dir; }),
      bind<T>(option("select_seqlen", K::Int, "0").range(0, 1 << 20).unit("tokens").cli("select-seqlen")
                  .doc("window length for select-on (0: the model's maximum)"),
              [](auto& o) -> auto& { return o.select_seqlen; }),
      bind<T>(option("out_dir", K::Path).required().cli("out").doc("output quantized model directory with tweaked norms"),
              [](auto& o) -> auto& { return o.out_dir; }),
  };
}

}  // namespace

const std::vector<Option<TweakRunOptions>>& tweak_options() {
  static const std::vector<Option<TweakRunOptions>> kTable = build();
  return kTable;
}

nlohmann::json tweak_options_to_json(const TweakRunOptions& o) { return options_to_json(tweak_options(), o); }

}  // namespace oacim::tweak
