// gan_family.cpp — see gan_family.h: the config, the model and its training
// step, checkpoints and load_gan. Eval and sample are in gan_eval.cpp.
#include "common/gan_family.h"

#include <algorithm>

#include "common/checkpoint.h"
#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/penalties.h"
#include "common/run_directory.h"
#include "common/svg.h"
#include "common/weight_average.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

namespace {

constexpr int64_t kClasses = GanDiscriminator::kClasses;
}  // namespace

GanTraits gan_traits(const std::string& variant) {
  if (variant == "dcgan") return {false, false, false, false};
  if (variant == "cgan") return {true, true, false, false};
  if (variant == "acgan") return {true, false, true, false};
  if (variant == "wgan") return {false, false, false, true};
  fail("variant must be dcgan, cgan, acgan or wgan, got '", variant, "'");
}

// ---- config -----------------------------------------------------------------------

GanConfig gan_defaults(const std::string& variant) {
  GanConfig c;
  c.variant = variant;
  c.noise = gan_traits(variant).label_in_g ? 64 - kClasses : 64;
  // dcgan: G at twice the spec's rate. Over 10 epochs the judge's confident
  // share rose with G's rate (0.880 at 2e-4, 0.898 at 1e-3, 0.905 at 2e-3;
  // docs/experiments.md); cgan and acgan pass their bars at the spec's.
  if (variant == "dcgan") c.lr_g = 2e-3;
  if (variant == "wgan") {
    // The WGAN-GP paper's MNIST setup (its gan_mnist.py): both rates 1e-4,
    // Adam betas (0.5, 0.9), 5 critic steps per G step, lambda 10 (gp_lambda
    // and critic_steps' defaults). It used batch 50; this keeps the family's
    // 64.
    c.lr_g = c.lr_d = 1e-4;
    c.beta2 = 0.9;
    // G moves once per 5 iterations: 0.995 averages over about as many
    // epochs of G updates as the other variants' 0.999.
    c.ema = 0.995;
  }
  return c;
}

std::vector<ConfigEntry> GanConfig::table() {
  const bool critic = traits().critic;
  std::vector<ConfigEntry> entries = {
      {"variant", &variant, "", "", Choices{"dcgan", "cgan", "acgan", "wgan"}},
      {ConfigEntry("epochs", &epochs, "--epochs", "passes over the training set", Range::at_least(1))
           .resumable_flag()},
      {"batch", &batch, "--batch", "batch size", Range::at_least(1)},
      {"noise", &noise, "--noise", "noise dimensions z ~ N(0, 1)", Range::at_least(1)},
      {"lr_g", &lr_g, "--lr-g", "Adam learning rate of G", Range::above(0)},
      {"lr_d", &lr_d, "--lr-d", "Adam learning rate of D", Range::above(0)},
      {"beta1", &beta1, "--beta1", "Adam beta1", Range::from_below(0, 1)},
      {"beta2", &beta2, "--beta2", "Adam beta2", Range::from_below(0, 1)},
  };
  if (critic) {
    entries.insert(entries.end(), {
        {"gp_lambda", &gp_lambda, "--gp-lambda", "weight of the gradient penalty", Range::at_least(0)},
        {"critic_steps", &critic_steps, "--critic-steps", "critic steps (iterations) per generator step",
         Range::at_least(1)},
    });
  } else {
    entries.insert(entries.end(), {
        {"g_loss", &g_loss, "--g-loss", "generator loss", Choices{"nonsaturating", "saturating"}},
        {"real_label", &real_label, "--real-label", "D's target for real images (< 1: one-sided label smoothing)",
         Range::above_to(0, 1)},
        {"lambda_class", &lambda_class, traits().class_head ? "--lambda-class" : "",
         "weight of the class cross-entropy", Range::at_least(0)},
    });
  }
  entries.insert(entries.end(), {
      {"ema", &ema, "--ema", "decay of the moving average of G's weights used for samples and eval (0: off)",
       Range::from_below(0, 1)},
      {"seed", &seed, "--seed", "seed of the weights, the data order and the latent codes", Range::at_least(0)},
      {"train_limit", &train_limit, "--train-limit", "train on the first N images only (0: all)",
       Range::at_least(0)},
      // MNIST configs with a constant rate stay as they were before
      // --dataset and --lr-decay existed.
      {ConfigEntry("dataset", &dataset, "--dataset", dataset_flag_help(), dataset_names())
           .added_later(std::string("mnist"))},
      {ConfigEntry("lr_decay", &lr_decay, "--lr-decay",
                   "both learning rates over the run: constant, or cosine-annealed to 0", lr_decay_choices())
           .added_later(std::string("none"))},
  });
  if (!critic) {
    const std::vector<ConfigEntry> r1 = r1_config_entries(&this->r1, &r1_every);
    entries.insert(entries.end(), r1.begin(), r1.end());
  }
  return entries;
}

