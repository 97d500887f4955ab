#include "oacim/core/gguf.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/mapped_file.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim {

namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr std::uint32_t kMaxDims = 4;         // GGML_MAX_DIMS

std::string type_name(GgufType t) {
  static const char* const kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<std::uint32_t>(t);
  return i < 13 ? kNames[i] : fmt::format("type {}", i);
}

// Reads little-endian values from [data, data + size), every read checked.
class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t size, const std::string& path) : p_(data), size_(size), path_(path) {}
  std::size_t at() const { return at_; }
  template <class T>
  T read(const char* what) {
    if (size_ - at_ < sizeof(T)) throw FormatError(path_, fmt::format("truncated at byte {} reading {}", at_, what));
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const auto n = read<std::uint64_t>(what);
    if (n > kMaxGgufString || n > size_ - at_) {
      throw FormatError(path_, fmt::format("{} claims {} bytes at byte {}, past the end of the file", what, n, at_));
    }
    std::string s(reinterpret_cast<const char*>(p_ + at_), static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return s;
  }

 private:
  const std::uint8_t* p_;
  std::size_t size_;
  std::size_t at_ = 0;
  const std::string& path_;
};

GgufValue read_value(Cursor& c, GgufType type, const std::string& key, const std::string& path, bool in_array) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufType::U8: v.scalar = std::uint64_t{c.read<std::uint8_t>(key.c_str())}; break;
    case GgufType::I8: v.scalar = std::int64_t{c.read<std::int8_t>(key.c_str())}; break;
    case GgufType::U16: v.scalar = std::uint64_t{c.read<std::uint16_t>(key.c_str())}; break;
    case GgufType::I16: v.scalar = std::int64_t{c.read<std::int16_t>(key.c_str())}; break;
    case GgufType::U32: v.scalar = std::uint64_t{c.read<std::uint32_t>(key.c_str())}; break;
    case GgufType::I32: v.scalar = std::int64_t{c.read<std::int32_t>(key.c_str())}; break;
    case GgufType::U64: v.scalar = c.read<std::uint64_t>(key.c_str()); break;
    case GgufType::I64: v.scalar = c.read<std::int64_t>(key.c_str()); break;
    case GgufType::F32: v.scalar = double{c.read<float>(key.c_str())}; break;
    case GgufType::F64: v.scalar = c.read<double>(key.c_str()); break;
    case GgufType::Bool: {
      const auto b = c.read<std::uint8_t>(key.c_str());
      if (b > 1) throw FormatError(path, fmt::format("metadata key '{}': bool value {}", key, b));
      v.scalar = b == 1;
      break;
    }
    case GgufType::String: v.scalar = c.string(key.c_str()); break;
    case GgufType::Array: {
      if (in_array) throw FormatError(path, fmt::format("metadata key '{}': arrays of arrays are not read", key));
      const auto element = c.read<std::uint32_t>(key.c_str());
      if (element > 12) throw FormatError(path, fmt::format("metadata key '{}': unknown array element type {}", key, element));
      v.element = static_cast<GgufType>(element);
      const auto n = c.read<std::uint64_t>(key.c_str());
      if (n > kMaxGgufArray) throw FormatError(path, fmt::format("metadata key '{}': {} elements, over {}", key, n, kMaxGgufArray));
      v.array.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
      for (std::uint64_t i = 0; i < n; ++i) v.array.push_back(read_value(c, v.element, key, path, true));
      break;
    }
    default: throw FormatError(path, fmt::format("metadata key '{}': unknown value type {}", key, static_cast<std::uint32_t>(type)));
  }
  return v;
}

[[noreturn]] void wrong_type(const std::string& key, const GgufValue& v, const char* wanted) {
  throw InvalidArgument(key, fmt::format("is {}, not {}", v.type == GgufType::Array ? "an array of " + type_name(v.element) : type_name(v.type), wanted));
}

}  // namespace

std::int64_t GgufValue::as_int(const std::string& key) const {
  if (const auto* u = std::get_if<std::uint64_t>(&scalar); u && type != GgufType::Array) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) wrong_type(key, *this, "an integer of int64 range");
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* i = std::get_if<std::int64_t>(&scalar); i && type != GgufType::Array) return *i;
  wrong_type(key, *this, "an integer");
}

