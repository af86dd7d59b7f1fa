// infogan.cpp — see infogan.h: the config and presets, the model and its
// training step, checkpoints and load_infogan. Eval, sample and traverse are
// in infogan_eval.cpp.
#include "common/infogan.h"

#include <algorithm>

#include "common/checkpoint.h"
#include "common/cli.h"
#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/penalties.h"
#include "common/run_directory.h"
#include "common/svg.h"
#include "common/weight_average.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

// ---- config -----------------------------------------------------------------------

std::vector<ConfigEntry> InfoGanConfig::table() {
  std::vector<ConfigEntry> entries = {
      {"preset", &preset, "--preset", "hyper-parameter preset (lab = the spec); the other flags override it",
       Choices{"lab", "best"}},
      {ConfigEntry("epochs", &epochs, "--epochs", "passes over the training set", Range::at_least(1))
           .resumable_flag()},
      {"batch", &batch, "--batch", "batch size", Range::at_least(1)},
      {"noise", &noise, "--noise", "noise dimensions z", Range::at_least(1)},
      {"cont", &cont, "--cont", "continuous codes ~ U(-1, 1)", Range::from_to(0, 16)},
      {"lambda_info", &lambda_info, "--lambda", "weight of the info loss", Range::at_least(0)},
      {"lambda_cont", &lambda_cont, "--lambda-cont", "weight of the continuous codes' NLL in the info loss",
       Range::at_least(0)},
      {"lr_g", &lr_g, "--lr-g", "Adam learning rate of G and the Q head", Range::above(0)},
      {"lr_d", &lr_d, "--lr-d", "Adam learning rate of the D trunk and head", Range::above(0)},
      {"beta1", &beta1, "--beta1", "Adam beta1", Range::from_below(0, 1)},
      {"beta2", &beta2, "--beta2", "Adam beta2", Range::from_below(0, 1)},
      {"g_loss", &g_loss, "--g-loss", "generator loss", Choices{"nonsaturating", "saturating"}},
      {"seed", &seed, "--seed", "seed of the weights, the data order and the codes", Range::at_least(0)},
      {"train_limit", &train_limit, "--train-limit", "train on the first N images only (0: all)",
       Range::at_least(0)},
      // Configs of the spec's step on MNIST stay as they were before
      // --info-d, --dataset and --noise-dist existed.
      {ConfigEntry("info_d", &info_d, "--info-d",
                   "weight of the info loss in the D step, so that it trains the D trunk too (0: spec)",
                   Range::at_least(0))
           .added_later(0.0)},
      {ConfigEntry("dataset", &dataset, "--dataset", dataset_flag_help(), dataset_names())
           .added_later(std::string("mnist"))},
      {ConfigEntry("noise_dist", &noise_dist, "--noise-dist",
                   "distribution of z: N(0, 1) (the spec) or U(-1, 1) (the InfoGAN paper's code)",
                   Choices{"normal", "uniform"})
           .added_later(std::string("normal"))},
  };
  const std::vector<ConfigEntry> r1_entries = r1_config_entries(&r1, &r1_every);
  entries.insert(entries.end(), r1_entries.begin(), r1_entries.end());
  entries.push_back(ConfigEntry("info_real", &info_real, "--info-real",
                                "weight of the entropy of Q's mean code distribution over the real batch, "
                                "maximised in the D step (0: spec)",
                                Range::at_least(0))
                        .added_later(0.0));
  entries.push_back(ConfigEntry("ema", &ema, "--ema",
                                "decay of the moving average of G's weights that grids, eval and sample use (0: off)",
                                Range::from_below(0, 1))
                        .added_later(0.0));
  entries.push_back(ConfigEntry("lr_decay", &lr_decay, "--lr-decay",
                                "both learning rates over the run: constant, or cosine-annealed to 0",
                                lr_decay_choices())
                        .added_later(std::string("none")));
  return entries;
}

InfoGanConfig infogan_preset(const std::string& name) {
  InfoGanConfig c;  // the defaults are the spec's
  // A name comes from --preset only: a mistake is a usage error (exit 2).
  usage_check(name == "lab" || name == "best", "--preset", "expected one of lab|best, got '" + name + "'");
  c.preset = name;
  if (name == "best") {
    // docs/experiments.md: over seeds 1-3 on one device, the info loss also
    // training the trunk in the D step, both steps at the InfoGAN paper's
    // weight of 1, gave 0.949 / 0.927 / 0.955 against the spec's 0.940 /
    // 0.916 / 0.823, with 10/10 columns on every seed.
    c.info_d = 1;
    c.lambda_info = 1;
  }
  return c;
}

// ---- the model --------------------------------------------------------------------

namespace {

// Parameters of `module` whose names start with one of `prefixes`, renamed
// `owner` + name ("D." + "main.0.weight").
std::vector<NamedTensor> select(const Module& module, const std::string& owner,
                                const std::vector<std::string>& prefixes) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& p : module.named_parameters()) {
    for (const std::string& prefix : prefixes) {
      if (p.name.rfind(prefix, 0) == 0) out.push_back({owner + p.name, p.tensor});
    }
  }
  return out;
}

}  // namespace

