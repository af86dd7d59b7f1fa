// training.h — what every training app shares: the run directory, stopping
// on SIGINT/SIGTERM, the progress display, and the epoch/batch loop that
// logs each iteration, guards against NaN, and checkpoints.
//
// An app supplies only its step (one batch in, the logged numbers out), what
// to do at the end of an epoch (sample grids, charts) and how to write its
// checkpoint; run_training does the rest, the same way for every model:
//
//   TrainPosition pos;                      // or read back from a checkpoint
//   CsvLog log(run.file("losses.csv"), {"epoch", "iteration", "loss_D", ...});
//   const int status = run_training(loader, pos, options, log, step, end_of_epoch, save);
//
// Bit-identical resuming rests on three things the loop guarantees: a
// checkpoint is written only between iterations, it records the position
// (epoch, next batch, iteration), and the loader serves the same batches
// for a given (seed, epoch) whenever it is asked (data/loader.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/loader.h"
#include "data/mnist.h"

namespace dl {

// ---- run directory --------------------------------------------------------------
// runs/<app>-<YYYYmmdd-HHMMSS>/ (or the --run path), with checkpoints/ and
// samples/ inside; runs/latest is a symbolic link to the newest run.
class RunDirectory {
 public:
  // Creates `path`, or runs/<app>-<timestamp> when `path` is empty, and
  // points <parent>/latest at it.
  static RunDirectory create(const std::string& app, const std::string& path);
  // An existing run (for --resume); `path` empty means runs/latest.
  static RunDirectory open(const std::string& path);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string checkpoint() const { return file("checkpoints/latest.safetensors"); }

 private:
  explicit RunDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Creates a directory and its parents (like mkdir -p); Error naming it on failure.
void make_directories(const std::string& path);

// ---- stopping -------------------------------------------------------------------
// Installs handlers for SIGINT and SIGTERM that only record the signal (and
// forgets an earlier one); the
// training loop polls stop_signal() between iterations. A second signal
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

 private:
  std::string line(int64_t done) const;
  std::string label_;
  int64_t total_, every_, first_ = -1, count_ = 0, done_ = 0;
  std::vector<std::string> names_;
  std::vector<double> sums_, means_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
};

// ---- data -----------------------------------------------------------------------
// The MNIST training split from `data_dir` (resolve_mnist_dir's rules), cut
// to its first `limit` images when 0 < limit < 60,000 (quick experiments).
MnistSplit load_training_split(const std::string& data_dir, int64_t limit);

// ---- the loop -------------------------------------------------------------------
// Where a run stands: the next iteration trains batch `batch` of epoch
// `epoch`, and `iteration` iterations were trained so far.
struct TrainPosition {
  int64_t epoch = 0, batch = 0, iteration = 0;
};

struct TrainLoopOptions {
  std::string app;        // for messages: "infogan"
  int64_t epochs = 1;     // train until this many epochs are complete
  int64_t log_every = 100;  // plain progress lines when not on a terminal
  // Stop after this many iterations in this process (0: no limit), with a
  // checkpoint to resume from; for tests and quick experiments.
  int64_t max_iterations = 0;
  // Read the logged values back every this many iterations (and before
  // every checkpoint): on a GPU each read waits for the device to finish,
  // so reading in batches lets the host queue the next steps meanwhile.
  int64_t read_every = 1;
};

// read_every for a device when the user gave 0 ("auto"): 1 on the CPU, where
// a read costs nothing, 25 on a GPU.
int64_t default_read_every(Device device);

// The loop options of a train command from its flags (read_every 0: the
// device's default).
TrainLoopOptions train_loop_options(const std::string& app, int64_t epochs, int64_t log_every,
                                    int64_t max_iterations, int64_t read_every, Device device);

// ---- learning-rate schedule (--lr-decay of vae and the GAN family) -------------------
// "none" keeps `lr`; "cosine" anneals it as lr * (1 + cos(pi * t)) / 2 at
// t = progress = iteration / total iterations of the run (clamped to
// [0, 1]), so the last steps are small. The caller sets the optimizer's rate
// from it before each step, so a resumed run continues the same schedule.
std::vector<std::string> lr_decay_choices();
// Error naming lr_decay when `decay` is not one of lr_decay_choices().
void check_lr_decay(const std::string& decay);
double scheduled_learning_rate(double lr, const std::string& decay, double progress);

// "samples/epoch_NNN.png": the grid a train command writes after epoch
// `epoch` (counted from 1).
std::string epoch_sample_file(int64_t epoch);

struct TrainLoopHooks {
  // One iteration: returns the values of the log's columns after "epoch" and
  // "iteration", in order, as a 1-D tensor on any device (read back later,
  // see read_every).
  std::function<Tensor(const Batch&)> step;
  // After epoch `epoch` (0-based) is complete, before its checkpoint.
  std::function<void(int64_t epoch)> end_of_epoch;
  // Writes the checkpoint for `pos`.
  std::function<void(const TrainPosition& pos)> save;
};

// Trains from `pos` until options.epochs are complete, appending one row
// [epoch, iteration, values...] per iteration to `log` (flushed with each
// checkpoint). An error in a step, or one that surfaces when the values are
// read, names the iterations it may come from. Returns 0 when done or stopped by max_iterations, or 128 +
// the signal after SIGINT/SIGTERM (the checkpoint is written first). A non-finite logged value
// throws Error naming it and the iteration, without writing a checkpoint,
// so the last good one stays.
int run_training(DataLoader& loader, TrainPosition& pos, const TrainLoopOptions& options, CsvLog& log,
                 const TrainLoopHooks& hooks);

// Where `eval` writes by default for a checkpoint:
// runs/x/checkpoints/latest.safetensors -> runs/x/eval; other paths: <dir>/eval.
std::string eval_dir_of(const std::string& checkpoint);

// An SVG chart (data/svg.h) of the log's columns `names` against the
// iteration, smoothed over about 1/200 of the run: the curves every train
// command draws after each epoch. A name that is not a column is an error.
void write_log_chart(const std::string& path, const std::string& title, const std::string& y_label, const CsvLog& log,
                     const std::vector<std::string>& names, bool log_y = false);

// run_training, then, when the run has completed all its epochs, the line
// saying where its checkpoint is and how to evaluate it.
int run_train_command(DataLoader& loader, TrainPosition& pos, const TrainLoopOptions& options, CsvLog& log,
                      const TrainLoopHooks& hooks, const std::string& checkpoint);

// The log rows of a resumed run: those of `path` before `iteration`,
// appended to `log`.
void restore_log(const std::string& path, int64_t iteration, CsvLog& log);

}  // namespace dl
