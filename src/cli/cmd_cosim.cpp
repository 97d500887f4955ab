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

#include "oacim/hw/energy_json.hpp"
#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/table_options.hpp"
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

// Where the layer comes from: exactly one of a generated layer, a real model's Linear, or files.
struct CosimSource {
  std::string random, save_prefix;
  std::uint64_t seed = 0;
  int block = 32;
  std::string model_path, tokenizer_path, layer, text_path = "tests/data/tinystories-valid-slice.txt";
  int tokens = 8;
  std::string weights_path, prefix, inputs_path;
};

struct CosimLayer {
  std::optional<PackedCimWeights> weights;
  std::vector<float> x;
  int tokens = 0;
  std::string source;  // in words, for the report
};

CosimLayer load_layer(const CosimSource& s) {
  CosimLayer l;
  if (!s.random.empty()) {
    const RandomShape shape = parse_shape(s.random);
    auto [w, xs] = random_case(shape, s.seed, s.block);
    l.weights.emplace(std::move(w));
    l.x = std::move(xs);
    l.tokens = shape.tokens;
    l.source = fmt::format("random {} seed {}", s.random, s.seed);
    if (!s.save_prefix.empty()) {
      save_packed(s.save_prefix + ".weights.safetensors", *l.weights);
      SafetensorsWriter wr;
      wr.add("x", DType::F32, {l.tokens, l.weights->cols()}, l.x);
      wr.write(s.save_prefix + ".inputs.safetensors");
    }
  } else if (!s.model_path.empty()) {
    // A real layer on real activations, RTN-quantized with outliers and offsets.
    const eval::LayerCapture cap = eval::capture_layer(s.model_path, s.tokenizer_path, s.text_path, s.layer, s.tokens);
    RtnPackOptions rtn;
    rtn.grid.block_size = s.block;
    rtn.outliers = true;
    rtn.offsets = true;
    l.weights.emplace(pack_rtn(cap.weight, cap.rows, cap.cols, rtn, nullptr));
    l.x = cap.inputs;
    l.tokens = cap.tokens;
    if (!s.save_prefix.empty()) {
      save_packed(s.save_prefix + ".weights.safetensors", *l.weights);
      SafetensorsWriter wr;
      wr.add("x", DType::F32, {l.tokens, cap.cols}, l.x);
      wr.write(s.save_prefix + ".inputs.safetensors");
      SafetensorsWriter fw;  // the float weight, for re-quantizing it elsewhere (the Python tests do)
      fw.add("weight", DType::F32, {cap.rows, cap.cols}, cap.weight);
      fw.set_metadata("oacim.layer", s.layer);
      fw.set_metadata("oacim.block_size", std::to_string(s.block));
      fw.write(s.save_prefix + ".float_weight.safetensors");
    }
    l.source = fmt::format("{} layer {} on {} tokens of {}", s.model_path, s.layer, l.tokens, s.text_path);
  } else {
    l.weights.emplace(load_packed(SafetensorsFile::open(s.weights_path), s.prefix));
    l.x = read_inputs(s.inputs_path, l.weights->cols(), &l.tokens);
    l.source = s.weights_path + (s.prefix.empty() ? "" : ":" + s.prefix);
  }
  return l;
}

// SystemC's outputs against fake-quant fp32 (dequantized weights, fp32 inputs, double sums).
struct FakequantError {
  double relative_rms = 0.0, max_abs = 0.0;
};
FakequantError fakequant_error(const PackedCimWeights& w, const std::vector<float>& x, int tokens, const std::vector<float>& y) {
  const auto deq = w.dequantize();
  double err2 = 0, ref2 = 0;
  FakequantError e;
  for (int t = 0; t < tokens; ++t) {
    for (int o = 0; o < w.rows(); ++o) {
      double acc = 0;
      for (int c = 0; c < w.cols(); ++c) {
        acc += static_cast<double>(deq[static_cast<std::size_t>(o) * w.cols() + c]) * x[static_cast<std::size_t>(t) * w.cols() + c];
      }
      const double d = static_cast<double>(y[static_cast<std::size_t>(t) * w.rows() + o]) - acc;
      err2 += d * d;
      ref2 += acc * acc;
      e.max_abs = std::max(e.max_abs, std::fabs(d));
    }
  }
  e.relative_rms = ref2 > 0 ? std::sqrt(err2 / ref2) : 0.0;
  return e;
}

