// Block-streamed evaluation (eval/streamed_logits.hpp): the logits of every window are those of
// Decoder::forward bit for bit on every backend, whatever the chunk size, the hw counters the
// same, and between windows no block holds made weights (fp32 copies, datapath panels).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "oacim/core/rtn_packer.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/eval/streamed_logits.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/model/model_loader.hpp"
#include "../support/random_llama.hpp"

namespace fs = std::filesystem;

namespace oacim::eval {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

const std::string& random_llama() { return test::cached_random_llama("oacim_streamed_eval_llama", 4); }

std::vector<std::int64_t> total_counters(model::Decoder& dec) {
  hw::HwCounters c;
  for (model::QuantLinear* lin : dec.linears()) c += lin->hw_counters();
  return c.values();
}

TEST(StreamedEval, ChunksGiveForwardsLogitsAndHoldNoBlockBetweenWindows) {
  model::LoadedModel lm = model::load_model(random_llama());
  model::Decoder& dec = *lm.decoder;
  const hw::HwConfig cfg = hw::default_hw_config();
  RtnPackOptions rtn;
  rtn.outliers = true;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (model::QuantLinear* lin : dec.block_linears(l)) {
      const at::Tensor& w = lin->weight();
      const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
      lin->set_packed(std::make_shared<const PackedCimWeights>(pack_rtn(wv, lin->out_features(), lin->in_features(), rtn)), &cfg);
    }
  }
  std::vector<std::vector<int>> windows;
  for (int w = 0; w < 5; ++w) {
    std::vector<int> t(40);
    for (int i = 0; i < 40; ++i) t[static_cast<std::size_t>(i)] = 3 + (w * 977 + i * 131) % 31000;
    windows.push_back(t);
  }
  const std::int64_t per_window = 40 * 64 * 4;
  for (const model::Backend b : {model::Backend::Float, model::Backend::FakeQuant, model::Backend::Hw}) {
    std::vector<at::Tensor> want;
    for (model::QuantLinear* lin : dec.linears()) lin->reset_counters();
    for (const auto& w : windows) want.push_back(dec.forward(w, b));
    const std::vector<std::int64_t> want_counters = total_counters(dec);
    for (const std::int64_t chunk : {per_window, 2 * per_window + 1, 64 * per_window}) {
      for (model::QuantLinear* lin : dec.linears()) {
        lin->release_float_copies();
        lin->release_prepared();
        lin->reset_counters();
      }
      BlockStreamedLogits streamed(dec, b, windows, chunk);
      for (std::size_t w = 0; w < windows.size(); ++w) {
        EXPECT_TRUE(at::equal(streamed.next(windows[w]), want[w])) << model::to_string(b) << " window " << w << " chunk " << chunk;
        for (int l = 0; l < dec.num_blocks(); ++l) {
          for (model::QuantLinear* lin : dec.block_linears(l)) {
            EXPECT_EQ(lin->float_bytes_held(), 0u) << lin->name();
            EXPECT_FALSE(lin->holds_prepared()) << lin->name();
          }
        }
      }
      EXPECT_EQ(streamed.chunks(), chunk == per_window ? 5 : chunk == 2 * per_window + 1 ? 3 : 1);
      EXPECT_EQ(total_counters(dec), want_counters) << model::to_string(b);
      EXPECT_THROW(streamed.next(windows[0]), InvalidArgument);  // past the last window
    }
  }
}

TEST(StreamedEval, RunEvalStreamedHasTheBitsOfWindowByWindow) {
  for (const std::string backend : {"float", "hw"}) {
    EvalOptions o;
    o.model_path = random_llama();
    o.dataset = kSource + "/tests/data/tinystories-valid-slice.txt";
    o.seqlen = 64;
    o.max_windows = 6;
    o.backend = backend;
    o.quant.outliers = true;
    const EvalResult a = run_eval(o);
    o.stream_blocks_mib = 1;
    const EvalResult s = run_eval(o);
    EXPECT_EQ(s.window_nll, a.window_nll) << backend;
    EXPECT_EQ(s.perplexity, a.perplexity) << backend;
    EXPECT_EQ(s.hw_counters.values(), a.hw_counters.values()) << backend;
  }
  EvalOptions t;
  t.model_path = random_llama();
  t.task_file = kSource + "/tests/data/tasks/tiny_choice.jsonl";
  t.stream_blocks_mib = 1;
  EXPECT_THROW(run_eval(t), InvalidArgument);
}

}  // namespace
}  // namespace oacim::eval
