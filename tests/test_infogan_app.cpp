// test_infogan_app.cpp — smoke tests of apps/infogan's pipeline (and the
// judge's) on a tiny MNIST-shaped data set: a slice of real MNIST when it is
// in data/mnist, random digits otherwise. A few iterations each: the point
// is that every file is written, checkpoints round-trip, a resumed run is
// bit-identical to an uninterrupted one, and a NaN stops training without
// touching the last checkpoint.
#include <filesystem>

#include "common/cli.h"
#include "common/infogan.h"
#include "common/judge.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "app_helpers.h"
#include "helpers.h"

using namespace dl;
using test::write_small_mnist;

namespace {

using InfoGanRun = test::SmallRun<InfoGanConfig>;

InfoGanRun small_run(const test::TempDir& dir, const std::string& name) {
  InfoGanConfig config;
  config.epochs = 2;
  config.batch = 4;  // 2 iterations per epoch
  config.seed = 3;
  return test::small_run(config, dir.file("data"), dir.file(name));
}

int train(const InfoGanRun& run) { return train_command<InfoGan>("infogan", run.config, run.loop); }

std::vector<uint8_t> bytes_of(const std::string& path) { return read_file(path); }

void check_same_tensors(const std::string& a, const std::string& b) {
  const SafetensorsFile fa = load_safetensors(a), fb = load_safetensors(b);
  REQUIRE(fa.tensors.size() == fb.tensors.size());
  for (size_t i = 0; i < fa.tensors.size(); ++i) {
    CAPTURE(fa.tensors[i].name);
    CHECK(fa.tensors[i].name == fb.tensors[i].name);
    CHECK(serialize_safetensors({fa.tensors[i]}) == serialize_safetensors({fb.tensors[i]}));
  }
}

// The run `full` (2 epochs, trained) again into `run_dir`: 1 epoch, then
// resumed to 2; the same tensors as `full`'s checkpoint.
void check_resumed_at_epoch_boundary(const InfoGanRun& full, const std::string& run_dir) {
  InfoGanRun first = full;
  first.loop.run_dir = run_dir;
  first.config.epochs = 1;
  CHECK(train(first) == 0);
  InfoGanRun more = first;
  more.loop.resume = true;
  more.loop.resume_epochs = 2;
  CHECK(train(more) == 0);
  check_same_tensors(run_dir + "/checkpoints/latest.safetensors", full.loop.run_dir + "/checkpoints/latest.safetensors");
}

}  // namespace

