#pragma once
// Command-line options generated from an option table (core/option_table.hpp): every option with
// a CLI spelling becomes `--spelling` (older spellings as aliases), its help is the table's doc,
// unit and default, and a given value is checked against the table before it is set, so that the
// error names the spelling the user typed. Bool options are switches.
#include <map>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/option_table.hpp"

namespace oacim::cli {

namespace table_options_detail {
std::string help_text(const OptionSpec& spec);
// Adds `--spelling` (and its aliases) for `spec` to `d`.
void add_option(boost::program_options::options_description& d, const OptionSpec& spec);
// The spelling the user gave and its text; false when none was given.
bool given_value(const boost::program_options::variables_map& vm, const OptionSpec& spec, std::string& spelling,
                 std::string& value);
}  // namespace table_options_detail

// --threads (0: all cores, at most 1024), which every model command takes.
void add_threads_option(boost::program_options::options_description& d, int& threads);
// --threads and --json FILE (`json_doc` says what it holds).
void add_run_options(boost::program_options::options_description& d, int& threads, std::string& json_path,
                     const std::string& json_doc);

// Adds every option of `table` that has a CLI spelling.
template <class T>
void add_table_options(boost::program_options::options_description& d, const std::vector<Option<T>>& table) {
  for (const auto& o : table) {
    if (!o.cli.empty()) table_options_detail::add_option(d, o);
  }
}

// Sets every given option in `target`; InvalidArgument("--spelling", reason) for a bad value or a
// required option not given.
template <class T>
void apply_table_options(const boost::program_options::variables_map& vm, const std::vector<Option<T>>& table, T& target) {
  for (const auto& o : table) {
    if (o.cli.empty()) continue;
    std::string spelling, value;
    if (!table_options_detail::given_value(vm, o, spelling, value)) {
      if (o.required) throw InvalidArgument("--" + o.cli, "is required");
      continue;
    }
    const std::string why = check_option_value(o, value);
    if (!why.empty()) throw InvalidArgument("--" + spelling, why);
    o.set(target, value);
  }
}

// A command whose options are one table plus --threads and --json: parses `args` into `target`.
// Returns -1 to go on, else the exit code (0 after --help, 2 after a usage error).
struct TableCommand {
  TableCommand(std::string command, std::string usage_text, std::string json_help)
      : name(std::move(command)), usage(std::move(usage_text)), json_doc(std::move(json_help)) {}
  std::string name, usage, json_doc;
  int threads = 0;
  std::string json_path;
  boost::program_options::variables_map vm;
};
template <class T>
int parse_table_command(TableCommand& c, const std::vector<Option<T>>& table, T& target, const std::vector<std::string>& args) {
  boost::program_options::options_description opts(c.name + " options");
  add_table_options(opts, table);
  std::map<std::string, std::string> spellings;
  for (const auto& o : table) {
    if (!o.cli.empty()) spellings[o.name] = o.cli;  // this command's spelling wins over another's
  }
  set_option_spellings(std::move(spellings));
  add_run_options(opts, c.threads, c.json_path, c.json_doc);
  const int parsed = parse_command_line(c.name, c.usage, opts, boost::program_options::options_description(), {}, args, c.vm);
  if (parsed >= 0) return parsed;
  apply_table_options(c.vm, table, target);
  return -1;
}

// Whether the option named `name` (library name) was given on the command line.
template <class T>
bool option_given(const boost::program_options::variables_map& vm, const std::vector<Option<T>>& table,
                  const std::string& name) {
  const Option<T>* o = find_option(table, name);
  std::string spelling, value;
  return o && !o->cli.empty() && table_options_detail::given_value(vm, *o, spelling, value);
}

// Markdown table of a command's options (docs/configs.md embeds one per command).
template <class T>
std::string table_options_markdown(const std::vector<Option<T>>& table) {
  std::string md = "| option | type | default | experiment key | doc |\n|---|---|---|---|---|\n";
  for (const auto& o : table) {
    if (o.cli.empty()) continue;
    std::string spelling = "`--" + o.cli + "`";
    for (const auto& a : o.cli_aliases) spelling += " (`--" + a + "`)";
    const std::string def = o.required ? "required" : o.default_text.empty() ? "" : "`" + o.default_text + "`";
    md += fmt::format("| {} | {} | {} | {} | {} |\n", spelling, option_type_text(o), def,
                      o.key.empty() ? "" : (o.declares_key ? "`" : "reads `") + o.key + "`", markdown_cell(table_options_detail::help_text(o)));
  }
  return md;
}

}  // namespace oacim::cli
