// The option engine: value checks per kind (the messages users see), typed bindings that read back
// what they set, enum names, options JSON with nested keys and conditions, and the YAML key walker.
#include <gtest/gtest.h>

#include <string>

#include "oacim/core/error.hpp"
#include "oacim/core/option_table.hpp"
#include "oacim/core/yaml_keys.hpp"

namespace oacim {
namespace {

using K = OptionKind;

TEST(OptionTable, ChecksValuesByKind) {
  const OptionSpec i = option("n", K::Int, "4").range(2, 8).multiple_of(2);
  EXPECT_EQ(check_option_value(i, "4"), "");
  EXPECT_EQ(check_option_value(i, "10"), "must be in [2, 8]");
  EXPECT_EQ(check_option_value(i, "5"), "5 is not a multiple of 2");
  EXPECT_EQ(check_option_value(i, "4.5"), "'4.5' is not an integer");
  EXPECT_EQ(check_option_value(i, ""), "'' is not an integer");
  EXPECT_EQ(check_option_value(option("x", K::Number).range(0, 1), "nan"), "'nan' is not a number");
  EXPECT_EQ(check_option_value(option("x", K::Number).range(0, 1), "1e400"), "'1e400' is not a number");
  EXPECT_EQ(check_option_value(option("x", K::OptNumber), "off"), "");
  EXPECT_EQ(check_option_value(option("x", K::OptNumber), "of"), "'of' is neither a number nor off");
  EXPECT_EQ(check_option_value(option("b", K::Bool), "yes"), "'yes' is not true or false");
  const OptionSpec c = option("c", K::Choice).choices({"a", "b"});
  EXPECT_EQ(check_option_value(c, "c"), "'c' is not one of a | b");
  const OptionSpec w = option("g", K::IntOrWord, "block").word("block").range(4, 64).multiple_of(4);
  EXPECT_EQ(check_option_value(w, "block"), "");
  EXPECT_EQ(check_option_value(w, "half"), "'half' is not an integer");
  EXPECT_EQ(check_option_value(option("l", K::NumberList).range(0, 1), "0.5,x"), "'x' is not a number");
  EXPECT_EQ(check_option_value(option("l", K::IntList).range(1, 9), "3,,4"), "'3,,4' holds an empty item");
  EXPECT_EQ(check_option_value(option("l", K::ChoiceList).choices({"a", "b"}), "a,c"), "'c' is not one of a | b");
  EXPECT_EQ(check_option_value(option("p", K::Path).required(), ""), "must not be empty");
}

struct Target {
  int count = 3;
  double rate = 0.25;
  float damp = 0.01f;
  bool on = false;
  std::string name = "x";
  std::uint64_t seed = 7;
  std::vector<int> lengths = {3, 4};
  enum class Mode { Fast, Exact } mode = Mode::Fast;
};

const EnumNames<Target::Mode>& mode_names() {
  static const EnumNames<Target::Mode> kNames = {{Target::Mode::Fast, "fast"}, {Target::Mode::Exact, "exact"}};
  return kNames;
}

std::vector<Option<Target>> table() {
  return {
      bind<Target>(option("count", K::Int, "3").json("count"), [](auto& t) -> auto& { return t.count; }),
      bind<Target>(option("rate", K::Number, "0.25").json("group.rate"), [](auto& t) -> auto& { return t.rate; }),
      bind<Target>(option("damp", K::Number, "0.01").json("damp"), [](auto& t) -> auto& { return t.damp; }),
      bind<Target>(option("on", K::Bool, "false").json("on"), [](auto& t) -> auto& { return t.on; }),
      bind<Target>(option("name", K::String, "x").json("group.name").when([](const OptionLookup& v) { return v("on") == "true"; }),
                   [](auto& t) -> auto& { return t.name; }),
      bind<Target>(option("seed", K::Int, "7"), [](auto& t) -> auto& { return t.seed; }),
      bind<Target>(option("lengths", K::IntList, "3,4"), [](auto& t) -> auto& { return t.lengths; }),
      bind_enum<Target>(option("mode", K::Choice, "fast").json("mode"), mode_names(), [](auto& t) -> auto& { return t.mode; }),
  };
}

TEST(OptionTable, BindingsReadBackWhatTheySetAndStartAtTheirDefaults) {
  const auto t = table();
  const Target defaults;
  for (const auto& o : t) EXPECT_EQ(o.get(defaults), o.default_text) << o.name;
  Target x;
  set_option(t, x, "count", "5");
  set_option(t, x, "rate", "1e-05");
  set_option(t, x, "seed", "4294967296");
  set_option(t, x, "lengths", "5,6,7");
  set_option(t, x, "mode", "exact");
  EXPECT_EQ(x.count, 5);
  EXPECT_EQ(x.rate, 1e-5);
  EXPECT_EQ(x.seed, 4294967296ull);
  EXPECT_EQ(x.lengths, (std::vector<int>{5, 6, 7}));
  EXPECT_EQ(x.mode, Target::Mode::Exact);
  EXPECT_EQ(find_option(t, "rate")->get(x), "1e-05");
  EXPECT_EQ(find_option(t, "mode")->choices, (std::vector<std::string>{"fast", "exact"}));
  EXPECT_THROW(set_option(t, x, "count", "many"), InvalidArgument);
  EXPECT_THROW(set_option(t, x, "mode", "slow"), InvalidArgument);
  EXPECT_THROW(set_option(t, x, "nothing", "1"), InvalidArgument);
}

TEST(OptionTable, JsonNestsDottedKeysAndHonoursConditions) {
  const auto t = table();
  Target x;
  nlohmann::json j = options_to_json(t, x);
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["group"]["rate"], 0.25);
  EXPECT_EQ(j["damp"], nlohmann::json(0.01f));  // typed: the float itself, as results always wrote it
  EXPECT_EQ(j["mode"], "fast");
  EXPECT_FALSE(j["group"].contains("name"));  // `name` applies only when `on`
  x.on = true;
  j = options_to_json(t, x);
  EXPECT_EQ(j["group"]["name"], "x");
}

TEST(OptionTable, NumbersPrintShortestExact) {
  EXPECT_EQ(format_option_number(0.01), "0.01");
  EXPECT_EQ(format_option_number(1e-5), "1e-05");
  EXPECT_EQ(format_option_number(1000.0), "1000");
  EXPECT_EQ(format_option_number(0.1f), "0.1");
  EXPECT_EQ(format_option_number(static_cast<double>(0.1f)), "0.10000000149011612");
  EXPECT_EQ(split_option_list(""), std::vector<std::string>{});
  EXPECT_EQ(split_option_list("a,,b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(markdown_cell("a | b"), "a \\| b");
}

TEST(YamlKeys, WalksDottedKeysAndNamesEveryError) {
  const std::vector<std::string> keys = {"macro.rows", "macro.cols", "name"};
  auto walk = [&](const std::string& text) {
    std::map<std::string, std::string> got;
    YamlKeyWalk w;
    w.file = "f.yaml";
    w.keys = keys;
    w.hint = "see the table";
    w.value = [&](const std::string& key, const YAML::Node& v, int) { got[key] = v.Scalar(); };
    walk_yaml_keys(load_yaml(text, "f.yaml"), w);
    return got;
  };
  EXPECT_EQ(walk("macro:\n  rows: 64\nmacro.cols: 8\n"), (std::map<std::string, std::string>{{"macro.rows", "64"}, {"macro.cols", "8"}}));
  auto error = [&](const std::string& text) {
    try {
      walk(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error("macro:\n  rowz: 1\n"), "f.yaml:2: macro.rowz: unknown key (did you mean 'macro.rows'?); see the table");
  EXPECT_EQ(error("macro: 3\n"), "f.yaml:1: macro: is a section: give it a mapping (it is a group of keys, not a value)");
  EXPECT_EQ(error("name:\n  a: 1\n"), "f.yaml:1: name: takes a value, not a mapping");
  EXPECT_EQ(error("macro:\n  rows: 1\n  rows: 2\n"), "f.yaml:3: macro.rows: given twice");
  EXPECT_EQ(error("macro: {rows: 1\n").rfind("f.yaml:2: malformed YAML", 0), 0u);
  EXPECT_EQ(error("[1]: 2\n"), "f.yaml:1: keys must be strings");
}

}  // namespace
}  // namespace oacim
