#include "oacim/quant/quantize_run.hpp"

#include <chrono>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/incoherence.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/data/c4.hpp"
#include "oacim/data/calibration_windows.hpp"
#include "oacim/data/datasets.hpp"
#include "oacim/dist/payload.hpp"
#include "oacim/core/token_file.hpp"
#include "oacim/model/calibration_generator.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"
#include "oacim/quant/distributed_calibration.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/quant/sequential_quantizer.hpp"
#include "oacim/quant/discquant.hpp"

namespace fs = std::filesystem;

namespace oacim::quant {

std::string options_json(const QuantizeRunOptions& o) { return quantize_options_json(o).dump(); }

namespace {

constexpr const char* kCheckpointFormat = "oacim-quantize-checkpoint/1";

// Blocks 0, 1, .. whose Linears all hold packed weights.
int packed_blocks(model::Decoder& dec) {
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (model::QuantLinear* lin : dec.block_linears(l)) {
      if (!lin->has_packed()) return l;
    }
  }
  return dec.num_blocks();
}

std::string checkpoint_file(const fs::path& partial, int block) {
  return (partial / fmt::format("block-{:04d}.safetensors", block)).string();
}

// Gives block `l`'s Linears their packed weights from its checkpoint (checked against the model).
void load_block_checkpoint(const SafetensorsFile& f, int l, model::Decoder& dec, bool keep) {
  for (model::QuantLinear* lin : dec.block_linears(l)) {
    auto packed = std::make_shared<const PackedCimWeights>(load_packed(f, lin->name() + "."));
    if (packed->rows() != lin->out_features() || packed->cols() != lin->in_features()) {
      throw FormatError(f.path(), fmt::format("{}: packed {}x{}, the model's Linear is {}x{}", lin->name(), packed->rows(),
                                              packed->cols(), lin->out_features(), lin->in_features()));
    }
    if (keep) lin->set_packed(std::move(packed), nullptr);
  }
}

// The statistics of blocks 0, 1, .. whose checkpoints exist, every one checked against the model
// (their packed weights are loaded later, one block at a time, by load_block_checkpoint). A
// checkpoint of other options or another model is an error, not a silent restart: the user
// decides whether to delete it.
std::vector<LayerQuantStats> resume_from_checkpoints(const fs::path& partial, model::Decoder& dec, const std::string& opts,
                                                     const std::string& source_model, int* blocks) {
  std::vector<LayerQuantStats> stats;
  *blocks = 0;
  if (!fs::exists(partial)) return stats;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    const std::string file = checkpoint_file(partial, l);
    if (!fs::exists(file)) break;
    const SafetensorsFile f = SafetensorsFile::open(file);
    if (!f.metadata().count("oacim.format") || f.metadata_value("oacim.format") != kCheckpointFormat) {
      throw FormatError(file, "not an oacim quantize checkpoint");
    }
    if (f.metadata_value("oacim.options") != opts || f.metadata_value("oacim.source_model") != source_model) {
      throw InvalidArgument("out", fmt::format("{} holds a partial run of another model or other options; rerun with "
                                                 "those or delete it",
                                                 partial.string()));
    }
    load_block_checkpoint(f, l, dec, false);
    nlohmann::json st;
    try {
      st = nlohmann::json::parse(f.metadata_value("oacim.stats"));
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(file, fmt::format("oacim.stats is not JSON: {}", e.what()));
    }
    for (const auto& j : st) stats.push_back(layer_stats_from_json(j, file));
    *blocks = l + 1;
  }
  return stats;
}

void validate_run_options(const QuantizeRunOptions& o) {
  o.layer.check_packable();
  if (o.out_dir.empty()) throw InvalidArgument("out", "is required");
  if (o.nsamples < 1) throw InvalidArgument("nsamples", fmt::format("{} must be >= 1", o.nsamples));
  if (o.incoherence != "none" && o.incoherence != "hadamard") {
    throw InvalidArgument("incoherence", fmt::format("'{}' is not none or hadamard", o.incoherence));
  }
  if (o.layer.method == Method::DiscQuant) {
    o.discquant.validate();
    if (o.max_blocks != 0) throw InvalidArgument("max_blocks", "DiscQuant trains every block together; it has no block slices");
  }
  if (o.seqlen < 0) throw InvalidArgument("seqlen", "must not be negative");
  if (model::is_quantized_model_dir(o.model_path)) {
    throw InvalidArgument("model_path", fmt::format("{} is already quantized; give its float source model", o.model_path));
  }
}