// Everything the command reports about one co-simulated layer.
struct CosimReport {
  const std::string& source;
  const PackedCimWeights& w;
  int tokens;
  const hw::HwConfig& cfg;
  const sim::CosimResult& r;
  const hw::HwLayerResult& hw_res;
  std::int64_t mismatches, max_ulp;
  bool counters_match, bit_exact;
  double rel_rms, max_abs, sc_wall, hw_wall;
  bool cycles_match() const { return r.compute_cycles == hw_res.counters.cycles; }
  double macro_cycles_per_s() const { return static_cast<double>(r.counters.input_bitplanes) / std::max(sc_wall, 1e-9); }
};

void print_report(const CosimReport& p) {
  std::cout << fmt::format("cosim: {} ({}x{}, {} tokens, block {}, {} outliers) on {}\n", p.source, p.w.rows(), p.w.cols(),
                           p.tokens, p.w.grid().block_size, p.w.outlier_count(), p.cfg.name);
  std::cout << fmt::format("  systemc vs hw     : {} ({} of {} outputs differ, max {} ulp), counters {}\n",
                           p.bit_exact ? "BIT-EXACT" : "MISMATCH", p.mismatches, p.r.y.size(), p.max_ulp,
                           p.counters_match ? "equal" : "DIFFER");
  std::cout << fmt::format("  systemc vs fp32   : relative RMS error {:.3e}, max abs error {:.3e}\n", p.rel_rms, p.max_abs);
  std::cout << fmt::format("  cycles            : load {}, compute {}, readback {} ({:.1f} us simulated at {} MHz)\n",
                           p.r.load_cycles, p.r.compute_cycles, p.r.readback_cycles, p.r.simulated_ns / 1e3, p.cfg.clock_mhz);
  std::cout << fmt::format("  timing model      : {} compute cycles ({})\n", p.hw_res.counters.cycles,
                           p.cycles_match() ? "equal to SystemC" : "DIFFERS from SystemC");
  std::cout << fmt::format("  wall              : systemc {:.3f} s ({:.0f} macro-cycles/s), hw model {:.4f} s\n", p.sc_wall,
                           p.macro_cycles_per_s(), p.hw_wall);
  std::cout << "  counters          :";
  for (const auto& [k, v] : p.r.counters.items()) std::cout << " " << k << "=" << v;
  std::cout << "\n";
}

nlohmann::json report_json(const CosimReport& p) {
  nlohmann::json activity = nlohmann::json::array();
  for (const auto& a : p.r.activity) {
    activity.push_back({{"module", a.module}, {"busy_cycles", a.busy_cycles}, {"items", a.items}, {"unit", a.item_unit}});
  }
  return {{"command", "cosim"},
          {"source", p.source},
          {"hw_config", {{"name", p.cfg.name}, {"knobs", hw::to_key_values(p.cfg)}}},
          {"layer",
           {{"rows", p.w.rows()}, {"cols", p.w.cols()}, {"tokens", p.tokens}, {"block_size", p.w.grid().block_size},
            {"outliers", p.w.outlier_count()}}},
          {"bit_exact", p.bit_exact},
          {"mismatches", p.mismatches},
          {"max_ulp", p.max_ulp},
          {"counters_match", p.counters_match},
          {"output_fnv1a", fmt::format("{:016x}", fnv1a(p.r.y))},
          {"counters", counters_json(p.r.counters)},
          {"hw_counters", counters_json(p.hw_res.counters)},
          {"energy", hw::energy_json(p.r.counters, p.cfg.energy, p.r.counters.tokens)},
          {"fakequant", {{"relative_rms_error", p.rel_rms}, {"max_abs_error", p.max_abs}}},
          {"cycles",
           {{"load", p.r.load_cycles},
            {"compute", p.r.compute_cycles},
            {"timing_model", p.hw_res.counters.cycles},
            {"timing_model_matches", p.cycles_match()},
            {"readback", p.r.readback_cycles},
            {"simulated_ns", p.r.simulated_ns}}},
          {"activity", activity},
          {"wall_s", {{"systemc", p.sc_wall}, {"hw", p.hw_wall}}},
          {"systemc_macro_cycles_per_s", p.macro_cycles_per_s()}};
}

}  // namespace

