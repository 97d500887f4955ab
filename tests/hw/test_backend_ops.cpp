// Every datapath backend of the hw layer (the fast model with each kernel this CPU runs, on one and
// on several threads) against the scalar reference, bit for bit and counter for counter, on the
// shared cases of tests/support/backend_cases.hpp. SystemC runs the same cases in
// tests/sim/test_cosim.cpp (one elaboration per process).
#include <gtest/gtest.h>

#include "../support/backend_cases.hpp"
#include "oacim/core/error.hpp"
#include "oacim/hw/datapath_backend.hpp"
#include "oacim/hw/fast_datapath.hpp"

namespace oacim::hw {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

TEST(BackendOps, EveryBackendMatchesTheReference) {
  const auto backends = hw_backends();
  ASSERT_GE(backends.size(), 3u);  // the reference and the generic kernel at least
  ASSERT_EQ(backends.front()->name(), "reference");
  int compared = 0;
  for (const auto& bc : test::backend_configs(kSource)) {
    const auto cases = test::backend_cases(bc.cfg, 60, 77);
    const auto inputs = test::datapath_cases(cases);
    const auto want = backends.front()->run(bc.cfg, inputs);
    for (std::size_t b = 1; b < backends.size(); ++b) {
      const auto got = backends[b]->run(bc.cfg, inputs);
      ASSERT_EQ(got.size(), cases.size());
      for (std::size_t i = 0; i < cases.size(); ++i) {
        const std::string diff = test::first_difference(got[i], want[i]);
        EXPECT_EQ(diff, "") << backends[b]->name() << " on " << bc.name << ", case '" << cases[i].name << "'";
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 6 * 60 * 2);
}

TEST(BackendOps, TheCasesReachTheCornersTheyName) {
  // Overflows happen on the narrow config, non-finite inputs are counted, second-level zeros and
  // the bit-plane path are exercised: the harness cannot pass by testing only easy layers.
  const auto configs = test::backend_configs(kSource);
  const auto narrow = std::find_if(configs.begin(), configs.end(), [](const auto& c) { return c.name == "oacim-narrow"; });
  ASSERT_NE(narrow, configs.end());
  const auto cases = test::backend_cases(narrow->cfg, 0, 77);
  const auto ref = hw_backends().front()->run(narrow->cfg, test::datapath_cases(cases));
  HwCounters total;
  int plane_path = 0, unfolded_zeros = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    total += ref[i].counters;
    const FastDatapath fast(prepare_layer_weights(cases[i].weights, narrow->cfg), narrow->cfg);
    plane_path += !fast.single_pass();
    unfolded_zeros += !fast.folds_zeros();
  }
  EXPECT_GT(total.tree_overflows + total.acc_overflows, 0);
  EXPECT_GT(total.nonfinite_inputs, 0);
  EXPECT_GT(total.outlier_hits, 0);
  EXPECT_GT(plane_path, 0);
  EXPECT_GT(unfolded_zeros, 0);
}

TEST(BackendOps, AnUnsupportedKernelIsRefusedByName) {
  for (FastKernel k : {FastKernel::Avx512Vnni, FastKernel::Avx512, FastKernel::Avx2}) {
    if (FastDatapath::kernel_supported(k)) continue;
    EXPECT_THROW(FastDatapath(prepare_layer_weights(test::random_layer({}, 1), default_hw_config()), default_hw_config(), k),
                 InvalidArgument);
  }
  EXPECT_TRUE(FastDatapath::kernel_supported(FastKernel::Generic));
  const FastDatapath d(prepare_layer_weights(test::random_layer({}, 1), default_hw_config()), default_hw_config());
  EXPECT_NE(d.kernel(), FastKernel::Auto);
}

}  // namespace
}  // namespace oacim::hw