TEST_CASE("infogan train: files, PyTorch names, checkpoint round-trip, bit-identical resume, eval, sample") {
  test::TempDir dir;
  write_small_mnist(dir);

  // Uninterrupted: 2 epochs x 2 iterations.
  const InfoGanRun full = small_run(dir, "full");
  CHECK(train(full) == 0);
  for (const char* file : {"checkpoints/latest.safetensors", "samples/epoch_001.png", "samples/epoch_002.png",
                           "losses.csv", "losses.svg", "probs.svg", "config.json"}) {
    CAPTURE(file);
    CHECK(std::filesystem::exists(full.loop.run_dir + "/" + file));
  }
  CHECK(std::filesystem::read_symlink(dir.file("latest")) == "full");
  std::vector<std::string> columns;
  const auto rows = read_csv_numbers(full.loop.run_dir + "/losses.csv", &columns);
  CHECK(columns == InfoGan(full.config, Device::cpu()).log_columns());
  REQUIRE(rows.size() == 4);
  for (const auto& row : rows) {
    for (double v : row) CHECK(std::isfinite(v));
  }

  const std::string checkpoint = full.loop.run_dir + "/checkpoints/latest.safetensors";
  const SafetensorsFile file = load_safetensors(checkpoint);
  {
    INFO("names are PyTorch's under G., D., optim.; the metadata holds config and position");
    for (const char* name : {"G.main.0.weight", "G.main.1.running_mean", "G.main.1.num_batches_tracked",
                             "G.main.12.weight", "D.main.0.weight", "D.main.3.running_var", "D.D.0.bias",
                             "D.Q.3.weight", "optim.d.D.main.0.weight.exp_avg", "optim.gq.G.main.0.weight.exp_avg_sq",
                             "optim.gq.D.Q.3.bias.step"}) {
      CAPTURE(name);
      CHECK(file.find(name) != nullptr);
    }
    CHECK(file.find("optim.d.D.Q.3.bias.exp_avg") == nullptr);  // Q is trained with G, not D
    CHECK(file.find("G.main.0.weight")->shape() == Shape{64, 512, 1, 1});
    CHECK(file.find("D.Q.3.weight")->shape() == Shape{10, 128, 1, 1});
    CHECK(file.with_prefix("G.").size() == SpecGenerator().state_dict().size());
    CHECK(file.metadata_value("epoch") == "2");
    CHECK(file.metadata_value("batch") == "0");
    CHECK(file.metadata_value("iteration") == "4");
    CHECK(InfoGanConfig::from_json(file.metadata_value("config"), "t").seed == 3);
    InfoGanConfig limited;
    limited.train_limit = 600;
    limited.lr_d = 3e-4;
    const InfoGanConfig back = InfoGanConfig::from_json(to_json(limited.to_json()), "t");
    CHECK(back.train_limit == 600);
    CHECK(back.lr_d == 3e-4);
    CHECK_THROWS_WITH_AS(InfoGanConfig::from_json("{\"lr\": 1}", "f.safetensors"),
                         "f.safetensors: unknown config key 'lr'", Error);
    INFO("info_d is written only when it is not the spec's 0, so the spec's configs keep their bytes");
    CHECK(to_json(limited.to_json()).find("info_d") == std::string::npos);
    limited.info_d = 0.5;
    CHECK(InfoGanConfig::from_json(to_json(limited.to_json()), "t").info_d == 0.5);
    CHECK_THROWS_WITH_AS(InfoGanConfig::from_json("{\"info_d\": -1}", "t"), doctest::Contains("info_d must be >= 0"),
                         Error);
    INFO("noise_dist likewise: written only when not the spec's normal");
    CHECK(to_json(limited.to_json()).find("noise_dist") == std::string::npos);
    limited.noise_dist = "uniform";
    CHECK(InfoGanConfig::from_json(to_json(limited.to_json()), "t").shape().uniform_noise);
    CHECK_THROWS_WITH_AS(InfoGanConfig::from_json("{\"noise_dist\": \"gamma\"}", "t"),
                         doctest::Contains("noise_dist must be normal or uniform, got 'gamma'"), Error);
  }
  {
    INFO("restore + save reproduces the file byte for byte");
    InfoGan gan(checkpoint_config(file, 0), Device::cpu());
    const TrainPosition pos = gan.restore(file);
    gan.save(dir.file("again.safetensors"), pos);
    CHECK(bytes_of(dir.file("again.safetensors")) == bytes_of(checkpoint));
  }
  {
    INFO("stopped mid-epoch and resumed: the same bytes as the uninterrupted run");
    InfoGanRun part = small_run(dir, "part");
    part.loop.max_iterations = 3;  // stops at epoch 2, batch 1
    CHECK(train(part) == 0);
    CHECK(load_safetensors(part.loop.run_dir + "/checkpoints/latest.safetensors").metadata_value("iteration") == "3");
    CHECK(read_csv_numbers(part.loop.run_dir + "/losses.csv").size() == 3);
    InfoGanRun rest = small_run(dir, "part");
    rest.loop.resume = true;
    CHECK(train(rest) == 0);
    CHECK(bytes_of(part.loop.run_dir + "/checkpoints/latest.safetensors") == bytes_of(checkpoint));
    CHECK(bytes_of(part.loop.run_dir + "/losses.csv") == bytes_of(full.loop.run_dir + "/losses.csv"));
  }
  {
    INFO("a NaN stops the run naming the iteration; the last checkpoint stays as it was");
    // A Q-head weight at the edge of float32 loads (it is finite) and
    // overflows the code logits, which makes the info loss NaN.
    std::filesystem::create_directories(dir.file("nan/checkpoints"));
    std::filesystem::copy_file(full.loop.run_dir + "/losses.csv", dir.file("nan/losses.csv"));
    std::vector<NamedTensor> tensors = file.tensors;
    for (NamedTensor& t : tensors) {
      if (t.name == "D.Q.3.weight") t.tensor = dl::full(t.tensor.shape(), 3e38);
    }
    save_safetensors(dir.file("nan/checkpoints/latest.safetensors"), tensors, file.metadata);
    const std::vector<uint8_t> before = bytes_of(dir.file("nan/checkpoints/latest.safetensors"));
    InfoGanRun resume = small_run(dir, "nan");
    resume.loop.resume = true;
    resume.loop.resume_epochs = 3;
    CHECK_THROWS_WITH_AS(train(resume), doctest::Contains("loss_Info is nan at iteration 5 (epoch 3, batch 1)"), Error);
    CHECK(bytes_of(dir.file("nan/checkpoints/latest.safetensors")) == before);
  }
  {
    INFO("eval without a judge: Q-accuracy, the grid and the JSON line");
    InfoGanEvalOptions options;
    options.checkpoint = checkpoint;
    options.judge = dir.file("no_judge.safetensors");
    options.data_dir = dir.file("data");
    CHECK_THROWS_WITH_AS(evaluate_infogan(options), doctest::Contains("no_judge.safetensors: no such file"), Error);
    options.judge = "";
    const test::InDirectory no_default_judge(dir.path.string());
    const InfoGanReport report = evaluate_infogan(options);
    CHECK(std::filesystem::exists(full.loop.run_dir + "/eval/grid_seed1.png"));
    CHECK(std::filesystem::exists(full.loop.run_dir + "/eval/eval.json"));
    int64_t counted = 0;
    for (const auto& row : report.confusion) {
      for (int64_t v : row) counted += v;
    }
    CHECK(counted == 20);
    CHECK(report.matching.accuracy >= 0.0);
    CHECK(report.majority_accuracy >= report.matching.accuracy);
    CHECK_FALSE(report.judged);
    CHECK(to_json(report.json()).find("\"columns\":null") != std::string::npos);
  }
  {
    INFO("a run that diverged says so in eval.json");
    SafetensorsMetadata metadata = file.metadata;
    metadata.push_back({"divergence", "loss_G is 20000 at iteration 3 (above 10000)"});
    std::filesystem::create_directories(dir.file("diverged/checkpoints"));
    save_safetensors(dir.file("diverged/checkpoints/latest.safetensors"), file.tensors, metadata);
    InfoGanEvalOptions options;
    options.checkpoint = dir.file("diverged/checkpoints/latest.safetensors");
    options.data_dir = dir.file("data");
    const test::InDirectory no_default_judge(dir.path.string());
    evaluate_infogan(options);
    const std::vector<uint8_t> json = bytes_of(dir.file("diverged/eval/eval.json"));
    CHECK(std::string(json.begin(), json.end()).find("\"divergence\":\"loss_G is 20000 at iteration 3") !=
          std::string::npos);
  }
  {
    INFO("a checkpoint without metadata (as exported from PyTorch) evaluates with the spec's shapes");
    std::vector<NamedTensor> weights;
    for (const NamedTensor& t : file.tensors) {
      if (t.name.rfind("optim.", 0) != 0) weights.push_back(t);
    }
    save_safetensors(dir.file("bare.safetensors"), weights);
    const SafetensorsFile bare = load_safetensors(dir.file("bare.safetensors"));
    CHECK(load_infogan(bare, 0, Device::cpu())->config.cont == 0);
    CHECK_THROWS_WITH_AS(load_infogan(bare, 2, Device::cpu()), doctest::Contains("has shape"), Error);
    CHECK_THROWS_WITH_AS(traverse_infogan(checkpoint, 0, "", 1, Device::cpu()),
                         doctest::Contains("no continuous codes"), Error);
  }
  {
    INFO("the judge trains, and eval then scores columns and purity; sample writes IDX files");
    const auto judge = test::tiny_judge_options(dir);
    CHECK(test::train_judge(judge) == 0);
    // Resuming keeps the checkpoint's hyper-parameters (here batch 4 and the
    // 4-image limit), whatever the config passed says; only the epochs grow.
    auto more = judge;
    more.loop.resume = true;
    more.loop.resume_epochs = 2;
    more.config.batch = 1;
    more.config.train_limit = 0;
    CHECK(test::train_judge(more) == 0);
    CHECK(read_csv_numbers(dir.file("judge/losses.csv")).size() == 2);
    {
      INFO("a judge checkpoint whose config has a setting the judge does not know is refused on resume");
      SafetensorsFile file = load_safetensors(dir.file("judge/latest.safetensors"));
      for (auto& [key, value] : file.metadata) {
        if (key == "config") value = "{\"epochs\": 2, \"batch\": 4, \"momentum\": 0.9}";
      }
      auto broken = more;
      broken.loop.run_dir = dir.file("judge-broken");
      std::filesystem::create_directories(broken.loop.run_dir);
      save_safetensors(broken.loop.run_dir + "/latest.safetensors", file.tensors, file.metadata);
      CHECK_THROWS_WITH_AS(test::train_judge(broken), doctest::Contains("unknown config key 'momentum'"), Error);
    }
    InfoGanEvalOptions options;
    options.checkpoint = checkpoint;
    options.judge = dir.file("judge/latest.safetensors");
    options.data_dir = dir.file("data");
    options.out = dir.file("eval");
    options.purity_samples = 3;
    const InfoGanReport report = evaluate_infogan(options);
    REQUIRE(report.judged);
    CHECK(report.columns.correct_columns >= 0);
    CHECK(report.columns.correct_columns <= 10);
    CHECK(report.purity.per_code.size() == 10);
    CHECK(report.purity.min <= report.purity.mean + 1e-12);
    sample_infogan(checkpoint, 0, 3, dir.file("samples"), 1, Device::cpu());
    CHECK(read_idx(dir.file("samples-images-idx3-ubyte")).shape() == Shape{30, 28, 28});
    const Tensor labels = read_idx(dir.file("samples-labels-idx1-ubyte"));
    CHECK(labels.to(DType::Int64).to_vector<int64_t>()[29] == 9);
  }
}

