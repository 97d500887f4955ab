// llama2.c checkpoint and tokenizer on the bundled stories260K, malformed files, and the LLaMA
// decoder against llama2.c's published greedy story and a plain C++ re-derivation of its forward.
#include <gtest/gtest.h>

#include <climits>
#include <limits>

#include <cmath>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "../support/vocab_vectors.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/llama_model.hpp"
#include "oacim/model/sampler.hpp"

namespace oacim::model {
namespace {

const std::string kData = std::string(OACIM_SOURCE_DIR) + "/tests/data";
const std::string kBin = kData + "/stories260K/stories260K.bin";
const std::string kTok = kData + "/stories260K/tok512.bin";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Llama2cCheckpoint, LoadsStories260K) {
  const Llama2cWeights w = load_llama2c(kBin);
  const Llama2cConfig& c = w.config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.seq_len, 512);
  EXPECT_TRUE(c.shared_classifier);
  EXPECT_EQ(w.wk.size(), 5u * 32 * 64);
  EXPECT_EQ(w.wcls, w.tok_embeddings);
  // The published checkpoint's rms_final_weight statistics: min 0.972, max 4.425.
  EXPECT_NEAR(*std::min_element(w.rms_final.begin(), w.rms_final.end()), 0.972, 1e-3);
  EXPECT_NEAR(*std::max_element(w.rms_final.begin(), w.rms_final.end()), 4.425, 1e-3);
}

TEST(Llama2cCheckpoint, MalformedFilesNameTheProblem) {
  const std::string good = read_text(kBin);
  const std::string dir = ::testing::TempDir();
  auto expect_error = [&](const std::string& bytes, const std::string& fragment) {
    const std::string path = dir + "/bad.bin";
    write_bytes(path, bytes);
    try {
      load_llama2c(path);
      ADD_FAILURE() << "accepted; expected " << fragment;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.bin"), std::string::npos) << e.what();
    }
  };
  expect_error(good.substr(0, 20), "header");
  expect_error(good.substr(0, 200000), "tensor 'wq'");
  expect_error(good.substr(0, good.size() - 4), "freq_cis");
  expect_error(good + "xxxx", "after the last tensor");
  std::string bad_heads = good;
  const std::int32_t seven = 7;
  std::memcpy(bad_heads.data() + 12, &seven, 4);  // n_heads 7 does not divide dim 64
  expect_error(bad_heads, "does not describe");
  std::string unshared = good;
  const std::int32_t neg = -512;
  std::memcpy(unshared.data() + 20, &neg, 4);  // says the classifier follows, but it does not
  expect_error(unshared, "tensor 'wcls'");
  EXPECT_THROW(load_llama2c(dir + "/does-not-exist.bin"), FormatError);
}

