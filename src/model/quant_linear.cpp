#include "oacim/model/quant_linear.hpp"

#include <functional>

#include <ATen/core/grad_mode.h>

#include <cstring>

#include <ATen/ops/from_blob.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/gptq_format.hpp"

namespace oacim::model {

std::string to_string(Backend b) {
  switch (b) {
    case Backend::Float: return "float";
    case Backend::FakeQuant: return "fakequant";
    case Backend::Hw: return "hw";
    case Backend::SystemC: return "systemc";
  }
  return "?";
}

Backend backend_from_string(const std::string& text, const std::string& key) {
  if (text == "float") return Backend::Float;
  if (text == "fakequant") return Backend::FakeQuant;
  if (text == "hw") return Backend::Hw;
  if (text == "systemc") return Backend::SystemC;
  throw InvalidArgument(key, fmt::format("'{}' is not one of float, fakequant, hw, systemc", text));
}

namespace {

void check_weight(const at::Tensor& w, const std::string& name) {
  if (w.dim() != 2 || w.scalar_type() != at::kFloat) {
    throw InvalidArgument(name, "a Linear weight must be a 2-d fp32 tensor [out, in]");
  }
}

}  // namespace

QuantLinear::QuantLinear(std::string name, at::Tensor weight, std::optional<at::Tensor> bias)
    : name_(std::move(name)), weight_(std::move(weight)), bias_(std::move(bias)) {
  check_weight(weight_, name_);
  weight_ = weight_.contiguous();
  out_ = static_cast<int>(weight_.size(0));
  in_ = static_cast<int>(weight_.size(1));
}

QuantLinear::QuantLinear(std::string name, WeightSource source, int out, int in, std::optional<at::Tensor> bias)
    : name_(std::move(name)), out_(out), in_(in), source_(std::move(source)), bias_(std::move(bias)) {
  if (!source_ || out < 1 || in < 1) throw InvalidArgument(name_, "a lazily made Linear needs a source and a positive shape");
}

const at::Tensor& QuantLinear::weight() const {
  const std::lock_guard<std::mutex> lock(made_);
  if (!weight_.defined()) {
    at::Tensor w = source_();
    check_weight(w, name_);
    if (w.size(0) != out_ || w.size(1) != in_) {
      throw InvalidArgument(name_, fmt::format("its weight source made [{}, {}], the layer is [{}, {}]", w.size(0), w.size(1),
                                               out_, in_));
    }
    weight_ = w.contiguous();
  }
  return weight_;
}

const at::Tensor& QuantLinear::dequantized() const {
  const std::lock_guard<std::mutex> lock(made_);
  if (!dequantized_.defined()) {
    if (!packed_) throw InvalidArgument(name_, "has no quantized weights to dequantize");
    const std::vector<float> deq = packed_->dequantize();
    dequantized_ = at::from_blob(const_cast<float*>(deq.data()), {out_, in_}, at::kFloat).clone();
  }
  return dequantized_;
}

void QuantLinear::release_float_copies() {
  const std::lock_guard<std::mutex> lock(made_);
  if (source_) weight_ = at::Tensor();
  dequantized_ = at::Tensor();
}

std::size_t QuantLinear::float_bytes_held() const {
  const std::lock_guard<std::mutex> lock(made_);
  std::size_t n = 0;
  for (const at::Tensor* t : {&weight_, &dequantized_}) {
    if (t->defined()) n += static_cast<std::size_t>(t->numel()) * sizeof(float);
  }
  return n;
}

void QuantLinear::set_packed(std::shared_ptr<const PackedCimWeights> packed, const hw::HwConfig* hw_config) {
  if (packed->rows() != out_features() || packed->cols() != in_features()) {
    throw InvalidArgument(name_, fmt::format("packed weights are {}x{}, the layer is {}x{}", packed->rows(),
                                             packed->cols(), out_features(), in_features()));
  }
  packed_ = std::move(packed);
  {
    const std::lock_guard<std::mutex> lock(made_);
    dequantized_ = at::Tensor();  // made from the new packed weights when fakequant first needs it
  }
  datapath_.reset();
  hw_config_.reset();
  if (hw_config) {
    // Made now, so a packed layer the config cannot map is refused here, not in the first pass.
    datapath_ = std::make_unique<hw::FastDatapath>(hw::prepare_layer_weights(*packed_, *hw_config), *hw_config);
    hw_config_ = std::make_unique<hw::HwConfig>(*hw_config);
  }
}

const hw::FastDatapath* QuantLinear::datapath() const {
  const std::lock_guard<std::mutex> lock(made_);
  if (!datapath_ && hw_config_ && packed_) {
    datapath_ = std::make_unique<hw::FastDatapath>(hw::prepare_layer_weights(*packed_, *hw_config_), *hw_config_);
  }
  return datapath_.get();
}

void QuantLinear::release_prepared() {
  const std::lock_guard<std::mutex> lock(made_);
  if (hw_config_) datapath_.reset();
}

bool QuantLinear::holds_prepared() const {
  const std::lock_guard<std::mutex> lock(made_);
  return datapath_ != nullptr;
}

void QuantLinear::clear_packed() {
  set_input_order({});
  release_packed();
}

void QuantLinear::release_packed() {
  packed_.reset();
  {
    const std::lock_guard<std::mutex> lock(made_);
    dequantized_ = at::Tensor();
  }
  datapath_.reset();
  hw_config_.reset();
}

void QuantLinear::capture_inputs(std::vector<float>* sink, int max_rows) {
  if (!sink) {
    observer_ = nullptr;
    return;
  }
  const int in = in_features();
  observer_ = [sink, max_rows, in](const at::Tensor& x) {
    const at::Tensor rows = x.reshape({-1, in}).contiguous();
    const auto have = static_cast<std::int64_t>(sink->size()) / in;
    const std::int64_t take = std::min<std::int64_t>(rows.size(0), max_rows - have);
    if (take > 0) sink->insert(sink->end(), rows.data_ptr<float>(), rows.data_ptr<float>() + take * in);
  };
}

void QuantLinear::set_incoherence(std::shared_ptr<const IncoherenceRotation> rotation) {
  if (rotation && (rotation->rows != out_features() || rotation->cols != in_features())) {
    throw InvalidArgument(name_, fmt::format("the rotation is {}x{}, the layer {}x{}", rotation->rows, rotation->cols,
                                             out_features(), in_features()));
  }
  if (rotation && rotation->rotates() && !order_.empty()) throw InvalidArgument(name_, "an incoherence rotation and an input order together");
  rotation_ = rotation && rotation->rotates() ? std::move(rotation) : nullptr;
  rot_in_ = at::Tensor();
  rot_out_ = at::Tensor();
}

void QuantLinear::set_input_order(std::vector<std::int32_t> order) {
  if (!order.empty()) {
    if (!is_column_order(order, in_features())) {
      throw InvalidArgument(name_, fmt::format("the input order is not a permutation of its {} columns", in_features()));
    }
    if (rotation_) throw InvalidArgument(name_, "an input order and an incoherence rotation together");
  }
  order_ = std::move(order);
  order_index_ = order_.empty() ? at::Tensor()
                                : at::from_blob(order_.data(), {static_cast<std::int64_t>(order_.size())}, at::kInt).to(at::kLong);
}

at::Tensor QuantLinear::to_packed_space(const at::Tensor& x) const {
  if (rotation_) return rotate_in(x);
  return order_.empty() ? x : x.index_select(-1, order_index_);
}

at::Tensor QuantLinear::quantization_weight() const {
  const at::Tensor& w = weight();
  if (!order_.empty()) return w.index_select(1, order_index_);
  if (!rotation_) return w;
  const std::vector<float> wt = rotate_weight(*rotation_, w.data_ptr<float>());
  return at::from_blob(const_cast<float*>(wt.data()), w.sizes(), at::kFloat).clone();
}

namespace {

// The fast transform on a detached copy of the rows of `x` [..., n].
at::Tensor transform_rows(const at::Tensor& x, int n, const std::function<void(float*, int)>& f) {
  at::Tensor rows = x.detach().reshape({-1, n}).contiguous().clone();
  f(rows.data_ptr<float>(), static_cast<int>(rows.size(0)));
  return rows.reshape(x.sizes());
}

bool wants_grad(const at::Tensor& a, const at::Tensor& b) {
  return at::GradMode::is_enabled() && (a.requires_grad() || (b.defined() && b.requires_grad()));
}

// One side of a rotation on the rows of `t` [..., n]: the dense matrix (built once, cached in
// `dense`) when autograd needs the map, the fast transform otherwise.
at::Tensor rotate_rows(const at::Tensor& t, int n, bool grad, at::Tensor& dense,
                       const std::function<std::vector<float>()>& matrix, const std::function<void(float*, int)>& fast) {
  if (grad) {
    if (!dense.defined()) {
      const std::vector<float> m = matrix();
      dense = at::from_blob(const_cast<float*>(m.data()), {n, n}, at::kFloat).clone();
    }
    return at::matmul(t, dense);
  }
  return transform_rows(t, n, fast);
}

}  // namespace

at::Tensor QuantLinear::rotate_in(const at::Tensor& x) const {
  if (!rotation_->rotates_inputs()) return x;
  return rotate_rows(
      x, in_features(), wants_grad(x, override_), rot_in_, [&] { return input_rotation_matrix(*rotation_); },
      [&](float* p, int n) { rotate_inputs(*rotation_, p, n); });
}

at::Tensor QuantLinear::rotate_out(const at::Tensor& y) const {
  if (!rotation_->rotates_outputs()) return y;
  return rotate_rows(
      y, out_features(), wants_grad(y, override_), rot_out_, [&] { return output_rotation_matrix(*rotation_); },
      [&](float* p, int n) { unrotate_outputs(*rotation_, p, n); });
}

at::Tensor QuantLinear::forward(const at::Tensor& x, Backend backend) const {
  if (backend != Backend::Float && !packed_ && float_fallback_) backend = Backend::Float;
  const bool transformed = rotation_ || !order_.empty();
  if (!transformed || (backend == Backend::Float && !override_.defined())) {
    if (observer_) observer_(transformed ? to_packed_space(x) : x);
    return forward_rotated_space(x, backend, bias_ ? *bias_ : at::Tensor());
  }
  const at::Tensor xt = to_packed_space(x);
  if (observer_) observer_(xt);
  if (!rotation_) return forward_rotated_space(xt, backend, bias_ ? *bias_ : at::Tensor());
  at::Tensor y = rotate_out(forward_rotated_space(xt, backend, at::Tensor()));
  return bias_ ? y.add(*bias_) : y;
}

at::Tensor QuantLinear::forward_rotated_space(const at::Tensor& x, Backend backend, const at::Tensor& bias) const {
  switch (backend) {
    case Backend::Float: return at::linear(x, override_.defined() ? override_ : weight(), bias);
    case Backend::FakeQuant:
      if (!packed_) throw InvalidArgument(name_, "the fakequant backend needs quantized weights");
      return at::linear(x, dequantized(), bias);
    case Backend::Hw:
    case Backend::SystemC: {
      const hw::FastDatapath* dp = datapath();
      if (!dp) throw InvalidArgument(name_, "the hw backend needs quantized weights and a hardware config");
      const at::Tensor x2 = x.reshape({-1, in_features()}).contiguous();
      const int tokens = static_cast<int>(x2.size(0));
      if (backend == Backend::SystemC && datapath_observer_ && datapath_observer_->wants(name_)) {
        datapath_observer_->record(name_, packed_, x2.data_ptr<float>(), tokens);
      }
      hw::HwLayerResult r = dp->forward(x2.data_ptr<float>(), tokens);
      counters_ += r.counters;
      counters_.weight_ones = r.counters.weight_ones;
      counters_.weight_bits = r.counters.weight_bits;
      std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
      shape.back() = out_features();
      at::Tensor y = at::from_blob(r.y.data(), {tokens, out_features()}, at::kFloat).clone().reshape(shape);
      // The chip has no bias path; a bias (OPT, GPT-2) is added after the datapath in fp32.
      if (bias.defined()) y = y.add(bias);
      // Straight-through gradient for training through the chip (norm tweaking): the value is the
      // datapath's exactly (z - z == 0), the gradient that of the fakequant matmul.
      if (x.requires_grad()) {
        const at::Tensor z = at::linear(x, dequantized(), bias);
        y = y.add(z.sub(z.detach()));
      }
      return y;
    }
  }
  return {};
}

}  // namespace oacim::model