TEST_CASE("infogan train: the run directory's guarantees (no overwrite, a rejected log kept, latest, samples/)") {
  test::TempDir dir;
  write_small_mnist(dir);
  test::check_run_directory_guarantees(
      dir, [&](const test::TrainCall& call) { return train(test::as_called(small_run(dir, ""), call)); });
}

TEST_CASE("mnist_classifier train: a judge is not replaced without --overwrite, and a rejected log is kept") {
  test::TempDir dir;
  write_small_mnist(dir);
  const auto judge = test::tiny_judge_options(dir);
  REQUIRE(test::train_judge(judge) == 0);
  const std::vector<uint8_t> trained = bytes_of(dir.file("judge/latest.safetensors"));
  CHECK_THROWS_WITH_AS(test::train_judge(judge), doctest::Contains("already holds a run"), Error);
  CHECK(bytes_of(dir.file("judge/latest.safetensors")) == trained);
  write_file_atomic(dir.file("judge/losses.csv"), "epoch,iteration,loss,accuracy\n");
  auto more = judge;
  more.loop.resume = true;
  more.loop.resume_epochs = 2;
  CHECK_THROWS_WITH_AS(test::train_judge(more), doctest::Contains("losses.csv: has no row for iteration 0"), Error);
  CHECK(read_csv_numbers(dir.file("judge/losses.csv")).empty());
  auto again = judge;
  again.loop.overwrite = true;
  CHECK(test::train_judge(again) == 0);
  CHECK(bytes_of(dir.file("judge/latest.safetensors")) == trained);
}