double GgufValue::as_float(const std::string& key) const {
  if (const auto* d = std::get_if<double>(&scalar); d && type != GgufType::Array) return *d;
  return static_cast<double>(as_int(key));
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (const auto* s = std::get_if<std::string>(&scalar); s && type == GgufType::String) return *s;
  wrong_type(key, *this, "a string");
}

std::vector<std::string> GgufValue::as_strings(const std::string& key) const {
  if (type != GgufType::Array || element != GgufType::String) wrong_type(key, *this, "an array of strings");
  std::vector<std::string> out;
  out.reserve(array.size());
  for (const GgufValue& v : array) out.push_back(std::get<std::string>(v.scalar));
  return out;
}

std::vector<double> GgufValue::as_floats(const std::string& key) const {
  if (type != GgufType::Array || element == GgufType::String || element == GgufType::Bool) wrong_type(key, *this, "an array of numbers");
  std::vector<double> out;
  out.reserve(array.size());
  for (const GgufValue& v : array) out.push_back(v.as_float(key));
  return out;
}

std::vector<std::int64_t> GgufValue::as_ints(const std::string& key) const {
  if (type != GgufType::Array) wrong_type(key, *this, "an array of integers");
  std::vector<std::int64_t> out;
  out.reserve(array.size());
  for (const GgufValue& v : array) out.push_back(v.as_int(key));
  return out;
}

std::string ggml_type_name(std::uint32_t type) {
  switch (type) {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 6: return "Q5_0";
    case 7: return "Q5_1";
    case 8: return "Q8_0";
    case 9: return "Q8_1";
    case 10: return "Q2_K";
    case 11: return "Q3_K";
    case 12: return "Q4_K";
    case 13: return "Q5_K";
    case 14: return "Q6_K";
    case 15: return "Q8_K";
    case 30: return "BF16";
    default: return fmt::format("type {}", type);
  }
}

GgmlBlock ggml_block(std::uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: return {1, 4};
    case GgmlType::F16: return {1, 2};
    case GgmlType::BF16: return {1, 2};
    case GgmlType::Q4_0: return {32, 18};
    case GgmlType::Q4_1: return {32, 20};
    case GgmlType::Q8_0: return {32, 34};
    case GgmlType::Q4_K: return {256, 144};
  }
  return {0, 0};
}

std::int64_t GgufTensor::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

bool is_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::uint32_t magic = 0;
  return in.read(reinterpret_cast<char*>(&magic), sizeof magic) && magic == kMagic;
}

GgufFile GgufFile::from_bytes(std::string bytes, const std::string& name) {
  GgufFile f;
  f.path_ = name;
  f.mapping_ = MappedFile::from_bytes(std::move(bytes));
  f.parse();
  return f;
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f;
  f.path_ = path;
  f.mapping_ = MappedFile::open(path);
  f.parse();
  return f;
}

