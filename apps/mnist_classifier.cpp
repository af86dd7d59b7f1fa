// mnist_classifier.cpp — the command line of the MNIST judge: a small CNN
// (apps/common/mnist_judge.h) that the generative apps use to read the
// digits they draw.
//
//   ./apps/mnist_classifier train [--dataset mnist|fashion] [--epochs N] [--batch B] [--lr LR] [--out DIR] [--resume]
//   ./apps/mnist_classifier eval  [--dataset mnist|fashion] [--checkpoint PATH]
//
// --dataset fashion trains the Fashion-MNIST judge: its data and output
// directory default to data/fashion-mnist and runs/fashion_classifier.
#include <cstdio>

#include "common/cli.h"
#include "common/dataset.h"
#include "common/metrics.h"
#include "common/mnist_judge.h"
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
  JudgeTrainOptions options;
  std::string device = "auto", dataset = "mnist";
  int64_t threads = 0;
  ArgParser args("mnist_classifier train",
                 "Train the MNIST (or Fashion-MNIST) judge; writes <out>/latest.safetensors each epoch, "
                 "<out>/losses.csv and <out>/loss.svg.");
  args.add("--epochs", &options.epochs, "passes over the training set");
  args.add("--batch", &options.batch, "batch size");
  args.add("--lr", &options.lr, "Adam learning rate of the first epoch");
  args.add("--lr-decay", &options.lr_decay, "learning-rate factor per epoch");
  args.add("--seed", &options.seed, "seed of the weights and the data order");
  add_dataset_flag(args, &dataset);
  args.add("--device", &device, "cpu, cuda, cuda:N or auto");
  add_threads_flag(args, &threads);
  args.add("--data", &options.data_dir,
           "data directory (default: $MNIST_DIR or data/mnist; with --dataset fashion: $FASHION_MNIST_DIR or "
           "data/fashion-mnist)");
  args.add("--out", &options.out_dir, "output directory (runs/fashion_classifier with --dataset fashion)");
  args.add_switch("--resume", &options.resume, "continue from <out>/latest.safetensors");
  args.add_switch("--overwrite", &options.overwrite,
                  "start over in an --out directory that already holds a judge, deleting it (without this, "
                  "train refuses)");
  args.add("--log-every", &options.log_every, "iterations between progress lines when not on a terminal");
  args.add("--max-iters", &options.max_iterations, "stop with a checkpoint after this many iterations (0: no limit)");
  args.add("--train-limit", &options.train_limit, "use only the first N training images (0: all)");
  args.add_check([&] {
    usage_check(options.epochs >= 1, "--epochs", "must be >= 1");
    usage_check(options.batch >= 1, "--batch", "must be >= 1");
    usage_check(options.lr > 0, "--lr", "must be > 0");
    usage_check(options.lr_decay > 0 && options.lr_decay <= 1, "--lr-decay", "must be in (0, 1]");
    usage_check(options.seed >= 0, "--seed", "must be >= 0");
    usage_check(options.log_every >= 1, "--log-every", "must be >= 1");
    usage_check(options.max_iterations >= 0, "--max-iters", "must be >= 0");
    usage_check(options.train_limit >= 0, "--train-limit", "must be >= 0");
    usage_check(!(options.resume && options.overwrite), "--overwrite", "cannot be used with --resume");
  });
  if (!args.parse(argc, argv, 2)) return 0;
  options.data_dir = resolve_data_dir(dataset, options.data_dir);
  if (!args.given("--out")) options.out_dir = default_judge_dir(dataset);
  if (options.resume) {
    for (const char* flag : {"--batch", "--lr", "--lr-decay", "--seed", "--train-limit"}) {
      usage_check(!args.given(flag), flag, "cannot change when resuming (the run continues with its own config)");
    }
    if (args.given("--epochs")) options.resume_epochs = options.epochs;
  }
  options.device = parse_device_flag(device);
  return train_judge(options);
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
  std::unique_ptr<MnistClassifier> judge = load_judge(checkpoint, target);
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
