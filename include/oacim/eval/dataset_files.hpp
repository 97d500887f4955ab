#pragma once
// Where the named text datasets of the perplexity protocol live in a data directory: wikitext2
// (wiki.test.raw), ptb (ptb.valid.txt), ptb-new (ptb.test.txt); any other name is a file path.
// C4 is a set of shards (c4.hpp). Torch-free, so the sweep validator checks files with it.
#include <string>

namespace oacim::eval {

std::string dataset_file(const std::string& name_or_file, const std::string& data_dir);

}  // namespace oacim::eval
