#include "oacim/model/quantized_model.hpp"

#include <cstring>
#include <filesystem>
#include <memory>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/finite.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/safetensors.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

namespace {
constexpr const char* kFormatKey = "oacim.format";
constexpr const char* kFormat = "oacim-quantized-model/1";
std::string file_in(const std::string& dir) { return (fs::path(dir) / kQuantizedFile).string(); }

// The narrowest of F16, BF16 and F32 that holds every value of `v` exactly: a checkpoint's F16 or
// BF16 embedding is stored at its own width, a tweaked norm (fp32 values) as F32.
DType exact_float_dtype(const float* v, std::size_t n) {
  bool f16 = true, bf16 = true;
  for (std::size_t i = 0; i < n && (f16 || bf16); ++i) {
    const std::uint32_t bits = float_bits(v[i]);
    f16 = f16 && float_bits(float_from_fp16_bits(fp16_bits_from_float(v[i]))) == bits;
    bf16 = bf16 && float_bits(Bf16::from_bits(static_cast<std::uint16_t>(bits >> 16)).to_float()) == bits;
  }
  return f16 ? DType::F16 : bf16 ? DType::BF16 : DType::F32;
}
}  // namespace

bool is_quantized_model_dir(const std::string& path) { return fs::is_directory(path) && fs::exists(file_in(path)); }

QuantizedModelInfo read_quantized_info(const std::string& dir) {
  const SafetensorsFile f = SafetensorsFile::open(file_in(dir));
  if (!f.metadata().count(kFormatKey) || f.metadata_value(kFormatKey) != kFormat) {
    throw FormatError(f.path(), fmt::format("not an oacim quantized model (metadata {} is not {})", kFormatKey, kFormat));
  }
  QuantizedModelInfo info;
  info.source_model = f.metadata_value("oacim.source_model");
  info.tokenizer_path = f.metadata_value("oacim.tokenizer");
  info.options_json = f.metadata_value("oacim.options");
  if (f.metadata().count("oacim.tweak")) info.tweak_json = f.metadata_value("oacim.tweak");
  return info;
}

void save_quantized_model(const std::string& dir, Decoder& model, const QuantizedModelInfo& info,
                          const StoredPackedTensors& stored) {
  SafetensorsWriter w;
  w.set_metadata(kFormatKey, kFormat);
  w.set_metadata("oacim.source_model", info.source_model);
  w.set_metadata("oacim.tokenizer", info.tokenizer_path);
  w.set_metadata("oacim.options", info.options_json);
  if (!info.tweak_json.empty()) w.set_metadata("oacim.tweak", info.tweak_json);
  for (int l = 0; l < model.num_blocks(); ++l) {
    for (QuantLinear* lin : model.block_linears(l)) {
      if (lin->packed()) {
        add_packed(w, lin->name() + ".", *lin->packed());
      } else if (stored) {
        stored(w, *lin);
      } else {
        throw InvalidArgument(lin->name(), "is not quantized; nothing to save");
      }
      // Incoherence: the packed weights are the rotated W~; the signs fix the rotation.
      if (const IncoherenceRotation* r = lin->incoherence()) {
        if (r->rotates_inputs()) w.add(lin->name() + ".incoherence.sign_in", DType::I8, {r->cols}, r->sign_in.data(), r->sign_in.size());
        if (r->rotates_outputs()) w.add(lin->name() + ".incoherence.sign_out", DType::I8, {r->rows}, r->sign_out.data(), r->sign_out.size());
      }
      // GPTQ act-order: the packed columns' input order.
      const std::vector<std::int32_t>& order = lin->input_order();
      if (!order.empty()) w.add(lin->name() + ".input_order", DType::I32, {lin->in_features()}, order.data(), order.size() * sizeof(std::int32_t));
    }
  }
  for (const auto& [name, t] : model.named_tensors()) {
    const auto c = std::make_shared<const at::Tensor>(t->to(at::kFloat).contiguous());
    std::vector<std::int64_t> shape(c->sizes().begin(), c->sizes().end());
    const float* v = c->data_ptr<float>();
    const auto n = static_cast<std::size_t>(c->numel());
    const DType dtype = exact_float_dtype(v, n);
    if (dtype == DType::F32) {
      w.add_view("tensor." + name, DType::F32, shape, v, n * sizeof(float), c);
      continue;
    }
    std::vector<std::uint16_t> half(n);
    for (std::size_t i = 0; i < n; ++i) {
      half[i] = dtype == DType::F16 ? fp16_bits_from_float(v[i]) : Bf16::from_float(v[i]).bits();  // exact either way
    }
    w.add("tensor." + name, dtype, shape, half);
  }
  fs::create_directories(dir);
  w.write(file_in(dir));
}

void apply_quantized_model(const std::string& dir, Decoder& model) {
  const SafetensorsFile f = SafetensorsFile::open(file_in(dir));
  for (int l = 0; l < model.num_blocks(); ++l) {
    for (QuantLinear* lin : model.block_linears(l)) {
      auto packed = std::make_shared<const PackedCimWeights>(load_packed(f, lin->name() + "."));
      if (packed->rows() != lin->out_features() || packed->cols() != lin->in_features()) {
        throw FormatError(f.path(), fmt::format("{}: packed {}x{}, the model's Linear is {}x{}", lin->name(), packed->rows(),
                                                packed->cols(), lin->out_features(), lin->in_features()));
      }
      lin->set_packed(std::move(packed), nullptr);
      const std::string in = lin->name() + ".incoherence.sign_in", out = lin->name() + ".incoherence.sign_out";
      if (f.contains(in) || f.contains(out)) {
        auto r = std::make_shared<IncoherenceRotation>();
        r->rows = lin->out_features();
        r->cols = lin->in_features();
        if (f.contains(in)) r->sign_in = f.read<std::int8_t>(in, DType::I8, {r->cols});
        if (f.contains(out)) r->sign_out = f.read<std::int8_t>(out, DType::I8, {r->rows});
        try {
          validate_incoherence(*r, lin->name());
        } catch (const InvalidArgument& e) {
          throw FormatError(f.path(), e.what());
        }
        lin->set_incoherence(std::move(r));
      } else {
        lin->set_incoherence(nullptr);
      }
      try {
        lin->set_input_order(f.contains(lin->name() + ".input_order")
                                 ? f.read<std::int32_t>(lin->name() + ".input_order", DType::I32, {lin->in_features()})
                                 : std::vector<std::int32_t>{});
      } catch (const InvalidArgument& e) {
        throw FormatError(f.path(), e.what());
      }
    }
  }
  for (const auto& [name, t] : model.named_tensors()) {
    std::vector<std::int64_t> shape(t->sizes().begin(), t->sizes().end());
    const TensorView& view = f.tensor("tensor." + name);
    if (view.shape != shape) {
      throw FormatError(f.path(), fmt::format("tensor 'tensor.{}' has shape [{}], the model needs [{}]", name,
                                              fmt::join(view.shape, ", "), fmt::join(shape, ", ")));
    }
    at::Tensor loaded = at::empty(shape, at::kFloat);
    f.read_floats("tensor." + name, loaded.data_ptr<float>());  // F32, F16 or BF16
    require_finite(loaded.data_ptr<float>(), static_cast<std::size_t>(loaded.numel()), f.path(), "tensor." + name,
                   shape.size() == 2 ? shape[1] : 0);
    *t = loaded;
  }
}

}  // namespace oacim::model
