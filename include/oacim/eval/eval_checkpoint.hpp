#pragma once
// What a perplexity evaluation has finished, on disk, so that a killed run resumes where it
// stopped and ends with the bits of an unbroken one. The file is a header (a key naming everything
// the numbers depend on) followed by one record per finished window, appended as the window ends:
// its loss, its per-token statistics and every chip Linear's running counters, each record with its
// own length and checksum. Appending keeps the cost of a window's record independent of how many
// came before; a record cut short by a kill is dropped on reading. Torch-free.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace oacim::eval {

using LayerCounterValues = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;  // per chip Linear

struct WindowRecord {
  double nll = 0.0;
  std::string token_stats;       // TokenStats::to_bytes of this window's tokens
  LayerCounterValues counters;   // HwCounters::values() running totals after this window
};

struct EvalCheckpoint {
  nlohmann::json key;                 // a different key is another evaluation
  std::vector<WindowRecord> windows;  // finished windows, in order from the share's first
  std::uint64_t valid_bytes = 0;      // the header and the whole records (a cut record follows)
};

// The checkpoint at `path`, or nullopt when there is none. FormatError(path, ...) when it is not a
// checkpoint or a record before the last is damaged; InvalidArgument("checkpoint") naming the file
// and the first differing key field when it belongs to another evaluation.
std::optional<EvalCheckpoint> read_eval_checkpoint(const std::string& path, const nlohmann::json& key);

// Appends window records to a checkpoint: a new file (its header written through a temporary
// file and a rename) or, after read_eval_checkpoint, the one read (cut back to its valid bytes).
class EvalCheckpointWriter {
 public:
  EvalCheckpointWriter(const std::string& path, const nlohmann::json& key, const EvalCheckpoint* resumed);
  void append(const WindowRecord& window);  // written and flushed before it returns

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace oacim::eval
