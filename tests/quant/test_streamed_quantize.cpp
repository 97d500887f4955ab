// Quantizing a checkpoint one block at a time (sequential_quantizer.hpp, quantize_run.hpp): the
// Linears' weights are made from the mapped checkpoint when first used; while block b is quantized
// no other block holds fp32 copies or (once stored) packed weights; the directory assembled from
// the block checkpoints has the bytes of a save from memory, and a run split in two the bytes of
// one run; the non-Linear tensors are stored at the width that holds them exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "oacim/core/safetensors.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"
#include "../support/random_llama.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/quant/quantize_run.hpp"
#include "oacim/quant/sequential_quantizer.hpp"

namespace fs = std::filesystem;

namespace oacim::quant {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

const std::string& random_llama() { return test::cached_random_llama("oacim_streamed_llama", 3); }

std::size_t float_bytes_of_block(model::Decoder& dec, int block) {
  std::size_t n = 0;
  for (model::QuantLinear* lin : dec.block_linears(block)) n += lin->float_bytes_held();
  return n;
}

TEST(StreamedQuantize, HoldsOneBlockAtATime) {
  model::LoadedModel lm = model::load_model(random_llama());
  model::Decoder& dec = *lm.decoder;
  for (model::QuantLinear* lin : dec.linears()) EXPECT_EQ(lin->float_bytes_held(), 0u) << "loading made " << lin->name();
  std::mt19937 rng(7);
  std::vector<std::vector<int>> windows(4, std::vector<int>(48));
  for (auto& w : windows) {
    for (int& t : w) t = 3 + static_cast<int>(rng() % 31000);
  }
  SequentialOptions so;
  so.layer.method = Method::Oa;
  so.layer.outliers = true;
  so.release_finished_blocks = true;
  int checked = 0;
  // While block b runs, every other block holds no fp32 copy, and the finished ones no packed weights.
  const auto only_block = [&](int b) {
    for (int k = 0; k < dec.num_blocks(); ++k) {
      if (k == b) continue;
      EXPECT_EQ(float_bytes_of_block(dec, k), 0u) << "block " << k << " while block " << b << " runs";
      if (k > b) continue;
      for (model::QuantLinear* lin : dec.block_linears(k)) {
        EXPECT_FALSE(lin->has_packed()) << lin->name() << " still packed while block " << b << " runs";
      }
    }
    ++checked;
  };
  so.on_block_done = [&](int b, const std::vector<LayerQuantStats>&) {
    // One fp32 copy of the block at most: a packed Linear's checkpoint weight is released, and
    // only the dequantized matrices of the block's last forward pass remain.
    std::size_t one_copy = 0;
    for (model::QuantLinear* lin : dec.block_linears(b)) one_copy += sizeof(float) * lin->out_features() * lin->in_features();
    EXPECT_GT(float_bytes_of_block(dec, b), 0u);
    EXPECT_LE(float_bytes_of_block(dec, b), one_copy);
    for (model::QuantLinear* lin : dec.block_linears(b)) EXPECT_TRUE(lin->has_packed()) << lin->name();
    only_block(b);
  };
  const std::vector<LayerQuantStats> stats =
      quantize_model(dec, windows, so, [&](const LayerQuantStats&, int block, int, int) { only_block(block); });
  EXPECT_EQ(stats.size(), 21u);
  EXPECT_EQ(checked, 21 + 3);
  for (model::QuantLinear* lin : dec.linears()) {
    EXPECT_EQ(lin->float_bytes_held(), 0u) << lin->name();
    EXPECT_FALSE(lin->has_packed()) << lin->name();
  }
}

QuantizeRunOptions run_options(const std::string& out) {
  QuantizeRunOptions o;
  o.model_path = random_llama();
  o.calib = kSource + "/tests/data/tinystories-valid-slice.txt";
  o.nsamples = 4;
  o.seqlen = 64;
  o.layer.method = Method::Oa;
  o.layer.outliers = true;
  o.layer.offsets = true;
  o.out_dir = out;
  resolve(o);
  fs::remove_all(out);
  return o;
}

TEST(StreamedQuantize, AssembledDirectoryHasTheBytesOfASaveFromMemory) {
  const std::string base = ::testing::TempDir() + "/oacim_streamed_";
  const QuantizeRunResult r = run_quantize(run_options(base + "whole"));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.blocks_done, 3);
  const std::string assembled = read_whole_file(base + "whole/" + model::kQuantizedFile);
  EXPECT_FALSE(fs::exists(base + "whole/partial"));