// The calibration windows of `calib` other than self-generation: a token file, the C4 train shard,
// or a text (a named evaluation split warns).
std::vector<std::vector<int>> calibration_windows_of(const QuantizeRunOptions& o, model::LoadedModel& lm, int seqlen) {
  const model::Decoder& dec = *lm.decoder;
  if (is_token_file(o.calib)) return first_samples(read_token_file(o.calib), o.calib, o.nsamples, seqlen, dec.vocab_size());
  if (o.calib == "c4") {
    const std::string shard = data::find_c4_shard(o.data_dir, data::kC4TrainShard, "calib");
    return data::c4_calibration_windows(data::read_c4_documents(shard), lm.tokenize, o.nsamples, seqlen, o.seed);
  }
  if (o.calib == "wikitext2" || o.calib == "ptb" || o.calib == "ptb-new") {
    if (o.progress) o.progress(fmt::format("warning: calib {} is an evaluation split; perplexity on it is no longer held out", o.calib));
  }
  std::vector<std::vector<int>> windows;
  const std::vector<int> corpus = lm.tokenize(data::dataset_text(o.calib, o.data_dir));
  for (auto& w : data::calibration_windows(corpus, o.nsamples, seqlen, o.seed)) windows.push_back(std::move(w.tokens));
  return windows;
}

// Self-generated windows are decoded by every rank, a share each (distributed_calibration.hpp);
// otherwise rank 0 draws the windows (files, C4) and hands them to the other ranks.
std::vector<std::vector<int>> shared_calibration_windows(const QuantizeRunOptions& o, model::LoadedModel& lm, int seqlen,
                                                         dist::Communicator& comm) {
  if (o.calib == "self") {
    model::CalibrationGenOptions g;
    g.n = o.nsamples;
    g.length = seqlen;
    g.seed = o.seed;
    return first_samples(generate_calibration_on_ranks(lm, g, comm), "self-generated calibration", o.nsamples, seqlen,
                         lm.decoder->vocab_size());
  }
  if (!comm.distributed()) return calibration_windows_of(o, lm, seqlen);
  std::string msg;
  if (comm.root()) {
    std::vector<std::string> parts;
    for (const std::vector<int>& w : calibration_windows_of(o, lm, seqlen)) parts.push_back(dist::to_bytes(w));
    msg = dist::join_parts(parts);
  }
  comm.broadcast(msg, 0);
  std::vector<std::vector<int>> windows;
  for (const std::string& part : dist::split_parts(msg, "calibration windows")) {
    windows.push_back(dist::from_bytes<int>(part, "calibration window"));
  }
  return windows;
}

// Random Hadamard rotations on every block Linear (sides without a Hadamard matrix are named).
void apply_incoherence(const QuantizeRunOptions& o, model::Decoder& dec, QuantizeRunResult& res) {
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (model::QuantLinear* lin : dec.block_linears(l)) {
      auto r = std::make_shared<IncoherenceRotation>(
          make_incoherence(lin->out_features(), lin->in_features(), o.incoherence_seed, lin->name()));
      if (r->rotates_inputs() && r->rotates_outputs()) ++res.rotated_both;
      if (!r->rotates_inputs()) res.unrotated_sides.push_back(fmt::format("{} input ({})", lin->name(), r->cols));
      if (!r->rotates_outputs()) res.unrotated_sides.push_back(fmt::format("{} output ({})", lin->name(), r->rows));
      lin->set_incoherence(std::move(r));
    }
  }
  if (!res.unrotated_sides.empty() && o.progress && (o.comm == nullptr || o.comm->root())) {
    o.progress(fmt::format("warning: incoherence hadamard: no Hadamard matrix for {} side(s), left unrotated: {}",
                           res.unrotated_sides.size(), fmt::join(res.unrotated_sides, ", ")));
  }
}

void write_block_checkpoint(const fs::path& partial, int block, model::Decoder& dec,
                            const std::vector<LayerQuantStats>& block_stats, const std::string& opts,
                            const std::string& source_model, bool has_h) {
  SafetensorsWriter w;
  for (model::QuantLinear* lin : dec.block_linears(block)) add_packed(w, lin->name() + ".", *lin->packed());
  nlohmann::json st = nlohmann::json::array();
  for (const LayerQuantStats& s : block_stats) st.push_back(to_json(s, has_h));
  w.set_metadata("oacim.format", kCheckpointFormat);
  w.set_metadata("oacim.options", opts);
  w.set_metadata("oacim.source_model", source_model);
  w.set_metadata("oacim.block", std::to_string(block));
  w.set_metadata("oacim.stats", st.dump());
  fs::create_directories(partial);
  w.write(checkpoint_file(partial, block));
}

