// test_nn.cpp — Modules and layers: PyTorch's state_dict names and order,
// parameter counts and printed descriptions (checked against PyTorch 1.13),
// train/eval, BatchNorm's buffers, initialisation, and a small convnet that
// learns a separable image task.
#include <cmath>

#include "doctest/doctest.h"
#include "helpers.h"
#include "nn/layers.h"
#include "optim/optimizer.h"

using namespace dl;
using namespace test;

namespace {

// The lab spec's generator (docs/lab.md, "The networks"), input [N, 64, 1, 1].
std::shared_ptr<Sequential> spec_generator() {
  auto m = [](auto module) { return std::shared_ptr<Module>(std::move(module)); };
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      m(std::make_shared<ConvTranspose2d>(64, 512, 1, 1, 0, 0, false)), m(std::make_shared<BatchNorm2d>(512)),
      m(std::make_shared<LeakyReLU>(0.01)), m(std::make_shared<ConvTranspose2d>(512, 256, 4, 1, 0, 0, false)),
      m(std::make_shared<BatchNorm2d>(256)), m(std::make_shared<LeakyReLU>(0.01)),
      m(std::make_shared<ConvTranspose2d>(256, 128, 5, 2, 2, 0, false)), m(std::make_shared<BatchNorm2d>(128)),
      m(std::make_shared<LeakyReLU>(0.01)), m(std::make_shared<ConvTranspose2d>(128, 64, 2, 2, 0, 0, false)),
      m(std::make_shared<BatchNorm2d>(64)), m(std::make_shared<LeakyReLU>(0.01)),
      m(std::make_shared<ConvTranspose2d>(64, 1, 2, 2, 0, 0, false)), m(std::make_shared<Sigmoid>())});
}

struct Generator64 : Module {
  std::shared_ptr<Sequential> main = register_module("main", spec_generator());
  Tensor forward(const Tensor& x) override { return (*main)(x); }
  std::string describe() const override { return "Generator"; }
};

}  // namespace

TEST_CASE("the spec's generator has PyTorch's state_dict names, order, shapes and parameter count") {
  Generator64 g;
  const std::vector<NamedTensor> state = g.state_dict();
  // PyTorch: list(G().state_dict().items())[:8], len(...) == 25, 2984064 parameters.
  REQUIRE(state.size() == 25);
  const std::vector<std::pair<std::string, Shape>> first = {
      {"main.0.weight", {64, 512, 1, 1}}, {"main.1.weight", {512}},      {"main.1.bias", {512}},
      {"main.1.running_mean", {512}},     {"main.1.running_var", {512}}, {"main.1.num_batches_tracked", {}},
      {"main.3.weight", {512, 256, 4, 4}}, {"main.4.weight", {256}}};
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(state[i].name == first[i].first);
    CHECK(state[i].tensor.shape() == first[i].second);
  }
  CHECK(state[5].tensor.dtype() == DType::Int64);
  CHECK(g.parameter_count() == 2984064);
  CHECK(g.named_parameters().size() == 13);  // 5 conv weights + 4 x (gamma, beta)
  CHECK(g.forward(zeros({2, 64, 1, 1})).shape() == Shape{2, 1, 28, 28});
}

