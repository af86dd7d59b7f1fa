// csv.h — the per-iteration training log (losses, D(x), D(G(z)), ...) as a
// CSV file with a header line, and reading it back (for resuming and tests).
//
// Crash safety: CsvLog keeps the whole file's text in memory and flush()
// rewrites the file with write_file_atomic (temporary + fsync + rename).
// The file on disk is therefore always a complete earlier state — a header
// and whole rows, never a half-written line — whenever the process dies.
// The price is that each flush writes the whole log (a 50-epoch MNIST run,
// ~47k rows, is a few MB), so flush once per epoch or checkpoint, not per
// row.
//
// Numbers are written in the shortest form that reads back to the same
// double (std::to_chars), so a log round-trips exactly; NaN and infinities
// are written as nan, inf, -inf, which read_csv_numbers reads back.
//
// Nothing is written but by flush(): not at construction, not by the
// destructor. The writer decides when the file changes — a training loop
// writes it right before each checkpoint — so an error on the way (a resume
// that rejects the old log, a crash) never replaces the file on disk with a
// shorter one.
//
// Resuming: read the old rows with read_csv_numbers, keep those up to the
// checkpoint, and append them to a new CsvLog on the same path; the old
// file stays intact until its first flush().
#pragma once

#include <string>
#include <vector>

namespace dl {

class CsvLog {
 public:
  // Needs at least one column; names are quoted in the header if they hold
  // a comma or a quote (RFC 4180), and may not hold a line break.
  CsvLog(std::string path, std::vector<std::string> columns);
  CsvLog(const CsvLog&) = delete;
  CsvLog& operator=(const CsvLog&) = delete;

  // Adds one row; throws Error naming the file if it does not have one value
  // per column.
  void append(const std::vector<double>& row);
  // Writes the header and every row appended so far, atomically.
  void flush();

  const std::string& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }
  size_t rows() const { return values_.size(); }
  // Every row appended so far, as numbers (e.g. to redraw the curves).
  const std::vector<std::vector<double>>& values() const { return values_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::string text_;  // header + rows, exactly as the file will be
  std::vector<std::vector<double>> values_;
};

// The numeric rows of a CSV file written by CsvLog (or any CSV of numbers
// with a header line; fields may be padded with spaces, an empty field reads
// as NaN, blank lines are skipped). Stores the header's column names in *columns if
// columns is not null. Throws Error naming the file and line on a missing
// header, a row of the wrong width, or a field that is not a number.
std::vector<std::vector<double>> read_csv_numbers(const std::string& path, std::vector<std::string>* columns = nullptr);

}  // namespace dl
