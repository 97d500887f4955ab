#include "oacim/report/svg_plot.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace oacim::report {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `span`.
double nice_step(double span, int n) {
  if (span <= 0) return 1.0;
  const double raw = span / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * p) return m * p;
  }
  return 10 * p;
}

// The <svg> element of a chart `width` x `height` pixels and its bold title at x = `left`.
std::string svg_open(int width, double height, double left, const std::string& title) {
  return fmt::format(
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" viewBox=\"0 0 {} {:.0f}\" "
             "font-family=\"sans-serif\" font-size=\"11\" role=\"img\">\n",
             width, height, width, height) +
         fmt::format("<text x=\"{}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", left, html_escape(title));
}

std::string tick_label(double v, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fmt::format("{:.{}f}", v, std::min(decimals, 6));
}

}  // namespace

std::string svg_bar_chart(const BarChart& c) {
  const std::size_t n_cat = c.categories.size();
  const std::size_t n_ser = std::max<std::size_t>(1, c.series.size());
  double y_max = c.y_min;
  double y_min = c.y_min;
  for (std::size_t k = 0; k < n_cat; ++k) {
    double sum = 0;
    for (const auto& s : c.series) {
      const double v = k < s.values.size() ? s.values[k] : NAN;
      if (!std::isfinite(v)) continue;
      sum = c.stacked ? sum + v : std::max(sum, v);
    }
    y_max = std::max(y_max, sum);
  }
  if (y_max <= y_min) y_max = y_min + 1.0;
  const double step = nice_step(y_max - y_min, 5);
  y_min = std::floor(y_min / step + 1e-9) * step;  // ticks on round numbers
  const double top = y_min + std::ceil((y_max - y_min) / step - 1e-9) * step;
  std::size_t longest = 0;
  for (const auto& cat : c.categories) longest = std::max(longest, cat.size());
  // Labels are rotated by 45 degrees: about 4.3 px of width and height per character at 11 px.
  const double label_extent = 4.3 * static_cast<double>(std::min<std::size_t>(longest, 48));
  const double slot_guess = (c.width - 80.0) / static_cast<double>(std::max<std::size_t>(1, n_cat));
  const double left = std::max(64.0, label_extent - slot_guess / 2 + 8), right = 16, head = 44;
  const double bottom = 24 + label_extent;
  const double plot_w = c.width - left - right, plot_h = c.plot_height;
  const double total_h = head + plot_h + bottom;
  auto y_of = [&](double v) { return head + plot_h * (1.0 - (v - y_min) / (top - y_min)); };

  std::string svg = svg_open(c.width, total_h, left, c.title);
  // Legend.
  double lx = left;
  for (const auto& s : c.series) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"26\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                       "<text x=\"{:.1f}\" y=\"35\">{}</text>\n",
                       lx, s.color, lx + 14, html_escape(s.name));
    lx += 24 + 7.0 * static_cast<double>(s.name.size());
  }
  // Axis and grid.
  for (double v = y_min; v <= top + step * 1e-6; v += step) {
    const double y = y_of(v);
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                       left, left + plot_w, y, y, left - 4, y + 4, tick_label(v, step));
  }
  svg += fmt::format("<text transform=\"translate(14,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     head + plot_h / 2, html_escape(c.y_label));
  svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", left, head,
                     head + plot_h);
  if (n_cat == 0) return svg + "</svg>\n";
  const double slot = plot_w / static_cast<double>(n_cat);
  const double bar_w = std::max(1.0, slot * 0.8 / static_cast<double>(c.stacked ? 1 : n_ser));
  for (std::size_t k = 0; k < n_cat; ++k) {
    const double x0 = left + slot * static_cast<double>(k) + slot * 0.1;
    double base = y_min;  // stacked: where the next series starts
    for (std::size_t s = 0; s < c.series.size(); ++s) {
      const double v = k < c.series[s].values.size() ? c.series[s].values[k] : NAN;
      if (!std::isfinite(v)) continue;
      const double y_top = y_of(std::max(c.stacked ? base + v : v, y_min));
      const double y_bottom = c.stacked ? y_of(base) : head + plot_h;
      if (c.stacked) base += v;
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                         "<title>{}: {} = {:.6g}</title></rect>\n",
                         x0 + (c.stacked ? 0.0 : bar_w * static_cast<double>(s)), y_top, bar_w, y_bottom - y_top,
                         c.series[s].color, html_escape(c.categories[k]), html_escape(c.series[s].name), v);
    }
    const double lx2 = left + slot * (static_cast<double>(k) + 0.5);
    svg += fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-45)\" text-anchor=\"end\">{}</text>\n", lx2 + 3,
                       head + plot_h + 12, html_escape(c.categories[k]));
  }
  svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{2:.1f}\" y1=\"{1:.1f}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n", left,
                     head + plot_h, left + plot_w);
  return svg + "</svg>\n";
}