TEST_CASE("infogan --ema: the average is checkpointed, resumed bit for bit, and what grids and samples read") {
  test::TempDir dir;
  write_small_mnist(dir);
  InfoGanRun full = small_run(dir, "full");
  full.config.ema = 0.9;
  CHECK(train(full) == 0);
  const std::string checkpoint = full.loop.run_dir + "/checkpoints/latest.safetensors";
  const SafetensorsFile file = load_safetensors(checkpoint);
  CHECK(file.find("G_ema.main.0.weight") != nullptr);
  CHECK(file.metadata_value("ema_updates") == "4");
  check_resumed_at_epoch_boundary(full, dir.file("first"));

  const std::unique_ptr<InfoGan> gan = load_infogan(file, 0, Device::cpu());
  REQUIRE(gan->G_ema != nullptr);
  CHECK(&gan->sampler() == gan->G_ema.get());
  // The average moved towards G but is not G.
  CHECK(gan->G_ema->named_parameters()[0].tensor.to_vector<float>() !=
        gan->G->named_parameters()[0].tensor.to_vector<float>());
  // Without --ema nothing of it is in the checkpoint.
  InfoGanRun without = small_run(dir, "without");
  CHECK(train(without) == 0);
  const SafetensorsFile none = load_safetensors(without.loop.run_dir + "/checkpoints/latest.safetensors");
  CHECK(none.find("G_ema.main.0.weight") == nullptr);
  CHECK_FALSE(has_metadata(none, "ema_updates"));
  CHECK(to_json(without.config.to_json()).find("ema") == std::string::npos);
}

