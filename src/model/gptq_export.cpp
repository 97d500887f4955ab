#include "oacim/model/gptq_export.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gptq_format.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

namespace {

// The checkpoint tensor a decoder's named tensor (Decoder::named_tensors) came from.
std::string hf_name(const std::string& type, const std::string& internal) {
  int layer = -1;
  char rest[64] = {};
  const bool block = std::sscanf(internal.c_str(), "layers.%d.%63s", &layer, rest) == 2;
  const std::string r = rest;
  if (type == "opt") {
    const std::string p = "model.decoder.";
    if (internal == "embed") return p + "embed_tokens.weight";
    if (internal == "positions") return p + "embed_positions.weight";
    if (internal == "final_norm.weight" || internal == "final_norm.bias") return p + "final_layer_norm." + internal.substr(11);
    if (block && (r == "ln1.weight" || r == "ln1.bias")) return fmt::format("{}layers.{}.self_attn_layer_norm.{}", p, layer, r.substr(4));
    if (block && (r == "ln2.weight" || r == "ln2.bias")) return fmt::format("{}layers.{}.final_layer_norm.{}", p, layer, r.substr(4));
  } else {
    if (internal == "embed") return "model.embed_tokens.weight";
    if (internal == "final_norm") return "model.norm.weight";
    if (block && r == "attention_norm") return fmt::format("model.layers.{}.input_layernorm.weight", layer);
    if (block && r == "ffn_norm") return fmt::format("model.layers.{}.post_attention_layernorm.weight", layer);
  }
  throw InvalidArgument("quantized_dir", fmt::format("no checkpoint tensor is known for the model's '{}'", internal));
}

// `values` in the dtype `like` has (F32, F16 or BF16), as raw bytes.
std::string in_dtype(const std::vector<float>& values, DType dtype) {
  std::string out;
  for (const float v : values) {
    if (dtype == DType::F32) {
      out.append(reinterpret_cast<const char*>(&v), 4);
    } else {
      const std::uint16_t b = dtype == DType::F16 ? fp16_bits_from_float(v) : Bf16::from_float(v).bits();
      out.append(reinterpret_cast<const char*>(&b), 2);
    }
  }
  return out;
}

std::vector<float> as_floats(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

GptqExportResult export_gptq(const GptqExportOptions& o) {
  const GptqZeros zeros = gptq_zeros_from_string(o.checkpoint_format, "checkpoint_format");
  const fs::path out(o.out_dir);
  if (fs::exists(out) && !(fs::is_directory(out) && (fs::is_empty(out) || fs::exists(out / "quantize_config.json")))) {
    throw InvalidArgument("out_dir", fmt::format("{} exists and is not an earlier GPTQ export; it is not overwritten", o.out_dir));
  }
  if (!is_quantized_model_dir(o.quantized_dir)) {
    throw InvalidArgument("quantized_dir", fmt::format("{} is not a quantized model directory (`oacim quantize --out`)", o.quantized_dir));
  }
  const QuantizedModelInfo info = read_quantized_info(o.quantized_dir);
  if (!fs::is_directory(info.source_model)) {
    throw InvalidArgument("quantized_dir", fmt::format("its source {} is not a Hugging Face directory; a GPTQ checkpoint is one, "
                                                       "and needs the source's config and tensors",
                                                       info.source_model));
  }
  const HfCheckpoint ck = HfCheckpoint::open(info.source_model);
  const std::string type = ck.model_type();
  if (type != "llama" && type != "opt") {
    throw InvalidArgument("quantized_dir", fmt::format("its source is a '{}' model; GPTQ export writes LLaMA and OPT", type));
  }
  LoadedModel lm = load_model(o.quantized_dir);
  Decoder& dec = *lm.decoder;

  // One bits, group size and act-order flag for the whole checkpoint (the loaders read them once).
  GptqExportResult res;
  std::vector<QuantLinear*> lins;
  int group = o.group_size;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (QuantLinear* lin : dec.block_linears(l)) {
      if (lin->incoherence()) throw InvalidArgument(lin->name(), "is quantized in a Hadamard-rotated space, which GPTQ loaders do not apply");
      const PackedCimWeights& w = *lin->packed();
      if (res.bits != 0 && w.grid().bits != res.bits) throw InvalidArgument(lin->name(), "has other code bits than the Linears before it");
      res.bits = w.grid().bits;
      if (o.group_size == 0) group = group == 0 ? gptq_group_size(w) : std::min(group, gptq_group_size(w));
      res.desc_act = res.desc_act || !lin->input_order().empty();
      lins.push_back(lin);
    }
  }
  SafetensorsWriter st;
  st.set_metadata("format", "pt");
  std::map<std::string, bool> skip;  // the source's own Linear tensors, replaced below
  bool all_one_group = true, sym = true;
  for (QuantLinear* lin : lins) {
    const GptqExport e = packed_to_gptq(*lin->packed(), lin->input_order(), zeros, lin->name(), group);
    const GptqLayer& g = e.layer;
    const std::int64_t R = g.rows, C = g.cols, G = g.groups();
    st.add(lin->name() + ".qweight", DType::I32, {C * g.bits / 32, R}, g.qweight);
    st.add(lin->name() + ".qzeros", DType::I32, {G, R * g.bits / 32}, g.qzeros);
    st.add(lin->name() + ".scales", DType::F16, {G, R}, fp16_bits_from_floats(g.scales));
    st.add(lin->name() + ".g_idx", DType::I32, {C}, g.g_idx);
    for (const char* suffix : {".weight", ".qweight", ".qzeros", ".scales", ".g_idx"}) skip[lin->name() + suffix] = true;
    all_one_group = all_one_group && e.group_size == C;
    sym = sym && e.sym;
    res.max_scale_change = std::max(res.max_scale_change, e.max_scale_change);
    ++res.linears;
  }
  res.group_size = all_one_group ? -1 : group;
  res.sym = sym;
  // Every other tensor as the source stores it, unless the quantized directory changed it.
  std::map<std::string, std::vector<float>> changed;
  for (const auto& [name, t] : dec.named_tensors()) {
    const std::string hf = hf_name(type, name);
    const std::vector<float> mine = as_floats(*t);
    const std::vector<float> source = as_floats(ck.tensor(hf, std::vector<std::int64_t>(t->sizes().begin(), t->sizes().end())));
    if (mine != source) changed[hf] = mine;
  }
  res.tensors_changed = static_cast<int>(changed.size());
  for (const std::string& name : ck.tensor_names()) {
    if (skip.count(name)) continue;
    const TensorView& v = ck.file_of(name).tensor(name);
    if (const auto it = changed.find(name); it != changed.end() && (v.dtype == DType::F32 || v.dtype == DType::F16 || v.dtype == DType::BF16)) {
      const std::string bytes = in_dtype(it->second, v.dtype);
      st.add(name, v.dtype, v.shape, bytes.data(), bytes.size());
    } else {
      st.add(name, v.dtype, v.shape, v.data, v.nbytes);
    }
  }

  nlohmann::json q = {{"quant_method", "gptq"},   {"bits", res.bits},         {"group_size", res.group_size},
                      {"desc_act", res.desc_act}, {"sym", res.sym},           {"static_groups", false},
                      {"true_sequential", true},  {"checkpoint_format", o.checkpoint_format}};
  nlohmann::json config = ck.config();
  config["quantization_config"] = q;
  nlohmann::json qc = q;
  qc["model_file_base_name"] = "model";
  qc["oacim"] = {{"quantized_dir", fs::absolute(o.quantized_dir).lexically_normal().string()}, {"options", info.options_json}};

  // Written beside the target and renamed into place.
  const fs::path tmp = out.string() + fmt::format(".partial-{}", ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  st.write((tmp / "model.safetensors").string());
  write_file_atomically((tmp / "config.json").string(), config.dump(2) + "\n");
  write_file_atomically((tmp / "quantize_config.json").string(), qc.dump(2) + "\n");
  for (const char* f : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                        "merges.txt", "added_tokens.json", "generation_config.json"}) {
    if (fs::exists(fs::path(info.source_model) / f)) fs::copy_file(fs::path(info.source_model) / f, tmp / f);
  }
  fs::remove_all(out);
  fs::rename(tmp, out);
  if (o.progress) {
    o.progress(fmt::format("export: {} Linears, {}-bit, group {}, {}{}, scales to fp16 (largest change {:.2e})", res.linears,
                           res.bits, res.group_size, res.sym ? "sym" : "asym", res.desc_act ? ", act-order" : "",
                           res.max_scale_change));
  }
  return res;
}

}  // namespace oacim::model
