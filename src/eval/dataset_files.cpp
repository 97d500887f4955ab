#include "oacim/eval/dataset_files.hpp"

namespace oacim::eval {

std::string dataset_file(const std::string& name, const std::string& data_dir) {
  if (name == "wikitext2") return data_dir + "/wiki.test.raw";
  if (name == "ptb") return data_dir + "/ptb.valid.txt";
  if (name == "ptb-new") return data_dir + "/ptb.test.txt";
  return name;
}

}  // namespace oacim::eval
