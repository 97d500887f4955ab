// GPTQ checkpoints: a Hugging Face LLaMA directory whose Linears are qweight/qzeros/scales/g_idx
// (written here from random codes, 4 and 3 bits, act-order or not, both zero conventions) loads
// with the checkpoint's codes on the cells and its values as the float weights; an oacim quantized
// directory exports to that layout and reads back with the same codes, zeros and (fp16) scales; a
// GPTQ checkpoint imported and exported again gives back its own tensors; what the layout cannot
// hold is refused by name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gptq_format.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/model/gptq_export.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"

namespace fs = std::filesystem;

namespace oacim::model {
namespace {

const std::string kTok = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/tok512.bin";
const std::string kText = std::string(OACIM_SOURCE_DIR) + "/tests/data/tinystories-valid-slice.txt";
constexpr int kDim = 64, kHidden = 128, kLayers = 2, kVocab = 512;

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/oacim_gptq_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

struct LinearShape {
  std::string name;
  int out, in;
};

std::vector<LinearShape> linears() {
  std::vector<LinearShape> out;
  for (int l = 0; l < kLayers; ++l) {
    for (const LinearRole r : block_roles(LinearNaming::HfLlama)) {
      const bool down = r == LinearRole::Down, wide = r == LinearRole::Gate || r == LinearRole::Up;
      out.push_back({linear_name(LinearNaming::HfLlama, l, r), wide ? kHidden : kDim, down ? kHidden : kDim});
    }
  }
  return out;
}

// A seeded random LLaMA in the Hugging Face layout (F32); `gptq` replaces every Linear's weight.
std::string write_llama(const std::string& name, const std::map<std::string, GptqLayer>& gptq = {}, const nlohmann::json& qcfg = {}) {
  const std::string dir = temp_dir(name);
  std::mt19937 rng(17);
  std::normal_distribution<float> n(0.0f, 1.0f);
  SafetensorsWriter w;
  const auto add = [&](const std::string& t, std::vector<std::int64_t> shape, float scale, float mean) {
    std::int64_t count = 1;
    for (const auto d : shape) count *= d;
    std::vector<float> v(static_cast<std::size_t>(count));
    for (float& x : v) x = mean + scale * n(rng);
    w.add(t, DType::F32, shape, v);
  };
  add("model.embed_tokens.weight", {kVocab, kDim}, 0.1f, 0.0f);  // modest logits: a perplexity near the vocabulary
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {kDim}, 0.05f, 1.0f);
    add(p + "post_attention_layernorm.weight", {kDim}, 0.05f, 1.0f);
  }
  add("model.norm.weight", {kDim}, 0.05f, 1.0f);
  for (const LinearShape& s : linears()) {
    const auto it = gptq.find(s.name);
    if (it == gptq.end()) {
      add(s.name + ".weight", {s.out, s.in}, 1.0f / std::sqrt(static_cast<float>(s.in)), 0.0f);
      continue;
    }
    const GptqLayer& g = it->second;
    w.add(s.name + ".qweight", DType::I32, {s.in * g.bits / 32, s.out}, g.qweight);
    w.add(s.name + ".qzeros", DType::I32, {g.groups(), s.out * g.bits / 32}, g.qzeros);
    std::vector<std::uint16_t> h;
    for (const float x : g.scales) h.push_back(fp16_bits_from_float(x));
    w.add(s.name + ".scales", DType::F16, {g.groups(), s.out}, h);
    w.add(s.name + ".g_idx", DType::I32, {s.in}, g.g_idx);
  }
  w.write(dir + "/model.safetensors");
  nlohmann::json cfg = {{"model_type", "llama"},         {"hidden_size", kDim},      {"intermediate_size", kHidden},
                        {"num_hidden_layers", kLayers},  {"num_attention_heads", 4}, {"num_key_value_heads", 4},
                        {"vocab_size", kVocab},          {"max_position_embeddings", 256},
                        {"rms_norm_eps", 1e-5},          {"tie_word_embeddings", true}};
  if (!qcfg.is_null()) cfg["quantization_config"] = qcfg;
  std::ofstream(dir + "/config.json") << cfg.dump(1);
  return dir;
}