TEST(Llama2cCheckpoint, HostileHeadersAndNonFiniteWeightsAreRefused) {
  const std::string good = read_text(kBin);
  const std::string dir = ::testing::TempDir();
  auto error_of = [&](const std::string& bytes) {
    const std::string path = dir + "/hostile.bin";
    write_bytes(path, bytes);
    try {
      load_llama2c(path);
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // vocab_size INT32_MIN has no positive counterpart (negating it was undefined behaviour).
  std::string int_min = good;
  const std::int32_t m = INT32_MIN;
  std::memcpy(int_min.data() + 20, &m, 4);
  EXPECT_NE(error_of(int_min).find("does not describe a llama2.c model"), std::string::npos) << error_of(int_min);
  EXPECT_THROW(read_llama2c_config(dir + "/hostile.bin"), FormatError);
  // An Inf in a norm weight and a NaN in a projection: named with the tensor and the index.
  std::string inf_norm = good;
  const float inf = std::numeric_limits<float>::infinity();
  const std::size_t rms_att = 28 + 512 * 64 * 4;  // after the header and the token embeddings
  std::memcpy(inf_norm.data() + rms_att + 4 * 3, &inf, 4);
  EXPECT_NE(error_of(inf_norm).find("tensor 'rms_att_weight' holds +inf at index 3"), std::string::npos) << error_of(inf_norm);
  std::string nan_wq = good;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan_wq.data() + rms_att + 5 * 64 * 4 + 4 * 70, &nan, 4);
  EXPECT_NE(error_of(nan_wq).find("tensor 'wq' holds NaN at index 70 (row 1, column 6)"), std::string::npos) << error_of(nan_wq);
}

TEST(Llama2cTokenizer, NonFiniteScoresAreRefused) {
  std::string bytes = read_text(kTok);
  // Piece 0's score sits right after the 4-byte max_token_length.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bytes.data() + 4, &nan, 4);
  const std::string path = ::testing::TempDir() + "/nan_tok.bin";
  write_bytes(path, bytes);
  try {
    Llama2cTokenizer::load(path, 512);
    ADD_FAILURE() << "a NaN score was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("piece 0 has a non-finite score"), std::string::npos) << e.what();
  }
}

TEST(Llama2cTokenizer, EncodesAndDecodes) {
  const Llama2cTokenizer t = Llama2cTokenizer::load(kTok, 512);
  EXPECT_EQ(t.vocab_size(), 512);
  EXPECT_EQ(t.piece(1), "\n<s>\n");  // as llama2.c stores BOS
  const std::vector<int> ids = t.encode("Once upon a time", true, false);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[0], Llama2cTokenizer::kBos);
  std::string text;
  for (std::size_t i = 1; i < ids.size(); ++i) text += t.decode(ids[i - 1], ids[i]);
  EXPECT_EQ(text, "Once upon a time");
  // A code point outside the 512 pieces falls back to its UTF-8 bytes (ids byte + 3).
  const std::vector<int> e = t.encode("\xC3\xA9", false, true);  // é
  EXPECT_EQ(e.back(), Llama2cTokenizer::kEos);
  std::string back;
  for (std::size_t i = 1; i + 1 < e.size(); ++i) back += t.decode(e[i - 1], e[i]);
  EXPECT_EQ(back, "\xC3\xA9");
}

// llama2.c's merge loop, verbatim in spirit: rescan all pairs, merge the best (leftmost on ties).
std::vector<int> naive_merges(const Llama2cTokenizer& t, std::vector<int> tokens) {
  std::unordered_map<std::string, int> ids;
  for (int i = t.vocab_size() - 1; i >= 0; --i) ids[t.piece(i)] = i;
  while (true) {
    float best = -1e10f;
    int best_id = -1;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
      const auto it = ids.find(t.piece(tokens[i]) + t.piece(tokens[i + 1]));
      if (it != ids.end() && t.score(it->second) > best) {
        best = t.score(it->second);
        best_id = it->second;
        at = i;
      }
    }
    if (best_id < 0) return tokens;
    tokens[at] = best_id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
}

TEST(Llama2cTokenizer, HeapMergesEqualLlama2cRescans) {
  const Llama2cTokenizer t = Llama2cTokenizer::load(kTok, 512);
  std::istringstream text(read_text(kData + "/tinystories-valid-slice.txt"));
  std::string line;
  int checked = 0;
  while (std::getline(text, line)) {
    if (line.empty()) continue;
    const std::vector<int> fast = t.encode(line, true, false);
    // The unmerged sequence: BOS, the dummy-prefix space, one piece per character (ASCII text).
    std::vector<int> unmerged = {Llama2cTokenizer::kBos};
    std::unordered_map<std::string, int> ids;
    for (int i = t.vocab_size() - 1; i >= 0; --i) ids[t.piece(i)] = i;
    unmerged.push_back(ids.at(" "));
    for (char ch : line) {
      const auto it = ids.find(std::string(1, ch));
      unmerged.push_back(it != ids.end() ? it->second : static_cast<unsigned char>(ch) + 3);
    }
    EXPECT_EQ(fast, naive_merges(t, unmerged)) << line;
    ++checked;
  }
  EXPECT_EQ(checked, 19);  // every story of the slice (one per line)
}

const std::string kSp = kData + "/tokenizers/llama2_sp32k";

TEST(SentencePieceModel, ReadsTheSamePiecesAsLlama2cExport) {
  const Llama2cTokenizer from_model = Llama2cTokenizer::load_sentencepiece(kSp + ".tokenizer.model");
  const Llama2cTokenizer from_bin = Llama2cTokenizer::load(kSp + ".tokenizer.bin", 32000);
  ASSERT_EQ(from_model.vocab_size(), 32000);
  for (int i = 0; i < 32000; ++i) {
    ASSERT_EQ(from_model.piece(i), from_bin.piece(i)) << i;
    ASSERT_EQ(from_model.score(i), from_bin.score(i)) << i;
  }
  const std::string path = ::testing::TempDir() + "/sp.model";
  write_bytes(path, read_text(kSp + ".tokenizer.model").substr(0, 1000));
  EXPECT_THROW(Llama2cTokenizer::load_sentencepiece(path), FormatError);
}