InfoGan::InfoGan(const InfoGanConfig& config_, Device device_)
    : config(config_), device(device_), rng(static_cast<uint64_t>(config_.seed)) {
  config.validate();
  // Initial weights come from the default generator: seeding it makes a
  // run's start a function of --seed alone.
  manual_seed(static_cast<uint64_t>(config.seed));
  G = std::make_shared<SpecGenerator>(config.shape());
  D = std::make_shared<InfoGanDiscriminator>(config.shape());
  dcgan_init(*G);
  dcgan_init(*D);
  G->to(device);
  D->to(device);
  if (config.ema > 0) {
    G_ema = std::make_shared<SpecGenerator>(config.shape());
    G_ema->to(device);
    copy_weights(*G_ema, *G);
    G_ema->eval();
  }
  std::vector<NamedTensor> gq = select(*G, "G.", {""});
  const std::vector<NamedTensor> q = select(*D, "D.", {"Q."});
  gq.insert(gq.end(), q.begin(), q.end());
  opt_d = std::make_unique<Adam>(std::vector<ParamGroup>{{select(*D, "D.", {"main.", "D."}), config.lr_d}},
                                 config.beta1, config.beta2);
  opt_gq = std::make_unique<Adam>(std::vector<ParamGroup>{{gq, config.lr_g}}, config.beta1, config.beta2);
}

Tensor InfoGan::input_for(const Tensor& noise, const Tensor& code, const Tensor& cont) const {
  const int64_t n = noise.size(0);
  const Tensor one_hot_code = one_hot(code, 10).to(DType::Float32);
  return cat({noise, one_hot_code, cont}, 1).reshape({n, config.shape().input(), 1, 1}).to(device);
}

InfoGan::Latent InfoGan::sample_latent(int64_t n, Generator& generator) const {
  Latent latent;
  const Tensor noise = draw_noise(config.shape(), n, generator);
  // A uniform categorical code: floor(10 u) for u ~ U[0, 1).
  std::vector<int64_t> codes;
  for (const float u : rand({n}, DType::Float32, &generator).to_vector<float>()) {
    codes.push_back(std::min<int64_t>(9, static_cast<int64_t>(u * 10.0f)));
  }
  latent.code = from_host(codes.data(), {n}, DType::Int64);
  latent.cont = uniform({n, config.cont}, -1.0, 1.0, DType::Float32, &generator);
  latent.input = input_for(noise, latent.code, latent.cont);
  latent.code = latent.code.to(device);
  latent.cont = latent.cont.to(device);
  return latent;
}

InfoGanConfig InfoGan::resumed_config(const SafetensorsFile& file, const InfoGanConfig&) {
  return InfoGanConfig::from_json(file.metadata_value("config"), file.name);
}

std::vector<std::string> InfoGan::log_columns() const {
  return {"epoch", "iteration", "loss_D", "loss_G", "loss_Info", "D(x)", "D(G(z))"};
}

Tensor batch_code_entropy(const Tensor& logits) {
  check(logits.dim() == 2, "batch_code_entropy: expected logits [N, K], got ", logits.shape());
  const Tensor mean_p = mean(softmax(logits, 1), {0});  // [K]
  // A code no image reads has p = 0, and p log p -> 0 there: the clamp
  // keeps the log finite.
  return -sum(mean_p * log(clamp(mean_p, 1e-30, 1.0)));
}

Tensor InfoGan::train_step(const Batch& batch, const StepClock& clock) {
  // --lr-decay cosine: Adam anneals both rates over the run (training.h).
  const int64_t cosine_steps = config.lr_decay == "cosine" ? clock.total_iterations : 0;
  for (Adam* opt : {opt_d.get(), opt_gq.get()}) {
    for (ParamGroup& group : opt->groups()) group.cosine_steps = cosine_steps;
  }
  const Tensor real = batch.images.to(device);
  const Latent latent = sample_latent(real.size(0), rng);
  const bool with_r1 = r1_due(config.r1, config.r1_every, clock.iteration);
  std::vector<Tensor> inputs = {real, latent.input, latent.code, latent.cont};
  if (G_ema) append_ema_inputs(inputs, config.ema, ema_updates, device);
  return (with_r1 ? captured_r1_step_ : captured_step_)(inputs, use_cuda_graph);
}

