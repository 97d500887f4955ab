// Cached batched decoding against the full causal forward (every family), batching independence
// and seeding of generate_batch, the self-generated calibration set of docs/algorithms.md C.3
// (filters, no repeated first tokens, reproducible for a seed), and the token sample file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/token_file.hpp"
#include "oacim/model/calibration_generator.hpp"
#include "oacim/model/generation.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quant_linear.hpp"
#include "../support/random_llama.hpp"

namespace oacim::model {
namespace {

const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";

const LoadedModel& stories() {
  static const LoadedModel m = load_model(kBin);
  return m;
}

GptModel small_gpt(GptSpec::Family family) { return GptModel::random(GptSpec::shape(family, 16, 2, 4, 32, 40, 24), 7); }

// Steps three sequences through one cache; each position's logits must equal the full forward's.
void expect_cached_equals_full(const Decoder& m, const std::vector<std::vector<int>>& seqs) {
  Decoder::KvCache cache = m.new_cache(static_cast<int>(seqs.size()));
  std::vector<at::Tensor> full;
  for (const auto& s : seqs) full.push_back(m.forward(s, Backend::Float));
  for (std::size_t pos = 0; pos < seqs[0].size(); ++pos) {
    std::vector<int> feed;
    for (const auto& s : seqs) feed.push_back(s[pos]);
    const at::Tensor step = m.decode_step(feed, static_cast<int>(pos), cache, Backend::Float);
    for (std::size_t b = 0; b < seqs.size(); ++b) {
      const double diff = (step[static_cast<std::int64_t>(b)] - full[b][static_cast<std::int64_t>(pos)]).abs().max().item<double>();
      EXPECT_LT(diff, 2e-5) << m.family() << " sequence " << b << " position " << pos;
    }
  }
}

TEST(CachedDecoding, LlamaStepsEqualTheFullForward) {
  expect_cached_equals_full(*stories().decoder, {{1, 403, 407, 261, 378, 30, 9, 77, 300, 12},
                                                 {1, 20, 21, 22, 23, 24, 25, 26, 27, 28},
                                                 {1, 500, 3, 411, 411, 411, 2, 5, 6, 7}});
}

TEST(CachedDecoding, OptAndGpt2StepsEqualTheFullForward) {
  for (auto family : {GptSpec::Family::Opt, GptSpec::Family::Gpt2}) {
    const GptModel m = small_gpt(family);
    expect_cached_equals_full(m, {{2, 5, 9, 13, 1, 39, 0, 22}, {3, 3, 3, 3, 3, 3, 3, 3}});
  }
}

TEST(CachedDecoding, RejectsBadSteps) {
  const GptModel m = small_gpt(GptSpec::Family::Gpt2);
  Decoder::KvCache cache = m.new_cache(2);
  EXPECT_THROW(m.decode_step({1}, 0, cache, Backend::Float), InvalidArgument);        // batch of 2
  EXPECT_THROW(m.decode_step({1, 40}, 0, cache, Backend::Float), InvalidArgument);    // past the vocabulary
  EXPECT_THROW(m.decode_step({1, 2}, 24, cache, Backend::Float), InvalidArgument);    // past the positions
  EXPECT_THROW(m.new_cache(0), InvalidArgument);
}

TEST(GenerateBatch, SequencesDoNotDependOnTheirBatchAndFollowTheSeed) {
  const Decoder& m = *stories().decoder;
  GenerationOptions g;
  g.length = 60;
  g.greedy_until = 4;
  g.seed = 3;
  const auto together = generate_batch(m, {{1, 300}, {1, 301}, {1, 302}}, {0, 1, 2}, g, Backend::Float);
  const auto alone = generate_batch(m, {{1, 301}}, {1}, g, Backend::Float);
  ASSERT_EQ(together.size(), 3u);
  EXPECT_EQ(together[1], alone[0]);
  EXPECT_EQ(generate_batch(m, {{1, 301}}, {1}, g, Backend::Float)[0], alone[0]);
  g.seed = 4;
  EXPECT_NE(generate_batch(m, {{1, 301}}, {1}, g, Backend::Float)[0], alone[0]);
  // Greedy positions are the argmax of the full forward over the prefix.
  for (const auto& s : together) {
    ASSERT_GE(s.size(), 4u);
    const at::Tensor logits = m.forward(std::vector<int>(s.begin(), s.begin() + 3), Backend::Float);
    for (int p = 1; p < 3; ++p) EXPECT_EQ(logits[p].argmax().item<std::int64_t>(), s[static_cast<std::size_t>(p) + 1]);
  }
}

TEST(GenerateBatch, StopsAtAStopIdAndKeepsIt) {
  const Decoder& m = *stories().decoder;
  GenerationOptions g;
  g.length = m.max_positions();
  g.greedy_until = 3;
  g.stop_ids = {1, 2};
  const auto out = generate_batch(m, {{1, 300}, {1, 414}, {1, 301}, {1, 415}}, {0, 1, 2, 3}, g, Backend::Float);
  int ended = 0;
  for (const auto& s : out) {
    for (std::size_t i = 1; i + 1 < s.size(); ++i) EXPECT_TRUE(s[i] != 1 && s[i] != 2) << "nothing follows a stop id";
    if (s.size() < static_cast<std::size_t>(m.max_positions())) {
      EXPECT_TRUE(s.back() == 1 || s.back() == 2) << "a sequence shorter than the length ends at a stop id";
      ++ended;
    }
  }
  EXPECT_GE(ended, 2) << "TinyStories stories mostly end before 512 tokens";
}

TEST(CalibrationGenerator, FirstTokensAreFilteredAndDistinct) {
  const LoadedModel& m = stories();
  CalibrationGenOptions o;
  const std::vector<int> pool = eligible_first_tokens(m, o);
  EXPECT_GT(pool.size(), 200u);
  for (int id : pool) {
    EXPECT_GT(id, 2) << "special ids never start a sample";
    EXPECT_FALSE(id >= 3 + 0x80 && id < 3 + 256) << "byte tokens 0x80..0xFF are not text on their own";
  }
  o.first_token_regex = "^ [A-Z][a-z]+$";  // capitalised words only
  const std::vector<int> words = eligible_first_tokens(m, o);
  ASSERT_FALSE(words.empty());
  for (int id : words) EXPECT_TRUE(m.token_text(id).size() >= 3 && m.token_text(id)[1] >= 'A' && m.token_text(id)[1] <= 'Z');
  o.n = static_cast<int>(words.size()) + 1;
  o.length = 16;
  EXPECT_THROW(generate_calibration(m, o), InvalidArgument);
  o.first_token_regex = "([";
  EXPECT_THROW(eligible_first_tokens(m, o), InvalidArgument);
}

TEST(CalibrationGenerator, ReproducibleForASeed) {
  const LoadedModel& m = stories();
  CalibrationGenOptions o;
  o.n = 7;
  o.length = 48;
  o.seed = 11;
  const TokenSamples a = generate_calibration(m, o);
  const TokenSamples b = generate_calibration(m, o);
  ASSERT_EQ(a.samples.size(), 7u);
  EXPECT_EQ(a.samples, b.samples);
  std::set<int> first;
  for (const auto& s : a.samples) {
    ASSERT_GE(s.size(), 4u);
    EXPECT_LE(s.size(), 48u);
    EXPECT_EQ(s[0], 1) << "the BOS prefix";
    first.insert(s[1]);
  }
  EXPECT_EQ(first.size(), 7u) << "first tokens never repeat";
  EXPECT_EQ(a.metadata.at("oacim.seed"), "11");
  o.seed = 12;
  EXPECT_NE(generate_calibration(m, o).samples, a.samples);
  o.length = 3;  // BOS + 5 greedy tokens do not fit
  EXPECT_THROW(generate_calibration(m, o), InvalidArgument);
}

// Shares of 1, 2 and 3 ranks put together are the samples and metadata of one generation; shares
// that miss or repeat a sample are refused.
TEST(CalibrationGenerator, SharesOfAnyNumberOfRanksAssembleToOneGeneration) {
  const LoadedModel& m = stories();
  CalibrationGenOptions o;
  o.n = 7;  // chunks of 2: 4 chunks, the last of one sample
  o.length = 40;
  o.seed = 5;
  const TokenSamples whole = generate_calibration(m, o);
  for (const int ranks : {1, 2, 3}) {
    std::vector<CalibrationShare> shares;
    for (int r = ranks - 1; r >= 0; --r) shares.push_back(generate_calibration_share(m, o, r, ranks));  // any order
    const TokenSamples got = assemble_calibration(m, o, shares);
    EXPECT_EQ(got.samples, whole.samples) << ranks << " ranks";
    EXPECT_EQ(got.metadata, whole.metadata) << ranks << " ranks";
    if (ranks == 3) {
      EXPECT_EQ(shares.back().index, (std::vector<int>{0, 1, 6})) << "rank 0 decodes chunks 0 and 3";
      std::vector<CalibrationShare> missing(shares.begin(), shares.end() - 1);
      EXPECT_THROW(assemble_calibration(m, o, missing), InvalidArgument);
      std::vector<CalibrationShare> twice = shares;
      twice.push_back(shares.front());
      EXPECT_THROW(assemble_calibration(m, o, twice), InvalidArgument);
    }
  }
  EXPECT_THROW(generate_calibration_share(m, o, 3, 3), InvalidArgument);
}

// Decoding makes every Linear's fp32 weight; a model that cannot fit is refused before a weight
// is made (a 7B model on a 24 GiB machine would otherwise end in the OOM killer hours later).
TEST(CalibrationGenerator, RefusesAModelWhoseWeightsCannotFitBeforeDecoding) {
  const LoadedModel m = load_model(test::cached_random_llama("oacim_generation_llama", 4));
  std::int64_t need = 0;
  for (const QuantLinear* lin : m.decoder->linears()) {
    need += static_cast<std::int64_t>(lin->in_features()) * lin->out_features() * 4;
    ASSERT_EQ(lin->float_bytes_held(), 0u) << lin->name() << ": made on demand";
  }
  CalibrationGenOptions o;
  o.n = 2;
  o.length = 12;
  o.memory_limit_bytes = need - 1;
  try {
    generate_calibration(m, o);
    ADD_FAILURE() << "a model over the memory limit was decoded";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.key(), "model");
    EXPECT_NE(e.reason().find("GiB"), std::string::npos) << e.what();
  }
  for (const QuantLinear* lin : m.decoder->linears()) EXPECT_EQ(lin->float_bytes_held(), 0u) << lin->name();
  o.memory_limit_bytes = need;
  EXPECT_EQ(generate_calibration(m, o).samples.size(), 2u);
  o.memory_limit_bytes = 0;  // every weight is made now: nothing more to fit
  EXPECT_EQ(generate_calibration(m, o).samples.size(), 2u);
}

TEST(TokenFile, RoundTripsAndRejectsLies) {
  const std::string dir = ::testing::TempDir();
  TokenSamples t;
  t.samples = {{1, 2, 3}, {4}, {5, 6}};
  t.metadata["oacim.seed"] = "5";
  write_token_file(dir + "/t.safetensors", t);
  EXPECT_TRUE(is_token_file(dir + "/t.safetensors"));
  const TokenSamples r = read_token_file(dir + "/t.safetensors");
  EXPECT_EQ(r.samples, t.samples);
  EXPECT_EQ(r.metadata.at("oacim.seed"), "5");
  EXPECT_THROW(write_token_file(dir + "/e.safetensors", TokenSamples{{{1}, {}}, {}}), InvalidArgument);

  auto lying = [&](const std::string& name, std::vector<std::int32_t> tokens, std::vector<std::int32_t> lengths, bool format) {
    SafetensorsWriter w;
    w.add("tokens", DType::I32, {static_cast<std::int64_t>(tokens.size())}, tokens);
    w.add("lengths", DType::I32, {static_cast<std::int64_t>(lengths.size())}, lengths);
    if (format) w.set_metadata("oacim.format", kTokenFileFormat);
    w.write(dir + "/" + name);
    return dir + "/" + name;
  };
  EXPECT_THROW(read_token_file(lying("long.safetensors", {1, 2, 3}, {2, 2}, true)), FormatError);
  EXPECT_THROW(read_token_file(lying("short.safetensors", {1, 2, 3}, {1, 1}, true)), FormatError);
  EXPECT_THROW(read_token_file(lying("neg.safetensors", {1, -2, 3}, {3}, true)), FormatError);
  EXPECT_THROW(read_token_file(lying("plain.safetensors", {1, 2, 3}, {3}, false)), FormatError);
  EXPECT_FALSE(is_token_file(dir + "/plain.safetensors"));
  std::ofstream(dir + "/text.txt") << "not a token file\n";
  EXPECT_FALSE(is_token_file(dir + "/text.txt"));
}

}  // namespace
}  // namespace oacim::model
