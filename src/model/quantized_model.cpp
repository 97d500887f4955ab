#include "oacim/model/quantized_model.hpp"

#include <cstring>
#include <filesystem>
#include <memory>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/finite.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/safetensors.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

namespace {
constexpr const char* kFormatKey = "oacim.format";
constexpr const char* kFormat = "oacim-quantized-model/1";
std::string file_in(const std::string& dir) { return (fs::path(dir) / kQuantizedFile).string(); }
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
    w.add_view("tensor." + name, DType::F32, shape, c->data_ptr<float>(), static_cast<std::size_t>(c->numel()) * sizeof(float), c);
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
    const std::vector<float> v = f.read<float>("tensor." + name, DType::F32, shape);
    require_finite(v.data(), v.size(), f.path(), "tensor." + name, shape.size() == 2 ? shape[1] : 0);
    at::Tensor loaded = at::empty(shape, at::kFloat);
    std::memcpy(loaded.data_ptr<float>(), v.data(), v.size() * sizeof(float));
    *t = loaded;
  }
}

}  // namespace oacim::model
