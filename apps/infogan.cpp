// infogan.cpp — the command line of the InfoGAN app (lab spec:
// docs/lab.md). Flags only; the work is in apps/common/infogan.cpp.
//
//   ./apps/infogan train     [--epochs N] [--batch B] [--preset lab|best] [--cont K] [--resume] ...
//   ./apps/infogan eval      --checkpoint PATH [--judge PATH] [--seed S] [--out DIR]
//   ./apps/infogan sample    --checkpoint PATH --per-code N --out PREFIX [--seed S]
//   ./apps/infogan traverse  --checkpoint PATH [--out DIR]
#include <cstdio>

#include "common/cli.h"
#include "common/dataset.h"
#include "common/infogan.h"
#include "common/mnist_judge.h"

using namespace dl;

namespace {

const char* kUsage =
    "usage: infogan <command> [flags]   (each command has --help)\n"
    "  train     train an InfoGAN on MNIST into a run directory (runs/infogan-<time>/)\n"
    "  eval      Q-accuracy on the MNIST test set, the 10x10 grid, and the judge's column score and purity\n"
    "  sample    write generated digits per code as IDX files\n"
    "  traverse  one image per continuous code, from -2 to 2\n";

// The flags eval, sample and traverse share: which checkpoint, where to run,
// the seed of the noise, and the continuous codes of a bare checkpoint.
struct CheckpointFlags {
  std::string checkpoint = "runs/latest/checkpoints/latest.safetensors", device = "auto";
  int64_t seed = 1, cont = 0, threads = 0;

