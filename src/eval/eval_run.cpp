#include "oacim/eval/eval_run.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include <ATen/core/Tensor.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fnv1a.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/data/datasets.hpp"
#include "oacim/dist/payload.hpp"
#include "oacim/eval/eval_checkpoint.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/eval/float_reference.hpp"
#include "oacim/eval/streamed_logits.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/eval/task_scoring.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/number_format.hpp"
#include "oacim/model/quantized_model.hpp"

namespace oacim::eval {

namespace {

// InvalidArgument unless every name is a quantized Linear of the model.
void check_systemc_layers(model::Decoder& dec, const std::vector<std::string>& layers, const std::string& model_path) {
  std::string names;
  for (model::QuantLinear* lin : dec.linears()) names += (names.empty() ? "" : ", ") + lin->name();
  for (const std::string& l : layers) {
    bool found = false;
    for (model::QuantLinear* lin : dec.linears()) found = found || (lin->name() == l && lin->has_packed());
    if (!found) {
      throw InvalidArgument("systemc_layers", fmt::format("'{}' is not a quantized Linear of {} (it has: {})", l,
                                                            model_path, names.substr(0, 300)));
    }
  }
}

}  // namespace

WindowShare window_share(int windows, int rank, int ranks) {
  // Contiguous, sizes differing by at most one, the larger ones first: rank 0 always starts at
  // window 0 and holds a window whenever there is one.
  const int q = windows / ranks, rem = windows % ranks;
  const int begin = rank * q + std::min(rank, rem);
  return {begin, begin + q + (rank < rem ? 1 : 0)};
}

void resolve_backend(EvalOptions& o) {
  if (o.backend == "auto") o.backend = model::is_quantized_model_dir(o.model_path) ? "fakequant" : "float";
}

namespace {

// Packs every block Linear for a quantized backend: a quantized directory or checkpoint brings its
// packed weights, a float model is quantized here with RTN; the classifier stays fp32 either way.
// A checkpoint's Linears of a type no cell holds are refused unless requantizing was asked for.
void pack_block_linears(model::LoadedModel& lm, const EvalOptions& o, model::Backend backend, EvalResult& res) {
  model::Decoder& dec = *lm.decoder;
  if (!lm.unfit_linears.empty()) {
    if (o.requantize == "none") {
      throw InvalidArgument("requantize",
                            fmt::format("{}: {} Linears are of a quantized type no 4-bit cell holds ({}{}); requantize them "
                                        "with RTN here, or quantize them with GPTQ or OA keeping the file's other codes (keep_file_codes)",
                                        o.model_path, lm.unfit_linears.size(), lm.unfit_linears.front(),
                                        lm.unfit_linears.size() > 1 ? ", ..." : ""));
    }
    res.requantized_linears = static_cast<int>(lm.unfit_linears.size());
  }
  res.file_packed_linears = lm.file_packed_linears;
  res.file_packed_max_abs_error = lm.file_packed_max_abs_error;
  const bool chip = backend == model::Backend::Hw || backend == model::Backend::SystemC;
  OnesCount ones;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (model::QuantLinear* lin : dec.block_linears(l)) {
      std::shared_ptr<const PackedCimWeights> packed = lin->packed_shared();
      if (packed && chip && !lm.quantized) {  // a checkpoint's own scales and zeros: what the chip's formats keep
        for (const float s : packed->parts().scales) res.file_scales_rounded += hw::round_to(o.hw.scale_format, s) != s;
        for (const float z : packed->parts().zeros) res.file_zeros_rounded += hw::round_to(o.hw.zero_format, z) != z;
        res.file_scales += static_cast<std::int64_t>(packed->parts().scales.size());
      }
      if (!packed) {
        const at::Tensor& w = lin->weight();
        const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
        packed = std::make_shared<const PackedCimWeights>(pack_rtn(wv, lin->out_features(), lin->in_features(), o.quant, nullptr));
      }
      ones += count_ones(*packed);
      res.outlier_count += packed->outlier_count();
      lin->set_packed(packed, backend == model::Backend::Hw || backend == model::Backend::SystemC ? &o.hw : nullptr);
      lin->release_float_copies();  // a checkpoint's weight is made again if a float pass needs it
      if (o.stream_blocks_mib > 0) lin->release_prepared();  // made block by block while streaming
    }
  }
  res.weight_ones = ones.ones;
  res.weight_bits = ones.stored_bits;
}

// A line about every tenth of the run (and the last), to the caller's progress function. Rank 0
// speaks for the job (its share of the windows).
std::function<void(int, int, double)> window_progress(const EvalOptions& o, const dist::Communicator& comm,
                                                      const char* what = "window") {
  if (!o.progress || !comm.root()) return nullptr;
  const std::string of_ranks = comm.distributed() ? fmt::format(" on rank 0 of {}", comm.size()) : "";
  const ProgressFn sink = o.progress;
  return [sink, of_ranks, what](int done, int total, double s) {
    if (done != total && done % std::max(1, total / 10) != 0) return;
    sink(fmt::format("eval: {} {}/{}{} ({:.1f} s, ETA {:.0f} s)", what, done, total, of_ranks, s, s / done * (total - done)));
  };
}

// The systemc backend's sampler of the chosen Linears, on rank 0 only: it evaluates the first
// windows, so it samples the tokens one process does.
std::unique_ptr<sim::LayerSampler> attach_sampler(model::Decoder& dec, const EvalOptions& o, const dist::Communicator& comm) {
  std::vector<std::string> layers = o.systemc_layers;
  if (layers.empty()) {
    for (model::QuantLinear* lin : dec.block_linears(0)) layers.push_back(lin->name());
  }
  check_systemc_layers(dec, layers, o.model_path);
  if (!comm.root()) return nullptr;
  auto sampler = std::make_unique<sim::LayerSampler>(o.hw, layers, o.systemc_tokens);
  for (model::QuantLinear* lin : dec.linears()) lin->set_datapath_observer(sampler.get());
  return sampler;
}

// The float model's distributions on this rank's windows: read from the cache, or to be computed
// (in the evaluation's own pass when it runs the float model itself, else by a float pass here).
struct ReferencePlan {
  std::optional<FloatReference> ref;
  bool build_inline = false;  // the evaluated pass is the float model's: it fills `ref`
  bool computed = false;      // this rank computed its share (the cache entry must be written)
  bool full = false;          // the whole distribution (else the top-k)
  bool partial = false;       // built inline by a resumed run: the resumed windows are missing, no cache entry
  std::string key, path, status;
};

// The token windows of a rank's share, in window order.
std::vector<std::vector<int>> share_windows(const std::vector<int>& corpus, int seqlen, WindowShare mine) {
  std::vector<std::vector<int>> out;
  for (int w = mine.begin; w < mine.end; ++w) {
    out.emplace_back(corpus.begin() + static_cast<std::ptrdiff_t>(w) * seqlen, corpus.begin() + static_cast<std::ptrdiff_t>(w + 1) * seqlen);
  }
  return out;
}

ReferencePlan plan_reference(const EvalOptions& o, model::LoadedModel& lm, model::Backend backend,
                             const std::vector<int>& corpus, int seqlen, int windows, WindowShare mine) {
  ReferencePlan rp;
  const int vocab = lm.decoder->vocab_size();
  const bool full = FloatReference::full_fits(windows, seqlen - 1, vocab, std::int64_t{o.float_reference_full_mib} << 20);
  rp.key = float_reference_key(lm.source_model, corpus, seqlen, windows, full);
  rp.path = (std::filesystem::path(o.float_reference_dir) / (rp.key + ".safetensors")).string();
  rp.full = full;
  std::string why;
  if (auto all = FloatReference::read(rp.path, rp.key, vocab, seqlen - 1, windows, why)) {
    rp.ref = all->slice(mine.begin, mine.end);
    rp.status = "read from the cache";
    return rp;
  }
  rp.status = "computed (" + why + ")";
  rp.computed = true;
  rp.ref.emplace(vocab, seqlen - 1, mine.begin, full);
  rp.build_inline = backend == model::Backend::Float && !lm.quantized;
  if (rp.build_inline) return rp;
  // Another model's float pass: the float source of a quantized (or tweaked) directory.
  model::LoadedModel source = model::load_model(lm.source_model, o.tokenizer_path.empty() ? lm.tokenizer_path : o.tokenizer_path);
  const std::vector<std::vector<int>> mine_windows = share_windows(corpus, seqlen, mine);
  std::unique_ptr<BlockStreamedLogits> streamed;
  if (o.stream_blocks_mib > 0) {
    streamed = std::make_unique<BlockStreamedLogits>(*source.decoder, model::Backend::Float, mine_windows,
                                                     static_cast<std::int64_t>(o.stream_blocks_mib) << 20);
  }
  for (const std::vector<int>& window : mine_windows) {
    rp.ref->append(streamed ? streamed->next(window) : source.decoder->forward(window, model::Backend::Float), window);
  }
  return rp;
}

// When any rank computed its share, rank 0 collects every share (in window order) and writes the
// cache entry; collective over the ranks.
void store_reference(dist::Communicator& comm, const ReferencePlan& rp, const EvalOptions& o, const std::string& source) {
  bool any = rp.computed;
  bool partial = rp.partial;  // a rank's share lacks its resumed windows: no rank writes the entry
  if (comm.distributed()) {
    any = false;
    for (const std::string& flag : comm.all_gather(rp.partial ? "p" : rp.computed ? "1" : "0")) {
      any = any || flag != "0";
      partial = partial || flag == "p";
    }
  }
  if (!any || partial) return;
  FloatReference whole = *rp.ref;
  if (comm.distributed()) {
    const std::vector<std::string> shares = comm.gather(rp.ref->to_bytes(), 0);
    if (!comm.root()) return;
    whole = FloatReference::from_bytes(shares[0]);
    for (std::size_t r = 1; r < shares.size(); ++r) whole.extend(FloatReference::from_bytes(shares[r]));
  }
  whole.write(rp.path, rp.key, {{"oacim.model", source}, {"oacim.dataset", o.dataset}});
}

// Every rank's values concatenated on rank 0 in rank order (window or document order); collective.
void concat_on_root(dist::Communicator& comm, std::vector<double>& values, const char* what) {
  const std::vector<std::string> shares = comm.gather(dist::to_bytes(values), 0);
  if (!comm.root()) return;
  values.clear();
  for (const std::string& s : shares) {
    for (const double v : dist::from_bytes<double>(s, what)) values.push_back(v);
  }
}

// Linears the chip runs (those with packed weights; the others run fp32 and count nothing), in
// model order.
std::vector<model::QuantLinear*> chip_linear_list(model::Decoder& dec) {
  std::vector<model::QuantLinear*> chip;
  for (model::QuantLinear* lin : dec.linears()) {
    if (lin->has_packed()) chip.push_back(lin);
  }
  return chip;
}
int chip_linears(model::Decoder& dec) { return static_cast<int>(chip_linear_list(dec).size()); }

// Every rank's datapath counters summed on rank 0; collective.
void merge_counters_on_root(dist::Communicator& comm, hw::HwCounters& counters) {
  const std::vector<std::string> rank_counters = comm.gather(dist::to_bytes(counters.values()), 0);
  for (std::size_t r = 1; r < rank_counters.size(); ++r) {
    counters.merge_shard(hw::HwCounters::from_values(dist::from_bytes<std::int64_t>(rank_counters[r], "hw counters")));
  }
}

// Each chip Linear's counters by name, every rank's summed on rank 0; collective.
std::vector<std::pair<std::string, hw::HwCounters>> layer_counters(dist::Communicator& comm, model::Decoder& dec) {
  std::vector<std::pair<std::string, hw::HwCounters>> out;
  for (const model::QuantLinear* lin : chip_linear_list(dec)) {
    hw::HwCounters c = lin->hw_counters();
    if (comm.distributed()) merge_counters_on_root(comm, c);
    out.emplace_back(lin->name(), c);
  }
  return out;
}

// Every rank's window losses (in rank order, which is window order), token statistics and
// counters to rank 0. Returns whether this rank holds the whole result.
bool gather_on_root(dist::Communicator& comm, std::vector<double>& nll, TokenStats& stats, hw::HwCounters& counters) {
  if (!comm.distributed()) return true;
  concat_on_root(comm, nll, "window losses");
  const std::vector<std::string> stat_shares = comm.gather(stats.to_bytes(), 0);
  merge_counters_on_root(comm, counters);
  if (!comm.root()) return false;
  stats = TokenStats();
  for (const std::string& s : stat_shares) stats.append(TokenStats::from_bytes(s));
  return true;
}

// This process's checkpoint file: one per rank when ranks share the windows ("" = none).
std::string checkpoint_path(const EvalOptions& o, const dist::Communicator& comm) {
  if (o.checkpoint_file.empty()) return "";
  return comm.distributed() ? fmt::format("{}.rank{}of{}", o.checkpoint_file, comm.rank(), comm.size()) : o.checkpoint_file;
}

// What the finished windows' numbers depend on: every option but where results go and the block
// streaming (the same bits either way), the hardware config, the model's files, the tokens, the
// window share and the float reference compared with.
nlohmann::json checkpoint_key(const EvalOptions& o, const std::vector<int>& corpus, int seqlen, int windows,
                              WindowShare mine, const dist::Communicator& comm, const ReferencePlan& rp) {
  EvalOptions k = o;
  k.checkpoint_file.clear();
  k.token_nll_file.clear();
  k.stream_blocks_mib = 0;
  nlohmann::json options = nlohmann::json::object();
  for (const auto& opt : eval_options()) options[opt.name] = opt.get(k);
  return {{"options", options},
          {"hw", hw::to_yaml(o.hw)},
          {"model", model_files_identity(o.model_path)},  // a model written again since is another run
          {"corpus", {corpus.size(), fmt::format("{:016x}", fnv1a64(corpus.data(), corpus.size() * sizeof(int)))}},
          {"seqlen", seqlen},
          {"windows", windows},
          {"share", {mine.begin, mine.end, comm.rank(), comm.size()}},
          {"float_reference", rp.key}};
}

// The finished windows of a checkpoint back into the run: their losses and token statistics, and
// every chip Linear's running counters after the last of them. Returns the first window still to
// evaluate.
int resume_from(const EvalCheckpoint& c, const std::string& path, model::Decoder& dec, WindowShare mine,
                std::vector<double>& nll, TokenStats& stats) {
  if (c.windows.size() > static_cast<std::size_t>(mine.end - mine.begin)) {
    throw FormatError(path, fmt::format("holds {} windows, more than this run's {}", c.windows.size(), mine.end - mine.begin));
  }
  for (const WindowRecord& w : c.windows) {
    nll.push_back(w.nll);
    try {
      stats.append(TokenStats::from_bytes(w.token_stats));
    } catch (const Error& e) {
      throw FormatError(path, fmt::format("the token statistics of window {}: {}", nll.size() - 1, e.what()));
    }
  }
  if (c.windows.empty()) return mine.begin;
  const std::vector<model::QuantLinear*> chip = chip_linear_list(dec);
  const LayerCounterValues& last = c.windows.back().counters;
  if (last.size() != chip.size()) {
    throw FormatError(path, fmt::format("holds counters of {} Linears, the model runs {} on the chip", last.size(), chip.size()));
  }
  for (std::size_t i = 0; i < chip.size(); ++i) {
    if (last[i].first != chip[i]->name()) {
      throw FormatError(path, fmt::format("Linear {} is '{}' there, '{}' here", i, last[i].first, chip[i]->name()));
    }
    try {
      chip[i]->set_counters(hw::HwCounters::from_values(last[i].second));
    } catch (const Error& e) {
      throw FormatError(path, fmt::format("the counters of '{}': {}", chip[i]->name(), e.what()));
    }
  }
  return mine.begin + static_cast<int>(c.windows.size());
}

// The tokens of `stats` from `from` on (the window just finished).
TokenStats stats_from(const TokenStats& stats, std::size_t from) {
  const auto tail = [from](const auto& v) {
    return std::decay_t<decltype(v)>(v.begin() + static_cast<std::ptrdiff_t>(std::min(from, v.size())), v.end());
  };
  TokenStats t;
  t.nll = tail(stats.nll);
  t.float_nll = tail(stats.float_nll);
  t.kld = tail(stats.kld);
  t.delta_p = tail(stats.delta_p);
  t.top1_agree = tail(stats.top1_agree);
  return t;
}

WindowRecord window_record(double nll, const TokenStats& window_stats, model::Decoder& dec) {
  WindowRecord w;
  w.nll = nll;
  w.token_stats = window_stats.to_bytes();
  for (const model::QuantLinear* lin : chip_linear_list(dec)) w.counters.emplace_back(lin->name(), lin->hw_counters().values());
  return w;
}

// A zero-shot task instead of a dataset: every rank scores a contiguous share of the documents,
// rank 0 gathers their scores in document order (the same numbers as one process).
EvalResult run_task(const EvalOptions& o, model::LoadedModel& lm, model::Backend backend, dist::Communicator& comm,
                    EvalResult res) {
  const data::TaskFile task = data::read_task_file(o.task_file);
  model::Decoder& dec = *lm.decoder;
  const WindowShare mine = window_share(static_cast<int>(task.documents.size()), comm.rank(), comm.size());
  const auto t0 = std::chrono::steady_clock::now();
  const auto progress = window_progress(o, comm, "document");
  std::vector<double> flat;  // per document: continuations, their log-likelihoods, correct, correct_norm
  for (int i = mine.begin; i < mine.end; ++i) {
    const DocumentScore d =
        score_document(task.documents[static_cast<std::size_t>(i)], task.kind,
                       [&](const std::vector<int>& ids) { return dec.forward(ids, backend); }, lm.tokenize, dec.max_positions());
    flat.push_back(static_cast<double>(d.loglikelihood.size()));
    flat.insert(flat.end(), d.loglikelihood.begin(), d.loglikelihood.end());
    flat.push_back(d.correct ? 1.0 : 0.0);
    flat.push_back(d.correct_norm ? 1.0 : 0.0);
    if (progress) progress(i + 1 - mine.begin, mine.end - mine.begin, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  hw::HwCounters counters;
  for (const model::QuantLinear* lin : dec.linears()) counters += lin->hw_counters();
  res.hw_layers = layer_counters(comm, dec);
  if (comm.distributed()) {
    concat_on_root(comm, flat, "task scores");
    merge_counters_on_root(comm, counters);
    if (!comm.root()) {
      res.reporting_rank = false;
      return res;
    }
  }
  std::vector<DocumentScore> scores;
  for (std::size_t at = 0; at < flat.size();) {
    DocumentScore d;
    const auto n = static_cast<std::size_t>(flat[at++]);
    d.loglikelihood.assign(flat.begin() + static_cast<std::ptrdiff_t>(at), flat.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    d.correct = flat[at++] != 0.0;
    d.correct_norm = flat[at++] != 0.0;
    scores.push_back(std::move(d));
  }
  res.task_run = true;
  res.task = summarize_task(task, scores);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.hw_counters = counters;
  res.hw_linears = chip_linears(dec);
  return res;
}

}  // namespace

EvalResult run_eval(const EvalOptions& options) {
  EvalOptions o = options;
  resolve_backend(o);
  const model::Backend backend = model::backend_from_string(o.backend, "backend");
  o.quant.validate();
  if (o.seqlen < 0 || o.max_windows < 0) throw InvalidArgument("seqlen", "must not be negative");
  if (o.task_file.empty() == o.dataset.empty()) {
    throw InvalidArgument("dataset", o.dataset.empty() ? "is required (or --task FILE.jsonl for a zero-shot task)"
                                                         : "and --task are given together: one evaluation at a time");
  }
  if (!o.task_file.empty() && backend == model::Backend::SystemC) {
    throw InvalidArgument("task", "runs on the float, fakequant or hw backend (co-simulation samples perplexity windows)");
  }
  if (!o.task_file.empty() && o.stream_blocks_mib > 0) {
    throw InvalidArgument("stream_blocks_mib", "streams perplexity windows; a task is scored document by document");
  }
  if (!o.task_file.empty() && !o.float_reference_dir.empty()) {
    throw InvalidArgument("float_reference", "compares perplexity windows; a task compares backends by its accuracy");
  }
  if (!o.checkpoint_file.empty() && !o.task_file.empty()) {
    throw InvalidArgument("checkpoint", "keeps perplexity windows; a task is scored document by document");
  }
  if (!o.checkpoint_file.empty() && backend == model::Backend::SystemC) {
    throw InvalidArgument("checkpoint", "the systemc backend co-simulates the first windows' tokens in one run; evaluate "
                                        "without a checkpoint (or on hw, which has the same values)");
  }
  if (!o.task_file.empty() && !o.token_nll_file.empty()) {
    throw InvalidArgument("token_nll", "writes the losses of perplexity windows; a task's JSON holds its per-document scores");
  }
  dist::Communicator& comm = o.comm ? *o.comm : dist::single_process();

  model::LoadedModel lm = model::load_model(o.model_path, o.tokenizer_path);
  model::Decoder& dec = *lm.decoder;
  const int seqlen = o.seqlen == 0 ? dec.max_positions() : o.seqlen;
  if (seqlen > dec.max_positions()) {
    throw InvalidArgument("seqlen", fmt::format("{} exceeds the model's {} positions", seqlen, dec.max_positions()));
  }
  EvalResult res;
  res.quantized_model = lm.quantized;
  res.unquantized_source = lm.quantized && backend == model::Backend::Float;
  if (backend != model::Backend::Float) pack_block_linears(lm, o, backend, res);
  if (!o.task_file.empty()) return run_task(o, lm, backend, comm, std::move(res));

  const std::vector<int> corpus = data::dataset_tokens(o.dataset, o.data_dir, lm.tokenize, seqlen);
  std::unique_ptr<sim::LayerSampler> sampler;
  if (backend == model::Backend::SystemC) sampler = attach_sampler(dec, o, comm);
  const auto t0 = std::chrono::steady_clock::now();
  const int windows = perplexity_windows(corpus.size(), seqlen, o.max_windows);
  const WindowShare mine = window_share(windows, comm.rank(), comm.size());
  ReferencePlan rp;
  if (!o.float_reference_dir.empty()) rp = plan_reference(o, lm, backend, corpus, seqlen, windows, mine);
  TokenStats stats;
  std::vector<double> nll;
  const std::string checkpoint = checkpoint_path(o, comm);
  std::unique_ptr<EvalCheckpointWriter> checkpoint_out;
  int first = mine.begin;  // the first window this run evaluates
  if (!checkpoint.empty()) {
    const nlohmann::json id = checkpoint_key(o, corpus, seqlen, windows, mine, comm, rp);
    const std::optional<EvalCheckpoint> c = read_eval_checkpoint(checkpoint, id);
    if (c) {
      first = resume_from(*c, checkpoint, dec, mine, nll, stats);
      res.resumed_windows = first - mine.begin;
      if (o.progress) o.progress(fmt::format("eval: resumed {} of {} windows from {}", res.resumed_windows, mine.end - mine.begin, checkpoint));
    }
    checkpoint_out = std::make_unique<EvalCheckpointWriter>(checkpoint, id, c ? &*c : nullptr);
    res.checkpoint_file = checkpoint;
  }
  if (rp.build_inline && first > mine.begin) {
    // This pass makes the float reference and no longer sees the resumed windows: it compares the
    // rest and writes no cache entry.
    rp.ref.emplace(dec.vocab_size(), seqlen - 1, first, rp.full);
    rp.partial = true;
    rp.status = "computed for the windows after the checkpoint only, not cached (the run resumed)";
  }
  const WindowObserver per_token = [&](int w, const std::vector<int>& window, const at::Tensor& logits) {
    if (rp.build_inline) rp.ref->append(logits, window);
    if (rp.ref) {
      rp.ref->compare(w, logits, window, stats);
    } else {
      FloatReference::append_token_nll(logits, window, stats);
    }
  };
  std::function<at::Tensor(const std::vector<int>&)> logits = [&](const std::vector<int>& ids) { return dec.forward(ids, backend); };
  std::unique_ptr<BlockStreamedLogits> streamed;
  if (o.stream_blocks_mib > 0) {
    streamed = std::make_unique<BlockStreamedLogits>(dec, backend, share_windows(corpus, seqlen, {first, mine.end}),
                                                     static_cast<std::int64_t>(o.stream_blocks_mib) << 20);
    logits = [&](const std::vector<int>& ids) { return streamed->next(ids); };
  }
  const auto progress = window_progress(o, comm);
  const auto t_run = std::chrono::steady_clock::now();
  for (int w = first; w < mine.end; ++w) {
    const std::size_t tokens_before = stats.nll.size();
    nll.push_back(window_nlls(logits, corpus, seqlen, w, w + 1, nullptr, per_token).front());
    if (checkpoint_out) checkpoint_out->append(window_record(nll.back(), stats_from(stats, tokens_before), dec));
    if (progress) progress(w + 1 - first, mine.end - first, std::chrono::duration<double>(std::chrono::steady_clock::now() - t_run).count());
  }
  std::int64_t resumed_windows = res.resumed_windows;  // every rank's; collective
  if (comm.distributed()) {
    resumed_windows = 0;
    for (const std::string& n : comm.all_gather(std::to_string(res.resumed_windows))) resumed_windows += std::stoll(n);
  }
  if (rp.ref) store_reference(comm, rp, o, lm.source_model);
  hw::HwCounters counters;
  // Each layer holds its own weight bits once, so summing layers sums those too.
  for (const model::QuantLinear* lin : dec.linears()) counters += lin->hw_counters();
  res.hw_layers = layer_counters(comm, dec);
  if (!gather_on_root(comm, nll, stats, counters)) {
    res.reporting_rank = false;
    res.window_nll = std::move(nll);
    res.hw_counters = counters;
    res.hw_linears = chip_linears(dec);
    return res;
  }
  PerplexityResult r = summarize_windows(std::move(nll), seqlen, static_cast<std::int64_t>(corpus.size()));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The tokens this run evaluated (windows read from checkpoints took no time now).
  const std::int64_t run_tokens = r.tokens - resumed_windows * seqlen;
  r.tokens_per_second = r.seconds > 0 && run_tokens > 0 ? static_cast<double>(run_tokens) / r.seconds : 0.0;
  if (!std::isfinite(r.ppl)) {
    throw Error(fmt::format("{} on {}: the perplexity is {} (mean NLL {}): the model computed non-finite logits on "
                            "the {} backend; a sign-off cannot pass on that",
                            o.model_path, o.dataset, r.ppl, r.mean_nll, o.backend));
  }
  res.perplexity = r.ppl;
  res.mean_nll = r.mean_nll;
  res.seqlen = r.seqlen;
  res.windows = r.windows;
  res.tokens = r.tokens;
  res.corpus_tokens = r.corpus_tokens;
  res.seconds = r.seconds;
  res.tokens_per_second = r.tokens_per_second;
  res.window_nll = r.window_nll;
  res.perplexity_se = r.ppl * mean_estimate(stats.nll).se;
  if (rp.ref) {
    res.compared_with_float = true;
    res.vs_float = compare_tokens(stats, rp.ref->basis());
    res.float_reference_file = rp.path;
    res.float_reference_status = rp.status;
  }
  res.token_nll = std::move(stats.nll);
  res.hw_counters = counters;
  res.hw_linears = chip_linears(dec);
  if (sampler) {
    for (model::QuantLinear* lin : dec.linears()) lin->set_datapath_observer(nullptr);
    if (o.progress) o.progress("eval: co-simulating the sampled layers in SystemC");
    res.systemc_checks = sampler->run();
  }
  return res;
}

bool EvalResult::systemc_bit_exact() const {
  if (systemc_checks.empty()) return false;
  for (const auto& c : systemc_checks) {
    if (!c.bit_exact()) return false;
  }
  return true;
}

LayerCapture capture_layer(const std::string& model_path, const std::string& tokenizer_path,
                           const std::string& text_file, const std::string& layer, int tokens) {
  model::LoadedModel lm = model::load_model(model_path, tokenizer_path);
  model::QuantLinear* target = nullptr;
  std::string names;
  for (model::QuantLinear* lin : lm.decoder->linears()) {
    if (lin->name() == layer) target = lin;
    if (names.size() < 300) names += (names.empty() ? "" : ", ") + lin->name();
  }
  if (!target) throw InvalidArgument("layer", fmt::format("'{}' is not a Linear of {} (it has: {}, ...)", layer, model_path, names));
  if (tokens <= 0 || tokens > lm.decoder->max_positions()) {
    throw InvalidArgument("tokens", fmt::format("{} is outside 1..{} (the model's positions)", tokens, lm.decoder->max_positions()));
  }
  std::vector<int> ids = lm.tokenize(read_whole_file(text_file));
  if (static_cast<int>(ids.size()) < tokens) {
    throw InvalidArgument("tokens", fmt::format("{} has only {} tokens", text_file, ids.size()));
  }
  ids.resize(static_cast<std::size_t>(tokens));
  LayerCapture c;
  c.layer = layer;
  c.rows = target->out_features();
  c.cols = target->in_features();
  const at::Tensor& w = target->weight();
  c.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  target->capture_inputs(&c.inputs, tokens);
  lm.decoder->forward(ids, model::Backend::Float);
  target->capture_inputs(nullptr, 0);
  c.tokens = static_cast<int>(c.inputs.size() / static_cast<std::size_t>(c.cols));
  return c;
}

}  // namespace oacim::eval
