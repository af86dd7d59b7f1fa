// svg.cpp — see svg.h. Layout: a fixed-size plot area, margins sized to the
// text around it (tick labels at the left, the legend at the right), one
// <path> per drawn curve, one <circle> per scatter point, legend swatches as
// <line>/<rect> so the data elements are easy to tell apart.
#include "common/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/csv.h"
#include "data/file.h"
#include "tensor/error.h"

namespace dl {

namespace {

// Tableau 10, the palette of matplotlib's "tab10": ten hues chosen to stay
// distinguishable from each other, including for most colour-blind readers.
constexpr std::array<const char*, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

constexpr double kCharWidth = 7.0;  // rough width of one character at font-size 12, for margins

std::string format(const char* pattern, double value, int precision) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, precision, value);
  return buffer;
}

// Pixel coordinates with 0.1 px resolution: finer than any display, and
// half the bytes of full precision.
std::string px(double value) {
  std::string s = format("%.*f", value, 1);
  if (s == "-0.0") s = "0.0";
  return s;
}

// The number of characters (UTF-8 code points) in `text`, for layout.
size_t text_length(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

double text_width(const std::string& text) { return kCharWidth * static_cast<double>(text_length(text)); }

// ---- axes ---------------------------------------------------------------------------

// An axis in "axis space" (log10 of the value on a log axis).
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks;  // in axis space
  std::vector<std::string> labels;
  double to_axis(double value) const { return log ? std::log10(value) : value; }
};

// Labels for linear ticks: as many decimals as the step needs (0.2 -> "0.4"),
// or %g with enough significant digits where fixed notation would be
// unreadable (>= 1e6 or steps below 1e-4).
std::vector<std::string> linear_labels(const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  double biggest = 0;
  for (double t : ticks) biggest = std::max(biggest, std::abs(t));
  std::vector<std::string> labels;
  const bool scientific = biggest >= 1e6 || step < 1e-4;
  for (double t : ticks) {
    if (scientific) {
      const int digits = static_cast<int>(std::floor(std::log10(biggest)) - std::floor(std::log10(step))) + 1;
      labels.push_back(format("%.*g", t, std::clamp(digits, 1, 15)));
    } else {
      const int decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
      labels.push_back(format("%.*f", t, std::clamp(decimals, 0, 15)));
    }
  }
  return labels;
}

Axis linear_axis(bool any, double lo, double hi) {
  Axis axis;
  axis.ticks = any ? nice_ticks(lo, hi) : nice_ticks(0, 1);
  axis.labels = linear_labels(axis.ticks);
  // The ticks cover the data up to rounding; min/max make sure of it.
  axis.lo = any ? std::min(axis.ticks.front(), lo) : axis.ticks.front();
  axis.hi = any ? std::max(axis.ticks.back(), hi) : axis.ticks.back();
  return axis;
}

// A log axis spans whole decades. Ticks: 1, 2, 5 x 10^k when it spans at
// most two decades (else a lone decade tick would leave the axis unreadable),
// otherwise decades, thinned to at most about 8.
Axis log_axis(bool any, double lo, double hi) {
  Axis axis;
  axis.log = true;
  if (!any) lo = 1, hi = 10;
  const double first = std::floor(std::log10(lo));
  double last = std::max(std::ceil(std::log10(hi)), first + 1);
  const double decades = last - first;
  if (decades <= 2) {
    for (double e = first; e <= last; ++e)
      for (double m : {1.0, 2.0, 5.0}) {
        const double t = e + std::log10(m);
        if (t <= last + 1e-9) axis.ticks.push_back(t), axis.labels.push_back(format("%.*g", m * std::pow(10.0, e), 6));
      }
  } else {
    const double every = std::ceil(decades / 8);
    last = first + every * std::ceil(decades / every);
    for (double e = first; e <= last; e += every) {
      axis.ticks.push_back(e);
      axis.labels.push_back(format("%.*g", std::pow(10.0, e), 6));
    }
  }
  axis.lo = first;
  axis.hi = last;
  return axis;
}

// ---- the drawing ----------------------------------------------------------------------

struct LegendEntry {
  std::string name, color;
  bool line = true;  // a line swatch (curves) or a square (scatter classes)
  std::string dash;  // stroke-dasharray of a line swatch, or empty
};

// The canvas: margins around a plot area of a fixed size, and the mapping
// from axis space to pixels.
struct Canvas {
  double left, top, plot_w, plot_h, width, height;
  Axis x, y;

