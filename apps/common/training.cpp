// training.cpp — see training.h.
#include "common/training.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/progress.h"
#include "data/crash_point.h"
#include "ops/ops.h"
#include "tensor/error.h"

namespace dl {

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
