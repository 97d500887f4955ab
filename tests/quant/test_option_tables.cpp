// Every command's option table against the struct it sets: a default-constructed options struct
// reads back exactly the declared defaults (so --help, the schema and docs cannot promise another
// value than the library uses), every declared default passes its own check, CLI spellings and
// experiment keys are unique, and options that name a key declared elsewhere find it.
#include <gtest/gtest.h>

#include <set>

#include "oacim/eval/eval_options.hpp"
#include "oacim/model/calibration_options.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/sweep/experiment_schema.hpp"
#include "oacim/tweak/tweak_options.hpp"

namespace oacim {
namespace {

// Two option texts mean the same value (numbers compared as numbers: "1e-5" and "1e-05").
bool same_value(const OptionSpec& o, const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (o.kind != OptionKind::Number && o.kind != OptionKind::NumberList) return false;
  return parse_option_number(a) == parse_option_number(b) && !a.empty() && !b.empty();
}

template <class T>
void check_table(const std::vector<Option<T>>& table, const char* command) {
  const T defaults{};
  std::set<std::string> spellings, names;
  for (const auto& o : table) {
    EXPECT_FALSE(o.doc.empty()) << command << " " << o.name;
    EXPECT_TRUE(names.insert(o.name).second) << command << ": option " << o.name << " declared twice";
    if (!o.cli.empty()) {
      EXPECT_TRUE(spellings.insert(o.cli).second) << command << ": --" << o.cli << " twice";
    }
    for (const auto& a : o.cli_aliases) EXPECT_TRUE(spellings.insert(a).second) << command << ": --" << a << " twice";
    if (o.required) continue;
    EXPECT_TRUE(same_value(o, o.get(defaults), o.default_text))
        << command << " " << o.name << ": the struct starts at '" << o.get(defaults) << "', the table says '"
        << o.default_text << "'";
    if (!o.default_text.empty()) {
      EXPECT_EQ(check_option_value(o, o.default_text), "") << command << " " << o.name;
    }
    if (o.kind == OptionKind::Bool) {
      EXPECT_EQ(o.default_text, "false") << command << " " << o.name << ": switches are off by default";
    }
    if (!o.key.empty()) {
      const OptionSpec* k = sweep::find_experiment_key(o.key);
      ASSERT_NE(k, nullptr) << command << " " << o.name << ": key " << o.key << " is not in the schema";
      if (o.declares_key) {
        EXPECT_EQ(k->default_text, o.default_text) << o.key;
      }
    }
  }
}

TEST(OptionTables, StructDefaultsAreTheDeclaredDefaults) {
  check_table(model::calib_options(), "calib");
  check_table(quant::quantize_options(), "quantize");
  check_table(tweak::tweak_options(), "tweak");
  check_table(eval::eval_options(), "eval");
}

TEST(OptionTables, MethodChoicesComeFromTheEnumNames) {
  const auto* method = find_option(quant::quantize_options(), "method");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ(method->choices, enum_choices(quant::method_names()));
  EXPECT_EQ(sweep::find_experiment_key("quantization.method")->choices, method->choices);
}

TEST(OptionTables, QuantizeJsonKeepsItsFieldsAndNestsDiscQuant) {
  quant::QuantizeRunOptions o;
  o.layer.method = quant::Method::Rtn;
  quant::resolve(o);
  nlohmann::json j = quant::quantize_options_json(o);
  EXPECT_EQ(j["method"], "rtn");
  EXPECT_EQ(j["max_offset"], 1);
  EXPECT_EQ(j["per_row_stats"], true);
  EXPECT_FALSE(j.contains("discquant"));
  EXPECT_FALSE(j.contains("incoherence_seed"));
  EXPECT_FALSE(j.contains("calib"));  // RTN reads no calibration
  o.layer.method = quant::Method::DiscQuant;
  o.incoherence = "hadamard";
  j = quant::quantize_options_json(o);
  EXPECT_EQ(j["discquant"]["steps"], 1024);
  EXPECT_EQ(j["incoherence_seed"], 0);
  EXPECT_EQ(j["calib"], "self");
}

}  // namespace
}  // namespace oacim
