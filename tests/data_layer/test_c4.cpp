// C4 as the GPTQ/SpQR/OA loaders draw it (docs/algorithms.md E.2, B.4), on a synthetic shard written
// here (gzip and plain JSON lines). Expected windows come from Python's `random` running the
// loaders' loop over the same documents (values printed by the script in the comment below).
#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/data/c4.hpp"

namespace oacim::data {
namespace {

// Document k: "d<k>" then 9..48 words "w"; the mock tokenizer gives word p of document k the id
// 1000 k + p, so a window tells where it came from.
std::vector<std::string> documents() {
  std::vector<std::string> docs;
  for (int k = 0; k < 60; ++k) {
    std::string d = "d" + std::to_string(k);
    for (int p = 1; p < 10 + (k * 7) % 40; ++p) d += " w";
    docs.push_back(d);
  }
  return docs;
}

std::vector<int> mock_tokenize(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  in >> word;
  const int k = std::stoi(word.substr(1));
  std::vector<int> ids{k * 1000};
  while (in >> word) ids.push_back(k * 1000 + static_cast<int>(ids.size()));
  return ids;
}

std::string write_shard(const std::string& dir, const std::string& name, bool gzip, const std::vector<std::string>& lines) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name + (gzip ? ".gz" : "");
  std::string body;
  for (const auto& l : lines) body += l + "\n";
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, body.data(), static_cast<unsigned>(body.size()));
    gzclose(f);
  } else {
    std::ofstream(path) << body;
  }
  return path;
}

std::vector<std::string> json_lines(const std::vector<std::string>& docs) {
  std::vector<std::string> lines;
  for (const auto& d : docs) lines.push_back(nlohmann::json{{"text", d}, {"timestamp", "2019"}, {"url", "x"}}.dump());
  return lines;
}

// import random; docs/tok as above; seqlen = 24
// random.seed(0); 256 x { while True: i = randint(0, 59); t = tok(i); if len(t) >= 24: break
//                         whole t if len(t) == 24 else t[j:j+24] with j = randint(0, len(t) - 25) }
// -> 6144 tokens, first ids of the first windows [54003, 48001, 2000, 16016, 31001, 50009, 22018,
//    57006], sum 190835280; with random.seed(5), 4 windows: [39008, 22016, 49003, 3001].
TEST(C4, EvalWindowsFollowPythonsRandom) {
  const std::string dir = ::testing::TempDir() + "/c4_gz";
  const std::string shard = write_shard(dir + "/en", kC4ValidationShard, true, json_lines(documents()));
  EXPECT_EQ(find_c4_shard(dir, kC4ValidationShard, "--dataset"), shard);
  const std::vector<std::string> docs = read_c4_documents(shard);
  ASSERT_EQ(docs, documents());
  const std::vector<int> toks = c4_eval_tokens(docs, mock_tokenize, 24);
  ASSERT_EQ(toks.size(), 6144u);
  const std::vector<int> firsts{54003, 48001, 2000, 16016, 31001, 50009, 22018, 57006};
  for (std::size_t w = 0; w < firsts.size(); ++w) EXPECT_EQ(toks[w * 24], firsts[w]) << "window " << w;
  EXPECT_EQ(std::accumulate(toks.begin(), toks.end(), std::int64_t{0}), 190835280);
  const auto cal = c4_calibration_windows(docs, mock_tokenize, 4, 24, 5);
  ASSERT_EQ(cal.size(), 4u);
  EXPECT_EQ((std::vector<int>{cal[0][0], cal[1][0], cal[2][0], cal[3][0]}), (std::vector<int>{39008, 22016, 49003, 3001}));
}

TEST(C4, NewEvalJoinsTheFirstDocuments) {
  const std::string dir = ::testing::TempDir() + "/c4_plain";
  const std::string shard = write_shard(dir, kC4ValidationShard, false, json_lines(documents()));
  EXPECT_EQ(find_c4_shard(dir, kC4ValidationShard, "--dataset"), shard);
  const std::vector<std::string> docs = read_c4_documents(shard, 3);
  ASSERT_EQ(docs.size(), 3u);
  // One call over "d0 w .. d1 w .. d2 ..": the mock numbers every word of the joined text.
  const std::vector<int> toks = c4_new_eval_tokens(docs, mock_tokenize, 4, 5);
  ASSERT_EQ(toks.size(), 20u);  // 5 windows x 4, cut from 10 + 17 + 24 words
  for (int i = 0; i < 20; ++i) EXPECT_EQ(toks[static_cast<std::size_t>(i)], i);
}

TEST(C4, BadShardsAreNamed) {
  const std::string dir = ::testing::TempDir() + "/c4_bad";
  try {
    (void)find_c4_shard(dir, kC4ValidationShard, "--dataset");
    ADD_FAILURE() << "found a shard in an empty directory";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("c4-validation.00000-of-00008.json.gz"), std::string::npos) << e.what();
  }
  const std::string bad = write_shard(dir, "bad.json", true, {R"({"text": "ok"})", R"({"url": "no text"})"});
  try {
    (void)read_c4_documents(bad);
    ADD_FAILURE() << "accepted a line without text";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_c4_documents(write_shard(dir, "junk.json", false, {"{not json"})), FormatError);
  EXPECT_THROW(read_c4_documents(dir + "/missing.json.gz"), FormatError);
  EXPECT_THROW(c4_eval_tokens(documents(), mock_tokenize, 100), InvalidArgument);  // no document is long enough
}

}  // namespace
}  // namespace oacim::data
