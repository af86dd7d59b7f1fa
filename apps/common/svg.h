// svg.h — training curves and 2-D scatter plots as standalone SVG 1.1 files,
// written from scratch so the apps need no plotting library: the loss and
// D(x)/D(G(z)) curves of docs/lab.md (write_log_chart draws them from the
// training log), and the VAE's latent map coloured by label.
//
// What every chart has: a title, axis labels, "nice" ticks (1, 2 or 5 x 10^k,
// or decades on a log axis) with labels and faint grid lines, a legend at
// the right (one entry per series / per class), and colours from the
// Tableau 10 palette (series / class i gets colour i mod 10; line series
// from the 11th on are also dashed so they stay distinguishable).
//
// Data handling:
//   - A point whose x or y is NaN or infinite (or y <= 0 on a log axis) is
//     skipped, and a line is broken there: the gap shows in the chart.
//   - An empty series still gets its legend entry but draws nothing.
//   - Long line series are reduced per pixel column to the first, lowest,
//     highest and last point of each run that falls in that column (the
//     "M4" reduction): the drawn line is the same as with every point, and
//     a 100k-point curve stays a few tens of KB.
//   - Text (titles, labels, names) is XML-escaped; control characters and
//     invalid UTF-8 bytes become '?', so the file is always well-formed.
// Files are written with write_file_atomic; errors name the path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dl {

class CsvLog;  // csv.h

// One curve. `x` may be left empty: the points are then at x = 0, 1, 2, ...
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  // Centred moving average over this many points (0 or 1: none). The raw
  // curve is then drawn faint beneath the smoothed one. Non-finite points
  // are left out of the averages and stay gaps.
  int smoothing_window = 0;
  bool log_y = false;  // base-10 log y axis; y <= 0 is skipped
};

void write_line_chart(const std::string& path, const LineChart& chart);

// A line chart of the log's columns `names` against the iteration, smoothed
// over about 1/200 of the run: the curves every train command draws after
// each epoch. A name that is not a column is an error.
void write_log_chart(const std::string& path, const std::string& title, const std::string& y_label, const CsvLog& log,
                     const std::vector<std::string>& names, bool log_y = false);

// Points coloured by integer label. `label` may be empty (one colour, no
// legend). With `class_names` the legend lists every name, in order, and
// every label must be < class_names.size(); without, it lists the labels
// that occur, by number.
struct ScatterPlot {
  std::string title, x_label, y_label;
  std::vector<double> x, y;
  std::vector<int64_t> label;
  std::vector<std::string> class_names;
};

void write_scatter(const std::string& path, const ScatterPlot& plot);

// ---- the pieces, exposed for tests -------------------------------------------------

// The SVG text that write_line_chart / write_scatter write; `path` is only
// used in error messages.
std::string render_line_chart(const LineChart& chart, const std::string& path = "<chart>");
std::string render_scatter(const ScatterPlot& plot, const std::string& path = "<scatter>");

// Tick values covering [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k
// chosen to give 5-10 ticks; the first tick is <= lo and the last >= hi, up
// to a rounding error of 1e-9 of a step (the axis spans both the ticks and
// the data). A degenerate range (lo == hi) is
// widened around its value.
std::vector<double> nice_ticks(double lo, double hi);

// `text` with & < > " ' replaced by entities, and control characters and
// invalid UTF-8 bytes replaced by '?'.
std::string xml_escape(const std::string& text);

}  // namespace dl