  double map_x(double value) const { return left + (x.to_axis(value) - x.lo) / (x.hi - x.lo) * plot_w; }
  double map_y(double value) const { return top + plot_h - (y.to_axis(value) - y.lo) / (y.hi - y.lo) * plot_h; }
  double right() const { return left + plot_w; }
  double bottom() const { return top + plot_h; }
};

Canvas make_canvas(Axis x, Axis y, double plot_w, double plot_h, const std::vector<LegendEntry>& legend) {
  double widest_tick = 0;
  for (const std::string& label : y.labels) widest_tick = std::max(widest_tick, text_width(label));
  double widest_name = 0;
  for (const LegendEntry& entry : legend) widest_name = std::max(widest_name, text_width(entry.name));
  Canvas c;
  c.left = std::max(60.0, 40.0 + widest_tick);  // y label, gap, tick labels, tick marks
  c.top = 45;
  c.plot_w = plot_w;
  c.plot_h = plot_h;
  const double right_margin = legend.empty() ? 30.0 : std::clamp(60.0 + widest_name, 110.0, 420.0);
  c.width = std::ceil(c.left + plot_w + right_margin);
  c.height = std::ceil(c.top + plot_h + 60);
  c.x = std::move(x);
  c.y = std::move(y);
  return c;
}

// Everything but the data: background, title, grid, frame, ticks, labels,
// legend, and the clip path the data is drawn through.
void begin_svg(std::string& out, const Canvas& c, const std::string& title, const std::string& x_label,
               const std::string& y_label) {
  const std::string w = px(c.width), h = px(c.height);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + w + "\" height=\"" + h +
         "\" viewBox=\"0 0 " + w + " " + h +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  out += "<defs><clipPath id=\"plot-area\"><rect x=\"" + px(c.left) + "\" y=\"" + px(c.top) + "\" width=\"" +
         px(c.plot_w) + "\" height=\"" + px(c.plot_h) + "\"/></clipPath></defs>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += "<text class=\"title\" x=\"" + px(c.left + c.plot_w / 2) +
         "\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + xml_escape(title) + "</text>\n";

  // Grid lines, then tick marks, both at every tick.
  out += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  for (double t : c.x.ticks) {
    const std::string at = px(c.left + (t - c.x.lo) / (c.x.hi - c.x.lo) * c.plot_w);
    out += "<line x1=\"" + at + "\" y1=\"" + px(c.top) + "\" x2=\"" + at + "\" y2=\"" + px(c.bottom()) + "\"/>\n";
  }
  for (double t : c.y.ticks) {
    const std::string at = px(c.bottom() - (t - c.y.lo) / (c.y.hi - c.y.lo) * c.plot_h);
    out += "<line x1=\"" + px(c.left) + "\" y1=\"" + at + "\" x2=\"" + px(c.right()) + "\" y2=\"" + at + "\"/>\n";
  }
  out += "</g>\n<g class=\"ticks\" stroke=\"#444444\" stroke-width=\"1\">\n";
  for (double t : c.x.ticks) {
    const std::string at = px(c.left + (t - c.x.lo) / (c.x.hi - c.x.lo) * c.plot_w);
    out +=
        "<line x1=\"" + at + "\" y1=\"" + px(c.bottom()) + "\" x2=\"" + at + "\" y2=\"" + px(c.bottom() + 5) + "\"/>\n";
  }
  for (double t : c.y.ticks) {
    const std::string at = px(c.bottom() - (t - c.y.lo) / (c.y.hi - c.y.lo) * c.plot_h);
    out += "<line x1=\"" + px(c.left - 5) + "\" y1=\"" + at + "\" x2=\"" + px(c.left) + "\" y2=\"" + at + "\"/>\n";
  }
  out += "</g>\n<g class=\"x-tick-labels\" text-anchor=\"middle\" fill=\"#222222\">\n";
  for (size_t i = 0; i < c.x.ticks.size(); ++i)
    out += "<text x=\"" + px(c.left + (c.x.ticks[i] - c.x.lo) / (c.x.hi - c.x.lo) * c.plot_w) + "\" y=\"" +
           px(c.bottom() + 19) + "\">" + xml_escape(c.x.labels[i]) + "</text>\n";
  out += "</g>\n<g class=\"y-tick-labels\" text-anchor=\"end\" fill=\"#222222\">\n";
  for (size_t i = 0; i < c.y.ticks.size(); ++i)
    out += "<text x=\"" + px(c.left - 8) + "\" y=\"" +
           px(c.bottom() - (c.y.ticks[i] - c.y.lo) / (c.y.hi - c.y.lo) * c.plot_h + 4) + "\">" +
           xml_escape(c.y.labels[i]) + "</text>\n";
  out += "</g>\n";
  out += "<text class=\"x-label\" x=\"" + px(c.left + c.plot_w / 2) + "\" y=\"" + px(c.bottom() + 44) +
         "\" text-anchor=\"middle\">" + xml_escape(x_label) + "</text>\n";
  const std::string y_mid = px(c.top + c.plot_h / 2);
  out += "<text class=\"y-label\" x=\"16\" y=\"" + y_mid + "\" transform=\"rotate(-90 16 " + y_mid +
         ")\" text-anchor=\"middle\">" + xml_escape(y_label) + "</text>\n";
  out += "<rect class=\"frame\" x=\"" + px(c.left) + "\" y=\"" + px(c.top) + "\" width=\"" + px(c.plot_w) +
         "\" height=\"" + px(c.plot_h) + "\" fill=\"none\" stroke=\"#444444\" stroke-width=\"1\"/>\n";
}

