#pragma once
// The tables both report formats show, built once from results.json: the verdict per threshold,
// perplexity per dataset, the hardware counters, the quantizer's totals, the co-simulated layers.
// report.md and report.html render the same Sections. Internal to src/report.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace oacim::report {

struct Table {
  std::vector<std::string> headers;
  std::vector<bool> numeric;                   // right-aligned columns
  std::vector<std::vector<std::string>> rows;
};

struct Section {
  std::string title;
  std::string text;   // one paragraph before the table (plain text)
  Table table;
  std::string plot;   // which plot the HTML puts under the table: "" | "ppl:<dataset>" | "kld:<dataset>" | "layers" | "ones" | "energy"
};

// "PASS", "FAIL", "ERROR", "INCOMPLETE".
std::string overall_verdict(const nlohmann::json& results);
// One line: points and how many passed, failed, errored, are pending.
std::string summary_line(const nlohmann::json& results);
// Model, datasets, backends, tool version and commit, machine, start time.
std::vector<std::pair<std::string, std::string>> run_facts(const nlohmann::json& results);
std::vector<Section> report_sections(const nlohmann::json& results);
// Errors of failed points: "point 3 (label): reason".
std::vector<std::string> point_errors(const nlohmann::json& results);

// Energy per token, TOPS/W, latency and the offsets' savings per point (report_energy.cpp), and
// its stacked bars by event for the HTML.
Section energy_section(const nlohmann::json& results);
std::string energy_plot(const nlohmann::json& results);

// Helpers shared with the plots and the CSV.
std::string dataset_label(const std::string& dataset);  // a file's stem, or the dataset name
double number_or_nan(const nlohmann::json& v);
const nlohmann::json* backend_result(const nlohmann::json& point, const std::string& dataset, const std::string& backend);

}  // namespace oacim::report
