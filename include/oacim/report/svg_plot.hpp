#pragma once
// Inline SVG bar charts for the HTML report: grouped (or stacked) bars per category, a linear y axis from
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
  bool stacked = false;        // one bar per category, the series stacked on each other (from 0)
};

std::string svg_bar_chart(const BarChart& chart);

// A scatter of points with labels and their Pareto front (lower x and lower y are better): the
// points no other point beats on both axes are filled and joined by a line, the rest hollow.
struct ScatterPoint {
  double x, y;
  std::string label;
};
struct ScatterPlot {
  std::string title, x_label, y_label;
  std::vector<ScatterPoint> points;  // non-finite coordinates are skipped
  int width = 900;
  int plot_height = 300;
};
std::string svg_pareto_plot(const ScatterPlot& plot);
// Indices of `points` on the Pareto front (minimising x and y), by increasing x.
std::vector<std::size_t> pareto_front(const std::vector<ScatterPoint>& points);

// Escapes &, <, >, " for HTML and SVG text.
std::string html_escape(const std::string& text);

}  // namespace oacim::report
