// progress.h — what a training run shows and hears while it trains: the
// progress display of an epoch, and the SIGINT/SIGTERM handlers that ask
// the loop (training.h) to stop at the next iteration.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dl {

// ---- stopping -------------------------------------------------------------------
// Installs handlers for SIGINT and SIGTERM that only record the signal (and
// forgets an earlier one); the training loop polls stop_signal() between
// iterations. A second signal
// kills the process at once (the handlers are one-shot).
void install_stop_handlers();
int stop_signal();                // 0, SIGINT or SIGTERM

// ---- progress -------------------------------------------------------------------
// One epoch's progress. On a terminal: a bar redrawn in place with it/s,
// ETA and the running means of the logged values. Otherwise (a log file, CI):
// one plain line every `every` iterations and at the end.
class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t every, std::vector<std::string> names);
  // `done` iterations of `total` finished; `values` are this iteration's.
  void update(int64_t done, const std::vector<double>& values);
  // Ends the epoch's display with a summary line.
  void finish();
  double seconds() const;
  const std::vector<double>& means() const { return means_; }
  // Whether the bar is redrawn in place (a line printed meanwhile must
  // start on a new one).
  bool on_terminal() const { return terminal_; }

 private:
  std::string line(int64_t done) const;
  std::string label_;
  int64_t total_, every_, first_ = -1, count_ = 0, done_ = 0;
  std::vector<std::string> names_;
  std::vector<double> sums_, means_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dl
