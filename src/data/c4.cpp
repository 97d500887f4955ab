#include "oacim/data/c4.hpp"

#include <zlib.h>

#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/py_random.hpp"
#include "oacim/data/dataset_files.hpp"

namespace fs = std::filesystem;

namespace oacim::data {

std::string find_c4_shard(const std::string& data_dir, const std::string& shard, const std::string& key) {
  std::vector<std::string> tried;
  const fs::path root = resolve_data_dir(data_dir);
  for (const fs::path& dir : {root, root / "en"}) {
    for (const std::string& name : {shard + ".gz", shard}) {
      tried.push_back((dir / name).string());
      if (fs::is_regular_file(dir / name)) return tried.back();
    }
  }
  throw InvalidArgument(key, fmt::format("C4 needs the allenai/c4 shard {}.gz (or unpacked), which oacim does not ship; "
                                         "looked for {}; name the folder that holds it as the data directory",
                                         shard, fmt::join(tried, ", ")));
}

std::vector<std::string> read_c4_documents(const std::string& path, std::size_t max_docs) {
  // gzread reads plain files unchanged, so one reader serves .json.gz and .json.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw FormatError(path, "cannot be opened");
  std::vector<std::string> docs;
  std::string line;
  std::size_t lineno = 0;
  char buf[1 << 16];
  bool done = false;
  const auto take_line = [&]() {
    ++lineno;
    if (line.empty()) return;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(path, fmt::format("line {} is not JSON: {}", lineno, e.what()));
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      throw FormatError(path, fmt::format("line {} has no string \"text\"", lineno));
    }
    docs.push_back(j["text"].get<std::string>());
    line.clear();
    if (max_docs > 0 && docs.size() == max_docs) done = true;
  };
  while (!done) {
    const int n = gzread(f.get(), buf, sizeof buf);
    if (n < 0) throw FormatError(path, "is not a readable gzip stream");
    if (n == 0) break;
    for (int i = 0; i < n && !done; ++i) {
      if (buf[i] == '\n') take_line();
      else line += buf[i];
    }
  }
  if (!done && !line.empty()) take_line();
  if (docs.empty()) throw FormatError(path, "holds no documents");
  return docs;
}

namespace {

// One draw of the GPTQ loaders: documents until one reaches seqlen tokens, then a window in it.
std::vector<int> draw_window(const std::vector<std::string>& docs, const Tokenize& tokenize, int seqlen, PyRandom& rng) {
  const auto n = static_cast<std::int64_t>(docs.size());
  for (int attempt = 0;; ++attempt) {
    if (attempt == 100000) {
      throw InvalidArgument("seqlen", fmt::format("no C4 document among 100000 draws reaches {} tokens", seqlen));
    }
    const std::vector<int> toks = tokenize(docs[static_cast<std::size_t>(rng.randint(0, n - 1))]);
    const auto len = static_cast<std::int64_t>(toks.size());
    if (len < seqlen) continue;
    if (len == seqlen) return toks;  // Python's randint(0, -1) would raise; SpQR/OA take the document
    const std::int64_t i = rng.randint(0, len - seqlen - 1);
    return std::vector<int>(toks.begin() + i, toks.begin() + i + seqlen);
  }
}

}  // namespace

std::vector<int> c4_eval_tokens(const std::vector<std::string>& docs, const Tokenize& tokenize, int seqlen, int windows) {
  if (seqlen < 2 || windows < 1) throw InvalidArgument("seqlen", "C4 windows need seqlen >= 2");
  PyRandom rng(0);  // fixed, independent of any --seed (docs/algorithms.md E.2)
  std::vector<int> out;
  for (int w = 0; w < windows; ++w) {
    const std::vector<int> win = draw_window(docs, tokenize, seqlen, rng);
    out.insert(out.end(), win.begin(), win.end());
  }
  return out;
}

std::vector<int> c4_new_eval_tokens(const std::vector<std::string>& docs, const Tokenize& tokenize, int seqlen, int windows) {
  if (seqlen < 2 || windows < 1) throw InvalidArgument("seqlen", "C4 windows need seqlen >= 2");
  std::string joined;
  for (std::size_t i = 0; i < docs.size() && i < 1100; ++i) joined += (i ? " " : "") + docs[i];
  std::vector<int> toks = tokenize(joined);
  const auto want = static_cast<std::size_t>(windows) * static_cast<std::size_t>(seqlen);
  if (toks.size() > want) toks.resize(want);
  return toks;
}

std::vector<std::vector<int>> c4_calibration_windows(const std::vector<std::string>& docs, const Tokenize& tokenize,
                                                     int nsamples, int seqlen, std::uint64_t seed) {
  if (seqlen < 2 || nsamples < 1) throw InvalidArgument("nsamples", "C4 calibration needs nsamples >= 1 and seqlen >= 2");
  PyRandom rng(seed);
  std::vector<std::vector<int>> out;
  for (int s = 0; s < nsamples; ++s) out.push_back(draw_window(docs, tokenize, seqlen, rng));
  return out;
}

}  // namespace oacim::data