void draw_legend(std::string& out, const Canvas& c, const std::vector<LegendEntry>& legend) {
  if (legend.empty()) return;
  out += "<g class=\"legend\" fill=\"#222222\">\n";
  const double x = c.right() + 16;
  for (size_t i = 0; i < legend.size(); ++i) {
    const LegendEntry& e = legend[i];
    const double y = c.top + 8 + 20 * static_cast<double>(i);
    if (e.line) {
      out += "<line x1=\"" + px(x) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x + 24) + "\" y2=\"" + px(y) +
             "\" stroke=\"" + e.color + "\" stroke-width=\"2.5\"" +
             (e.dash.empty() ? "" : " stroke-dasharray=\"" + e.dash + "\"") + "/>\n";
    } else {
      out += "<rect x=\"" + px(x + 7) + "\" y=\"" + px(y - 5) + "\" width=\"10\" height=\"10\" fill=\"" + e.color +
             "\"/>\n";
    }
    out += "<text x=\"" + px(x + 32) + "\" y=\"" + px(y + 4) + "\">" + xml_escape(e.name) + "</text>\n";
  }
  out += "</g>\n";
}

// ---- curves -----------------------------------------------------------------------------

// A drawable point: x and y finite, and y > 0 on a log axis.
bool drawable(double x, double y, bool log_y) { return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0); }

double x_at(const Series& s, size_t i) { return s.x.empty() ? static_cast<double>(i) : s.x[i]; }

// Centred moving average of the drawable points within `window` indices of
// each drawable point; non-drawable points stay NaN (gaps stay gaps). Only
// drawable values are averaged, so the result stays within their range (and
// positive on a log axis). Prefix sums make it O(n) for any window.
std::vector<double> smooth(const Series& s, int window, bool log_y) {
  const size_t n = s.y.size();
  std::vector<double> sums(n + 1, 0.0), counts(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const bool ok = drawable(x_at(s, i), s.y[i], log_y);
    sums[i + 1] = sums[i] + (ok ? s.y[i] : 0.0);
    counts[i + 1] = counts[i] + (ok ? 1.0 : 0.0);
  }
  const size_t before = static_cast<size_t>(window - 1) / 2, after = static_cast<size_t>(window) / 2;
  std::vector<double> out(n, std::nan(""));
  for (size_t i = 0; i < n; ++i) {
    if (!drawable(x_at(s, i), s.y[i], log_y)) continue;
    const size_t from = i >= before ? i - before : 0, to = std::min(n, i + after + 1);
    out[i] = (sums[to] - sums[from]) / (counts[to] - counts[from]);
  }
  return out;
}

// The path data of one curve, broken at non-drawable points and reduced per
// pixel column (svg.h): of each run of consecutive points in one column, the
// first, lowest, highest and last are kept, in their original order. A
// rasteriser draws the same pixels from those as from the whole run.
std::string curve_path(const Canvas& c, const Series& s, const std::vector<double>& y, bool log_y) {
  std::string d;
  size_t segment_points = 0;
  std::string last_emitted;
  auto emit = [&](double px_x, double px_y) {
    const std::string point = px(px_x) + "," + px(px_y);
    if (segment_points > 0 && point == last_emitted) return;  // same 0.1 px spot
    d += (segment_points == 0 ? "M" : "L") + point;
    last_emitted = point;
    ++segment_points;
  };
  auto end_segment = [&] {
    // A lone point draws nothing as a line; a zero-length segment with round
    // caps shows it as a dot.
    if (segment_points == 1) d += "h0";
    segment_points = 0;
  };

  struct Kept {
    size_t index;
    double x, y;
  };
  bool open = false;
  int64_t column = 0;
  Kept first{}, lowest{}, highest{}, last{};  // lowest value = largest pixel y
  auto flush = [&] {
    if (!open) return;
    std::array<Kept, 4> kept = {first, lowest, highest, last};
    std::sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) { return a.index < b.index; });
    for (size_t k = 0; k < kept.size(); ++k)
      if (k == 0 || kept[k].index != kept[k - 1].index) emit(kept[k].x, kept[k].y);
    open = false;
  };
  for (size_t i = 0; i < y.size(); ++i) {
    const double xv = x_at(s, i);
    if (!drawable(xv, y[i], log_y)) {
      flush();
      end_segment();
      continue;
    }
    const Kept p{i, c.map_x(xv), c.map_y(y[i])};
    const int64_t col = static_cast<int64_t>(std::floor(p.x));
    if (open && col == column) {
      if (p.y > lowest.y) lowest = p;
      if (p.y < highest.y) highest = p;
      last = p;
    } else {
      flush();
      open = true;
      column = col;
      first = lowest = highest = last = p;
    }
  }
  flush();
  end_segment();
  return d;
}

