// vae.cpp — see vae.h.
#include "common/vae.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/checkpoint.h"
#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/mnist_judge.h"
#include "common/run_directory.h"
#include "common/svg.h"
#include "data/file.h"
#include "data/mnist.h"
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

// ---- PCA --------------------------------------------------------------------------------

Eigen symmetric_eigen(const std::vector<double>& matrix, int64_t d) {
  check(d >= 1 && matrix.size() == static_cast<size_t>(d * d), "symmetric_eigen: expected a ", d, "x", d, " matrix");
  const size_t n = static_cast<size_t>(d);
  std::vector<double> a = matrix, v(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  double scale = 0;
  for (double x : a) scale += x * x;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t p = 0; p < n; ++p)
      for (size_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-30 * scale || off == 0) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) continue;
        // The rotation J (J_pp = J_qq = c, J_pq = s, J_qp = -s) that zeroes
        // a_pq in J^T A J: tan of its angle is the smaller root t.
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < n; ++k) {  // A J
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // J^T (A J)
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {  // V J: the columns are the eigenvectors
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return a[i * n + i] > a[j * n + j]; });
  Eigen out;
  for (size_t i : order) {
    out.values.push_back(a[i * n + i]);
    std::vector<double> vector(n);
    size_t largest = 0;
    for (size_t k = 0; k < n; ++k) {
      vector[k] = v[k * n + i];
      if (std::fabs(vector[k]) > std::fabs(vector[largest])) largest = k;
    }
    if (vector[largest] < 0) {
      for (double& x : vector) x = -x;
    }
    out.vectors.push_back(std::move(vector));
  }
  return out;
}

Pca2 pca_2d(const std::vector<double>& points, int64_t n, int64_t d) {
  check(n >= 1 && d >= 1 && points.size() == static_cast<size_t>(n * d), "pca_2d: expected ", n, "x", d,
        " points, got ", points.size(), " values");
  const size_t rows = static_cast<size_t>(n), cols = static_cast<size_t>(d);
  std::vector<double> centre(cols, 0.0);
  for (size_t i = 0; i < rows; ++i)
    for (size_t k = 0; k < cols; ++k) centre[k] += points[i * cols + k];
  for (double& c : centre) c /= static_cast<double>(n);
  std::vector<double> cov(cols * cols, 0.0);
  for (size_t i = 0; i < rows; ++i) {
    for (size_t p = 0; p < cols; ++p) {
      const double dp = points[i * cols + p] - centre[p];
      for (size_t q = p; q < cols; ++q) cov[p * cols + q] += dp * (points[i * cols + q] - centre[q]);
    }
  }
  for (size_t p = 0; p < cols; ++p) {
    for (size_t q = p; q < cols; ++q) {
      cov[p * cols + q] /= static_cast<double>(n);
      cov[q * cols + p] = cov[p * cols + q];
    }
  }
  const Eigen eigen = symmetric_eigen(cov, d);
  double total = 0;
  for (size_t k = 0; k < cols; ++k) total += cov[k * cols + k];
  Pca2 out;
  for (size_t c = 0; c < std::min<size_t>(2, cols); ++c) {
    out.components.push_back(eigen.vectors[c]);
    out.explained.push_back(total > 0 ? std::max(0.0, eigen.values[c]) / total : 0.0);
  }
  out.x.assign(rows, 0.0);
  out.y.assign(rows, 0.0);
  for (size_t i = 0; i < rows; ++i) {
    for (size_t k = 0; k < cols; ++k) {
      const double centred = points[i * cols + k] - centre[k];
      out.x[i] += centred * out.components[0][k];
      if (cols > 1) out.y[i] += centred * out.components[1][k];
    }
  }
  return out;
}

// ---- the model --------------------------------------------------------------------------