Tensor InfoGan::step_on(const std::vector<Tensor>& inputs, bool with_r1) {
  const Tensor& real = inputs[0];
  const Latent latent{inputs[1], inputs[2], inputs[3]};
  const int64_t n = real.size(0);
  const Tensor ones = full({n}, 1.0, DType::Float32, device), zeros_n = zeros({n}, DType::Float32, device);
  const Tensor fake = (*G)(latent.input);

  // D step: real -> 1, fake -> 0; the fake batch is detached so G gets nothing.
  // With info_d, the codes of the fakes are also to be read from the trunk
  // (Q's own gradient here is dropped by the G+Q step's zero_grad).
  // R1 differentiates D's logits with respect to the real images, so on its
  // iterations they require grad.
  opt_d->zero_grad();
  const Tensor real_input = with_r1 ? penalty_input(real) : real;
  const InfoGanDiscriminator::Heads real_heads = D->heads(real_input);
  const Tensor d_real = real_heads.real;
  const InfoGanDiscriminator::Heads fake_heads = D->heads(fake.detach());
  const Tensor d_fake = fake_heads.real;
  const Tensor loss_d = binary_cross_entropy(d_real, ones) + binary_cross_entropy(d_fake, zeros_n);
  Tensor d_objective = loss_d;
  if (config.info_d > 0) d_objective = d_objective + config.info_d * info_loss(fake_heads, latent);
  if (config.info_real > 0) d_objective = d_objective - config.info_real * batch_code_entropy(real_heads.cat_logits);
  if (with_r1) {
    d_objective = d_objective + r1_weight(config.r1, config.r1_every) * r1_penalty(real_heads.logit, real_input);
  }
  d_objective.backward();
  opt_d->step();

  // G + Q step: fool the updated D, and let Q recover the codes. The
  // gradient reaches G through the D trunk, but the trunk and the D head are
  // not updated here (the next D step starts by zeroing their gradients), so
  // their own weight gradients are not computed: a third of the step's
  // matrix products.
  opt_gq->zero_grad();
  Tensor loss_g, loss_info;
  {
    const FrozenParameters frozen(opt_d->groups()[0].params);
    const InfoGanDiscriminator::Heads heads = D->heads(fake);
    loss_g = config.g_loss == "nonsaturating" ? binary_cross_entropy(heads.real, ones)
                                              : -binary_cross_entropy(heads.real, zeros_n);
    loss_info = config.lambda_info * info_loss(heads, latent);
    (loss_g + loss_info).backward();
  }
  opt_gq->step();
  if (G_ema) update_weight_average(*G_ema, *G, inputs[4], inputs[5]);

  NoGradGuard no_grad;
  return stack({loss_d, loss_g, loss_info, mean(d_real), mean(d_fake)});
}

Tensor InfoGan::info_loss(const InfoGanDiscriminator::Heads& heads, const Latent& latent) const {
  const Tensor categorical = cross_entropy(heads.cat_logits, latent.code);
  if (config.cont == 0) return categorical;
  return categorical + config.lambda_cont * gaussian_nll(latent.cont, heads.cont_mean, heads.cont_log_std);
}

Tensor InfoGan::grid(uint64_t seed) {
  NoGradGuard no_grad;
  SpecGenerator& g = sampler();
  const bool was_training = g.training();
  g.eval();
  Generator stream = side_stream(seed, SideStream::Grid);
  const Tensor images = g(grid_input(config.shape(), stream).to(device));
  g.train(was_training);
  return images;
}

CheckpointParts InfoGan::checkpoint_parts() const {
  CheckpointParts parts{{{"G.", G.get()}}, {{"optim.d.", opt_d.get()}, {"optim.gq.", opt_gq.get()}}};
  if (G_ema) parts.modules.push_back({"G_ema.", G_ema.get()});
  parts.modules.push_back({"D.", D.get()});
  return parts;
}

SafetensorsMetadata InfoGan::checkpoint_metadata(const TrainPosition& pos) const {
  SafetensorsMetadata metadata = {{"format", kFormat}, {"config", to_json(config.to_json())}};
  append_run_state(metadata, pos, rng);
  if (G_ema) metadata.push_back({"ema_updates", std::to_string(ema_updates)});
  return metadata;
}

void InfoGan::restore_metadata(const SafetensorsFile& file) {
  rng = read_generator(file, static_cast<uint64_t>(config.seed));
  if (G_ema) {
    ema_updates = metadata_int(file, "ema_updates", 0);
    check(ema_updates >= 0, file.name, ": negative ema_updates in metadata");
  }
}

void InfoGan::end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) {
  save_image_grid(run.file(epoch_sample_file(epoch + 1)), grid(static_cast<uint64_t>(config.seed)), 10, 2);
  write_log_chart(run.file("losses.svg"), "InfoGAN losses", "loss", log, {"loss_D", "loss_G", "loss_Info"});
  write_log_chart(run.file("probs.svg"), "Discriminator outputs", "mean probability", log, {"D(x)", "D(G(z))"});
}

InfoGanConfig checkpoint_config(const SafetensorsFile& file, int64_t cont) {
  check_format(file, InfoGan::kFormat);
  if (has_metadata(file, "config")) return InfoGanConfig::from_json(file.metadata_value("config"), file.name);
  InfoGanConfig config;
  config.cont = cont;
  return config;
}

std::unique_ptr<InfoGan> load_infogan(const SafetensorsFile& file, int64_t cont, Device device) {
  auto gan = std::make_unique<InfoGan>(checkpoint_config(file, cont), device);
  load_modules(file, gan->checkpoint_parts());
  gan->G->eval();
  gan->D->eval();
  return gan;
}

}  // namespace dl
