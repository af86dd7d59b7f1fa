// mnist_classifier.cpp — the command line of the judge: a small CNN
// (apps/common/judge.h) that the generative apps use to read the digits (or,
// with --dataset fashion, the clothes) they draw.
//
//   ./apps/mnist_classifier train [--dataset mnist|fashion] [--epochs N] [--batch B] [--lr LR] [--run DIR] [--resume]
//   ./apps/mnist_classifier eval  [--dataset mnist|fashion] [--checkpoint PATH]
//
// --dataset fashion trains the Fashion-MNIST judge: its data and output
// directory default to data/fashion-mnist and runs/fashion_classifier.
#include <cstdio>

#include "common/app_shell.h"
#include "common/dataset.h"
#include "common/judge.h"
#include "common/metrics.h"
#include "data/mnist.h"
#include "ops/ops.h"

using namespace dl;

namespace {

const char* kUsage =
    "usage: mnist_classifier <command> [flags]   (each command has --help)\n"
    "  train  train the judge CNN on MNIST (saves runs/mnist_classifier/latest.safetensors),\n"
    "         or with --dataset fashion on Fashion-MNIST (runs/fashion_classifier/latest.safetensors)\n"
    "  eval   its accuracy on the 10,000 test images\n";

int train(int argc, char** argv) {
  JudgeConfig config;
  TrainLoopFlags loop;
  loop.run_help = "run directory (default: runs/mnist_classifier; with --dataset fashion: runs/fashion_classifier)";
  ArgParser args("mnist_classifier train",
                 "Train the MNIST (or Fashion-MNIST) judge; writes <run>/latest.safetensors each epoch, "
                 "<run>/losses.csv and <run>/loss.svg.");
  add_dataset_flag(args, &config.dataset);
  if (!parse_train_command(args, config.table(), loop, argc, argv)) return 0;
  return train_judge(config, loop);
}

int eval(int argc, char** argv) {
  std::string checkpoint, data_dir, device = "auto", dataset = "mnist";
  int64_t threads = 0;
  ArgParser args("mnist_classifier eval",
                 "Print the judge's accuracy on the MNIST (or Fashion-MNIST) test set, and the share of test images "
                 "it reads with confidence >= 0.9.");
  add_dataset_flag(args, &dataset);
  args.add("--checkpoint", &checkpoint,
           "judge checkpoint (default: runs/mnist_classifier/latest.safetensors; with --dataset fashion: "
           "runs/fashion_classifier/latest.safetensors)");
  args.add("--data", &data_dir,
           "data directory (default: $MNIST_DIR or data/mnist; with --dataset fashion: $FASHION_MNIST_DIR or "
           "data/fashion-mnist)");
  args.add("--device", &device, "cpu, cuda, cuda:N or auto");
  add_threads_flag(args, &threads);
  if (!args.parse(argc, argv, 2)) return 0;
  const Device target = parse_device_flag(device);
  if (checkpoint.empty()) checkpoint = default_judge_path(dataset);
  std::unique_ptr<JudgeNet> judge = load_judge(checkpoint, target);
  const MnistSplit test = load_mnist(resolve_data_dir(dataset, data_dir), false);
  const Judgement judged = judge_images(*judge, (test.images.to(DType::Float32) / 255.0).unsqueeze(1));
  const double accuracy = label_accuracy(test.labels.to_vector<int64_t>(), judged.digit, 10).overall;
  // How often the judge is sure of a real digit: the ceiling against which
  // the generators' confident share (samples read with confidence >= 0.9,
  // the dcgan and VAE bars) is read.
  const double threshold = 0.9;
  const double confident = coverage(judged.digit, judged.confidence, threshold, 10).confident_share;
  std::printf("test accuracy: %.4f (%lld images); confidence >= %.1f on %.4f of them\n", accuracy,
              static_cast<long long>(test.images.size(0)), threshold, confident);
  std::printf("{\"test_accuracy\": %.6f, \"confident_share\": %.6f}\n", accuracy, confident);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_commands("mnist_classifier", kUsage, {{"train", train}, {"eval", eval}}, argc, argv);
}