void GgufFile::parse() {
  const std::string& path = path_;
  const std::size_t size = mapping_->size();
  Cursor c(mapping_->data(), size, path);
  if (c.read<std::uint32_t>("the magic") != kMagic) throw FormatError(path, "not a GGUF file (no 'GGUF' magic)");
  version_ = c.read<std::uint32_t>("the version");
  if (version_ != 2 && version_ != 3) throw FormatError(path, fmt::format("GGUF version {} (oacim reads 2 and 3)", version_));
  const auto n_tensors = c.read<std::uint64_t>("the tensor count");
  const auto n_kv = c.read<std::uint64_t>("the metadata count");
  if (n_tensors > kMaxGgufTensors) throw FormatError(path, fmt::format("{} tensors, over {}", n_tensors, kMaxGgufTensors));
  if (n_kv > kMaxGgufMetadata) throw FormatError(path, fmt::format("{} metadata keys, over {}", n_kv, kMaxGgufMetadata));
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = c.string("a metadata key");
    const auto type = c.read<std::uint32_t>(key.c_str());
    if (type > 12) throw FormatError(path, fmt::format("metadata key '{}': unknown value type {}", key, type));
    GgufValue v = read_value(c, static_cast<GgufType>(type), key, path, false);
    if (!metadata_.emplace(key, std::move(v)).second) throw FormatError(path, fmt::format("metadata key '{}' appears twice", key));
  }
  if (has("general.alignment")) {
    const std::int64_t a = int_value("general.alignment");
    if (a <= 0 || (a & (a - 1)) != 0 || a > (1 << 20)) {
      throw FormatError(path, fmt::format("metadata key 'general.alignment': {} is not a power of two up to 2^20", a));
    }
    alignment_ = static_cast<std::uint64_t>(a);
  }
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = c.string("a tensor name");
    const auto dims = c.read<std::uint32_t>(t.name.c_str());
    if (dims == 0 || dims > kMaxDims) throw FormatError(path, fmt::format("tensor '{}': {} dimensions (1 to {})", t.name, dims, kMaxDims));
    std::uint64_t numel = 1;
    for (std::uint32_t d = 0; d < dims; ++d) {
      const auto n = c.read<std::uint64_t>(t.name.c_str());
      if (n == 0 || n > (std::uint64_t{1} << 40) || numel > (std::uint64_t{1} << 40) / n) {
        throw FormatError(path, fmt::format("tensor '{}': dimension {} of {} is out of range", t.name, d, n));
      }
      numel *= n;
      t.shape.push_back(static_cast<std::int64_t>(n));
    }
    t.type = c.read<std::uint32_t>(t.name.c_str());
    t.offset = c.read<std::uint64_t>(t.name.c_str());
    if (t.offset % alignment_ != 0) {
      throw FormatError(path, fmt::format("tensor '{}': offset {} is not a multiple of the alignment {}", t.name, t.offset, alignment_));
    }
    const GgmlBlock b = ggml_block(t.type);
    if (b.weights > 0) {
      if (t.shape[0] % b.weights != 0) {
        throw FormatError(path, fmt::format("tensor '{}': rows of {} weights are not whole {} blocks of {}", t.name, t.shape[0],
                                            ggml_type_name(t.type), b.weights));
      }
      t.nbytes = numel / static_cast<std::uint64_t>(b.weights) * static_cast<std::uint64_t>(b.bytes);
    }
    for (const GgufTensor& o : tensors_) {
      if (o.name == t.name) throw FormatError(path, fmt::format("tensor '{}' appears twice", t.name));
    }
    tensors_.push_back(std::move(t));
  }
  const std::uint64_t data_start = (c.at() + alignment_ - 1) / alignment_ * alignment_;
  for (GgufTensor& t : tensors_) {
    if (t.nbytes == 0) continue;  // a type oacim does not read: refused when read
    if (data_start > size || t.offset > size - data_start || t.nbytes > size - data_start - t.offset) {
      throw FormatError(path, fmt::format("tensor '{}': {} bytes at offset {} run past the end of the file ({} bytes)", t.name,
                                          t.nbytes, data_start + t.offset, size));
    }
    t.data = mapping_->data() + data_start + t.offset;
  }
}

const GgufValue& GgufFile::value(const std::string& key) const {
  const auto it = metadata_.find(key);
  if (it == metadata_.end()) throw FormatError(path_, fmt::format("metadata key '{}' is missing", key));
  return it->second;
}