// Random GPTQ tensors of one Linear: codes, zeros and fp16 scales; act-order scatters the groups.
GptqLayer random_gptq(int out, int in, int bits, int group, bool desc_act, GptqZeros, unsigned seed) {
  std::mt19937 rng(seed);
  const int maxq = (1 << bits) - 1, G = (in + group - 1) / group;
  GptqLayer g;
  g.rows = out;
  g.cols = in;
  g.bits = bits;
  std::uniform_real_distribution<float> s(0.004f, 0.03f);
  for (int i = 0; i < G * out; ++i) g.scales.push_back(float_from_fp16_bits(fp16_bits_from_float(s(rng))));
  std::vector<int> perm(static_cast<std::size_t>(in));
  std::iota(perm.begin(), perm.end(), 0);
  if (desc_act) std::shuffle(perm.begin(), perm.end(), rng);
  g.g_idx.resize(static_cast<std::size_t>(in));
  for (int i = 0; i < in; ++i) g.g_idx[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] = i / group;
  const std::size_t kw = static_cast<std::size_t>(in) * bits / 32;
  g.qweight.assign(kw * out, 0);
  for (int r = 0; r < out; ++r) {
    std::vector<int> col(static_cast<std::size_t>(in));
    for (int& c : col) c = static_cast<int>(rng() % (maxq + 1));
    const auto words = pack_code_stream(col, bits);
    for (std::size_t i = 0; i < kw; ++i) g.qweight[i * out + r] = words[i];
  }
  for (int k = 0; k < G; ++k) {
    std::vector<int> zs(static_cast<std::size_t>(out));
    for (int& v : zs) v = static_cast<int>(rng() % (maxq + 1));  // as stored (v1: zero - 1)
    const auto words = pack_code_stream(zs, bits);
    g.qzeros.insert(g.qzeros.end(), words.begin(), words.end());
  }
  return g;
}

std::string write_gptq(const std::string& name, int bits, int group, bool desc_act, GptqZeros z) {
  std::map<std::string, GptqLayer> layers;
  unsigned seed = 1;
  for (const LinearShape& s : linears()) layers[s.name] = random_gptq(s.out, s.in, bits, group, desc_act, z, seed++);
  return write_llama(name, layers,
                     {{"quant_method", "gptq"}, {"bits", bits}, {"group_size", group}, {"desc_act", desc_act}, {"sym", false},
                      {"checkpoint_format", to_string(z)}});
}

double perplexity(const std::string& model, const std::string& backend) {
  eval::EvalOptions o;
  o.model_path = model;
  o.tokenizer_path = kTok;
  o.dataset = kText;
  o.seqlen = 128;
  o.max_windows = 2;
  o.backend = backend;
  return eval::run_eval(o).perplexity;
}

TEST(GptqCheckpoint, LoadsTheCheckpointsCodesOntoTheCells) {
  for (const int bits : {4, 3}) {
    for (const bool desc_act : {false, true}) {
      const GptqZeros z = desc_act ? GptqZeros::V2 : GptqZeros::V1;
      const std::string dir = write_gptq("load", bits, 32, desc_act, z);
      const std::string what = std::to_string(bits) + " bits" + (desc_act ? ", act-order" : "");
      LoadedModel lm = load_model(dir, kTok);
      EXPECT_EQ(lm.file_packed_linears, 14) << what;
      const HfCheckpoint ck = HfCheckpoint::open(dir);
      for (int l = 0; l < lm.decoder->num_blocks(); ++l) {
        for (QuantLinear* lin : lm.decoder->block_linears(l)) {
          ASSERT_TRUE(lin->has_packed());
          EXPECT_EQ(lin->input_order().empty(), !desc_act) << lin->name();
          EXPECT_EQ(lin->packed()->grid().bits, bits);
          // The float weight is scale * (q - zero) at the checkpoint's own columns.
          const GptqLayer g = ck.gptq_layer(lin->name(), lin->out_features(), lin->in_features());
          const at::Tensor w = lin->weight().contiguous();
          const int C = lin->in_features();
          for (int r = 0; r < lin->out_features(); r += 7) {
            std::vector<std::int32_t> col(g.qweight.size() / lin->out_features());
            for (std::size_t i = 0; i < col.size(); ++i) col[i] = g.qweight[i * lin->out_features() + r];
            const std::vector<int> q = unpack_code_stream(col.data(), static_cast<std::size_t>(C), bits);
            for (int c = 0; c < C; c += 5) {
              const int grp = g.g_idx[static_cast<std::size_t>(c)];
              const std::vector<int> zs = unpack_code_stream(g.qzeros.data() + static_cast<std::size_t>(grp) * lin->out_features() * bits / 32,
                                                             static_cast<std::size_t>(lin->out_features()), bits);
              const int zero = zs[static_cast<std::size_t>(r)] + (z == GptqZeros::V1 ? 1 : 0);
              const float want = g.scales[static_cast<std::size_t>(grp) * lin->out_features() + r] *
                                 static_cast<float>(q[static_cast<std::size_t>(c)] - zero);
              ASSERT_EQ(w[r][c].item<float>(), want) << lin->name() << " " << r << "," << c;
            }
          }
        }
      }
      // fakequant computes with the same values (in the chip's column order under act-order).
      const std::vector<int> ids = lm.tokenize("Once upon a time, there was a little girl.");
      const at::Tensor a = lm.decoder->forward(ids, Backend::Float), b = lm.decoder->forward(ids, Backend::FakeQuant);
      if (desc_act) {
        EXPECT_LT((a - b).abs().max().item<float>(), 1e-3f) << what;
      } else {
        EXPECT_TRUE(at::equal(a, b)) << what;
      }
      EXPECT_TRUE(std::isfinite(perplexity(dir, "hw"))) << what;
      fs::remove_all(dir);
    }
  }
}

