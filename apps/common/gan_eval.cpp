// gan_eval.cpp — the eval and sample commands of the GAN family (see
// gan_family.h): the pass/fail bars, the judged report, and the grids and
// IDX samples drawn from a checkpoint's sampler.
#include "common/gan_family.h"

#include <cstdio>
#include <filesystem>

#include "common/dataset.h"
#include "common/image_grid.h"
#include "common/judge.h"
#include "common/run_directory.h"
#include "data/file.h"
#include "data/idx.h"
#include "ops/ops.h"

namespace dl {

namespace {
constexpr int64_t kClasses = GanDiscriminator::kClasses;
}  // namespace

GanBar gan_bar(const std::string& variant) {
  GanBar bar;
  if (variant == "dcgan" || variant == "wgan") {
    // wgan's bar is that of the issue that added it, 0.88: the DCGAN bar
    // was set for a D with BatchNorm and three times the G updates.
    bar.confident_share = variant == "dcgan" ? 0.90 : 0.88;
    bar.min_share = 0.05;
    bar.max_share = 0.15;
  } else if (variant == "cgan") {
    bar.accuracy = 0.98;
    bar.class_accuracy = 0.95;
    bar.grid_columns = true;
  } else {
    check(variant == "acgan", "gan_bar: unknown variant '", variant, "'");
    bar.accuracy = 0.985;
    bar.class_accuracy = 0.96;
  }
  return bar;
}

namespace {

// n samples from the eval stream of `seed`; sample i has label i % 10.
struct Samples {
  Tensor images;
  std::vector<int64_t> labels;
};
Samples draw_samples(GanModel& gan, int64_t n, uint64_t seed) {
  Generator g = side_stream(seed, SideStream::EvalSamples);
  Samples s;
  for (int64_t i = 0; i < n; ++i) s.labels.push_back(i % kClasses);
  const Tensor noise = randn({n, gan.config.noise}, DType::Float32, &g);
  s.images = gan.generate(noise, from_host(s.labels.data(), {n}, DType::Int64));
  return s;
}

}  // namespace

JsonValue GanReport::json() const {
  JsonValue::Object members = {{"variant", JsonValue::string(variant)},
                               {"bn_stats", JsonValue::string(bn_stats)},
                               {"samples", JsonValue::integer(samples)}};
  if (!judged) {
    // What needs the judge is null, as in the other apps' reports.
    for (const char* key : {"confident_share", "digit_share", "min_share", "max_share", "passes"}) {
      members.push_back({key, JsonValue::null()});
    }
    add_divergence(members, divergence);
    return JsonValue::object(std::move(members));
  }
  members.insert(members.end(), {
                               {"confident_share", JsonValue::number(coverage.confident_share)},
                               {"digit_share", JsonValue::numbers(coverage.digit_share)},
                               {"min_share", JsonValue::number(coverage.min_share)},
                               {"max_share", JsonValue::number(coverage.max_share)}});
  if (gan_traits(variant).label_in_g) {
    members.push_back({"accuracy", JsonValue::number(accuracy.overall)});
    members.push_back({"min_class_accuracy", JsonValue::number(accuracy.min)});
    members.push_back({"class_accuracy", JsonValue::numbers(accuracy.per_class)});
    members.push_back({"grid_columns", JsonValue::integer(grid_columns)});
  }
  members.push_back({"passes", JsonValue::boolean(passes)});
  add_divergence(members, divergence);
  return JsonValue::object(std::move(members));
}

std::vector<std::string> bn_stats_choices() { return {"copied", "measured"}; }

namespace {

// load_gan, then the sampler's BatchNorm statistics as `bn_stats` says.
std::unique_ptr<GanModel> load_sampler(const SafetensorsFile& checkpoint, const std::string& variant, Device device,
                                       const std::string& bn_stats) {
  check(bn_stats == "copied" || bn_stats == "measured", "--bn-stats: expected copied or measured, got ", bn_stats);
  std::unique_ptr<GanModel> gan = load_gan(checkpoint, variant, device);
  if (bn_stats == "measured") gan->measure_batch_norm_stats();
  return gan;
}

}  // namespace

GanReport evaluate_gan(const GanEvalOptions& options) {
  check(options.samples >= kClasses, "--samples must be >= ", kClasses, ", got ", options.samples);
  const SafetensorsFile file = load_safetensors(options.checkpoint);
  std::unique_ptr<GanModel> gan = load_sampler(file, options.variant, options.device, options.bn_stats);
  const std::unique_ptr<JudgeNet> judge = find_judge(options.judge, gan->config.dataset, options.device);
  const std::string out = options.out.empty() ? eval_dir_of(options.checkpoint) : options.out;
  make_directories(out);

  GanReport report;
  report.divergence = read_position(file).divergence;
  report.variant = options.variant;
  report.dataset = gan->config.dataset;
  report.bn_stats = options.bn_stats;
  report.bar = gan_bar(options.variant);
  const Tensor grid = gan->grid(static_cast<uint64_t>(options.seed));
  report.grid_path = out + "/grid_seed" + std::to_string(options.seed) + ".png";
  save_image_grid(report.grid_path, grid, 10, 2);
  if (judge) {
    report.judged = true;
    report.samples = options.samples;
    const Judgement grid_judged = judge_images(*judge, grid);
    report.grid_digits.assign(10, std::vector<int>(10));
    for (size_t i = 0; i < 100; ++i) report.grid_digits[i / 10][i % 10] = static_cast<int>(grid_judged.digit[i]);

    const Samples samples = draw_samples(*gan, options.samples, static_cast<uint64_t>(options.seed));
    const Judgement judged = judge_images(*judge, samples.images);
    const GanBar& bar = report.bar;
    report.coverage = coverage(judged.digit, judged.confidence, bar.confidence, kClasses);
    if (gan->traits.label_in_g) {
      report.accuracy = label_accuracy(samples.labels, judged.digit, kClasses);
      std::vector<int64_t> columns;
      for (int64_t i = 0; i < 100; ++i) columns.push_back(i % 10);
      report.grid_accuracy = label_accuracy(columns, grid_judged.digit, kClasses);
      for (double a : report.grid_accuracy.per_class) report.grid_columns += a >= 0.7;
      report.passes = report.accuracy.overall >= bar.accuracy && report.accuracy.min >= bar.class_accuracy &&
                      (!bar.grid_columns || report.grid_columns == 10);
    } else {
      report.passes = report.coverage.confident_share >= bar.confident_share &&
                      report.coverage.min_share >= bar.min_share && report.coverage.max_share <= bar.max_share;
    }
  }
  write_file_atomic(out + "/eval.json", to_json(report.json()) + "\n");
  return report;
}

void print_gan_report(const GanReport& report) {
  print_divergence(report.divergence);
  const GanBar& bar = report.bar;
  const bool labelled = gan_traits(report.variant).label_in_g;
  std::printf("grid: %s\n", report.grid_path.c_str());
  if (!report.judged) {
    print_missing_judge(report.dataset);
    std::printf("%s\n", to_json(report.json()).c_str());
    return;
  }
  std::printf("grid digits read by the judge (%s):\n",
              labelled ? "rows: styles, columns: labels 0-9" : "100 samples");
  for (const auto& row : report.grid_digits) {
    std::printf("   ");
    for (int d : row) std::printf(" %d", d);
    std::printf("\n");
  }
  std::printf("%lld samples: confident share (judge confidence >= %.2f) %.4f\n",
              static_cast<long long>(report.samples), bar.confidence, report.coverage.confident_share);
  std::printf("share of each digit:");
  for (double s : report.coverage.digit_share) std::printf(" %.3f", s);
  std::printf("  (min %.3f, max %.3f)\n", report.coverage.min_share, report.coverage.max_share);
  if (labelled) {
    std::printf("judge accuracy per requested label:");
    for (double a : report.accuracy.per_class) std::printf(" %.4f", a);
    std::printf("\njudge accuracy %.4f, worst label %.4f; grid columns showing their label (>= 7/10): %d/10\n",
                report.accuracy.overall, report.accuracy.min, report.grid_columns);
    std::printf("bar: accuracy >= %.3f and every label >= %.3f%s: %s\n", bar.accuracy, bar.class_accuracy,
                bar.grid_columns ? " and 10/10 grid columns" : "", report.passes ? "met" : "not met");
  } else {
    std::printf("bar: confident share >= %.2f and every digit between %.0f%% and %.0f%%: %s\n", bar.confident_share,
                100 * bar.min_share, 100 * bar.max_share, report.passes ? "met" : "not met");
  }
  std::printf("%s\n", to_json(report.json()).c_str());
}

std::string sample_gan(const GanSampleOptions& options) {
  std::unique_ptr<GanModel> gan =
      load_sampler(load_safetensors(options.checkpoint), options.variant, options.device, options.bn_stats);
  const std::string png = options.png.empty() ? eval_dir_of(options.checkpoint) + "/sample_seed" +
                                                    std::to_string(options.seed) + ".png"
                                              : options.png;
  const std::filesystem::path parent = std::filesystem::path(png).parent_path();
  if (!parent.empty()) make_directories(parent.string());
  save_image_grid(png, gan->grid(static_cast<uint64_t>(options.seed)), 10, 2);
  if (options.idx_prefix.empty()) return png;
  check(options.samples >= 1, "--samples must be >= 1, got ", options.samples);
  const Samples samples = draw_samples(*gan, options.samples, static_cast<uint64_t>(options.seed));
  // As save_image: value * 255 + 0.5, clamped, truncated.
  const Tensor bytes =
      clamp(samples.images * 255.0 + 0.5, 0.0, 255.0).to(DType::UInt8).reshape({options.samples, 28, 28});
  const Tensor labels = from_host(samples.labels.data(), {options.samples}, DType::Int64).to(DType::UInt8);
  write_idx(options.idx_prefix + "-images-idx3-ubyte", bytes, IdxType::UInt8);
  write_idx(options.idx_prefix + "-labels-idx1-ubyte", labels, IdxType::UInt8);
  return png;
}

}  // namespace dl
