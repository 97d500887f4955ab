#include "oacim/model/random_checkpoint.hpp"

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/core/safetensors.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

namespace {

using K = OptionKind;
using T = RandomCheckpointOptions;

std::vector<Option<T>> build() {
  const auto size = [](const char* name, const char* cli, const char* doc) {
    return option(name, K::Int, "0").range(0, 1 << 20).cli(cli).doc(doc);
  };
  return {
      bind<T>(option("family", K::Choice, "llama").choices({"llama", "opt"}).cli("family").doc("model_type of the directory"),
              [](auto& o) -> auto& { return o.family; }),
      bind<T>(option("preset", K::Choice, "").choices({"", "tinyllama-1.1b", "opt-125m", "opt-1.3b"}).cli("preset")
                  .doc("published shapes (sets the family; sizes given below win): TinyLlama-1.1B (2048 wide, 22 blocks, "
                       "grouped-query attention), OPT-125m, OPT-1.3B"),
              [](auto& o) -> auto& { return o.preset; }),
      bind<T>(size("hidden", "hidden", "width (hidden_size)"), [](auto& o) -> auto& { return o.hidden; }),
      bind<T>(size("intermediate", "intermediate", "MLP width (intermediate_size, OPT ffn_dim)"), [](auto& o) -> auto& { return o.intermediate; }),
      bind<T>(size("layers", "layers", "decoder blocks"), [](auto& o) -> auto& { return o.layers; }),
      bind<T>(size("heads", "heads", "attention heads"), [](auto& o) -> auto& { return o.heads; }),
      bind<T>(size("kv_heads", "kv-heads", "key/value heads (llama; 0: as many as heads)"), [](auto& o) -> auto& { return o.kv_heads; }),
      bind<T>(size("vocab", "vocab", "vocabulary size"), [](auto& o) -> auto& { return o.vocab; }),
      bind<T>(size("positions", "positions", "max_position_embeddings"), [](auto& o) -> auto& { return o.positions; }),
      bind<T>(option("dtype", K::Choice, "f16").choices({"f16", "f32"}).cli("dtype").doc("tensor type in model.safetensors"),
              [](auto& o) -> auto& { return o.dtype; }),
      bind<T>(option("seed", K::Int, "0").range(0, 4294967295.0).cli("seed").doc("weights' seed: the same seed, the same bytes"),
              [](auto& o) -> auto& { return o.seed; }),
      bind<T>(option("tokenizer_files", K::StringList, "").cli("tokenizer")
                  .doc("tokenizer files copied into the directory: tokenizer.model (llama), or vocab.json,merges.txt (opt)"),
              [](auto& o) -> auto& { return o.tokenizer_files; }),
      bind<T>(option("out_dir", K::Path).required().cli("out").doc("the directory to write"), [](auto& o) -> auto& { return o.out_dir; }),
  };
}

// N(0, std) as F16 or F32 bytes, `count` of them, from `rng`.
std::vector<std::uint8_t> normal_bytes(Rng& rng, std::int64_t count, double std_dev, double mean, bool f16) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(count) * (f16 ? 2 : 4));
  for (std::int64_t i = 0; i < count; ++i) {
    const float v = static_cast<float>(mean + std_dev * (std_dev > 0.0 ? rng.normal() : 0.0));
    if (f16) {
      const std::uint16_t b = fp16_bits_from_float(v);
      std::memcpy(out.data() + 2 * i, &b, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &v, 4);
    }
  }
  return out;
}

// The name a Hugging Face directory gives a tokenizer file: tokenizer.model, tokenizer.json,
// vocab.json (GPT-2's encoder.json) or merges.txt (GPT-2's vocab.bpe).
std::string tokenizer_name(const std::string& path) {
  const fs::path p(path);
  const std::string ext = p.extension().string();
  if (ext == ".model") return "tokenizer.model";
  if (p.filename() == "tokenizer.json") return "tokenizer.json";
  if (ext == ".json") return "vocab.json";
  if (ext == ".bpe" || ext == ".txt") return "merges.txt";
  throw InvalidArgument("tokenizer_files", fmt::format("{}: not a tokenizer.model, tokenizer.json, vocab.json or merges file", path));
}

}  // namespace

