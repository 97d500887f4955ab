#include "oacim/eval/eval_checkpoint.hpp"

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/text_file.hpp"

namespace oacim::eval {

namespace {

constexpr char kMagic[] = "oacim-eval-checkpoint/2\n";
constexpr std::size_t kMagicBytes = sizeof(kMagic) - 1;

void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_bytes(std::string& out, const std::string& bytes) {
  put_u64(out, bytes.size());
  out += bytes;
}
// A section: its length, its bytes, their checksum.
std::string framed(const std::string& payload) {
  std::string out;
  put_bytes(out, payload);
  put_u64(out, fnv1a64(payload.data(), payload.size()));
  return out;
}

// Bounds-checked reading of what put_* wrote; false when the bytes run out.
class Reader {
 public:
  Reader(const std::string& bytes, std::size_t begin, std::size_t end) : bytes_(bytes), at_(begin), end_(end) {}
  bool u64(std::uint64_t& v) {
    if (end_ - at_ < sizeof v) return false;
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }
  bool bytes(std::string& s) {
    std::uint64_t n = 0;
    if (!u64(n) || n > end_ - at_) return false;
    s = bytes_.substr(at_, static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return true;
  }
  template <typename T>
  bool values(std::vector<T>& v) {
    std::uint64_t n = 0;
    if (!u64(n) || n > (end_ - at_) / sizeof(T)) return false;
    v.resize(static_cast<std::size_t>(n));
    if (n) std::memcpy(v.data(), bytes_.data() + at_, static_cast<std::size_t>(n) * sizeof(T));
    at_ += static_cast<std::size_t>(n) * sizeof(T);
    return true;
  }
  // A framed section; false when it is cut short or its checksum does not match.
  bool section(std::string& payload) {
    std::uint64_t sum = 0;
    return bytes(payload) && u64(sum) && sum == fnv1a64(payload.data(), payload.size());
  }
  std::size_t at() const { return at_; }
  bool done() const { return at_ == end_; }

 private:
  const std::string& bytes_;
  std::size_t at_, end_;
};

std::string record_bytes(const WindowRecord& w) {
  std::string p;
  p.append(reinterpret_cast<const char*>(&w.nll), sizeof w.nll);
  put_bytes(p, w.token_stats);
  put_u64(p, w.counters.size());
  for (const auto& [name, values] : w.counters) {
    put_bytes(p, name);
    put_u64(p, values.size());
    p.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t));
  }
  return framed(p);
}

bool parse_record(const std::string& payload, WindowRecord& w) {
  if (payload.size() < sizeof w.nll) return false;
  std::memcpy(&w.nll, payload.data(), sizeof w.nll);
  Reader rest(payload, sizeof w.nll, payload.size());
  std::uint64_t layers = 0;
  if (!rest.bytes(w.token_stats) || !rest.u64(layers)) return false;
  for (std::uint64_t i = 0; i < layers; ++i) {
    std::string name;
    std::vector<std::int64_t> values;
    if (!rest.bytes(name) || !rest.values(values)) return false;
    w.counters.emplace_back(std::move(name), std::move(values));
  }
  return rest.done();
}

// The first field (dotted, into nested objects) where two keys differ, for the message.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix = "") {
  for (auto it = b.begin(); it != b.end(); ++it) {
    const std::string name = prefix + it.key();
    if (!a.contains(it.key())) return fmt::format("'{}' is new", name);
    const nlohmann::json& was = a.at(it.key());
    if (was == it.value()) continue;
    if (was.is_object() && it.value().is_object()) return first_difference(was, it.value(), name + ".");
    return fmt::format("'{}' was {}, now {}", name, was.dump().substr(0, 120), it.value().dump().substr(0, 120));
  }
  return "a field it has is no longer set";
}

}  // namespace

std::optional<EvalCheckpoint> read_eval_checkpoint(const std::string& path, const nlohmann::json& key) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const std::string bytes = read_whole_file(path);
  if (bytes.compare(0, kMagicBytes, kMagic) != 0) {
    throw FormatError(path, "is not an oacim evaluation checkpoint (oacim-eval-checkpoint/2)");
  }
  Reader r(bytes, kMagicBytes, bytes.size());
  std::string key_text;
  if (!r.section(key_text)) throw FormatError(path, "its header is cut short or damaged: delete it to start over");
  EvalCheckpoint c;
  try {
    c.key = nlohmann::json::parse(key_text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, fmt::format("its key is not JSON ({})", e.what()));
  }
  if (c.key != key) {
    throw InvalidArgument("checkpoint", fmt::format("{} was written by another evaluation ({}); delete it or name another "
                                                    "checkpoint file",
                                                    path, first_difference(c.key, key)));
  }
  c.valid_bytes = r.at();
  while (!r.done()) {
    std::string payload;
    WindowRecord w;
    if (!r.section(payload)) break;  // the last record, cut by a kill while it was written: dropped
    if (!parse_record(payload, w)) {
      throw FormatError(path, fmt::format("window record {} has a valid checksum but not a record's layout", c.windows.size()));
    }
    c.windows.push_back(std::move(w));
    c.valid_bytes = r.at();
  }
  if (c.valid_bytes < bytes.size()) {
    // Only the end may be cut: a damaged record followed by whole ones is not a kill's trace.
    Reader after(bytes, static_cast<std::size_t>(c.valid_bytes), bytes.size());
    std::uint64_t n = 0;
    const std::uint64_t left = bytes.size() - c.valid_bytes;
    if (after.u64(n) && n <= left && n + 2 * sizeof(std::uint64_t) < left) {
      throw FormatError(path, fmt::format("window record {} is damaged and more follow: delete it to start over", c.windows.size()));
    }
  }
  return c;
}

EvalCheckpointWriter::EvalCheckpointWriter(const std::string& path, const nlohmann::json& key, const EvalCheckpoint* resumed)
    : path_(path) {
  if (resumed) {
    std::filesystem::resize_file(path, resumed->valid_bytes);  // drop a cut last record
  } else {
    write_file_atomically(path, std::string(kMagic) + framed(key.dump()));
  }
  out_.open(path, std::ios::binary | std::ios::app);
  if (!out_) throw FormatError(path, "cannot be opened for appending window records");
}

void EvalCheckpointWriter::append(const WindowRecord& window) {
  const std::string rec = record_bytes(window);
  out_.write(rec.data(), static_cast<std::streamsize>(rec.size()));
  out_.flush();
  if (!out_) throw FormatError(path_, "writing a window record failed (disk full?)");
}

}  // namespace oacim::eval