GanConfig GanConfig::from_json(const std::string& text, const std::string& source) {
  const JsonValue json = parse_json(text, source);
  check(json.is_object(), source, ": config is not a JSON object");
  const JsonValue* variant = json.find("variant");
  check(variant != nullptr && variant->is_string(), source, ": config has no string 'variant'");
  GanConfig c = gan_defaults(variant->as_string());
  read_config_json(text, source, c.table());
  return c;
}

// ---- the model --------------------------------------------------------------------

GanModel::GanModel(const GanConfig& config_, Device device_)
    : config(config_), traits(config_.traits()), device(device_), rng(static_cast<uint64_t>(config_.seed)) {
  config.validate();
  // The initial weights are a function of --seed alone.
  manual_seed(static_cast<uint64_t>(config.seed));
  const LatentShape shape{config.generator_input(), 0, 0};
  G = std::make_shared<SpecGenerator>(shape);
  D = std::make_shared<GanDiscriminator>(traits.label_plane, traits.class_head, traits.critic);
  dcgan_init(*G);
  dcgan_init(*D);
  G->to(device);
  D->to(device);
  if (config.ema > 0) {
    G_ema = std::make_shared<SpecGenerator>(shape);
    G_ema->to(device);
    copy_weights(*G_ema, *G);
    G_ema->eval();
  }
  opt_d = std::make_unique<Adam>(std::vector<ParamGroup>{{with_prefix("D.", D->named_parameters()), config.lr_d}},
                                 config.beta1, config.beta2);
  opt_g = std::make_unique<Adam>(std::vector<ParamGroup>{{with_prefix("G.", G->named_parameters()), config.lr_g}},
                                 config.beta1, config.beta2);
}

Tensor GanModel::generator_input(const Tensor& noise, const Tensor& labels) const {
  const int64_t n = noise.size(0);
  const Tensor input = traits.label_in_g ? cat({noise, one_hot(labels, kClasses).to(DType::Float32)}, 1) : noise;
  return input.reshape({n, config.generator_input(), 1, 1}).to(device);
}

GanModel::Latent GanModel::sample_latent(int64_t n, Generator& generator) const {
  const Tensor noise = randn({n, config.noise}, DType::Float32, &generator);
  // A uniform label: floor(10 u) for u ~ U[0, 1) (clamped against rounding up to 10).
  const Tensor labels = clamp(rand({n}, DType::Float32, &generator) * double(kClasses), 0.0, kClasses - 1.0)
                            .to(DType::Int64);
  Latent latent;
  latent.input = generator_input(noise, labels);
  latent.labels = labels.to(device);
  latent.one_hot = one_hot(labels, kClasses).to(DType::Float32).to(device);
  return latent;
}

GanConfig GanModel::resumed_config(const SafetensorsFile& file, const GanConfig& requested) {
  const GanConfig config = GanConfig::from_json(file.metadata_value("config"), file.name);
  check(config.variant == requested.variant, file.name, ": a ", config.variant, " run, not ", requested.variant);
  return config;
}

