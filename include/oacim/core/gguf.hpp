#pragma once
// GGUF files (llama.cpp's model format, versions 2 and 3; docs/models.md "GGUF"): the header,
// every metadata key with its typed value (the scalar types, strings and arrays of them), the
// tensor infos, the alignment (general.alignment, default 32) and the tensor data, memory-mapped.
// Every length, count and offset is checked against the file before it is used: a lying header,
// an unknown type or a tensor past the end is a FormatError naming the file and the key or tensor.
// Dequantization of the block formats F32, F16, BF16, Q4_0, Q4_1, Q8_0 and Q4_K follows ggml's
// reference code (dequantize_row_*). No torch.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "oacim/core/error.hpp"

namespace oacim {

class MappedFile;

// The metadata value types, by their numbers in the file.
enum class GgufType : std::uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9, U64 = 10,
  I64 = 11, F64 = 12
};

// One metadata value: a scalar (as the widest type of its kind), a string, or an array of them.
struct GgufValue {
  GgufType type = GgufType::U8;
  GgufType element = GgufType::U8;  // arrays: the elements' type
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string> scalar;
  std::vector<GgufValue> array;  // arrays (of scalars or strings; nested arrays are refused)

  // InvalidArgument(key) for another type (GgufFile's *_value() name the file as well).
  std::int64_t as_int(const std::string& key) const;
  double as_float(const std::string& key) const;       // integers or floats
  const std::string& as_string(const std::string& key) const;
  std::vector<std::string> as_strings(const std::string& key) const;  // an array of strings
  std::vector<double> as_floats(const std::string& key) const;        // an array of numbers
  std::vector<std::int64_t> as_ints(const std::string& key) const;    // an array of integers
};

// ggml's tensor types that oacim reads (others are listed by name and refused when read).
enum class GgmlType : std::uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 8, Q4_K = 12, BF16 = 30 };
std::string ggml_type_name(std::uint32_t type);  // "Q4_0", ..., "type 99" when unknown
// Weights per block and bytes per block of a type oacim knows (0, 0 otherwise).
struct GgmlBlock {
  int weights = 0;
  int bytes = 0;
};
GgmlBlock ggml_block(std::uint32_t type);

struct GgufTensor {
  std::string name;
  std::vector<std::int64_t> shape;  // ggml order: shape[0] is the fastest-varying (a row's length)
  std::uint32_t type = 0;
  std::uint64_t offset = 0;         // within the data section
  std::uint64_t nbytes = 0;
  const std::uint8_t* data = nullptr;  // into the mapping
  std::int64_t numel() const;
};

inline constexpr std::uint64_t kMaxGgufMetadata = 1'000'000;    // keys
inline constexpr std::uint64_t kMaxGgufTensors = 1'000'000;
inline constexpr std::uint64_t kMaxGgufArray = 100'000'000;     // elements of one array
inline constexpr std::uint64_t kMaxGgufString = 1u << 30;       // bytes of one string

// Whether `path` is a regular file that starts with GGUF's magic.
bool is_gguf_file(const std::string& path);

class GgufFile {
 public:
  static GgufFile open(const std::string& path);                            // FormatError
  static GgufFile from_bytes(std::string bytes, const std::string& name);  // the same checks in memory

  const std::string& path() const { return path_; }
  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  bool has(const std::string& key) const { return metadata_.count(key) != 0; }
  // FormatError "<file>: metadata key '<key>' is missing".
  const GgufValue& value(const std::string& key) const;
  // The value as a type; FormatError "<file>: metadata key '<key>' is <type>, not <wanted>".
  std::int64_t int_value(const std::string& key) const;
  double float_value(const std::string& key) const;
  std::string string_value(const std::string& key) const;
  std::vector<std::string> strings_value(const std::string& key) const;
  std::vector<double> floats_value(const std::string& key) const;
  std::vector<std::int64_t> ints_value(const std::string& key) const;
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;
  // The tensor as fp32 in ggml order (row after row), dequantized as ggml does; FormatError naming
  // the tensor for a type oacim does not read or a non-finite value in a scale.
  std::vector<float> dequantize(const GgufTensor& t) const;

 private:
  void parse();
  template <class F>
  auto in_file(const std::string& key, F&& read) const -> decltype(read()) {
    try {
      return read();
    } catch (const InvalidArgument& e) {
      throw FormatError(path_, "metadata key '" + key + "' " + e.reason());
    }
  }
  std::string path_;
  std::shared_ptr<const MappedFile> mapping_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
};

// Writes GGUF v3 files (tests, conversions): metadata of the common types, tensors in F32, F16 or
// Q4_0 (quantized as ggml's quantize_row_q4_0_reference does), 32-byte aligned.
class GgufWriter {
 public:
  void set_u32(const std::string& key, std::uint32_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_strings(const std::string& key, const std::vector<std::string>& v);
  void set_f32s(const std::string& key, const std::vector<float>& v);
  void set_i32s(const std::string& key, const std::vector<std::int32_t>& v);
  // `shape` in ggml order (row length first); `values` row after row.
  void add_tensor(const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>& values,
                  GgmlType type);
  // A tensor of any type oacim reads, from its blocks as stored (tests; conversions that keep bits).
  // InvalidArgument when the bytes are not whole blocks of `shape`.
  void add_raw_tensor(const std::string& name, const std::vector<std::int64_t>& shape, GgmlType type, std::string blocks);
  std::string bytes() const;
  void write(const std::string& path) const;  // atomically

 private:
  std::vector<std::pair<std::string, std::string>> kv_;  // key -> type and value bytes
  struct Tensor {
    std::string name;
    std::vector<std::int64_t> shape;
    GgmlType type;
    std::string data;
  };
  std::vector<Tensor> tensors_;
};

// ggml block fields: a little-endian fp16 at `p`, and the 6-bit scale and min of sub-block `j` of
// a Q4_K block's 12 packed scale bytes (ggml's get_scale_min_k4).
float ggml_f16_at(const std::uint8_t* p);
void ggml_q4k_scale_min(int j, const std::uint8_t* scales, int& scale, int& min);

// Dequantization of `blocks` consecutive blocks of `type` from `src` into `dst`
// (blocks x ggml_block(type).weights floats), as ggml's dequantize_row_* does.
void ggml_dequantize(std::uint32_t type, const std::uint8_t* src, std::int64_t blocks, float* dst);

}  // namespace oacim
