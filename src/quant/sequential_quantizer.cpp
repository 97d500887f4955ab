#include "oacim/quant/sequential_quantizer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <tuple>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"

namespace oacim::quant {

namespace {

// One Linear's packed weights and statistics as a message from its owner to the other ranks.
std::string result_message(const PackedCimWeights& packed, const LayerQuantStats& stats, bool has_h) {
  SafetensorsWriter w;
  add_packed(w, "", packed);
  w.set_metadata("oacim.stats", to_json(stats, has_h).dump());
  return w.bytes();
}

std::pair<std::shared_ptr<const PackedCimWeights>, LayerQuantStats> read_result_message(std::string bytes,
                                                                                        const std::string& layer) {
  const SafetensorsFile f = SafetensorsFile::from_bytes(std::move(bytes), "result of " + layer + " from its rank");
  auto packed = std::make_shared<const PackedCimWeights>(load_packed(f, ""));
  return {std::move(packed), layer_stats_from_json(nlohmann::json::parse(f.metadata_value("oacim.stats")), f.path())};
}

// The inputs of one Linear in one forward pass, as [tokens, C] fp32 bytes.
std::string tensor_message(const std::vector<at::Tensor>& xs, int cols) {
  std::string out;
  for (const at::Tensor& x : xs) {
    const at::Tensor c = x.reshape({-1, cols}).to(at::kFloat).contiguous();
    out.append(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::size_t>(c.numel()) * sizeof(float));
  }
  return out;
}

// The driver's state on one rank: its windows' hidden states and the Linears' owners.
class BlockwiseQuantizer {
 public:
  BlockwiseQuantizer(model::Decoder& m, const std::vector<std::vector<int>>& windows, const SequentialOptions& o,
                     const LayerProgress& progress)
      : m_(m), windows_(windows), o_(o), progress_(progress), comm_(o.comm ? *o.comm : dist::single_process()),
        needs_h_(uses_hessian(o.layer.method)) {}

  std::vector<LayerQuantStats> run() {
    o_.layer.check_packable();
    if (needs_h_ && windows_.empty()) throw InvalidArgument("nsamples", "GPTQ and OA need calibration windows");
    if (o_.resume_blocks < 0 || o_.resume_blocks > m_.num_blocks()) throw InvalidArgument("resume_blocks", "out of range");
    for (int l = o_.resume_blocks; l < m_.num_blocks(); ++l) total_ += static_cast<int>(m_.block_linears(l).size());
    // Layers not yet quantized run fp32 inside the fake-quant forward passes.
    for (int l = 0; l < m_.num_blocks(); ++l) {
      for (model::QuantLinear* lin : m_.block_linears(l)) lin->set_float_fallback(true);
    }
    if (needs_h_) {
      // Window w lives on rank w % ranks (slot w / ranks): round r is windows r*ranks .. r*ranks+ranks-1.
      at::NoGradGuard no_grad;
      for (std::size_t w = static_cast<std::size_t>(comm_.rank()); w < windows_.size(); w += static_cast<std::size_t>(comm_.size())) {
        inps_.push_back(m_.embed(windows_[w]));
      }
    }
    int new_blocks = 0;
    for (int l = 0; l < m_.num_blocks(); ++l) {
      if (o_.max_new_blocks > 0 && new_blocks == o_.max_new_blocks) break;
      if (l < o_.resume_blocks) {
        skip_resumed_block(l);
        continue;
      }
      const std::size_t first = stats_.size();
      quantize_block(l);
      ++new_blocks;
      if (o_.on_block_done) {
        o_.on_block_done(l, std::vector<LayerQuantStats>(stats_.begin() + static_cast<std::ptrdiff_t>(first), stats_.end()));
      }
      release_block(l);
    }
    for (int l = 0; l < m_.num_blocks(); ++l) {
      for (model::QuantLinear* lin : m_.block_linears(l)) lin->set_float_fallback(false);
    }
    return stats_;
  }

 private:
  void skip_resumed_block(int l) {
    if (o_.load_resumed_block) o_.load_resumed_block(l);
    for (model::QuantLinear* lin : m_.block_linears(l)) {
      if (!lin->has_packed()) throw InvalidArgument(lin->name(), "a resumed block must already hold packed weights");
    }
    if (needs_h_) forward_block(l);
    release_block(l);
  }

  // The block's inputs to the next one are computed: its fp32 copies go, and its packed weights
  // too when the caller stored them.
  void release_block(int l) {
    for (model::QuantLinear* lin : m_.block_linears(l)) {
      lin->release_float_copies();
      if (o_.release_finished_blocks) lin->release_packed();
    }
  }

