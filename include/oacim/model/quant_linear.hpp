#pragma once
// QuantLinear: the one seam through which every Linear of every decoder runs, so quantizers and
// hardware backends plug in without touching model code (docs/design.md §1). Backends:
//   float      the checkpoint's fp32 weight
//   fakequant  the dequantized PackedCimWeights, fp32 math (what quantization papers report)
//   hw         the bit-accurate CIM datapath (hw::FastDatapath), counters accumulated per layer;
//              an input that requires grad gets the fakequant matmul's gradient (straight-through)
//   systemc    the hw datapath's values, and the input rows handed to a hw::DatapathObserver (the
//              SystemC sampler of eval, which co-simulates them and checks them bit for bit)
// y = x W^T (+ bias), x [..., in] fp32. With a Hadamard incoherence rotation (incoherence.hpp)
// the packed weights are the rotated W~ and every backend but plain float computes
// y = rot_out(rot_in(x) W~^T) + bias: the transforms in fp32 around the macro (dense matrices,
// differentiable, when a gradient is wanted; the fast transform otherwise).
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "oacim/core/incoherence.hpp"
#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/hw/datapath_observer.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_counters.hpp"

namespace oacim::model {

enum class Backend { Float, FakeQuant, Hw, SystemC };
std::string to_string(Backend b);
// Throws InvalidArgument(key, ...) for an unknown name.
Backend backend_from_string(const std::string& text, const std::string& key);

// Makes a Linear's fp32 weight [out, in] on demand (from a memory-mapped checkpoint), so a layer
// need not hold it while it is not used; it may throw the checkpoint's FormatError.
using WeightSource = std::function<at::Tensor()>;

class QuantLinear {
 public:
  QuantLinear(std::string name, at::Tensor weight, std::optional<at::Tensor> bias = std::nullopt);
  // A Linear of `out` x `in` whose weight is made by `source` when first used (and again after
  // release_float_copies()); the made tensor must have that shape.
  QuantLinear(std::string name, WeightSource source, int out, int in, std::optional<at::Tensor> bias = std::nullopt);

  const std::string& name() const { return name_; }
  int in_features() const { return in_; }
  int out_features() const { return out_; }
  // The fp32 weight, made from the source first when the layer has one and does not hold it.
  const at::Tensor& weight() const;

  // The packed form of this layer; enables `fakequant`, and `hw` when a config is given.
  void set_packed(std::shared_ptr<const PackedCimWeights> packed, const hw::HwConfig* hw_config);
  bool has_packed() const { return packed_ != nullptr; }
  // The datapath model the hw backend runs (nullptr without a hardware config).
  // Made again from the packed weights when release_prepared() dropped it.
  const hw::FastDatapath* datapath() const;
  // Back to float weights only (a checkpoint's codes that a quantizer is about to replace).
  void clear_packed();
  // Drops the packed weights (and what is made from them) but keeps the input order and rotation
  // they belong with: a quantizer that has stored them elsewhere.
  void release_packed();
  const PackedCimWeights* packed() const { return packed_.get(); }
  const std::shared_ptr<const PackedCimWeights>& packed_shared() const { return packed_; }

  // Frees the fp32 copies the layer can make again: the weight when it has a source, and the
  // dequantized packed weights (fakequant's matrix); the next use makes them again. What lets a
  // quantizer hold one block in fp32 at a time. Not while another thread runs forward().
  void release_float_copies();
  // Bytes of fp32 weight copies held now (weight, dequantized; not the packed or datapath form).
  std::size_t float_bytes_held() const;
  // Frees the hw datapath's prepared weights (made again from the packed weights and the same
  // hardware config when next used): what block-streamed evaluation holds one block of.
  void release_prepared();
  bool holds_prepared() const;

  // A layer without packed weights runs fp32 under fakequant and hw instead of failing: the
  // classifier (kept in full precision, as the GPTQ protocol does) and layers not yet quantized
  // while a quantizer walks the model.
  void set_float_fallback(bool on) { float_fallback_ = on; }
  bool float_fallback() const { return float_fallback_; }

