#pragma once
// C4 as the GPTQ / SpQR / OA-CIM code uses it (docs/algorithms.md E.2, B.4), from the allenai/c4 shard
// files when they are present (JSON lines, gzip or plain; each line an object with "text"):
//   c4      evaluation: random.seed(0); 256 windows, each from a document drawn by
//           randint(0, n-1) until its tokens reach seqlen, then i = randint(0, L - seqlen - 1)
//           (a document of exactly seqlen tokens is taken whole, as SpQR/OA do); concatenated
//   c4-new  evaluation: the first 1100 documents joined with " ", one tokenizer call, cut to
//           256 x seqlen tokens
//   calibration: the same document/offset draw on the train shard with the caller's seed.
// Each document is tokenized by its own call (so LLaMA windows may start with BOS). No torch.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace oacim::data {

using Tokenize = std::function<std::vector<int>(const std::string&)>;

inline constexpr const char* kC4ValidationShard = "c4-validation.00000-of-00008.json";
inline constexpr const char* kC4TrainShard = "c4-train.00000-of-01024.json";

// DIR/SHARD.gz, DIR/SHARD, DIR/en/SHARD.gz or DIR/en/SHARD, whichever exists; InvalidArgument
// naming every place looked at otherwise.
std::string find_c4_shard(const std::string& data_dir, const std::string& shard, const std::string& key);
// The "text" of every line (the first `max_docs` when > 0). FormatError with the line number.
std::vector<std::string> read_c4_documents(const std::string& path, std::size_t max_docs = 0);

std::vector<int> c4_eval_tokens(const std::vector<std::string>& docs, const Tokenize& tokenize, int seqlen, int windows = 256);
std::vector<int> c4_new_eval_tokens(const std::vector<std::string>& docs, const Tokenize& tokenize, int seqlen,
                                    int windows = 256);
std::vector<std::vector<int>> c4_calibration_windows(const std::vector<std::string>& docs, const Tokenize& tokenize,
                                                     int nsamples, int seqlen, std::uint64_t seed);

}  // namespace oacim::data
