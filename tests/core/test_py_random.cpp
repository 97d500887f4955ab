// PyRandom against draws recorded from CPython's random module.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/py_random.hpp"

namespace oacim {
namespace {

TEST(PyRandom, MatchesCPython) {
  std::ifstream in(std::string(OACIM_FIXTURE_DIR) + "/pyrandom_reference.json");
  ASSERT_TRUE(in.good());
  nlohmann::json ref;
  in >> ref;
  const auto bounds = ref["bounds"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(ref["seeds"].size(), 4u);
  for (const auto& [seed_text, draws] : ref["seeds"].items()) {
    PyRandom rng(std::stoull(seed_text));
    const auto ints = draws["randint"].get<std::vector<std::int64_t>>();
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      ASSERT_EQ(rng.randint(0, bounds[i]), ints[i]) << "seed " << seed_text << " draw " << i;
    }
    for (const auto& text : draws["random"]) {
      ASSERT_EQ(rng.random(), std::stod(text.get<std::string>())) << "seed " << seed_text;
    }
  }
}

TEST(PyRandom, RejectsRangesItCannotMatch) {
  PyRandom rng(0);
  EXPECT_THROW(rng.randint(5, 4), InvalidArgument);
  EXPECT_THROW(rng.randint(0, std::int64_t{1} << 33), InvalidArgument);
  EXPECT_EQ(rng.randint(3, 3), 3);
}

}  // namespace
}  // namespace oacim
