#pragma once
// Zero-shot task files (docs/models.md, "Task files"): JSON lines, one document each, in the shape
// of lm-evaluation-harness's documents after its doc_to_text / doc_to_choice / doc_to_target:
//   multiple choice  {"context": "...", "choices": ["...", ...], "gold": 0}
//                    optional "target_delimiter" (default " "), put before every choice as
//                    lm-eval does; acc_norm divides by the choice's UTF-8 bytes without it
//   last word        {"context": "...", "continuation": " word"}   (scored as given), or
//                    {"text": "..."}: context = every word but the last, continuation = " " + the
//                    last word (LAMBADA as lm-eval's lambada_openai splits it)
// One kind per file; an optional "id" per line. No torch.
#include <cstddef>
#include <string>
#include <vector>

namespace oacim::data {

enum class TaskKind { MultipleChoice, LastWord };
std::string to_string(TaskKind kind);  // "multiple_choice" | "last_word"

struct TaskDocument {
  std::string id;                         // "id" or the line number
  std::string context;
  std::vector<std::string> continuations; // what is scored after the context (choices with their delimiter)
  std::vector<std::size_t> norm_bytes;    // multiple choice: UTF-8 bytes of each choice without the delimiter
  int gold = 0;                           // multiple choice: the index of the right choice
};

struct TaskFile {
  std::string path;
  std::string name;  // the file name without its extension
  TaskKind kind = TaskKind::MultipleChoice;
  std::vector<TaskDocument> documents;
};

inline constexpr std::size_t kMaxTaskDocuments = 1'000'000;
inline constexpr std::size_t kMaxTaskChoices = 64;

// FormatError naming the file, the line and the key: not JSON, a missing or mistyped field, an
// empty choice or continuation, a gold index outside the choices, kinds mixed, no documents.
TaskFile read_task_file(const std::string& path);
// The same from text (`path` names it in errors).
TaskFile parse_task_file(const std::string& text, const std::string& path);

}  // namespace oacim::data
