#pragma once
// Where the named text datasets of the perplexity protocol live in a data directory: wikitext2
// (wiki.test.raw), ptb (ptb.valid.txt), ptb-new (ptb.test.txt); any other name is a file path.
// C4 is a set of shards (c4.hpp). An empty data directory means the bundled one (the repository's
// tests/data/text, fixed at build time), which holds WikiText-2's test split; PTB's licence forbids
// shipping it and C4 is too large, so those come from a folder the user names. Torch-free, so the
// sweep validator checks files with it.
#include <string>

namespace oacim::data {

// The folder datasets resolve to when no data directory is given.
const std::string& bundled_data_dir();

// `data_dir`, or bundled_data_dir() when it is empty.
std::string resolve_data_dir(const std::string& data_dir);

std::string dataset_file(const std::string& name_or_file, const std::string& data_dir);

// dataset_file() when it is a regular file; otherwise throws InvalidArgument(key, ...) naming the
// path looked at and, for PTB, that the user must supply it.
std::string existing_dataset_file(const std::string& name_or_file, const std::string& data_dir, const std::string& key);

}  // namespace oacim::data
