#pragma once
// The one engine behind every option family (hardware knobs; calib, quantize, tweak and eval
// options; experiment keys), in the gem5 manner: an option is declared once, with its library
// name, CLI spelling, experiment key, type, unit, default, range and doc, and bound to the field
// of the options struct it sets. The CLI parser, the YAML schema and its validator, the sweep's
// task command lines, the JSON written with results and docs/configs.md are generated from these
// declarations (so they cannot drift). No torch.
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace oacim {

enum class OptionKind {
  String,      // free text
  Path,        // a file or directory; relative paths are taken from the working directory
  Int,
  Number,
  Bool,        // on the command line a switch (present = true)
  Choice,      // one of `choices`
  OptNumber,   // a number, or `off` (the check is disabled)
  IntOrWord,   // an integer, or the one word `word` (e.g. hw's `block`)
  StringList,  // a list is the value itself (never a sweep axis); comma-separated on the command line
  ChoiceList,  // a list of `choices`, the value itself
  IntList,     // comma-separated integers on the command line
  NumberList,  // comma-separated numbers on the command line
};

// Looks up the value (as text) of another option of the same family by its library name.
using OptionLookup = std::function<std::string(const std::string& name)>;

struct OptionSpec {
  std::string name;                   // library name ("block_size"); the library's errors name it
  std::string cli;                    // CLI spelling without "--" ("block-size"); "" = not on the command line
  std::vector<std::string> cli_aliases;  // older spellings still accepted ("n" for "nsamples")
  std::string key;                    // experiment / hardware YAML key ("quantization.block_size"); "" = none
  bool declares_key = true;           // false: reads `key`, which another family's option declares
  OptionKind kind = OptionKind::String;
  std::string default_text;           // as written in YAML or on the command line; "" = none
  bool required = false;
  bool fixed = false;                 // experiment files: one value for the whole sweep (never swept)
  std::vector<std::string> choices;   // Choice / ChoiceList
  double min = 0, max = 0;            // numeric kinds: inclusive range (min == max: unbounded)
  int multiple_of = 1;                // Int / IntOrWord
  std::string word;                   // IntOrWord
  std::string unit;                   // "bits", "cycles", "tokens", ...
  std::string affects;                // hardware knobs: "numerics" or "cycles, counters"
  std::string doc;
  std::string json;                   // key in the results JSON (dots nest), "" = not written
  // The sweep passes the option to its task (and the JSON writes it) only when this holds.
  std::function<bool(const OptionLookup&)> when;

  bool is_list() const {
    return kind == OptionKind::StringList || kind == OptionKind::ChoiceList || kind == OptionKind::IntList ||
           kind == OptionKind::NumberList;
  }
  bool applies(const OptionLookup& values) const { return !when || when(values); }
};

// Fluent declaration: option("wbits", OptionKind::Int, "4").range(2, 4).cli("wbits").doc("...").
class OptionBuilder {
 public:
  OptionBuilder(std::string name, OptionKind kind, std::string default_text);
  OptionBuilder& cli(std::string spelling, std::vector<std::string> aliases = {});
  OptionBuilder& key(std::string yaml_key);
  OptionBuilder& reads_key(std::string yaml_key);  // takes the value of a key declared elsewhere
  OptionBuilder& range(double lo, double hi);
  OptionBuilder& multiple_of(int m);
  OptionBuilder& choices(std::vector<std::string> values);
  OptionBuilder& word(std::string w);
  OptionBuilder& unit(std::string u);
  OptionBuilder& affects(std::string what);
  OptionBuilder& doc(std::string text);
  OptionBuilder& json(std::string json_key);
  OptionBuilder& required();
  OptionBuilder& fixed();
  OptionBuilder& when(std::function<bool(const OptionLookup&)> condition);
  operator OptionSpec() const { return spec_; }  // NOLINT: a builder is written where a spec is wanted
  const OptionSpec& spec() const { return spec_; }

 private:
  OptionSpec spec_;
};
inline OptionBuilder option(std::string name, OptionKind kind, std::string default_text = "") {
  return OptionBuilder(std::move(name), kind, std::move(default_text));
}

// "" when `value` (already unquoted text) is valid for `spec`, else the reason.
std::string check_option_value(const OptionSpec& spec, const std::string& value);
// Text for a Markdown table cell: `|` escaped.
std::string markdown_cell(const std::string& text);
// The type column of a docs table: "integer [2, 4]", "rtn \| gptq", "list of strings", ...
std::string option_type_text(const OptionSpec& spec);

// ---- names of enums, declared once (to_string, parsing and the choices all read them) ----
template <class E>
using EnumNames = std::vector<std::pair<E, std::string>>;

template <class E>
std::vector<std::string> enum_choices(const EnumNames<E>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(n.second);
  return out;
}
template <class E>
const std::string& enum_name(const EnumNames<E>& names, E value) {
  for (const auto& n : names) {
    if (n.first == value) return n.second;
  }
  static const std::string kUnknown = "?";
  return kUnknown;
}
// Throws InvalidArgument(key, "'x' is not one of a | b | c").
[[noreturn]] void throw_not_a_choice(const std::string& key, const std::string& text, const std::vector<std::string>& choices);
template <class E>
E enum_value(const EnumNames<E>& names, const std::string& text, const std::string& key) {
  for (const auto& n : names) {
    if (n.second == text) return n.first;
  }
  throw_not_a_choice(key, text, enum_choices(names));
}

// ---- text <-> typed values of option fields ----
std::string format_option_number(double v);  // shortest text that reads back to the same double
std::string format_option_number(float v);   // shortest text that reads back to the same float
int parse_option_int(const std::string& text);
std::int64_t parse_option_int64(const std::string& text);
double parse_option_number(const std::string& text);
std::vector<std::string> split_option_list(const std::string& text);  // "a,b" -> {a, b}; "" -> {}
std::string join_option_list(const std::vector<std::string>& items);

// An option bound to the field of an options struct T that it sets.
template <class T>
struct Option : OptionSpec {
  std::function<void(T&, const std::string&)> set;   // receives a value check_option_value accepted
  std::function<std::string(const T&)> get;          // the value as text, as the CLI and YAML spell it
  std::function<nlohmann::json(const T&)> to_json;   // the typed value written into results
};

namespace option_detail {
template <class V>
void from_text(const std::string& s, V& out) {
  if constexpr (std::is_same_v<V, bool>) {
    out = s == "true";
  } else if constexpr (std::is_same_v<V, std::string>) {
    out = s;
  } else if constexpr (std::is_same_v<V, int>) {
    out = parse_option_int(s);
  } else if constexpr (std::is_same_v<V, std::int64_t> || std::is_same_v<V, std::uint64_t>) {
    out = static_cast<V>(parse_option_int64(s));
  } else if constexpr (std::is_floating_point_v<V>) {
    out = static_cast<V>(parse_option_number(s));
  } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
    out = split_option_list(s);
  } else if constexpr (std::is_same_v<V, std::vector<int>>) {
    out.clear();
    for (const auto& item : split_option_list(s)) out.push_back(parse_option_int(item));
  } else if constexpr (std::is_same_v<V, std::vector<double>>) {
    out.clear();
    for (const auto& item : split_option_list(s)) out.push_back(parse_option_number(item));
  } else {
    static_assert(sizeof(V) == 0, "no text conversion for this option field type");
  }
}
template <class V>
std::string to_text(const V& v) {
  if constexpr (std::is_same_v<V, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_same_v<V, std::string>) {
    return v;
  } else if constexpr (std::is_integral_v<V>) {
    return std::to_string(v);
  } else if constexpr (std::is_floating_point_v<V>) {
    return format_option_number(v);
  } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
    return join_option_list(v);
  } else {
    std::vector<std::string> items;
    for (const auto& x : v) items.push_back(to_text(x));
    return join_option_list(items);
  }
}
}  // namespace option_detail

