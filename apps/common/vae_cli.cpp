// vae_cli.cpp — the command line of apps/vae (vae_app_main in vae.h).
#include <cstdio>

#include "common/cli.h"
#include "common/dataset.h"
#include "common/vae.h"

namespace dl {

namespace {

const char* kUsage =
    "usage: vae <command> [flags]   (each command has --help)\n"
    "  train  train a VAE (the spec's trunk as encoder, its generator as decoder) on MNIST or Fashion-MNIST\n"
    "         into runs/vae-<time>/\n"
    "  eval   test-set reconstruction error and KL, reconstructions, random samples (judged), the latent PCA map\n";

int train(int argc, char** argv) {
  VaeConfig config;
  TrainLoopFlags loop;
  ArgParser args("vae train",
                 "Train a VAE: loss = reconstruction (--recon bce|mse) + beta * KL. Writes "
                 "checkpoints/latest.safetensors each epoch, samples/epoch_NNN.png, losses.csv, losses.svg and "
                 "mse.svg.");
  if (!parse_train_command(args, config.table(), loop, argc, argv)) return 0;
  return train_command<VaeModel>("vae", config, loop);
}

int eval(int argc, char** argv) {
  CheckpointFlags common;
  VaeEvalOptions options;
  ArgParser args("vae eval",
                 "Evaluate a checkpoint on its data set's test images: per-pixel MSE and BCE of the reconstruction "
                 "from the mean, and the KL; reconstructions.png (top: inputs, bottom: outputs), a 10x10 grid of "
                 "random samples, latent_pca.svg (the means' first two principal components, coloured by label); "
                 "with the judge, the share of --samples random samples it reads with confidence >= 0.9 (MNIST "
                 "bar: MSE <= 0.008 and >= 0.7). Prints one JSON line last and writes <out>/eval.json.");
  common.add_to(args, "seed of the random samples");
  args.add("--judge", &options.judge, kJudgeFlagHelp);
  args.add("--data", &options.data_dir,
           "test data directory (default: the checkpoint's data set: $MNIST_DIR or data/mnist; "
           "$FASHION_MNIST_DIR or data/fashion-mnist)");
  args.add("--samples", &options.samples, "random samples to judge");
  args.add("--test-limit", &options.test_limit, "use the first N test images only (0: all)");
  args.add("--out", &options.out, "output directory (default: <run>/eval)");
  args.add_check([&] {
    usage_check(options.samples >= 1, "--samples", "must be >= 1");
    usage_check(options.test_limit >= 0, "--test-limit", "must be >= 0");
  });
  if (!args.parse(argc, argv, 2)) return 0;
  common.apply_to(options);
  print_vae_report(evaluate_vae(options));
  return 0;
}

}  // namespace

int vae_app_main(int argc, char** argv) {
  return run_commands("vae", kUsage, {{"train", train}, {"eval", eval}}, argc, argv);
}

}  // namespace dl
