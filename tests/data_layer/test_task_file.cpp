// Task files: both kinds, lm-eval's delimiter and normalisation bytes, and every refusal naming
// the file, the line and the key.
#include <gtest/gtest.h>

#include "oacim/core/error.hpp"
#include "oacim/data/task_file.hpp"

namespace oacim::data {
namespace {

TEST(TaskFile, MultipleChoicePutsTheDelimiterBeforeEveryChoice) {
  const TaskFile f = parse_task_file(
      "{\"id\": \"q1\", \"context\": \"Q?\", \"choices\": [\"yes\", \"no\"], \"gold\": 1}\n\n"
      "{\"context\": \"Q2\", \"choices\": [\"a\"], \"gold\": 0, \"target_delimiter\": \"\"}\n",
      "/x/quiz.jsonl");
  EXPECT_EQ(f.name, "quiz");
  EXPECT_EQ(f.kind, TaskKind::MultipleChoice);
  ASSERT_EQ(f.documents.size(), 2u);
  EXPECT_EQ(f.documents[0].id, "q1");
  EXPECT_EQ(f.documents[0].continuations, (std::vector<std::string>{" yes", " no"}));
  EXPECT_EQ(f.documents[0].norm_bytes, (std::vector<std::size_t>{3, 2}));
  EXPECT_EQ(f.documents[0].gold, 1);
  EXPECT_EQ(f.documents[1].id, "3");  // the line number
  EXPECT_EQ(f.documents[1].continuations, (std::vector<std::string>{"a"}));
}

TEST(TaskFile, LastWordSplitsTextAtItsLastSpace) {
  const TaskFile f = parse_task_file("{\"text\": \"the cat sat\"}\n{\"context\": \"x\", \"continuation\": \" y\"}\n", "l.jsonl");
  EXPECT_EQ(f.kind, TaskKind::LastWord);
  EXPECT_EQ(f.documents[0].context, "the cat");
  EXPECT_EQ(f.documents[0].continuations[0], " sat");
  EXPECT_EQ(f.documents[1].continuations[0], " y");
}

TEST(TaskFile, RefusesWhatItCannotScore) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "holds no documents"},
      {"{\"context\": 1, \"choices\": [\"a\"], \"gold\": 0}", "line 1: 'context' is not a string"},
      {"{\"context\": \"c\", \"choices\": [], \"gold\": 0}", "line 1: 'choices' must be a list"},
      {"{\"context\": \"c\", \"choices\": [\"\"], \"gold\": 0}", "line 1: 'choices'[0] is not a non-empty string"},
      {"{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 3}", "line 1: 'gold' 3 is outside the 1 choices"},
      {"{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": \"0\"}", "line 1: 'gold' must be the index"},
      {"{\"text\": \"oneword\"}", "line 1: 'text' needs a context and a last word"},
      {"{\"context\": \"c\", \"continuation\": \"\"}", "line 1: 'continuation' is empty"},
      {"{\"text\": \"a b\"}\n{\"context\": \"c\", \"choices\": [\"a\"], \"gold\": 0}", "line 2: a multiple_choice document in a last_word task"},
      {"not json", "line 1: not JSON"},
      {"[1, 2]", "line 1: not a JSON object"},
  };
  for (const auto& [text, message] : bad) {
    try {
      (void)parse_task_file(text, "t.jsonl");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("t.jsonl"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace oacim::data