const std::vector<Option<RandomCheckpointOptions>>& random_checkpoint_options() {
  static const std::vector<Option<RandomCheckpointOptions>> kTable = build();
  return kTable;
}

void RandomCheckpointOptions::resolve() {
  struct Shape {
    const char* family;
    int hidden, intermediate, layers, heads, kv_heads, vocab, positions;
  };
  Shape p{};
  if (preset == "tinyllama-1.1b") p = {"llama", 2048, 5632, 22, 32, 4, 32000, 2048};
  if (preset == "opt-125m") p = {"opt", 768, 3072, 12, 12, 12, 50272, 2048};
  if (preset == "opt-1.3b") p = {"opt", 2048, 8192, 24, 32, 32, 50272, 2048};
  if (!preset.empty() && p.family == nullptr) throw InvalidArgument("preset", fmt::format("'{}' is not a preset", preset));
  if (p.family != nullptr) family = p.family;
  const auto pick = [](int& v, int preset_value) {
    if (v == 0) v = preset_value;
  };
  pick(hidden, p.hidden);
  pick(intermediate, p.intermediate);
  pick(layers, p.layers);
  pick(heads, p.heads);
  pick(kv_heads, family == "llama" ? p.kv_heads : heads);
  pick(vocab, p.vocab);
  pick(positions, p.positions);
  if (kv_heads == 0) kv_heads = heads;
  for (const auto& [v, key] : {std::pair<int, const char*>{hidden, "hidden"}, {intermediate, "intermediate"}, {layers, "layers"},
                               {heads, "heads"}, {vocab, "vocab"}, {positions, "positions"}}) {
    if (v < 1) throw InvalidArgument(key, "is required (or a preset)");
  }
  if (family != "llama" && family != "opt") throw InvalidArgument("family", fmt::format("'{}' is not llama or opt", family));
  if (hidden % heads != 0 || heads % kv_heads != 0 || (hidden / heads) % 2 != 0) {
    throw InvalidArgument("heads", fmt::format("{} heads ({} for keys and values) do not split the width {} into even heads", heads,
                                               kv_heads, hidden));
  }
  if (family == "opt" && kv_heads != heads) throw InvalidArgument("kv_heads", "OPT has no grouped-query attention");
  if (dtype != "f16" && dtype != "f32") throw InvalidArgument("dtype", "is f16 or f32");
}

std::int64_t RandomCheckpointOptions::parameters() const {
  const std::int64_t D = hidden, F = intermediate, V = vocab, L = layers, KV = static_cast<std::int64_t>(kv_heads) * (hidden / heads);
  if (family == "llama") return V * D * 2 + L * (2 * D + 2 * D * D + 2 * KV * D + 3 * F * D) + D;
  return V * D + (positions + 2) * D + L * (4 * (D * D + D) + 4 * D + F * D + F + D * F + D) + 2 * D;
}