VaeModel::VaeModel(const VaeConfig& config_, Device device_)
    : config(config_), device(device_), rng(static_cast<uint64_t>(config_.seed)) {
  config.validate();
  // The initial weights are a function of --seed alone (PyTorch's default
  // initialisation of each layer, as a plain PyTorch VAE).
  manual_seed(static_cast<uint64_t>(config.seed));
  E = std::make_shared<VaeEncoder>(config.latent);
  G = std::make_shared<InfoGanGenerator>(InfoGanShape{config.latent, 0, 0});
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

// ---- eval -------------------------------------------------------------------------------

JsonValue VaeReport::json() const {
  auto judged_number = [&](double v) { return judged ? JsonValue::number(v) : JsonValue::null(); };
  JsonValue::Object members = {
      {"dataset", JsonValue::string(dataset)},
      {"latent", JsonValue::integer(latent)},
      {"test_images", JsonValue::integer(test_images)},
      {"mse", JsonValue::number(mse)},
      {"bce", JsonValue::number(bce)},
      {"kl", JsonValue::number(kl)},
      {"pca_explained", JsonValue::numbers(explained)},
      {"samples", JsonValue::integer(judged ? samples : 0)},
      {"confident_share", judged_number(coverage.confident_share)},
      {"class_share", judged ? JsonValue::numbers(coverage.digit_share) : JsonValue::null()},
      {"passes", judged && bar_applies ? JsonValue::boolean(passes) : JsonValue::null()},
  };
  add_divergence(members, divergence);
  return JsonValue::object(std::move(members));
}

VaeReport evaluate_vae(const VaeEvalOptions& options) {
  check(options.samples >= 1, "--samples must be >= 1, got ", options.samples);
  const SafetensorsFile file = load_safetensors(options.checkpoint);
  std::unique_ptr<VaeModel> vae = load_vae(file, options.device);
  const std::string out = options.out.empty() ? eval_dir_of(options.checkpoint) : options.out;
  make_directories(out);

  VaeReport report;
  report.divergence = read_position(file).divergence;
  report.dataset = vae->config.dataset;
  report.latent = vae->config.latent;
  report.bar_applies = report.dataset == "mnist";
  MnistSplit test = load_mnist(resolve_data_dir(report.dataset, options.data_dir), false);
  if (options.test_limit > 0 && options.test_limit < test.images.size(0)) {
    test.images = test.images.narrow(0, 0, options.test_limit);
    test.labels = test.labels.narrow(0, 0, options.test_limit);
  }
  const int64_t n = test.images.size(0), latent = vae->config.latent;
  report.test_images = n;

  // The test set through E and G (from the mean), in batches.
  double squared = 0, bce = 0, kl = 0;
  std::vector<Tensor> means, firsts;
  {
    NoGradGuard no_grad;
    const int64_t batch = 500;
    for (int64_t begin = 0; begin < n; begin += batch) {
      const int64_t count = std::min(batch, n - begin);
      const Tensor x = (test.images.narrow(0, begin, count).to(DType::Float32) / 255.0).unsqueeze(1).to(vae->device);
      const VaeEncoder::Output q = vae->E->encode(x);
      const Tensor output = (*vae->G)(q.mean.reshape({count, latent, 1, 1}));
      const double pixels = static_cast<double>(count * 28 * 28);
      squared += mse_loss(output, x).item() * pixels;
      bce += binary_cross_entropy(output, x).item() * pixels;
      kl += vae_kl(q.mean, q.log_var).item() * static_cast<double>(count);
      means.push_back(q.mean.to(Device::cpu()));
      if (begin == 0) firsts = {x.narrow(0, 0, std::min<int64_t>(10, count)).to(Device::cpu()),
                                output.narrow(0, 0, std::min<int64_t>(10, count)).to(Device::cpu())};
    }
  }
  report.mse = squared / static_cast<double>(n * 28 * 28);
  report.bce = bce / static_cast<double>(n * 28 * 28);
  report.kl = kl / static_cast<double>(n);

  // Top row: the first (up to) 10 test images; bottom row: their reconstructions.
  report.reconstructions_path = out + "/reconstructions.png";
  save_image_grid(report.reconstructions_path, cat(firsts, 0), firsts[0].size(0), 2);
  report.samples_path = out + "/samples_seed" + std::to_string(options.seed) + ".png";
  save_image_grid(report.samples_path, vae->sample_grid(static_cast<uint64_t>(options.seed)), 10, 2);

  // The means' first two principal components, coloured by label.
  const Pca2 pca = pca_2d(cat(means, 0).to(DType::Float64).to_vector<double>(), n, latent);
  report.explained = pca.explained;
  report.latent_path = out + "/latent_pca.svg";
  char title[160];
  std::snprintf(title, sizeof title, "%s test set: VAE means, first two principal components (%.0f%% + %.0f%%)",
                dataset_title(report.dataset).c_str(), 100 * pca.explained[0],
                pca.explained.size() > 1 ? 100 * pca.explained[1] : 0.0);
  write_scatter(report.latent_path, ScatterPlot{title, "PC 1", "PC 2", pca.x, pca.y, test.labels.to_vector<int64_t>(),
                                                dataset_class_names(report.dataset)});

  if (std::unique_ptr<MnistClassifier> judge = find_judge(options.judge, report.dataset, options.device)) {
    const Judgement judged = judge_images(*judge, vae->samples(options.samples, static_cast<uint64_t>(options.seed)));
    report.coverage = coverage(judged.digit, judged.confidence, report.bar.confidence, 10);
    report.samples = options.samples;
    report.judged = true;
  }
  report.passes = report.judged && report.bar_applies && report.mse <= report.bar.mse &&
                  report.coverage.confident_share >= report.bar.confident_share;
  write_file_atomic(out + "/eval.json", to_json(report.json()) + "\n");
  return report;
}

void print_vae_report(const VaeReport& report) {
  print_divergence(report.divergence);
  std::printf("%s test set, %lld images, latent %lld, decoded from the mean:\n", dataset_title(report.dataset).c_str(),
              static_cast<long long>(report.test_images), static_cast<long long>(report.latent));
  std::printf("  MSE per pixel %.5f, BCE per pixel %.5f, KL per image %.3f\n", report.mse, report.bce, report.kl);
  std::printf("reconstructions (top: inputs, bottom: outputs): %s\n", report.reconstructions_path.c_str());
  std::printf("random samples: %s\n", report.samples_path.c_str());
  std::printf("latent map (PCA of the means, %.1f%% + %.1f%% of the variance): %s\n", 100 * report.explained[0],
              report.explained.size() > 1 ? 100 * report.explained[1] : 0.0, report.latent_path.c_str());
  if (report.judged) {
    std::printf("%lld random samples: judge confidence >= %.2f for %.4f of them\n",
                static_cast<long long>(report.samples), report.bar.confidence, report.coverage.confident_share);
    std::printf("share of each class:");
    for (double s : report.coverage.digit_share) std::printf(" %.3f", s);
    std::printf("\n");
  } else {
    print_missing_judge(report.dataset);
  }
  if (report.bar_applies) {
    std::printf("bar: MSE <= %.3f and confident share >= %.2f: %s\n", report.bar.mse, report.bar.confident_share,
                report.judged ? (report.passes ? "met" : "not met") : "unknown without the judge");
  }
  std::printf("%s\n", to_json(report.json()).c_str());
}

}  // namespace dl
