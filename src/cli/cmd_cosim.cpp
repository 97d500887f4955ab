// oacim cosim: runs the SystemC accelerator on a layer and checks every output against the fast
// hw model (bit for bit, and counter for counter) and against fake-quant fp32 (error only).
// Layers come from a packed-weights file plus an activations file, or are generated (--random).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/sim/cosim.hpp"
#include "oacim/sim/cosim_check.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

namespace {

struct RandomShape {
  int rows = 0, cols = 0, tokens = 0;
};

RandomShape parse_shape(const std::string& text) {
  RandomShape s;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%dx%dx%d%c", &s.rows, &s.cols, &s.tokens, &tail) != 3 || s.rows <= 0 ||
      s.cols <= 0 || s.tokens <= 0 || s.cols % 4 != 0 || s.rows > 65536 || s.cols > 65536 || s.tokens > 65536) {
    throw InvalidArgument("--random", fmt::format("'{}' is not ROWSxCOLSxTOKENS (positive, COLS a multiple of 4)", text));
  }
  return s;
}

// A layer quantized from a heavy-tailed matrix (outliers and offsets on) and activations with
// LLM-like outlier channels: what a real projection looks like to the datapath.
std::pair<PackedCimWeights, std::vector<float>> random_case(const RandomShape& s, std::uint64_t seed, int block) {
  Rng rng(seed);
  std::vector<float> w(static_cast<std::size_t>(s.rows) * s.cols);
  for (auto& v : w) v = static_cast<float>(0.02 * rng.student_t(4));
  RtnPackOptions opts;
  opts.grid.block_size = block;
  opts.outliers = true;
  opts.offsets = true;
  PackedCimWeights packed = pack_rtn(w, s.rows, s.cols, opts, nullptr);
  std::vector<float> channel_scale(s.cols);
  for (auto& c : channel_scale) c = static_cast<float>(rng.uniform() < 0.02 ? 20.0 : 1.0);
  std::vector<float> x(static_cast<std::size_t>(s.tokens) * s.cols);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal()) * channel_scale[i % s.cols];
  return {std::move(packed), std::move(x)};
}

std::vector<float> read_inputs(const std::string& path, int cols, int* tokens) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const TensorView& t = f.tensor("x");
  if (t.shape.size() != 2 || t.shape[1] != cols) {
    throw FormatError(path, fmt::format("tensor 'x' must be [tokens, {}] to match the weights' input features", cols));
  }
  *tokens = static_cast<int>(t.shape[0]);
  if (t.dtype == DType::F32) return f.read<float>("x", DType::F32, t.shape);
  if (t.dtype == DType::BF16) {
    const auto bits = f.read<std::uint16_t>("x", DType::BF16, t.shape);
    std::vector<float> x(bits.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = Bf16::from_bits(bits[i]).to_float();
    return x;
  }
  throw FormatError(path, "tensor 'x' must be F32 or BF16, not " + dtype_name(t.dtype));
}