std::vector<std::size_t> pareto_front(const std::vector<ScatterPoint>& points) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (std::isfinite(points[i].x) && std::isfinite(points[i].y)) idx.push_back(i);
  }
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return points[a].x < points[b].x || (points[a].x == points[b].x && points[a].y < points[b].y);
  });
  std::vector<std::size_t> front;
  double best_y = INFINITY;
  for (const std::size_t i : idx) {
    if (points[i].y < best_y) {  // better than everything cheaper
      front.push_back(i);
      best_y = points[i].y;
    }
  }
  return front;
}

std::string svg_pareto_plot(const ScatterPlot& c) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& p : c.points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    x0 = std::min(x0, p.x);
    x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  const auto pad = [](double& lo, double& hi) {
    const double span = hi > lo ? hi - lo : std::max(std::abs(hi), 1.0);
    lo -= 0.08 * span;
    hi += 0.08 * span;
  };
  pad(x0, x1);
  pad(y0, y1);
  const double xs = nice_step(x1 - x0, 6), ys = nice_step(y1 - y0, 5);
  x0 = std::floor(x0 / xs) * xs, x1 = std::ceil(x1 / xs) * xs;
  y0 = std::floor(y0 / ys) * ys, y1 = std::ceil(y1 / ys) * ys;
  const double left = 72, right = 24, head = 44, bottom = 48;
  const double plot_w = c.width - left - right, plot_h = c.plot_height;
  const double total_h = head + plot_h + bottom;
  const auto px = [&](double x) { return left + plot_w * (x - x0) / (x1 - x0); };
  const auto py = [&](double y) { return head + plot_h * (1.0 - (y - y0) / (y1 - y0)); };
  std::string svg = svg_open(c.width, total_h, left, c.title);
  svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"31\" r=\"4\" fill=\"#e15759\"/><text x=\"{:.1f}\" y=\"35\">Pareto front</text>"
                     "<circle cx=\"{:.1f}\" cy=\"31\" r=\"4\" fill=\"none\" stroke=\"#4e79a7\"/><text x=\"{:.1f}\" y=\"35\">dominated</text>\n",
                     left + 4, left + 12, left + 104, left + 112);
  for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                       left, left + plot_w, py(v), py(v), left - 4, py(v) + 4, tick_label(v, ys));
  }
  for (double v = x0; v <= x1 + xs * 1e-6; v += xs) {
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
                       px(v), head, head + plot_h, head + plot_h + 14, tick_label(v, xs));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", left + plot_w / 2,
                     head + plot_h + 36, html_escape(c.x_label));
  svg += fmt::format("<text transform=\"translate(14,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     head + plot_h / 2, html_escape(c.y_label));
  svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#333\"/>\n",
                     left, head, plot_w, plot_h);
  const std::vector<std::size_t> front = pareto_front(c.points);
  if (front.size() > 1) {
    std::string line;
    for (const std::size_t i : front) line += fmt::format("{:.1f},{:.1f} ", px(c.points[i].x), py(c.points[i].y));
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"#e15759\" stroke-width=\"1.5\"/>\n", line);
  }
  for (std::size_t i = 0; i < c.points.size(); ++i) {
    const ScatterPoint& p = c.points[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    const bool on_front = std::find(front.begin(), front.end(), i) != front.end();
    svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4.5\" {}><title>{}: {:.6g}, {:.6g}</title></circle>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                       px(p.x), py(p.y), on_front ? "fill=\"#e15759\"" : "fill=\"white\" stroke=\"#4e79a7\"",
                       html_escape(p.label), p.x, p.y, px(p.x) + 7, py(p.y) - 6, html_escape(p.label));
  }
  return svg + "</svg>\n";
}

}  // namespace oacim::report
