// gan_cli.cpp — the command line shared by apps/dcgan, apps/cgan,
// apps/acgan and apps/wgan (gan_app_main in gan_family.h): the same
// commands and flags, except --lambda-class, which only acgan has, and
// wgan's --gp-lambda and --critic-steps in place of the BCE variants'
// --g-loss, --real-label and --r1.
#include <cstdio>

#include "common/cli.h"
#include "common/dataset.h"
#include "common/gan_family.h"
#include "common/judge.h"

namespace dl {

namespace {

const char* summary_of(const std::string& variant) {
  if (variant == "dcgan") return "an unconditional DCGAN (the spec's G and D, no Q head)";
  if (variant == "cgan") return "a conditional GAN (the label one-hot into G, and as an image plane into D)";
  if (variant == "wgan") return "a WGAN-GP (the spec's G; a critic with LayerNorm and no Sigmoid, gradient penalty)";
  return "an AC-GAN (the label into G; D also predicts the class)";
}

// --bn-stats, which eval and sample share.
void add_bn_stats_flag(ArgParser& args, std::string* bn_stats) {
  args.add_choice("--bn-stats", bn_stats, bn_stats_choices(),
                  "the sampling generator's BatchNorm statistics: as saved (copied from G during training), or "
                  "measured on 50 batches of its own samples");
}

int train(const std::string& variant, int argc, char** argv) {
  GanConfig config = gan_defaults(variant);
  TrainLoopFlags loop;
  const char* charts = gan_traits(variant).critic ? "losses.svg, wasserstein.svg (the Wasserstein estimate) and scores.svg"
                                                   : "losses.svg and probs.svg";
  ArgParser args(variant + " train", std::string("Train ") + summary_of(variant) +
                                         " on MNIST (or --dataset fashion). Writes "
                                         "checkpoints/latest.safetensors each epoch, "
                                         "samples/epoch_NNN.png, losses.csv, " + charts + ".");
  if (!parse_train_command(args, config.table(), loop, argc, argv)) return 0;
  return train_command<GanModel>(variant, config, loop);
}

int eval(const std::string& variant, int argc, char** argv) {
  CheckpointFlags common;
  GanEvalOptions options;
  options.variant = variant;
  const GanBar bar = gan_bar(variant);
  char summary[400];
  if (gan_traits(variant).label_in_g) {
    std::snprintf(summary, sizeof summary,
                  "Evaluate a checkpoint with the MNIST judge: its accuracy on --samples generated digits "
                  "(label i %% 10 for sample i), per label and overall (bar: >= %.3f overall, >= %.2f per label%s), "
                  "and the 10x10 grid (one label per column). Prints one JSON line last and writes <out>/eval.json.",
                  bar.accuracy, bar.class_accuracy, bar.grid_columns ? ", 10/10 grid columns" : "");
  } else {
    std::snprintf(summary, sizeof summary,
                  "Evaluate a checkpoint with the MNIST judge: over --samples generated digits, the share read with "
                  "confidence >= 0.9 (bar: >= %.2f) and the share of each digit (bar: all between %.2f and %.2f); "
                  "and the 10x10 grid. Prints one JSON line last and writes <out>/eval.json.",
                  bar.confident_share, bar.min_share, bar.max_share);
  }
  ArgParser args(variant + " eval", summary);
  common.add_to(args, "seed of the grid's noise and of the samples");
  add_bn_stats_flag(args, &options.bn_stats);
  args.add("--judge", &options.judge, kJudgeFlagHelp);
  args.add("--samples", &options.samples, "generated digits to judge");
  args.add("--out", &options.out, "output directory (default: <run>/eval)");
  args.add_check([&] { usage_check(options.samples >= 10, "--samples", "must be >= 10"); });
  if (!args.parse(argc, argv, 2)) return 0;
  common.apply_to(options);
  print_gan_report(evaluate_gan(options));
  return 0;
}

int sample(const std::string& variant, int argc, char** argv) {
  CheckpointFlags common;
  GanSampleOptions options;
  options.variant = variant;
  ArgParser args(variant + " sample",
                 gan_traits(variant).label_in_g
                     ? "Write the 10x10 grid (rows: styles, column c: label c) as a PNG, and optionally --samples "
                       "digits as IDX files (label i % 10 for image i)."
                     : "Write a 10x10 grid of samples as a PNG, and optionally --samples digits as IDX files.");
  common.add_to(args, "seed of the grid's noise and of the samples");
  add_bn_stats_flag(args, &options.bn_stats);
  args.add("--out", &options.png, "PNG path (default: <run>/eval/sample_seed<S>.png)");
  args.add("--idx", &options.idx_prefix, "also write PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte");
  args.add("--samples", &options.samples, "images in the IDX files");
  args.add_check([&] { usage_check(options.samples >= 1, "--samples", "must be >= 1"); });
  if (!args.parse(argc, argv, 2)) return 0;
  common.apply_to(options);
  std::printf("wrote %s\n", sample_gan(options).c_str());
  if (!options.idx_prefix.empty()) {
    std::printf("wrote %s-images-idx3-ubyte and %s-labels-idx1-ubyte (%lld images)\n", options.idx_prefix.c_str(),
                options.idx_prefix.c_str(), static_cast<long long>(options.samples));
  }
  return 0;
}

}  // namespace

int gan_app_main(const std::string& variant, int argc, char** argv) {
  gan_traits(variant);  // a programming error, not a usage error, when unknown
  const std::string usage = "usage: " + variant + " <command> [flags]   (each command has --help)\n" +
                            "  train   train " + summary_of(variant) + " on MNIST into runs/" + variant +
                            "-<time>/\n"
                            "  eval    score a checkpoint with the MNIST judge against the issue's bar\n"
                            "  sample  write the 10x10 grid as a PNG (and samples as IDX files)\n";
  auto bind = [&](int (*command)(const std::string&, int, char**)) {
    return [command, variant](int c, char** v) { return command(variant, c, v); };
  };
  return run_commands(variant, usage, {{"train", bind(train)}, {"eval", bind(eval)}, {"sample", bind(sample)}}, argc,
                      argv);
}

}  // namespace dl
