// infogan.cpp — the command line of the InfoGAN app (lab spec:
// docs/lab.md). Flags only; the work is in apps/common/infogan.cpp (train)
// and apps/common/infogan_eval.cpp (eval, sample, traverse).
//
//   ./apps/infogan train     [--epochs N] [--batch B] [--preset lab|best] [--cont K] [--resume] ...
//   ./apps/infogan eval      --checkpoint PATH [--judge PATH] [--seed S] [--out DIR]
//   ./apps/infogan sample    --checkpoint PATH --per-code N --out PREFIX [--seed S]
//   ./apps/infogan traverse  --checkpoint PATH [--out DIR]
#include <cstdio>

#include "common/app_shell.h"
#include "common/dataset.h"
#include "common/infogan.h"
#include "common/judge.h"

using namespace dl;

namespace {

const char* kUsage =
    "usage: infogan <command> [flags]   (each command has --help)\n"
    "  train     train an InfoGAN on MNIST into a run directory (runs/infogan-<time>/)\n"
    "  eval      Q-accuracy on the MNIST test set, the 10x10 grid, and the judge's column score and purity\n"
    "  sample    write generated digits per code as IDX files\n"
    "  traverse  one image per continuous code, from -2 to 2\n";

int train(int argc, char** argv) {
  // The preset sets the defaults that the other flags then override.
  const std::string preset = peek_flag(argc, argv, 2, "--preset");
  InfoGanConfig config = infogan_preset(preset.empty() ? "best" : preset);
  TrainLoopFlags loop;
  ArgParser args("infogan train", "Train an InfoGAN on MNIST (lab spec). Writes checkpoints/latest.safetensors each "
                                  "epoch, samples/epoch_NNN.png, losses.csv, losses.svg and probs.svg.");
  if (!parse_train_command(args, config.table(), loop, argc, argv)) return 0;
  return train_command<InfoGan>("infogan", config, loop);
}

// --cont, which eval, sample and traverse take for a checkpoint without config metadata.
void add_cont_flag(ArgParser& args, int64_t* cont) {
  args.add("--cont", cont, "continuous codes, for a checkpoint without config metadata");
  args.add_check([cont] { usage_check(*cont >= 0, "--cont", "must be >= 0"); });
}

int eval(int argc, char** argv) {
  CheckpointFlags common;
  InfoGanEvalOptions options;
  ArgParser args("infogan eval", "Evaluate a checkpoint: the 10x10 grid for --seed, Q-accuracy on the 10,000 MNIST "
                                 "test images, and (with the judge) the column score and purity. Prints one JSON "
                                 "line last and writes it to <out>/eval.json.");
  common.add_to(args, "seed of the grid's noise and the purity samples");
  add_cont_flag(args, &options.cont);
  args.add("--judge", &options.judge, kJudgeFlagHelp);
  args.add("--out", &options.out, "output directory (default: <run>/eval)");
  args.add("--data", &options.data_dir,
           "test data directory (default: the checkpoint's data set: $MNIST_DIR or data/mnist; "
           "$FASHION_MNIST_DIR or data/fashion-mnist)");
  args.add("--purity-samples", &options.purity_samples, "samples per code for purity");
  args.add_check([&] { usage_check(options.purity_samples >= 1, "--purity-samples", "must be >= 1"); });
  if (!args.parse(argc, argv, 2)) return 0;
  common.apply_to(options);
  print_report(evaluate_infogan(options));
  return 0;
}

int sample(int argc, char** argv) {
  CheckpointFlags common;
  std::string out;
  int64_t per_code = 0, cont = 0;
  ArgParser args("infogan sample", "Write --per-code generated digits for each code as IDX files "
                                   "PREFIX-images-idx3-ubyte (uint8 28x28) and PREFIX-labels-idx1-ubyte (the code).");
  common.add_to(args, "seed of the noise");
  add_cont_flag(args, &cont);
  args.add("--per-code", &per_code, "samples per categorical code");
  args.add("--out", &out, "output prefix");
  args.add_check([&] {
    usage_check(per_code >= 1, "--per-code", "must be given and >= 1");
    usage_check(!out.empty(), "--out", "must be given (a path prefix)");
  });
  if (!args.parse(argc, argv, 2)) return 0;
  sample_infogan(common.checkpoint, cont, per_code, out, static_cast<uint64_t>(common.seed),
                 parse_device_flag(common.device));
  std::printf("wrote %s-images-idx3-ubyte and %s-labels-idx1-ubyte (%lld images)\n", out.c_str(), out.c_str(),
              static_cast<long long>(10 * per_code));
  return 0;
}

int traverse(int argc, char** argv) {
  CheckpointFlags common;
  std::string out;
  int64_t cont = 0;
  ArgParser args("infogan traverse", "One image per continuous code: each row a fixed noise and categorical code, "
                                     "the columns that continuous code from -2 to 2.");
  common.add_to(args, "seed of the rows' noise");
  add_cont_flag(args, &cont);
  args.add("--out", &out, "output directory (default: <run>/eval)");
  if (!args.parse(argc, argv, 2)) return 0;
  for (const std::string& path : traverse_infogan(common.checkpoint, cont, out, static_cast<uint64_t>(common.seed),
                                                  parse_device_flag(common.device))) {
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_commands("infogan", kUsage, {{"train", train}, {"eval", eval}, {"sample", sample}, {"traverse", traverse}},
                      argc, argv);
}