  void add_to(ArgParser& args, const std::string& seed_help) {
    args.add("--checkpoint", &checkpoint, "checkpoint (train writes <run>/checkpoints/latest.safetensors)");
    args.add("--seed", &seed, seed_help);
    args.add("--cont", &cont, "continuous codes, for a checkpoint without config metadata");
    args.add("--device", &device, "cpu, cuda, cuda:N or auto");
    add_threads_flag(args, &threads);
    args.add_check([this] {
      usage_check(seed >= 0, "--seed", "must be >= 0");
      usage_check(cont >= 0, "--cont", "must be >= 0");
    });
  }
};

int train(int argc, char** argv) {
  // The preset sets the defaults that the other flags then override.
  const std::string preset = peek_flag(argc, argv, 2, "--preset");
  InfoGanConfig c = infogan_preset(preset.empty() ? "best" : preset);
  InfoGanTrainOptions options;
  TrainLoopFlags loop;
  std::string cuda_graph = "on";
  ArgParser args("infogan train", "Train an InfoGAN on MNIST (lab spec). Writes checkpoints/latest.safetensors each "
                                  "epoch, samples/epoch_NNN.png, losses.csv, losses.svg and probs.svg.");
  args.add_choice("--preset", &c.preset, {"lab", "best"}, "hyper-parameter preset (lab = the spec)");
  args.add("--epochs", &c.epochs, "passes over the training set");
  args.add("--batch", &c.batch, "batch size");
  args.add("--noise", &c.noise, "noise dimensions z");
  args.add_choice("--noise-dist", &c.noise_dist, {"normal", "uniform"},
                  "distribution of z: N(0, 1) (the spec) or U(-1, 1) (the InfoGAN paper's code)");
  args.add("--cont", &c.cont, "continuous codes ~ U(-1, 1)");
  args.add("--lambda", &c.lambda_info, "weight of the info loss");
  args.add("--lambda-cont", &c.lambda_cont, "weight of the continuous codes' NLL in the info loss");
  args.add("--info-d", &c.info_d, "weight of the info loss in the D step, so that it trains the D trunk too (0: spec)");
  args.add("--lr-g", &c.lr_g, "Adam learning rate of G and the Q head");
  args.add("--lr-d", &c.lr_d, "Adam learning rate of the D trunk and head");
  args.add("--beta1", &c.beta1, "Adam beta1");
  args.add("--beta2", &c.beta2, "Adam beta2");
  args.add_choice("--g-loss", &c.g_loss, {"nonsaturating", "saturating"}, "generator loss");
  args.add("--seed", &c.seed, "seed of the weights, the data order and the codes");
  add_dataset_flag(args, &c.dataset);
  loop.add_to(args, "infogan");
  args.add("--train-limit", &c.train_limit, "train on the first N images only (0: all)");
  args.add_choice("--cuda-graph", &cuda_graph, {"on", "off"},
                  "on a GPU, replay each step from a CUDA graph (same numbers, less host work)");
  add_validation(args, [&] { c.validate(); });
  if (!args.parse(argc, argv, 2)) return 0;
  if (loop.resume) {
    // A resumed run keeps the config of its checkpoint, so that it continues
    // exactly; only the length of the run may change.
    check_not_given_when_resuming(args, {"--preset", "--batch", "--noise", "--noise-dist", "--cont", "--lambda",
                                         "--lambda-cont", "--info-d", "--lr-g", "--lr-d", "--beta1", "--beta2",
                                         "--g-loss", "--seed", "--dataset", "--train-limit"});
    if (args.given("--epochs")) options.resume_epochs = c.epochs;
  }
  options.config = c;
  options.cuda_graph = cuda_graph == "on";
  loop.apply_to(options);
  return train_infogan(options);
}

int eval(int argc, char** argv) {
  CheckpointFlags common;
  InfoGanEvalOptions options;
  ArgParser args("infogan eval", "Evaluate a checkpoint: the 10x10 grid for --seed, Q-accuracy on the 10,000 MNIST "
                                 "test images, and (with the judge) the column score and purity. Prints one JSON "
                                 "line last and writes it to <out>/eval.json.");
  common.add_to(args, "seed of the grid's noise and the purity samples");
  args.add("--judge", &options.judge,
           "judge checkpoint (default: runs/mnist_classifier/latest.safetensors, or "
           "runs/fashion_classifier/latest.safetensors for a --dataset fashion run)");
  args.add("--out", &options.out, "output directory (default: <run>/eval)");
  args.add("--data", &options.data_dir,
           "test data directory (default: the checkpoint's data set: $MNIST_DIR or data/mnist; "
           "$FASHION_MNIST_DIR or data/fashion-mnist)");
  args.add("--purity-samples", &options.purity_samples, "samples per code for purity");
  args.add_check([&] { usage_check(options.purity_samples >= 1, "--purity-samples", "must be >= 1"); });
  if (!args.parse(argc, argv, 2)) return 0;
  options.checkpoint = common.checkpoint;
  options.seed = common.seed;
  options.cont = common.cont;
  options.device = parse_device_flag(common.device);
  print_report(evaluate_infogan(options));
  return 0;
}

int sample(int argc, char** argv) {
  CheckpointFlags common;
  std::string out;
  int64_t per_code = 0;
  ArgParser args("infogan sample", "Write --per-code generated digits for each code as IDX files "
                                   "PREFIX-images-idx3-ubyte (uint8 28x28) and PREFIX-labels-idx1-ubyte (the code).");
  common.add_to(args, "seed of the noise");
  args.add("--per-code", &per_code, "samples per categorical code");
  args.add("--out", &out, "output prefix");
  args.add_check([&] {
    usage_check(per_code >= 1, "--per-code", "must be given and >= 1");
    usage_check(!out.empty(), "--out", "must be given (a path prefix)");
  });
  if (!args.parse(argc, argv, 2)) return 0;
  sample_infogan(common.checkpoint, common.cont, per_code, out, static_cast<uint64_t>(common.seed),
                 parse_device_flag(common.device));
  std::printf("wrote %s-images-idx3-ubyte and %s-labels-idx1-ubyte (%lld images)\n", out.c_str(), out.c_str(),
              static_cast<long long>(10 * per_code));
  return 0;
}

int traverse(int argc, char** argv) {
  CheckpointFlags common;
  std::string out;
  ArgParser args("infogan traverse", "One image per continuous code: each row a fixed noise and categorical code, "
                                     "the columns that continuous code from -2 to 2.");
  common.add_to(args, "seed of the rows' noise");
  args.add("--out", &out, "output directory (default: <run>/eval)");
  if (!args.parse(argc, argv, 2)) return 0;
  for (const std::string& path : traverse_infogan(common.checkpoint, common.cont, out,
                                                  static_cast<uint64_t>(common.seed), parse_device_flag(common.device))) {
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_commands("infogan", kUsage, {{"train", train}, {"eval", eval}, {"sample", sample}, {"traverse", traverse}},
                      argc, argv);
}