std::int64_t GgufFile::int_value(const std::string& key) const {
  return in_file(key, [&] { return value(key).as_int(key); });
}
double GgufFile::float_value(const std::string& key) const {
  return in_file(key, [&] { return value(key).as_float(key); });
}
std::string GgufFile::string_value(const std::string& key) const {
  return in_file(key, [&] { return value(key).as_string(key); });
}
std::vector<std::string> GgufFile::strings_value(const std::string& key) const {
  return in_file(key, [&] { return value(key).as_strings(key); });
}
std::vector<double> GgufFile::floats_value(const std::string& key) const {
  return in_file(key, [&] { return value(key).as_floats(key); });
}
std::vector<std::int64_t> GgufFile::ints_value(const std::string& key) const {
  return in_file(key, [&] { return value(key).as_ints(key); });
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  for (const GgufTensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

float ggml_f16_at(const std::uint8_t* p) {
  std::uint16_t bits;
  std::memcpy(&bits, p, 2);
  return float_from_fp16_bits(bits);
}

void ggml_q4k_scale_min(int j, const std::uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void ggml_dequantize(std::uint32_t type, const std::uint8_t* src, std::int64_t blocks, float* dst) {
  const GgmlBlock b = ggml_block(type);
  for (std::int64_t i = 0; i < blocks; ++i, src += b.bytes, dst += b.weights) {
    switch (static_cast<GgmlType>(type)) {
      case GgmlType::F32: std::memcpy(dst, src, 4); break;
      case GgmlType::F16: dst[0] = ggml_f16_at(src); break;
      case GgmlType::BF16: {
        std::uint16_t bits;
        std::memcpy(&bits, src, 2);
        dst[0] = float_from_bits(std::uint32_t{bits} << 16);
        break;
      }
      case GgmlType::Q4_0: {  // d (f16), 16 bytes: low nibbles are weights 0..15, high nibbles 16..31
        const float d = ggml_f16_at(src);
        for (int j = 0; j < 16; ++j) {
          dst[j] = static_cast<float>((src[2 + j] & 0x0F) - 8) * d;
          dst[j + 16] = static_cast<float>((src[2 + j] >> 4) - 8) * d;
        }
        break;
      }
      case GgmlType::Q4_1: {  // d, m (f16), 16 bytes
        const float d = ggml_f16_at(src), m = ggml_f16_at(src + 2);
        for (int j = 0; j < 16; ++j) {
          dst[j] = static_cast<float>(src[4 + j] & 0x0F) * d + m;
          dst[j + 16] = static_cast<float>(src[4 + j] >> 4) * d + m;
        }
        break;
      }
      case GgmlType::Q8_0: {  // d (f16), 32 int8
        const float d = ggml_f16_at(src);
        for (int j = 0; j < 32; ++j) dst[j] = static_cast<float>(static_cast<std::int8_t>(src[2 + j])) * d;
        break;
      }
      case GgmlType::Q4_K: {  // d, dmin (f16), 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
        const float d = ggml_f16_at(src), dmin = ggml_f16_at(src + 2);
        const std::uint8_t* scales = src + 4;
        const std::uint8_t* q = src + 16;
        float* y = dst;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
          int sc = 0, m = 0;
          ggml_q4k_scale_min(is, scales, sc, m);
          const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
          ggml_q4k_scale_min(is + 1, scales, sc, m);
          const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
          for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
          for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
        break;
      }
      default: throw InvalidArgument("type", fmt::format("{} is not a type oacim dequantizes", ggml_type_name(type)));
    }
  }
}

std::vector<float> GgufFile::dequantize(const GgufTensor& t) const {
  const GgmlBlock b = ggml_block(t.type);
  if (b.weights == 0 || t.data == nullptr) {
    throw FormatError(path_, fmt::format("tensor '{}' is {}, which oacim does not read (F32, F16, BF16, Q4_0, Q4_1, Q8_0, "
                                         "Q4_K)",
                                         t.name, ggml_type_name(t.type)));
  }
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  ggml_dequantize(t.type, t.data, t.numel() / b.weights, out.data());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      throw FormatError(path_, fmt::format("tensor '{}': element {} is {} (a non-finite scale or value)", t.name, i, out[i]));
    }
  }
  return out;
}

namespace {

template <class T>
void append(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void append_string(std::string& out, const std::string& s) {
  append<std::uint64_t>(out, s.size());
  out += s;
}

// ggml's quantize_row_q4_0_reference: d = (the value of largest magnitude) / -8, codes
// min(15, (int8)(x / d + 8.5)).
void quantize_q4_0(const float* x, std::string& out) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  append<std::uint16_t>(out, fp16_bits_from_float(d));
  for (int j = 0; j < 16; ++j) {
    const int x0 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j] * id + 8.5f)));
    const int x1 = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[16 + j] * id + 8.5f)));
    out += static_cast<char>(x0 | (x1 << 4));
  }
}

}  // namespace

namespace {

// A metadata value's bytes: its type, then the value.
std::string typed(GgufType type) {
  std::string b;
  append<std::uint32_t>(b, static_cast<std::uint32_t>(type));
  return b;
}

// An array's bytes: the array type, the element type, the count, then the elements.
std::string array_of(GgufType element, std::size_t count) {
  std::string b = typed(GgufType::Array);
  append<std::uint32_t>(b, static_cast<std::uint32_t>(element));
  append<std::uint64_t>(b, count);
  return b;
}

template <class T>
std::string number_array(GgufType element, const std::vector<T>& v) {
  std::string b = array_of(element, v.size());
  for (const T x : v) append(b, x);
  return b;
}

}  // namespace