// The packed tensors of a released Linear, from its block's checkpoint (mapped, not copied).
model::StoredPackedTensors stored_block_linears(const fs::path& partial, model::Decoder& dec) {
  auto block_of = std::make_shared<std::map<std::string, int>>();
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (model::QuantLinear* lin : dec.block_linears(l)) (*block_of)[lin->name()] = l;
  }
  auto files = std::make_shared<std::map<int, std::shared_ptr<const SafetensorsFile>>>();
  return [partial, block_of, files](SafetensorsWriter& w, const model::QuantLinear& lin) {
    const int l = block_of->at(lin.name());
    auto& f = (*files)[l];
    if (!f) f = std::make_shared<const SafetensorsFile>(SafetensorsFile::open(checkpoint_file(partial, l)));
    add_packed_view(w, lin.name() + ".", f);
  };
}

// DiscQuant's one optimisation over the whole model, checkpointed in DIR/partial; false when it
// stopped early (stop_after) with its state saved.
bool run_discquant(const QuantizeRunOptions& o, model::Decoder& dec, const std::vector<std::vector<int>>& windows,
                   const fs::path& partial, const std::string& key, QuantizeRunResult& res,
                   std::chrono::steady_clock::time_point t0) {
  DiscQuantOptions dqo = o.discquant;
  dqo.checkpoint_file = (partial / "discquant.safetensors").string();
  dqo.checkpoint_key = key;
  const auto dq_progress = [&](const DiscQuantStep& s, int total) {
    if (!o.progress) return;
    if (s.group < 0) {
      o.progress(fmt::format("quantize: discquant resuming after step {}/{} from {}", s.step + 1, total, dqo.checkpoint_file));
      return;
    }
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.progress(fmt::format("quantize: discquant step {}/{}  lr {:.3g}  KL {:.5f}  fractional x {:.1f} %  ({:.0f} s)", s.step + 1,
                           total, s.lr, s.kl, 100.0 * s.fractional, el));
  };
  DiscQuantResult dq = discquant_model(dec, windows, o.layer, dqo, dq_progress);
  if (!dq.complete) return false;
  res.layers = std::move(dq.layers);
  res.discquant_log = std::move(dq.log);
  res.discquant_delta2 = dq.delta2;
  res.discquant_kl_rtn = dq.kl_rtn;
  res.discquant_kl_final = dq.kl_final;
  return true;
}

// Model totals of the per-layer statistics.
void sum_layers(QuantizeRunResult& res) {
  double bits = 0.0;
  for (const LayerQuantStats& s : res.layers) {
    res.ones += s.ones;
    res.ones_before_offsets += s.ones_before_offsets;
    res.stored_bits += s.stored_bits;
    res.outliers += s.outliers;
    const std::int64_t n = static_cast<std::int64_t>(s.rows) * s.cols;
    res.weights += n;
    bits += s.bits_per_weight * static_cast<double>(n);
  }
  res.bits_per_weight = res.weights ? bits / static_cast<double>(res.weights) : 0.0;
}

}  // namespace