void check_series(const LineChart& chart, const std::string& path) {
  for (const Series& s : chart.series)
    check(s.x.empty() || s.x.size() == s.y.size(), "write_line_chart: ", path, ": series '", s.name, "' has ",
          s.x.size(), " x values but ", s.y.size(), " y values");
  check(chart.smoothing_window >= 0, "write_line_chart: ", path, ": smoothing_window must be >= 0, got ",
        chart.smoothing_window);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};
  if (lo > hi) std::swap(lo, hi);
  // Degenerate (or so narrow that ticks would collide in double precision):
  // widen by 5% of the value, or +-0.5 around zero.
  if (!(hi - lo > std::max(std::abs(lo), std::abs(hi)) * 1e-9)) {
    const double centre = lo / 2 + hi / 2;
    const double half = centre != 0 ? std::abs(centre) * 0.05 : 0.5;
    lo = centre - half;
    hi = centre + half;
  }
  const double span = hi - lo;
  if (!std::isfinite(span)) return {lo, hi};  // beyond +-8.9e307: nothing nice fits
  // Aim at 5 intervals, rounding the step to the nearest (geometrically) of
  // 1, 2, 5, 10 x 10^k: then 5-10 ticks, the first <= lo, the last >= hi.
  const double raw = span / 5;
  const double base = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / base;
  const double step = base * (f < 1.4142 ? 1 : f < 3.1623 ? 2 : f < 7.0711 ? 5 : 10);
  // The tolerance keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick.
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double i = first; i <= last; ++i) {
    const double t = i * step;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);  // no "-0"
  }
  return ticks;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        default:
          out += (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F ? '?' : static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence passes whole if its lead byte is valid
    // and the right number of continuation bytes follow; XML parsers
    // reject a file with a broken one.
    const size_t length = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (valid) {
      out.append(text, i, length);
      i += length;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

std::string render_line_chart(const LineChart& chart, const std::string& path) {
  check_series(chart, path);
  const bool smoothing = chart.smoothing_window > 1;

  // The axes span every drawable raw point (smoothed values lie within).
  bool any = false;
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  for (const Series& s : chart.series)
    for (size_t i = 0; i < s.y.size(); ++i) {
      const double x = x_at(s, i), y = s.y[i];
      if (!drawable(x, y, chart.log_y)) continue;
      if (!any) x_lo = x_hi = x, y_lo = y_hi = y, any = true;
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
    }

  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < chart.series.size(); ++i)
    legend.push_back(
        {chart.series[i].name, kPalette[i % kPalette.size()], true, (i / kPalette.size()) % 2 ? "6,3" : ""});
  const Canvas c =
      make_canvas(linear_axis(any, x_lo, x_hi), chart.log_y ? log_axis(any, y_lo, y_hi) : linear_axis(any, y_lo, y_hi),
                  600, 380, legend);

  std::string out;
  begin_svg(out, c, chart.title, chart.x_label, chart.y_label);
  out +=
      "<g class=\"curves\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\" "
      "clip-path=\"url(#plot-area)\">\n";
  // Raw curves first (faint when smoothed curves go over them).
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const std::string d = curve_path(c, chart.series[i], chart.series[i].y, chart.log_y);
    if (d.empty()) continue;
    out += "<path d=\"" + d + "\" stroke=\"" + legend[i].color + "\"" +
           (smoothing ? " stroke-width=\"1\" stroke-opacity=\"0.25\"" : " stroke-width=\"1.5\"") +
           (legend[i].dash.empty() ? "" : " stroke-dasharray=\"" + legend[i].dash + "\"") + "/>\n";
  }
  if (smoothing)
    for (size_t i = 0; i < chart.series.size(); ++i) {
      const std::vector<double> y = smooth(chart.series[i], chart.smoothing_window, chart.log_y);
      const std::string d = curve_path(c, chart.series[i], y, chart.log_y);
      if (d.empty()) continue;
      out += "<path d=\"" + d + "\" stroke=\"" + legend[i].color + "\" stroke-width=\"2\"" +
             (legend[i].dash.empty() ? "" : " stroke-dasharray=\"" + legend[i].dash + "\"") + "/>\n";
    }
  out += "</g>\n";
  draw_legend(out, c, legend);
  out += "</svg>\n";
  return out;
}

