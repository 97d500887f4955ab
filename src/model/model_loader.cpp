#include "oacim/model/model_loader.hpp"

#include <filesystem>
#include <functional>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/gguf_cells.hpp"
#include "oacim/model/bpe_tokenizer.hpp"
#include "oacim/model/gguf_model.hpp"
#include "oacim/model/gguf_vocabulary.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/llama_model.hpp"
#include "oacim/model/quantized_model.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

namespace {

// tokenizer.bin or tok<vocab>.bin beside a llama2.c checkpoint.
std::string tokenizer_beside(const std::string& model, int vocab) {
  const fs::path dir = fs::path(model).parent_path();
  for (const std::string& name : {std::string("tokenizer.bin"), fmt::format("tok{}.bin", vocab)}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  throw InvalidArgument("tokenizer_path", fmt::format("no tokenizer.bin or tok{}.bin next to {}; give --tokenizer", vocab,
                                                   model));
}

// A LLaMA tokenizer file the user names: a SentencePiece .model, a tokenizer.json or a llama2.c .bin.
Llama2cTokenizer llama_tokenizer_file(const std::string& path, int vocab) {
  const std::string ext = fs::path(path).extension().string();
  return ext == ".model"  ? Llama2cTokenizer::load_sentencepiece(path)
         : ext == ".json" ? Llama2cTokenizer::load_tokenizer_json(path)
                          : Llama2cTokenizer::load(path, vocab);
}

// Every id a tokenizer gives must index the model's embedding.
void check_tokenizer_fits(const std::string& model_path, int tokenizer_vocab, int model_vocab) {
  if (tokenizer_vocab > model_vocab) {
    throw FormatError(model_path, fmt::format("the tokenizer has {} pieces, more than the model's vocabulary of {}",
                                              tokenizer_vocab, model_vocab));
  }
}

// A SentencePiece-style LLaMA tokenizer as the model's: BOS before every text, `stop_ids` end one.
void use_llama_tokenizer(LoadedModel& lm, std::shared_ptr<const Llama2cTokenizer> tok, std::vector<int> stop_ids) {
  lm.tokenize = [tok](const std::string& text) { return tok->encode(text, true, false); };
  lm.token_text = [tok](int id) { return tok->decode(0, id); };
  lm.prefix_ids = {Llama2cTokenizer::kBos};
  lm.special_ids = {0, Llama2cTokenizer::kBos, Llama2cTokenizer::kEos};  // <unk> <s> </s>
  lm.stop_ids = std::move(stop_ids);
}

// The file's 4-bit blocks onto the cells of every block Linear that holds them (the float weight
// stays ggml's dequantized value); quantized types no cell holds are listed for the backends.
// `where` says which tensor rows hold the Linear of a role in a block.
void attach_gguf_cells(const GgufFile& file, LoadedModel& lm, LinearNaming naming,
                       const std::function<GgufLinearRows(int, LinearRole)>& where) {
  Decoder& dec = *lm.decoder;
  const std::vector<LinearRole>& roles = block_roles(naming);
  for (int l = 0; l < dec.num_blocks(); ++l) {
    const std::vector<QuantLinear*> lins = dec.block_linears(l);
    for (std::size_t i = 0; i < lins.size(); ++i) {
      const GgufLinearRows at = where(l, roles[i]);
      const GgufTensor& t = *file.find_tensor(at.tensor);  // the model's loader read it
      if (ggml_type_fits_cell(t.type)) {
        GgufCellMapping m = gguf_to_packed(file, t, at.row_begin, at.rows);
        lins[i]->set_packed(std::make_shared<const PackedCimWeights>(std::move(m.weights)), nullptr);
        ++lm.file_packed_linears;
        lm.file_packed_max_abs_error = std::max(lm.file_packed_max_abs_error, m.max_abs_error);
      } else {
        const auto type = static_cast<GgmlType>(t.type);
        if (type != GgmlType::F32 && type != GgmlType::F16 && type != GgmlType::BF16) {
          lm.unfit_linears.push_back(fmt::format("{} ({})", lins[i]->name(), ggml_type_name(t.type)));
        }
      }
    }
  }
}

// A GPT-2 GGUF file: weights and byte-level BPE tokenizer from the one file.
LoadedModel load_gguf_gpt2(const GgufFile& file, const std::string& model_path, const std::string& tokenizer_path, LoadedModel lm) {
  if (!tokenizer_path.empty()) throw InvalidArgument("tokenizer_path", "a GPT-2 GGUF model reads its tokenizer from the file");
  lm.decoder = std::make_unique<GptModel>(GptModel::from_gguf(file));
  lm.decoder->classifier()->set_float_fallback(true);
  const GgufGpt2Config c = gguf_gpt2_config(file);
  attach_gguf_cells(file, lm, LinearNaming::Gpt2, [&](int l, LinearRole r) { return gguf_gpt2_linear(l, r, c.dim, c.ffn_dim); });
  auto bpe = std::make_shared<BpeTokenizer>(gpt2_tokenizer_from_gguf(file));
  check_tokenizer_fits(model_path, bpe->vocab_size(), c.vocab_size);
  const std::int64_t eos64 = file.has("tokenizer.ggml.eos_token_id") ? file.int_value("tokenizer.ggml.eos_token_id") : 50256;
  if (eos64 < 0 || eos64 >= bpe->vocab_size()) {
    throw FormatError(model_path, fmt::format("metadata key 'tokenizer.ggml.eos_token_id': {} is not a token of the {} in the vocabulary",
                                              eos64, bpe->vocab_size()));
  }
  const int eos = static_cast<int>(eos64);
  lm.tokenize = [bpe](const std::string& text) { return bpe->encode(text); };
  lm.token_text = [bpe](int id) { return bpe->decode({id}); };
  lm.special_ids = {eos};  // <|endoftext|>
  lm.stop_ids = {eos};
  return lm;
}

// A GPTQ checkpoint's codes onto the cells of every block Linear it quantized (exact; the float
// weight is their dequantized value), with act-order's column order.
void attach_gptq_cells(const HfCheckpoint& ck, LoadedModel& lm) {
  Decoder& dec = *lm.decoder;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (QuantLinear* lin : dec.block_linears(l)) {
      if (!ck.is_gptq_linear(lin->name())) continue;
      GptqImport imp = ck.gptq_import(lin->name(), lin->out_features(), lin->in_features());
      lin->set_packed(std::make_shared<const PackedCimWeights>(std::move(imp.weights)), nullptr);
      lin->set_input_order(std::move(imp.input_order));
      ++lm.file_packed_linears;
    }
  }
}

// A LLaMA GGUF file: weights and tokenizer from the one file (a given tokenizer overrides it).
LoadedModel load_gguf(const std::string& model_path, const std::string& tokenizer_path, LoadedModel lm) {
  const GgufFile file = GgufFile::open(model_path);
  if (gguf_architecture(file) == "gpt2") return load_gguf_gpt2(file, model_path, tokenizer_path, std::move(lm));
  const GgufLlama g = gguf_llama(file);
  lm.decoder = std::make_unique<LlamaModel>(LlamaModel::from_llama2c(g.weights, g.norm_eps, g.rope_theta));
  lm.decoder->classifier()->set_float_fallback(true);
  attach_gguf_cells(file, lm, LinearNaming::Llama2c, [](int l, LinearRole r) { return GgufLinearRows{gguf_linear_tensor(l, r), 0, -1}; });
  const int vocab = g.weights.config.vocab_size;
  auto tok = std::make_shared<const Llama2cTokenizer>(tokenizer_path.empty() ? llama_tokenizer_from_gguf(file)
                                                                             : llama_tokenizer_file(tokenizer_path, vocab));
  check_tokenizer_fits(model_path, tok->vocab_size(), vocab);
  use_llama_tokenizer(lm, tok, {Llama2cTokenizer::kEos});
  return lm;
}

}  // namespace

LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path) {
  if (is_quantized_model_dir(model_path)) {
    const QuantizedModelInfo info = read_quantized_info(model_path);
    if (!fs::exists(info.source_model)) {
      throw FormatError((fs::path(model_path) / kQuantizedFile).string(),
                        fmt::format("its source model {} does not exist", info.source_model));
    }
    // The source is a float checkpoint; one that is itself quantized would chain (or cycle) forever.
    if (is_quantized_model_dir(info.source_model)) {
      throw FormatError((fs::path(model_path) / kQuantizedFile).string(),
                        fmt::format("its source model {} is itself a quantized directory, not a float checkpoint",
                                    info.source_model));
    }
    LoadedModel lm = load_model(info.source_model, tokenizer_path.empty() ? info.tokenizer_path : tokenizer_path);
    apply_quantized_model(model_path, *lm.decoder);
    lm.model_path = model_path;
    lm.quantized = true;
    // Every block Linear now holds the directory's packed weights, not the source checkpoint's.
    lm.file_packed_linears = 0;
    lm.file_packed_max_abs_error = 0.0;
    lm.unfit_linears.clear();
    return lm;
  }
  LoadedModel lm;
  lm.model_path = model_path;
  lm.source_model = fs::absolute(model_path).lexically_normal().string();
  lm.tokenizer_path = tokenizer_path.empty() ? "" : fs::absolute(tokenizer_path).lexically_normal().string();
  if (is_gguf_file(model_path)) return load_gguf(model_path, tokenizer_path, std::move(lm));
  const bool hf = fs::is_directory(model_path);
  std::string type = "llama2c";
  if (hf) {
    const HfCheckpoint ck = HfCheckpoint::open(model_path);
    type = ck.model_type();
    if (ck.gptq() && type == "gpt2") {
      throw FormatError(ck.gptq()->source, "GPTQ checkpoints of GPT-2 (Conv1D weights) are not read; LLaMA and OPT ones are");
    }
    if (type == "opt" || type == "gpt2") {
      lm.decoder = std::make_unique<GptModel>(GptModel::from_hf(ck));
    } else {
      lm.decoder = std::make_unique<LlamaModel>(LlamaModel::from_hf(ck));
    }
    if (ck.gptq()) attach_gptq_cells(ck, lm);
  } else {
    lm.decoder = std::make_unique<LlamaModel>(LlamaModel::from_llama2c(load_llama2c(model_path)));
  }
  // The classifier stays in full precision under every backend (the GPTQ protocol).
  lm.decoder->classifier()->set_float_fallback(true);
  const int vocab = lm.decoder->vocab_size();
  int tok_vocab = 0;
  if (type == "opt" || type == "gpt2") {
    if (!tokenizer_path.empty()) throw InvalidArgument("tokenizer_path", "OPT and GPT-2 read their tokenizer (vocab.json + merges.txt, or tokenizer.json) from their directory");
    const fs::path dir(model_path);
    const bool pair = fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt");
    if (!pair && !fs::exists(dir / "tokenizer.json")) {
      throw FormatError(model_path, "has neither vocab.json + merges.txt nor tokenizer.json");
    }
    auto bpe = std::make_shared<BpeTokenizer>(pair ? BpeTokenizer::load((dir / "vocab.json").string(), (dir / "merges.txt").string())
                                                   : BpeTokenizer::load_tokenizer_json((dir / "tokenizer.json").string()));
    tok_vocab = bpe->vocab_size();
    const bool opt = type == "opt";
    lm.tokenize = [bpe, opt](const std::string& text) {
      std::vector<int> ids = bpe->encode(text);
      if (opt) ids.insert(ids.begin(), 2);  // OPT's tokenizer prepends </s> to every call
      return ids;
    };
    lm.token_text = [bpe](int id) { return bpe->decode({id}); };
    if (opt) {
      lm.prefix_ids = {2};
      lm.special_ids = {0, 1, 2, 3};  // <s> <pad> </s> <unk>
      lm.stop_ids = {2};
    } else {
      lm.special_ids = {50256};  // <|endoftext|>
      lm.stop_ids = {50256};
    }
  } else {
    std::string tok_path = tokenizer_path;
    if (tok_path.empty() && hf) {
      for (const char* name : {"tokenizer.model", "tokenizer.json"}) {
        if (tok_path.empty() && fs::exists(fs::path(model_path) / name)) tok_path = (fs::path(model_path) / name).string();
      }
      if (tok_path.empty()) {
        throw InvalidArgument("tokenizer_path", fmt::format("{} has neither tokenizer.model nor tokenizer.json; give --tokenizer",
                                                         model_path));
      }
    }
    if (tok_path.empty()) tok_path = tokenizer_beside(model_path, vocab);
    auto tok = std::make_shared<const Llama2cTokenizer>(llama_tokenizer_file(tok_path, vocab));
    tok_vocab = tok->vocab_size();
    // A llama2.c model ends a story by starting the next one (BOS); HF LLaMA writes EOS.
    use_llama_tokenizer(lm, tok,
                        hf ? std::vector<int>{Llama2cTokenizer::kEos} : std::vector<int>{Llama2cTokenizer::kBos, Llama2cTokenizer::kEos});
  }
  check_tokenizer_fits(model_path, tok_vocab, vocab);
  return lm;
}

}  // namespace oacim::model