// Binds `spec` to the field `access(t)` returns (a reference; a generic lambda serves const and
// non-const structs): bind<T>(spec, [](auto& o) -> auto& { return o.layer.percdamp; }).
template <class T, class Access>
Option<T> bind(const OptionSpec& spec, Access access) {
  Option<T> o;
  static_cast<OptionSpec&>(o) = spec;
  o.set = [access](T& t, const std::string& v) { option_detail::from_text(v, access(t)); };
  o.get = [access](const T& t) { return option_detail::to_text(access(t)); };
  o.to_json = [access](const T& t) { return nlohmann::json(access(t)); };
  return o;
}

// Binds an enum field through its names table; the spec's choices are the table's names.
template <class T, class E, class Access>
Option<T> bind_enum(OptionSpec spec, const EnumNames<E>& names, Access access) {
  spec.choices = enum_choices(names);
  Option<T> o;
  static_cast<OptionSpec&>(o) = std::move(spec);
  const std::string name = o.name;
  o.set = [access, &names, name](T& t, const std::string& v) { access(t) = enum_value(names, v, name); };
  o.get = [access, &names](const T& t) { return enum_name(names, access(t)); };
  o.to_json = [access, &names](const T& t) { return nlohmann::json(enum_name(names, access(t))); };
  return o;
}

// Binds an option through explicit functions (a derived or inverted field).
template <class T>
Option<T> bind_custom(const OptionSpec& spec, std::function<void(T&, const std::string&)> set,
                      std::function<std::string(const T&)> get, std::function<nlohmann::json(const T&)> to_json = {}) {
  Option<T> o;
  static_cast<OptionSpec&>(o) = spec;
  o.set = std::move(set);
  o.get = std::move(get);
  o.to_json = to_json ? std::move(to_json) : [g = o.get](const T& t) { return nlohmann::json(g(t)); };
  return o;
}

template <class T>
const Option<T>* find_option(const std::vector<Option<T>>& table, const std::string& name) {
  for (const auto& o : table) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

// The values of every option of `table` in `t`, by library name (the lookup `when` reads).
template <class T>
OptionLookup option_lookup(const std::vector<Option<T>>& table, const T& t) {
  return [&table, &t](const std::string& name) {
    const Option<T>* o = find_option(table, name);
    return o ? o->get(t) : std::string();
  };
}

// Sets `name` to `value` after checking it; throws InvalidArgument(`name`, reason).
void throw_invalid_option(const std::string& name, const std::string& reason);
template <class T>
void set_option(const std::vector<Option<T>>& table, T& t, const std::string& name, const std::string& value) {
  const Option<T>* o = find_option(table, name);
  if (!o) throw_invalid_option(name, "no such option");
  const std::string why = check_option_value(*o, value);
  if (!why.empty()) throw_invalid_option(name, why);
  o->set(t, value);
}

// "a.b" -> the JSON pointer /a/b.
nlohmann::json::json_pointer option_json_pointer(const std::string& dotted);

// The options of `t` that have a JSON key and apply, as one object (dotted keys nest).
template <class T>
nlohmann::json options_to_json(const std::vector<Option<T>>& table, const T& t) {
  nlohmann::json j = nlohmann::json::object();
  const OptionLookup values = option_lookup(table, t);
  for (const auto& o : table) {
    if (!o.json.empty() && o.applies(values)) j[option_json_pointer(o.json)] = o.to_json(t);
  }
  return j;
}

}  // namespace oacim