std::vector<std::string> GanModel::log_columns() const {
  if (traits.critic) return {"epoch", "iteration", "loss_D", "W", "GP", "score(x)", "score(G(z))"};
  std::vector<std::string> columns = {"epoch", "iteration", "loss_D", "loss_G", "D(x)", "D(G(z))"};
  if (traits.class_head) columns.insert(columns.end(), {"loss_C", "acc_C(x)", "acc_C(G(z))"});
  return columns;
}

namespace {
Tensor accuracy(const Tensor& logits, const Tensor& labels) {
  return mean(eq(argmax(logits, 1), labels).to(DType::Float32));
}
}  // namespace

Tensor GanModel::train_step(const Batch& batch, const StepClock& clock) {
  // --lr-decay cosine: Adam anneals both rates over the run from its update
  // counters, on the device (training.h).
  const int64_t cosine_steps = config.lr_decay == "cosine" ? clock.total_iterations : 0;
  opt_d->groups()[0].cosine_steps = cosine_steps;
  opt_g->groups()[0].cosine_steps = cosine_steps;
  const Tensor real = batch.images.to(device);
  if (traits.critic) return critic_train_step(real, clock);
  const Latent latent = sample_latent(real.size(0), rng);
  std::vector<Tensor> inputs = {real, batch.labels.to(device), latent.input, latent.labels, latent.one_hot};
  if (G_ema) append_ema_inputs(inputs, config.ema, ema_updates, device);
  const bool with_r1 = r1_due(config.r1, config.r1_every, clock.iteration);
  return (with_r1 ? captured_extended_step_ : captured_step_)(inputs, use_cuda_graph);
}

Tensor GanModel::step_on(const std::vector<Tensor>& inputs, bool with_r1) {
  const Tensor& real = inputs[0];
  const Tensor& labels = inputs[1];
  const Latent latent{inputs[2], inputs[3], inputs[4]};
  G->train();
  D->train();
  const int64_t n = real.size(0);
  const Tensor real_target = full({n}, config.real_label, DType::Float32, device);
  const Tensor ones = full({n}, 1.0, DType::Float32, device), zeros_n = zeros({n}, DType::Float32, device);
  // The label plane's input for the real batch (D ignores it without one).
  const Tensor real_one_hot = traits.label_plane ? one_hot(labels, kClasses).to(DType::Float32) : Tensor();
  const Tensor fake = (*G)(latent.input);

  // D step: real -> real_label, fake -> 0 (detached, so G gets nothing);
  // acgan: both batches' classes too. R1 differentiates D's logits with
  // respect to the real images, so on its iterations they require grad.
  opt_d->zero_grad();
  const Tensor real_input = with_r1 ? penalty_input(real) : real;
  const GanDiscriminator::Heads on_real = D->heads(real_input, real_one_hot);
  const GanDiscriminator::Heads on_fake = D->heads(fake.detach(), latent.one_hot);
  Tensor loss_d = binary_cross_entropy(on_real.real, real_target) + binary_cross_entropy(on_fake.real, zeros_n);
  Tensor loss_c;
  if (traits.class_head) {
    loss_c = cross_entropy(on_real.class_logits, labels) + cross_entropy(on_fake.class_logits, latent.labels);
    loss_d = loss_d + config.lambda_class * loss_c;
  }
  if (with_r1) {
    loss_d = loss_d + r1_weight(config.r1, config.r1_every) * r1_penalty(on_real.logit, real_input);
  }
  loss_d.backward();
  opt_d->step();

  // G step: fool the updated D (acgan: and be classified as the label drawn).
  // D is not updated here, so its weight gradients are not computed: the
  // gradient only flows through it to G.
  opt_g->zero_grad();
  GanDiscriminator::Heads on_g;
  Tensor loss_g;
  {
    const FrozenParameters frozen(opt_d->groups()[0].params);
    on_g = D->heads(fake, latent.one_hot);
    loss_g = config.g_loss == "nonsaturating" ? binary_cross_entropy(on_g.real, ones)
                                              : -binary_cross_entropy(on_g.real, zeros_n);
    if (traits.class_head) loss_g = loss_g + config.lambda_class * cross_entropy(on_g.class_logits, latent.labels);
    loss_g.backward();
  }
  opt_g->step();
  if (G_ema) update_weight_average(*G_ema, *G, inputs[5], inputs[6]);

  NoGradGuard no_grad;
  std::vector<Tensor> logged = {loss_d, loss_g, mean(on_real.real), mean(on_fake.real)};
  if (traits.class_head) {
    logged.insert(logged.end(), {loss_c, accuracy(on_real.class_logits, labels),
                                 accuracy(on_g.class_logits, latent.labels)});
  }
  return stack(logged);
}

