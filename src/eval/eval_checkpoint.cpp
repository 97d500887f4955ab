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

constexpr char kMagic[] = "oacim-eval-checkpoint/1\n";

void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_bytes(std::string& out, const std::string& bytes) {
  put_u64(out, bytes.size());
  out += bytes;
}

// Bounds-checked reading of what put_* wrote; every failure names the file.
class Reader {
 public:
  Reader(const std::string& path, const std::string& bytes, std::size_t begin, std::size_t end)
      : path_(path), bytes_(bytes), at_(begin), end_(end) {}
  std::uint64_t u64(const char* what) {
    need(sizeof(std::uint64_t), what);
    std::uint64_t v = 0;
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::string bytes(const char* what) {
    const std::uint64_t n = u64(what);
    need(n, what);
    std::string s = bytes_.substr(at_, static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return s;
  }
  template <typename T>
  std::vector<T> values(const char* what) {
    const std::uint64_t n = u64(what);
    if (n > (end_ - at_) / sizeof(T)) fail(what);
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n) std::memcpy(v.data(), bytes_.data() + at_, static_cast<std::size_t>(n) * sizeof(T));
    at_ += static_cast<std::size_t>(n) * sizeof(T);
    return v;
  }
  bool done() const { return at_ == end_; }

 private:
  void need(std::uint64_t n, const char* what) const {
    if (n > end_ - at_) fail(what);
  }
  [[noreturn]] void fail(const char* what) const {
    throw FormatError(path_, fmt::format("the {} runs past the end of the checkpoint (a damaged file: delete it to start over)", what));
  }
  const std::string& path_;
  const std::string& bytes_;
  std::size_t at_, end_;
};

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

void write_eval_checkpoint(const std::string& path, const EvalCheckpoint& c) {
  std::string out = kMagic;
  put_bytes(out, c.key.dump());
  put_u64(out, c.window_nll.size());
  out.append(reinterpret_cast<const char*>(c.window_nll.data()), c.window_nll.size() * sizeof(double));
  put_bytes(out, c.token_stats);
  put_u64(out, c.counters.size());
  for (const auto& [name, values] : c.counters) {
    put_bytes(out, name);
    put_u64(out, values.size());
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t));
  }
  put_u64(out, fnv1a64(out.data(), out.size()));
  write_file_atomically(path, out);
}

std::optional<EvalCheckpoint> read_eval_checkpoint(const std::string& path, const nlohmann::json& key) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const std::string bytes = read_whole_file(path);
  const std::size_t magic = sizeof(kMagic) - 1;
  if (bytes.size() < magic + sizeof(std::uint64_t) || bytes.compare(0, magic, kMagic) != 0) {
    throw FormatError(path, "is not an oacim evaluation checkpoint (oacim-eval-checkpoint/1)");
  }
  const std::size_t body = bytes.size() - sizeof(std::uint64_t);
  std::uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + body, sizeof sum);
  if (sum != fnv1a64(bytes.data(), body)) {
    throw FormatError(path, "its checksum does not match its contents (a damaged file: delete it to start over)");
  }
  Reader r(path, bytes, magic, body);
  EvalCheckpoint c;
  const std::string key_text = r.bytes("key");
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
  c.window_nll = r.values<double>("window losses");
  c.token_stats = r.bytes("token statistics");
  const std::uint64_t layers = r.u64("layer count");
  for (std::uint64_t i = 0; i < layers; ++i) {
    std::string name = r.bytes("layer name");
    c.counters.emplace_back(std::move(name), r.values<std::int64_t>("layer counters"));
  }
  if (!r.done()) throw FormatError(path, "has bytes after its last section (a damaged file: delete it to start over)");
  return c;
}

}  // namespace oacim::eval
