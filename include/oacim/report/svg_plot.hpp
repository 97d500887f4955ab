#pragma once
// Inline SVG bar charts for the HTML report: grouped bars per category, a linear y axis from
// y_min with ticks, rotated category labels and a legend. Missing values (NaN) draw no bar. No torch.
#include <string>
#include <vector>

namespace oacim::report {

struct BarSeries {
  std::string name;
  std::string color;           // CSS colour
  std::vector<double> values;  // one per category; NaN = missing
};

struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  double y_min = 0.0;          // the axis starts here (perplexities: a little under the smallest)
  int width = 900;             // pixels; the height follows from plot_height and the labels
  int plot_height = 220;       // pixels of the bar area
};

std::string svg_bar_chart(const BarChart& chart);

// Escapes &, <, >, " for HTML and SVG text.
std::string html_escape(const std::string& text);

}  // namespace oacim::report
