// vae.cpp — see vae.h: the config, the networks and the loss, the model and
// its training step, checkpoints and load_vae. Eval and PCA are in
// vae_eval.cpp.
#include "common/vae.h"

#include <algorithm>

#include "common/checkpoint.h"
#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/run_directory.h"
#include "common/svg.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

namespace {

constexpr int64_t kTrunkChannels = 256;
}  // namespace

// ---- config -------------------------------------------------------------------------

std::vector<ConfigEntry> VaeConfig::table() {
  return {
      {"dataset", &dataset, "--dataset", dataset_flag_help(), dataset_names()},
      {ConfigEntry("epochs", &epochs, "--epochs", "passes over the training set", Range::at_least(1))
           .resumable_flag()},
      {"batch", &batch, "--batch", "batch size (>= 2: BatchNorm needs two images)", Range::at_least(2)},
      {"latent", &latent, "--latent", "latent dimensions", Range::from_to(1, 1024)},
      {"lr", &lr, "--lr", "Adam learning rate", Range::above(0)},
      // Configs written before the flag existed trained at a constant rate.
      {ConfigEntry("lr_decay", &lr_decay, "--lr-decay",
                   "learning rate over the run: constant, or cosine-annealed from --lr to 0", lr_decay_choices())
           .absent_means(std::string("none"))},
      {"beta1", &beta1, "--beta1", "Adam beta1", Range::from_below(0, 1)},
      {"beta2", &beta2, "--beta2", "Adam beta2", Range::from_below(0, 1)},
      {"beta", &beta, "--beta", "weight of the KL term", Range::at_least(0)},
      {"recon", &recon, "--recon", "reconstruction loss, summed over the pixels", Choices{"bce", "mse"}},
      {"seed", &seed, "--seed", "seed of the weights, the data order and the reparameterisation noise",
       Range::at_least(0)},
      {"train_limit", &train_limit, "--train-limit", "train on the first N images only (0: all)", Range::at_least(0)},
  };
}

// ---- networks and loss ------------------------------------------------------------------

VaeEncoder::VaeEncoder(int64_t latent) {
  main = register_module("main", spec_discriminator_trunk(1));
  mu = register_module("mu", std::make_shared<Linear>(kTrunkChannels, latent));
  logvar = register_module("logvar", std::make_shared<Linear>(kTrunkChannels, latent));
}

VaeEncoder::Output VaeEncoder::encode(const Tensor& images) {
  check_spec_images(images, 1);
  const Tensor trunk = (*main)(images).flatten(1);  // [N, 256]
  return {(*mu)(trunk), (*logvar)(trunk)};
}

Tensor vae_kl(const Tensor& mean, const Tensor& log_var) {
  check(mean.dim() == 2 && mean.shape() == log_var.shape(), "vae_kl: mean and log_var must both be [N, latent], got ",
        mean.shape(), " and ", log_var.shape());
  return 0.5 * dl::mean(sum(mean * mean + exp(log_var) - 1.0 - log_var, {1}));
}

Tensor vae_reconstruction(const Tensor& output, const Tensor& target, const std::string& loss) {
  check(output.dim() >= 1 && output.size(0) >= 1, "vae_reconstruction: empty batch");
  const double per_image = static_cast<double>(output.numel() / output.size(0));
  if (loss == "bce") return binary_cross_entropy(output, target) * per_image;
  check(loss == "mse", "vae_reconstruction: loss must be bce or mse, got '", loss, "'");
  return mse_loss(output, target) * per_image;
}

Tensor reparameterize(const Tensor& mean, const Tensor& log_var, const Tensor& eps) {
  return mean + exp(log_var * 0.5) * eps;
}

// ---- the model --------------------------------------------------------------------------

VaeModel::VaeModel(const VaeConfig& config_, Device device_)
    : config(config_), device(device_), rng(static_cast<uint64_t>(config_.seed)) {
  config.validate();
  // The initial weights are a function of --seed alone (PyTorch's default
  // initialisation of each layer, as a plain PyTorch VAE).
  manual_seed(static_cast<uint64_t>(config.seed));
  E = std::make_shared<VaeEncoder>(config.latent);
  G = std::make_shared<SpecGenerator>(LatentShape{config.latent, 0, 0});
  E->to(device);
  G->to(device);
  std::vector<NamedTensor> params = with_prefix("E.", E->named_parameters());
  const std::vector<NamedTensor> g_params = with_prefix("G.", G->named_parameters());
  params.insert(params.end(), g_params.begin(), g_params.end());
  opt = std::make_unique<Adam>(std::vector<ParamGroup>{{params, config.lr}}, config.beta1, config.beta2);
}

