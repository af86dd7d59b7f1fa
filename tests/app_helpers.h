// app_helpers.h — what the apps' smoke tests (test_infogan_app.cpp,
// test_gan_family.cpp) share: a tiny MNIST directory to train on.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/judge.h"
#include "dl.h"
#include "helpers.h"

namespace test {

// <dir>/data/: an MNIST directory with 8 training and 20 test images, the
// first ones of real MNIST when it is in $MNIST_DIR or data/mnist, random
// ones otherwise (also when that path is a broken link).
inline void write_small_mnist(const TempDir& dir) {
  std::filesystem::create_directories(dir.file("data"));
  const std::string mnist = dl::resolve_mnist_dir("");
  std::error_code error;
  const bool real = std::filesystem::exists(mnist + "/t10k-labels-idx1-ubyte", error);
  for (const bool train : {true, false}) {
    const int64_t n = train ? 8 : 20;
    const std::string prefix = dir.file(std::string("data/") + (train ? "train" : "t10k"));
    dl::Tensor images, labels;
    if (real) {
      const dl::MnistSplit split = dl::load_mnist(mnist, train);
      images = split.images.narrow(0, 0, n);
      labels = split.labels.narrow(0, 0, n).to(dl::DType::Float32);
    } else {
      dl::Generator g(7);
      images = (dl::rand({n, 28, 28}, dl::DType::Float32, &g) * 255.0).to(dl::DType::UInt8);
      labels = (dl::rand({n}, dl::DType::Float32, &g) * 10.0);
    }
    dl::write_idx(prefix + "-images-idx3-ubyte", images, dl::IdxType::UInt8);
    dl::write_idx(prefix + "-labels-idx1-ubyte", labels.to(dl::DType::UInt8), dl::IdxType::UInt8);
  }
}

// One app's `train`, as the guarantees below drive it: a run in `run_dir`
// on the data in `data_dir`, fresh (with or without `overwrite`) or
// resumed, for `epochs` epochs of 2 iterations.
struct TrainCall {
  std::string run_dir, data_dir;
  bool resume = false, overwrite = false;
  int64_t epochs = 1;
};
using TrainApp = std::function<int(const TrainCall&)>;

// An app's train command as the tests drive it: its config and its loop
// flags (train_command's arguments).
template <typename Config>
struct SmallRun {
  Config config;
  dl::TrainLoopFlags loop;
};
// A small run on the CPU in `run_dir` on the data in `data_dir`, quiet.
template <typename Config>
SmallRun<Config> small_run(const Config& config, const std::string& data_dir, const std::string& run_dir) {
  SmallRun<Config> run{config, {}};
  run.loop.device = "cpu";
  run.loop.data_dir = data_dir;
  run.loop.run_dir = run_dir;
  run.loop.log_every = 1000;
  return run;
}
// `run` set as `call` says.
template <typename Config>
SmallRun<Config> as_called(SmallRun<Config> run, const TrainCall& call) {
  run.config.epochs = call.epochs;
  run.loop.run_dir = call.run_dir;
  run.loop.data_dir = call.data_dir;
  run.loop.resume = call.resume;
  run.loop.overwrite = call.overwrite;
  run.loop.resume_epochs = call.resume ? call.epochs : 0;
  return run;
}

// A judge trained for one step on 4 images of `dir`'s small MNIST, into
// <dir>/judge (train_judge's arguments, to train it or resume it).
inline SmallRun<dl::JudgeConfig> tiny_judge_options(const TempDir& dir) {
  dl::JudgeConfig judge;
  judge.epochs = 1;
  judge.batch = 4;
  judge.train_limit = 4;  // one batch per epoch
  return small_run(judge, dir.file("data"), dir.file("judge"));
}

inline int train_judge(const SmallRun<dl::JudgeConfig>& run) { return dl::train_judge(run.config, run.loop); }

// Runs the enclosing scope with `dir` as the working directory, so that the
// default judge (runs/mnist_classifier/..., relative) is surely missing.
class InDirectory {
 public:
  explicit InDirectory(const std::string& dir) : previous_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~InDirectory() { std::filesystem::current_path(previous_); }
  InDirectory(const InDirectory&) = delete;
  InDirectory& operator=(const InDirectory&) = delete;

