// training.h — the epoch/batch loop every training app runs: it logs each
// iteration, guards against NaN and divergence, and checkpoints; and what
// the apps' steps share around it: the learning-rate schedule, the side
// random streams, the training split and the names of a run's files. The
// run directory is in run_directory.h; the progress display and the
// SIGINT/SIGTERM handlers the loop polls are in progress.h.
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
//
// Crash consistency — the ordering invariant: everything a checkpoint
// claims is durable before the checkpoint is renamed into place. At each
// checkpoint the loop first writes the epoch's artifacts (end_of_epoch:
// images, charts), then the log with every row up to the checkpoint's
// iteration, and only then the checkpoint; each write is a temporary file,
// fsynced and renamed (data/file.h). So a process killed at any moment
// leaves a checkpoint whose log rows are all on disk (the log may hold rows
// past it, which a resume drops), and a resume refuses a log with a hole.
// An artifact that fails to write is a warning: it never costs the
// checkpoint. A log that fails to write stops the run before its
// checkpoint, so the last good one stays.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/run_directory.h"
#include "data/json.h"
#include "data/loader.h"
#include "data/mnist.h"

namespace dl {

// ---- data -----------------------------------------------------------------------
// The MNIST training split from `data_dir` (resolve_mnist_dir's rules), cut
// to its first `limit` images when 0 < limit < 60,000 (quick experiments).
MnistSplit load_training_split(const std::string& data_dir, int64_t limit);

// ---- the loop -------------------------------------------------------------------
// Where a run stands: the next iteration trains batch `batch` of epoch
// `epoch`, and `iteration` iterations were trained so far.
struct TrainPosition {
  int64_t epoch = 0, batch = 0, iteration = 0;
  // Why the loop warned that training diverged while staying finite (see
  // DivergenceWatch), or "": kept in the checkpoint so that the warning is
  // given once per run and eval reports it.
  std::string divergence;
};

// Divergence that stays finite: a loss above 1e4, or a discriminator that
// saturated — mean D(x) > 0.99 and mean D(G(z)) < 0.01 over the last 200
// iterations (columns "D(x)" and "D(G(z))", when the log has them). Such a
// run goes on (it may recover, and stopping it would lose the evidence),
// but it is no longer training a generator, so it is said once.
class DivergenceWatch {
 public:
  static constexpr int64_t kWindow = 200;
  static constexpr double kMaxLoss = 1e4;
  explicit DivergenceWatch(const std::vector<std::string>& columns);
  // The row logged for iteration `iteration` (0-based), in the log's
  // column order; returns the reason when this row makes the run diverged.
  std::string observe(int64_t iteration, const std::vector<double>& row);

 private:
  std::vector<std::string> columns_;
  std::vector<size_t> losses_;  // columns whose name starts with "loss"
  int64_t d_real_ = -1, d_fake_ = -1;
  std::vector<double> real_window_, fake_window_;  // the last kWindow values, as rings
  double real_sum_ = 0, fake_sum_ = 0;
  int64_t seen_ = 0;
};

// What an eval report says of a run that diverged (TrainPosition::divergence,
// read from its checkpoint): a "divergence" member of its JSON, and a
// warning line first in its printout. Nothing when `divergence` is "".
void add_divergence(JsonValue::Object& members, const std::string& divergence);
void print_divergence(const std::string& divergence);

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
// t = iteration / total iterations of the run, so the last steps are small:
// the optimizer groups' cosine_steps (optim/optimizer.h), computed on the
// device from Adam's update counters, so a resumed run continues the same
// schedule and a step replayed from a CUDA graph follows it.
std::vector<std::string> lr_decay_choices();

// ---- random streams ----------------------------------------------------------------
// The Philox streams of a seed that the apps draw from besides training: a
// training run draws from offset 0 on, one offset per draw, so streams that
// start at 2^60, 2^61 and 2^62 never meet it. Drawing a grid or evaluation
// samples therefore never shifts what training draws, and the same seed
// gives the same grid in every epoch and in eval.
enum class SideStream : int {
  BatchNormStats = 60,  // the batches that measure a sampler's BatchNorm statistics
  EvalSamples = 61,     // the samples eval judges
  Grid = 62,            // the 10x10 grid of samples/epoch_NNN.png and eval
};
Generator side_stream(uint64_t seed, SideStream which);

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
// [epoch, iteration, values...] per iteration to `log`, which is written
// before each checkpoint (the ordering invariant at the top of this file).
// An error in a step, or one that surfaces when the values are read, names
// the iterations it may come from. Returns 0 when done or stopped by
// max_iterations, or 128 + the signal after SIGINT/SIGTERM (the checkpoint
// is written first). A non-finite logged value throws Error naming it and
// the iteration, without writing a checkpoint, so the last good one stays
// (the log is written up to the row before it, to show the way there).
// A position that does not fit the loader (a crafted or foreign checkpoint)
// is an Error before anything is trained.
int run_training(DataLoader& loader, TrainPosition& pos, const TrainLoopOptions& options, CsvLog& log,
                 const TrainLoopHooks& hooks);

// Where `eval` writes by default for a checkpoint:
// runs/x/checkpoints/latest.safetensors -> runs/x/eval; other paths: <dir>/eval.
std::string eval_dir_of(const std::string& checkpoint);

// run_training for a run directory: `run` becomes runs/latest once its
// first checkpoint is written, and when the run has completed all its
// epochs a line says where its checkpoint is and how to evaluate it.
int run_train_command(DataLoader& loader, TrainPosition& pos, const TrainLoopOptions& options, CsvLog& log,
                      const TrainLoopHooks& hooks, const RunDirectory& run);

// The log rows of a resumed run: those of `path` before `iteration`,
// appended to `log`. They must be exactly iterations 0 .. iteration - 1, in
// order: a log with a hole (or one of another run) is an Error naming the
// file and the first missing iteration, and `path` is left as it is.
void restore_log(const std::string& path, int64_t iteration, CsvLog& log);

}  // namespace dl
