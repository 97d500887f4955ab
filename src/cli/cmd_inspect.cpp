// oacim inspect: opens a safetensors file, validates every packed layer in it, and prints shape,
// format, outliers, ones-count and storage bits per layer; or a GGUF file: its metadata and its
// tensors by type.
#include <iostream>
#include <map>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/core/gguf_cells.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/storage_bits.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

namespace {

// A GGUF file: architecture, tokenizer and tensors counted per type, every tensor's bounds checked.
int inspect_gguf(const std::string& file, const std::string& json_path) {
  const GgufFile f = GgufFile::open(file);
  const auto text = [&](const char* key) { return f.has(key) ? f.string_value(key) : std::string("-"); };
  std::map<std::string, std::pair<int, std::int64_t>> by_type;  // type -> tensors, elements
  std::int64_t elements = 0;
  for (const GgufTensor& t : f.tensors()) {
    auto& [n, e] = by_type[ggml_type_name(t.type)];
    ++n;
    e += t.numel();
    elements += t.numel();
  }
  // The block Linears as the chip would take them (docs/models.md "GGUF on the chip").
  int own_codes = 0, requantize = 0, floats = 0;
  for (const GgufTensor& t : f.tensors()) {
    const std::string& n = t.name;
    if (n.rfind("blk.", 0) != 0 || t.shape.size() != 2 || n.size() < 7 || n.compare(n.size() - 7, 7, ".weight") != 0) continue;
    const bool linear = n.find(".attn_q.") != std::string::npos || n.find(".attn_k.") != std::string::npos ||
                        n.find(".attn_v.") != std::string::npos || n.find(".attn_qkv.") != std::string::npos ||
                        n.find(".attn_output.") != std::string::npos || n.find(".ffn_") != std::string::npos;
    if (!linear) continue;
    const auto type = static_cast<GgmlType>(t.type);
    if (ggml_type_fits_cell(t.type)) {
      ++own_codes;
    } else if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
      ++floats;
    } else {
      ++requantize;
    }
  }
  std::string types;
  for (const auto& [type, ne] : by_type) types += fmt::format("{}{} {} ({} weights)", types.empty() ? "" : ", ", ne.first, type, ne.second);
  std::cout << fmt::format("{}: GGUF v{}, {} metadata keys, architecture {}, tokenizer {}, {} tensors{}{}\n", file, f.version(),
                           f.metadata().size(), text("general.architecture"), text("tokenizer.ggml.model"), f.tensors().size(),
                           types.empty() ? "" : ": ", types);
  if (own_codes + requantize + floats > 0) {
    std::cout << fmt::format("  block Linear tensors on the chip: {} run the file's own 4-bit codes (Q4_0/Q4_1/Q4_K), {} of a type "
                             "no 4-bit cell holds (requantize: eval --requantize rtn, or quantize --keep-file-codes), {} float\n",
                             own_codes, requantize, floats);
  }
  if (!json_path.empty()) {
    nlohmann::json t = nlohmann::json::object();
    for (const auto& [type, ne] : by_type) t[type] = {{"tensors", ne.first}, {"weights", ne.second}};
    write_json_result(json_path, {{"command", "inspect"},
                                  {"file", file},
                                  {"format", "gguf"},
                                  {"version", f.version()},
                                  {"architecture", text("general.architecture")},
                                  {"tokenizer", text("tokenizer.ggml.model")},
                                  {"metadata_keys", f.metadata().size()},
                                  {"tensors", f.tensors().size()},
                                  {"weights", elements},
                                  {"types", t},
                                  {"block_linear_tensors", {{"file_codes", own_codes}, {"requantize", requantize}, {"float", floats}}}});
  }
  return kExitOk;
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  std::string file;
  std::string json_path;
  po::options_description opts("inspect options");
  opts.add_options()("json", po::value(&json_path), "write the layer summaries to this JSON file");
  po::options_description pos;
  pos.add_options()("file", po::value(&file)->required(), "safetensors or GGUF file");
  po::variables_map vm;
  const int parsed = parse_command_line("inspect", "FILE.safetensors|FILE.gguf [--json OUT]", opts, pos, {"file"}, args, vm);
  if (parsed >= 0) return parsed;

  if (is_gguf_file(file)) return inspect_gguf(file, json_path);
  const SafetensorsFile f = SafetensorsFile::open(file);
  // A packed layer is announced by a metadata key "<prefix>format" naming the packed format.
  std::vector<std::string> prefixes;
  for (const auto& [key, value] : f.metadata()) {
    const std::string suffix = "format";
    if (value == kPackedFormatName && key.size() >= suffix.size() &&
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
      prefixes.push_back(key.substr(0, key.size() - suffix.size()));
    }
  }
  std::cout << fmt::format("{}: {} tensors, {} packed layer(s)\n", file, f.names().size(), prefixes.size());
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& prefix : prefixes) {
    const PackedCimWeights w = load_packed(f, prefix);
    const OnesCount ones = count_ones(w);
    const StorageBits sb = storage_bits(w);
    const std::string name = prefix.empty() ? "(layer)" : prefix;
    std::cout << fmt::format(
        "  {}: {}x{}, {}-bit {}, block {}, qq scale/zero bits {}/{}, offsets {}, outliers {} ({:.3f}% of row-blocks), "
        "ones {:.2f}% of stored bits, {:.3f} bits/weight\n",
        name, w.rows(), w.cols(), w.grid().bits, to_string(w.grid().kind), w.grid().block_size,
        w.second_level().scale_bits, w.second_level().zero_bits, to_string(w.offset_sign()), w.outlier_count(),
        100.0 * static_cast<double>(w.outlier_count()) / (static_cast<double>(w.rows()) * w.blocks()),
        100.0 * ones.fraction(), sb.per_weight());
    layers.push_back({{"prefix", prefix},
                      {"rows", w.rows()},
                      {"cols", w.cols()},
                      {"bits", w.grid().bits},
                      {"code_kind", to_string(w.grid().kind)},
                      {"block_size", w.grid().block_size},
                      {"outliers", w.outlier_count()},
                      {"ones", ones.ones},
                      {"stored_bits", ones.stored_bits},
                      {"bits_per_weight", sb.per_weight()}});
  }
  if (!json_path.empty()) write_json_result(json_path, {{"command", "inspect"}, {"file", file}, {"layers", layers}});
  return kExitOk;
}

}  // namespace oacim::cli
