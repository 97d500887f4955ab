#include "oacim/data/task_file.hpp"

#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"

namespace oacim::data {

namespace {

using nlohmann::json;

std::string string_field(const json& doc, const char* key, const std::string& path, int line) {
  if (!doc.contains(key)) throw FormatError(path, fmt::format("line {}: '{}' is missing", line, key));
  if (!doc.at(key).is_string()) throw FormatError(path, fmt::format("line {}: '{}' is not a string", line, key));
  return doc.at(key).get<std::string>();
}

TaskDocument multiple_choice(const json& doc, const std::string& path, int line) {
  TaskDocument d;
  d.context = string_field(doc, "context", path, line);
  const std::string delimiter = doc.contains("target_delimiter") ? string_field(doc, "target_delimiter", path, line) : " ";
  const json& choices = doc.at("choices");
  if (!choices.is_array() || choices.empty() || choices.size() > kMaxTaskChoices) {
    throw FormatError(path, fmt::format("line {}: 'choices' must be a list of 1 to {} strings", line, kMaxTaskChoices));
  }
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (!choices[i].is_string() || choices[i].get<std::string>().empty()) {
      throw FormatError(path, fmt::format("line {}: 'choices'[{}] is not a non-empty string", line, i));
    }
    d.continuations.push_back(delimiter + choices[i].get<std::string>());
    d.norm_bytes.push_back(choices[i].get<std::string>().size());
  }
  if (!doc.contains("gold") || !doc.at("gold").is_number_integer()) {
    throw FormatError(path, fmt::format("line {}: 'gold' must be the index of the right choice", line));
  }
  const auto gold = doc.at("gold").get<long long>();
  if (gold < 0 || gold >= static_cast<long long>(choices.size())) {
    throw FormatError(path, fmt::format("line {}: 'gold' {} is outside the {} choices", line, gold, choices.size()));
  }
  d.gold = static_cast<int>(gold);
  return d;
}

TaskDocument last_word(const json& doc, const std::string& path, int line) {
  TaskDocument d;
  if (doc.contains("text")) {
    const std::string text = string_field(doc, "text", path, line);
    const auto space = text.rfind(' ');
    if (space == std::string::npos || space == 0 || space + 1 == text.size()) {
      throw FormatError(path, fmt::format("line {}: 'text' needs a context and a last word after a space", line));
    }
    d.context = text.substr(0, space);
    d.continuations = {text.substr(space)};
  } else {
    d.context = string_field(doc, "context", path, line);
    d.continuations = {string_field(doc, "continuation", path, line)};
    if (d.continuations[0].empty()) throw FormatError(path, fmt::format("line {}: 'continuation' is empty", line));
  }
  d.norm_bytes = {d.continuations[0].size()};
  return d;
}

}  // namespace

std::string to_string(TaskKind kind) { return kind == TaskKind::MultipleChoice ? "multiple_choice" : "last_word"; }

TaskFile parse_task_file(const std::string& text, const std::string& path) {
  TaskFile f;
  f.path = path;
  f.name = std::filesystem::path(path).stem().string();
  std::istringstream in(text);
  std::string line_text;
  int line = 0;
  bool kind_known = false;
  while (std::getline(in, line_text)) {
    ++line;
    if (line_text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json doc;
    try {
      doc = json::parse(line_text);
    } catch (const json::exception& e) {
      throw FormatError(path, fmt::format("line {}: not JSON ({})", line, e.what()));
    }
    if (!doc.is_object()) throw FormatError(path, fmt::format("line {}: not a JSON object", line));
    const TaskKind kind = doc.contains("choices") ? TaskKind::MultipleChoice : TaskKind::LastWord;
    if (kind_known && kind != f.kind) {
      throw FormatError(path, fmt::format("line {}: a {} document in a {} task (one kind per file)", line, to_string(kind),
                                          to_string(f.kind)));
    }
    f.kind = kind;
    kind_known = true;
    TaskDocument d = kind == TaskKind::MultipleChoice ? multiple_choice(doc, path, line) : last_word(doc, path, line);
    d.id = doc.contains("id") ? (doc.at("id").is_string() ? doc.at("id").get<std::string>() : doc.at("id").dump())
                              : std::to_string(line);
    f.documents.push_back(std::move(d));
    if (f.documents.size() > kMaxTaskDocuments) {
      throw FormatError(path, fmt::format("more than {} documents", kMaxTaskDocuments));
    }
  }
  if (f.documents.empty()) throw FormatError(path, "holds no documents");
  return f;
}

TaskFile read_task_file(const std::string& path) { return parse_task_file(read_whole_file(path), path); }

}  // namespace oacim::data
