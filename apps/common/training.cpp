// training.cpp — see training.h.
#include "common/training.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ctime>
#include <iostream>
#include <sstream>

#include "common/svg.h"
#include "data/crash_point.h"
#include "data/file.h"
#include "ops/ops.h"
#include "tensor/error.h"

namespace dl {

// ---- run directory --------------------------------------------------------------

void make_directories(const std::string& path) {
  check(!path.empty(), "mkdir: empty path");
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    const std::string prefix = pos == std::string::npos ? path : path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      fail(prefix, ": cannot create directory: ", std::strerror(errno));
    }
    if (pos == std::string::npos) break;
  }
  struct stat info {};
  check(::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode), path, ": exists and is not a directory");
}

bool path_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

namespace {

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &local);
  return text;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void prepare_fresh_run_directory(const std::string& dir, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::exists(dir, error)) return;
  check(is_directory(dir), dir, ": exists and is not a directory");
  // What a start that failed before its first checkpoint leaves behind.
  auto leftover_of_failed_start = [](const fs::directory_entry& entry) {
    const std::string name = entry.path().filename().string();
    if (name == "config.json") return true;
    std::error_code e;
    return (name == "checkpoints" || name == "samples") && entry.is_directory(e) && fs::is_empty(entry.path(), e);
  };
  std::vector<fs::path> entries;
  bool holds_a_run = false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    entries.push_back(entry.path());
    holds_a_run = holds_a_run || !leftover_of_failed_start(entry);
  }
  if (!holds_a_run) return;
  if (!overwrite) {
    fail(dir, ": already holds a run; continue it with --resume, or start over in it with --overwrite");
  }
  const bool looks_like_a_run = fs::exists(dir + "/config.json", error) || fs::exists(dir + "/checkpoints", error) ||
                                fs::exists(dir + "/losses.csv", error) || fs::exists(dir + "/latest.safetensors", error);
  check(looks_like_a_run, dir,
        ": is not a run directory (no config.json, checkpoints/, losses.csv or latest.safetensors); "
        "--overwrite only empties run directories");
  // The entries, not the directory: --run may be a symbolic link to it.
  for (const fs::path& entry : entries) {
    fs::remove_all(entry, error);
    check(!error, entry.string(), ": cannot remove (for --overwrite): ", error.message());
  }
}