 private:
  std::filesystem::path previous_;
};

inline std::vector<uint8_t> file_bytes(const std::string& path) { return dl::read_file(path); }

// What every app's run directory guarantees (docs/apps.md, "What survives a
// crash"), checked through its own train command. `dir` holds the small
// MNIST of write_small_mnist.
inline void check_run_directory_guarantees(const TempDir& dir, const TrainApp& train) {
  namespace fs = std::filesystem;
  const std::string run = dir.file("runs/guarded"), data = dir.file("data");
  const std::string checkpoint = run + "/checkpoints/latest.safetensors";
  REQUIRE(train({run, data, false, false, 1}) == 0);
  CHECK(fs::read_symlink(dir.file("runs/latest")) == "guarded");
  const std::vector<uint8_t> finished = file_bytes(checkpoint), log = file_bytes(run + "/losses.csv");
  {
    INFO("a finished run is not replaced without --resume or --overwrite");
    CHECK_THROWS_WITH_AS(train({run, data, false, false, 1}),
                         doctest::Contains("already holds a run; continue it with --resume"), dl::Error);
    CHECK(file_bytes(checkpoint) == finished);
  }
  {
    INFO("a resume that rejects the log leaves it as it was");
    const std::string damaged = std::string(log.begin(), log.end()) + "garbage\n";
    dl::write_file_atomic(run + "/losses.csv", damaged);
    CHECK_THROWS_WITH_AS(train({run, data, true, false, 2}), doctest::Contains("losses.csv"), dl::Error);
    CHECK(file_bytes(run + "/losses.csv") == std::vector<uint8_t>(damaged.begin(), damaged.end()));
    CHECK(file_bytes(checkpoint) == finished);
    dl::write_file_atomic(run + "/losses.csv", log.data(), log.size());
  }
  {
    INFO("a checkpoint with a NaN weight, or with a moment of the optimizer missing, is refused");
    const dl::SafetensorsFile good = dl::load_safetensors(checkpoint);
    std::vector<dl::NamedTensor> poisoned = good.tensors, partial;
    for (dl::NamedTensor& t : poisoned) {
      if (t.name == "G.main.0.weight") t.tensor = dl::full(t.tensor.shape(), NAN);
    }
    bool dropped = false;
    for (const dl::NamedTensor& t : good.tensors) {
      const bool drop = !dropped && t.name.size() > 8 && t.name.compare(t.name.size() - 8, 8, ".exp_avg") == 0;
      dropped = dropped || drop;
      if (!drop) partial.push_back(t);
    }
    REQUIRE(dropped);
    dl::save_safetensors(checkpoint, poisoned, good.metadata);
    CHECK_THROWS_WITH_AS(train({run, data, true, false, 2}), doctest::Contains("tensor 'G.main.0.weight' has nan"),
                         dl::Error);
    dl::save_safetensors(checkpoint, partial, good.metadata);
    CHECK_THROWS_WITH_AS(train({run, data, true, false, 2}), doctest::Contains("has no 'exp_avg'"), dl::Error);
    dl::write_file_atomic(checkpoint, finished.data(), finished.size());
  }
  {
    INFO("a resume recreates a missing samples/ and trains on");
    fs::remove_all(run + "/samples");
    REQUIRE(train({run, data, true, false, 2}) == 0);
    CHECK(fs::exists(run + "/samples/epoch_002.png"));
    CHECK(dl::load_safetensors(checkpoint).metadata_value("epoch") == "2");
  }
  {
    INFO("a start that fails leaves runs/latest on the last good run");
    CHECK_THROWS_AS(train({dir.file("runs/broken"), dir.file("no_data"), false, false, 1}), dl::Error);
    CHECK(fs::read_symlink(dir.file("runs/latest")) == "guarded");
  }
  {
    INFO("--overwrite starts over: no image of the old run is left beside the new run's");
    REQUIRE(train({run, data, false, true, 1}) == 0);
    CHECK(fs::exists(run + "/samples/epoch_001.png"));
    CHECK_FALSE(fs::exists(run + "/samples/epoch_002.png"));
    CHECK(file_bytes(checkpoint) == finished);  // the same flags and seed: the same first epoch
  }
}

}  // namespace test