TEST_CASE("infogan with continuous codes: resumed at an epoch boundary, and traversed") {
  test::TempDir dir;
  write_small_mnist(dir);
  InfoGanRun full = small_run(dir, "full");
  full.config.cont = 2;
  CHECK(train(full) == 0);
  check_resumed_at_epoch_boundary(full, dir.file("first"));

  const std::vector<std::string> images =
      traverse_infogan(full.loop.run_dir + "/checkpoints/latest.safetensors", 0, dir.file("traverse"), 1, Device::cpu());
  CHECK(images.size() == 2);
  for (const std::string& path : images) CHECK(std::filesystem::exists(path));
}

namespace {

// One step of the spec and one of `with_term` (the spec plus a D-step term),
// from the same weights on the same batch: loss_D is logged without the
// term; the term changes the D step's gradient of every parameter of the D
// trunk and leaves the D head's alone (it has no path to the term). The
// gradients are compared, not the updated weights: Adam's first update is
// lr * sign(g), which a term may change in magnitude only. (After the step
// D's gradients are still the D step's: the G+Q step freezes them.)
void check_d_term_moves_trunk_only(const InfoGanConfig& with_term) {
  InfoGan plain(infogan_preset("lab"), Device::cpu()), extended(with_term, Device::cpu());
  Generator rng(11);
  const Tensor real = rand({4, 1, 28, 28}, DType::Float32, &rng);
  const Batch batch{real, Tensor()};
  const std::vector<float> logged_plain = plain.train_step(batch, StepClock{}).to_vector<float>();
  const std::vector<float> logged_extended = extended.train_step(batch, StepClock{}).to_vector<float>();
  CHECK(logged_plain[0] == logged_extended[0]);
  const std::vector<NamedTensor> a = plain.D->named_parameters(), b = extended.D->named_parameters();
  REQUIRE(a.size() == b.size());
  int trunk_moved = 0, trunk = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].name);
    const bool same = a[i].tensor.grad().to_vector<float>() == b[i].tensor.grad().to_vector<float>();
    if (a[i].name.rfind("D.", 0) == 0) CHECK(same);  // the real/fake head
    if (a[i].name.rfind("main.", 0) == 0) {
      ++trunk;
      trunk_moved += !same;
    }
  }
  CHECK(trunk > 0);
  CHECK(trunk_moved == trunk);
}

}  // namespace

TEST_CASE("infogan --info-d: the D step's info loss moves the D trunk and leaves the D head's update alone") {
  InfoGanConfig with_info = infogan_preset("lab");
  with_info.info_d = 1;
  check_d_term_moves_trunk_only(with_info);
}

TEST_CASE("infogan --info-real: the real batch's code entropy moves the D trunk and leaves the D head alone") {
  InfoGanConfig with_entropy = infogan_preset("lab");
  with_entropy.info_real = 1;
  check_d_term_moves_trunk_only(with_entropy);
  CHECK(to_json(infogan_preset("lab").to_json()).find("info_real") == std::string::npos);
  CHECK(InfoGanConfig::from_json(to_json(with_entropy.to_json()), "t").info_real == 1);
}

