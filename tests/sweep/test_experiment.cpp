// Experiment files: the key table, sweep expansion (cartesian product, zip), and the errors a
// user gets for bad keys, types, values and impossible combinations (file:line, key, reason).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/sweep/experiment.hpp"
#include "oacim/sweep/experiment_schema.hpp"
#include "oacim/sweep/point_result.hpp"
#include "oacim/sweep/task_plan.hpp"

using namespace oacim;
using namespace oacim::sweep;

namespace {

namespace fs = std::filesystem;

const std::string kSrc = OACIM_SOURCE_DIR;
const std::string kModel = kSrc + "/tests/data/stories260K/stories260K.bin";
const std::string kText = kSrc + "/tests/data/tinystories-valid-slice.txt";

std::string base() { return "model: " + kModel + "\ndatasets: [" + kText + "]\n"; }

// The message of the ConfigError that parsing (and validating) `yaml` throws; "" when none.
std::string error_of(const std::string& yaml) {
  try {
    const Experiment ex = parse_experiment(yaml, "exp.yaml");
    validate(ex, expand(ex));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ExperimentSchema, EveryKeyHasDocAndAValidDefault) {
  for (const auto& k : experiment_keys()) {
    EXPECT_FALSE(k.doc.empty()) << k.key;
    if (k.required || k.is_list() || k.default_text.empty()) continue;
    EXPECT_EQ(check_key_value(k, k.default_text), "") << k.key << " default " << k.default_text;
  }
  const std::string md = experiment_keys_markdown();
  EXPECT_NE(md.find("| `quantization.wbits` | integer [2, 4] | `4` |"), std::string::npos) << md;
  EXPECT_NE(md.find("hardware.set.<knob>"), std::string::npos);
}

TEST(ExperimentSchema, ChecksValuesByKind) {
  EXPECT_EQ(check_key_value(*find_experiment_key("quantization.wbits"), "3"), "");
  EXPECT_EQ(check_key_value(*find_experiment_key("quantization.wbits"), "5"), "must be in [2, 4]");
  EXPECT_EQ(check_key_value(*find_experiment_key("quantization.wbits"), "3.5"), "'3.5' is not an integer");
  EXPECT_EQ(check_key_value(*find_experiment_key("quantization.method"), "awq"), "'awq' is not one of rtn | gptq | oa | discquant");
  EXPECT_EQ(check_key_value(*find_experiment_key("thresholds.max_overflows"), "off"), "");
  EXPECT_EQ(check_key_value(*find_experiment_key("quantization.outliers"), "maybe"), "'maybe' is not true or false");
}

TEST(Experiment, DefaultsFillEveryKey) {
  const Experiment ex = parse_experiment(base(), "exp.yaml");
  const auto points = expand(ex);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].str("quantization.method"), "oa");
  EXPECT_EQ(points[0].integer("quantization.wbits"), 4);
  EXPECT_TRUE(points[0].off("thresholds.fakequant_vs_float_ppl_pct"));
  EXPECT_DOUBLE_EQ(points[0].number("thresholds.hw_vs_fakequant_ppl_pct"), 0.5);
  EXPECT_EQ(points[0].label(), "default");
  EXPECT_EQ(ex.lists.at("backends"), (std::vector<std::string>{"float", "fakequant", "hw"}));
  EXPECT_NO_THROW(validate(ex, points));
}

TEST(Experiment, ListsExpandToTheCartesianProductFirstAxisOutermost) {
  const Experiment ex = parse_experiment(base() +
                                             "quantization:\n  method: [rtn, gptq]\n  wbits: [3, 4, 2]\n"
                                             "hardware:\n  set:\n    macro.rows: [32, 64]\n",
                                         "exp.yaml");
  const auto points = expand(ex);
  ASSERT_EQ(points.size(), 12u);
  EXPECT_EQ(points[0].label(), "method=rtn wbits=3 macro.rows=32");
  EXPECT_EQ(points[1].label(), "method=rtn wbits=3 macro.rows=64");
  EXPECT_EQ(points[2].label(), "method=rtn wbits=4 macro.rows=32");
  EXPECT_EQ(points[11].label(), "method=gptq wbits=2 macro.rows=64");
  EXPECT_EQ(points[11].hw_overrides().at("macro.rows"), "64");
  for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].index, static_cast<int>(i));
}