  // The same packed weights, loaded and saved again from memory (add_packed, tensor copies).
  model::LoadedModel lm = model::load_model(base + "whole");
  fs::remove_all(base + "memory");
  model::save_quantized_model(base + "memory", *lm.decoder, model::read_quantized_info(base + "whole"));
  EXPECT_TRUE(assembled == read_whole_file(base + "memory/" + model::kQuantizedFile));

  // Killed after one block (max_blocks) and resumed: the bytes of the run in one go.
  QuantizeRunOptions first = run_options(base + "split");
  first.max_blocks = 1;
  const QuantizeRunResult part = run_quantize(first);
  EXPECT_FALSE(part.complete);
  EXPECT_EQ(part.blocks_done, 1);
  QuantizeRunOptions rest = first;
  rest.max_blocks = 0;
  const QuantizeRunResult done = run_quantize(rest);
  EXPECT_EQ(done.resumed_blocks, 1);
  EXPECT_EQ(done.blocks_done, 3);
  EXPECT_TRUE(assembled == read_whole_file(base + "split/" + model::kQuantizedFile));
  for (const char* d : {"whole", "memory", "split"}) fs::remove_all(base + d);
}

// The non-Linear tensors keep the narrowest width that holds them exactly: the random F16
// checkpoint's embedding and norms as F16, a norm with a value only BF16 holds as BF16, one with
// an fp32 value (what norm tweaking writes) as F32; all load back to the same fp32 values.
TEST(QuantizedModelDir, NonLinearTensorsAreStoredAtTheWidthThatHoldsThemExactly) {
  const std::string base = ::testing::TempDir() + "/oacim_dtype_";
  ASSERT_TRUE(run_quantize(run_options(base + "f16")).complete);
  model::LoadedModel lm = model::load_model(base + "f16");
  std::vector<std::pair<std::string, at::Tensor*>> tensors = lm.decoder->named_tensors();
  ASSERT_GE(tensors.size(), 3u);
  {
    const SafetensorsFile f = SafetensorsFile::open(base + "f16/" + model::kQuantizedFile);
    for (const auto& [name, t] : tensors) EXPECT_EQ(f.tensor("tensor." + name).dtype, DType::F16) << name;
  }
  // The last two named tensors get values F16 cannot hold: 2^-30 (BF16 holds it), 1 + 2^-20 (only F32).
  at::Tensor* bf16_only = tensors[tensors.size() - 2].second;
  at::Tensor* f32_only = tensors[tensors.size() - 1].second;
  bf16_only->view({-1})[0] = std::ldexp(1.0f, -30);
  f32_only->view({-1})[0] = 1.0f + std::ldexp(1.0f, -20);
  std::vector<at::Tensor> want;
  for (const auto& nt : tensors) want.push_back(nt.second->clone());
  fs::remove_all(base + "mixed");
  model::save_quantized_model(base + "mixed", *lm.decoder, model::read_quantized_info(base + "f16"));
  const SafetensorsFile f = SafetensorsFile::open(base + "mixed/" + model::kQuantizedFile);
  EXPECT_EQ(f.tensor("tensor." + tensors[tensors.size() - 2].first).dtype, DType::BF16);
  EXPECT_EQ(f.tensor("tensor." + tensors[tensors.size() - 1].first).dtype, DType::F32);
  EXPECT_EQ(f.tensor("tensor." + tensors[0].first).dtype, DType::F16);
  model::LoadedModel back = model::load_model(base + "mixed");
  const auto got = back.decoder->named_tensors();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(at::equal(*got[i].second, want[i])) << got[i].first;
  for (const char* d : {"f16", "mixed"}) fs::remove_all(base + d);
}

}  // namespace
}  // namespace oacim::quant