// An imported GPTQ checkpoint, kept as an oacim directory (input order included) and exported
// again: the same qweight, qzeros, scales and g_idx, act-order and v1 zeros included.
TEST(GptqCheckpoint, ImportThenExportGivesBackTheCheckpointsTensors) {
  for (const bool desc_act : {false, true}) {
    const std::string src = write_gptq("src", 4, 32, desc_act, GptqZeros::V1);
    LoadedModel lm = load_model(src, kTok);
    const std::string qdir = temp_dir("qdir");
    QuantizedModelInfo info;
    info.source_model = src;
    info.tokenizer_path = kTok;
    save_quantized_model(qdir, *lm.decoder, info);
    EXPECT_EQ(perplexity(qdir, "hw"), perplexity(src, "hw"));
    GptqExportOptions o;
    o.quantized_dir = qdir;
    o.out_dir = temp_dir("out");
    const GptqExportResult r = export_gptq(o);
    EXPECT_EQ(r.linears, 14);
    EXPECT_EQ(r.group_size, 32);
    EXPECT_EQ(r.desc_act, desc_act);
    EXPECT_EQ(r.max_scale_change, 0.0);
    const SafetensorsFile a = SafetensorsFile::open(src + "/model.safetensors");
    const SafetensorsFile b = SafetensorsFile::open(o.out_dir + "/model.safetensors");
    EXPECT_EQ(a.names(), b.names());
    for (const std::string& n : a.names()) {
      const TensorView& x = a.tensor(n);
      const TensorView& y = b.tensor(n);
      ASSERT_EQ(x.shape, y.shape) << n;
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(x.data), x.nbytes), std::string(reinterpret_cast<const char*>(y.data), y.nbytes)) << n;
    }
    const nlohmann::json cfg = nlohmann::json::parse(std::ifstream(o.out_dir + "/config.json"));
    EXPECT_EQ(cfg["quantization_config"]["bits"], 4);
    EXPECT_EQ(cfg["quantization_config"]["desc_act"], desc_act);
    EXPECT_EQ(cfg["quantization_config"]["checkpoint_format"], "gptq");
    EXPECT_TRUE(fs::exists(o.out_dir + "/quantize_config.json"));
    fs::remove_all(src);
    fs::remove_all(qdir);
    fs::remove_all(o.out_dir);
  }
}

