#include "oacim/core/safetensors.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/mapped_file.hpp"

namespace oacim {

namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U64, "U64", 8}, {DType::U32, "U32", 4}, {DType::U16, "U16", 2}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d;
  }
  throw Error("unknown dtype enum");
}

// numel of a validated shape with overflow detection; returns false on overflow.
bool checked_numel(const std::vector<std::int64_t>& shape, std::uint64_t* out) {
  std::uint64_t n = 1;
  for (auto d : shape) {
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / u) return false;
    n *= u;
  }
  *out = n;
  return true;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

std::size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string dtype_name(DType dtype) { return info(dtype).name; }

bool dtype_from_name(const std::string& name, DType* out) {
  for (const auto& d : kDTypes) {
    if (name == d.name) {
      *out = d.dtype;
      return true;
    }
  }
  return false;
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::from_bytes(std::string bytes, const std::string& name) {
  SafetensorsFile f;
  f.path_ = name;
  f.mapping_ = MappedFile::from_bytes(std::move(bytes));
  f.parse();
  return f;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.mapping_ = MappedFile::open(path);
  f.parse();
  return f;
}

void SafetensorsFile::parse() {
  SafetensorsFile& f = *this;
  const std::string& path = path_;
  const std::size_t size = f.mapping_->size();
  if (size < 8) throw FormatError(path, fmt::format("truncated: {} bytes, shorter than the 8-byte header length", size));
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | f.mapping_->data()[i];
  // The format's own bound (the reference reader refuses headers over 100 MB).
  if (header_len > kMaxSafetensorsHeaderBytes) {
    throw FormatError(path, fmt::format("header length {} exceeds the format's limit of {} bytes", header_len,
                                        kMaxSafetensorsHeaderBytes));
  }
  if (header_len > size - 8) {
    throw FormatError(path, fmt::format("header length {} exceeds the {} bytes after the length field", header_len,
                                        size - 8));
  }
  const char* hbegin = reinterpret_cast<const char*>(f.mapping_->data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(hbegin, hbegin + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, fmt::format("header is not valid JSON: {}", e.what()));
  }
  if (!header.is_object()) throw FormatError(path, "header is not a JSON object");

  const std::uint8_t* data_begin = f.mapping_->data() + 8 + header_len;
  const std::uint64_t data_size = size - 8 - header_len;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  std::vector<std::string> span_names;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) throw FormatError(path, "__metadata__ is not an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw FormatError(path, fmt::format("__metadata__ key '{}' is not a string", m.key()));
        f.metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& reason) { return FormatError(path, fmt::format("tensor '{}': {}", name, reason)); };
    const auto& e = *it;
    if (!e.is_object()) throw bad("entry is not an object");
    if (!e.contains("dtype") || !e["dtype"].is_string()) throw bad("missing or non-string 'dtype'");
    if (!e.contains("shape") || !e["shape"].is_array()) throw bad("missing or non-array 'shape'");
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2) {
      throw bad("'data_offsets' must be an array of two integers");
    }
    TensorView v;
    v.name = name;
    const std::string dt = e["dtype"].get<std::string>();
    if (!dtype_from_name(dt, &v.dtype)) throw bad(fmt::format("unknown dtype '{}'", dt));
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0) throw bad("shape entries must be non-negative integers");
      v.shape.push_back(d.get<std::int64_t>());
    }
    for (const auto& o : e["data_offsets"]) {
      if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<std::int64_t>() >= 0)) {
        throw bad("data_offsets must be non-negative integers");
      }
    }
    const auto begin = e["data_offsets"][0].get<std::uint64_t>();
    const auto end = e["data_offsets"][1].get<std::uint64_t>();
    if (begin > end) throw bad(fmt::format("data_offsets [{}, {}] run backwards", begin, end));
    if (end > data_size) {
      throw bad(fmt::format("data_offsets [{}, {}] exceed the data section of {} bytes (file truncated?)", begin, end,
                            data_size));
    }
    std::uint64_t numel = 0;
    if (!checked_numel(v.shape, &numel) || numel > std::numeric_limits<std::uint64_t>::max() / dtype_size(v.dtype)) {
      throw bad(fmt::format("shape {} overflows", shape_text(v.shape)));
    }
    if (numel * dtype_size(v.dtype) != end - begin) {
      throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets span {}", shape_text(v.shape), dt,
                            numel * dtype_size(v.dtype), end - begin));
    }
    v.data = data_begin + begin;
    v.nbytes = static_cast<std::size_t>(end - begin);
    spans.emplace_back(begin, end);
    span_names.push_back(name);
    f.tensors_.emplace(name, std::move(v));
  }
  // Tensors must tile the data section: no overlap, no hole, nothing trailing.
  std::vector<std::size_t> order(spans.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return spans[a] < spans[b]; });
  std::uint64_t cursor = 0;
  for (std::size_t i : order) {
    if (spans[i].first < cursor) {
      throw FormatError(path, fmt::format("tensor '{}' overlaps the previous tensor at byte {}", span_names[i],
                                          spans[i].first));
    }
    if (spans[i].first > cursor) {
      throw FormatError(path, fmt::format("hole of {} bytes before tensor '{}'", spans[i].first - cursor,
                                          span_names[i]));
    }
    cursor = spans[i].second;
  }
  if (cursor != data_size) {
    throw FormatError(path, fmt::format("{} trailing bytes after the last tensor", data_size - cursor));
  }
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

