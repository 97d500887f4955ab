#pragma once
// A whole file mapped read-only into memory (or bytes held in memory standing for one), shared by
// the readers that hand out views into their file (safetensors, GGUF). No torch.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace oacim {

class MappedFile {
 public:
  // FormatError naming the file: cannot open, not a regular file, cannot map.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  static std::shared_ptr<const MappedFile> from_bytes(std::string bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::string owned_;  // from_bytes: the bytes themselves (nothing mapped)
  bool mapped_ = false;
};

}  // namespace oacim
