// vae_eval.cpp — the eval command of apps/vae (see vae.h): the test set's
// reconstruction error, the latent map (PCA of the means), and the judged
// random samples.
#include "common/vae.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/judge.h"
#include "common/run_directory.h"
#include "common/svg.h"
#include "data/file.h"
#include "data/mnist.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

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

  if (std::unique_ptr<JudgeNet> judge = find_judge(options.judge, report.dataset, options.device)) {
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
