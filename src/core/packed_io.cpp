#include "oacim/core/packed_io.hpp"

#include <array>
#include <type_traits>

#include <fmt/format.h>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"

namespace oacim {

namespace {

// The scales and the zeros are stored alike: plain F32, or second-level codes with fp16 group
// parameters. Tensor names: "<name>s", or "<name>_codes", "<name>_qq_scale", "<name>_qq_zero".
template <typename Values, typename Codes>
struct StatFields {
  const char* name;
  bool quantized;
  Values& values;
  Codes& codes;
  Values& qq_scale;
  Values& qq_zero;
};

// Works on const parts (writing) and mutable parts (reading).
template <typename Parts>
auto stat_fields(Parts& p) {
  constexpr bool kConst = std::is_const_v<Parts>;
  using Values = std::conditional_t<kConst, const std::vector<float>, std::vector<float>>;
  using Codes = std::conditional_t<kConst, const std::vector<std::uint8_t>, std::vector<std::uint8_t>>;
  using Fields = StatFields<Values, Codes>;
  return std::array<Fields, 2>{
      Fields{"scale", p.qq.quantize_scales(), p.scales, p.scale_codes, p.scale_qq_scale, p.scale_qq_zero},
      Fields{"zero", p.qq.quantize_zeros(), p.zeros, p.zero_codes, p.zero_qq_scale, p.zero_qq_zero}};
}

int metadata_int(const SafetensorsFile& f, const std::string& key, int lo, int hi) {
  const std::string& text = f.metadata_value(key);
  std::size_t pos = 0;
  long value = 0;
  try {
    value = std::stol(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != text.size()) throw FormatError(f.path(), fmt::format("__metadata__ '{}' = '{}' is not an integer", key, text));
  if (value < lo || value > hi) {
    throw FormatError(f.path(), fmt::format("__metadata__ '{}' = {} is outside {}..{}", key, value, lo, hi));
  }
  return static_cast<int>(value);
}

}  // namespace

void add_packed(SafetensorsWriter& w, const std::string& prefix, const PackedCimWeights& weights) {
  const PackedCimParts& p = weights.parts();
  const std::int64_t R = p.rows;
  const std::int64_t C = p.cols;
  const std::int64_t nb = weights.blocks();
  const std::int64_t G = num_groups(p.rows, p.qq.group_size);
  auto meta = [&](const std::string& k, const std::string& v) { w.set_metadata(prefix + k, v); };
  meta("format", kPackedFormatName);
  meta("format_version", std::to_string(p.grid.offsets_in_cell ? kPackedFormatVersionOffsetsInCell
                                        : p.fractional_zeros ? kPackedFormatVersion
                                                             : kPackedFormatVersionIntegerZeros));
  meta("rows", std::to_string(p.rows));
  meta("cols", std::to_string(p.cols));
  meta("bits", std::to_string(p.grid.bits));
  meta("code_kind", to_string(p.grid.kind));
  meta("block_size", std::to_string(p.grid.block_size));
  meta("cell_bits", std::to_string(kCellBits));
  meta("qq_scale_bits", std::to_string(p.qq.scale_bits));
  meta("qq_zero_bits", std::to_string(p.qq.zero_bits));
  meta("qq_zero_sym", p.qq.zero_sym ? "1" : "0");
  meta("qq_group_size", std::to_string(p.qq.group_size));
  meta("offset_sign", to_string(p.offset_sign));
  // Versions 2 and 3 name both flags (a reader of version 2 requires fractional_zeros).
  if (p.fractional_zeros || p.grid.offsets_in_cell) meta("fractional_zeros", p.fractional_zeros ? "1" : "0");
  if (p.grid.offsets_in_cell) meta("offsets_in_cell", "1");
  meta("packing", "packed[r][m]: 16-bit word of columns 4m..4m+3, nibble k = column 4m+k; outlier quads hold BF16");

  w.add(prefix + "packed", DType::U16, {R, C / 4}, weights.packed_words());
  w.add(prefix + "outlier_index", DType::I16, {R, nb}, p.outlier_col);
  w.add(prefix + "offsets", DType::I8, {C}, p.offsets);
  for (const auto& st : stat_fields(p)) {
    const std::string n = prefix + st.name;
    if (st.quantized) {
      w.add(n + "_codes", DType::U8, {R, nb}, st.codes);
      w.add(n + "_qq_scale", DType::F16, {G, nb}, fp16_bits_from_floats(st.qq_scale));
      w.add(n + "_qq_zero", DType::F16, {G, nb}, fp16_bits_from_floats(st.qq_zero));
    } else {
      w.add(n + "s", DType::F32, {R, nb}, st.values);
    }
  }
}

PackedCimWeights load_packed(const SafetensorsFile& f, const std::string& prefix) {
  auto key = [&](const std::string& k) { return prefix + k; };
  if (f.metadata_value(key("format")) != kPackedFormatName) {
    throw FormatError(f.path(), fmt::format("__metadata__ '{}' is '{}', not '{}'", key("format"),
                                            f.metadata_value(key("format")), kPackedFormatName));
  }
  const int version = metadata_int(f, key("format_version"), 1, 1 << 20);
  if (version < kPackedFormatVersionIntegerZeros || version > kPackedFormatVersionOffsetsInCell) {
    throw FormatError(f.path(), fmt::format("format_version {} is not supported (this build reads {} to {})", version,
                                            kPackedFormatVersionIntegerZeros, kPackedFormatVersionOffsetsInCell));
  }
  PackedCimParts p;
  if (version >= 2) p.fractional_zeros = metadata_int(f, key("fractional_zeros"), 0, 1) != 0;
  if (version >= 3) p.grid.offsets_in_cell = metadata_int(f, key("offsets_in_cell"), 0, 1) != 0;
  p.rows = metadata_int(f, key("rows"), 1, 1 << 30);
  p.cols = metadata_int(f, key("cols"), 4, 1 << 30);
  p.grid.bits = metadata_int(f, key("bits"), 2, 8);
  try {
    p.grid.kind = code_kind_from_string(f.metadata_value(key("code_kind")), key("code_kind"));
    p.offset_sign = offset_sign_from_string(f.metadata_value(key("offset_sign")), key("offset_sign"));
  } catch (const InvalidArgument& e) {
    throw FormatError(f.path(), fmt::format("__metadata__ {}", e.what()));
  }
  p.grid.block_size = metadata_int(f, key("block_size"), 4, 1 << 20);
  const int cell_bits = metadata_int(f, key("cell_bits"), 1, 64);
  if (cell_bits != kCellBits) throw FormatError(f.path(), fmt::format("cell_bits {} is not {}", cell_bits, kCellBits));
  p.qq.scale_bits = metadata_int(f, key("qq_scale_bits"), 0, 8);
  p.qq.zero_bits = metadata_int(f, key("qq_zero_bits"), 0, 8);
  p.qq.zero_sym = metadata_int(f, key("qq_zero_sym"), 0, 1) != 0;
  p.qq.group_size = metadata_int(f, key("qq_group_size"), 1, 1 << 30);
  if (p.cols % 4 != 0) throw FormatError(f.path(), fmt::format("cols {} is not a multiple of 4", p.cols));

  const std::int64_t R = p.rows;
  const std::int64_t C = p.cols;
  const std::int64_t nb = num_blocks(p.cols, p.grid.block_size);
  const std::int64_t G = num_groups(p.rows, p.qq.group_size);
  p.outlier_col = f.read<std::int16_t>(key("outlier_index"), DType::I16, {R, nb});
  p.offsets = f.read<std::int8_t>(key("offsets"), DType::I8, {C});
  for (auto& st : stat_fields(p)) {
    const std::string n = prefix + st.name;
    if (st.quantized) {
      st.codes = f.read<std::uint8_t>(n + "_codes", DType::U8, {R, nb});
      st.qq_scale = floats_from_fp16_bits(f.read<std::uint16_t>(n + "_qq_scale", DType::F16, {G, nb}));
      st.qq_zero = floats_from_fp16_bits(f.read<std::uint16_t>(n + "_qq_zero", DType::F16, {G, nb}));
      st.values = dequantize_second_level(st.codes, st.qq_scale, st.qq_zero, p.rows, static_cast<int>(nb),
                                          p.qq.group_size);
    } else {
      st.values = f.read<float>(n + "s", DType::F32, {R, nb});
    }
  }
  const auto words = f.read<std::uint16_t>(key("packed"), DType::U16, {R, C / 4});
  try {
    unpack_words(words, p);
    return PackedCimWeights(std::move(p));
  } catch (const InvariantError& e) {
    throw FormatError(f.path(), fmt::format("layer '{}': {}", prefix, e.what()));
  }
}

void add_packed_view(SafetensorsWriter& w, const std::string& prefix, std::shared_ptr<const SafetensorsFile> file) {
  const auto has_prefix = [&](const std::string& key) { return key.compare(0, prefix.size(), prefix) == 0; };
  if (!file->metadata().count(prefix + "format") || file->metadata_value(prefix + "format") != kPackedFormatName) {
    throw FormatError(file->path(), fmt::format("holds no packed layer '{}'", prefix));
  }
  for (const auto& [key, value] : file->metadata()) {
    if (has_prefix(key)) w.set_metadata(key, value);
  }
  for (const std::string& name : file->names()) {
    if (!has_prefix(name)) continue;
    const TensorView& v = file->tensor(name);
    w.add_view(name, v.dtype, v.shape, v.data, v.nbytes, file);
  }
}

void save_packed(const std::string& path, const PackedCimWeights& weights) {
  SafetensorsWriter w;
  add_packed(w, "", weights);
  w.write(path);
}

PackedCimWeights load_packed(const std::string& path) { return load_packed(SafetensorsFile::open(path), ""); }

}  // namespace oacim
