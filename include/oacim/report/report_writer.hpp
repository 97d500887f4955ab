#pragma once
// The sign-off report of a sweep, generated from results.json alone (so `oacim report DIR`
// regenerates it): results.csv (one row per point and dataset), report.md (fits a CI log or a
// pull request) and report.html (one self-contained file: inline CSS and SVG plots, no network).
// Output depends only on the JSON: the same results give the same bytes. No torch.
#include <string>

#include <nlohmann/json.hpp>

namespace oacim::report {

std::string results_csv(const nlohmann::json& results);
std::string report_markdown(const nlohmann::json& results);
std::string report_html(const nlohmann::json& results);

// Writes DIR/results.csv, DIR/report.md and DIR/report.html, each atomically.
void write_reports(const std::string& dir, const nlohmann::json& results);

// Reads DIR/results.json; FormatError naming the file when it is missing or not a results file.
nlohmann::json read_results(const std::string& dir);

}  // namespace oacim::report