Tensor GanModel::critic_train_step(const Tensor& real, const StepClock& clock) {
  const int64_t n = real.size(0);
  std::vector<Tensor> inputs = {real, sample_latent(n, rng).input,
                                rand({n, 1, 1, 1}, DType::Float32, &rng).to(device)};
  // The G step follows critic steps critic_steps, 2 critic_steps, ... of
  // the run, so a resumed run keeps the rhythm.
  if ((clock.iteration + 1) % config.critic_steps != 0) return captured_step_(inputs, use_cuda_graph);
  inputs.push_back(sample_latent(n, rng).input);
  if (G_ema) append_ema_inputs(inputs, config.ema, ema_updates, device);
  return captured_extended_step_(inputs, use_cuda_graph);
}

Tensor GanModel::critic_step_on(const std::vector<Tensor>& inputs, bool with_g_step) {
  const Tensor& real = inputs[0];  // [n, 1, 28, 28]
  const Tensor& mix = inputs[2];   // e [n, 1, 1, 1]
  G->train();
  D->train();
  Tensor fake;
  {
    NoGradGuard no_grad;  // the critic step does not train G
    fake = (*G)(inputs[1]);
  }

  // Critic step: maximise W, the gap between the mean scores of real and
  // fake images, with the gradient penalty holding ||dD(x^)/dx^|| near 1
  // (D 1-Lipschitz along the lines between them).
  opt_d->zero_grad();
  const Tensor score_real = D->heads(real, Tensor()).logit;
  const Tensor score_fake = D->heads(fake, Tensor()).logit;
  const Tensor mixed = penalty_input(mix * real + (1.0 - mix) * fake);
  const Tensor gp = wgan_gradient_penalty(D->heads(mixed, Tensor()).logit, mixed);
  const Tensor w = mean(score_real) - mean(score_fake);
  const Tensor loss_d = config.gp_lambda * gp - w;
  loss_d.backward();
  opt_d->step();

  if (with_g_step) {
    // G step: raise the updated critic's score of fresh fakes; the gradient
    // flows through D without computing D's own.
    opt_g->zero_grad();
    {
      const FrozenParameters frozen(opt_d->groups()[0].params);
      (-mean(D->heads((*G)(inputs[3]), Tensor()).logit)).backward();
    }
    opt_g->step();
    if (G_ema) update_weight_average(*G_ema, *G, inputs[4], inputs[5]);
  }

  NoGradGuard no_grad;
  return stack({loss_d, w, gp, mean(score_real), mean(score_fake)});
}

Tensor GanModel::generate(const Tensor& noise, const Tensor& labels) {
  NoGradGuard no_grad;
  SpecGenerator& g = sampler();
  const bool was_training = g.training();
  g.eval();
  std::vector<Tensor> parts;
  const int64_t n = noise.size(0), batch = 500;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    parts.push_back(g(generator_input(noise.narrow(0, begin, count), labels.narrow(0, begin, count))).to(Device::cpu()));
  }
  g.train(was_training);
  return cat(parts, 0);
}

void GanModel::measure_batch_norm_stats(int64_t batches) {
  NoGradGuard no_grad;
  SpecGenerator& g = sampler();
  const bool was_training = g.training();
  g.train();
  Generator stream = side_stream(static_cast<uint64_t>(config.seed), SideStream::BatchNormStats);
  const int64_t n = 500;
  std::vector<int64_t> label_values(n);  // every label equally often, where G takes one
  for (int64_t i = 0; i < n; ++i) label_values[i] = i % kClasses;
  const Tensor labels = from_host(label_values.data(), {n}, DType::Int64);
  for (int64_t b = 0; b < batches; ++b) g(generator_input(randn({n, config.noise}, DType::Float32, &stream), labels));
  g.train(was_training);
}

