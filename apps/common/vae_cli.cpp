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
  VaeConfig c;
  VaeTrainOptions options;
  TrainLoopFlags loop;
  ArgParser args("vae train",
                 "Train a VAE: loss = reconstruction (--recon bce|mse) + beta * KL. Writes "
                 "checkpoints/latest.safetensors each epoch, samples/epoch_NNN.png, losses.csv, losses.svg and "
                 "mse.svg.");
  args.add("--epochs", &c.epochs, "passes over the training set");
  args.add("--batch", &c.batch, "batch size");
  args.add("--latent", &c.latent, "latent dimensions");
  args.add("--lr", &c.lr, "Adam learning rate");
  args.add_choice("--lr-decay", &c.lr_decay, lr_decay_choices(),
                  "learning rate over the run: constant, or cosine-annealed from --lr to 0");
  args.add("--beta1", &c.beta1, "Adam beta1");
  args.add("--beta2", &c.beta2, "Adam beta2");
  args.add("--beta", &c.beta, "weight of the KL term");
  args.add_choice("--recon", &c.recon, {"bce", "mse"}, "reconstruction loss, summed over the pixels");
  args.add("--seed", &c.seed, "seed of the weights, the data order and the reparameterisation noise");
  add_dataset_flag(args, &c.dataset);
  loop.add_to(args, "vae");
  args.add("--train-limit", &c.train_limit, "train on the first N images only (0: all)");
  add_validation(args, [&] { c.validate(); });
  if (!args.parse(argc, argv, 2)) return 0;
  if (loop.resume) {
    check_not_given_when_resuming(args, {"--batch", "--latent", "--lr", "--lr-decay", "--beta1", "--beta2", "--beta",
                                         "--recon", "--seed", "--dataset", "--train-limit"});
    if (args.given("--epochs")) options.resume_epochs = c.epochs;
  }
  options.config = c;
  loop.apply_to(options);
  return train_vae(options);
}

int eval(int argc, char** argv) {
  VaeEvalOptions options;
  options.checkpoint = "runs/latest/checkpoints/latest.safetensors";
  std::string device = "auto";
  int64_t threads = 0;
  ArgParser args("vae eval",
                 "Evaluate a checkpoint on its data set's test images: per-pixel MSE and BCE of the reconstruction "
                 "from the mean, and the KL; reconstructions.png (top: inputs, bottom: outputs), a 10x10 grid of "
                 "random samples, latent_pca.svg (the means' first two principal components, coloured by label); "
                 "with the judge, the share of --samples random samples it reads with confidence >= 0.9 (MNIST "
                 "bar: MSE <= 0.008 and >= 0.7). Prints one JSON line last and writes <out>/eval.json.");
  args.add("--checkpoint", &options.checkpoint, "checkpoint (train writes <run>/checkpoints/latest.safetensors)");
  args.add("--judge", &options.judge,
           "judge checkpoint (default: runs/mnist_classifier/latest.safetensors, or "
           "runs/fashion_classifier/latest.safetensors for a --dataset fashion run)");
  args.add("--data", &options.data_dir,
           "test data directory (default: the checkpoint's data set: $MNIST_DIR or data/mnist; "
           "$FASHION_MNIST_DIR or data/fashion-mnist)");
  args.add("--samples", &options.samples, "random samples to judge");
  args.add("--test-limit", &options.test_limit, "use the first N test images only (0: all)");
  args.add("--seed", &options.seed, "seed of the random samples");
  args.add("--out", &options.out, "output directory (default: <run>/eval)");
  args.add("--device", &device, "cpu, cuda, cuda:N or auto");
  add_threads_flag(args, &threads);
  args.add_check([&] {
    usage_check(options.samples >= 1, "--samples", "must be >= 1");
    usage_check(options.test_limit >= 0, "--test-limit", "must be >= 0");
    usage_check(options.seed >= 0, "--seed", "must be >= 0");
  });
  if (!args.parse(argc, argv, 2)) return 0;
  options.device = parse_device_flag(device);
  print_vae_report(evaluate_vae(options));
  return 0;
}

}  // namespace

int vae_app_main(int argc, char** argv) {
  return run_commands("vae", kUsage, {{"train", train}, {"eval", eval}}, argc, argv);
}

}  // namespace dl