  at::Tensor forward(const at::Tensor& x, Backend backend) const;
  // A weight [out, in] the float backend uses instead of the checkpoint's, e.g. an autograd
  // function of trainable parameters (DiscQuant's interpolated weights); undefined: none.
  void set_weight_override(at::Tensor w) { override_ = std::move(w); }
  const at::Tensor& weight_override() const { return override_; }
  // Incoherence: from now on the packed weights (and a weight override) live in the rotated
  // space, input observers see rotated inputs. nullptr: none.
  void set_incoherence(std::shared_ptr<const IncoherenceRotation> rotation);
  const IncoherenceRotation* incoherence() const { return rotation_.get(); }
  // GPTQ act-order (desc_act): the packed weights' column j holds input column order[j]; every
  // backend but plain float gathers its inputs into that order, as with a rotation (empty: none;
  // not together with a rotation). clear_packed() drops it.
  void set_input_order(std::vector<std::int32_t> order);
  const std::vector<std::int32_t>& input_order() const { return order_; }
  // What a quantizer quantizes: W~ with a rotation, W's columns in the input order with one, W.
  at::Tensor quantization_weight() const;

  // Records the inputs of later forward calls (rows of [.., in], at most `max_rows` in all) into
  // `sink`; nullptr stops recording. For co-simulating a real layer on real activations.
  void capture_inputs(std::vector<float>* sink, int max_rows);
  // Calls `observer` with the input [..., in] of every later forward call (empty: stop). The
  // quantizers accumulate their Hessians through it.
  void set_input_observer(std::function<void(const at::Tensor&)> observer) { observer_ = std::move(observer); }

  // Where the `systemc` backend hands the rows it computes (nullptr: none; not owned).
  void set_datapath_observer(hw::DatapathObserver* observer) { datapath_observer_ = observer; }

  // Datapath counters summed over every `hw` call since the last reset.
  const hw::HwCounters& hw_counters() const { return counters_; }
  void reset_counters() { counters_ = hw::HwCounters{}; }
  // Continues from running totals kept elsewhere (a resumed evaluation's checkpoint).
  void set_counters(const hw::HwCounters& counters) { counters_ = counters; }

 private:
  std::string name_;
  int out_ = 0, in_ = 0;
  WeightSource source_;     // empty: weight_ is the only copy
  mutable std::mutex made_;  // guards making weight_ and dequantized_ on demand
  mutable at::Tensor weight_;       // [out, in] fp32; undefined while released
  at::Tensor override_;     // float backend's weight when defined
  std::shared_ptr<const IncoherenceRotation> rotation_;
  mutable at::Tensor rot_in_, rot_out_;  // dense [C, C], [R, R], built when a gradient first needs them
  at::Tensor rotate_in(const at::Tensor& x) const;
  at::Tensor to_packed_space(const at::Tensor& x) const;  // rotated or reordered inputs
  std::vector<std::int32_t> order_;
  at::Tensor order_index_;  // order_ as int64 for index_select
  at::Tensor rotate_out(const at::Tensor& y) const;
  // The backend's product in the space the packed weights live in; `bias` may be undefined.
  at::Tensor forward_rotated_space(const at::Tensor& x, Backend backend, const at::Tensor& bias) const;
  std::optional<at::Tensor> bias_;
  std::shared_ptr<const PackedCimWeights> packed_;
  mutable at::Tensor dequantized_;  // [out, in], made from packed_ when first needed
  const at::Tensor& dequantized() const;
  mutable std::unique_ptr<hw::FastDatapath> datapath_;
  std::unique_ptr<hw::HwConfig> hw_config_;  // what datapath_ is made for (null: no hw backend)
  mutable hw::HwCounters counters_;
  std::function<void(const at::Tensor&)> observer_;
  bool float_fallback_ = false;
  hw::DatapathObserver* datapath_observer_ = nullptr;
};

}  // namespace oacim::model