RunDirectory RunDirectory::create(const std::string& app, const std::string& path, bool overwrite,
                                  RunLayout layout) {
  std::string dir = path;
  if (dir.empty()) {
    // Two runs started in the same second get -2, -3, ... appended.
    const std::string stem = "runs/" + app + "-" + timestamp();
    dir = stem;
    for (int n = 2; is_directory(dir); ++n) dir = stem + "-" + std::to_string(n);
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  prepare_fresh_run_directory(dir, overwrite);
  make_directories(dir);
  if (layout == RunLayout::Run) {
    make_directories(dir + "/checkpoints");
    make_directories(dir + "/samples");
  }
  return RunDirectory(dir, layout);
}

RunDirectory RunDirectory::open(const std::string& path, RunLayout layout) {
  std::string dir = path.empty() ? "runs/latest" : path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  check(is_directory(dir), "--run ", dir, ": no such run directory (start one with train, without --resume)");
  remove_stale_temporaries(dir);
  if (layout == RunLayout::Run) {
    for (const char* sub : {"/checkpoints", "/samples"}) {
      make_directories(dir + sub);
      remove_stale_temporaries(dir + sub);
    }
  }
  return RunDirectory(dir, layout);
}

void RunDirectory::mark_latest() const {
  if (layout_ == RunLayout::Flat) return;
  // runs/latest -> the run, relative so the tree can be moved. Replaced
  // atomically: a symlink under a temporary name renamed over the old one.
  const std::string latest = parent_of(path_) + "/latest", temp = latest + ".tmp";
  ::unlink(temp.c_str());
  if (::symlink(base_name(path_).c_str(), temp.c_str()) != 0 || ::rename(temp.c_str(), latest.c_str()) != 0) {
    std::cerr << "warning: could not point " << latest << " at " << path_ << ": " << std::strerror(errno) << "\n";
  }
}

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

// ---- data -----------------------------------------------------------------------

MnistSplit load_training_split(const std::string& data_dir, int64_t limit) {
  MnistSplit train = load_mnist(resolve_mnist_dir(data_dir), true);
  if (limit > 0 && limit < train.images.size(0)) {
    train.images = train.images.narrow(0, 0, limit);
    train.labels = train.labels.narrow(0, 0, limit);
  }
  return train;
}

// ---- the loop -------------------------------------------------------------------

int64_t default_read_every(Device device) { return device.is_cpu() ? 1 : 25; }

TrainLoopOptions train_loop_options(const std::string& app, int64_t epochs, int64_t log_every,
                                    int64_t max_iterations, int64_t read_every, Device device) {
  TrainLoopOptions loop;
  loop.app = app;
  loop.epochs = epochs;
  loop.log_every = log_every;
  loop.max_iterations = max_iterations;
  loop.read_every = read_every > 0 ? read_every : default_read_every(device);
  return loop;
}

std::vector<std::string> lr_decay_choices() { return {"none", "cosine"}; }

Generator side_stream(uint64_t seed, SideStream which) {
  Generator generator(seed);
  generator.offset = uint64_t(1) << static_cast<int>(which);
  return generator;
}

std::string epoch_sample_file(int64_t epoch) {
  char name[48];
  std::snprintf(name, sizeof name, "samples/epoch_%03lld.png", static_cast<long long>(epoch));
  return name;
}

namespace {

// The iterations whose logged values are still on the device, oldest first.
struct PendingValues {
  std::vector<Tensor> values;
  TrainPosition first;  // the position of the oldest one
  bool empty() const { return values.empty(); }
};

// " at iteration 5 (epoch 3, batch 1)": where an iteration sits, for messages.
std::string where(const TrainPosition& at) {
  return concat(" at iteration ", at.iteration + 1, " (epoch ", at.epoch + 1, ", batch ", at.batch + 1, ")");
}

}  // namespace

int run_training(DataLoader& loader, TrainPosition& pos, const TrainLoopOptions& options, CsvLog& log,
                 const TrainLoopHooks& hooks) {
  const int64_t batches = loader.batches_per_epoch();
  check(batches > 0, options.app, " train: the data set has fewer images (", loader.size(), ") than one batch (",
        loader.batch_size(), ")");
  check(options.read_every >= 1, options.app, " train: read_every must be >= 1, got ", options.read_every);
  // A resumed position must be one this loader can reach: otherwise the
  // checkpoint is crafted or belongs to other data.
  check(pos.epoch >= 0 && pos.batch >= 0 && pos.batch < batches && pos.iteration == pos.epoch * batches + pos.batch,
        options.app, " train: the checkpoint's position (epoch ", pos.epoch, ", batch ", pos.batch, ", iteration ",
        pos.iteration, ") does not fit ", batches, " batches per epoch");
  const std::vector<std::string>& columns = log.columns();
  check(columns.size() > 2 && columns[0] == "epoch" && columns[1] == "iteration", options.app,
        " train: the log's first columns must be epoch, iteration");
  const std::vector<std::string> names(columns.begin() + 2, columns.end());
  const size_t width = names.size();
  int64_t trained_here = 0;
  PendingValues pending;
  // The watch sees the rows a resumed run kept, so that it judges the same
  // last iterations as an uninterrupted run would.
  DivergenceWatch divergence(columns);
  const std::vector<std::vector<double>>& kept = log.values();
  for (size_t i = kept.size() - std::min<size_t>(kept.size(), DivergenceWatch::kWindow); i < kept.size(); ++i) {
    divergence.observe(static_cast<int64_t>(kept[i][1]), kept[i]);
  }
  const std::string keep = "; stopping — the last good checkpoint is kept";

  // Why to stop after an iteration: a signal, or --max-iters reached.
  auto stop_requested = [&] {
    return stop_signal() != 0 || (options.max_iterations > 0 && trained_here >= options.max_iterations);
  };
  // Called after the checkpoint for `pos` is written: 128 + the signal, or
  // 0 for --max-iters (a requested, normal end).
  auto stopped = [&] {
    const int signal = stop_signal();
    std::cout << options.app << ": stopped ";
    if (signal != 0) std::cout << "by " << (signal == SIGTERM ? "SIGTERM" : "SIGINT");
    else std::cout << "after --max-iters " << options.max_iterations << " iterations";
    std::cout << " at epoch " << pos.epoch + 1 << ", batch " << pos.batch
              << "; checkpoint written (continue with --resume)\n";
    return signal != 0 ? 128 + signal : 0;
  };
  // The ordering invariant (training.h): the log is durable before the
  // checkpoint that claims its rows.
  auto checkpoint = [&] {
    log.flush();
    crash_point("log-written");
    hooks.save(pos);
    crash_point("checkpoint-written");
  };
  // Stops on a bad value: the log keeps the rows before it, for the curve
  // that led there; a log that cannot be written is said, not hidden.
  auto fail_keeping_log = [&](const std::string& message) {
    try {
      log.flush();
    } catch (const Error& e) {
      std::cerr << options.app << ": " << e.what() << "\n";
    }
    fail(message);
  };
  // Reads the pending values with one copy to the host, checks them and
  // appends their rows. An error raised by the read (a failed check on the
  // device) may come from any of the pending iterations.
  auto read_pending = [&](Progress& progress) {
    if (pending.empty()) return;
    const int64_t count = static_cast<int64_t>(pending.values.size());
    std::vector<double> all;
    try {
      all = stack(pending.values).to_vector<double>();
    } catch (const Error& e) {
      fail_keeping_log(concat(options.app, " train: iterations ", pending.first.iteration + 1, "-",
                              pending.first.iteration + count, " (epoch ", pending.first.epoch + 1, "): ", e.what(),
                              keep));
    }
    check(all.size() == static_cast<size_t>(count) * width, options.app, " train: the step returned ",
          all.size() / static_cast<size_t>(count), " values for ", width, " log columns");
    for (int64_t r = 0; r < count; ++r) {
      TrainPosition at = pending.first;
      at.iteration += r;
      at.batch += r;
      const std::vector<double> values(all.begin() + r * width, all.begin() + (r + 1) * width);
      for (size_t i = 0; i < width; ++i) {
        if (std::isfinite(values[i])) continue;
        fail_keeping_log(concat(options.app, " train: ", names[i], " is ",
                                std::isnan(values[i]) ? "nan" : (values[i] > 0 ? "inf" : "-inf"), where(at), keep));
      }
      std::vector<double> row = {static_cast<double>(at.epoch), static_cast<double>(at.iteration)};
      row.insert(row.end(), values.begin(), values.end());
      log.append(row);
      const std::string diverged = divergence.observe(at.iteration, row);
      if (!diverged.empty() && pos.divergence.empty()) {
        pos.divergence = diverged;
        if (progress.on_terminal()) std::cout << "\n";
        std::cout << options.app << ": warning: " << diverged << "; training goes on\n" << std::flush;
      }
      progress.update(at.batch + 1, values);
    }
    pending.values.clear();
  };

  while (pos.epoch < options.epochs) {
    loader.start_epoch(pos.epoch, pos.batch);
    Progress progress("epoch " + std::to_string(pos.epoch + 1) + "/" + std::to_string(options.epochs), batches,
                      options.log_every, names);
    while (std::optional<Batch> batch = loader.next()) {
      if (pending.empty()) pending.first = pos;
      try {
        pending.values.push_back(hooks.step(*batch).reshape({-1}));
      } catch (const Error& e) {
        fail_keeping_log(concat(options.app, " train: iteration ", pos.iteration + 1, " (epoch ", pos.epoch + 1,
                                ", batch ", pos.batch + 1, "): ", e.what(), keep));
      }
      ++pos.batch;
      ++pos.iteration;
      ++trained_here;
      const bool stop = stop_requested() && pos.batch < batches;
      if (stop || static_cast<int64_t>(pending.values.size()) >= options.read_every) read_pending(progress);
      if (stop) {
        progress.finish();
        checkpoint();
        return stopped();
      }
    }
    read_pending(progress);
    progress.finish();
    ++pos.epoch;
    pos.batch = 0;
    if (hooks.end_of_epoch) {
      // Images and charts are for people; the checkpoint is the run. A
      // failure here (a full disk, a removed folder) is said and the
      // checkpoint is still written.
      try {
        hooks.end_of_epoch(pos.epoch - 1);
      } catch (const Error& e) {
        std::cerr << options.app << ": warning: epoch " << pos.epoch << "'s images and charts: " << e.what()
                  << "; the checkpoint is written without them\n";
      }
    }
    checkpoint();
    if (stop_requested() && pos.epoch < options.epochs) return stopped();
  }
  return 0;
}

int run_train_command(DataLoader& loader, TrainPosition& pos, const TrainLoopOptions& options, CsvLog& log,
                      const TrainLoopHooks& hooks, const RunDirectory& run) {
  TrainLoopHooks with_latest = hooks;
  bool marked = false;
  with_latest.save = [&](const TrainPosition& at) {
    hooks.save(at);
    if (!marked) run.mark_latest();
    marked = true;
  };
  const int status = run_training(loader, pos, options, log, with_latest);
  if (status == 0 && pos.epoch == options.epochs) {
    std::cout << options.app << ": done; checkpoint " << run.checkpoint() << "\n"
              << "  evaluate with: ./apps/" << options.app << " eval --checkpoint " << run.checkpoint() << "\n";
  }
  return status;
}

std::string eval_dir_of(const std::string& checkpoint) {
  std::filesystem::path dir = std::filesystem::path(checkpoint).parent_path();
  if (dir.filename() == "checkpoints") dir = dir.parent_path();
  return ((dir.empty() ? std::filesystem::path(".") : dir) / "eval").string();
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

void restore_log(const std::string& path, int64_t iteration, CsvLog& log) {
  std::vector<std::string> columns;
  const std::vector<std::vector<double>> rows = read_csv_numbers(path, &columns);
  check(columns == log.columns(), path, ": its columns do not match this run's log");
  // Row i logs iteration i; rows from `iteration` on are past the
  // checkpoint (written just before a crash) and are dropped.
  for (int64_t i = 0; i < iteration; ++i) {
    const size_t at = static_cast<size_t>(i);
    check(at < rows.size() && rows[at][1] == static_cast<double>(i), path, ": has no row for iteration ", i,
          " but the checkpoint is at iteration ", iteration,
          " (the log was damaged; restore it, or start over with --overwrite)");
    log.append(rows[at]);
  }
}

// ---- divergence -------------------------------------------------------------------

DivergenceWatch::DivergenceWatch(const std::vector<std::string>& columns) : columns_(columns) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].rfind("loss", 0) == 0) losses_.push_back(i);
    if (columns[i] == "D(x)") d_real_ = static_cast<int64_t>(i);
    if (columns[i] == "D(G(z))") d_fake_ = static_cast<int64_t>(i);
  }
  if (d_real_ >= 0 && d_fake_ >= 0) {
    real_window_.assign(kWindow, 0.0);
    fake_window_.assign(kWindow, 0.0);
  }
}

