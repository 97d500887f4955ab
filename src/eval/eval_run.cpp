#include "oacim/eval/eval_run.hpp"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <iostream>

#include <ATen/core/Tensor.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/model/bpe_tokenizer.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/llama_model.hpp"

namespace fs = std::filesystem;

namespace oacim::eval {

namespace {

// tokenizer.bin or tok<vocab>.bin beside a llama2.c checkpoint.
std::string tokenizer_beside(const std::string& model, int vocab) {
  const fs::path dir = fs::path(model).parent_path();
  for (const std::string& name : {std::string("tokenizer.bin"), fmt::format("tok{}.bin", vocab)}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  throw InvalidArgument("--tokenizer", fmt::format("no tokenizer.bin or tok{}.bin next to {}; give --tokenizer", vocab,
                                                   model));
}

// A loaded model of any supported family, with its tokenizer.
struct LoadedModel {
  std::unique_ptr<model::LlamaModel> llama;
  std::unique_ptr<model::GptModel> gpt;
  std::function<std::vector<int>(const std::string&)> tokenize;
  int max_seq = 0;
  std::vector<model::QuantLinear*> linears;
  at::Tensor forward(const std::vector<int>& ids, model::Backend b) const {
    return llama ? llama->forward(ids, b) : gpt->forward(ids, b);
  }
};

// A directory is a Hugging Face checkpoint (llama: tokenizer.model; opt, gpt2: vocab.json +
// merges.txt); a file a llama2.c one (tokenizer.bin or tok<vocab>.bin beside it). A given
// tokenizer overrides the LLaMA ones: a SentencePiece .model or a llama2.c .bin.
LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path) {
  LoadedModel lm;
  const bool hf = fs::is_directory(model_path);
  std::string type = "llama2c";
  if (hf) {
    const model::HfCheckpoint ck = model::HfCheckpoint::open(model_path);
    type = ck.model_type();
    if (type == "opt" || type == "gpt2") {
      lm.gpt = std::make_unique<model::GptModel>(model::GptModel::from_hf(ck));
    } else {
      lm.llama = std::make_unique<model::LlamaModel>(model::LlamaModel::from_hf(ck));
    }
  } else {
    lm.llama = std::make_unique<model::LlamaModel>(model::LlamaModel::from_llama2c(model::load_llama2c(model_path)));
  }
  const int vocab = lm.llama ? lm.llama->spec().vocab_size : lm.gpt->spec().vocab_size;
  lm.max_seq = lm.llama ? lm.llama->spec().max_seq_len : lm.gpt->spec().max_positions;
  lm.linears = lm.llama ? lm.llama->linears() : lm.gpt->linears();
  int tok_vocab = 0;
  if (lm.gpt) {
    if (!tokenizer_path.empty()) throw InvalidArgument("--tokenizer", "OPT and GPT-2 read vocab.json and merges.txt from their directory");
    auto bpe = std::make_shared<model::BpeTokenizer>(model::BpeTokenizer::load(
        (fs::path(model_path) / "vocab.json").string(), (fs::path(model_path) / "merges.txt").string()));
    tok_vocab = bpe->vocab_size();
    const bool opt = type == "opt";
    lm.tokenize = [bpe, opt](const std::string& text) {
      std::vector<int> ids = bpe->encode(text);
      if (opt) ids.insert(ids.begin(), 2);  // OPT's tokenizer prepends </s> to every call
      return ids;
    };
  } else {
    std::string tok_path = tokenizer_path;
    if (tok_path.empty() && hf) {
      tok_path = (fs::path(model_path) / "tokenizer.model").string();
      if (!fs::exists(tok_path)) {
        throw InvalidArgument("--tokenizer", fmt::format("{} has no tokenizer.model (tokenizer.json is not read yet); "
                                                         "give --tokenizer",
                                                         model_path));
      }
    }
    if (tok_path.empty()) tok_path = tokenizer_beside(model_path, vocab);
    const bool sentencepiece = fs::path(tok_path).extension() == ".model";
    auto tok = std::make_shared<model::Llama2cTokenizer>(sentencepiece ? model::Llama2cTokenizer::load_sentencepiece(tok_path)
                                                                       : model::Llama2cTokenizer::load(tok_path, vocab));
    tok_vocab = tok->vocab_size();
    lm.tokenize = [tok](const std::string& text) { return tok->encode(text, true, false); };
  }
  if (tok_vocab > vocab) {
    throw FormatError(model_path, fmt::format("the tokenizer has {} pieces, more than the model's vocabulary of {}",
                                              tok_vocab, vocab));
  }
  return lm;
}

}  // namespace

EvalResult run_eval(const EvalOptions& o) {
  const model::Backend backend = model::backend_from_string(o.backend, "--backend");
  o.quant.validate();
  if (o.seqlen < 0 || o.max_windows < 0) throw InvalidArgument("--seqlen", "must not be negative");

  LoadedModel lm = load_model(o.model_path, o.tokenizer_path);
  const int seqlen = o.seqlen == 0 ? lm.max_seq : o.seqlen;
  if (seqlen > lm.max_seq) {
    throw InvalidArgument("--seqlen", fmt::format("{} exceeds the model's {} positions", seqlen, lm.max_seq));
  }

  EvalResult res;
  if (backend != model::Backend::Float) {
    OnesCount ones;
    for (model::QuantLinear* lin : lm.linears) {
      const at::Tensor& w = lin->weight();
      const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
      auto packed = std::make_shared<const PackedCimWeights>(
          pack_rtn(wv, lin->out_features(), lin->in_features(), o.quant, nullptr));
      ones += count_ones(*packed);
      res.outlier_count += packed->outlier_count();
      lin->set_packed(packed, backend == model::Backend::Hw ? &o.hw : nullptr);
    }
    res.weight_ones = ones.ones;
    res.weight_bits = ones.stored_bits;
  }

  const std::vector<int> corpus = lm.tokenize(dataset_text(o.dataset, o.data_dir));
  // A redrawn line on a terminal; in a log, a line about every tenth of the run.
  const bool tty = ::isatty(2) != 0;
  const auto progress = [&](int done, int total, double s) {
    if (!o.progress) return;
    if (!tty && done != total && done % std::max(1, total / 10) != 0) return;
    std::cerr << fmt::format("{}eval: window {}/{} ({:.1f} s, ETA {:.0f} s){}", tty ? "\r" : "", done, total, s,
                             s / done * (total - done), tty && done != total ? "   " : "\n")
              << std::flush;
  };
  const PerplexityResult r = perplexity([&](const std::vector<int>& ids) { return lm.forward(ids, backend); }, corpus,
                                        seqlen, o.max_windows, progress);
  res.perplexity = r.ppl;
  res.mean_nll = r.mean_nll;
  res.seqlen = r.seqlen;
  res.windows = r.windows;
  res.tokens = r.tokens;
  res.corpus_tokens = r.corpus_tokens;
  res.seconds = r.seconds;
  res.tokens_per_second = r.tokens_per_second;
  res.window_nll = r.window_nll;
  // Each layer holds its own weight bits once, so summing layers sums those too.
  for (const model::QuantLinear* lin : lm.linears) res.hw_counters += lin->hw_counters();
  return res;
}

LayerCapture capture_layer(const std::string& model_path, const std::string& tokenizer_path,
                           const std::string& text_file, const std::string& layer, int tokens) {
  LoadedModel lm = load_model(model_path, tokenizer_path);
  model::QuantLinear* target = nullptr;
  std::string names;
  for (model::QuantLinear* lin : lm.linears) {
    if (lin->name() == layer) target = lin;
    if (names.size() < 300) names += (names.empty() ? "" : ", ") + lin->name();
  }
  if (!target) throw InvalidArgument("--layer", fmt::format("'{}' is not a Linear of {} (it has: {}, ...)", layer, model_path, names));
  if (tokens <= 0 || tokens > lm.max_seq) {
    throw InvalidArgument("--tokens", fmt::format("{} is outside 1..{} (the model's positions)", tokens, lm.max_seq));
  }
  std::vector<int> ids = lm.tokenize(read_whole_file(text_file));
  if (static_cast<int>(ids.size()) < tokens) {
    throw InvalidArgument("--tokens", fmt::format("{} has only {} tokens", text_file, ids.size()));
  }
  ids.resize(static_cast<std::size_t>(tokens));
  LayerCapture c;
  c.layer = layer;
  c.rows = target->out_features();
  c.cols = target->in_features();
  const at::Tensor& w = target->weight();
  c.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  target->capture_inputs(&c.inputs, tokens);
  lm.forward(ids, model::Backend::Float);
  target->capture_inputs(nullptr, 0);
  c.tokens = static_cast<int>(c.inputs.size() / static_cast<std::size_t>(c.cols));
  return c;
}

}  // namespace oacim::eval
