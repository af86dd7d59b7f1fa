// progress.cpp — see progress.h.
#include "common/progress.h"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace dl {

// ---- stopping -------------------------------------------------------------------

namespace {
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
  g_stop_signal = signal;
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process at once
}
}  // namespace

void install_stop_handlers() {
  g_stop_signal = 0;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

int stop_signal() { return g_stop_signal; }

// ---- progress -------------------------------------------------------------------

namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(text, sizeof text, "%02lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return text;
}

}  // namespace

Progress::Progress(std::string label, int64_t total, int64_t every, std::vector<std::string> names)
    : label_(std::move(label)),
      total_(total),
      every_(every > 0 ? every : 100),
      names_(std::move(names)),
      sums_(names_.size(), 0.0),
      means_(names_.size(), 0.0),
      terminal_(::isatty(STDOUT_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::line(int64_t done) const {
  // Speed and ETA count only this process's iterations (a resumed epoch
  // starts part-way through).
  const double elapsed = seconds();
  const double rate = elapsed > 0 ? static_cast<double>(count_) / elapsed : 0.0;
  std::ostringstream out;
  out << label_ << " " << done << "/" << total_;
  if (terminal_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
    out << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "]";
  }
  char speed[32];
  std::snprintf(speed, sizeof speed, " %.2f it/s", rate);
  out << speed << " ETA " << clock_text(rate > 0 ? static_cast<double>(total_ - done) / rate : NAN);
  for (size_t i = 0; i < names_.size(); ++i) {
    char value[48];
    std::snprintf(value, sizeof value, " %s %.4f", names_[i].c_str(), means_[i]);
    out << value;
  }
  return out.str();
}

void Progress::update(int64_t done, const std::vector<double>& values) {
  if (first_ < 0) first_ = done - 1;
  ++count_;
  done_ = done;
  for (size_t i = 0; i < sums_.size() && i < values.size(); ++i) {
    sums_[i] += values[i];
    means_[i] = sums_[i] / static_cast<double>(count_);
  }
  if (terminal_) {
    std::cout << "\r\033[K" << line(done) << std::flush;
  } else if (done % every_ == 0 && done < total_) {
    std::cout << line(done) << "\n" << std::flush;
  }
}

void Progress::finish() {
  if (terminal_) std::cout << "\r\033[K";
  std::cout << line(done_) << " in " << clock_text(seconds()) << "\n" << std::flush;
}

}  // namespace dl
