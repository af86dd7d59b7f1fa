// test_gan_family.cpp — apps/dcgan, apps/cgan, apps/acgan and apps/wgan (gan_family.h):
// their networks' names and shapes, the scores eval computes (on hand-made
// judge outputs), the config, the EMA generator, and a smoke test per app on
// a tiny MNIST slice: a few iterations, every file written, the checkpoint
// round-trip, a bit-identical resume, eval with a (tiny) judge, and sample.
#include <filesystem>

#include "app_helpers.h"
#include "common/gan_family.h"
#include "common/judge.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;

namespace {

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> names;
  for (const NamedTensor& t : m.state_dict()) names.push_back(t.name);
  return names;
}

bool has_name(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

TEST_CASE("gan family discriminator: the spec's trunk and D head, plus the label plane (cgan) or class head (acgan)") {
  GanDiscriminator dcgan(false, false), cgan(true, false), acgan(false, true);
  // dcgan: exactly the spec's discriminator without the Q head.
  std::vector<std::string> spec = names_of(InfoGanDiscriminator());
  spec.erase(std::remove_if(spec.begin(), spec.end(), [](const std::string& n) { return n.rfind("Q.", 0) == 0; }),
             spec.end());
  CHECK(names_of(dcgan) == spec);
  CHECK(names_of(acgan).size() == spec.size() + 8);
  CHECK(has_name(names_of(acgan), "C.3.bias"));
  CHECK(has_name(names_of(cgan), "label.weight"));
  for (const NamedTensor& t : cgan.state_dict()) {
    if (t.name == "main.0.weight") CHECK(t.tensor.shape() == Shape{64, 2, 4, 4});  // image + label plane
    if (t.name == "label.weight") CHECK(t.tensor.shape() == Shape{784, 10});
  }
  const Tensor images = rand({3, 1, 28, 28});
  const Tensor labels = one_hot(test::int64s({0, 4, 9}), 10).to(DType::Float32);
  CHECK(dcgan.heads(images, Tensor()).real.shape() == Shape{3});
  CHECK_FALSE(dcgan.heads(images, Tensor()).class_logits.defined());
  CHECK(acgan.heads(images, Tensor()).class_logits.shape() == Shape{3, 10});
  CHECK(cgan.heads(images, labels).real.shape() == Shape{3});
  CHECK_THROWS_WITH_AS(cgan.heads(images, Tensor()), doctest::Contains("needs one-hot labels"), Error);
  {
    INFO("cgan's D depends on the label");
    cgan.eval();
    const Tensor other = one_hot(test::int64s({1, 5, 8}), 10).to(DType::Float32);
    CHECK(test::vals(cgan.heads(images, labels).real) != test::vals(cgan.heads(images, other).real));
  }
  {
    INFO("the real/fake head's logit is what its Sigmoid reads");
    dcgan.eval();
    const GanDiscriminator::Heads heads = dcgan.heads(images, Tensor());
    CHECK(test::vals(heads.real) == test::vals(sigmoid(heads.logit)));
  }
}

TEST_CASE("wgan's critic: the spec's trunk with LayerNorm over [C, H, W] for BatchNorm, no Sigmoid, per-sample scores") {
  GanDiscriminator critic(false, false, true);
  auto parameter_names = [](const Module& m) {
    std::vector<std::string> names;
    for (const NamedTensor& t : m.named_parameters()) names.push_back(t.name);
    return names;
  };
  // The same parameters as dcgan's D; LayerNorm has no running statistics...
  CHECK(parameter_names(critic) == parameter_names(GanDiscriminator(false, false)));
  CHECK(names_of(critic) == parameter_names(critic));
  for (const NamedTensor& t : critic.state_dict()) {
    if (t.name == "main.3.weight") CHECK(t.tensor.shape() == Shape{128, 7, 7});
    if (t.name == "main.6.bias") CHECK(t.tensor.shape() == Shape{256, 1, 1});
  }
  CHECK(critic.describe() == "Critic");
  const Tensor images = rand({3, 1, 28, 28});
  const GanDiscriminator::Heads heads = critic.heads(images, Tensor());
  CHECK_FALSE(heads.real.defined());
  CHECK(heads.logit.shape() == Shape{3});
  // ...and no batch coupling: in training mode a sample's score does not
  // depend on the rest of the batch, which the per-sample penalty needs.
  CHECK(heads.logit.narrow(0, 1, 1).item() ==
        doctest::Approx(critic.heads(images.narrow(0, 1, 1), Tensor()).logit.item()).epsilon(1e-5));
}

TEST_CASE("coverage: the confident share and each digit's share of hand-made judge outputs") {
  const Coverage c = coverage({0, 0, 1, 2, 2, 2}, {0.95, 0.5, 0.9, 0.99, 0.2, 0.91}, 0.9, 4);
  CHECK(c.confident_share == doctest::Approx(4.0 / 6));  // 0.9 itself counts
  CHECK(c.digit_share == std::vector<double>{2.0 / 6, 1.0 / 6, 3.0 / 6, 0.0});
  CHECK(c.min_share == 0.0);
  CHECK(c.max_share == doctest::Approx(0.5));
  CHECK_THROWS_WITH_AS(coverage({0, 1}, {0.5}, 0.9, 10), doctest::Contains("one confidence per digit"), Error);
  CHECK_THROWS_WITH_AS(coverage({}, {}, 0.9, 10), doctest::Contains("one confidence per digit"), Error);
  CHECK_THROWS_WITH_AS(coverage({10}, {1.0}, 0.9, 10), doctest::Contains("digit 10 is not in [0, 10)"), Error);
}

TEST_CASE("label_accuracy: per requested label, overall and the worst, on hand-made judge outputs") {
  const LabelAccuracy a = label_accuracy({0, 0, 1, 1, 2, 2, 2, 2}, {0, 1, 1, 1, 2, 0, 2, 2}, 3);
  CHECK(a.per_class == std::vector<double>{0.5, 1.0, 0.75});
  CHECK(a.overall == doctest::Approx(6.0 / 8));
  CHECK(a.min == 0.5);
  CHECK_THROWS_WITH_AS(label_accuracy({0, 0}, {0, 0}, 2), doctest::Contains("no samples of class 1"), Error);
  CHECK_THROWS_AS(label_accuracy({0, 1}, {0}, 2), Error);
}

TEST_CASE("gan family config: variant defaults, JSON round trip, and errors naming the field") {
  CHECK(gan_defaults("dcgan").generator_input() == 64);
  CHECK(gan_defaults("cgan").noise == 54);
  CHECK(gan_defaults("acgan").generator_input() == 64);
  CHECK(gan_defaults("dcgan").lr_g == 2e-3);  // the measured lever (docs/experiments.md)
  CHECK(gan_defaults("cgan").lr_g == 1e-3);   // the spec's
  CHECK(gan_traits("cgan").label_plane);
  CHECK_FALSE(gan_traits("acgan").label_plane);
  CHECK(gan_traits("acgan").class_head);
  CHECK(gan_traits("wgan").critic);
  CHECK_FALSE(gan_traits("dcgan").critic);
  CHECK(gan_defaults("wgan").lr_d == 1e-4);  // the WGAN-GP paper's MNIST setup
  CHECK(gan_defaults("wgan").beta2 == 0.9);
  CHECK(gan_defaults("wgan").critic_steps == 5);
  CHECK_THROWS_WITH_AS(gan_traits("began"), doctest::Contains("variant must be dcgan, cgan, acgan or wgan"), Error);
  GanConfig c = gan_defaults("acgan");
  c.lambda_class = 0.5;
  c.ema = 0;
  c.real_label = 0.9;
  c.train_limit = 600;
  const GanConfig back = GanConfig::from_json(to_json(c.to_json()), "t");
  CHECK(to_json(back.to_json()) == to_json(c.to_json()));
  CHECK(GanConfig::from_json("{\"variant\": \"cgan\"}", "t").noise == 54);
  CHECK_THROWS_WITH_AS(GanConfig::from_json("{\"variant\": \"cgan\", \"lr\": 1}", "f"), "f: unknown config key 'lr'",
                       Error);
  CHECK_THROWS_WITH_AS(GanConfig::from_json("{\"variant\": \"cgan\", \"ema\": 1.5}", "f"),
                       doctest::Contains("ema must be in [0, 1)"), Error);
  CHECK_THROWS_WITH_AS(GanConfig::from_json("{\"batch\": 1}", "f"), doctest::Contains("no string 'variant'"), Error);
  CHECK_THROWS_WITH_AS(GanConfig::from_json("{\"variant\": \"dcgan\", \"lr_decay\": \"step\"}", "f"),
                       doctest::Contains("lr_decay must be none or cosine"), Error);
  CHECK(gan_bar("cgan").accuracy == 0.98);
  CHECK(gan_bar("acgan").class_accuracy == 0.96);
  CHECK(gan_bar("dcgan").confident_share == 0.90);
  CHECK(gan_bar("wgan").confident_share == 0.88);
}

TEST_CASE("gan family --lr-decay: in the JSON only when not none, and both optimizers anneal over the run") {
  GanConfig c = gan_defaults("dcgan");
  CHECK(c.lr_decay == "none");
  CHECK(to_json(c.to_json()).find("lr_decay") == std::string::npos);  // configs from before the flag are unchanged
  c.lr_decay = "cosine";
  c.batch = 4;
  CHECK(GanConfig::from_json(to_json(c.to_json()), "t").lr_decay == "cosine");
  GanModel gan(c, Device::cpu());
  Generator rng(5);
  const Tensor images = rand({4, 1, 28, 28}, DType::Float32, &rng), labels = test::int64s({1, 2, 3, 4});
  gan.train_step(Batch{images, labels}, StepClock{0, 0, 40});
  CHECK(gan.opt_d->groups()[0].lr == c.lr_d);  // annealed by Adam from its update counters
  CHECK(gan.opt_d->groups()[0].cosine_steps == 40);
  CHECK(gan.opt_g->groups()[0].cosine_steps == 40);
  c.lr_decay = "none";
  GanModel constant(c, Device::cpu());
  constant.train_step(Batch{images, labels}, StepClock{0, 0, 40});
  CHECK(constant.opt_g->groups()[0].cosine_steps == 0);
}

TEST_CASE("gan family EMA generator: starts as G, then moves towards it with the ramped-up decay") {
  GanConfig c = gan_defaults("dcgan");
  c.batch = 4;
  GanModel gan(c, Device::cpu());
  REQUIRE(gan.G_ema);
  const std::vector<NamedTensor> g = gan.G->state_dict(), ema = gan.G_ema->state_dict();
  for (size_t i = 0; i < g.size(); ++i) CHECK(test::vals(ema[i].tensor) == test::vals(g[i].tensor));
  const Tensor before = gan.G->named_parameters()[0].tensor.clone();
  Generator rng(5);
  const Batch batch{rand({4, 1, 28, 28}, DType::Float32, &rng), test::int64s({1, 2, 3, 4})};
  const Tensor logged = gan.train_step(batch, StepClock{});
  CHECK(logged.shape() == Shape{4});
  // First update: decay min(0.999, 1 / 10) = 0.1.
  const Tensor after = gan.G->named_parameters()[0].tensor;
  const Tensor expected = before * 0.1 + after * 0.9;
  const Tensor got = gan.G_ema->named_parameters()[0].tensor;
  CHECK(max(abs(got - expected)).item() < 1e-6);
  CHECK(max(abs(got - after)).item() > 1e-6);  // not simply a copy
  CHECK(gan.ema_updates == 1);
  // Buffers are copied.
  CHECK(test::vals(gan.G_ema->named_buffers()[0].tensor) == test::vals(gan.G->named_buffers()[0].tensor));
}

TEST_CASE("gan family measured BatchNorm statistics: the sampler's own, reproducible; weights and mode untouched") {
  for (const double ema : {0.999, 0.0}) {
    CAPTURE(ema);
    GanConfig c = gan_defaults("cgan");
    c.ema = ema;
    GanModel gan(c, Device::cpu()), twin(c, Device::cpu());
    SpecGenerator& sampler = gan.sampler();
    CHECK(&sampler == (ema > 0 ? gan.G_ema.get() : gan.G.get()));
    sampler.eval();
    std::vector<test::Values> before;
    for (const NamedTensor& b : sampler.named_buffers()) before.push_back(test::vals(b.tensor));
    std::vector<test::Values> params;
    for (const NamedTensor& p : sampler.named_parameters()) params.push_back(test::vals(p.tensor));

    gan.measure_batch_norm_stats(2);
    twin.sampler().eval();
    twin.measure_batch_norm_stats(2);
    CHECK_FALSE(sampler.training());
    const std::vector<NamedTensor> buffers = sampler.named_buffers(), twin_buffers = twin.sampler().named_buffers();
    REQUIRE(buffers.size() == before.size());
    for (size_t i = 0; i < buffers.size(); ++i) {
      CAPTURE(buffers[i].name);
      const test::Values now = test::vals(buffers[i].tensor);
      CHECK(now != before[i]);  // every running mean, variance and batch count moved
      CHECK(now == test::vals(twin_buffers[i].tensor));
      if (buffers[i].name.find("num_batches_tracked") != std::string::npos) CHECK(now[0] == before[i][0] + 2);
    }
    const std::vector<NamedTensor> now_params = sampler.named_parameters();
    for (size_t i = 0; i < now_params.size(); ++i) CHECK(test::vals(now_params[i].tensor) == params[i]);
  }
}

namespace {
// gan_app_main on a command line.
int run_app_with(const std::string& variant, std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  return gan_app_main(variant, static_cast<int>(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("gan family command line: usage errors exit 2, failures 1") {
  CHECK(run_app_with("dcgan", {"dcgan", "train", "--lambda-class", "1"}) == 2);  // acgan's only
  CHECK(run_app_with("acgan", {"acgan", "train", "--ema", "1"}) == 2);
  CHECK(run_app_with("acgan", {"acgan", "train", "--real-label", "0"}) == 2);
  CHECK(run_app_with("cgan", {"cgan", "train", "--resume", "--seed", "2"}) == 2);
  CHECK(run_app_with("cgan", {"cgan", "eval", "--samples", "5"}) == 2);
  CHECK(run_app_with("cgan", {"cgan", "traverse"}) == 2);
  CHECK(run_app_with("dcgan", {"dcgan", "eval", "--device", "cpu", "--judge", "/nonexistent/judge.safetensors"}) == 1);
  CHECK(run_app_with("acgan", {"acgan", "sample", "--help"}) == 0);
}

namespace {

using GanRun = test::SmallRun<GanConfig>;

GanRun small_run(const std::string& variant, const test::TempDir& dir, const std::string& name) {
  GanConfig config = gan_defaults(variant);
  config.epochs = 2;
  config.batch = 4;  // 8 images: 2 iterations per epoch
  config.seed = 3;
  config.critic_steps = 2;  // wgan: G steps at iterations 2 and 4
  return test::small_run(config, dir.file("data"), dir.file(name));
}

int train(const GanRun& run) { return train_command<GanModel>(run.config.variant, run.config, run.loop); }

std::string tiny_judge(const test::TempDir& dir) {
  const auto judge = test::tiny_judge_options(dir);
  REQUIRE(test::train_judge(judge) == 0);
  return judge.loop.run_dir + "/latest.safetensors";
}

// The smoke test of one app.
void smoke(const std::string& variant) {
  test::TempDir dir;
  test::write_small_mnist(dir);
  const GanRun full = small_run(variant, dir, "full");
  REQUIRE(train(full) == 0);
  const bool critic = variant == "wgan";
  for (const char* file : {"checkpoints/latest.safetensors", "samples/epoch_001.png", "samples/epoch_002.png",
                           "losses.csv", "losses.svg", "config.json"}) {
    CAPTURE(file);
    CHECK(std::filesystem::exists(full.loop.run_dir + "/" + file));
  }
  CHECK(std::filesystem::exists(full.loop.run_dir + "/class_accuracy.svg") == (variant == "acgan"));
  CHECK(std::filesystem::exists(full.loop.run_dir + "/probs.svg") == !critic);
  CHECK(std::filesystem::exists(full.loop.run_dir + "/wasserstein.svg") == critic);
  CHECK(std::filesystem::exists(full.loop.run_dir + "/scores.svg") == critic);
  std::vector<std::string> columns;
  const auto rows = read_csv_numbers(full.loop.run_dir + "/losses.csv", &columns);
  CHECK(columns == GanModel(full.config, Device::cpu()).log_columns());
  CHECK(columns.size() == (variant == "acgan" ? 9u : critic ? 7u : 6u));
  REQUIRE(rows.size() == 4);
  for (const auto& row : rows) {
    for (double v : row) CHECK(std::isfinite(v));
    // W is the gap of the two mean scores it is logged beside.
    if (critic) CHECK(row[3] == doctest::Approx(row[5] - row[6]).epsilon(1e-5));
  }

  const std::string checkpoint = full.loop.run_dir + "/checkpoints/latest.safetensors";
  const SafetensorsFile file = load_safetensors(checkpoint);
  {
    INFO("names under G., G_ema., D., optim.; the metadata holds the variant, config and position");
    for (const char* name : {"G.main.0.weight", "G.main.1.running_mean", "G_ema.main.12.weight", "D.main.0.weight",
                             "D.D.0.bias", "optim.d.D.main.0.weight.exp_avg", "optim.g.G.main.0.weight.exp_avg_sq"}) {
      CAPTURE(name);
      CHECK(file.find(name) != nullptr);
    }
    CHECK(file.find("G.main.0.weight")->shape() == Shape{64, 512, 1, 1});
    CHECK((file.find("D.label.weight") != nullptr) == (variant == "cgan"));
    CHECK((file.find("D.C.3.weight") != nullptr) == (variant == "acgan"));
    CHECK(file.find("D.Q.3.weight") == nullptr);
    CHECK(file.metadata_value("variant") == variant);
    CHECK(file.metadata_value("iteration") == "4");
    CHECK(file.metadata_value("ema_updates") == (critic ? "2" : "4"));  // wgan: one per G step
    CHECK((file.find("D.main.3.weight")->shape() == Shape{128, 7, 7}) == critic);  // LayerNorm or BatchNorm
    CHECK(GanConfig::from_json(file.metadata_value("config"), "t").seed == 3);
  }
  {
    INFO("restore + save reproduces the file byte for byte");
    GanModel gan(GanConfig::from_json(file.metadata_value("config"), "t"), Device::cpu());
    const TrainPosition pos = gan.restore(file);
    gan.save(dir.file("again.safetensors"), pos);
    CHECK(read_file(dir.file("again.safetensors")) == read_file(checkpoint));
  }
  {
    INFO("stopped mid-epoch and resumed: the same bytes as the uninterrupted run");
    GanRun part = small_run(variant, dir, "part");
    part.loop.max_iterations = 3;
    CHECK(train(part) == 0);
    GanRun rest = small_run(variant, dir, "part");
    rest.loop.resume = true;
    CHECK(train(rest) == 0);
    CHECK(read_file(part.loop.run_dir + "/checkpoints/latest.safetensors") == read_file(checkpoint));
    CHECK(read_file(part.loop.run_dir + "/losses.csv") == read_file(full.loop.run_dir + "/losses.csv"));
  }
  {
    INFO("another variant's checkpoint is refused");
    const std::string other = variant == "dcgan" ? "cgan" : "dcgan";
    const std::string expected = "use apps/" + variant;
    CHECK_THROWS_WITH_AS(load_gan(file, other, Device::cpu()), doctest::Contains(expected.c_str()), Error);
  }
  {
    INFO("eval with a judge: the scores, the grid, eval.json and the bar (not met after 4 iterations)");
    GanEvalOptions options;
    options.variant = variant;
    options.checkpoint = checkpoint;
    options.judge = dir.file("judge/latest.safetensors");
    CHECK_THROWS_WITH_AS(evaluate_gan(options), doctest::Contains(("--judge " + options.judge + ": no such file").c_str()),
                         Error);
    options.judge = tiny_judge(dir);
    options.samples = 30;
    const GanReport report = evaluate_gan(options);
    CHECK(std::filesystem::exists(full.loop.run_dir + "/eval/grid_seed1.png"));
    CHECK(std::filesystem::exists(full.loop.run_dir + "/eval/eval.json"));
    CHECK(report.coverage.digit_share.size() == 10);
    double total = 0;
    for (double s : report.coverage.digit_share) total += s;
    CHECK(total == doctest::Approx(1.0));
    CHECK(report.grid_digits.size() == 10);
    CHECK_FALSE(report.passes);
    const std::string json = to_json(report.json());
    CHECK(json.find("\"passes\":false") != std::string::npos);
    const bool labelled = gan_traits(variant).label_in_g;
    CHECK((json.find("\"accuracy\":") != std::string::npos) == labelled);
    if (labelled) {
      CHECK(report.accuracy.per_class.size() == 10);
      CHECK(report.accuracy.min <= report.accuracy.overall);
      CHECK(report.grid_columns >= 0);
      CHECK(report.grid_columns <= 10);
    }
    CHECK(read_file(full.loop.run_dir + "/eval/eval.json").size() == json.size() + 1);
    CHECK(json.find("\"bn_stats\":\"copied\"") != std::string::npos);
    options.bn_stats = "measured";
    CHECK(to_json(evaluate_gan(options).json()).find("\"bn_stats\":\"measured\"") != std::string::npos);
    options.bn_stats = "fresh";
    CHECK_THROWS_WITH_AS(evaluate_gan(options), doctest::Contains("--bn-stats: expected copied or measured"), Error);
  }
  {
    INFO("sample: the grid PNG and IDX files");
    GanSampleOptions options;
    options.variant = variant;
    options.checkpoint = checkpoint;
    options.png = dir.file("out/grid.png");
    options.idx_prefix = dir.file("samples");
    options.samples = 12;
    CHECK(sample_gan(options) == options.png);
    CHECK(std::filesystem::exists(options.png));
    CHECK(read_idx(dir.file("samples-images-idx3-ubyte")).shape() == Shape{12, 28, 28});
    CHECK(read_idx(dir.file("samples-labels-idx1-ubyte")).to(DType::Int64).to_vector<int64_t>()[11] == 1);
  }
}

}  // namespace

TEST_CASE("dcgan train: the run directory's guarantees (no overwrite, a rejected log kept, latest, samples/)") {
  test::TempDir dir;
  test::write_small_mnist(dir);
  test::check_run_directory_guarantees(
      dir, [&](const test::TrainCall& call) { return train(test::as_called(small_run("dcgan", dir, ""), call)); });
}

TEST_CASE("dcgan app: train, files, checkpoint round-trip, resume, eval, sample") { smoke("dcgan"); }
TEST_CASE("cgan app: train, files, checkpoint round-trip, resume, eval, sample") { smoke("cgan"); }
TEST_CASE("acgan app: train, files, checkpoint round-trip, resume, eval, sample") { smoke("acgan"); }
TEST_CASE("wgan app: train, files, checkpoint round-trip, resume, eval, sample") { smoke("wgan"); }