// Output digest over the float bit patterns in memory order (little-endian on every supported host).
std::uint64_t fnv1a(const std::vector<float>& y) { return fnv1a64(y.data(), y.size() * sizeof(float)); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_cosim(const std::vector<std::string>& args) {
  std::string hw_path;
  std::string weights_path;
  std::string prefix;
  std::string inputs_path;
  std::string random;
  std::string save_prefix;
  std::string json_path;
  std::uint64_t seed = 0;
  int block = 32;
  int threads = 0;
  std::string model_path, tokenizer_path, layer, text_path = "tests/data/tinystories-valid-slice.txt";
  int tokens_opt = 8;
  po::options_description opts("cosim options");
  opts.add_options()
      ("hw", po::value(&hw_path), "hardware config YAML (default: built-in defaults)")
      ("weights", po::value(&weights_path), "packed-weights .safetensors (as written by pack-demo --out / quantize)")
      ("prefix", po::value(&prefix)->default_value(""), "layer prefix inside the weights file")
      ("inputs", po::value(&inputs_path), "activations .safetensors with tensor 'x' [tokens, in_features], F32 or BF16")
      ("random", po::value(&random), "generate a layer instead: ROWSxCOLSxTOKENS, e.g. 64x256x8")
      ("model", po::value(&model_path), "or a real model's layer: llama2.c .bin or HF directory (with --layer)")
      ("tokenizer", po::value(&tokenizer_path), "tokenizer of --model (default: the model's own)")
      ("layer", po::value(&layer), "Linear of --model to co-simulate, e.g. layers.0.attention.wq")
      ("tokens", po::value(&tokens_opt)->default_value(tokens_opt), "tokens of --text whose activations feed --layer")
      ("text", po::value(&text_path)->default_value(text_path), "text run through --model to capture the activations")
      ("seed", po::value(&seed)->default_value(0), "seed of --random")
      ("block-size", po::value(&block)->default_value(32), "block size of --random weights")
      ("save", po::value(&save_prefix), "with --random: write PREFIX.weights.safetensors and PREFIX.inputs.safetensors")
      ("threads", po::value(&threads)->default_value(0), "threads of the fast hw model (0 = all)")
      ("json", po::value(&json_path), "write the comparison, cycles and counters to this JSON file");
  po::variables_map vm;
  const int parsed = parse_command_line(
      "cosim", "--hw CONFIG (--weights PACKED --inputs ACTS | --random RxCxT | --model M --layer L) [--json OUT]", opts,
      po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  const int sources = !random.empty() + !weights_path.empty() + !model_path.empty();
  if (sources != 1) throw InvalidArgument("--weights", "give one of --weights/--inputs, --random, or --model/--layer");
  if (!model_path.empty() && layer.empty()) throw InvalidArgument("--layer", "required with --model");
  if (!weights_path.empty() && inputs_path.empty()) throw InvalidArgument("--inputs", "required with --weights");
  if (!save_prefix.empty() && random.empty()) throw InvalidArgument("--save", "only with --random");

  const hw::HwConfig cfg = hw_path.empty() ? hw::default_hw_config() : hw::load_hw_config(hw_path);
  std::optional<PackedCimWeights> weights;
  std::vector<float> x;
  int tokens = 0;
  std::string source;
  if (!random.empty()) {
    const RandomShape s = parse_shape(random);
    auto [w, xs] = random_case(s, seed, block);
    weights.emplace(std::move(w));
    x = std::move(xs);
    tokens = s.tokens;
    source = fmt::format("random {} seed {}", random, seed);
    if (!save_prefix.empty()) {
      save_packed(save_prefix + ".weights.safetensors", *weights);
      SafetensorsWriter wr;
      wr.add("x", DType::F32, {tokens, weights->cols()}, x);
      wr.write(save_prefix + ".inputs.safetensors");
    }
  } else if (!model_path.empty()) {
    // A real layer on real activations: RTN weights (outliers and offsets on) until the quantizers land.
    const eval::LayerCapture cap = eval::capture_layer(model_path, tokenizer_path, text_path, layer, tokens_opt);
    RtnPackOptions rtn;
    rtn.grid.block_size = block;
    rtn.outliers = true;
    rtn.offsets = true;
    weights.emplace(pack_rtn(cap.weight, cap.rows, cap.cols, rtn, nullptr));
    x = cap.inputs;
    tokens = cap.tokens;
    source = fmt::format("{} layer {} on {} tokens of {}", model_path, layer, tokens, text_path);
  } else {
    weights.emplace(load_packed(SafetensorsFile::open(weights_path), prefix));
    x = read_inputs(inputs_path, weights->cols(), &tokens);
    source = weights_path + (prefix.empty() ? "" : ":" + prefix);
  }
  const PackedCimWeights& w = *weights;
  hw::check_mapping(cfg, w.grid().block_size, w.grid().bits);

  // hw model (fast path; bit-identical to the scalar reference by its own tests).
  auto t0 = std::chrono::steady_clock::now();
  const hw::FastDatapath fast(hw::prepare_layer_weights(w, cfg), cfg);
  const hw::HwLayerResult hw_res = fast.forward(x.data(), tokens, threads);
  const double hw_wall = seconds_since(t0);

  // SystemC.
  t0 = std::chrono::steady_clock::now();
  const auto sc = sim::run_cosim(cfg, {sim::CosimCase{&w, x, tokens}});
  const double sc_wall = seconds_since(t0);
  const sim::CosimResult& r = sc.at(0);
  if (!r.ok) throw Error("the simulated chip rejected the layer: " + r.error);

  // Fake-quant fp32: dequantized weights, fp32 inputs, double accumulation.
  const auto deq = w.dequantize();
  double err2 = 0, ref2 = 0, max_abs = 0;
  for (int t = 0; t < tokens; ++t) {
    for (int o = 0; o < w.rows(); ++o) {
      double acc = 0;
      for (int c = 0; c < w.cols(); ++c) {
        acc += static_cast<double>(deq[static_cast<std::size_t>(o) * w.cols() + c]) * x[static_cast<std::size_t>(t) * w.cols() + c];
      }
      const double e = static_cast<double>(r.y[static_cast<std::size_t>(t) * w.rows() + o]) - acc;
      err2 += e * e;
      ref2 += acc * acc;
      max_abs = std::max(max_abs, std::fabs(e));
    }
  }
  const sim::OutputComparison cmp = sim::compare_outputs(r.y, r.counters, hw_res.y, hw_res.counters, cfg.output_format);
  const std::int64_t mismatches = cmp.mismatches, max_ulp = cmp.max_ulp;
  const bool counters_match = cmp.counters_equal;
  const bool bit_exact = mismatches == 0 && r.y.size() == hw_res.y.size();
  const std::int64_t macro_cycles = r.counters.input_bitplanes;
  const double rel_rms = ref2 > 0 ? std::sqrt(err2 / ref2) : 0.0;

  std::cout << fmt::format("cosim: {} ({}x{}, {} tokens, block {}, {} outliers) on {}\n", source, w.rows(), w.cols(),
                           tokens, w.grid().block_size, w.outlier_count(), cfg.name);
  std::cout << fmt::format("  systemc vs hw     : {} ({} of {} outputs differ, max {} ulp), counters {}\n",
                           bit_exact ? "BIT-EXACT" : "MISMATCH", mismatches, r.y.size(), max_ulp,
                           counters_match ? "equal" : "DIFFER");
  std::cout << fmt::format("  systemc vs fp32   : relative RMS error {:.3e}, max abs error {:.3e}\n", rel_rms, max_abs);
  std::cout << fmt::format("  cycles            : load {}, compute {}, readback {} ({:.1f} us simulated at {} MHz)\n",
                           r.load_cycles, r.compute_cycles, r.readback_cycles, r.simulated_ns / 1e3, cfg.clock_mhz);
  std::cout << fmt::format("  wall              : systemc {:.3f} s ({:.0f} macro-cycles/s), hw model {:.4f} s\n",
                           sc_wall, static_cast<double>(macro_cycles) / std::max(sc_wall, 1e-9), hw_wall);
  std::cout << "  counters          :";
  for (const auto& [k, v] : r.counters.items()) std::cout << " " << k << "=" << v;
  std::cout << "\n";
  if (!json_path.empty()) {
    nlohmann::json activity = nlohmann::json::array();
    for (const auto& a : r.activity) {
      activity.push_back({{"module", a.module}, {"busy_cycles", a.busy_cycles}, {"items", a.items}, {"unit", a.item_unit}});
    }
    write_json_result(json_path,
                      {{"command", "cosim"},
                       {"source", source},
                       {"hw_config", {{"name", cfg.name}, {"knobs", hw::to_key_values(cfg)}}},
                       {"layer",
                        {{"rows", w.rows()}, {"cols", w.cols()}, {"tokens", tokens}, {"block_size", w.grid().block_size},
                         {"outliers", w.outlier_count()}}},
                       {"bit_exact", bit_exact},
                       {"mismatches", mismatches},
                       {"max_ulp", max_ulp},
                       {"counters_match", counters_match},
                       {"output_fnv1a", fmt::format("{:016x}", fnv1a(r.y))},
                       {"counters", counters_json(r.counters)},
                       {"hw_counters", counters_json(hw_res.counters)},
                       {"fakequant", {{"relative_rms_error", rel_rms}, {"max_abs_error", max_abs}}},
                       {"cycles",
                        {{"load", r.load_cycles},
                         {"compute", r.compute_cycles},
                         {"readback", r.readback_cycles},
                         {"simulated_ns", r.simulated_ns}}},
                       {"activity", activity},
                       {"wall_s", {{"systemc", sc_wall}, {"hw", hw_wall}}},
                       {"systemc_macro_cycles_per_s", static_cast<double>(macro_cycles) / std::max(sc_wall, 1e-9)}});
  }
  if (!bit_exact || !counters_match) {
    print_error("cosim", fmt::format("SystemC and the hw model disagree: {} outputs differ, counters {}", mismatches,
                                     counters_match ? "equal" : "differ"));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace oacim::cli