Tensor GanModel::grid(uint64_t seed) {
  Generator g = side_stream(seed, SideStream::Grid);
  // With labels: noise r for every column of row r; without: 100 noises.
  const Tensor noise = traits.label_in_g ? randn({10, config.noise}, DType::Float32, &g)
                                               .unsqueeze(1)
                                               .expand({10, 10, config.noise})
                                               .reshape({100, config.noise})
                                         : randn({100, config.noise}, DType::Float32, &g);
  const Tensor labels = arange(10).unsqueeze(0).expand({10, 10}).reshape({100});  // column c: label c
  return generate(noise, labels);
}

CheckpointParts GanModel::checkpoint_parts() const {
  CheckpointParts parts{{{"G.", G.get()}}, {{"optim.d.", opt_d.get()}, {"optim.g.", opt_g.get()}}};
  if (G_ema) parts.modules.push_back({"G_ema.", G_ema.get()});
  parts.modules.push_back({"D.", D.get()});
  return parts;
}

SafetensorsMetadata GanModel::checkpoint_metadata(const TrainPosition& pos) const {
  SafetensorsMetadata metadata = {
      {"format", kFormat}, {"variant", config.variant}, {"config", to_json(config.to_json())}};
  append_run_state(metadata, pos, rng);
  metadata.push_back({"ema_updates", std::to_string(ema_updates)});
  return metadata;
}

void GanModel::restore_metadata(const SafetensorsFile& file) {
  rng = read_generator(file, static_cast<uint64_t>(config.seed));
  ema_updates = metadata_int(file, "ema_updates", 0);
  check(ema_updates >= 0, file.name, ": negative ema_updates in metadata");
}

void GanModel::end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) {
  save_image_grid(run.file(epoch_sample_file(epoch + 1)), grid(static_cast<uint64_t>(config.seed)), 10, 2);
  if (traits.critic) {
    write_log_chart(run.file("losses.svg"), "WGAN-GP critic loss and gradient penalty", "loss", log,
                    {"loss_D", "GP"});
    write_log_chart(run.file("wasserstein.svg"), "Wasserstein estimate W = mean D(x) - mean D(G(z))", "W", log,
                    {"W"});
    write_log_chart(run.file("scores.svg"), "Critic scores", "mean score", log, {"score(x)", "score(G(z))"});
    return;
  }
  std::vector<std::string> losses = {"loss_D", "loss_G"};
  if (traits.class_head) losses.push_back("loss_C");
  write_log_chart(run.file("losses.svg"), config.variant + " losses", "loss", log, losses);
  write_log_chart(run.file("probs.svg"), "Discriminator outputs", "mean probability", log, {"D(x)", "D(G(z))"});
  if (traits.class_head) {
    write_log_chart(run.file("class_accuracy.svg"), "Class head accuracy", "accuracy", log,
                    {"acc_C(x)", "acc_C(G(z))"});
  }
}

std::unique_ptr<GanModel> load_gan(const SafetensorsFile& file, const std::string& variant, Device device) {
  check_format(file, GanModel::kFormat);
  GanConfig config = gan_defaults(variant);
  if (has_metadata(file, "config")) {
    config = GanConfig::from_json(file.metadata_value("config"), file.name);
    check(config.variant == variant, file.name, ": a ", config.variant, " checkpoint (use apps/", config.variant,
          "), not ", variant);
  } else {
    // Bare weights: G_ema. only if the file has it.
    config.ema = file.with_prefix("G_ema.").empty() ? 0.0 : config.ema;
  }
  auto gan = std::make_unique<GanModel>(config, device);
  load_modules(file, gan->checkpoint_parts());
  gan->G->eval();
  gan->D->eval();
  return gan;
}

}  // namespace dl
