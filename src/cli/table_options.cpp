#include "oacim/cli/table_options.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

void add_threads_option(po::options_description& d, int& threads) {
  d.add_options()("threads",
                  po::value(&threads)->default_value(0)->notifier([](int n) {
                    if (n < 0 || n > 1024) throw InvalidArgument("--threads", fmt::format("{} is outside [0, 1024]", n));
                  }),
                  "CPU threads of libtorch and OpenBLAS (0: all)");
}

void add_run_options(po::options_description& d, int& threads, std::string& json_path, const std::string& json_doc) {
  add_threads_option(d, threads);
  d.add_options()("json", po::value(&json_path), json_doc.c_str());
}

}  // namespace oacim::cli

namespace oacim::cli::table_options_detail {

std::string help_text(const OptionSpec& spec) {
  std::string text = spec.doc;
  if (!spec.unit.empty()) text += fmt::format(" [{}]", spec.unit);
  return text;
}

void add_option(po::options_description& d, const OptionSpec& spec) {
  const std::string help = help_text(spec);
  auto add = [&](const std::string& spelling, bool alias) {
    const std::string doc = alias ? fmt::format("same as --{}", spec.cli) : help;
    if (spec.kind == OptionKind::Bool) {
      d.add_options()(spelling.c_str(), po::bool_switch(), doc.c_str());
    } else if (!alias && !spec.default_text.empty()) {
      d.add_options()(spelling.c_str(), po::value<std::string>()->default_value(spec.default_text), doc.c_str());
    } else {
      d.add_options()(spelling.c_str(), po::value<std::string>(), doc.c_str());
    }
  };
  add(spec.cli, false);
  for (const auto& a : spec.cli_aliases) add(a, true);
}

bool given_value(const po::variables_map& vm, const OptionSpec& spec, std::string& spelling, std::string& value) {
  std::vector<std::string> spellings = {spec.cli};
  spellings.insert(spellings.end(), spec.cli_aliases.begin(), spec.cli_aliases.end());
  bool found = false;
  for (const auto& s : spellings) {
    const auto it = vm.find(s);
    if (it == vm.end() || it->second.defaulted()) continue;
    std::string v;
    if (spec.kind == OptionKind::Bool) {
      if (!it->second.as<bool>()) continue;
      v = "true";
    } else {
      v = it->second.as<std::string>();
    }
    if (found) throw InvalidArgument("--" + s, fmt::format("given together with --{}", spelling));
    found = true;
    spelling = s;
    value = v;
  }
  return found;
}

}  // namespace oacim::cli::table_options_detail