QuantizeRunResult run_quantize(const QuantizeRunOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  validate_run_options(o);
  model::LoadedModel lm = model::load_model(o.model_path, o.tokenizer_path);
  model::Decoder& dec = *lm.decoder;
  // A quantized checkpoint's own codes: kept (keep_file_codes) or requantized from its values;
  // either way they must not run in the calibration passes before their block.
  std::map<std::string, SequentialOptions::KeptLinear> kept;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (model::QuantLinear* lin : dec.block_linears(l)) {
      if (o.keep_file_codes && lin->has_packed()) kept[lin->name()] = {lin->packed_shared(), lin->input_order()};
      lin->clear_packed();
    }
  }
  if (o.keep_file_codes) {
    if (kept.empty()) throw InvalidArgument("keep_file_codes", fmt::format("{} holds no quantized checkpoint codes to keep", o.model_path));
    if (o.layer.method == Method::DiscQuant || o.incoherence != "none") {
      throw InvalidArgument("keep_file_codes", "keeps a checkpoint's codes as they are: not with DiscQuant or incoherence");
    }
  }
  QuantizeRunResult res;
  res.seqlen = o.seqlen == 0 ? dec.max_positions() : o.seqlen;
  if (res.seqlen > dec.max_positions()) {
    throw InvalidArgument("seqlen", fmt::format("{} exceeds the model's {} positions", res.seqlen, dec.max_positions()));
  }
  dist::Communicator& comm = o.comm ? *o.comm : dist::single_process();
  if (comm.distributed() && o.layer.method == Method::DiscQuant) {
    throw InvalidArgument("method", "discquant optimises the whole model in one process; run it without mpirun/srun");
  }
  res.reporting_rank = comm.root();
  std::vector<std::vector<int>> windows;
  if (needs_calibration(o.layer.method)) windows = shared_calibration_windows(o, lm, res.seqlen, comm);
  // Self-generated calibration ran the float model: its weights go back to the mapped checkpoint.
  for (model::QuantLinear* lin : dec.linears()) lin->release_float_copies();
  res.windows = static_cast<int>(windows.size());
  for (const auto& w : windows) res.calib_tokens += static_cast<std::int64_t>(w.size());
  if (o.incoherence == "hadamard") apply_incoherence(o, dec, res);

  // Finished blocks are checkpointed in DIR/partial/ so that a killed run resumes after them.
  const std::string opts = options_json(o);
  const fs::path partial = fs::path(o.out_dir) / "partial";
  SequentialOptions so;
  res.layers = resume_from_checkpoints(partial, dec, opts, lm.source_model, &so.resume_blocks);
  so.load_resumed_block = [&](int l) { load_block_checkpoint(SafetensorsFile::open(checkpoint_file(partial, l)), l, dec, true); };
  so.layer = o.layer;
  so.true_sequential = o.true_sequential;
  so.kept = kept;
  for (int l = 0; l < so.resume_blocks; ++l) {  // checkpoints hold the packed weights, not an act-order
    for (model::QuantLinear* lin : dec.block_linears(l)) {
      if (const auto k = kept.find(lin->name()); k != kept.end()) lin->set_input_order(k->second.input_order);
    }
  }
  so.max_new_blocks = o.max_blocks;
  res.resumed_blocks = so.resume_blocks;
  so.comm = &comm;
  if (so.resume_blocks > 0 && o.progress && comm.root()) {
    o.progress(fmt::format("quantize: resuming after block {}/{} from {}", so.resume_blocks, dec.num_blocks(), partial.string()));
  }
  // A finished block lives in its checkpoint only (the final file is assembled from them), so the
  // run holds one block's weights at a time.
  so.release_finished_blocks = true;
  int blocks_done = so.resume_blocks;
  so.on_block_done = [&](int l, const std::vector<LayerQuantStats>& block_stats) {
    if (comm.root()) write_block_checkpoint(partial, l, dec, block_stats, opts, lm.source_model, uses_hessian(o.layer.method));
    blocks_done = l + 1;
  };
  const auto progress = [&](const LayerQuantStats& s, int block, int done, int total) {
    if (!o.progress || !comm.root()) return;
    o.progress(fmt::format("quantize: [{}/{}] block {} {} {}x{}  out-err {:.3g}  outliers {:.2f} %  ones {:.1f} %  "
                           "{:.2f} s  (ETA {:.0f} s)",
                           done, total, block, s.layer, s.rows, s.cols, s.output_error, 100.0 * s.outlier_share,
                           s.stored_bits ? 100.0 * static_cast<double>(s.ones) / static_cast<double>(s.stored_bits) : 0.0,
                           s.seconds, seconds() / done * (total - done)));
  };
  res.blocks = dec.num_blocks();
  if (o.layer.method == Method::DiscQuant) {
    if (!run_discquant(o, dec, windows, partial, opts + "|" + lm.source_model, res, t0)) {
      res.complete = false;
      res.out_file = partial.string();
      res.seconds = seconds();
      return res;
    }
    blocks_done = packed_blocks(dec);
  } else {
    for (LayerQuantStats& s : quantize_model(dec, windows, so, progress)) res.layers.push_back(std::move(s));
  }
  res.blocks_done = blocks_done;
  if (res.blocks_done < res.blocks) {
    res.complete = false;
    res.out_file = partial.string();
    res.seconds = seconds();
    return res;
  }

  if (!comm.root()) {
    sum_layers(res);
    return res;
  }
  model::QuantizedModelInfo info;
  info.source_model = lm.source_model;
  info.tokenizer_path = lm.tokenizer_path;
  info.options_json = opts;
  model::save_quantized_model(o.out_dir, dec, info, stored_block_linears(partial, dec));
  fs::remove_all(partial);
  res.out_file = (fs::path(o.out_dir) / model::kQuantizedFile).string();
  sum_layers(res);
  res.seconds = seconds();
  return res;
}

}  // namespace oacim::quant
