// csv.cpp — see csv.h.
#include "common/csv.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include "data/file.h"
#include "tensor/error.h"

namespace dl {

namespace {

// RFC 4180: a field holding a comma or a quote is quoted, quotes doubled.
std::string quote_field(const std::string& field) {
  if (field.find_first_of(",\"") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Shortest text that reads back to the same double; one spelling of NaN
// (to_chars may write "-nan", which is the same value to us).
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "nan";
    return;
  }
  char buffer[64];
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, r.ptr);
}

std::string trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// Splits one line into fields, undoing RFC 4180 quoting.
std::vector<std::string> split_fields(const std::string& line, const std::string& path, size_t line_number) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  check(!quoted, path, ": line ", line_number, ": unterminated quoted field");
  return fields;
}

std::string join_columns(const std::vector<std::string>& columns) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) out += (i ? ", " : "") + columns[i];
  return out;
}

}  // namespace

CsvLog::CsvLog(std::string path, std::vector<std::string> columns)
    : path_(std::move(path)), columns_(std::move(columns)) {
  check(!columns_.empty(), "CsvLog: ", path_, ": needs at least one column");
  for (size_t i = 0; i < columns_.size(); ++i) {
    check(columns_[i].find_first_of("\r\n") == std::string::npos, "CsvLog: ", path_, ": column ", i,
          " has a line break in its name");
    text_ += (i ? "," : "") + quote_field(columns_[i]);
  }
  text_ += '\n';
}

void CsvLog::append(const std::vector<double>& row) {
  check(row.size() == columns_.size(), "CsvLog: ", path_, ": row has ", row.size(), " values, expected ",
        columns_.size(), " (", join_columns(columns_), ")");
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) text_ += ',';
    append_number(text_, row[i]);
  }
  text_ += '\n';
  values_.push_back(row);
}

void CsvLog::flush() { write_file_atomic(path_, text_); }

namespace {

// read_csv_numbers, less the naming of the file when memory runs out.
std::vector<std::vector<double>> read_csv_rows(const std::string& path, std::vector<std::string>* columns) {
  const std::vector<uint8_t> bytes = read_file(path);
  const std::string text(bytes.begin(), bytes.end());
  std::vector<std::vector<double>> rows;
  std::vector<std::string> header;
  size_t line_number = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    if (trim(line).empty()) continue;
    std::vector<std::string> fields = split_fields(line, path, line_number);
    if (header.empty()) {
      for (std::string& field : fields) header.push_back(trim(field));
      continue;
    }
    check(fields.size() == header.size(), path, ": line ", line_number, ": ", fields.size(), " fields, expected ",
          header.size(), " (", join_columns(header), ")");
    std::vector<double> row;
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string field = trim(fields[i]);
      if (field.empty()) {
        row.push_back(std::nan(""));  // a missing value
        continue;
      }
      // from_chars takes no '+' sign; other writers may put one.
      const char* begin = field.data() + (field.size() > 1 && field[0] == '+' && field[1] != '-' && field[1] != '+');
      double value = 0;
      const std::from_chars_result r = std::from_chars(begin, field.data() + field.size(), value);
      // out of range: from_chars leaves value unset; strtod's answer (+-inf or 0) is what a reader expects.
      if (r.ec == std::errc::result_out_of_range && r.ptr == field.data() + field.size())
        value = std::strtod(field.c_str(), nullptr);
      else
        check(r.ec == std::errc() && r.ptr == field.data() + field.size(), path, ": line ", line_number, ", column '",
              header[i], "': not a number: '", field, "'");
      row.push_back(value);
    }
    rows.push_back(std::move(row));
  }
  check(!header.empty(), path, ": no header line (empty file)");
  if (columns) *columns = std::move(header);
  return rows;
}

}  // namespace

std::vector<std::vector<double>> read_csv_numbers(const std::string& path, std::vector<std::string>* columns) {
  return naming_out_of_memory(path, "reading", [&] { return read_csv_rows(path, columns); });
}

}  // namespace dl
