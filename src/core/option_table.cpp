#include "oacim/core/option_table.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

OptionBuilder::OptionBuilder(std::string name, OptionKind kind, std::string default_text) {
  spec_.name = std::move(name);
  spec_.kind = kind;
  spec_.default_text = std::move(default_text);
}
OptionBuilder& OptionBuilder::cli(std::string spelling, std::vector<std::string> aliases) {
  spec_.cli = std::move(spelling);
  spec_.cli_aliases = std::move(aliases);
  return *this;
}
OptionBuilder& OptionBuilder::key(std::string yaml_key) {
  spec_.key = std::move(yaml_key);
  spec_.declares_key = true;
  return *this;
}
OptionBuilder& OptionBuilder::reads_key(std::string yaml_key) {
  spec_.key = std::move(yaml_key);
  spec_.declares_key = false;
  return *this;
}
OptionBuilder& OptionBuilder::range(double lo, double hi) {
  spec_.min = lo;
  spec_.max = hi;
  return *this;
}
OptionBuilder& OptionBuilder::multiple_of(int m) {
  spec_.multiple_of = m;
  return *this;
}
OptionBuilder& OptionBuilder::choices(std::vector<std::string> values) {
  spec_.choices = std::move(values);
  return *this;
}
OptionBuilder& OptionBuilder::word(std::string w) {
  spec_.word = std::move(w);
  return *this;
}
OptionBuilder& OptionBuilder::unit(std::string u) {
  spec_.unit = std::move(u);
  return *this;
}
OptionBuilder& OptionBuilder::affects(std::string what) {
  spec_.affects = std::move(what);
  return *this;
}
OptionBuilder& OptionBuilder::doc(std::string text) {
  spec_.doc = std::move(text);
  return *this;
}
OptionBuilder& OptionBuilder::json(std::string json_key) {
  spec_.json = std::move(json_key);
  return *this;
}
OptionBuilder& OptionBuilder::required() {
  spec_.required = true;
  return *this;
}
OptionBuilder& OptionBuilder::fixed() {
  spec_.fixed = true;
  return *this;
}
OptionBuilder& OptionBuilder::when(std::function<bool(const OptionLookup&)> condition) {
  spec_.when = std::move(condition);
  return *this;
}

namespace {

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(v);
}

std::string range_reason(const OptionSpec& k, double v) {
  if (k.min == k.max || (v >= k.min && v <= k.max)) return "";
  return fmt::format("must be in [{}, {}]", k.min, k.max);
}

std::string check_int(const OptionSpec& k, const std::string& value) {
  double v = 0;
  if (!parse_double(value, v) || v != std::floor(v) || std::fabs(v) > 9.0e15) {
    return fmt::format("'{}' is not an integer", value);
  }
  const std::string why = range_reason(k, v);
  if (!why.empty()) return why;
  if (k.multiple_of > 1 && std::fmod(v, k.multiple_of) != 0) return fmt::format("{} is not a multiple of {}", value, k.multiple_of);
  return "";
}

std::string check_choice(const OptionSpec& k, const std::string& value) {
  for (const auto& c : k.choices) {
    if (c == value) return "";
  }
  return fmt::format("'{}' is not one of {}", value, fmt::join(k.choices, " | "));
}

std::string check_each(const std::string& value, const std::function<std::string(const std::string&)>& check) {
  for (const auto& item : split_option_list(value)) {
    if (item.empty()) return fmt::format("'{}' holds an empty item", value);
    const std::string why = check(item);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace

std::string check_option_value(const OptionSpec& k, const std::string& value) {
  double v = 0;
  switch (k.kind) {
    case OptionKind::String:
    case OptionKind::Path:
      return value.empty() && k.required ? "must not be empty" : "";
    case OptionKind::Int:
      return check_int(k, value);
    case OptionKind::IntOrWord:
      return value == k.word ? "" : check_int(k, value);
    case OptionKind::Number:
      if (!parse_double(value, v)) return fmt::format("'{}' is not a number", value);
      return range_reason(k, v);
    case OptionKind::OptNumber:
      if (value == "off") return "";
      if (!parse_double(value, v)) return fmt::format("'{}' is neither a number nor off", value);
      return range_reason(k, v);
    case OptionKind::Bool:
      return value == "true" || value == "false" ? "" : fmt::format("'{}' is not true or false", value);
    case OptionKind::Choice:
      return check_choice(k, value);
    case OptionKind::StringList:
      if (value.empty()) return k.required ? "must not be empty" : "";
      return check_each(value, [](const std::string&) { return std::string(); });
    case OptionKind::ChoiceList:
      return check_each(value, [&](const std::string& item) { return check_choice(k, item); });
    case OptionKind::IntList:
      return check_each(value, [&](const std::string& item) { return check_int(k, item); });
    case OptionKind::NumberList:
      return check_each(value, [&](const std::string& item) -> std::string {
        double d = 0;
        if (!parse_double(item, d)) return fmt::format("'{}' is not a number", item);
        return range_reason(k, d);
      });
  }
  return "";
}

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string option_type_text(const OptionSpec& k) {
  std::string type;
  switch (k.kind) {
    case OptionKind::String: type = "string"; break;
    case OptionKind::Path: type = "path"; break;
    case OptionKind::Int: type = "integer"; break;
    case OptionKind::Number: type = "number"; break;
    case OptionKind::Bool: type = "bool"; break;
    case OptionKind::Choice: type = fmt::format("{}", fmt::join(k.choices, " \\| ")); break;
    case OptionKind::OptNumber: type = "number or off"; break;
    case OptionKind::IntOrWord: type = fmt::format("`{}` or integer", k.word); break;
    case OptionKind::StringList: type = "list of strings"; break;
    case OptionKind::ChoiceList: type = fmt::format("list of {}", fmt::join(k.choices, " \\| ")); break;
    case OptionKind::IntList: type = "list of integers"; break;
    case OptionKind::NumberList: type = "list of numbers"; break;
  }
  const bool numeric = k.kind == OptionKind::Int || k.kind == OptionKind::Number || k.kind == OptionKind::IntOrWord ||
                       k.kind == OptionKind::IntList || k.kind == OptionKind::NumberList;
  if (numeric && k.min != k.max) type += fmt::format(" [{}, {}]", k.min, k.max);
  if (k.multiple_of > 1) type += fmt::format(", multiple of {}", k.multiple_of);
  return type;
}

void throw_not_a_choice(const std::string& key, const std::string& text, const std::vector<std::string>& choices) {
  throw InvalidArgument(key, fmt::format("'{}' is not one of {}", text, fmt::join(choices, " | ")));
}

void throw_invalid_option(const std::string& name, const std::string& reason) { throw InvalidArgument(name, reason); }

std::string format_option_number(double v) { return fmt::format("{}", v); }
std::string format_option_number(float v) { return fmt::format("{}", v); }

int parse_option_int(const std::string& text) { return static_cast<int>(parse_option_int64(text)); }

std::int64_t parse_option_int64(const std::string& text) {
  double v = 0;
  if (!parse_double(text, v)) return 0;
  return static_cast<std::int64_t>(v);
}

double parse_option_number(const std::string& text) {
  double v = 0;
  return parse_double(text, v) ? v : 0.0;
}

std::vector<std::string> split_option_list(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join_option_list(const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, ",")); }

nlohmann::json::json_pointer option_json_pointer(const std::string& dotted) {
  std::string p = "/" + dotted;
  for (char& c : p) {
    if (c == '.') c = '/';
  }
  return nlohmann::json::json_pointer(p);
}

}  // namespace oacim