// oacim's own RTN quantization exported: the same codes minus zeros and fp16-rounded scales come
// back, the perplexity moves by the scale rounding only; outliers are refused by name.
TEST(GptqCheckpoint, AnOacimQuantizationExportsAndLoadsBack) {
  const std::string src = write_llama("float");
  for (const bool outliers : {false, true}) {
    LoadedModel lm = load_model(src, kTok);
    RtnPackOptions rtn;
    rtn.outliers = outliers;
    for (int l = 0; l < lm.decoder->num_blocks(); ++l) {
      for (QuantLinear* lin : lm.decoder->block_linears(l)) {
        const at::Tensor w = lin->weight().contiguous();
        const std::vector<float> v(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
        lin->set_packed(std::make_shared<const PackedCimWeights>(pack_rtn(v, lin->out_features(), lin->in_features(), rtn)), nullptr);
      }
    }
    const std::string qdir = temp_dir("rtn");
    QuantizedModelInfo info;
    info.source_model = src;
    info.tokenizer_path = kTok;
    save_quantized_model(qdir, *lm.decoder, info);
    GptqExportOptions o;
    o.quantized_dir = qdir;
    o.out_dir = temp_dir("rtn_out");
    if (outliers) {
      try {
        (void)export_gptq(o);
        FAIL() << "outliers exported";
      } catch (const InvalidArgument& e) {
        EXPECT_NE(std::string(e.what()).find("outliers"), std::string::npos) << e.what();
      }
      continue;
    }
    const GptqExportResult r = export_gptq(o);
    EXPECT_EQ(r.group_size, 32);
    EXPECT_GT(r.max_scale_change, 0.0);
    EXPECT_LE(r.max_scale_change, 0x1p-11);
    LoadedModel back = load_model(o.out_dir, kTok);
    EXPECT_EQ(back.file_packed_linears, 14);
    for (int l = 0; l < lm.decoder->num_blocks(); ++l) {
      const auto mine = lm.decoder->block_linears(l), theirs = back.decoder->block_linears(l);
      for (std::size_t i = 0; i < mine.size(); ++i) {
        const PackedCimWeights &p = *mine[i]->packed(), &q = *theirs[i]->packed();
        for (int rr = 0; rr < p.rows(); ++rr) {
          for (int b = 0; b < p.blocks(); ++b) {
            ASSERT_EQ(q.params(rr, b).scale, float_from_fp16_bits(fp16_bits_from_float(p.params(rr, b).scale)));
            for (int c = b * 32; c < b * 32 + 32; ++c) ASSERT_EQ(q.code(rr, c) - q.params(rr, b).zero, p.code(rr, c) - p.params(rr, b).zero);
          }
        }
      }
    }
    const double mine_ppl = perplexity(qdir, "fakequant"), theirs_ppl = perplexity(o.out_dir, "fakequant");
    EXPECT_NEAR(theirs_ppl, mine_ppl, 1e-3 * mine_ppl);
    fs::remove_all(o.out_dir);
    fs::remove_all(qdir);
  }
  fs::remove_all(src);
}

TEST(GptqCheckpoint, BadCheckpointsAreRefusedNamingTheFile) {
  const std::string awq = write_llama("awq", {}, {{"quant_method", "awq"}, {"bits", 4}});
  try {
    (void)load_model(awq, kTok);
    FAIL() << "an AWQ config was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("quant_method 'awq'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  const std::string eight = write_llama("eight", {}, {{"quant_method", "gptq"}, {"bits", 8}});
  EXPECT_THROW((void)load_model(eight, kTok), FormatError);
  // A qweight of the wrong shape (2-bit words in a 4-bit checkpoint) names the tensor.
  std::map<std::string, GptqLayer> layers;
  unsigned seed = 1;
  for (const LinearShape& s : linears()) layers[s.name] = random_gptq(s.out, s.in, 4, 32, false, GptqZeros::V1, seed++);
  layers["model.layers.1.mlp.up_proj"] = random_gptq(kHidden, kDim, 2, 32, false, GptqZeros::V1, 99);
  const std::string bad = write_llama("badshape", layers, {{"quant_method", "gptq"}, {"bits", 4}, {"group_size", 32}});
  try {
    (void)load_model(bad, kTok);
    FAIL() << "a mis-shaped qweight was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.qweight"), std::string::npos) << e.what();
  }
  // Export needs a Hugging Face source: a quantized llama2.c model is refused with the reason.
  GptqExportOptions o;
  o.quantized_dir = bad;  // not a quantized directory at all
  o.out_dir = temp_dir("never");
  EXPECT_THROW((void)export_gptq(o), InvalidArgument);
  fs::remove_all(awq);
  fs::remove_all(eight);
  fs::remove_all(bad);
  fs::remove_all(o.out_dir);
}

}  // namespace
}  // namespace oacim::model
