// bench_infogan.cpp — how fast InfoGan::train_step runs, on the CPU or a GPU
// (make bench; bench/torch_reference.py prints the same table for PyTorch).
//
// The step timed is the application's own (apps/common/infogan.cpp): the D
// update on a real and a fake batch, then the G + Q update, Adam on both.
// Images are uniform random in [0, 1] (the speed does not depend on them).
// After --warmup untimed steps, each of --reps runs times one step plus the
// read of its logged values, which waits for the device: so a run is one
// iteration of the training loop as it reads every iteration (--read-every 1,
// as bench/torch_reference.py times PyTorch). With --read-every N a run is N
// steps and one read of all their values (the loop's default on a GPU is 25),
// and the time per step is the run's over N. --cuda-graph on (the default)
// replays the step from a CUDA graph on a GPU (InfoGan::use_cuda_graph). Printed:
// the median, the rate at 16.0 GFLOP per step at batch 64 (the convolutions'
// multiply-adds, x2, forward and backward; proportional in the batch), and
// the time of one epoch of floor(60000 / batch) steps.
//
//   bench_infogan [--device cpu|cuda|auto] [--batch B] [--reps R] [--warmup W] [--cuda-graph on|off]
//                 [--read-every N]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/infogan.h"
#include "dl.h"

using namespace dl;

namespace {

struct Options {
  std::string device = "auto";
  int64_t batch = 64;
  int reps = 20;
  int warmup = 3;
  bool cuda_graph = true;
  int read_every = 1;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    check(i + 1 < argc, "bench_infogan: ", flag, " needs a value");
    const std::string value = argv[++i];
    if (flag == "--device") {
      options.device = value;
      continue;
    }
    if (flag == "--cuda-graph") {
      check(value == "on" || value == "off", "bench_infogan: --cuda-graph must be on or off, got ", value);
      options.cuda_graph = value == "on";
      continue;
    }
    char* end = nullptr;
    const long number = std::strtol(value.c_str(), &end, 10);
    check(*end == '\0' && number >= 0, "bench_infogan: ", flag, " must be a non-negative integer, got ", value);
    if (flag == "--batch") options.batch = number;
    else if (flag == "--reps") options.reps = static_cast<int>(number);
    else if (flag == "--warmup") options.warmup = static_cast<int>(number);
    else if (flag == "--read-every") options.read_every = static_cast<int>(number);
    else fail("bench_infogan: unknown flag ", flag,
              " (expected --device D, --batch B, --reps R, --warmup W, --cuda-graph on|off, --read-every N)");
  }
  check(options.batch >= 1 && options.reps >= 1 && options.read_every >= 1,
        "bench_infogan: --batch, --reps and --read-every must be >= 1");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    const Device device = parse_device(options.device);
    InfoGanConfig config = infogan_preset("lab");
    config.batch = options.batch;
    InfoGan gan(config, device);
    gan.use_cuda_graph = options.cuda_graph;
    Generator images_rng(7);
    const Tensor real = rand({options.batch, 1, 28, 28}, DType::Float32, &images_rng);

    // read_every steps, then the single host read of all their values.
    auto run = [&] {
      std::vector<Tensor> values;
      for (int i = 0; i < options.read_every; ++i) values.push_back(gan.train_step(Batch{real, Tensor()}, StepClock{}));
      return stack(values).to_vector<double>();
    };
    for (int i = 0; i < options.warmup; ++i) run();
    std::vector<double> times;
    for (int r = 0; r < options.reps; ++r) {
      const auto start = std::chrono::steady_clock::now();
      run();
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                      options.read_every);
    }
    std::sort(times.begin(), times.end());
    const double seconds = times[times.size() / 2];
    const double gflop = 16.0 * static_cast<double>(options.batch) / 64.0;
    const int64_t steps_per_epoch = 60000 / options.batch;

    std::printf("%-14s %-8s %6s %10s %10s %11s\n", "impl", "device", "batch", "ms/iter", "GFLOP/s", "epoch (s)");
    const bool graph = options.cuda_graph && device.is_cuda();
    const std::string impl = std::string(graph ? "dl graph" : "dl eager") +
                             (options.read_every > 1 ? " /" + std::to_string(options.read_every) : "");
    std::printf("%-14s %-8s %6lld %10.3f %10.1f %11.1f\n", impl.c_str(), device.str().c_str(),
                static_cast<long long>(options.batch), seconds * 1e3, gflop / seconds,
                seconds * static_cast<double>(steps_per_epoch));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