std::string DivergenceWatch::observe(int64_t iteration, const std::vector<double>& row) {
  for (size_t i : losses_) {
    if (std::abs(row[i]) > kMaxLoss) {
      return concat(columns_[i], " is ", row[i], " at iteration ", iteration + 1, " (above ", kMaxLoss, ")");
    }
  }
  if (real_window_.empty()) return "";
  // Running sums over a ring of the last kWindow rows.
  const size_t slot = static_cast<size_t>(seen_ % kWindow);
  real_sum_ += row[static_cast<size_t>(d_real_)] - real_window_[slot];
  fake_sum_ += row[static_cast<size_t>(d_fake_)] - fake_window_[slot];
  real_window_[slot] = row[static_cast<size_t>(d_real_)];
  fake_window_[slot] = row[static_cast<size_t>(d_fake_)];
  ++seen_;
  if (seen_ < kWindow) return "";
  const double real = real_sum_ / kWindow, fake = fake_sum_ / kWindow;
  if (real > 0.99 && fake < 0.01) {
    return concat("the discriminator saturated at iteration ", iteration + 1, ": mean D(x) ", real,
                  ", mean D(G(z)) ", fake, " over the last ", kWindow, " iterations");
  }
  return "";
}

void add_divergence(JsonValue::Object& members, const std::string& divergence) {
  if (!divergence.empty()) members.push_back({"divergence", JsonValue::string(divergence)});
}

void print_divergence(const std::string& divergence) {
  if (!divergence.empty()) std::cout << "warning: this run diverged during training: " << divergence << "\n";
}

}  // namespace dl