VaeConfig VaeModel::resumed_config(const SafetensorsFile& file, const VaeConfig&) {
  return VaeConfig::from_json(file.metadata_value("config"), file.name);
}

std::vector<std::string> VaeModel::log_columns() const {
  return {"epoch", "iteration", "loss", "recon", "kl", "mse"};
}

Tensor VaeModel::train_step(const Batch& batch, const StepClock& clock) {
  // --lr-decay cosine: Adam anneals the rate over the run from its update
  // counters, on the device (training.h).
  opt->groups()[0].cosine_steps = config.lr_decay == "cosine" ? clock.total_iterations : 0;
  const Tensor x = batch.images.to(device);
  // The noise comes from the model's own Philox stream (saved with the
  // checkpoint), drawn on the CPU, so a resumed run draws the same.
  const Tensor eps = randn({x.size(0), config.latent}, DType::Float32, &rng).to(device);
  return captured_step_({x, eps}, use_cuda_graph);
}

Tensor VaeModel::step_on(const Tensor& x, const Tensor& eps) {
  E->train();
  G->train();
  const int64_t n = x.size(0);
  const VaeEncoder::Output q = E->encode(x);
  const Tensor z = reparameterize(q.mean, q.log_var, eps);
  const Tensor output = (*G)(z.reshape({n, config.latent, 1, 1}));
  const Tensor recon = vae_reconstruction(output, x, config.recon);
  const Tensor kl = vae_kl(q.mean, q.log_var);
  const Tensor loss = recon + config.beta * kl;
  opt->zero_grad();
  loss.backward();
  opt->step();
  NoGradGuard no_grad;
  return stack({loss, recon, kl, mse_loss(output, x)});
}

Tensor VaeModel::decode(const Tensor& z) {
  NoGradGuard no_grad;
  const bool was_training = G->training();
  G->eval();
  std::vector<Tensor> parts;
  const int64_t n = z.size(0), batch = 500;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    const Tensor input = z.narrow(0, begin, count).reshape({count, config.latent, 1, 1}).to(device);
    parts.push_back((*G)(input).to(Device::cpu()));
  }
  G->train(was_training);
  return cat(parts, 0);
}

Tensor VaeModel::sample_grid(uint64_t seed) {
  Generator g = side_stream(seed, SideStream::Grid);
  return decode(randn({100, config.latent}, DType::Float32, &g));
}

Tensor VaeModel::samples(int64_t n, uint64_t seed) {
  Generator g = side_stream(seed, SideStream::EvalSamples);
  return decode(randn({n, config.latent}, DType::Float32, &g));
}

CheckpointParts VaeModel::checkpoint_parts() const {
  return {{{"E.", E.get()}, {"G.", G.get()}}, {{"optim.", opt.get()}}};
}

SafetensorsMetadata VaeModel::checkpoint_metadata(const TrainPosition& pos) const {
  SafetensorsMetadata metadata = {{"format", kFormat}, {"config", to_json(config.to_json())}};
  append_run_state(metadata, pos, rng);
  return metadata;
}

void VaeModel::restore_metadata(const SafetensorsFile& file) {
  rng = read_generator(file, static_cast<uint64_t>(config.seed));
}

void VaeModel::end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) {
  save_image_grid(run.file(epoch_sample_file(epoch + 1)), sample_grid(static_cast<uint64_t>(config.seed)), 10, 2);
  write_log_chart(run.file("losses.svg"), "VAE loss per image", "loss", log, {"loss", "recon", "kl"}, false);
  write_log_chart(run.file("mse.svg"), "Training reconstruction MSE per pixel", "MSE", log, {"mse"}, true);
}

namespace {
VaeConfig checkpoint_config(const SafetensorsFile& file) {
  check_format(file, VaeModel::kFormat);
  return has_metadata(file, "config") ? VaeConfig::from_json(file.metadata_value("config"), file.name) : VaeConfig{};
}
}  // namespace

std::unique_ptr<VaeModel> load_vae(const SafetensorsFile& file, Device device) {
  auto vae = std::make_unique<VaeModel>(checkpoint_config(file), device);
  load_modules(file, vae->checkpoint_parts());
  vae->E->eval();
  vae->G->eval();
  return vae;
}

}  // namespace dl
