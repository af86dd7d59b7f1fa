// test_svg_csv.cpp — common/svg.h (charts are well-formed SVG with the
// expected elements, ticks, escaping, gaps, and a bounded size for long
// series) and common/csv.h (the training log round-trips exactly; errors name
// the file).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>

#include "common/csv.h"
#include "common/svg.h"
#include "data/file.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Every '&' starts one of XML's five predefined entities.
bool entities_ok(const std::string& text) {
  for (size_t at = text.find('&'); at != std::string::npos; at = text.find('&', at + 1)) {
    bool known = false;
    for (const char* entity : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      known = known || text.compare(at, std::char_traits<char>::length(entity), entity) == 0;
    if (!known) return false;
  }
  return true;
}

// A minimal XML well-formedness check: tags nest and close in order,
// attribute values are quoted and hold no '<', text and attributes use only
// the predefined entities, exactly one root element (<svg> in the SVG
// namespace). Returns how many elements of each name there are.
std::map<std::string, int> check_xml(const std::string& xml) {
  std::map<std::string, int> counts;
  std::vector<std::string> open;
  bool root_seen = false;
  size_t at = 0;
  while (at < xml.size()) {
    const size_t lt = xml.find('<', at);
    const std::string text = xml.substr(at, lt == std::string::npos ? std::string::npos : lt - at);
    CHECK_MESSAGE(entities_ok(text), "bad entity in text: ", text);
    if (open.empty()) CHECK_MESSAGE(text.find_first_not_of(" \t\r\n") == std::string::npos, "text outside the root");
    if (lt == std::string::npos) break;
    if (xml.compare(lt, 2, "<?") == 0) {
      CHECK(lt == 0);  // the XML declaration comes first
      at = xml.find("?>", lt);
      REQUIRE(at != std::string::npos);
      at += 2;
      continue;
    }
    // Scan to the tag's '>', skipping quoted attribute values.
    size_t end = lt + 1;
    char quote = 0;
    for (; end < xml.size(); ++end) {
      const char c = xml[end];
      if (quote) {
        REQUIRE_MESSAGE(c != '<', "'<' in an attribute value");
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
    }
    REQUIRE_MESSAGE(end < xml.size(), "unterminated tag");
    const std::string tag = xml.substr(lt + 1, end - lt - 1);
    CHECK(entities_ok(tag));
    at = end + 1;
    if (tag[0] == '/') {
      REQUIRE_MESSAGE(!open.empty(), "closing tag with nothing open: ", tag);
      CHECK_MESSAGE(tag.substr(1) == open.back(), "</", tag.substr(1), "> closes <", open.back(), ">");
      open.pop_back();
      continue;
    }
    const std::string name = tag.substr(0, tag.find_first_of(" \t\r\n/"));
    REQUIRE(!name.empty());
    if (open.empty()) {
      CHECK_MESSAGE(!root_seen, "a second root element");
      root_seen = true;
      CHECK(name == "svg");
      CHECK(tag.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    }
    ++counts[name];
    if (tag.back() != '/') open.push_back(name);
  }
  CHECK_MESSAGE(open.empty(), "unclosed elements");
  CHECK(root_seen);
  return counts;
}

// The inside of the first <g class="NAME" ...> ... </g> (groups here do not nest).
std::string group(const std::string& svg, const std::string& name) {
  const size_t begin = svg.find("<g class=\"" + name + "\"");
  if (begin == std::string::npos) return "";
  const size_t end = svg.find("</g>", begin);
  REQUIRE(end != std::string::npos);
  return svg.substr(begin, end - begin);
}

// The text contents of the <text> elements of `xml`, in order.
std::vector<std::string> texts(const std::string& xml) {
  std::vector<std::string> out;
  for (size_t at = xml.find("<text"); at != std::string::npos; at = xml.find("<text", at + 1)) {
    const size_t begin = xml.find('>', at) + 1, end = xml.find("</text>", begin);
    out.push_back(xml.substr(begin, end - begin));
  }
  return out;
}

// The d attributes of the <path> elements.
std::vector<std::string> paths(const std::string& svg) {
  std::vector<std::string> out;
  for (size_t at = svg.find("<path d=\""); at != std::string::npos; at = svg.find("<path d=\"", at + 1)) {
    const size_t begin = at + 9;
    out.push_back(svg.substr(begin, svg.find('"', begin) - begin));
  }
  return out;
}

// The y coordinates of the points of path data "M1,2L3,4...".
std::vector<double> path_ys(const std::string& d) {
  std::vector<double> ys;
  for (size_t at = d.find(','); at != std::string::npos; at = d.find(',', at + 1))
    ys.push_back(std::stod(d.substr(at + 1)));
  return ys;
}

Series series(const std::string& name, const Values& y, const Values& x = {}) { return Series{name, x, y}; }

}  // namespace

TEST_CASE("nice_ticks: steps of 1, 2 or 5 x 10^k that cover the range") {
  CHECK(nice_ticks(0, 1) == Values{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  CHECK(nice_ticks(0, 46900) == Values{0, 10000, 20000, 30000, 40000, 50000});
  CHECK(nice_ticks(0.3, 2.7) == Values{0, 0.5, 1, 1.5, 2, 2.5, 3});
  CHECK(nice_ticks(-3, 7) == Values{-4, -2, 0, 2, 4, 6, 8});
  CHECK(nice_ticks(7, -3) == nice_ticks(-3, 7));
  // Degenerate ranges widen around the value.
  CHECK(nice_ticks(0, 0) == Values{-0.6000000000000001, -0.4, -0.2, 0, 0.2, 0.4, 0.6000000000000001});
  const Values around_five = nice_ticks(5, 5);
  CHECK(around_five.front() <= 4.75);
  CHECK(around_five.back() >= 5.25);
  // Always 5 to 10 ticks, first <= lo, last >= hi (up to rounding), for ranges of any scale.
  for (double lo : {-1e9, -3.7, 0.0, 1e-7, 12345.0})
    for (double span : {1e-6, 0.013, 1.0, 1.41, 2.3, 3.3, 7.77, 7.0, 3e4, 1e12}) {
      const Values t = nice_ticks(lo, lo + span);
      CAPTURE(lo);
      CAPTURE(span);
      CHECK(t.size() >= 5);
      CHECK(t.size() <= 10);
      const double slack = (t[1] - t[0]) * 1e-6;
      CHECK(t.front() <= lo + slack);
      CHECK(t.back() >= lo + span - slack);
    }
  CHECK(nice_ticks(kNaN, 1) == Values{0, 1});
}

TEST_CASE("xml_escape: entities, control characters and broken UTF-8") {
  CHECK(xml_escape("a<b & \"c\" > 'd'") == "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;");
  CHECK(xml_escape("D(G(z)) λ — ok") == "D(G(z)) λ — ok");  // valid UTF-8 passes
  CHECK(xml_escape(std::string("bell\x07 nul") + '\0' + "x") == "bell? nul?x");
  CHECK(xml_escape("bad \xff\xfe, cut \xe2\x80") == "bad ??, cut ??");
}

TEST_CASE("line chart: well-formed SVG with one path per drawn series, legend, ticks and labels") {
  LineChart chart;
  chart.title = "InfoGAN losses";
  chart.x_label = "iteration";
  chart.y_label = "loss";
  chart.series = {series("L_D", {1.0, 0.8, 0.6, 0.5, 0.4}, {0, 25, 50, 75, 100}),
                  series("L_G", {0.2, 0.3, 0.4, 0.5, 0.6}, {0, 25, 50, 75, 100}), series("empty", {})};
  const std::string svg = render_line_chart(chart);
  const std::map<std::string, int> counts = check_xml(svg);
  CHECK(counts.at("path") == 2);  // the empty series draws nothing...
  CHECK(texts(group(svg, "legend")) == std::vector<std::string>{"L_D", "L_G", "empty"});  // ...but is in the legend
  CHECK(count(group(svg, "legend"), "<line") == 3);
  CHECK(texts(group(svg, "x-tick-labels")) == std::vector<std::string>{"0", "20", "40", "60", "80", "100"});
  CHECK(texts(group(svg, "y-tick-labels")) == std::vector<std::string>{"0.2", "0.4", "0.6", "0.8", "1.0"});
  CHECK(svg.find(">InfoGAN losses</text>") != std::string::npos);
  CHECK(svg.find(">iteration</text>") != std::string::npos);
  CHECK(svg.find(">loss</text>") != std::string::npos);
  // The first two palette colours, on the curves and their legend swatches.
  CHECK(count(svg, "stroke=\"#1f77b4\"") == 2);
  CHECK(count(svg, "stroke=\"#ff7f0e\"") == 2);

  // With smoothing, each drawn series has a faint raw path and a smoothed one.
  chart.smoothing_window = 3;
  const std::string smoothed = render_line_chart(chart);
  CHECK(check_xml(smoothed).at("path") == 4);
  CHECK(count(smoothed, "stroke-opacity=\"0.25\"") == 2);

  // No series at all: still a valid, empty chart.
  CHECK(check_xml(render_line_chart(LineChart{})).count("path") == 0);
}

TEST_CASE("line chart: text is escaped") {
  LineChart chart;
  chart.title = "D(x) & D(G(z)) <per \"iteration\">";
  chart.series = {series("a<b", {1, 2}), series("x & y", {2, 1})};
  const std::string svg = render_line_chart(chart);
  check_xml(svg);
  CHECK(svg.find(">D(x) &amp; D(G(z)) &lt;per &quot;iteration&quot;&gt;</text>") != std::string::npos);
  CHECK(texts(group(svg, "legend")) == std::vector<std::string>{"a&lt;b", "x &amp; y"});
}

TEST_CASE("line chart: NaN and infinite points leave gaps; a lone point is a dot") {
  LineChart chart;
  chart.series = {series("gappy", {1, 2, kNaN, 3, 4, kInf, 5, -kInf, 6, 7})};
  const std::string svg = render_line_chart(chart);
  check_xml(svg);
  const std::vector<std::string> d = paths(svg);
  REQUIRE(d.size() == 1);
  CHECK(count(d[0], "M") == 4);   // [1 2] [3 4] [5] [6 7]
  CHECK(count(d[0], "h0") == 1);  // the lone 5
  CHECK(count(d[0], "L") == 3);
  // The y axis spans the finite values only.
  CHECK(texts(group(svg, "y-tick-labels")).back() == "7");

  // Smoothing keeps the gaps and averages only finite neighbours.
  chart.smoothing_window = 3;
  const std::vector<std::string> both = paths(render_line_chart(chart));
  REQUIRE(both.size() == 2);
  CHECK(count(both[1], "M") == 4);
}

TEST_CASE("line chart: log y axis has decade ticks and skips y <= 0") {
  LineChart chart;
  chart.log_y = true;
  chart.series = {series("lr", {1e-3, 1e-2, 0, 0.5, 30, -1, 2e4})};
  const std::string svg = render_line_chart(chart);
  check_xml(svg);
  CHECK(texts(group(svg, "y-tick-labels")) ==
        std::vector<std::string>{"0.001", "0.01", "0.1", "1", "10", "100", "1000", "10000", "100000"});
  REQUIRE(paths(svg).size() == 1);
  CHECK(count(paths(svg)[0], "M") == 3);  // broken at 0 and at -1

  // Under two decades: 1, 2, 5 ticks.
  chart.series = {series("narrow", {0.15, 0.9})};
  CHECK(texts(group(render_line_chart(chart), "y-tick-labels")) == std::vector<std::string>{"0.1", "0.2", "0.5", "1"});
}

TEST_CASE("line chart: 100k-point series are reduced per pixel column but keep their extremes") {
  LineChart chart;
  Values noisy(100000), walk(100000);
  double position = 0;
  uint32_t state = 1;
  for (size_t i = 0; i < noisy.size(); ++i) {
    noisy[i] = i % 2 ? 1.0 : 0.0;  // every pixel column spans the full height
    state = state * 1664525u + 1013904223u;
    position += (state >> 31) ? 1.0 : -1.0;
    walk[i] = position;
  }
  noisy[50000] = 3.0;  // one spike: a reduction that kept only averages would lose it
  chart.series = {series("noisy", noisy), series("walk", walk)};
  chart.smoothing_window = 101;
  const std::string svg = render_line_chart(chart);
  check_xml(svg);
  CHECK(svg.size() < 1000000);
  const std::vector<std::string> d = paths(svg);
  REQUIRE(d.size() == 4);
  // At most 4 points per pixel column of the 600-pixel plot.
  for (const std::string& path : d) CHECK(count(path, "L") <= 4 * 601);

  // Alone, the noisy series has a y axis of 0..3 over the plot's 380 pixels
  // from y = 45: the spike (3) is kept at the very top, and every pixel
  // column still reaches both 0 and 1.
  chart.series = {series("noisy", noisy)};
  const std::vector<double> ys = path_ys(paths(render_line_chart(chart))[0]);
  CHECK(*std::min_element(ys.begin(), ys.end()) == 45.0);
  size_t at_zero = 0, at_one = 0;
  for (double y : ys) at_zero += std::abs(y - 425.0) < 0.06, at_one += std::abs(y - (425.0 - 380.0 / 3)) < 0.06;
  CHECK(at_zero >= 599);
  CHECK(at_one >= 599);
  CHECK(std::count(ys.begin(), ys.end(), 45.0) == 1);  // the spike, once
}

TEST_CASE("line chart: bad input is refused with the path in the message") {
  TempDir dir;
  const std::string path = dir.file("bad.svg");
  LineChart chart;
  chart.series = {series("loss", {1, 2, 3}, {0, 1})};
  CHECK_THROWS_WITH_AS(write_line_chart(path, chart),
                       ("write_line_chart: " + path + ": series 'loss' has 2 x values but 3 y values").c_str(), Error);
  chart.series = {series("loss", {1, 2, 3})};
  chart.smoothing_window = -2;
  CHECK_THROWS_WITH_AS(write_line_chart(path, chart),
                       ("write_line_chart: " + path + ": smoothing_window must be >= 0, got -2").c_str(), Error);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("write_line_chart and write_scatter write what render_* returns") {
  TempDir dir;
  LineChart chart;
  chart.series = {series("a", {3, 1, 2})};
  write_line_chart(dir.file("c.svg"), chart);
  const std::vector<uint8_t> bytes = read_file(dir.file("c.svg"));
  CHECK(std::string(bytes.begin(), bytes.end()) == render_line_chart(chart, dir.file("c.svg")));
  ScatterPlot plot;
  plot.x = {1, 2};
  plot.y = {2, 1};
  write_scatter(dir.file("s.svg"), plot);
  const std::vector<uint8_t> scatter = read_file(dir.file("s.svg"));
  CHECK(std::string(scatter.begin(), scatter.end()) == render_scatter(plot));
}

TEST_CASE("scatter: one circle per finite point, coloured by class, one legend entry per class") {
  ScatterPlot plot;
  plot.title = "latent map";
  plot.x_label = "z0";
  plot.y_label = "z1";
  for (int i = 0; i < 200; ++i) {
    plot.x.push_back(std::cos(i * 0.1) * (1 + i % 10));
    plot.y.push_back(std::sin(i * 0.1) * (1 + i % 10));
    plot.label.push_back(i % 10);
  }
  plot.x[7] = kNaN;
  plot.y[8] = kInf;
  for (int k = 0; k < 10; ++k) plot.class_names.push_back("digit " + std::to_string(k));
  const std::string svg = render_scatter(plot);
  const std::map<std::string, int> counts = check_xml(svg);
  CHECK(counts.at("circle") == 198);
  CHECK(counts.count("path") == 0);
  const std::vector<std::string> legend = texts(group(svg, "legend"));
  REQUIRE(legend.size() == 10);
  CHECK(legend[3] == "digit 3");
  CHECK(count(group(svg, "legend"), "<rect") == 10);
  // Ten distinct colours, 20 points each (less the two skipped, labels 7 and 8).
  CHECK(count(svg, "fill=\"#1f77b4\"") == 20 + 1);  // + its legend swatch
  CHECK(count(svg, "fill=\"#7f7f7f\"") == 19 + 1);
  CHECK(count(svg, "fill=\"#17becf\"") == 20 + 1);
  CHECK(texts(group(svg, "x-tick-labels")) == std::vector<std::string>{"-10", "-5", "0", "5", "10"});

  // Without class names the legend lists the labels present.
  plot.class_names.clear();
  plot.label = std::vector<int64_t>(200, 4);
  plot.label[0] = 12;
  CHECK(texts(group(render_scatter(plot), "legend")) == std::vector<std::string>{"4", "12"});
  // Without labels: one colour, no legend.
  plot.label.clear();
  const std::string plain = render_scatter(plot);
  CHECK(check_xml(plain).at("circle") == 198);
  CHECK(group(plain, "legend").empty());
  // No points: a valid, empty plot.
  CHECK(check_xml(render_scatter(ScatterPlot{})).count("circle") == 0);
}

TEST_CASE("scatter: inconsistent input is refused with the path in the message") {
  ScatterPlot plot;
  plot.x = {1, 2, 3};
  plot.y = {1, 2};
  CHECK_THROWS_WITH_AS(write_scatter("map.svg", plot), "write_scatter: map.svg: 3 x values but 2 y values", Error);
  plot.y = {1, 2, 3};
  plot.label = {0, 1};
  CHECK_THROWS_WITH_AS(write_scatter("map.svg", plot), "write_scatter: map.svg: 2 labels for 3 points", Error);
  plot.label = {0, -1, 1};
  CHECK_THROWS_WITH_AS(write_scatter("map.svg", plot), "write_scatter: map.svg: labels must be >= 0, got -1", Error);
  plot.label = {0, 1, 2};
  plot.class_names = {"zero", "one"};
  CHECK_THROWS_WITH_AS(write_scatter("map.svg", plot), "write_scatter: map.svg: label 2 has no class name (2 given)",
                       Error);
  CHECK_FALSE(std::filesystem::exists("map.svg"));
}

// ---- CSV -------------------------------------------------------------------------------

TEST_CASE("CsvLog: rows round-trip exactly, including NaN, infinities and extremes") {
  TempDir dir;
  const std::string path = dir.file("log.csv");
  const std::vector<Values> rows = {
      {0, 1.0 / 3, -0.1},
      {1e-300, 5e-324, 1.7976931348623157e308},
      {kNaN, kInf, -kInf},
      {-0.0, 123456789012345678.0, 0.30000000000000004},
  };
  {
    CsvLog log(path, {"iteration", "loss_d", "loss_g"});
    for (const Values& row : rows) log.append(row);
    CHECK(log.rows() == 4);
    REQUIRE(log.values().size() == 4);
    CHECK(log.values()[1] == rows[1]);  // the numbers kept in memory, as appended
    CHECK(std::isnan(log.values()[2][0]));
    CHECK_FALSE(std::filesystem::exists(path));  // nothing written before flush()
    log.flush();
  }
  std::vector<std::string> columns;
  const std::vector<Values> back = read_csv_numbers(path, &columns);
  CHECK(columns == std::vector<std::string>{"iteration", "loss_d", "loss_g"});
  REQUIRE(back.size() == rows.size());
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < 3; ++c) {
      CAPTURE(r);
      CAPTURE(c);
      if (std::isnan(rows[r][c])) {
        CHECK(std::isnan(back[r][c]));
      } else {
        CHECK(back[r][c] == rows[r][c]);
        CHECK(std::signbit(back[r][c]) == std::signbit(rows[r][c]));
      }
    }
  // Shortest round-trip text: "0.1" stays "0.1", not 0.10000000000000001.
  const std::vector<uint8_t> bytes = read_file(path);
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.substr(0, text.find('\n', text.find('\n') + 1) + 1) ==
        "iteration,loss_d,loss_g\n0,0.3333333333333333,-0.1\n");
  CHECK(text.find("nan,inf,-inf\n") != std::string::npos);
}

TEST_CASE("CsvLog: each flush rewrites the whole file; only flush writes; header-only logs") {
  TempDir dir;
  const std::string path = dir.file("log.csv");
  {
    CsvLog log(path, {"a", "b"});
    log.append({1, 2});
    log.flush();
    CHECK(read_csv_numbers(path) == std::vector<Values>{{1, 2}});
    log.append({3, 4});
    log.append({5, 6});
    log.flush();
    CHECK(read_csv_numbers(path) == std::vector<Values>{{1, 2}, {3, 4}, {5, 6}});
    log.append({7, 8});  // never flushed: the file keeps what the last flush wrote
  }
  CHECK(read_csv_numbers(path) == std::vector<Values>{{1, 2}, {3, 4}, {5, 6}});
  // Only the log itself is in the directory: the atomic writes left no temporaries.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) entries += entry.is_regular_file();
  CHECK(entries == 1);

  // Resuming: read the old rows, keep some, carry them into a new log.
  std::vector<std::string> columns;
  std::vector<Values> old = read_csv_numbers(path, &columns);
  old.resize(2);
  {
    CsvLog resumed(path, columns);
    for (const Values& row : old) resumed.append(row);
    resumed.append({9, 10});
    CHECK(read_csv_numbers(path).size() == 3);  // a new log on the path leaves the old file until its flush
    resumed.flush();
  }
  CHECK(read_csv_numbers(path) == std::vector<Values>{{1, 2}, {3, 4}, {9, 10}});

  {
    CsvLog empty(dir.file("empty.csv"), {"x"});
    empty.flush();
  }
  CHECK(read_csv_numbers(dir.file("empty.csv"), &columns).empty());
  CHECK(columns == std::vector<std::string>{"x"});
}

TEST_CASE("CsvLog: column names with commas and quotes are quoted and read back") {
  TempDir dir;
  const std::string path = dir.file("q.csv");
  {
    CsvLog log(path, {"D(x), real", "say \"hi\"", "plain"});
    log.append({1, 2, 3});
    log.flush();
  }
  const std::vector<uint8_t> bytes = read_file(path);
  CHECK(std::string(bytes.begin(), bytes.end()) == "\"D(x), real\",\"say \"\"hi\"\"\",plain\n1,2,3\n");
  std::vector<std::string> columns;
  CHECK(read_csv_numbers(path, &columns) == std::vector<Values>{{1, 2, 3}});
  CHECK(columns == std::vector<std::string>{"D(x), real", "say \"hi\"", "plain"});
}

TEST_CASE("CsvLog and read_csv_numbers: errors name the file (and line, column)") {
  TempDir dir;
  const std::string path = dir.file("log.csv");
  CsvLog log(path, {"iteration", "loss"});
  CHECK_THROWS_WITH_AS(log.append({1, 2, 3}),
                       ("CsvLog: " + path + ": row has 3 values, expected 2 (iteration, loss)").c_str(), Error);
  CHECK(log.rows() == 0);
  CHECK_THROWS_WITH_AS(CsvLog(path, {}), ("CsvLog: " + path + ": needs at least one column").c_str(), Error);
  CHECK_THROWS_WITH_AS(CsvLog(path, {"a", "b\nc"}),
                       ("CsvLog: " + path + ": column 1 has a line break in its name").c_str(), Error);

  const std::string other = dir.file("other.csv");
  write_file_atomic(other, "a,b\n1,2\n3\n");
  CHECK_THROWS_WITH_AS(read_csv_numbers(other), (other + ": line 3: 1 fields, expected 2 (a, b)").c_str(), Error);
  write_file_atomic(other, "a,b\n1,2\n3,x4\n");
  CHECK_THROWS_WITH_AS(read_csv_numbers(other), (other + ": line 3, column 'b': not a number: 'x4'").c_str(), Error);
  write_file_atomic(other, "a,b\n1,2.5.6\n");
  CHECK_THROWS_WITH_AS(read_csv_numbers(other), (other + ": line 2, column 'b': not a number: '2.5.6'").c_str(), Error);
  write_file_atomic(other, "\n\n");
  CHECK_THROWS_WITH_AS(read_csv_numbers(other), (other + ": no header line (empty file)").c_str(), Error);
  write_file_atomic(other, "\"a,b\n");
  CHECK_THROWS_WITH_AS(read_csv_numbers(other), (other + ": line 1: unterminated quoted field").c_str(), Error);
  CHECK_THROWS_WITH_AS(read_csv_numbers(dir.file("missing.csv")),
                       (dir.file("missing.csv") + ": cannot read: No such file or directory").c_str(), Error);
}

TEST_CASE("read_csv_numbers: other writers' CSVs: CRLF, spaces, '+', empty fields, blank lines, 1e999") {
  TempDir dir;
  const std::string path = dir.file("foreign.csv");
  write_file_atomic(path, " a , b ,c\r\n+1, 2.5e-3 ,\r\n\r\n-4,1e999,7");
  std::vector<std::string> columns;
  const std::vector<Values> rows = read_csv_numbers(path, &columns);
  CHECK(columns == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0] == 1);
  CHECK(rows[0][1] == 2.5e-3);
  CHECK(std::isnan(rows[0][2]));
  CHECK(rows[1] == Values{-4, kInf, 7});
}
