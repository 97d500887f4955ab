#include "oacim/model/tokenizer_json.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"

namespace oacim::model {

namespace {

// Visits a pre-tokenizer / normalizer / decoder node and the steps of a Sequence.
template <typename F>
void visit(const nlohmann::json& node, const F& f) {
  if (!node.is_object()) return;
  f(node);
  for (const char* key : {"pretokenizers", "normalizers", "decoders"}) {
    if (node.contains(key) && node[key].is_array()) {
      for (const auto& child : node[key]) visit(child, f);
    }
  }
}

// node[key] when it is a string (or `fallback` when absent); FormatError when it is another type.
std::string string_field(const nlohmann::json& node, const char* key, const std::string& path) {
  if (!node.contains(key) || node[key].is_null()) return "";
  if (!node[key].is_string()) throw FormatError(path, fmt::format("'{}' is not a string", key));
  return node[key].get<std::string>();
}
bool bool_field(const nlohmann::json& node, const char* key, const std::string& path) {
  if (!node.contains(key) || node[key].is_null()) return false;
  if (!node[key].is_boolean()) throw FormatError(path, fmt::format("'{}' is not true or false", key));
  return node[key].get<bool>();
}

}  // namespace

TokenizerJson read_tokenizer_json(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  TokenizerJson t;
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) throw FormatError(path, "has no 'model' object");
  const nlohmann::json& m = j["model"];
  const std::string type = string_field(m, "type", path);
  if (type != "BPE") throw FormatError(path, fmt::format("model.type is '{}'; only BPE tokenizers are read", type));
  if (!m.contains("vocab") || !m["vocab"].is_object() || m["vocab"].empty()) {
    throw FormatError(path, "model.vocab must be a non-empty object of piece -> id");
  }
  for (const auto& [piece, id] : m["vocab"].items()) {
    if (!id.is_number_integer()) throw FormatError(path, fmt::format("model.vocab['{}'] is not an integer id", piece));
    t.vocab.emplace_back(piece, id.get<int>());
  }
  if (!m.contains("merges") || !m["merges"].is_array()) throw FormatError(path, "model.merges must be an array");
  std::size_t k = 0;
  for (const auto& e : m["merges"]) {
    if (e.is_string()) {  // "a b" (tokenizers < 0.20)
      const std::string s = e.get<std::string>();
      const std::size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size()) {
        throw FormatError(path, fmt::format("model.merges[{}] = '{}' is not two symbols separated by a space", k, s));
      }
      t.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {  // ["a", "b"]
      t.merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      throw FormatError(path, fmt::format("model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", k));
    }
    ++k;
  }
  t.byte_fallback = bool_field(m, "byte_fallback", path);
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string()) {
        throw FormatError(path, "added_tokens entries need an integer 'id' and a string 'content'");
      }
      t.vocab.emplace_back(a["content"].get<std::string>(), a["id"].get<int>());
      if (bool_field(a, "special", path)) t.special_ids.push_back(a["id"].get<int>());
    }
  }
  const auto steps = [&](const nlohmann::json& node) {
    const std::string ty = string_field(node, "type", path);
    if (ty == "ByteLevel") t.byte_level = true;
    if (ty == "Split") t.split_regex = true;
    if (ty == "Metaspace") t.metaspace = true;
    if (ty == "Replace" && node.contains("content") && node["content"] == "\xE2\x96\x81") t.metaspace = true;
  };
  if (j.contains("pre_tokenizer")) visit(j["pre_tokenizer"], steps);
  if (j.contains("normalizer")) visit(j["normalizer"], steps);
  return t;
}

}  // namespace oacim::model