void SafetensorsFile::read_floats(const std::string& name, float* dst) const {
  const TensorView& v = tensor(name);
  const std::int64_t n = v.numel();
  switch (v.dtype) {
    case DType::F32: std::memcpy(dst, v.data, static_cast<std::size_t>(n) * 4); break;
    case DType::F16:
    case DType::BF16:
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t b;
        std::memcpy(&b, v.data + 2 * i, 2);
        dst[i] = v.dtype == DType::F16 ? float_from_fp16_bits(b) : Bf16::from_bits(b).to_float();
      }
      break;
    default: throw FormatError(path_, fmt::format("tensor '{}' is {}, not F32, F16 or BF16", name, dtype_name(v.dtype)));
  }
}

const TensorView& SafetensorsFile::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw FormatError(path_, fmt::format("tensor '{}' is missing", name));
  return it->second;
}

const std::string& SafetensorsFile::metadata_value(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) throw FormatError(path_, fmt::format("__metadata__ key '{}' is missing", key));
  return it->second;
}

template <typename T>
std::vector<T> SafetensorsFile::read(const std::string& name, DType dtype,
                                     const std::vector<std::int64_t>& shape) const {
  const TensorView& v = tensor(name);
  if (v.dtype != dtype) {
    throw FormatError(path_, fmt::format("tensor '{}' has dtype {}, expected {}", name, dtype_name(v.dtype),
                                         dtype_name(dtype)));
  }
  if (v.shape != shape) {
    throw FormatError(path_, fmt::format("tensor '{}' has shape {}, expected {}", name, shape_text(v.shape),
                                         shape_text(shape)));
  }
  if (sizeof(T) != dtype_size(dtype)) throw Error("read<T>: element size does not match dtype");
  std::vector<T> out(v.nbytes / sizeof(T));
  if (v.nbytes > 0) std::memcpy(out.data(), v.data, v.nbytes);  // little-endian host assumed (x86_64, aarch64)
  return out;
}

template std::vector<float> SafetensorsFile::read<float>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<double> SafetensorsFile::read<double>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<std::int8_t> SafetensorsFile::read<std::int8_t>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<std::uint8_t> SafetensorsFile::read<std::uint8_t>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<std::int16_t> SafetensorsFile::read<std::int16_t>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<std::uint16_t> SafetensorsFile::read<std::uint16_t>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<std::int32_t> SafetensorsFile::read<std::int32_t>(const std::string&, DType, const std::vector<std::int64_t>&) const;
template std::vector<std::int64_t> SafetensorsFile::read<std::int64_t>(const std::string&, DType, const std::vector<std::int64_t>&) const;

void SafetensorsWriter::check_entry(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                                    std::size_t nbytes) const {
  if (name.empty() || name == "__metadata__") throw InvalidArgument("tensor name", fmt::format("'{}' is reserved", name));
  std::uint64_t numel = 0;
  for (auto d : shape) {
    if (d < 0) throw InvalidArgument(name, "negative dimension");
  }
  if (!checked_numel(shape, &numel) || numel * dtype_size(dtype) != nbytes) {
    throw InvalidArgument(name, fmt::format("shape {} of {} does not match {} bytes", shape_text(shape),
                                            dtype_name(dtype), nbytes));
  }
}

void SafetensorsWriter::add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                            const void* data, std::size_t nbytes) {
  check_entry(name, dtype, shape, nbytes);
  Entry e{dtype, shape, {}};
  e.bytes.resize(nbytes);
  if (nbytes > 0) std::memcpy(e.bytes.data(), data, nbytes);
  entries_[name] = std::move(e);
}

void SafetensorsWriter::add_view(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape,
                                 const void* data, std::size_t nbytes, std::shared_ptr<const void> keep_alive) {
  check_entry(name, dtype, shape, nbytes);
  Entry e{dtype, shape, {}};
  e.view = static_cast<const std::uint8_t*>(data);
  e.view_bytes = nbytes;
  e.keep_alive = std::move(keep_alive);
  entries_[name] = std::move(e);
}

std::string SafetensorsWriter::header() const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::uint64_t offset = 0;
  for (const auto& [name, e] : entries_) {
    header[name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.size()}}};
    offset += e.size();
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');  // align the data section to 8 bytes, as the Python writer does
  std::string out;
  const std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return out + h;
}

void SafetensorsWriter::write(const std::string& path) const {
  write_file_atomically(path, [&](std::ostream& os) {
    const std::string h = header();
    os.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& [name, e] : entries_) os.write(reinterpret_cast<const char*>(e.data()), static_cast<std::streamsize>(e.size()));
  });
}

std::string SafetensorsWriter::bytes() const {
  std::string out = header();
  std::size_t total = out.size();
  for (const auto& [name, e] : entries_) total += e.size();
  out.reserve(total);
  for (const auto& [name, e] : entries_) out.append(reinterpret_cast<const char*>(e.data()), e.size());
  return out;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](std::ostream& os) { os.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(getpid()));
  {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    if (!os) throw FormatError(path, fmt::format("cannot create temporary file '{}': {}", tmp, std::strerror(errno)));
    try {
      body(os);
    } catch (...) {
      os.close();
      std::remove(tmp.c_str());
      throw;
    }
    os.flush();
    if (!os) {
      std::remove(tmp.c_str());
      throw FormatError(path, "write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw FormatError(path, fmt::format("cannot rename temporary file into place: {}", std::strerror(err)));
  }
}

}  // namespace oacim