// llama.cpp's tokenizer test vectors for the LLaMA SentencePiece vocabulary: inputs separated by
// "\n__ggml_vocab_test__\n", one line of ids per input (no BOS).
TEST(SentencePieceModel, MatchesLlamaCppTestVectors) {
  const Llama2cTokenizer t = Llama2cTokenizer::load_sentencepiece(kSp + ".tokenizer.model");
  const auto cases = test::vocab_vectors(kData + "/tokenizers/ggml-vocab-llama-spm.gguf");
  for (const auto& [input, want] : cases) EXPECT_EQ(t.encode(input, false, false), want) << "input '" << input << "'";
  EXPECT_GT(cases.size(), 40u);

}

TEST(Llama2cTokenizer, MalformedFiles) {
  const std::string good = read_text(kTok);
  const std::string path = ::testing::TempDir() + "/tok.bin";
  write_bytes(path, good.substr(0, good.size() - 3));
  EXPECT_THROW(Llama2cTokenizer::load(path, 512), FormatError);
  write_bytes(path, good);
  EXPECT_THROW(Llama2cTokenizer::load(path, 600), FormatError);  // fewer pieces than the model
  EXPECT_THROW(Llama2cTokenizer::load(path, 400), FormatError);  // more pieces than the model
}

TEST(LlamaModel, GreedyStoryMatchesLlama2c) {
  at::set_num_threads(1);
  const Llama2cWeights w = load_llama2c(kBin);
  const LlamaModel m = LlamaModel::from_llama2c(w);
  const Llama2cTokenizer t = Llama2cTokenizer::load(kTok, 512);
  // llama2.c `run stories260K.bin -z tok512.bin -t 0.0`: 256 steps from BOS.
  const std::vector<int> ids = generate_greedy(m, {Llama2cTokenizer::kBos}, 256, Backend::Float);
  std::string text;
  for (std::size_t i = 1; i < ids.size(); ++i) text += t.decode(ids[i - 1], ids[i]);
  std::string want = read_text(kData + "/stories260K/reference_greedy_t0.txt");
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(text, want);
}

TEST(LlamaModel, SeededTopPStoryMatchesLlama2c) {
  at::set_num_threads(1);
  const LlamaModel m = LlamaModel::from_llama2c(load_llama2c(kBin));
  const Llama2cTokenizer t = Llama2cTokenizer::load(kTok, 512);
  // llama2.c `run stories260K.bin -z tok512.bin -t 1.0 -p 0.9 -s 133742`.
  Llama2cSampler sampler(1.0f, 0.9f, 133742);
  const std::vector<int> ids = generate(m, {Llama2cTokenizer::kBos}, 256, Backend::Float,
                                        [&](std::vector<float> logits) { return sampler.sample(std::move(logits)); });
  std::string text;
  for (std::size_t i = 1; i < ids.size(); ++i) text += t.decode(ids[i - 1], ids[i]);
  std::string want = read_text(kData + "/stories260K/reference_sample_t1_p0.9_s133742.txt");
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(text, want);
}

TEST(Sampler, TopKIsSeededAndStaysInTheTopK) {
  std::vector<float> logits(100);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(static_cast<double>(i)));
  std::vector<int> order(100);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  const std::set<int> top5(order.begin(), order.begin() + 5);
  TopKSampler a(5, 1.0f, 42), b(5, 1.0f, 42), c(5, 1.0f, 43);
  std::vector<int> sa, sb, sc;
  for (int i = 0; i < 200; ++i) {
    sa.push_back(a.sample(logits));
    sb.push_back(b.sample(logits));
    sc.push_back(c.sample(logits));
    EXPECT_TRUE(top5.count(sa.back()));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  EXPECT_EQ(std::set<int>(sa.begin(), sa.end()), top5);  // 200 draws reach all five
  EXPECT_THROW(TopKSampler(0, 1.0f, 1), InvalidArgument);
  EXPECT_THROW(TopKSampler(5, 0.0f, 1), InvalidArgument);
  EXPECT_EQ(Llama2cSampler(0.0f, 0.9f, 1).sample(logits), order[0]);  // temperature 0 = argmax
}

