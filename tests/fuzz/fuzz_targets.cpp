#include "fuzz_targets.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/token_file.hpp"
#include "oacim/data/c4.hpp"
#include "oacim/data/task_file.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/core/gguf_cells.hpp"
#include "oacim/core/gptq_format.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/model/bpe_tokenizer.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/report/compare.hpp"
#include "oacim/report/report_writer.hpp"
#include "oacim/sweep/experiment.hpp"

namespace fs = std::filesystem;

namespace oacim::fuzz {

const std::string& scratch_dir() {
  static const std::string kDir = [] {
    const fs::path d = fs::temp_directory_path() / ("oacim-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d.string();
  }();
  return kDir;
}

std::string scratch_file(const std::string& name, const std::string& bytes) {
  const std::string path = (fs::path(scratch_dir()) / name).string();
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

namespace {

const char* kSample = "Once upon a time, \xC3\xA9t\xC3\xA9 \xF0\x9F\x99\x82 <s> 12345\n\n";

// Splits an input that carries two files at the first "\n=====\n" (the second is empty without it).
std::pair<std::string, std::string> two_files(const std::string& bytes) {
  const std::string sep = "\n=====\n";
  const std::size_t at = bytes.find(sep);
  if (at == std::string::npos) return {bytes, ""};
  return {bytes.substr(0, at), bytes.substr(at + sep.size())};
}

void safetensors(const std::string& bytes) {
  const SafetensorsFile f = SafetensorsFile::open(scratch_file("x.safetensors", bytes));
  std::size_t touched = 0;
  for (const auto& name : f.names()) {
    const TensorView& v = f.tensor(name);
    for (std::size_t i = 0; i < v.nbytes; i += 61) touched += v.data[i];
  }
  (void)touched;
}

void packed(const std::string& bytes) {
  const SafetensorsFile f = SafetensorsFile::open(scratch_file("packed.safetensors", bytes));
  for (const auto& [key, value] : f.metadata()) {
    const std::string suffix = "format";
    if (value != kPackedFormatName || key.size() < suffix.size() ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const PackedCimWeights w = load_packed(f, key.substr(0, key.size() - suffix.size()));
    (void)w.dequantize();
  }
}

void llama2c_checkpoint(const std::string& bytes) {
  (void)model::load_llama2c(scratch_file("model.bin", bytes));
}

void encode_sample(const model::Llama2cTokenizer& t) {
  const std::vector<int> ids = t.encode(kSample, true, true);
  for (std::size_t i = 1; i < ids.size(); ++i) (void)t.decode(ids[i - 1], ids[i]);
}

void llama2c_tokenizer(const std::string& bytes) {
  // The first two bytes choose the vocabulary size the file must hold (1 .. 4096).
  if (bytes.size() < 2) return;
  const int vocab = 1 + ((static_cast<unsigned char>(bytes[0]) << 8 | static_cast<unsigned char>(bytes[1])) % 4096);
  encode_sample(model::Llama2cTokenizer::load(scratch_file("tokenizer.bin", bytes.substr(2)), vocab));
}

void sentencepiece(const std::string& bytes) {
  encode_sample(model::Llama2cTokenizer::load_sentencepiece(scratch_file("tokenizer.model", bytes)));
}

void tokenizer_json(const std::string& bytes) {
  const std::string path = scratch_file("tokenizer.json", bytes);
  try {
    const model::BpeTokenizer b = model::BpeTokenizer::load_tokenizer_json(path);
    (void)b.decode(b.encode(kSample));
  } catch (const Error&) {
  }
  encode_sample(model::Llama2cTokenizer::load_tokenizer_json(path));
}

void vocab_merges(const std::string& bytes) {
  const auto [vocab, merges] = two_files(bytes);
  const model::BpeTokenizer b =
      model::BpeTokenizer::load(scratch_file("vocab.json", vocab), scratch_file("merges.txt", merges));
  (void)b.decode(b.encode(kSample));
}

void hf_config(const std::string& bytes) {
  const std::string dir = (fs::path(scratch_dir()) / "hf").string();
  scratch_file("hf/config.json", bytes);
  if (!fs::exists(fs::path(dir) / "model.safetensors")) {
    SafetensorsWriter w;
    w.add("transformer.wte.weight", DType::F32, {1, 4}, std::vector<float>(4, 0.5f));
    w.write((fs::path(dir) / "model.safetensors").string());
  }
  const model::HfCheckpoint ck = model::HfCheckpoint::open(dir);
  (void)ck.model_type();
  for (const char* key : {"hidden_size", "num_hidden_layers", "vocab_size", "max_position_embeddings", "n_layer"}) {
    try {
      (void)ck.config_int(key);
    } catch (const Error&) {
    }
  }
  (void)ck.config_number("rope_theta", 1.0);
  (void)ck.config_bool("tie_word_embeddings", false);
  (void)model::model_linear_names(dir);
}

void token_file(const std::string& bytes) {
  const std::string path = scratch_file("tokens.safetensors", bytes);
  if (!is_token_file(path)) return;
  const TokenSamples s = read_token_file(path);
  (void)first_samples(s, path, 1, 64, 512);
}

void hw_yaml(const std::string& bytes) { (void)hw::to_yaml(hw::parse_hw_config(bytes, "fuzz.yaml")); }

void experiment_yaml(const std::string& bytes) {
  const sweep::Experiment ex = sweep::parse_experiment(bytes, "fuzz.yaml");
  const auto points = sweep::expand(ex);
  for (const auto& p : points) (void)p.label();
}

void results_json(const std::string& bytes) {
  const std::string dir = (fs::path(scratch_dir()) / "run").string();
  scratch_file("run/results.json", bytes);
  const nlohmann::json r = report::read_results(dir);
  // The CLI turns a results file of the wrong shape into a FormatError the same way.
  try {
    (void)report::results_csv(r);
    (void)report::report_markdown(r);
    (void)report::report_html(r);
    (void)report::compare_results(r, r, 0.1, "a", "b");
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(dir + "/results.json", e.what());
  }
}

void c4_jsonl(const std::string& bytes) {
  const std::vector<std::string> docs = data::read_c4_documents(scratch_file("c4.json", bytes), 64);
  if (docs.empty()) return;
  const data::Tokenize words = [](const std::string& text) {
    std::vector<int> ids;
    for (const char c : text) ids.push_back(static_cast<unsigned char>(c));
    return ids;
  };
  try {
    (void)data::c4_new_eval_tokens(docs, words, 8, 2);
  } catch (const Error&) {
  }
  (void)data::c4_calibration_windows(docs, words, 2, 8, 1);
}

void gguf(const std::string& bytes) {
  const GgufFile f = GgufFile::from_bytes(bytes, "fuzz.gguf");
  for (const auto& [key, v] : f.metadata()) {
    if (v.type == GgufType::String) (void)f.string_value(key);
  }
  for (const GgufTensor& t : f.tensors()) {
    if (ggml_block(t.type).weights > 0 && t.numel() <= (1 << 20)) {
      try {
        (void)f.dequantize(t);
        // 4-bit blocks onto the cells: a matrix maps, anything else is refused by name.
        if (ggml_type_fits_cell(t.type)) (void)gguf_to_packed(f, t);
      } catch (const FormatError&) {  // a non-finite value or a shape the cells refuse
      }
    }
  }
}

// A GPTQ layer as a safetensors file: qweight, qzeros, scales (F16), g_idx, metadata "bits" and
// "format"; imported onto the cells and, when that works, exported again to the same tensors.
void gptq_layer(const std::string& bytes) {
  const SafetensorsFile f = SafetensorsFile::from_bytes(bytes, "fuzz-gptq.safetensors");
  GptqLayer l;
  const std::string& bits = f.metadata_value("bits");
  if (bits.size() != 1 || bits[0] < '1' || bits[0] > '8') throw FormatError(f.path(), "bits is not 1..8");
  l.bits = bits[0] - '0';
  const GptqZeros zeros = gptq_zeros_from_string(f.metadata_value("format"), "format");
  const TensorView& qw = f.tensor("qweight");
  const TensorView& sc = f.tensor("scales");
  if (qw.shape.size() != 2 || sc.shape.size() != 2 || l.bits < 1 || l.bits > 8) throw FormatError(f.path(), "not a GPTQ layer");
  if (qw.shape[0] > (1 << 12) || qw.shape[1] > (1 << 12) || sc.shape[0] > (1 << 12)) throw FormatError(f.path(), "too large for the fuzzer");
  l.rows = static_cast<int>(qw.shape[1]);
  l.cols = static_cast<int>(qw.shape[0] * 32 / l.bits);
  l.qweight = f.read<std::int32_t>("qweight", DType::I32, qw.shape);
  l.qzeros = f.read<std::int32_t>("qzeros", DType::I32, f.tensor("qzeros").shape);
  for (const std::uint16_t h : f.read<std::uint16_t>("scales", DType::F16, sc.shape)) l.scales.push_back(float_from_fp16_bits(h));
  l.g_idx = f.read<std::int32_t>("g_idx", DType::I32, f.tensor("g_idx").shape);
  const GptqImport imp = gptq_to_packed(l, zeros, f.path());
  const GptqExport e = packed_to_gptq(imp.weights, imp.input_order, zeros, "fuzz");
  const GptqImport again = gptq_to_packed(e.layer, zeros, "fuzz");
  if (again.weights.dequantize() != imp.weights.dequantize()) throw std::logic_error("GPTQ export then import changed the values");
}

void task_jsonl(const std::string& bytes) {
  const data::TaskFile f = data::parse_task_file(bytes, "task.jsonl");
  for (const auto& d : f.documents) {
    if (d.continuations.empty() || d.continuations.size() != d.norm_bytes.size()) throw Error("a document without continuations");
  }
}

}  // namespace

#ifdef OACIM_FUZZ_WITH_TORCH
void add_torch_targets(std::vector<Target>& targets);  // fuzz_targets_torch.cpp
#endif

const std::vector<Target>& targets() {
  static const std::vector<Target> kTargets = [] {
    std::vector<Target> t = {
        {"safetensors", safetensors},       {"packed", packed},
        {"llama2c_checkpoint", llama2c_checkpoint}, {"llama2c_tokenizer", llama2c_tokenizer},
        {"sentencepiece", sentencepiece},   {"tokenizer_json", tokenizer_json},
        {"vocab_merges", vocab_merges},     {"hf_config", hf_config},
        {"token_file", token_file},         {"hw_yaml", hw_yaml},
        {"experiment_yaml", experiment_yaml}, {"results_json", results_json},
        {"c4_jsonl", c4_jsonl},             {"task_jsonl", task_jsonl},
        {"gguf", gguf},                     {"gptq_layer", gptq_layer},
    };
#ifdef OACIM_FUZZ_WITH_TORCH
    add_torch_targets(t);
#endif
    return t;
  }();
  return kTargets;
}

const Target* find_target(const std::string& name) {
  for (const auto& t : targets()) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

std::string run_one(const Target& target, const std::string& bytes) {
  try {
    target.run(bytes);
  } catch (const Error&) {
    // A clean refusal: the error names the file and the reason.
  } catch (const std::exception& e) {
    return std::string("escaped ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "escaped a non-standard exception";
  }
  return "";
}

}  // namespace oacim::fuzz
