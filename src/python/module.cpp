// The Python module `oacim._oacim` (docs/library.md): the packed weight format, the layer
// quantizers and the bit-accurate datapath, over NumPy arrays; the package `oacim` wraps them into
// torch tensors and the HwLinear module. Arrays are copied in and out (no views into oacim's
// memory outlive a call); errors arrive as ValueError with oacim's message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"
#include "oacim/version.hpp"

namespace py = pybind11;

namespace {

using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A [rows, cols] float32 matrix out of any array-like of that shape.
std::vector<float> matrix(const Floats& a, const char* name, int& rows, int& cols) {
  if (a.ndim() != 2) throw oacim::InvalidArgument(name, "must be a 2-D array [rows, cols]");
  rows = static_cast<int>(a.shape(0));
  cols = static_cast<int>(a.shape(1));
  return std::vector<float>(a.data(), a.data() + a.size());
}

py::array_t<float> to_array(const std::vector<float>& v, std::vector<py::ssize_t> shape) {
  py::array_t<float> out(shape);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

py::dict counters_dict(const oacim::hw::HwCounters& c) {
  py::dict d;
  for (const auto& [name, value] : c.items()) d[py::str(name)] = value;
  return d;
}

// A dtype of the safetensors format as NumPy spells it (BF16 travels as its raw uint16 bits).
py::dtype numpy_dtype(oacim::DType t) {
  switch (t) {
    case oacim::DType::F64: return py::dtype("float64");
    case oacim::DType::F32: return py::dtype("float32");
    case oacim::DType::F16: return py::dtype("float16");
    case oacim::DType::BF16: return py::dtype("uint16");
    case oacim::DType::I64: return py::dtype("int64");
    case oacim::DType::I32: return py::dtype("int32");
    case oacim::DType::I16: return py::dtype("int16");
    case oacim::DType::I8: return py::dtype("int8");
    case oacim::DType::U64: return py::dtype("uint64");
    case oacim::DType::U32: return py::dtype("uint32");
    case oacim::DType::U16: return py::dtype("uint16");
    case oacim::DType::U8: return py::dtype("uint8");
    case oacim::DType::BOOL: return py::dtype("bool");
  }
  return py::dtype("uint8");
}

// The packed layer as the tensors and metadata of its safetensors form (core/packed_io.hpp).
py::tuple to_tensors(const oacim::PackedCimWeights& w) {
  oacim::SafetensorsWriter writer;
  oacim::add_packed(writer, "", w);
  const oacim::SafetensorsFile f = oacim::SafetensorsFile::from_bytes(writer.bytes(), "packed weights");
  py::dict tensors, dtypes;
  for (const std::string& name : f.names()) {
    const oacim::TensorView& t = f.tensor(name);
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
    py::array a(numpy_dtype(t.dtype), shape);
    std::memcpy(a.mutable_data(), t.data, t.nbytes);
    tensors[py::str(name)] = a;
    dtypes[py::str(name)] = oacim::dtype_name(t.dtype);
  }
  return py::make_tuple(tensors, py::cast(f.metadata()), dtypes);
}

oacim::PackedCimWeights from_tensors(const py::dict& tensors, const std::map<std::string, std::string>& metadata,
                                     const std::map<std::string, std::string>& dtypes) {
  oacim::SafetensorsWriter writer;
  for (const auto& [key, value] : tensors) {
    const std::string name = py::cast<std::string>(key);
    const py::array a = py::array::ensure(value, py::array::c_style);
    oacim::DType dtype{};
    const auto it = dtypes.find(name);
    if (it == dtypes.end() || !oacim::dtype_from_name(it->second, &dtype)) {
      throw oacim::InvalidArgument("dtypes", "no safetensors dtype for tensor '" + name + "'");
    }
    std::vector<std::int64_t> shape(a.shape(), a.shape() + a.ndim());
    writer.add(name, dtype, shape, a.data(), static_cast<std::size_t>(a.nbytes()));
  }
  for (const auto& [k, v] : metadata) writer.set_metadata(k, v);
  return oacim::load_packed(oacim::SafetensorsFile::from_bytes(writer.bytes(), "tensors"), "");
}

oacim::PackedCimWeights pack_rtn(const Floats& weight, int bits, int block_size, bool outliers, bool offsets) {
  int rows = 0, cols = 0;
  const std::vector<float> w = matrix(weight, "weight", rows, cols);
  oacim::RtnPackOptions o;
  o.grid.bits = bits;
  o.grid.block_size = block_size;
  o.outliers = outliers;
  o.offsets = offsets;
  o.validate();
  return oacim::pack_rtn(w, rows, cols, o);
}

// One Linear through the project's quantizer: method rtn | gptq | oa, with a Hessian [cols, cols]
// or calibration inputs [tokens, cols] (which make the Hessian as oacim quantize does).
py::tuple quantize_layer(const Floats& weight, py::object hessian, py::object inputs, const std::string& method, int bits,
                         int block_size, bool outliers, bool offsets, double percdamp) {
  int rows = 0, cols = 0;
  std::vector<float> w = matrix(weight, "weight", rows, cols);
  oacim::quant::LayerQuantOptions o;
  o.method = oacim::quant::method_from_string(method, "method");
  o.grid.grid.bits = bits;
  o.grid.grid.block_size = block_size;
  o.outliers = outliers;
  o.offsets = offsets;
  o.percdamp = static_cast<float>(percdamp);
  const at::Tensor wt = at::from_blob(w.data(), {rows, cols}, at::kFloat).clone();
  at::Tensor h;
  if (!hessian.is_none()) {
    int hr = 0, hc = 0;
    std::vector<float> hv = matrix(py::cast<Floats>(hessian), "hessian", hr, hc);
    if (hr != cols || hc != cols) throw oacim::InvalidArgument("hessian", "must be [cols, cols] of the weight");
    h = at::from_blob(hv.data(), {cols, cols}, at::kFloat).clone();
  } else if (!inputs.is_none()) {
    int tokens = 0, ic = 0;
    std::vector<float> xv = matrix(py::cast<Floats>(inputs), "inputs", tokens, ic);
    if (ic != cols) throw oacim::InvalidArgument("inputs", "must be [tokens, cols] of the weight");
    oacim::quant::HessianAccumulator acc(cols);
    acc.add_batch(at::from_blob(xv.data(), {tokens, cols}, at::kFloat));
    h = acc.matrix();
  } else if (o.method != oacim::quant::Method::Rtn) {
    throw oacim::InvalidArgument("hessian", method + " needs a Hessian or calibration inputs");
  } else {
    h = at::zeros({cols, cols});
  }
  const oacim::quant::LayerQuantResult r = oacim::quant::quantize_layer("layer", wt, h, o);
  if (!r.packed) throw oacim::InvalidArgument("method", "these options do not give a packable layer");
  py::dict stats;
  stats["weight_rel_error"] = r.stats.weight_rel_error;
  stats["output_error"] = r.stats.output_error;
  stats["outliers"] = r.stats.outliers;
  stats["ones"] = r.stats.ones;
  stats["ones_before_offsets"] = r.stats.ones_before_offsets;
  stats["stored_bits"] = r.stats.stored_bits;
  return py::make_tuple(*r.packed, stats);
}

class Datapath {
 public:
  Datapath(const oacim::PackedCimWeights& w, const oacim::hw::HwConfig& cfg, const std::string& kernel)
      : dp_(oacim::hw::prepare_layer_weights(w, cfg), cfg,
            oacim::enum_value(oacim::hw::fast_kernel_names(), kernel, "kernel")),
        rows_(w.rows()),
        cols_(w.cols()) {}
  py::tuple forward(const Floats& x, int threads) const {
    int tokens = 0, cols = 0;
    const std::vector<float> xv = matrix(x, "x", tokens, cols);
    if (cols != cols_) throw oacim::InvalidArgument("x", "has " + std::to_string(cols) + " columns, the layer " + std::to_string(cols_));
    oacim::hw::HwLayerResult r;
    {
      py::gil_scoped_release unlocked;
      r = dp_.forward(xv.data(), tokens, threads);
    }
    return py::make_tuple(to_array(r.y, {tokens, rows_}), counters_dict(r.counters));
  }
  std::string kernel() const { return oacim::hw::to_string(dp_.kernel()); }

 private:
  oacim::hw::FastDatapath dp_;
  int rows_, cols_;
};

}  // namespace

PYBIND11_MODULE(_oacim, m) {
  m.doc() = "oacim: the outlier-aware INT4 CIM accelerator's arithmetic (docs/library.md)";
  m.attr("__version__") = oacim::kVersion;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const oacim::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<oacim::PackedCimWeights>(m, "PackedWeights", "a layer in the chip's packed INT4 format")
      .def_property_readonly("rows", &oacim::PackedCimWeights::rows)
      .def_property_readonly("cols", &oacim::PackedCimWeights::cols)
      .def_property_readonly("block_size", [](const oacim::PackedCimWeights& w) { return w.grid().block_size; })
      .def_property_readonly("bits", [](const oacim::PackedCimWeights& w) { return w.grid().bits; })
      .def("outlier_count", &oacim::PackedCimWeights::outlier_count)
      .def("dequantize", [](const oacim::PackedCimWeights& w) { return to_array(w.dequantize(), {w.rows(), w.cols()}); },
           "the weights the chip computes with, [rows, cols] float32")
      .def("to_tensors", &to_tensors, "(tensors, metadata, dtypes) of the safetensors form; BF16 as uint16 bits")
      .def_static("from_tensors", &from_tensors, py::arg("tensors"), py::arg("metadata"), py::arg("dtypes"))
      .def("save", [](const oacim::PackedCimWeights& w, const std::string& path) { oacim::save_packed(path, w); })
      .def_static("load", [](const std::string& path) { return oacim::load_packed(path); });

  m.def("pack_rtn", &pack_rtn, py::arg("weight"), py::arg("bits") = 4, py::arg("block_size") = 32,
        py::arg("outliers") = false, py::arg("offsets") = false, "round-to-nearest into the packed format");
  m.def("quantize_layer", &quantize_layer, py::arg("weight"), py::arg("hessian") = py::none(),
        py::arg("inputs") = py::none(), py::arg("method") = "oa", py::arg("bits") = 4, py::arg("block_size") = 32,
        py::arg("outliers") = false, py::arg("offsets") = false, py::arg("percdamp") = 0.01,
        "(PackedWeights, stats) of one Linear quantized by rtn | gptq | oa");

  py::class_<oacim::hw::HwConfig>(m, "HwConfig", "a hardware configuration (docs/configs.md)")
      .def_static("load", &oacim::hw::load_hw_config, py::arg("path"))
      .def_static("default", &oacim::hw::default_hw_config)
      .def_property_readonly("name", [](const oacim::hw::HwConfig& c) { return c.name; })
      .def("to_yaml", [](const oacim::hw::HwConfig& c) { return oacim::hw::to_yaml(c); });

  py::class_<Datapath>(m, "Datapath", "the bit-accurate datapath of one packed layer")
      .def(py::init<const oacim::PackedCimWeights&, const oacim::hw::HwConfig&, const std::string&>(), py::arg("weights"),
           py::arg("config"), py::arg("kernel") = "auto")
      .def("forward", &Datapath::forward, py::arg("x"), py::arg("threads") = 0,
           "(y [tokens, rows] float32, counters) of x [tokens, cols]")
      .def_property_readonly("kernel", &Datapath::kernel);
}
