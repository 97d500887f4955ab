#include "oacim/model/model_options.hpp"

namespace oacim::model {

const OptionSpec& model_path_spec() {
  static const OptionSpec kSpec =
      option("model_path", OptionKind::Path)
          .cli("model")
          .key("model")
          .required()
          .fixed()
          .doc("float model: llama2.c checkpoint (.bin) or Hugging Face directory (config.json, *.safetensors)");
  return kSpec;
}

const OptionSpec& tokenizer_spec() {
  static const OptionSpec kSpec = option("tokenizer_path", OptionKind::Path)
                                      .cli("tokenizer")
                                      .key("tokenizer")
                                      .fixed()
                                      .doc("tokenizer override: SentencePiece tokenizer.model or llama2.c "
                                           "tokenizer.bin (default: the model's own)");
  return kSpec;
}

const OptionSpec& data_dir_spec() {
  static const OptionSpec kSpec =
      option("data_dir", OptionKind::Path)
          .cli("data-dir")
          .key("data_dir")
          .fixed()
          .doc("folder of the named datasets (wiki.test.raw, ptb.valid.txt, ptb.test.txt, C4 shards); empty: the "
               "bundled tests/data/text, which holds WikiText-2 only");
  return kSpec;
}

}  // namespace oacim::model
