// oacim pack-demo: the packed CIM weight format on a seeded random matrix. Quantizes the same
// matrix four ways (plain, +offsets, +outliers, +outliers+offsets) and reports ones-count,
// reconstruction error and storage bits per weight.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/core/storage_bits.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

namespace {

std::vector<float> demo_matrix(int rows, int cols, std::uint64_t seed, const std::string& distribution) {
  Rng rng(seed);
  std::vector<float> w(static_cast<std::size_t>(rows) * cols);
  // LLM weights are heavy-tailed; Student-t(4) with scale 0.02 mimics a typical projection.
  for (auto& v : w) {
    const double x = distribution == "gaussian" ? rng.normal() : rng.student_t(4);
    v = static_cast<float>(0.02 * x);
  }
  return w;
}

struct Variant {
  const char* name;
  bool offsets;
  bool outliers;
};

}  // namespace

int cmd_pack_demo(const std::vector<std::string>& args) {
  int rows = 256;
  int cols = 512;
  std::uint64_t seed = 0;
  std::string distribution = "student-t";
  std::string code_kind = "signed";
  std::string offset_sign = "minimise";
  RtnPackOptions base;
  std::string json_path;
  std::string out_path;
  po::options_description opts("pack-demo options");
  opts.add_options()
      ("rows", po::value(&rows)->default_value(rows), "output rows R")
      ("cols", po::value(&cols)->default_value(cols), "input columns C (multiple of 4)")
      ("seed", po::value(&seed)->default_value(seed), "random seed of the matrix")
      ("distribution", po::value(&distribution)->default_value(distribution), "student-t | gaussian")
      ("bits", po::value(&base.grid.bits)->default_value(4), "code bits (2..4 fit a CIM cell)")
      ("code-kind", po::value(&code_kind)->default_value(code_kind), "signed (two's complement, 'sym') | unsigned")
      ("block-size", po::value(&base.grid.block_size)->default_value(32), "columns per scale/zero and outlier window")
      ("offset-sign", po::value(&offset_sign)->default_value(offset_sign), "minimise | faithful (upstream's sign)")
      ("max-offset", po::value(&base.offset_search.max_abs_offset)->default_value(1),
       "largest |offset| tried; each step clips one code level at one end")
      ("qq-scale-bits", po::value(&base.qq.scale_bits)->default_value(0), "second-level bits of scales (0 = off)")
      ("qq-zero-bits", po::value(&base.qq.zero_bits)->default_value(0), "second-level bits of zeros (0 = off)")
      ("qq-zero-sym", po::bool_switch(&base.qq.zero_sym), "symmetric second-level grid for zeros")
      ("qq-group-size", po::value(&base.qq.group_size)->default_value(16), "rows per second-level group")
      ("json", po::value(&json_path), "write the numbers to this JSON file")
      ("out", po::value(&out_path), "write the outliers+offsets packing to this .safetensors file");
  po::variables_map vm;
  const int parsed = parse_command_line("pack-demo", "[options]", opts, po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;

  if (rows <= 0 || rows > (1 << 16)) throw InvalidArgument("--rows", fmt::format("{} is outside 1..65536", rows));
  if (cols <= 0 || cols > (1 << 16) || cols % 4 != 0) {
    throw InvalidArgument("--cols", fmt::format("{} must be a multiple of 4 in 4..65536", cols));
  }
  if (distribution != "student-t" && distribution != "gaussian") {
    throw InvalidArgument("--distribution", fmt::format("'{}' is not student-t or gaussian", distribution));
  }
  base.grid.kind = code_kind_from_string(code_kind, "--code-kind");
  base.offset_search.sign = offset_sign_from_string(offset_sign, "--offset-sign");
  base.validate();

  const auto w = demo_matrix(rows, cols, seed, distribution);
  const Variant variants[] = {{"rtn", false, false},
                              {"rtn+offsets", true, false},
                              {"rtn+outliers", false, true},
                              {"rtn+outliers+offsets", true, true}};
  nlohmann::json results = nlohmann::json::array();
  OnesCount baseline;
  std::cout << fmt::format("pack-demo: {}x{} {} matrix, seed {}, {}-bit {} codes, block {}, offsets {} (|o| <= {})\n",
                           rows, cols, distribution, seed, base.grid.bits, to_string(base.grid.kind),
                           base.grid.block_size, to_string(base.offset_search.sign), base.offset_search.max_abs_offset);
  std::cout << fmt::format("{:<22}{:>9}{:>12}{:>9}{:>10}{:>11}{:>10}{:>10}\n", "variant", "outliers", "ones", "ones%",
                           "d_ones%", "rel.err", "SQNR dB", "bits/w");
  for (const auto& v : variants) {
    RtnPackOptions o = base;
    o.offsets = v.offsets;
    o.outliers = v.outliers;
    PackStats stats;
    const PackedCimWeights packed = pack_rtn(w, rows, cols, o, &stats);
    const OnesCount ones = count_ones(packed);
    if (!v.offsets && !v.outliers) baseline = ones;
    const double d_ones = ones_change_percent(baseline, ones);
    const StorageBits sb = storage_bits(packed);
    std::cout << fmt::format("{:<22}{:>9}{:>12}{:>8.2f}%{:>+9.2f}%{:>11.5f}{:>10.2f}{:>10.3f}\n", v.name,
                             stats.outliers, ones.ones, 100.0 * ones.fraction(), d_ones, stats.relative_error,
                             stats.sqnr_db, sb.per_weight());
    results.push_back({{"variant", v.name},
                       {"offsets", v.offsets},
                       {"outliers", v.outliers},
                       {"outlier_count", stats.outliers},
                       {"ones", ones.ones},
                       {"stored_bits", ones.stored_bits},
                       {"ones_fraction", ones.fraction()},
                       {"ones_change_percent_vs_rtn", d_ones},
                       {"mse", stats.mse},
                       {"relative_error", stats.relative_error},
                       {"max_abs_error", stats.max_abs_error},
                       {"sqnr_db", stats.sqnr_db},
                       {"clipped_by_offsets", stats.clipped_by_offsets},
                       {"bits_per_weight", sb.per_weight()}});
    if (v.offsets && v.outliers && !out_path.empty()) {
      save_packed(out_path, packed);
      std::cout << "wrote " << out_path << "\n";
    }
  }
  if (!json_path.empty()) {
    nlohmann::json doc = {{"command", "pack-demo"},
                          {"matrix", {{"rows", rows}, {"cols", cols}, {"seed", seed}, {"distribution", distribution}}},
                          {"grid",
                           {{"bits", base.grid.bits},
                            {"code_kind", to_string(base.grid.kind)},
                            {"block_size", base.grid.block_size}}},
                          {"second_level",
                           {{"scale_bits", base.qq.scale_bits},
                            {"zero_bits", base.qq.zero_bits},
                            {"zero_sym", base.qq.zero_sym},
                            {"group_size", base.qq.group_size}}},
                          {"offset_sign", to_string(base.offset_search.sign)},
                          {"max_abs_offset", base.offset_search.max_abs_offset},
                          {"variants", results}};
    write_json_result(json_path, doc);
    std::cout << "wrote " << json_path << "\n";
  }
  return kExitOk;
}

}  // namespace oacim::cli
