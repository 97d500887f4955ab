// The hardware config: table defaults, shipped files, every class of bad input, and the docs table.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "oacim/core/error.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/hw_params.hpp"

namespace oacim::hw {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

// Expects parse_hw_config(text) to throw a ConfigError whose message contains every fragment.
void expect_error(const std::string& text, std::initializer_list<std::string> fragments) {
  try {
    parse_hw_config(text, "bad.yaml");
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.yaml", 0), 0u) << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

TEST(HwConfig, DefaultsAreDesignSection3) {
  const HwConfig c = default_hw_config();
  EXPECT_EQ(c.macro_rows, 64);
  EXPECT_EQ(c.macro_cols, 64);
  EXPECT_EQ(c.align_group, 0);
  EXPECT_EQ(c.input_format, NumFormat::Bf16);
  EXPECT_EQ(c.mantissa_bits, 8);
  EXPECT_EQ(c.input_rounding, InputRounding::Truncate);
  EXPECT_EQ(c.tree_bits, 16);
  EXPECT_EQ(c.acc_bits, 24);
  EXPECT_EQ(c.psum_format, NumFormat::Fp32);
  EXPECT_EQ(c.outlier_format, NumFormat::Fp32);
  EXPECT_EQ(c.scale_format, NumFormat::Bf16);
  EXPECT_EQ(c.output_format, NumFormat::Bf16);
  EXPECT_EQ(c.bitplanes(), 9);
}

TEST(HwConfig, ShippedFilesLoad) {
  const HwConfig d = load_hw_config(kSource + "/configs/hw/oacim-default.yaml");
  EXPECT_EQ(to_key_values(d), to_key_values(default_hw_config()));
  EXPECT_EQ(d.name, "oacim-default");
  const HwConfig n = load_hw_config(kSource + "/configs/hw/oacim-narrow.yaml");
  EXPECT_EQ(n.mantissa_bits, 6);
  EXPECT_EQ(n.tree_bits, 8);
  const HwConfig b = load_hw_config(kSource + "/configs/hw/oacim-bf16-psum.yaml");
  EXPECT_EQ(b.psum_format, NumFormat::Bf16);
  EXPECT_EQ(b.align_group, 64);
}

TEST(HwConfig, YamlRoundTrip) {
  const HwConfig n = load_hw_config(kSource + "/configs/hw/oacim-bf16-psum.yaml");
  const HwConfig back = parse_hw_config(to_yaml(n), "roundtrip");
  EXPECT_EQ(to_key_values(back), to_key_values(n));
  EXPECT_EQ(back.name, n.name);
}

TEST(HwConfig, EmptyFileIsTheDefault) {
  EXPECT_EQ(to_key_values(parse_hw_config("", "empty.yaml")), to_key_values(default_hw_config()));
}

TEST(HwConfig, UnknownKeyNamesLineAndSuggestion) {
  expect_error("macro:\n  rows: 64\n  rowz: 32\n", {"bad.yaml:3", "macro.rowz", "unknown key", "macro.rows"});
  expect_error("frobnicate: 1\n", {"bad.yaml:1", "frobnicate", "unknown key"});
  expect_error("macro:\n  colour: red\n", {"macro.colour", "unknown key"});
}

TEST(HwConfig, WrongTypesAndRanges) {
  expect_error("macro:\n  rows: many\n", {"bad.yaml:2", "macro.rows", "not an integer"});
  expect_error("macro:\n  rows: 66\n", {"macro.rows", "multiple of 4"});
  expect_error("macro:\n  rows: 0\n", {"macro.rows", "must be in [4, 1024]"});
  expect_error("input:\n  mantissa_bits: 8.5\n", {"input.mantissa_bits", "not an integer"});
  expect_error("psum:\n  format: fp8\n", {"psum.format", "'fp8' is not one of"});
  expect_error("adder_tree:\n  overflow: clamp\n", {"adder_tree.overflow", "saturate | wrap"});
  expect_error("clock:\n  mhz: fast\n", {"clock.mhz", "not a number"});
  expect_error("macro: 64\n", {"macro", "group of keys"});
  expect_error("macro:\n  rows:\n    deep: 1\n", {"macro.rows", "not a mapping"});
  expect_error("macro:\n  rows: [32, 64]\n", {"macro.rows", "list"});
  expect_error("input:\n  align_group: half\n", {"input.align_group", "not an integer"});
  expect_error("name: [a]\n", {"name", "string"});
}

TEST(HwConfig, ImpossibleCombinations) {
  expect_error("adder_tree:\n  bits: 20\naccumulator:\n  bits: 16\n", {"accumulator.bits", "narrower"});
  expect_error("input:\n  mantissa_bits: 9\n", {"input.mantissa_bits", "exceeds", "bf16"});
  EXPECT_NO_THROW(parse_hw_config("input:\n  format: fp16\n  mantissa_bits: 11\n", "ok.yaml"));
}

TEST(HwConfig, MalformedYaml) {
  expect_error("macro:\n  rows: 64\n   cols: [\n", {"malformed YAML"});
  expect_error("- a\n- b\n", {"mapping"});
}

TEST(HwConfig, DuplicateKeyRejected) { expect_error("macro:\n  rows: 64\n  rows: 32\n", {"macro.rows"}); }

TEST(HwConfig, MissingFile) {
  try {
    load_hw_config("/nonexistent/hw.yaml");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/hw.yaml"), std::string::npos);
  }
}

TEST(HwConfig, OverridesAreValidated) {
  const HwConfig c = apply_overrides(default_hw_config(), {{"macro.rows", "128"}}, "--set");
  EXPECT_EQ(c.macro_rows, 128);
  EXPECT_THROW(apply_overrides(default_hw_config(), {{"macro.rowz", "128"}}, "--set"), ConfigError);
  EXPECT_THROW(apply_overrides(default_hw_config(), {{"accumulator.bits", "8"}}, "--set"), ConfigError);
}

TEST(HwConfig, MappingChecks) {
  HwConfig c = default_hw_config();
  EXPECT_NO_THROW(check_mapping(c, 32, 4));
  EXPECT_THROW(check_mapping(c, 128, 4), InvalidArgument);
  c.align_group = 48;
  EXPECT_THROW(check_mapping(c, 32, 4), InvalidArgument);
}

TEST(HwConfig, EveryKnobHasDocTypeAndADefaultThatParses) {
  for (const auto& p : hw_params()) {
    EXPECT_FALSE(p.doc.empty()) << p.key;
    EXPECT_EQ(check_param_value(p, p.default_text), "") << p.key;
    EXPECT_NE(p.key.find('.'), std::string::npos) << p.key;
  }
}

TEST(HwConfig, DocsTableIsGeneratedFromTheTable) {
  std::ifstream in(kSource + "/docs/configs.md");
  ASSERT_TRUE(in) << "docs/configs.md missing";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find(hw_params_markdown()), std::string::npos)
      << "docs/configs.md is out of date: paste the output of 'oacim hw-config --markdown'";
}

}  // namespace
}  // namespace oacim::hw