TEST(Experiment, ZipGroupsVaryTogetherAndMayRepeatValues) {
  const Experiment ex = parse_experiment(base() +
                                             "quantization:\n  method: [rtn, oa, oa]\n  offsets: [false, false, true]\n"
                                             "  wbits: [3, 4]\nsweep:\n  zip: [[quantization.method, quantization.offsets]]\n",
                                         "exp.yaml");
  const auto points = expand(ex);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].label(), "method=rtn offsets=false wbits=3");
  EXPECT_EQ(points[3].label(), "method=oa offsets=false wbits=4");
  EXPECT_EQ(points[5].label(), "method=oa offsets=true wbits=4");
}

TEST(Experiment, ZipOfUnequalListsNamesBothKeysAndTheLine) {
  const std::string e = error_of(base() + "quantization:\n  method: [rtn, oa]\n  wbits: [2, 3, 4]\nsweep:\n"
                                          "  zip:\n    - [quantization.method, quantization.wbits]\n");
  EXPECT_NE(e.find("exp.yaml:8: sweep.zip"), std::string::npos) << e;
  EXPECT_NE(e.find("'quantization.wbits' lists 3 values but 'quantization.method' lists 2"), std::string::npos) << e;
}

TEST(Experiment, ErrorsNameFileLineKeyAndReason) {
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {base() + "quantization:\n  wbitz: 4\n", "exp.yaml:4: quantization.wbitz: unknown key (did you mean 'quantization.wbits'?)"},
      {base() + "quantization:\n  wbits: four\n", "exp.yaml:4: quantization.wbits: 'four' is not an integer"},
      {base() + "quantization:\n  wbits: [4, 5]\n", "exp.yaml:4: quantization.wbits: must be in [2, 4]"},
      {base() + "quantization:\n  method: [rtn, rtn]\n", "exp.yaml:4: quantization.method: the sweep lists a value twice"},
      {base() + "quantization:\n  method: []\n", "exp.yaml:4: quantization.method: an empty list sweeps nothing"},
      {base() + "quantization: 4\n", "exp.yaml:3: quantization: is a section: give it a mapping"},
      {base() + "eval:\n  seqlen:\n    a: 1\n", "exp.yaml:4: eval.seqlen: takes a value, not a mapping"},
      {base() + "name: [a, b]\n", "exp.yaml:3: name: cannot be swept"},
      {"datasets: [wikitext2]\n", "exp.yaml: model: is required"},
      {"model: " + kModel + "\n", "exp.yaml: datasets: is required"},
      {base() + "hardware:\n  set:\n    macro.rowz: 32\n", "exp.yaml:5: hardware.set.macro.rowz: 'macro.rowz' is not a hardware knob"},
      {base() + "hardware:\n  set:\n    macro.rows: 33\n", "exp.yaml:5: hardware.set.macro.rows:"},
      {base() + "backends: [float, gpu]\n", "exp.yaml:3: backends: 'gpu' is not one of float | fakequant | hw | systemc"},
      {base() + "model: other.bin\n", "exp.yaml:3: model: given twice"},
      {base() + "quantization:\n  method: oa\n  method: rtn\n", "given twice"},
      {base() + "eval: {seqlen: 256\n", "exp.yaml:4: malformed YAML: end of map flow not found"},
      {"- a\n- b\n", "exp.yaml: an experiment file is a YAML mapping of keys"},
      {base() + "sweep:\n  zip: [[quantization.method, quantization.wbits]]\n", "'quantization.method' holds no list to zip"},
      {base() + "sweep:\n  grid: 1\n", "exp.yaml:4: sweep.grid: unknown key"},
      // Six lists of 10 values: a million points, refused before any is allocated.
      {base() + "discquant:\n  steps: [1,2,3,4,5,6,7,8,9,10]\n  warmup: [0,1,2,3,4,5,6,7,8,9]\n"
                "  seed: [0,1,2,3,4,5,6,7,8,9]\n  lr: [1,2,3,4,5,6,7,8,9,10]\n  rho: [1,2,3,4,5,6,7,8,9,10]\n"
                "  clamp: [1,2,3,4,5,6,7,8,9,10]\n",
       "more than 100000 points"},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(c.yaml);
    EXPECT_NE(e.find(c.expected), std::string::npos) << "yaml:\n" << c.yaml << "error: " << e;
  }
}

