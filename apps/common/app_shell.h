// app_shell.h — the shell every training app runs in: a train command that
// opens (or resumes) its run, trains and checkpoints, and the flags and
// judge lookup that eval commands share. An app supplies its config (a
// table, config_table.h) and its model (a TrainedModel); everything else is
// here, the same for every app.
//
//   int train(int argc, char** argv) {
//     VaeConfig config;
//     TrainLoopFlags loop;
//     ArgParser args("vae train", "Train a VAE ...");
//     if (!parse_train_command(args, config.table(), loop, argc, argv)) return 0;  // --help
//     return train_command<VaeModel>("vae", config, loop);
//   }
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/checkpoint.h"
#include "common/cli.h"
#include "common/config_table.h"
#include "common/training.h"
#include "data/safetensors.h"

namespace dl {

class JudgeNet;  // judge.h, which includes this file

// Where a step stands in its run, for learning-rate schedules: the epoch
// and iteration it trains (as TrainPosition counts them) and the run's
// total iterations (its epochs x batches per epoch).
struct StepClock {
  int64_t epoch = 0, iteration = 0, total_iterations = 1;
};

// A model that the shell trains: InfoGan, GanModel, VaeModel. It owns its
// networks, optimizers and latent streams; the shell owns the run
// directory, the data, the log and the loop.
class TrainedModel {
 public:
  virtual ~TrainedModel() = default;
  // Where its run keeps its files, and whether an epoch leaves out a last,
  // smaller batch (TrainData::drop_last); the judge's model says otherwise.
  static constexpr RunLayout kLayout = RunLayout::Run;
  static constexpr bool kDropLast = true;

  // The modules and optimizers a checkpoint holds, under their prefixes.
  virtual CheckpointParts checkpoint_parts() const = 0;
  // The checkpoint's metadata at `pos`: format, config, position (and the
  // latent streams and counters the model keeps).
  virtual SafetensorsMetadata checkpoint_metadata(const TrainPosition& pos) const = 0;
  // Restores what checkpoint_metadata wrote besides the position.
  virtual void restore_metadata(const SafetensorsFile& file) = 0;

  // The log's columns, "epoch" and "iteration" first.
  virtual std::vector<std::string> log_columns() const = 0;
  // One iteration on a batch at `clock`; returns the values of the log's
  // columns after "iteration" as a 1-D tensor on the device.
  virtual Tensor train_step(const Batch& batch, const StepClock& clock) = 0;
  // After epoch `epoch` (0-based): its sample grid and the log's charts.
  virtual void end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) = 0;
  // What the first line of a run says of the model besides the data and the
  // device (", preset best"), or "".
  virtual std::string summary() const { return ""; }

  // On a GPU, run each step from a CUDA graph (--cuda-graph; CapturedStep).
  bool use_cuda_graph = false;

  // The checkpoint at `path`: checkpoint_parts' tensors and checkpoint_metadata.
  void save(const std::string& path, const TrainPosition& pos) const;
  // Everything save() wrote: modules, optimizers, metadata; returns the position.
  TrainPosition restore(const SafetensorsFile& file);
};

// Adds a train command's flags (the config's, in table order, then the
// loop's) and parses argv[2..]. With --resume, a flag of a config entry
// that is not resumable is a UsageError, and --epochs sets
// loop.resume_epochs. Returns false after printing --help.
bool parse_train_command(ArgParser& args, const std::vector<ConfigEntry>& table, TrainLoopFlags& loop, int argc,
                         char** argv);

// A train command's run directory and, with --resume, its checkpoint.
struct TrainRun {
  RunDirectory directory;
  std::unique_ptr<SafetensorsFile> resumed;  // null for a fresh run
  std::string app;                           // for messages: "infogan"
  Device device;                             // --device, resolved
};
// The run of `loop`: created fresh (RunDirectory::create), or opened with
// its checkpoint for --resume (an Error unless the checkpoint has `format`
// and config metadata).
TrainRun open_train_run(const std::string& app, const std::string& format, const TrainLoopFlags& loop,
                        RunLayout layout = RunLayout::Run);

// What the loop needs from a config besides the model: the data and the length.
struct TrainData {
  std::string dataset;
  int64_t batch, seed, train_limit, epochs;
  bool drop_last = true;  // leave out an epoch's last batch when it is smaller
};
// Trains `model` in `run` (restored from run.resumed when resuming) on
// `data`: writes config.json (`config`), the log, the epochs' samples and
// the checkpoints; returns the exit status (0, or 128 + the signal).
int train_model(TrainRun& run, TrainedModel& model, const JsonValue& config, const TrainData& data,
                const TrainLoopFlags& loop);

// The train command of an app whose model is `Model`, which provides:
//   Model::Config (with epochs, batch, seed, train_limit, dataset), Model::kFormat,
//   Model(const Config&, Device, extra...),
//   static Config Model::resumed_config(const SafetensorsFile&, const Config& requested)
// (the checkpoint's config, checked against what the command line asked for).
template <typename Model, typename... Extra>
int train_command(const std::string& app, const typename Model::Config& requested, const TrainLoopFlags& loop,
                  Extra&&... extra) {
  TrainRun run = open_train_run(app, Model::kFormat, loop, Model::kLayout);
  typename Model::Config config = requested;
  if (run.resumed) {
    config = Model::resumed_config(*run.resumed, requested);
    if (loop.resume_epochs > 0) config.epochs = loop.resume_epochs;
  }
  Model model(config, run.device, std::forward<Extra>(extra)...);
  return train_model(run, model, config.to_json(),
                     {config.dataset, config.batch, config.seed, config.train_limit, config.epochs, Model::kDropLast},
                     loop);
}

// What the commands that read a checkpoint (eval, sample, traverse) start
// from; their option structs derive from it.
struct CheckpointSource {
  std::string checkpoint;
  int64_t seed = 1;  // of the noise they draw
  Device device;
};

// The flags of a CheckpointSource: --checkpoint, --seed, --device, --threads.
struct CheckpointFlags {
  std::string checkpoint = "runs/latest/checkpoints/latest.safetensors", device = "auto";
  int64_t seed = 1, threads = 0;
  void add_to(ArgParser& args, const std::string& seed_help);
  // Sets the source's fields from the parsed flags.
  void apply_to(CheckpointSource& source) const;
};

// The --judge flag's help, the same for every eval command.
extern const char* const kJudgeFlagHelp;

// The judge an eval command scores with. A --judge path that is not there
// is an Error; when `flag` is "" and the data set's default judge
// (default_judge_path) is missing, returns null: eval then reports what
// needs no judge, and print_missing_judge says how to create it.
std::unique_ptr<JudgeNet> find_judge(const std::string& flag, const std::string& dataset, Device device);
// The line an eval prints instead of the judged scores.
void print_missing_judge(const std::string& dataset);

}  // namespace dl
