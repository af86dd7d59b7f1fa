// bench_infogan.cpp — how fast InfoGan::train_step runs, on the CPU or a GPU
// (make bench; bench/torch_reference.py prints the same table for PyTorch).
//
// The step timed is the application's own (apps/common/infogan.cpp): the D
// update on a real and a fake batch, then the G + Q update, Adam on both.
// Images are uniform random in [0, 1] (the speed does not depend on them).
// After --warmup untimed steps, each of --reps runs times one step plus the
// read of its logged values, which waits for the device: so a run is one
// iteration of the training loop as it really runs, sync included. Printed:
// the median, the rate at 16.0 GFLOP per step at batch 64 (the convolutions'
// multiply-adds, x2, forward and backward; proportional in the batch), and
// the time of one epoch of floor(60000 / batch) steps.
//
//   bench_infogan [--device cpu|cuda|auto] [--batch B] [--reps R] [--warmup W]
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
    char* end = nullptr;
    const long number = std::strtol(value.c_str(), &end, 10);
    check(*end == '\0' && number >= 0, "bench_infogan: ", flag, " must be a non-negative integer, got ", value);
    if (flag == "--batch") options.batch = number;
    else if (flag == "--reps") options.reps = static_cast<int>(number);
    else if (flag == "--warmup") options.warmup = static_cast<int>(number);
    else fail("bench_infogan: unknown flag ", flag, " (expected --device D, --batch B, --reps R, --warmup W)");
  }
  check(options.batch >= 1 && options.reps >= 1, "bench_infogan: --batch and --reps must be >= 1");
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
    Generator images_rng(7);
    const Tensor real = rand({options.batch, 1, 28, 28}, DType::Float32, &images_rng);

    // One loop iteration: the step, then the single host read of its values.
    auto iteration = [&] { return gan.train_step(real).to_vector<double>(); };
    for (int i = 0; i < options.warmup; ++i) iteration();
    std::vector<double> times;
    for (int r = 0; r < options.reps; ++r) {
      const auto start = std::chrono::steady_clock::now();
      iteration();
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    const double seconds = times[times.size() / 2];
    const double gflop = 16.0 * static_cast<double>(options.batch) / 64.0;
    const int64_t steps_per_epoch = 60000 / options.batch;

    std::printf("%-14s %-8s %6s %10s %10s %11s\n", "impl", "device", "batch", "ms/iter", "GFLOP/s", "epoch (s)");
    std::printf("%-14s %-8s %6lld %10.3f %10.1f %11.1f\n", "dl eager", device.str().c_str(),
                static_cast<long long>(options.batch), seconds * 1e3, gflop / seconds,
                seconds * static_cast<double>(steps_per_epoch));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
