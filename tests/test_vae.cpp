// test_vae.cpp — apps/vae (vae.h) and the --dataset plumbing (dataset.h):
// the loss terms and the PCA against hand-computed values, the config, the
// data directory and judge of each data set, the flag's errors, a smoke test
// of the app on a tiny MNIST slice (files, checkpoint round trip,
// bit-identical resume, eval with a tiny judge), and a run on a synthetic
// Fashion-MNIST directory found through $FASHION_MNIST_DIR.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "app_helpers.h"
#include "common/dataset.h"
#include "common/gan_family.h"
#include "common/infogan.h"
#include "common/judge.h"
#include "common/vae.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;

namespace {

int run_vae_with(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  return vae_app_main(static_cast<int>(argv.size()), argv.data());
}

int run_gan_with(const std::string& variant, std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  return gan_app_main(variant, static_cast<int>(argv.size()), argv.data());
}

// Sets an environment variable for a scope, then restores it.
struct EnvVar {
  std::string name, saved;
  bool had;
  EnvVar(std::string name_, const char* value) : name(std::move(name_)) {
    const char* old = std::getenv(name.c_str());
    had = old != nullptr;
    if (had) saved = old;
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
  }
  ~EnvVar() {
    if (had) ::setenv(name.c_str(), saved.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("vae loss: the closed-form KL, BCE and MSE per image, and the reparameterisation, by hand") {
  const Tensor mean = test::f64({0, 0, 1, -1}, {2, 2});
  const Tensor log_var = test::f64({0, 0, std::log(2.0), 0}, {2, 2});
  // Row 0 is the prior: KL 0. Row 1: 0.5 (1 + 2 - 1 - ln 2) + 0.5 (1 + 1 - 1 - 0).
  CHECK(vae_kl(mean, log_var).item() == doctest::Approx(0.5 * (0.5 * (3 - std::log(2.0)))).epsilon(1e-12));
  CHECK(vae_kl(test::f64({0, 0}, {1, 2}), test::f64({0, 0}, {1, 2})).item() == 0.0);
  CHECK_THROWS_WITH_AS(vae_kl(mean, test::f64({0, 0}, {1, 2})), doctest::Contains("vae_kl"), Error);

  const Tensor output = test::f64({0.5, 0.5, 0.9, 0.2}, {2, 1, 2});
  const Tensor target = test::f64({1, 0, 1, 0}, {2, 1, 2});
  // Summed over an image's pixels, averaged over the images.
  const double bce = (2 * std::log(2.0) - std::log(0.9) - std::log(0.8)) / 2;
  CHECK(vae_reconstruction(output, target, "bce").item() == doctest::Approx(bce).epsilon(1e-12));
  CHECK(vae_reconstruction(output, target, "mse").item() == doctest::Approx((0.5 + 0.05) / 2).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(vae_reconstruction(output, target, "l1"), doctest::Contains("bce or mse"), Error);

  const Tensor eps = test::f64({1, -1, 2, 0.5}, {2, 2});
  test::check_values(reparameterize(mean, log_var, eps), {2, 2}, {1, -1, 1 + std::sqrt(2.0) * 2, -1 + 0.5}, 1e-12);

  INFO("the gradients of the composed loss (float64 gradcheck)");
  test::check_gradcheck([](const TensorList& in) { return vae_kl(in[0], in[1]); },
                        {test::randn_leaf({3, 4}, 1), test::randn_leaf({3, 4}, 2)}, "kl");
  const Tensor p = test::leaf(sigmoid(test::randn64({3, 5}, 3)));
  const Tensor t = rand({3, 5}, DType::Float64);
  test::check_gradcheck([&](const TensorList& in) { return vae_reconstruction(in[0], t, "bce"); }, {p}, "bce");
  test::check_gradcheck([&](const TensorList& in) { return vae_reconstruction(in[0], t, "mse"); }, {p}, "mse");
  test::check_gradcheck([](const TensorList& in) { return sum(reparameterize(in[0], in[1], in[2])); },
                        {test::randn_leaf({2, 3}, 4), test::randn_leaf({2, 3}, 5), test::randn_leaf({2, 3}, 6)},
                        "reparameterize");
}

TEST_CASE("vae pca: symmetric_eigen and pca_2d on hand-made points") {
  const Eigen e = symmetric_eigen({2, 1, 1, 2}, 2);
  REQUIRE(e.values.size() == 2);
  CHECK(e.values[0] == doctest::Approx(3));
  CHECK(e.values[1] == doctest::Approx(1));
  const double h = std::sqrt(0.5);
  CHECK(e.vectors[0][0] == doctest::Approx(h));
  CHECK(e.vectors[0][1] == doctest::Approx(h));
  CHECK(e.vectors[1][0] == doctest::Approx(h));  // the largest entry made positive (the first on a tie)
  CHECK(e.vectors[1][1] == doctest::Approx(-h));

  // Points t (1, 2, 0) + s (0, 0, 1) + (10, 20, 30), with t and s uncorrelated:
  // the first component is (1, 2, 0) / sqrt(5) (coordinate sqrt(5) t), the
  // second (0, 0, 1) (coordinate s); variances 12.5 and 0.25.
  const std::vector<double> t = {-2, -1, 1, 2}, s = {0.5, -0.5, -0.5, 0.5};
  std::vector<double> points;
  for (size_t i = 0; i < t.size(); ++i) points.insert(points.end(), {10 + t[i], 20 + 2 * t[i], 30 + s[i]});
  const Pca2 pca = pca_2d(points, 4, 3);
  REQUIRE(pca.components.size() == 2);
  CHECK(pca.components[0][0] == doctest::Approx(1 / std::sqrt(5.0)));
  CHECK(pca.components[0][1] == doctest::Approx(2 / std::sqrt(5.0)));
  CHECK(pca.components[0][2] == doctest::Approx(0).epsilon(1e-9));
  CHECK(std::fabs(pca.components[1][2]) == doctest::Approx(1));
  const double sign = pca.components[1][2];
  for (size_t i = 0; i < t.size(); ++i) {
    CHECK(pca.x[i] == doctest::Approx(std::sqrt(5.0) * t[i]));
    CHECK(pca.y[i] == doctest::Approx(sign * s[i]));
  }
  CHECK(pca.explained[0] == doctest::Approx(12.5 / 12.75));
  CHECK(pca.explained[1] == doctest::Approx(0.25 / 12.75));

  INFO("one dimension: y is 0; a wrong size is an error");
  const Pca2 line = pca_2d({1, 2, 3}, 3, 1);
  CHECK(line.x == std::vector<double>{-1, 0, 1});
  CHECK(line.y == std::vector<double>{0, 0, 0});
  CHECK_THROWS_WITH_AS(pca_2d({1, 2, 3}, 2, 2), doctest::Contains("pca_2d"), Error);
}

TEST_CASE("vae config: JSON round trip and errors naming the field") {
  VaeConfig c;
  CHECK(c.latent == 16);
  CHECK(c.epochs == 20);
  CHECK(c.recon == "bce");
  c.latent = 8;
  c.beta = 0.5;
  c.recon = "mse";
  c.dataset = "fashion";
  const VaeConfig back = VaeConfig::from_json(to_json(c.to_json()), "t");
  CHECK(back.latent == 8);
  CHECK(back.beta == 0.5);
  CHECK(back.recon == "mse");
  CHECK(back.dataset == "fashion");
  CHECK_THROWS_WITH_AS(VaeConfig::from_json("{\"latent\": 0}", "t"), doctest::Contains("latent must be"), Error);
  CHECK_THROWS_WITH_AS(VaeConfig::from_json("{\"recon\": \"l1\"}", "t"), doctest::Contains("recon must be"), Error);
  CHECK_THROWS_WITH_AS(VaeConfig::from_json("{\"dataset\": \"kmnist\"}", "t"), doctest::Contains("dataset must be"),
                       Error);
  CHECK_THROWS_WITH_AS(VaeConfig::from_json("{\"noise\": 3}", "t"), doctest::Contains("unknown config key"), Error);
  CHECK_THROWS_WITH_AS(VaeConfig::from_json("{\"lr_decay\": \"step\"}", "t"), doctest::Contains("lr_decay must be"),
                       Error);
}

TEST_CASE("vae learning rate: --lr-decay in the config, and set by each step") {
  VaeConfig c;
  c.lr = 0.002;
  CHECK(c.lr_decay == "cosine");
  CHECK(VaeConfig::from_json("{}", "t").lr_decay == "none");  // a config from before the flag
  c.lr_decay = "none";
  CHECK(VaeConfig::from_json(to_json(c.to_json()), "t").lr_decay == "none");
  c.lr_decay = "cosine";
  CHECK(VaeConfig::from_json(to_json(c.to_json()), "t").lr_decay == "cosine");
  c.latent = 3;
  VaeModel vae(c, Device::cpu());
  const Tensor images = rand({2, 1, 28, 28});
  vae.train_step(Batch{images, Tensor()}, StepClock{0, 0, 40});
  CHECK(vae.opt->groups()[0].lr == 0.002);  // annealed by Adam from its update counter, over the 40 iterations
  CHECK(vae.opt->groups()[0].cosine_steps == 40);
  c.lr_decay = "none";
  VaeModel constant(c, Device::cpu());
  constant.train_step(Batch{images, Tensor()}, StepClock{0, 0, 40});
  CHECK(constant.opt->groups()[0].cosine_steps == 0);
}

TEST_CASE("dataset: data directories, judge paths and class names of mnist and fashion") {
  const EnvVar mnist("MNIST_DIR", nullptr), fashion("FASHION_MNIST_DIR", nullptr);
  CHECK(resolve_data_dir("mnist", "") == "data/mnist");
  CHECK(resolve_data_dir("fashion", "") == "data/fashion-mnist");
  CHECK(resolve_data_dir("fashion", "flag/dir") == "flag/dir");
  CHECK(resolve_data_dir("mnist", "flag/dir") == "flag/dir");
  {
    const EnvVar set("FASHION_MNIST_DIR", "/somewhere/fashion"), other("MNIST_DIR", "/somewhere/mnist");
    CHECK(resolve_data_dir("fashion", "") == "/somewhere/fashion");
    CHECK(resolve_data_dir("mnist", "") == "/somewhere/mnist");
    CHECK(resolve_data_dir("fashion", "flag/dir") == "flag/dir");
  }
  {
    const EnvVar empty("FASHION_MNIST_DIR", "");
    CHECK(resolve_data_dir("fashion", "") == "data/fashion-mnist");
  }
  CHECK(default_judge_path("mnist") == kDefaultJudgePath);
  CHECK(default_judge_path("fashion") == "runs/fashion_classifier/latest.safetensors");
  CHECK(default_judge_dir("fashion") == "runs/fashion_classifier");
  CHECK(dataset_class_names("fashion")[9] == "Ankle boot");
  CHECK(dataset_class_names("mnist")[3] == "3");
  CHECK_THROWS_WITH_AS(resolve_data_dir("kmnist", ""), doctest::Contains("mnist or fashion"), Error);
}

TEST_CASE("dataset flag: a bad value or a change on resume exits 2 in every app") {
  CHECK(run_vae_with({"vae", "train", "--dataset", "kmnist"}) == 2);
  CHECK(run_vae_with({"vae", "train", "--dataset"}) == 2);
  CHECK(run_vae_with({"vae", "train", "--resume", "--dataset", "fashion"}) == 2);
  CHECK(run_vae_with({"vae", "train", "--latent", "0"}) == 2);
  CHECK(run_vae_with({"vae", "train", "--recon", "l1"}) == 2);
  CHECK(run_vae_with({"vae", "eval", "--samples", "0"}) == 2);
  CHECK(run_vae_with({"vae", "sample"}) == 2);
  CHECK(run_vae_with({"vae", "train", "--help"}) == 0);
  CHECK(run_vae_with({"vae", "eval", "--device", "cpu", "--checkpoint", "/nonexistent/x.safetensors"}) == 1);
  for (const char* variant : {"dcgan", "cgan", "acgan"}) {
    CAPTURE(variant);
    CHECK(run_gan_with(variant, {variant, "train", "--dataset", "Fashion"}) == 2);
    CHECK(run_gan_with(variant, {variant, "train", "--resume", "--dataset", "fashion"}) == 2);
  }
}

TEST_CASE("dataset in configs: stored for fashion, absent for mnist (MNIST checkpoints unchanged)") {
  GanConfig gan = gan_defaults("dcgan");
  CHECK(to_json(gan.to_json()).find("dataset") == std::string::npos);
  gan.dataset = "fashion";
  CHECK(GanConfig::from_json(to_json(gan.to_json()), "t").dataset == "fashion");
  gan.dataset = "kmnist";
  CHECK_THROWS_WITH_AS(gan.validate(), doctest::Contains("dataset must be"), Error);
  InfoGanConfig info;
  CHECK(to_json(info.to_json()).find("dataset") == std::string::npos);
  info.dataset = "fashion";
  CHECK(InfoGanConfig::from_json(to_json(info.to_json()), "t").dataset == "fashion");
}

namespace {

using VaeRun = test::SmallRun<VaeConfig>;

VaeRun small_vae(const test::TempDir& dir, const std::string& name) {
  VaeConfig config;
  config.epochs = 2;
  config.batch = 4;  // 8 images: 2 iterations per epoch
  config.latent = 3;
  config.seed = 3;
  return test::small_run(config, dir.file("data"), dir.file(name));
}

int train(const VaeRun& run) { return train_command<VaeModel>("vae", run.config, run.loop); }

}  // namespace

TEST_CASE("vae train: the run directory's guarantees (no overwrite, a rejected log kept, latest, samples/)") {
  test::TempDir dir;
  test::write_small_mnist(dir);
  test::check_run_directory_guarantees(
      dir, [&](const test::TrainCall& call) { return train(test::as_called(small_vae(dir, ""), call)); });
}

TEST_CASE("vae app: train, files, checkpoint round trip, resume, eval with a tiny judge") {
  test::TempDir dir;
  test::write_small_mnist(dir);
  const VaeRun full = small_vae(dir, "full");
  REQUIRE(train(full) == 0);
  for (const char* file : {"checkpoints/latest.safetensors", "samples/epoch_001.png", "samples/epoch_002.png",
                           "losses.csv", "losses.svg", "mse.svg", "config.json"}) {
    CAPTURE(file);
    CHECK(std::filesystem::exists(full.loop.run_dir + "/" + file));
  }
  std::vector<std::string> columns;
  const auto rows = read_csv_numbers(full.loop.run_dir + "/losses.csv", &columns);
  CHECK(columns == VaeModel(full.config, Device::cpu()).log_columns());
  REQUIRE(rows.size() == 4);
  for (const auto& row : rows) {
    for (double v : row) CHECK(std::isfinite(v));
    CHECK(row[2] == doctest::Approx(row[3] + full.config.beta * row[4]).epsilon(1e-5));  // loss = recon + beta kl
    CHECK(row[4] >= 0);
  }

  const std::string checkpoint = full.loop.run_dir + "/checkpoints/latest.safetensors";
  const SafetensorsFile file = load_safetensors(checkpoint);
  {
    INFO("E. is the spec's trunk plus the two heads, G. the spec's generator with the latent as input");
    for (const char* name : {"E.main.0.weight", "E.main.3.running_mean", "E.mu.weight", "E.logvar.bias",
                             "G.main.0.weight", "optim.E.mu.weight.exp_avg"}) {
      CAPTURE(name);
      CHECK(file.find(name) != nullptr);
    }
    CHECK(file.find("E.mu.weight")->shape() == Shape{3, 256});
    CHECK(file.find("G.main.0.weight")->shape() == Shape{3, 512, 1, 1});
    CHECK(file.metadata_value("format") == "vae-1");
    CHECK(file.metadata_value("iteration") == "4");
    CHECK(VaeConfig::from_json(file.metadata_value("config"), "t").latent == 3);
  }
  {
    INFO("restore + save reproduces the file byte for byte");
    VaeModel vae(VaeConfig::from_json(file.metadata_value("config"), "t"), Device::cpu());
    const TrainPosition pos = vae.restore(file);
    vae.save(dir.file("again.safetensors"), pos);
    CHECK(read_file(dir.file("again.safetensors")) == read_file(checkpoint));
  }
  {
    INFO("stopped mid-epoch and resumed: the same bytes as the uninterrupted run");
    VaeRun part = small_vae(dir, "part");
    part.loop.max_iterations = 3;
    CHECK(train(part) == 0);
    VaeRun rest = small_vae(dir, "part");
    rest.loop.resume = true;
    CHECK(train(rest) == 0);
    CHECK(read_file(part.loop.run_dir + "/checkpoints/latest.safetensors") == read_file(checkpoint));
    CHECK(read_file(part.loop.run_dir + "/losses.csv") == read_file(full.loop.run_dir + "/losses.csv"));
  }
  {
    INFO("another app's checkpoint is refused");
    GanModel gan(gan_defaults("dcgan"), Device::cpu());
    gan.save(dir.file("gan.safetensors"), {});
    CHECK_THROWS_WITH_AS(load_vae(load_safetensors(dir.file("gan.safetensors")), Device::cpu()),
                         doctest::Contains("format 'gan-family-1', expected 'vae-1'"), Error);
  }
  VaeEvalOptions options;
  options.checkpoint = checkpoint;
  options.data_dir = dir.file("data");
  options.samples = 30;
  {
    INFO("eval without a judge: the errors, the images and the map; the scores are null");
    options.judge = dir.file("no-judge.safetensors");
    CHECK_THROWS_WITH_AS(evaluate_vae(options), doctest::Contains("no-judge.safetensors: no such file"), Error);
    options.judge = "";
    const test::InDirectory no_default_judge(dir.path.string());
    const VaeReport report = evaluate_vae(options);
    CHECK(report.test_images == 20);
    CHECK(report.mse > 0);
    CHECK(report.mse < 1);
    CHECK(report.bce > report.mse);
    CHECK(report.kl >= 0);
    CHECK_FALSE(report.judged);
    CHECK(report.explained.size() == 2);
    CHECK(report.explained[0] >= report.explained[1]);
    for (const char* name : {"reconstructions.png", "samples_seed1.png", "latent_pca.svg", "eval.json"}) {
      CAPTURE(name);
      CHECK(std::filesystem::exists(full.loop.run_dir + "/eval/" + name));
    }
    const std::string json = to_json(report.json());
    CHECK(json.find("\"confident_share\":null") != std::string::npos);
    CHECK(json.find("\"passes\":null") != std::string::npos);
    const std::vector<uint8_t> svg = read_file(full.loop.run_dir + "/eval/latent_pca.svg");
    CHECK(test::count(std::string(svg.begin(), svg.end()), "<circle") >= 20);
  }
  {
    INFO("eval with a judge: the confident share and the bar (not met after 4 iterations)");
    REQUIRE(test::train_judge(test::tiny_judge_options(dir)) == 0);
    options.judge = dir.file("judge/latest.safetensors");
    options.out = dir.file("eval2");
    options.test_limit = 12;
    const VaeReport report = evaluate_vae(options);
    CHECK(report.test_images == 12);
    CHECK(report.judged);
    CHECK(report.samples == 30);
    CHECK(report.coverage.digit_share.size() == 10);
    CHECK(report.bar_applies);
    CHECK_FALSE(report.passes);
    CHECK(to_json(report.json()).find("\"passes\":false") != std::string::npos);
    CHECK(std::filesystem::exists(dir.file("eval2/eval.json")));
  }
}

TEST_CASE("fashion dataset: --dataset fashion trains on $FASHION_MNIST_DIR and eval uses its data and judge") {
  test::TempDir dir;
  // A synthetic Fashion-MNIST directory (the same IDX names, gzip or not).
  std::filesystem::create_directories(dir.file("fashion"));
  Generator g(11);
  for (const bool train : {true, false}) {
    const int64_t n = train ? 8 : 6;
    const std::string prefix = dir.file(std::string("fashion/") + (train ? "train" : "t10k"));
    write_idx(prefix + "-images-idx3-ubyte", (rand({n, 28, 28}, DType::Float32, &g) * 255.0).to(DType::UInt8),
              IdxType::UInt8);
    write_idx(prefix + "-labels-idx1-ubyte", (rand({n}, DType::Float32, &g) * 10.0).to(DType::UInt8),
              IdxType::UInt8);
  }
  const EnvVar env("FASHION_MNIST_DIR", dir.file("fashion").c_str());
  const std::string run = dir.file("run");
  CHECK(run_vae_with({"vae", "train", "--dataset", "fashion", "--device", "cpu", "--epochs", "1", "--batch", "4",
                      "--latent", "2", "--run", run, "--log-every", "1000"}) == 0);
  const std::vector<uint8_t> config = read_file(run + "/config.json");
  CHECK(std::string(config.begin(), config.end()).find("\"dataset\":\"fashion\"") != std::string::npos);
  VaeEvalOptions options;
  options.checkpoint = run + "/checkpoints/latest.safetensors";
  options.samples = 10;
  const VaeReport report = evaluate_vae(options);  // data from the env; the judge would be runs/fashion_classifier
  CHECK(report.dataset == "fashion");
  CHECK(report.test_images == 6);
  CHECK_FALSE(report.bar_applies);
  const std::vector<uint8_t> svg = read_file(run + "/eval/latent_pca.svg");
  CHECK(std::string(svg.begin(), svg.end()).find("Ankle boot") != std::string::npos);
  CHECK(std::string(svg.begin(), svg.end()).find("Fashion-MNIST") != std::string::npos);
  {
    INFO("the GAN family reads the same directory");
    std::error_code error;
    GanConfig gan = gan_defaults("dcgan");
    gan.dataset = "fashion";
    gan.epochs = 1;
    gan.batch = 4;
    TrainLoopFlags loop = test::small_run(gan, "", dir.file("gan")).loop;  // data from the env
    CHECK(train_command<GanModel>("dcgan", gan, loop) == 0);
    GanEvalOptions eval;
    eval.variant = "dcgan";
    eval.checkpoint = dir.file("gan/checkpoints/latest.safetensors");
    eval.samples = 10;
    if (!std::filesystem::exists(default_judge_path("fashion"), error)) {  // the default judge, not MNIST's
      const GanReport report = evaluate_gan(eval);
      CHECK(report.dataset == "fashion");
      CHECK_FALSE(report.judged);
      CHECK(to_json(report.json()).find("\"passes\":null") != std::string::npos);
    }
  }
}

TEST_CASE("fashion dataset: the real files from make data-fashion, when present") {
  const std::string dir = resolve_data_dir("fashion", "");
  std::error_code error;
  if (!std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte.gz", error) &&
      !std::filesystem::exists(dir + "/t10k-labels-idx1-ubyte", error)) {
    MESSAGE("skipped: no Fashion-MNIST in " << dir << " (make data-fashion)");
    return;
  }
  const MnistSplit test = load_mnist(dir, false);
  CHECK(test.images.shape() == Shape{10000, 28, 28});
  const std::vector<int64_t> labels = test.labels.to_vector<int64_t>();
  // Fashion-MNIST's test set has 1,000 images of each class; its first is an ankle boot.
  CHECK(labels[0] == 9);
  CHECK(std::count(labels.begin(), labels.end(), 0) == 1000);
}
