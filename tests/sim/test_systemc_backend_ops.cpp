// The SystemC accelerator as one more datapath backend: the same cases as tests/hw/test_backend_ops.cpp
// (tests/support/backend_cases.hpp), against the scalar reference, bit for bit and counter for
// counter. SystemC elaborates once per process, so each hardware config is its own test (ctest
// runs each in its own process).
#include <gtest/gtest.h>

#include "../support/backend_cases.hpp"
#include "oacim/hw/datapath_backend.hpp"
#include "oacim/sim/cosim.hpp"
#include "oacim/sim/systemc_backend.hpp"

namespace oacim::sim {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

void expect_systemc_matches_reference(const std::string& config) {
  if (cosim_elaborated()) GTEST_SKIP() << "SystemC already elaborated in this process; run this test alone (ctest does)";
  const auto configs = test::backend_configs(kSource);
  const auto bc = std::find_if(configs.begin(), configs.end(), [&](const auto& c) { return c.name == config; });
  ASSERT_NE(bc, configs.end());
  const auto cases = test::backend_cases(bc->cfg, 12, 77);
  const auto inputs = test::datapath_cases(cases);
  const auto want = hw::hw_backends().front()->run(bc->cfg, inputs);
  const auto got = systemc_backend()->run(bc->cfg, inputs);
  ASSERT_EQ(got.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(test::first_difference(got[i], want[i]), "") << "systemc on " << config << ", case '" << cases[i].name << "'";
  }
}

TEST(SystemcBackendOps, Default) { expect_systemc_matches_reference("oacim-default"); }
TEST(SystemcBackendOps, Narrow) { expect_systemc_matches_reference("oacim-narrow"); }
TEST(SystemcBackendOps, Bf16Psum) { expect_systemc_matches_reference("oacim-bf16-psum"); }
TEST(SystemcBackendOps, Fp16Psum) { expect_systemc_matches_reference("fp16-psum"); }
TEST(SystemcBackendOps, WrapBf16Outliers) { expect_systemc_matches_reference("wrap-bf16-outliers"); }
TEST(SystemcBackendOps, NearestEvenGroup64) { expect_systemc_matches_reference("nearest-even-group64"); }

}  // namespace
}  // namespace oacim::sim
