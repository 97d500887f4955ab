// Calibration windows against the starts CPython's `random` gives GPTQ's loaders
// (tests/fixtures/gen_calibration_fixture.py).
#include <gtest/gtest.h>

#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/data/calibration_windows.hpp"

namespace oacim::data {
namespace {

TEST(Calibration, WindowStartsMatchCPython) {
  std::ifstream in(std::string(OACIM_FIXTURE_DIR) + "/calibration_reference.json");
  const nlohmann::json ref = nlohmann::json::parse(in);
  for (const auto& c : ref["cases"]) {
    std::vector<int> corpus(c["L"].get<std::size_t>());
    std::iota(corpus.begin(), corpus.end(), 0);
    const auto windows = calibration_windows(corpus, c["nsamples"], c["seqlen"], c["seed"]);
    ASSERT_EQ(windows.size(), c["starts"].size());
    for (std::size_t i = 0; i < windows.size(); ++i) {
      EXPECT_EQ(windows[i].start, c["starts"][i].get<std::int64_t>()) << "seed " << c["seed"] << " sample " << i;
      EXPECT_EQ(windows[i].tokens.front(), windows[i].start);
      EXPECT_EQ(windows[i].tokens.size(), c["seqlen"].get<std::size_t>());
    }
  }
}

TEST(Calibration, RejectsImpossibleRequests) {
  const std::vector<int> corpus(100, 1);
  EXPECT_THROW(calibration_windows(corpus, 4, 100, 0), InvalidArgument);
  EXPECT_THROW(calibration_windows(corpus, 0, 10, 0), InvalidArgument);
  EXPECT_NO_THROW(calibration_windows(corpus, 4, 99, 0));
}

}  // namespace
}  // namespace oacim::data