// llama2.c's forward for one token, written out in plain C++ (no torch): the independent
// reference for the libtorch decoder.
struct PlainLlama {
  const Llama2cWeights& w;
  std::vector<std::vector<float>> kc, vc;  // per layer [seq, kv_dim]
  explicit PlainLlama(const Llama2cWeights& ww) : w(ww) {
    const auto& c = w.config;
    kc.assign(c.n_layers, std::vector<float>(static_cast<std::size_t>(c.seq_len) * c.kv_dim()));
    vc = kc;
  }
  static void rmsnorm(float* o, const float* x, const float* g, int n) {
    float ss = 0;
    for (int j = 0; j < n; ++j) ss += x[j] * x[j];
    ss = 1.0f / std::sqrt(ss / n + 1e-5f);
    for (int j = 0; j < n; ++j) o[j] = g[j] * (ss * x[j]);
  }
  static void matmul(float* o, const float* x, const float* W, int n, int d) {
    for (int i = 0; i < d; ++i) {
      float v = 0;
      for (int j = 0; j < n; ++j) v += W[static_cast<std::size_t>(i) * n + j] * x[j];
      o[i] = v;
    }
  }
  std::vector<float> forward(int token, int pos) {
    const auto& c = w.config;
    const int D = c.dim, HD = c.hidden_dim, hs = c.head_size(), kvd = c.kv_dim(), mul = c.n_heads / c.n_kv_heads;
    std::vector<float> x(w.tok_embeddings.begin() + static_cast<std::ptrdiff_t>(token) * D,
                         w.tok_embeddings.begin() + static_cast<std::ptrdiff_t>(token + 1) * D);
    std::vector<float> xb(D), xb2(D), q(D), hb(HD), hb2(HD), att(c.seq_len);
    for (int l = 0; l < c.n_layers; ++l) {
      rmsnorm(xb.data(), x.data(), w.rms_att.data() + l * D, D);
      float* k = kc[l].data() + static_cast<std::size_t>(pos) * kvd;
      float* v = vc[l].data() + static_cast<std::size_t>(pos) * kvd;
      matmul(q.data(), xb.data(), w.wq.data() + static_cast<std::size_t>(l) * D * D, D, D);
      matmul(k, xb.data(), w.wk.data() + static_cast<std::size_t>(l) * kvd * D, D, kvd);
      matmul(v, xb.data(), w.wv.data() + static_cast<std::size_t>(l) * kvd * D, D, kvd);
      for (int i = 0; i < D; i += 2) {
        const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(i % hs) / static_cast<float>(hs));
        const float val = static_cast<float>(pos) * freq, fcr = std::cos(val), fci = std::sin(val);
        for (int which = 0; which < (i < kvd ? 2 : 1); ++which) {
          float* vec = which == 0 ? q.data() : k;
          const float v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      for (int h = 0; h < c.n_heads; ++h) {
        const float* qh = q.data() + h * hs;
        for (int t = 0; t <= pos; ++t) {
          const float* kt = kc[l].data() + static_cast<std::size_t>(t) * kvd + (h / mul) * hs;
          float s = 0;
          for (int i = 0; i < hs; ++i) s += qh[i] * kt[i];
          att[t] = s / std::sqrt(static_cast<float>(hs));
        }
        float mx = att[0];
        for (int t = 1; t <= pos; ++t) mx = std::max(mx, att[t]);
        float sum = 0;
        for (int t = 0; t <= pos; ++t) sum += att[t] = std::exp(att[t] - mx);
        float* o = xb.data() + h * hs;
        std::fill(o, o + hs, 0.0f);
        for (int t = 0; t <= pos; ++t) {
          const float* vt = vc[l].data() + static_cast<std::size_t>(t) * kvd + (h / mul) * hs;
          for (int i = 0; i < hs; ++i) o[i] += att[t] / sum * vt[i];
        }
      }
      matmul(xb2.data(), xb.data(), w.wo.data() + static_cast<std::size_t>(l) * D * D, D, D);
      for (int i = 0; i < D; ++i) x[i] += xb2[i];
      rmsnorm(xb.data(), x.data(), w.rms_ffn.data() + l * D, D);
      matmul(hb.data(), xb.data(), w.w1.data() + static_cast<std::size_t>(l) * HD * D, D, HD);
      matmul(hb2.data(), xb.data(), w.w3.data() + static_cast<std::size_t>(l) * HD * D, D, HD);
      for (int i = 0; i < HD; ++i) hb[i] = hb[i] / (1.0f + std::exp(-hb[i])) * hb2[i];
      matmul(xb.data(), hb.data(), w.w2.data() + static_cast<std::size_t>(l) * D * HD, HD, D);
      for (int i = 0; i < D; ++i) x[i] += xb[i];
    }
    rmsnorm(x.data(), x.data(), w.rms_final.data(), D);
    std::vector<float> logits(c.vocab_size);
    matmul(logits.data(), x.data(), w.wcls.data(), D, c.vocab_size);
    return logits;
  }
};

TEST(LlamaModel, LogitsMatchPlainLlama2cArithmetic) {
  at::set_num_threads(1);
  const Llama2cWeights w = load_llama2c(kBin);
  const LlamaModel m = LlamaModel::from_llama2c(w);
  const Llama2cTokenizer t = Llama2cTokenizer::load(kTok, 512);
  const std::vector<int> ids = t.encode("Once upon a time, there was a little girl named Lily.", true, false);
  const at::Tensor full = m.forward(ids, Backend::Float);  // causal, all positions at once
  PlainLlama plain(w);
  Decoder::KvCache cache = m.new_cache(1);
  double worst = 0;
  for (std::size_t pos = 0; pos < ids.size(); ++pos) {
    const std::vector<float> want = plain.forward(ids[pos], static_cast<int>(pos));
    const at::Tensor stepped = m.step(ids[pos], static_cast<int>(pos), cache, Backend::Float);
    for (int v = 0; v < 512; ++v) {
      worst = std::max(worst, static_cast<double>(std::fabs(full[static_cast<std::int64_t>(pos)][v].item<float>() - want[v])));
      worst = std::max(worst, static_cast<double>(std::fabs(stepped[v].item<float>() - want[v])));
    }
  }
  EXPECT_LT(worst, 1e-4);
}

TEST(QuantLinear, BackendsAgreeWithTheirDefinitions) {
  at::manual_seed(0);
  const at::Tensor wt = at::randn({40, 96}) * 0.05;
  QuantLinear lin("test", wt);
  const at::Tensor x = at::randn({3, 5, 96});
  EXPECT_TRUE(at::allclose(lin.forward(x, Backend::Float), at::matmul(x, wt.t()), 1e-5, 1e-6));
  EXPECT_THROW(lin.forward(x, Backend::FakeQuant), InvalidArgument);
  std::vector<float> wv(wt.data_ptr<float>(), wt.data_ptr<float>() + wt.numel());
  RtnPackOptions o;
  o.outliers = true;
  o.offsets = true;
  auto packed = std::make_shared<const PackedCimWeights>(pack_rtn(wv, 40, 96, o, nullptr));
  const hw::HwConfig cfg = hw::default_hw_config();
  lin.set_packed(packed, &cfg);
  const auto deq = packed->dequantize();
  const at::Tensor wd = at::from_blob(const_cast<float*>(deq.data()), {40, 96}, at::kFloat);
  EXPECT_TRUE(at::allclose(lin.forward(x, Backend::FakeQuant), at::matmul(x, wd.t()), 1e-5, 1e-6));
  const at::Tensor y = lin.forward(x, Backend::Hw);
  EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{3, 5, 40}));
  const hw::FastDatapath dp(hw::prepare_layer_weights(*packed, cfg), cfg);
  const at::Tensor x2 = x.reshape({15, 96}).contiguous();
  const hw::HwLayerResult r = dp.forward(x2.data_ptr<float>(), 15, 1);
  EXPECT_EQ(std::memcmp(y.contiguous().data_ptr<float>(), r.y.data(), r.y.size() * 4), 0);
  EXPECT_EQ(lin.hw_counters().tokens, 15);
  EXPECT_EQ(lin.hw_counters().outlier_hits, r.counters.outlier_hits);
}

}  // namespace
}  // namespace oacim::model
