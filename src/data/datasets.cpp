#include "oacim/data/datasets.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/data/c4.hpp"
#include "oacim/data/dataset_files.hpp"

namespace oacim::data {

namespace {

// Lines with their trailing newline, like Python's splitlines(keepends=True) on "\n" text.
std::vector<std::string> lines_keep_ends(const std::string& text) {
  std::vector<std::string> rows;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    rows.push_back(text.substr(start, end - start));
    start = end;
  }
  return rows;
}

std::string join(const std::vector<std::string>& rows, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) out += sep;
    out += rows[i];
  }
  return out;
}

}  // namespace

std::string dataset_text(const std::string& name, const std::string& data_dir) {
  if (name == "wikitext2") {
    return join(lines_keep_ends(read_whole_file(existing_dataset_file(name, data_dir, "dataset"))), "\n\n");
  }
  if (name == "ptb" || name == "ptb-new") {
    std::vector<std::string> rows = lines_keep_ends(read_whole_file(existing_dataset_file(name, data_dir, "dataset")));
    for (auto& r : rows) {
      if (!r.empty() && r.back() == '\n') r.pop_back();  // the HF dataset's `sentence` has no newline
    }
    return join(rows, name == "ptb" ? "\n\n" : " ");
  }
  if (name == "c4" || name == "c4-new") {
    throw InvalidArgument("dataset", fmt::format("'{}' is built from documents, not one text (dataset_tokens)", name));
  }
  return read_whole_file(name);
}

std::vector<int> dataset_tokens(const std::string& name, const std::string& data_dir,
                                const std::function<std::vector<int>(const std::string&)>& tokenize, int seqlen) {
  if (name == "c4" || name == "c4-new") {
    const std::string shard = find_c4_shard(data_dir, kC4ValidationShard, "dataset");
    return name == "c4" ? c4_eval_tokens(read_c4_documents(shard), tokenize, seqlen)
                        : c4_new_eval_tokens(read_c4_documents(shard, 1100), tokenize, seqlen);
  }
  return tokenize(dataset_text(name, data_dir));
}

}  // namespace oacim::data
