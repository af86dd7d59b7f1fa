// infogan_eval.cpp — the eval, sample and traverse commands of apps/infogan
// (see infogan.h): Q's accuracy on the test set, the judged column score and
// purity, and the IDX samples and traversal grids drawn from a checkpoint.
#include "common/infogan.h"

#include <algorithm>
#include <cstdio>

#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/judge.h"
#include "common/run_directory.h"
#include "data/file.h"
#include "data/idx.h"
#include "data/mnist.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

// ---- eval -------------------------------------------------------------------------

JsonValue InfoGanReport::json() const {
  auto number_or_null = [&](double v) { return judged ? JsonValue::number(v) : JsonValue::null(); };
  JsonValue::Object members = {
      {"q_accuracy", JsonValue::number(matching.accuracy)},
      {"majority_accuracy", JsonValue::number(majority_accuracy)},
      {"columns", judged ? JsonValue::integer(columns.correct_columns) : JsonValue::null()},
      {"purity_mean", number_or_null(purity.mean)},
      {"purity_min", number_or_null(purity.min)},
      {"distinct_digits", judged ? JsonValue::boolean(purity.distinct_digits) : JsonValue::null()},
  };
  add_divergence(members, divergence);
  return JsonValue::object(std::move(members));
}

namespace {

// Q's categorical prediction for each test image.
std::vector<int64_t> q_codes(InfoGan& gan, const Tensor& images_u8) {
  NoGradGuard no_grad;
  std::vector<int64_t> codes;
  const int64_t n = images_u8.size(0), batch = 500;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    const Tensor images = (images_u8.narrow(0, begin, count).to(DType::Float32) / 255.0).unsqueeze(1);
    const std::vector<int64_t> part =
        argmax(gan.D->heads(images.to(gan.device)).cat_logits, 1).to(Device::cpu()).to_vector<int64_t>();
    codes.insert(codes.end(), part.begin(), part.end());
  }
  return codes;
}

// `per_code` samples of each code in turn (code-major), eval mode, no grad.
Tensor generate_per_code(InfoGan& gan, int64_t per_code, Generator& g) {
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  for (int64_t code = 0; code < 10; ++code) {
    const Tensor noise = draw_noise(gan.config.shape(), per_code, g);
    const Tensor cont = uniform({per_code, gan.config.cont}, -1.0, 1.0, DType::Float32, &g);
    const Tensor codes = full({per_code}, static_cast<double>(code), DType::Int64);
    parts.push_back(gan.sampler()(gan.input_for(noise, codes, cont)).to(Device::cpu()));
  }
  return cat(parts, 0);
}

}  // namespace

InfoGanReport evaluate_infogan(const InfoGanEvalOptions& options) {
  const SafetensorsFile file = load_safetensors(options.checkpoint);
  std::unique_ptr<InfoGan> gan = load_infogan(file, options.cont, options.device);
  const std::string out = options.out.empty() ? eval_dir_of(options.checkpoint) : options.out;
  make_directories(out);

  InfoGanReport report;
  report.divergence = read_position(file).divergence;
  const Tensor grid = gan->grid(static_cast<uint64_t>(options.seed));
  report.grid_path = out + "/grid_seed" + std::to_string(options.seed) + ".png";
  save_image_grid(report.grid_path, grid, 10, 2);

  report.dataset = gan->config.dataset;
  const MnistSplit test = load_mnist(resolve_data_dir(report.dataset, options.data_dir), false);
  report.confusion = confusion_matrix(q_codes(*gan, test.images), test.labels.to_vector<int64_t>(), 10);
  report.matching = best_matching(report.confusion);
  report.majority_accuracy = majority_accuracy(report.confusion);

  if (std::unique_ptr<JudgeNet> judge = find_judge(options.judge, report.dataset, options.device)) {
    const Judgement grid_judged = judge_images(*judge, grid);
    report.grid_digits.assign(10, std::vector<int>(10));
    for (int64_t i = 0; i < 100; ++i) report.grid_digits[i / 10][i % 10] = static_cast<int>(grid_judged.digit[i]);
    report.columns = column_score(report.grid_digits);
    Generator g = side_stream(static_cast<uint64_t>(options.seed), SideStream::EvalSamples);
    const Tensor samples = generate_per_code(*gan, options.purity_samples, g);
    const Judgement judged = judge_images(*judge, samples);
    std::vector<int64_t> codes;
    for (int64_t code = 0; code < 10; ++code) codes.insert(codes.end(), options.purity_samples, code);
    report.purity = purity(confusion_matrix(codes, judged.digit, 10));
    report.judged = true;
  }
  write_file_atomic(out + "/eval.json", to_json(report.json()) + "\n");
  return report;
}

