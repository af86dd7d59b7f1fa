// app_shell.cpp — see app_shell.h.
#include "common/app_shell.h"

#include <cstdio>
#include <iostream>

#include "common/dataset.h"
#include "common/judge.h"
#include "common/progress.h"
#include "common/run_directory.h"
#include "data/file.h"

namespace dl {

void TrainedModel::save(const std::string& path, const TrainPosition& pos) const {
  save_safetensors(path, checkpoint_tensors(checkpoint_parts()), checkpoint_metadata(pos));
}

TrainPosition TrainedModel::restore(const SafetensorsFile& file) {
  load_training_state(file, checkpoint_parts());
  restore_metadata(file);
  return read_position(file);
}

bool parse_train_command(ArgParser& args, const std::vector<ConfigEntry>& table, TrainLoopFlags& loop, int argc,
                         char** argv) {
  add_config_flags(args, table);
  loop.add_to(args, args.command().substr(0, args.command().find(' ')));
  if (!args.parse(argc, argv, 2)) return false;
  if (loop.resume) {
    check_resume_flags(args, table);
    for (const ConfigEntry& entry : table) {
      if (entry.resumable && args.given(entry.flag)) loop.resume_epochs = *std::get<int64_t*>(entry.member);
    }
  }
  return true;
}

TrainRun open_train_run(const std::string& app, const std::string& format, const TrainLoopFlags& loop,
                        RunLayout layout) {
  // The device first: a bad --device must fail before --overwrite empties
  // a run directory.
  const Device device = parse_device_flag(loop.device);
  TrainRun run{loop.resume ? RunDirectory::open(loop.run_dir, layout)
                           : RunDirectory::create(app, loop.run_dir, loop.overwrite, layout),
               nullptr, app, device};
  if (loop.resume) {
    const std::string path = run.directory.checkpoint();
    run.resumed = std::make_unique<SafetensorsFile>(load_safetensors(path));
    check_format(*run.resumed, format);
    check(has_metadata(*run.resumed, "config"), path, ": has no config metadata, so it cannot be resumed");
  }
  return run;
}

int train_model(TrainRun& run, TrainedModel& model, const JsonValue& config, const TrainData& data,
                const TrainLoopFlags& loop) {
  const RunDirectory& directory = run.directory;
  TrainPosition pos;
  if (run.resumed) {
    pos = model.restore(*run.resumed);
    std::cout << run.app << ": resuming " << directory.path() << " at epoch " << pos.epoch + 1 << ", batch "
              << pos.batch << " (iteration " << pos.iteration << ")\n";
  }
  write_file_atomic(directory.file("config.json"), to_json(config) + "\n");

  CsvLog log(directory.file("losses.csv"), model.log_columns());
  if (run.resumed) restore_log(log.path(), pos.iteration, log);
  const MnistSplit train = load_training_split(resolve_data_dir(data.dataset, loop.data_dir), data.train_limit);
  DataLoader loader(train.images, train.labels, data.batch, true, static_cast<uint64_t>(data.seed), data.drop_last,
                    PixelScale::ZeroOne);
  std::cout << run.app << ": run " << directory.path() << ", " << dataset_title(data.dataset) << ", "
            << loader.size() << " images, " << loader.batches_per_epoch() << " batches of " << data.batch
            << " per epoch, device " << run.device << model.summary() << "\n";

  install_stop_handlers();
  const TrainLoopOptions options = train_loop_options(run.app, data.epochs, loop.log_every, loop.max_iterations,
                                                     loop.read_every, run.device);
  model.use_cuda_graph = loop.cuda_graph == "on";
  // Schedules span the configured epochs (a resume with more --epochs
  // stretches what is left of them).
  const int64_t total_iterations = data.epochs * loader.batches_per_epoch();
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch& batch) { return model.train_step(batch, {pos.epoch, pos.iteration, total_iterations}); };
  hooks.end_of_epoch = [&](int64_t epoch) { model.end_of_epoch(directory, log, epoch); };
  hooks.save = [&](const TrainPosition& at) { model.save(directory.checkpoint(), at); };
  return run_train_command(loader, pos, options, log, hooks, directory);
}

void CheckpointFlags::add_to(ArgParser& args, const std::string& seed_help) {
  args.add("--checkpoint", &checkpoint, "checkpoint (train writes <run>/checkpoints/latest.safetensors)");
  args.add("--seed", &seed, seed_help);
  args.add("--device", &device, "cpu, cuda, cuda:N or auto");
  add_threads_flag(args, &threads);
  args.add_check([this] { usage_check(seed >= 0, "--seed", "must be >= 0"); });
}

void CheckpointFlags::apply_to(CheckpointSource& source) const {
  source.checkpoint = checkpoint;
  source.seed = seed;
  source.device = parse_device_flag(device);
}

const char* const kJudgeFlagHelp =
    "judge checkpoint (default: runs/mnist_classifier/latest.safetensors, or "
    "runs/fashion_classifier/latest.safetensors for a --dataset fashion run; without it, the judged scores are "
    "left out)";

std::unique_ptr<JudgeNet> find_judge(const std::string& flag, const std::string& dataset, Device device) {
  if (!flag.empty()) {
    check(path_exists(flag), "--judge ", flag, ": no such file");
    return load_judge(flag, device);
  }
  const std::string path = default_judge_path(dataset);
  return path_exists(path) ? load_judge(path, device) : nullptr;
}

void print_missing_judge(const std::string& dataset) {
  std::printf("no judge at %s, so the judged scores are left out (create it with: %s)\n",
              default_judge_path(dataset).c_str(), judge_train_command(dataset).c_str());
}

}  // namespace dl