TEST_CASE("batch_code_entropy: log K for a batch spread evenly over the codes, 0 for one code, and its gradient") {
  // Two images each certain of another code, then two that are unsure of all ten.
  const Tensor certain = test::f64({50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50}, {2, 10});
  CHECK(batch_code_entropy(certain).item() == doctest::Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(batch_code_entropy(zeros({2, 10}, DType::Float64)).item() == doctest::Approx(std::log(10.0)).epsilon(1e-12));
  const Tensor one_code = test::f64({80, 0, 0, 80, 0, 0}, {2, 3});  // p = 0 underflows: the clamp keeps it finite
  CHECK(std::abs(batch_code_entropy(one_code).item()) < 1e-12);
  test::check_gradcheck([](const TensorList& in) { return batch_code_entropy(in[0]); }, {test::randn_leaf({5, 4}, 3)},
                        "batch_code_entropy");
}

TEST_CASE("infogan --lr-decay: in the JSON only when not none, and both optimizers anneal over the run") {
  InfoGanConfig c = infogan_preset("best");
  CHECK(to_json(c.to_json()).find("lr_decay") == std::string::npos);
  c.lr_decay = "cosine";
  c.batch = 4;
  CHECK(InfoGanConfig::from_json(to_json(c.to_json()), "t").lr_decay == "cosine");
  InfoGan gan(c, Device::cpu());
  Generator rng(5);
  gan.train_step(Batch{rand({4, 1, 28, 28}, DType::Float32, &rng), Tensor()}, StepClock{0, 0, 40});
  CHECK(gan.opt_d->groups()[0].cosine_steps == 40);
  CHECK(gan.opt_gq->groups()[0].cosine_steps == 40);
  CHECK(gan.opt_gq->groups()[0].lr == c.lr_g);  // annealed by Adam from its update counters
}

TEST_CASE("infogan presets: lab is the spec's hyper-parameters, best differs only where the campaign showed a gain") {
  const InfoGanConfig lab = infogan_preset("lab");
  // docs/lab.md: noise 54 ~ N(0, 1), 10 categories, no continuous code,
  // epochs 50, batch 64, Adam (0.5, 0.999), lr 1e-3 (G and Q) and 2e-4 (D),
  // info weight 0.25 (lambda_cont 0.1 inside it), and the info loss only in
  // the G step.
  CHECK(lab.preset == "lab");
  CHECK(lab.noise == 54);
  CHECK(lab.noise_dist == "normal");
  CHECK(lab.cont == 0);
  CHECK(lab.epochs == 50);
  CHECK(lab.batch == 64);
  CHECK(lab.beta1 == 0.5);
  CHECK(lab.beta2 == 0.999);
  CHECK(lab.lr_g == 1e-3);
  CHECK(lab.lr_d == 2e-4);
  CHECK(lab.lambda_info == 0.25);
  CHECK(lab.lambda_cont == 0.1);
  CHECK(lab.info_d == 0);
  CHECK(lab.g_loss == "nonsaturating");
  // best = lab --info-d 1 --lambda 1 (docs/experiments.md, "Where it stands").
  InfoGanConfig best_as_lab = lab;
  best_as_lab.preset = "best";
  best_as_lab.info_d = 1;
  best_as_lab.lambda_info = 1;
  CHECK(to_json(infogan_preset("best").to_json()) == to_json(best_as_lab.to_json()));
  CHECK_THROWS_WITH_AS(infogan_preset("fast"), "--preset: expected one of lab|best, got 'fast'", UsageError);
}

TEST_CASE("train --overwrite with a bad --device fails before the run directory is touched") {
  test::TempDir dir;
  write_small_mnist(dir);
  const InfoGanRun first = small_run(dir, "run");
  REQUIRE(train(first) == 0);
  const std::vector<uint8_t> checkpoint = bytes_of(first.loop.run_dir + "/checkpoints/latest.safetensors");
  InfoGanRun again = first;
  again.loop.overwrite = true;
  again.loop.device = "tpu";
  CHECK_THROWS_AS(train(again), UsageError);
  CHECK(bytes_of(first.loop.run_dir + "/checkpoints/latest.safetensors") == checkpoint);
}
