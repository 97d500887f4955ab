#pragma once
// What a perplexity evaluation has finished, on disk, so that a killed run resumes where it
// stopped and ends with the bits of an unbroken one: the losses of the finished windows (a prefix
// of this process's share), their per-token statistics and every chip Linear's running counters,
// under a key that names everything the numbers depend on. Torch-free.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace oacim::eval {

struct EvalCheckpoint {
  nlohmann::json key;                  // model, data, window share, options: a different key is another run
  std::vector<double> window_nll;      // finished windows, in order from the share's first
  std::string token_stats;             // TokenStats::to_bytes of those windows
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> counters;  // per chip Linear: HwCounters::values()
};

// Writes `c` through a temporary file and a rename (a kill leaves the previous checkpoint).
void write_eval_checkpoint(const std::string& path, const EvalCheckpoint& c);

// The checkpoint at `path`, or nullopt when there is none. FormatError(path, ...) when the file is
// damaged (truncated, wrong format, a checksum that does not match); InvalidArgument("checkpoint")
// naming the file and the first differing key field when it belongs to another evaluation.
std::optional<EvalCheckpoint> read_eval_checkpoint(const std::string& path, const nlohmann::json& key);

}  // namespace oacim::eval
