// Evaluation checkpoints (eval/eval_checkpoint.hpp): a run stopped after some windows and started
// again with the same checkpoint file ends with the bits of an unbroken run (losses, per-token
// comparison with the float model, chip counters), window by window or block-streamed; a record
// cut by a kill is dropped and evaluated again; another evaluation's file and a damaged one are
// refused with the file named.
#include <gtest/gtest.h>

#include <filesystem>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

#include "oacim/core/error.hpp"
#include "oacim/eval/eval_run.hpp"
#include "../support/random_llama.hpp"

namespace fs = std::filesystem;

namespace oacim::eval {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

const std::string& random_llama() { return test::cached_random_llama("oacim_eval_checkpoint_llama", 3); }

std::string scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("oacim_eval_checkpoint_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

EvalOptions options(const std::string& backend) {
  EvalOptions o;
  o.model_path = random_llama();
  o.dataset = kSource + "/tests/data/tinystories-valid-slice.txt";
  o.seqlen = 64;
  o.max_windows = 6;
  o.backend = backend;
  o.quant.outliers = true;
  return o;
}

// Stops the run (as a kill would) once `windows` windows are done: the progress line of the next.
ProgressFn stop_after(int windows) {
  const std::string line = "eval: window " + std::to_string(windows) + "/";
  return [line](const std::string& msg) {
    if (msg.rfind(line, 0) == 0) throw std::runtime_error("stopped");
  };
}

void expect_same_result(const EvalResult& a, const EvalResult& b, const std::string& what) {
  EXPECT_EQ(a.window_nll, b.window_nll) << what;
  EXPECT_EQ(a.perplexity, b.perplexity) << what;
  EXPECT_EQ(a.perplexity_se, b.perplexity_se) << what;
  EXPECT_EQ(a.token_nll, b.token_nll) << what;
  EXPECT_EQ(a.hw_counters.values(), b.hw_counters.values()) << what;
  ASSERT_EQ(a.hw_layers.size(), b.hw_layers.size()) << what;
  for (std::size_t i = 0; i < a.hw_layers.size(); ++i) EXPECT_EQ(a.hw_layers[i].second, b.hw_layers[i].second) << what;
  EXPECT_EQ(a.compared_with_float, b.compared_with_float) << what;
  EXPECT_EQ(a.vs_float.kld.mean, b.vs_float.kld.mean) << what;
  EXPECT_EQ(a.vs_float.top1_agreement.mean, b.vs_float.top1_agreement.mean) << what;
  EXPECT_EQ(a.vs_float.vs_float.difference.mean, b.vs_float.vs_float.difference.mean) << what;
}

TEST(EvalCheckpoint, StoppedRunResumesWithTheBitsOfAnUnbrokenRun) {
  // hw (counters, a float reference computed by a float pass before the windows), streamed or
  // not on resuming; float (its reference made by the evaluated pass itself).
  for (const auto& [backend, stream_on_resume] :
       std::vector<std::pair<std::string, int>>{{"hw", 0}, {"hw", 1}, {"float", 0}}) {
    const std::string what = backend + (stream_on_resume ? " streamed" : "");
    const std::string dir = scratch(backend + std::to_string(stream_on_resume));
    EvalOptions o = options(backend);
    o.float_reference_dir = dir + "/ref-unbroken";
    const EvalResult unbroken = run_eval(o);
    ASSERT_EQ(unbroken.windows, 6);

    o.float_reference_dir = dir + "/ref";
    o.checkpoint_file = dir + "/eval.ckpt";
    o.progress = stop_after(3);
    EXPECT_THROW(run_eval(o), std::runtime_error) << what;
    ASSERT_TRUE(fs::exists(o.checkpoint_file)) << what;

    o.progress = nullptr;
    o.stream_blocks_mib = stream_on_resume;
    const EvalResult resumed = run_eval(o);
    EXPECT_EQ(resumed.resumed_windows, 3) << what;
    EXPECT_EQ(resumed.checkpoint_file, o.checkpoint_file) << what;
    expect_same_result(unbroken, resumed, what);
    if (backend == "float") {
      // The reference the resumed pass made lacks the first windows: compared, not cached.
      EXPECT_NE(resumed.float_reference_status.find("not cached"), std::string::npos) << resumed.float_reference_status;
      EXPECT_FALSE(fs::exists(resumed.float_reference_file)) << what;
    }

    // A finished checkpoint answers a rerun without evaluating a window.
    const EvalResult again = run_eval(o);
    EXPECT_EQ(again.resumed_windows, 6) << what;
    expect_same_result(unbroken, again, what);
  }
}

TEST(EvalCheckpoint, AnotherEvaluationsOrADamagedFileIsRefusedNamingIt) {
  const std::string dir = scratch("refused");
  EvalOptions o = options("hw");
  o.max_windows = 2;
  o.checkpoint_file = dir + "/eval.ckpt";
  (void)run_eval(o);

  EvalOptions other = o;
  other.seqlen = 32;
  try {
    (void)run_eval(other);
    FAIL() << "another evaluation's checkpoint was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.key(), "checkpoint");
    EXPECT_NE(e.reason().find(o.checkpoint_file), std::string::npos) << e.what();
    EXPECT_NE(e.reason().find("seqlen"), std::string::npos) << e.what();
  }
  other = o;
  other.quant.offsets = true;  // other weights on the chip
  EXPECT_THROW(run_eval(other), InvalidArgument);

  const EvalResult whole = run_eval(o);
  ASSERT_EQ(whole.resumed_windows, 2);
  // The last record cut short, as a kill while it was written leaves it: dropped, and its window
  // evaluated again.
  fs::resize_file(o.checkpoint_file, fs::file_size(o.checkpoint_file) - 5);
  const EvalResult cut = run_eval(o);
  EXPECT_EQ(cut.resumed_windows, 1);
  EXPECT_EQ(cut.window_nll, whole.window_nll);
  EXPECT_EQ(cut.hw_counters.values(), whole.hw_counters.values());
  // A damaged byte in the first record, with a whole record after it: refused, naming the file.
  {
    std::fstream f(o.checkpoint_file, std::ios::in | std::ios::out | std::ios::binary);
    const std::streamoff magic = 24;  // "oacim-eval-checkpoint/2\n"
    std::uint64_t key_bytes = 0;
    f.seekg(magic);
    f.read(reinterpret_cast<char*>(&key_bytes), sizeof key_bytes);
    const std::streamoff record0 = magic + 8 + static_cast<std::streamoff>(key_bytes) + 8;
    f.seekp(record0 + 8 + 3);  // inside its payload (its window loss)
    f.put('\x5a');
  }
  try {
    (void)run_eval(o);
    FAIL() << "a checkpoint damaged in the middle was accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), o.checkpoint_file);
    EXPECT_NE(e.reason().find("damaged"), std::string::npos) << e.what();
  }
  { std::ofstream(o.checkpoint_file) << "not a checkpoint"; }
  EXPECT_THROW(run_eval(o), FormatError);

  EvalOptions sc = options("systemc");
  sc.checkpoint_file = dir + "/sc.ckpt";
  EXPECT_THROW(run_eval(sc), InvalidArgument);
  EvalOptions task;
  task.model_path = random_llama();
  task.task_file = kSource + "/tests/data/tasks/tiny_choice.jsonl";
  task.checkpoint_file = dir + "/task.ckpt";
  EXPECT_THROW(run_eval(task), InvalidArgument);
}

}  // namespace
}  // namespace oacim::eval
