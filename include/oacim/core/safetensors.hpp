#pragma once
// Safetensors reading and writing (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__},
// then the raw little-endian tensor bytes. Files are memory-mapped for reading and fully
// validated on open: every defect (truncation, a header length beyond the file, bad JSON, unknown
// dtypes, sizes that disagree with shapes, offsets out of range, overlapping or leaving holes)
// raises FormatError naming the file and, where there is one, the tensor. Writes are atomic
// (temporary file + rename), so a crash never leaves a half-written file under the final name.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace oacim {

class MappedFile;

// The largest JSON header a safetensors file may have (the format's reference limit).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100000000;

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

std::size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);                                  // "F32", ...
bool dtype_from_name(const std::string& name, DType* out);

// A tensor inside an open file; `data` points into the mapping and lives as long as the file.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data = nullptr;
  std::size_t nbytes = 0;

  std::int64_t numel() const;
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);  // throws FormatError
  // The same checks over bytes in memory (a message between ranks); `name` stands for the path in errors.
  static SafetensorsFile from_bytes(std::string bytes, const std::string& name);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws FormatError "<file>: tensor '<name>' is missing" when absent.
  const TensorView& tensor(const std::string& name) const;
  // The metadata value, or FormatError naming the key.
  const std::string& metadata_value(const std::string& key) const;

  // Copies a tensor out after checking its dtype and shape (FormatError otherwise).
  template <typename T>
  std::vector<T> read(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape) const;
  // A floating tensor (F32, F16 or BF16) converted to fp32 into `dst` (numel floats); FormatError
  // naming the file and tensor for another dtype. The caller checks the shape.
  void read_floats(const std::string& name, float* dst) const;

 private:
  void parse();  // header and tensor table of mapping_, every bound checked
  std::string path_;
  std::shared_ptr<const MappedFile> mapping_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> tensors_;
};

class SafetensorsWriter {
 public:
  // Copies the bytes; `nbytes` must equal numel(shape) * dtype_size(dtype).
  void add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, const void* data,
           std::size_t nbytes);
  // As add() without the copy: the writer reads `data` when it writes, and holds `keep_alive` (the
  // mapping or tensor that owns it) until then. How a large file is assembled from mapped parts.
  void add_view(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, const void* data,
                std::size_t nbytes, std::shared_ptr<const void> keep_alive);
  template <typename T>
  void add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, const std::vector<T>& values) {
    add(name, dtype, shape, values.data(), values.size() * sizeof(T));
  }
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // Writes `path` atomically, streaming each tensor's bytes (no copy of the whole file in memory);
  // throws FormatError on I/O failure.
  void write(const std::string& path) const;
  // The file's bytes.
  std::string bytes() const;

 private:
  struct Entry {
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;           // an owned copy, or
    const std::uint8_t* view = nullptr;        // bytes owned by keep_alive
    std::size_t view_bytes = 0;
    std::shared_ptr<const void> keep_alive;
    const std::uint8_t* data() const { return view ? view : bytes.data(); }
    std::size_t size() const { return view ? view_bytes : bytes.size(); }
  };
  void check_entry(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, std::size_t nbytes) const;
  std::string header() const;  // length prefix + JSON, padded to 8 bytes
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
void write_file_atomically(const std::string& path, const std::string& bytes);
// The same with the content written by `body` to the temporary file's stream.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& body);

}  // namespace oacim