void GgufWriter::set_u32(const std::string& key, std::uint32_t v) {
  std::string b = typed(GgufType::U32);
  append(b, v);
  kv_.emplace_back(key, b);
}

void GgufWriter::set_f32(const std::string& key, float v) {
  std::string b = typed(GgufType::F32);
  append(b, v);
  kv_.emplace_back(key, b);
}

void GgufWriter::set_bool(const std::string& key, bool v) {
  std::string b = typed(GgufType::Bool);
  append<std::uint8_t>(b, v ? 1 : 0);
  kv_.emplace_back(key, b);
}

void GgufWriter::set_string(const std::string& key, const std::string& v) {
  std::string b = typed(GgufType::String);
  append_string(b, v);
  kv_.emplace_back(key, b);
}

void GgufWriter::set_strings(const std::string& key, const std::vector<std::string>& v) {
  std::string b = array_of(GgufType::String, v.size());
  for (const std::string& x : v) append_string(b, x);
  kv_.emplace_back(key, b);
}

void GgufWriter::set_f32s(const std::string& key, const std::vector<float>& v) { kv_.emplace_back(key, number_array(GgufType::F32, v)); }

void GgufWriter::set_i32s(const std::string& key, const std::vector<std::int32_t>& v) {
  kv_.emplace_back(key, number_array(GgufType::I32, v));
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>& values,
                            GgmlType type) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  if (n != static_cast<std::int64_t>(values.size())) {
    throw InvalidArgument("values", fmt::format("tensor '{}': {} values for {} elements", name, values.size(), n));
  }
  Tensor t{name, shape, type, {}};
  switch (type) {
    case GgmlType::F32: t.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * 4); break;
    case GgmlType::F16:
      for (const float v : values) append<std::uint16_t>(t.data, fp16_bits_from_float(v));
      break;
    case GgmlType::Q4_0:
      if (shape.empty() || shape[0] % 32 != 0) throw InvalidArgument("shape", fmt::format("tensor '{}': rows are not whole Q4_0 blocks", name));
      for (std::size_t i = 0; i < values.size(); i += 32) quantize_q4_0(values.data() + i, t.data);
      break;
    default: throw InvalidArgument("type", fmt::format("tensor '{}': the writer stores F32, F16 or Q4_0", name));
  }
  tensors_.push_back(std::move(t));
}

void GgufWriter::add_raw_tensor(const std::string& name, const std::vector<std::int64_t>& shape, GgmlType type,
                                std::string blocks) {
  const GgmlBlock b = ggml_block(static_cast<std::uint32_t>(type));
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  if (b.weights == 0 || shape.empty() || shape[0] % b.weights != 0 ||
      static_cast<std::int64_t>(blocks.size()) != n / b.weights * b.bytes) {
    throw InvalidArgument("blocks", fmt::format("tensor '{}': {} bytes are not whole {} blocks of {} weights", name, blocks.size(),
                                                ggml_type_name(static_cast<std::uint32_t>(type)), n));
  }
  tensors_.push_back(Tensor{name, shape, type, std::move(blocks)});
}

std::string GgufWriter::bytes() const {
  constexpr std::size_t kAlign = 32;
  std::string out;
  append<std::uint32_t>(out, kMagic);
  append<std::uint32_t>(out, 3);
  append<std::uint64_t>(out, tensors_.size());
  append<std::uint64_t>(out, kv_.size());
  for (const auto& [key, value] : kv_) {
    append_string(out, key);
    out += value;
  }
  std::uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    append_string(out, t.name);
    append<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape.size()));
    for (const std::int64_t d : t.shape) append<std::uint64_t>(out, static_cast<std::uint64_t>(d));
    append<std::uint32_t>(out, static_cast<std::uint32_t>(t.type));
    append<std::uint64_t>(out, offset);
    offset += (t.data.size() + kAlign - 1) / kAlign * kAlign;
  }
  out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  for (const Tensor& t : tensors_) {
    out += t.data;
    out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  }
  return out;
}

void GgufWriter::write(const std::string& path) const { write_file_atomically(path, bytes()); }

}  // namespace oacim