  void forward_block(int l) {
    at::NoGradGuard no_grad;
    for (at::Tensor& x : inps_) x = m_.block_forward(l, x, model::Backend::FakeQuant);
  }

  // The rank that quantizes the i-th Linear of a block.
  int owner(std::size_t index_in_block) const { return static_cast<int>(index_in_block % static_cast<std::size_t>(comm_.size())); }

  void quantize_block(int l) {
    const std::vector<model::QuantLinear*> linears = m_.block_linears(l);
    const auto index_of = [&](model::QuantLinear* lin) {
      return static_cast<std::size_t>(std::find(linears.begin(), linears.end(), lin) - linears.begin());
    };
    if (!needs_h_) {
      for (model::QuantLinear* lin : linears) finish_linear(lin, owner(index_of(lin)), at::Tensor(), l);
      return;
    }
    const std::vector<std::vector<model::QuantLinear*>> groups =
        o_.true_sequential ? m_.sequential_groups(l) : std::vector<std::vector<model::QuantLinear*>>{linears};
    for (const auto& group : groups) {
      Accumulators acc;
      for (model::QuantLinear* lin : group) {
        if (owner(index_of(lin)) == comm_.rank() && !o_.kept.count(lin->name())) acc[lin] = std::make_shared<HessianAccumulator>(lin->in_features());
      }
      accumulate_hessians(l, group, index_of, acc);
      for (model::QuantLinear* lin : group) {
        const auto it = acc.find(lin);
        at::Tensor h;
        // A Hessian shared by Linears that read one input: each quantizer damps its own copy.
        if (it != acc.end()) h = it->second.use_count() > 1 ? it->second->matrix().clone() : it->second->matrix();
        finish_linear(lin, owner(index_of(lin)), h, l);
      }
    }
    forward_block(l);
  }

  using Accumulators = std::map<model::QuantLinear*, std::shared_ptr<HessianAccumulator>>;

  // On one process, a Linear whose every input in the first pass was the very tensor an earlier
  // Linear of the group read (LLaMA's q, k, v and gate, up; OPT's q, k, v) shares that Linear's
  // accumulator: the same sums of the same numbers, made once. `inputs` holds each Linear's copies
  // of its inputs, one copy per tensor handed (so identical inputs are the same copy). Later passes
  // must repeat the pattern (the decoder's structure).
  void share_identical_inputs(const std::vector<model::QuantLinear*>& group,
                              std::map<model::QuantLinear*, std::vector<at::Tensor>>& inputs, Accumulators& acc,
                              bool first_pass) {
    const auto same = [&](model::QuantLinear* a, model::QuantLinear* b) {
      const std::vector<at::Tensor>& x = inputs[a];
      const std::vector<at::Tensor>& y = inputs[b];
      if (x.empty() || x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!x[i].is_same(y[i])) return false;
      }
      return true;
    };
    for (std::size_t i = 0; i < group.size(); ++i) {
      model::QuantLinear* lin = group[i];
      if (!first_pass) {
        const auto it = leader_.find(lin);
        if (it != leader_.end() && !same(it->second, lin)) {
          throw std::logic_error(lin->name() + ": its input was " + it->second->name() + "'s in the first pass only");
        }
        continue;
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (!leader_.count(group[j]) && same(group[j], lin)) {
          leader_[lin] = group[j];
          acc[lin] = acc.at(group[j]);
          break;
        }
      }
    }
  }