int cmd_cosim(const std::vector<std::string>& args) {
  std::string hw_path, json_path;
  CosimSource src;
  int threads = 0;
  po::options_description opts("cosim options");
  opts.add_options()
      ("hw", po::value(&hw_path), "hardware config YAML (default: built-in defaults)")
      ("weights", po::value(&src.weights_path), "packed-weights .safetensors (as written by pack-demo --out / quantize)")
      ("prefix", po::value(&src.prefix)->default_value(""), "layer prefix inside the weights file")
      ("inputs", po::value(&src.inputs_path), "activations .safetensors with tensor 'x' [tokens, in_features], F32 or BF16")
      ("random", po::value(&src.random), "generate a layer instead: ROWSxCOLSxTOKENS, e.g. 64x256x8")
      ("model", po::value(&src.model_path), "or a real model's layer: llama2.c .bin or HF directory (with --layer)")
      ("tokenizer", po::value(&src.tokenizer_path), "tokenizer of --model (default: the model's own)")
      ("layer", po::value(&src.layer), "Linear of --model to co-simulate, e.g. layers.0.attention.wq")
      ("tokens", po::value(&src.tokens)->default_value(src.tokens), "tokens of --text whose activations feed --layer")
      ("text", po::value(&src.text_path)->default_value(src.text_path), "text run through --model to capture the activations")
      ("seed", po::value(&src.seed)->default_value(0), "seed of --random")
      ("block-size", po::value(&src.block)->default_value(32), "block size of --random weights")
      ("save", po::value(&src.save_prefix), "with --random or --model: write PREFIX.weights.safetensors, PREFIX.inputs.safetensors, PREFIX.outputs.safetensors (the hw model's) and, with --model, PREFIX.float_weight.safetensors")
      ("json", po::value(&json_path), "write the comparison, cycles and counters to this JSON file");
  add_threads_option(opts, threads);
  po::variables_map vm;
  const int parsed = parse_command_line(
      "cosim", "--hw CONFIG (--weights PACKED --inputs ACTS | --random RxCxT | --model M --layer L) [--json OUT]", opts,
      po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  const int sources = !src.random.empty() + !src.weights_path.empty() + !src.model_path.empty();
  if (sources != 1) throw InvalidArgument("--weights", "give one of --weights/--inputs, --random, or --model/--layer");
  if (!src.model_path.empty() && src.layer.empty()) throw InvalidArgument("--layer", "required with --model");
  if (!src.weights_path.empty() && src.inputs_path.empty()) throw InvalidArgument("--inputs", "required with --weights");
  if (!src.save_prefix.empty() && src.random.empty() && src.model_path.empty()) {
    throw InvalidArgument("--save", "only with --random or --model");
  }

  const hw::HwConfig cfg = hw_path.empty() ? hw::default_hw_config() : hw::load_hw_config(hw_path);
  const CosimLayer layer = load_layer(src);
  const PackedCimWeights& w = *layer.weights;
  const std::vector<float>& x = layer.x;
  const int tokens = layer.tokens;
  const std::string& source = layer.source;
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

  const FakequantError fq = fakequant_error(w, x, tokens, r.y);
  const double rel_rms = fq.relative_rms, max_abs = fq.max_abs;
  const sim::OutputComparison cmp = sim::compare_outputs(r.y, r.counters, hw_res.y, hw_res.counters, cfg.output_format);
  const std::int64_t mismatches = cmp.mismatches, max_ulp = cmp.max_ulp;
  const bool counters_match = cmp.counters_equal;
  const bool bit_exact = mismatches == 0 && r.y.size() == hw_res.y.size();

  const CosimReport rep{source, w, tokens, cfg, r, hw_res, mismatches, max_ulp, counters_match, bit_exact, rel_rms, max_abs,
                        sc_wall, hw_wall};
  print_report(rep);
  if (!json_path.empty()) write_json_result(json_path, report_json(rep));
  if (!src.save_prefix.empty()) {
    SafetensorsWriter out;  // the hw model's outputs, checked against SystemC above
    out.add("y", DType::F32, {tokens, w.rows()}, hw_res.y);
    out.write(src.save_prefix + ".outputs.safetensors");
  }
  if (!bit_exact || !counters_match || !rep.cycles_match()) {
    print_error("cosim", fmt::format("SystemC and the hw model disagree: {} outputs differ, counters {}, cycles {}",
                                     mismatches, counters_match ? "equal" : "differ", rep.cycles_match() ? "equal" : "differ"));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace oacim::cli