TEST_CASE("layers describe themselves as PyTorch prints them") {
  CHECK(ConvTranspose2d(64, 512, 1, 1, 0, 0, false).describe() ==
        "ConvTranspose2d(64, 512, kernel_size=(1, 1), stride=(1, 1), bias=False)");
  CHECK(ConvTranspose2d(256, 128, 5, 2, 2, 0, false).describe() ==
        "ConvTranspose2d(256, 128, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2), bias=False)");
  CHECK(BatchNorm2d(512).describe() == "BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(LeakyReLU(0.01).describe() == "LeakyReLU(negative_slope=0.01)");
  CHECK(Conv2d(256, 1, 1).describe() == "Conv2d(256, 1, kernel_size=(1, 1), stride=(1, 1))");
  CHECK(Linear(2, 3).describe() == "Linear(in_features=2, out_features=3, bias=True)");
  CHECK(MaxPool2d(2).describe() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(Dropout(0.3).describe() == "Dropout(p=0.3, inplace=False)");
  CHECK(LayerNorm({5}).describe() == "LayerNorm((5,), eps=1e-05, elementwise_affine=True)");
  CHECK(LayerNorm({4, 5}, 1e-6, false).describe() == "LayerNorm((4, 5), eps=1e-06, elementwise_affine=False)");
  CHECK(Flatten().describe() == "Flatten(start_dim=1, end_dim=-1)");
  Generator64 g;
  const std::string summary = g.summary();
  CHECK(summary.rfind("Generator  [2984064 parameters]\n  (main): Sequential", 0) == 0);
  CHECK(count(summary, "BatchNorm2d(") == 4);
  CHECK(summary.find("total: 2984064 parameters") != std::string::npos);
}

TEST_CASE("train() and eval() reach every module; BatchNorm updates its buffers only in training") {
  Generator64 g;
  g.eval();
  CHECK_FALSE(g.main->training());
  CHECK_FALSE((*g.main)[1].training());
  auto& bn = dynamic_cast<BatchNorm2d&>((*g.main)[1]);
  g.forward(randn({4, 64, 1, 1}));
  CHECK(bn.num_batches_tracked.item() == 0);
  CHECK(vals(bn.running_mean) == Values(512, 0.0));
  g.train();
  CHECK((*g.main)[1].training());
  g.forward(randn({4, 64, 1, 1}));
  g.forward(randn({4, 64, 1, 1}));
  CHECK(bn.num_batches_tracked.item() == 2);
  CHECK(vals(bn.running_mean) != Values(512, 0.0));
}

TEST_CASE("initialisation: PyTorch's default bound 1/sqrt(fan_in), and the DCGAN init") {
  manual_seed(3);
  Linear linear(50, 40);
  const double bound = 1.0 / std::sqrt(50.0);
  const Values w = vals(linear.weight);
  CHECK(*std::max_element(w.begin(), w.end()) <= bound);
  CHECK(*std::min_element(w.begin(), w.end()) >= -bound);
  CHECK(*std::max_element(w.begin(), w.end()) > 0.9 * bound);  // spread over the whole range
  // ConvTranspose2d's fan_in is PyTorch's: weight.size(1) * kh * kw.
  CHECK(fan_in(ConvTranspose2d(256, 128, 5).weight) == 128 * 25);

  Generator64 g;
  dcgan_init(g);
  const Values conv = vals(g.main->named_parameters()[0].tensor);  // main.0.weight: 32768 values
  double mean = 0, square = 0;
  for (double v : conv) mean += v / conv.size();
  for (double v : conv) square += (v - mean) * (v - mean) / conv.size();
  CHECK(std::fabs(mean) < 0.001);
  CHECK(std::sqrt(square) == doctest::Approx(0.02).epsilon(0.02));
  auto& bn = dynamic_cast<BatchNorm2d&>((*g.main)[1]);
  const Values gamma = vals(bn.weight);
  CHECK(*std::min_element(gamma.begin(), gamma.end()) > 0.9);
  CHECK(vals(bn.bias) == Values(512, 0.0));
}

TEST_CASE("module misuse is a one-line error") {
  Linear linear(3, 2);
  CHECK_THROWS_WITH_AS(linear(zeros({4, 5})), doctest::Contains("Linear: expected input [..., 3], got [4, 5]"), Error);
  CHECK_THROWS_WITH_AS(BatchNorm2d(8)(zeros({2, 4, 3, 3})), doctest::Contains("BatchNorm2d: expected input [N, 8, H, W]"),
                       Error);
  CHECK_THROWS_WITH_AS(Dropout(1.5), doctest::Contains("Dropout: p must be in [0, 1], got 1.5"), Error);
}

TEST_CASE("a small convnet (Conv2d + BatchNorm2d + LeakyReLU + Linear) learns a separable image task to >= 99%") {
  // 8x8 images with one bright horizontal (class 0) or vertical (class 1)
  // bar at a random position, plus noise.
  manual_seed(11);
  const int64_t n = 256;
  Generator data_gen(5);
  Tensor images = randn({n, 1, 8, 8}, DType::Float32, &data_gen) * 0.3;
  std::vector<double> labels(n);
  {
    NoGradGuard no_grad;
    const Values where = vals(rand({n}, DType::Float64, &data_gen));
    for (int64_t i = 0; i < n; ++i) {
      labels[i] = static_cast<double>(i % 2);
      const int64_t at = static_cast<int64_t>(where[i] * 8);
      Tensor image = images.select(0, i).select(0, 0);
      (i % 2 == 0 ? image.select(0, at) : image.select(1, at)).add_(ones({8}) * 2.0);
    }
  }
  const Tensor targets = tensor(labels, {n}, DType::Int64);
  auto m = [](auto module) { return std::shared_ptr<Module>(std::move(module)); };
  Sequential net({m(std::make_shared<Conv2d>(1, 8, 3, 1, 1, false)), m(std::make_shared<BatchNorm2d>(8)),
                  m(std::make_shared<LeakyReLU>(0.1)), m(std::make_shared<Flatten>()),
                  m(std::make_shared<Linear>(8 * 8 * 8, 2))});
  Adam adam({{net.named_parameters(), 0.01}});
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    cross_entropy(net(images), targets).backward();
    adam.step();
  }
  net.eval();
  const Tensor predicted = argmax(net(images), 1);
  const double accuracy = sum(eq(predicted, targets)).item() / static_cast<double>(n);
  CHECK(accuracy >= 0.99);
}