TEST(Experiment, ValidationRejectsWhatCannotRunBeforeAnythingRuns) {
  // Missing files.
  EXPECT_NE(error_of("model: /nonexistent/model.bin\ndatasets: [wikitext2]\n").find("exp.yaml:1: model: /nonexistent/model.bin: no such"),
            std::string::npos);
  EXPECT_NE(error_of(base() + "data_dir: /nonexistent\ndatasets2: 1\n").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of("model: " + kModel + "\ndatasets: [nothere.txt]\n").find("datasets: 'nothere.txt': no such file"),
            std::string::npos);
  EXPECT_NE(error_of(base() + "hardware:\n  config: /nonexistent/hw.yaml\n")
                .find("exp.yaml:4: hardware.config: /nonexistent/hw.yaml: no such hardware config file"),
            std::string::npos);
  // A block that does not fit the macro: named at the block size, with the point.
  const std::string fit = error_of(base() + "quantization:\n  block_size: [32, 128]\n");
  EXPECT_NE(fit.find("exp.yaml:4: quantization.block_size: point 2 (block_size=128)"), std::string::npos) << fit;
  EXPECT_NE(fit.find("do not fit"), std::string::npos) << fit;
  // The quantizer's own rules, in this file's key names.
  const std::string act = error_of(base() + "quantization:\n  method: gptq\n  act_order: true\n");
  EXPECT_NE(act.find("quantization.act_order"), std::string::npos) << act;
  const std::string gptq = error_of(base() + "quantization:\n  method: gptq\n  outliers: true\n");
  EXPECT_NE(gptq.find("quantization.outliers: point 1 (default)"), std::string::npos) << gptq;
  // Norm tweaking needs token samples.
  const std::string nt = error_of(base() + "calibration:\n  source: wikitext2\nnormtweak:\n  enabled: true\n");
  EXPECT_NE(nt.find("normtweak.enabled"), std::string::npos) << nt;
  EXPECT_NE(error_of(base() + "systemc:\n  layers: [layers.0.attention.wq]\n").find("'systemc' is not among the backends"),
            std::string::npos);
  // A task file that cannot be scored: named with its line.
  const std::string bad_task = (fs::temp_directory_path() / "oacim_bad_task.jsonl").string();
  std::ofstream(bad_task) << "{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 2}\n";
  const std::string task = error_of(base() + "tasks: [" + bad_task + "]\n");
  EXPECT_NE(task.find("tasks:"), std::string::npos) << task;
  EXPECT_NE(task.find("line 1: 'gold' 2 is outside the 1 choices"), std::string::npos) << task;
  fs::remove(bad_task);
}

TEST(TaskPlan, ZeroShotTasksRunOnEveryBackendWithoutAFloatReference) {
  const Experiment ex = parse_experiment(base() + "tasks: [" + std::string(OACIM_SOURCE_DIR) +
                                             "/tests/data/tasks/tiny_choice.jsonl]\nbackends: [float, fakequant, hw, systemc]\n",
                                         "exp.yaml");
  const Plan plan = make_plan(ex, expand(ex), "/tmp/out");
  int zero_shot = 0;
  for (const auto& e : plan.points[0].evals) {
    if (!e.zero_shot) continue;
    ++zero_shot;
    const auto& args = plan.tasks[e.task].args;
    EXPECT_NE(std::find(args.begin(), args.end(), "--task"), args.end());
    EXPECT_EQ(std::find(args.begin(), args.end(), "--float-reference"), args.end());
    EXPECT_EQ(std::find(args.begin(), args.end(), "--dataset"), args.end());
    EXPECT_EQ(std::find(args.begin(), args.end(), "systemc"), args.end());  // the hw run is plain hw
  }
  EXPECT_EQ(zero_shot, 3);  // float, fakequant, hw
}

TEST(TaskPlan, PointsShareCalibrationQuantizationAndFloatRuns) {
  const Experiment ex = parse_experiment(base() +
                                             "backends: [float, fakequant, hw]\n"
                                             "quantization:\n  method: [rtn, oa]\n"
                                             "hardware:\n  set:\n    input.mantissa_bits: [6, 8]\n",
                                         "exp.yaml");
  const auto points = expand(ex);
  ASSERT_EQ(points.size(), 4u);
  const Plan plan = make_plan(ex, points, "/tmp/out");
  int calib = 0, quantize = 0, evals = 0;
  for (const auto& t : plan.tasks) {
    calib += t.kind == "calib";
    quantize += t.kind == "quantize";
    evals += t.kind == "eval";
  }
  EXPECT_EQ(calib, 1);     // one self-generated calibration set (OA only; RTN needs none)
  EXPECT_EQ(quantize, 2);  // one model per method, shared by both datapaths
  EXPECT_EQ(evals, 1 + 2 + 4);  // float once; fakequant per model; hw per model and datapath
  EXPECT_EQ(plan.hw_files.size(), 2u);
  // The same settings give the same ids (the cache key of a rerun); dependencies come first.
  const Plan again = make_plan(ex, points, "/tmp/out");
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    EXPECT_EQ(plan.tasks[i].id, again.tasks[i].id);
    for (const std::size_t d : plan.tasks[i].deps) EXPECT_LT(d, i);
  }
  for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(plan.points[i].id, again.points[i].id);
  EXPECT_NE(plan.points[0].id, plan.points[1].id);
}