std::string render_scatter(const ScatterPlot& plot, const std::string& path) {
  check(plot.x.size() == plot.y.size(), "write_scatter: ", path, ": ", plot.x.size(), " x values but ", plot.y.size(),
        " y values");
  check(plot.label.empty() || plot.label.size() == plot.x.size(), "write_scatter: ", path, ": ", plot.label.size(),
        " labels for ", plot.x.size(), " points");
  for (int64_t label : plot.label) {
    check(label >= 0, "write_scatter: ", path, ": labels must be >= 0, got ", label);
    check(plot.class_names.empty() || label < static_cast<int64_t>(plot.class_names.size()), "write_scatter: ", path,
          ": label ", label, " has no class name (", plot.class_names.size(), " given)");
  }

  bool any = false;
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  for (size_t i = 0; i < plot.x.size(); ++i) {
    const double x = plot.x[i], y = plot.y[i];
    if (!drawable(x, y, false)) continue;
    if (!any) x_lo = x_hi = x, y_lo = y_hi = y, any = true;
    x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
  }

  auto color = [](int64_t label) { return kPalette[static_cast<size_t>(label) % kPalette.size()]; };
  std::vector<LegendEntry> legend;
  if (!plot.class_names.empty()) {
    for (size_t k = 0; k < plot.class_names.size(); ++k)
      legend.push_back({plot.class_names[k], color(static_cast<int64_t>(k)), false, ""});
  } else {
    for (int64_t label : std::set<int64_t>(plot.label.begin(), plot.label.end()))
      legend.push_back({std::to_string(label), color(label), false, ""});
  }
  const Canvas c = make_canvas(linear_axis(any, x_lo, x_hi), linear_axis(any, y_lo, y_hi), 480, 480, legend);

  std::string out;
  begin_svg(out, c, plot.title, plot.x_label, plot.y_label);
  // Points in input order, so that no class is painted over all the others;
  // smaller and translucent when there are many, so overlaps show density.
  const size_t n = plot.x.size();
  const std::string radius = n <= 1000 ? "3" : n <= 10000 ? "2" : "1.5";
  out += "<g class=\"points\" fill-opacity=\"0.7\" clip-path=\"url(#plot-area)\">\n";
  for (size_t i = 0; i < n; ++i) {
    if (!drawable(plot.x[i], plot.y[i], false)) continue;
    out += "<circle cx=\"" + px(c.map_x(plot.x[i])) + "\" cy=\"" + px(c.map_y(plot.y[i])) + "\" r=\"" + radius +
           "\" fill=\"" + color(plot.label.empty() ? 0 : plot.label[i]) + "\"/>\n";
  }
  out += "</g>\n";
  draw_legend(out, c, legend);
  out += "</svg>\n";
  return out;
}

void write_line_chart(const std::string& path, const LineChart& chart) {
  write_file_atomic(path, render_line_chart(chart, path));
}

void write_log_chart(const std::string& path, const std::string& title, const std::string& y_label, const CsvLog& log,
                     const std::vector<std::string>& names, bool log_y) {
  const std::vector<std::vector<double>>& rows = log.values();
  LineChart chart{title, "iteration", y_label, {}, static_cast<int>(std::clamp<size_t>(rows.size() / 200, 1, 100)),
                  log_y};
  for (const std::string& name : names) {
    const auto at = std::find(log.columns().begin(), log.columns().end(), name);
    check(at != log.columns().end(), log.path(), ": no column ", name);
    const size_t column = static_cast<size_t>(at - log.columns().begin());
    Series series{name, {}, {}};
    for (const std::vector<double>& row : rows) {
      series.x.push_back(row[1]);
      series.y.push_back(row[column]);
    }
    chart.series.push_back(std::move(series));
  }
  write_line_chart(path, chart);
}

void write_scatter(const std::string& path, const ScatterPlot& plot) {
  write_file_atomic(path, render_scatter(plot, path));
}

}  // namespace dl