void print_report(const InfoGanReport& report) {
  print_divergence(report.divergence);
  std::printf("grid: %s\n", report.grid_path.c_str());
  std::printf("Q-accuracy on the MNIST test set (best one-to-one code->digit matching): %.4f\n",
              report.matching.accuracy);
  std::printf("majority-vote accuracy (codes may share a digit): %.4f\n", report.majority_accuracy);
  std::printf("confusion matrix (rows: Q's code, columns: true digit; code -> matched digit):\n       ");
  for (int d = 0; d < 10; ++d) std::printf("%6d", d);
  std::printf("\n");
  for (int c = 0; c < 10; ++c) {
    std::printf("  c%d->%d", c, report.matching.digit_of_code[c]);
    for (int d = 0; d < 10; ++d) std::printf("%6lld", static_cast<long long>(report.confusion[c][d]));
    std::printf("\n");
  }
  if (report.judged) {
    std::printf("grid digits read by the judge (rows: styles, columns: codes):\n");
    for (const auto& row : report.grid_digits) {
      std::printf("   ");
      for (int d : row) std::printf(" %d", d);
      std::printf("\n");
    }
    std::printf("columns correct: %d/10 (grade %d%%); majority digit per column:", report.columns.correct_columns,
                report.columns.grade_percent);
    for (int d : report.columns.majority) std::printf(" %d", d);
    std::printf("\npurity per code:");
    for (double p : report.purity.per_code) std::printf(" %.3f", p);
    std::printf("\npurity mean %.4f, min %.4f, majority digits all different: %s\n", report.purity.mean,
                report.purity.min, report.purity.distinct_digits ? "yes" : "no");
  } else {
    print_missing_judge(report.dataset);
  }
  std::printf("%s\n", to_json(report.json()).c_str());
}

// ---- sample and traverse ----------------------------------------------------------

void sample_infogan(const std::string& checkpoint, int64_t cont, int64_t per_code, const std::string& prefix,
                    uint64_t seed, Device device) {
  check(per_code >= 1, "--per-code must be >= 1, got ", per_code);
  std::unique_ptr<InfoGan> gan = load_infogan(load_safetensors(checkpoint), cont, device);
  Generator g = side_stream(seed, SideStream::EvalSamples);
  const Tensor images = generate_per_code(*gan, per_code, g);
  // As save_image: value * 255 + 0.5, clamped, truncated.
  const Tensor bytes = clamp(images * 255.0 + 0.5, 0.0, 255.0).to(DType::UInt8).reshape({10 * per_code, 28, 28});
  std::vector<uint8_t> labels;
  for (int64_t code = 0; code < 10; ++code) labels.insert(labels.end(), per_code, static_cast<uint8_t>(code));
  write_idx(prefix + "-images-idx3-ubyte", bytes, IdxType::UInt8);
  write_idx(prefix + "-labels-idx1-ubyte", from_host(labels.data(), {10 * per_code}, DType::UInt8), IdxType::UInt8);
}

std::vector<std::string> traverse_infogan(const std::string& checkpoint, int64_t cont, const std::string& out,
                                          uint64_t seed, Device device) {
  const SafetensorsFile file = load_safetensors(checkpoint);
  std::unique_ptr<InfoGan> gan = load_infogan(file, cont, device);
  const int64_t k_codes = gan->config.cont;
  check(k_codes > 0, checkpoint, ": the model has no continuous codes (train with --cont K, or pass --cont K)");
  const std::string dir = out.empty() ? eval_dir_of(checkpoint) : out;
  make_directories(dir);
  NoGradGuard no_grad;
  // Row r: noise r and categorical code r; column j: value -2 + 4 j / 9.
  Generator g = side_stream(seed, SideStream::Grid);
  const Tensor noise = draw_noise(gan->config.shape(), 10, g)
                           .unsqueeze(1)
                           .expand({10, 10, gan->config.noise})
                           .reshape({100, gan->config.noise});
  const Tensor codes = arange(10).unsqueeze(1).expand({10, 10}).reshape({100});
  std::vector<std::string> paths;
  for (int64_t k = 0; k < k_codes; ++k) {
    std::vector<float> values(static_cast<size_t>(100 * k_codes), 0.0f);
    for (int64_t i = 0; i < 100; ++i) values[static_cast<size_t>(i * k_codes + k)] = -2.0f + 4.0f * (i % 10) / 9.0f;
    const Tensor cont_values = from_host(values.data(), {100, k_codes}, DType::Float32);
    const Tensor images = gan->sampler()(gan->input_for(noise, codes, cont_values));
    paths.push_back(dir + "/traverse_cont" + std::to_string(k) + ".png");
    save_image_grid(paths.back(), images, 10, 2);
  }
  return paths;
}

}  // namespace dl