RandomCheckpointOptions write_random_checkpoint(const RandomCheckpointOptions& in) {
  RandomCheckpointOptions o = in;
  o.resolve();
  const fs::path out(o.out_dir);
  if (fs::exists(out) && !(fs::is_directory(out) && fs::is_empty(out))) {
    throw InvalidArgument("out_dir", fmt::format("{} exists and is not empty; it is not overwritten", o.out_dir));
  }
  for (const std::string& f : o.tokenizer_files) {
    if (!fs::is_regular_file(f)) throw InvalidArgument("tokenizer_files", fmt::format("{} is not a file", f));
    (void)tokenizer_name(f);
  }
  const bool f16 = o.dtype == "f16";
  const DType dt = f16 ? DType::F16 : DType::F32;
  const std::int64_t D = o.hidden, F = o.intermediate, V = o.vocab, KV = static_cast<std::int64_t>(o.kv_heads) * (o.hidden / o.heads);
  Rng rng(o.seed);
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  const auto add = [&](const std::string& name, std::vector<std::int64_t> shape, double std_dev, double mean = 0.0) {
    std::int64_t n = 1;
    for (const auto d : shape) n *= d;
    const std::vector<std::uint8_t> b = normal_bytes(rng, n, std_dev, mean, f16);
    w.add(name, dt, shape, b.data(), b.size());
  };
  constexpr double kStd = 0.02;  // transformers' initializer_range
  nlohmann::json cfg;
  if (o.family == "llama") {
    add("model.embed_tokens.weight", {V, D}, kStd);
    for (int l = 0; l < o.layers; ++l) {
      const std::string p = fmt::format("model.layers.{}.", l);
      add(p + "input_layernorm.weight", {D}, 0.0, 1.0);
      add(p + "post_attention_layernorm.weight", {D}, 0.0, 1.0);
      add(p + "self_attn.q_proj.weight", {D, D}, kStd);
      add(p + "self_attn.k_proj.weight", {KV, D}, kStd);
      add(p + "self_attn.v_proj.weight", {KV, D}, kStd);
      add(p + "self_attn.o_proj.weight", {D, D}, kStd);
      add(p + "mlp.gate_proj.weight", {F, D}, kStd);
      add(p + "mlp.up_proj.weight", {F, D}, kStd);
      add(p + "mlp.down_proj.weight", {D, F}, kStd);
      if (o.progress) o.progress(fmt::format("random-model: block {}/{}", l + 1, o.layers));
    }
    add("model.norm.weight", {D}, 0.0, 1.0);
    add("lm_head.weight", {V, D}, kStd);
    cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", D}, {"intermediate_size", F},
           {"num_hidden_layers", o.layers}, {"num_attention_heads", o.heads}, {"num_key_value_heads", o.kv_heads},
           {"vocab_size", V}, {"max_position_embeddings", o.positions}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
           {"tie_word_embeddings", false}, {"hidden_act", "silu"}};
  } else {
    const std::string p = "model.decoder.";
    add(p + "embed_tokens.weight", {V, D}, kStd);
    add(p + "embed_positions.weight", {o.positions + 2, D}, kStd);
    for (int l = 0; l < o.layers; ++l) {
      const std::string q = fmt::format("{}layers.{}.", p, l);
      for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"}) {
        add(q + n + ".weight", {D, D}, kStd);
        add(q + n + ".bias", {D}, 0.0);
      }
      add(q + "fc1.weight", {F, D}, kStd);
      add(q + "fc1.bias", {F}, 0.0);
      add(q + "fc2.weight", {D, F}, kStd);
      add(q + "fc2.bias", {D}, 0.0);
      for (const char* n : {"self_attn_layer_norm", "final_layer_norm"}) {
        add(q + n + ".weight", {D}, 0.0, 1.0);
        add(q + n + ".bias", {D}, 0.0);
      }
      if (o.progress) o.progress(fmt::format("random-model: block {}/{}", l + 1, o.layers));
    }
    add(p + "final_layer_norm.weight", {D}, 0.0, 1.0);
    add(p + "final_layer_norm.bias", {D}, 0.0);
    cfg = {{"architectures", {"OPTForCausalLM"}}, {"model_type", "opt"}, {"hidden_size", D}, {"ffn_dim", F},
           {"num_hidden_layers", o.layers}, {"num_attention_heads", o.heads}, {"vocab_size", V},
           {"max_position_embeddings", o.positions}, {"do_layer_norm_before", true}, {"activation_function", "relu"},
           {"word_embed_proj_dim", D}, {"tie_word_embeddings", true}};
  }
  cfg["torch_dtype"] = f16 ? "float16" : "float32";
  cfg["oacim_random_model"] = {{"seed", o.seed}, {"init_std", kStd}};
  // Written beside the target and renamed into place.
  const fs::path tmp = out.string() + fmt::format(".partial-{}", ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  w.write((tmp / "model.safetensors").string());
  write_file_atomically((tmp / "config.json").string(), cfg.dump(2) + "\n");
  for (const std::string& f : o.tokenizer_files) fs::copy_file(f, tmp / tokenizer_name(f));
  fs::remove_all(out);
  fs::rename(tmp, out);
  return o;
}

}  // namespace oacim::model