TEST(TaskPlan, AcrossRanksTheLongestChainStartsFirst) {
  const Experiment ex = parse_experiment(base() +
                                             "backends: [float, fakequant, hw]\n"
                                             "quantization:\n  method: [rtn, oa]\n",
                                         "exp.yaml");
  const Plan plan = make_plan(ex, expand(ex), "/tmp/out");
  const std::vector<std::size_t> order = start_order(plan);
  ASSERT_EQ(order.size(), plan.tasks.size());
  // calib -> OA quantize -> evals is the longest chain: the calibration starts first, then OA's
  // quantization; the float evaluation, which nothing waits for, after both.
  EXPECT_EQ(plan.tasks[order[0]].kind, "calib");
  EXPECT_EQ(plan.tasks[order[1]].kind, "quantize");
  EXPECT_NE(plan.tasks[order[1]].what.find("oa"), std::string::npos) << plan.tasks[order[1]].what;
  const auto position = [&](const std::string& what) {
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (plan.tasks[order[i]].what.rfind(what, 0) == 0) return i;
    }
    return order.size();
  };
  EXPECT_GT(position("eval float"), 1u);
  // Equal chains keep the plan's order; the hw run outranks the fakequant run of the same model.
  for (const std::size_t t : order) {
    for (const std::size_t d : plan.tasks[t].deps) {
      EXPECT_LT(std::find(order.begin(), order.end(), d), std::find(order.begin(), order.end(), t));
    }
  }
  EXPECT_LT(position("eval hw"), position("eval fakequant"));
}

TEST(ExperimentSchema, DocsTableIsGeneratedFromTheTable) {
  const std::string docs = oacim::read_whole_file(kSrc + "/docs/configs.md");
  EXPECT_NE(docs.find(experiment_keys_markdown()), std::string::npos)
      << "docs/configs.md is out of date: paste the output of 'oacim run --schema'";
}

TEST(PointResult, ANonFiniteOrMissingResultMakesAnErrorPointNotACrash) {
  // A task that succeeded but wrote a perplexity of NaN (null in JSON) once made `oacim run` fail
  // on every rerun; it must make an error point and let the sweep and its report go on.
  const std::string dir = ::testing::TempDir() + "/point_result";
  std::filesystem::remove_all(dir);
  const Experiment ex = parse_experiment(base() + "backends: [float, fakequant]\nquantization: {method: rtn}\n", "exp.yaml");
  const auto points = expand(ex);
  const Plan plan = make_plan(ex, points, dir);
  std::filesystem::create_directories(dir + "/cache");
  const nlohmann::json quant = {{"seconds", 1.0}, {"windows", 0}, {"outliers", 0}, {"ones", 1}, {"ones_before_offsets", 1},
                                {"stored_bits", 8}, {"bits_per_weight", 4.0}, {"layers", nlohmann::json::array()}};
  auto eval_json = [](nlohmann::json ppl) {
    return nlohmann::json{{"perplexity", ppl}, {"mean_nll", 1.0}, {"tokens", 8}, {"windows", 1}, {"seqlen", 8}, {"seconds", 0.1}};
  };
  const PointPlan& pp = plan.points.at(0);
  std::ofstream(plan.tasks.at(*pp.quantize).done_file) << quant.dump();
  for (const auto& e : pp.evals) {
    std::ofstream(plan.tasks.at(e.task).done_file) << eval_json(e.backend == "float" ? nlohmann::json(5.0) : nlohmann::json()).dump();
  }
  nlohmann::json r = point_result(plan, pp, "");
  EXPECT_EQ(r.at("status"), "error");
  EXPECT_EQ(r.at("verdict"), "error");
  EXPECT_NE(r.at("error").get<std::string>().find("not a finite number"), std::string::npos) << r.dump();
  // A result file that is missing altogether: the same.
  std::filesystem::remove(plan.tasks.at(pp.evals.back().task).done_file);
  r = point_result(plan, pp, "");
  EXPECT_EQ(r.at("status"), "error");
  for (const auto& e : pp.evals) std::ofstream(plan.tasks.at(e.task).done_file) << eval_json(5.0).dump();
  EXPECT_EQ(point_result(plan, pp, "").at("status"), "ok");
}