  // Every window's inputs reach each Linear's owner in window order, so its Hessian is the same
  // sum in the same order as on one process.
  template <typename IndexOf>
  void accumulate_hessians(int l, const std::vector<model::QuantLinear*>& all, const IndexOf& index_of, Accumulators& acc) {
    std::vector<model::QuantLinear*> group;  // the Linears to quantize: kept ones need no Hessian
    for (model::QuantLinear* lin : all) {
      if (!o_.kept.count(lin->name())) group.push_back(lin);
    }
    const std::size_t ranks = static_cast<std::size_t>(comm_.size());
    const std::size_t rounds = (windows_.size() + ranks - 1) / ranks;
    leader_.clear();
    for (std::size_t r = 0; r < rounds; ++r) {
      std::map<model::QuantLinear*, std::vector<at::Tensor>> seen;
      if (r < inps_.size()) {
        // (tensor handed, its copy): a tensor handed to several Linears (q, k, v) is copied once.
        std::vector<std::pair<at::Tensor, at::Tensor>> copies;
        for (model::QuantLinear* lin : group) {
          std::vector<at::Tensor>* sink = &seen[lin];
          lin->set_input_observer([sink, &copies](const at::Tensor& x) {
            const auto it = std::find_if(copies.begin(), copies.end(), [&](const auto& c) { return c.first.is_same(x); });
            if (it != copies.end()) {
              sink->push_back(it->second);
              return;
            }
            copies.emplace_back(x, x.detach().clone());
            sink->push_back(copies.back().second);
          });
        }
        m_.block_forward(l, inps_[r], model::Backend::FakeQuant);
        for (model::QuantLinear* lin : group) lin->set_input_observer(nullptr);
      }
      if (!comm_.distributed()) share_identical_inputs(group, seen, acc, r == 0);
      for (model::QuantLinear* lin : group) {
        const int own = owner(index_of(lin));
        if (!comm_.distributed()) {
          if (leader_.count(lin)) continue;  // its leader's accumulator already has these inputs
          for (const at::Tensor& x : seen[lin]) acc[lin]->add_batch(x);
          continue;
        }
        const std::vector<std::string> parts = comm_.gather(tensor_message(seen[lin], lin->in_features()), own);
        for (const std::string& part : parts) {
          if (part.empty()) continue;  // a rank without a window in this round
          const std::int64_t rows = static_cast<std::int64_t>(part.size() / sizeof(float)) / lin->in_features();
          at::Tensor x = at::empty({rows, lin->in_features()}, at::kFloat);
          std::memcpy(x.data_ptr<float>(), part.data(), part.size());
          acc[lin]->add_batch(x);
        }
      }
    }
  }

  // Quantizes `lin` on its owner; every rank receives the packed weights and statistics.
  void finish_linear(model::QuantLinear* lin, int own, const at::Tensor& h, int block) {
    if (const auto kept = o_.kept.find(lin->name()); kept != o_.kept.end()) {
      keep_linear(lin, kept->second, block);
      return;
    }
    std::shared_ptr<const PackedCimWeights> packed;
    LayerQuantStats stats;
    if (own == comm_.rank()) {
      LayerQuantResult r = quantize_layer(lin->name(), lin->quantization_weight(), h, o_.layer);
      packed = r.packed;
      stats = r.stats;
    }
    if (comm_.distributed()) {
      std::string msg = own == comm_.rank() ? result_message(*packed, stats, needs_h_) : std::string();
      comm_.broadcast(msg, own);
      if (own != comm_.rank()) std::tie(packed, stats) = read_result_message(std::move(msg), lin->name());
    }
    lin->set_packed(packed, nullptr);
    lin->release_float_copies();  // the block's inputs run through the packed weights from now on
    stats_.push_back(stats);
    if (progress_ && comm_.root()) progress_(stats_.back(), block, static_cast<int>(stats_.size()), total_);
  }

  // A checkpoint's own codes: the same on every rank, nothing to quantize or send.
  void keep_linear(model::QuantLinear* lin, const SequentialOptions::KeptLinear& k, int block) {
    const auto t0 = std::chrono::steady_clock::now();
    lin->set_packed(k.packed, nullptr);
    lin->set_input_order(k.input_order);
    LayerQuantStats s;
    s.layer = lin->name();
    s.rows = lin->out_features();
    s.cols = lin->in_features();
    fill_storage_stats(s, *k.packed, -1);
    const std::vector<float> deq = k.packed->dequantize();
    fill_weight_error(s, lin->quantization_weight(),
                      at::from_blob(const_cast<float*>(deq.data()), {s.rows, s.cols}, at::kFloat));
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lin->release_float_copies();
    stats_.push_back(s);
    if (progress_ && comm_.root()) progress_(stats_.back(), block, static_cast<int>(stats_.size()), total_);
  }

  model::Decoder& m_;
  const std::vector<std::vector<int>>& windows_;
  const SequentialOptions& o_;
  const LayerProgress& progress_;
  dist::Communicator& comm_;
  const bool needs_h_;
  int total_ = 0;
  std::vector<at::Tensor> inps_;  // this rank's windows, in window order
  std::map<model::QuantLinear*, model::QuantLinear*> leader_;  // the group's Linears that share a Hessian
  std::vector<LayerQuantStats> stats_;
};

}  // namespace

std::vector<LayerQuantStats> quantize_model(model::Decoder& m, const std::vector<std::vector<int>>& windows,
                                            const SequentialOptions& o, const LayerProgress& progress) {
  return BlockwiseQuantizer(m, windows, o, progress).run();
}

}  // namespace oacim::quant
