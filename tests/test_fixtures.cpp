// test_fixtures.cpp — layers, losses and optimizers against PyTorch 1.13's
// numbers, stored in tests/fixtures/<case>.safetensors by
// tests/fixtures/make_fixtures.py (PyTorch is not needed here).
//
// Each layer/loss fixture holds the inputs, the parameters, the forward
// output "out", a random "upstream" of out's shape and the gradients
// "grad.<name>" of L = sum(out * upstream); BatchNorm in training mode also
// holds its running statistics after the step ("running_mean.after"). The
// optimizer fixtures hold the parameters after each of 20 steps. float32
// passes when max|ours - torch| <= 1e-5 * max(1, max|torch|).
//
// DL_FIXTURE_TABLE=1 prints each case's largest forward and backward
// deviation at the end (silent otherwise).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/safetensors.h"
#include "doctest/doctest.h"
#include "helpers.h"
#include "nn/layers.h"
#include "optim/optimizer.h"

using namespace dl;
using namespace test;

namespace {

// Fixtures are found relative to the repository root, where `make test` runs.
const std::string kFixtureDir = "tests/fixtures/";

struct Deviation {
  double forward = 0.0, backward = 0.0;
  bool has_backward = false;
};
std::map<std::string, Deviation>& deviations() {
  static std::map<std::string, Deviation> table;
  return table;
}

SafetensorsFile fixture(const std::string& name) { return load_safetensors(kFixtureDir + name + ".safetensors"); }

const Tensor& stored(const SafetensorsFile& file, const std::string& name) {
  const Tensor* t = file.find(name);
  REQUIRE_MESSAGE(t != nullptr, file.name << ": no tensor '" << name << "'");
  return *t;
}

// The one closeness check: float32 within 1e-5 * max(1, max|torch|). A
// failure names the tensor and the largest deviation. Returns that deviation
// (infinity for a NaN or a missing or misshapen tensor).
double check_close(const std::string& what, const Tensor& ours, const Tensor& torch) {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_MESSAGE(ours.defined(), what << ": ours is undefined");
  if (!ours.defined()) return inf;
  CHECK_MESSAGE(ours.shape() == torch.shape(), what << ": shape " << ours.shape() << ", torch " << torch.shape());
  if (ours.shape() != torch.shape()) return inf;
  const Values a = vals(ours), b = vals(torch);
  double deviation = 0.0, scale = 1.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    deviation = std::isnan(d) ? inf : std::max(deviation, d);
    scale = std::max(scale, std::fabs(b[i]));
  }
  CHECK_MESSAGE(deviation <= 1e-5 * scale, what << ": max |ours - torch| = " << deviation << " > "
                                                << 1e-5 * scale << " (1e-5 * max(1, max|torch|))");
  return deviation;
}

void record_forward(const std::string& name, double d) {
  Deviation& e = deviations()[name];
  e.forward = std::max(e.forward, d);
}
void record_backward(const std::string& name, double d) {
  Deviation& e = deviations()[name];
  e.backward = std::max(e.backward, d);
  e.has_backward = true;
}

// Copies the stored tensors of the same names into `destinations`, outside the graph.
void copy_stored(const SafetensorsFile& file, const std::vector<NamedTensor>& destinations) {
  NoGradGuard no_grad;
  for (const NamedTensor& d : destinations) {
    Tensor t = d.tensor;
    t.copy_(stored(file, d.name));
  }
}

// Forward and backward of `module` on the fixture's x, compared with torch:
// out, grad.x, grad.<param> and, in training mode, the running statistics after.
void check_module(const std::string& name, Module& module, bool training = true) {
  const SafetensorsFile file = fixture(name);
  std::vector<NamedTensor> state = module.named_parameters();
  for (const NamedTensor& b : module.named_buffers())
    if (b.name != "num_batches_tracked") state.push_back(b);
  copy_stored(file, state);
  module.train(training);

  const Tensor x = leaf(stored(file, "x").clone());
  const Tensor out = module(x);
  record_forward(name, check_close(name + " out", out, stored(file, "out")));
  for (const NamedTensor& b : module.named_buffers())
    if (b.name != "num_batches_tracked" && training)
      record_forward(name, check_close(name + " " + b.name + " after", b.tensor, stored(file, b.name + ".after")));

  sum(out * stored(file, "upstream")).backward();
  record_backward(name, check_close(name + " grad.x", x.grad(), stored(file, "grad.x")));
  for (const NamedTensor& p : module.named_parameters())
    record_backward(name, check_close(name + " grad." + p.name, p.tensor.grad(), stored(file, "grad." + p.name)));
}

// A loss (or any function) of `inputs` (leaves, with gradients) and
// `constants` (no gradient), compared with torch: out and grad.<input>.
void check_function(const std::string& name, const std::vector<std::string>& inputs,
                    const std::vector<std::string>& constants,
                    const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
  const SafetensorsFile file = fixture(name);
  std::vector<Tensor> args;
  for (const std::string& n : inputs) args.push_back(leaf(stored(file, n).clone()));
  for (const std::string& n : constants) args.push_back(stored(file, n));
  const Tensor out = fn(args);
  record_forward(name, check_close(name + " out", out, stored(file, "out")));
  sum(out * stored(file, "upstream")).backward();
  for (size_t i = 0; i < inputs.size(); ++i)
    record_backward(name, check_close(name + " grad." + inputs[i], args[i].grad(), stored(file, "grad." + inputs[i])));
}

// 20 steps of Linear(4, 3) + cross-entropy on the fixture's x, y; the
// parameters are compared after every step.
template <typename MakeOptimizer>
void check_optimizer(const std::string& name, MakeOptimizer make) {
  const SafetensorsFile file = fixture(name);
  Linear model(4, 3);
  copy_stored(file, model.named_parameters());
  auto optimizer = make(std::vector<ParamGroup>{{model.named_parameters(), 0.0}});
  const Tensor x = stored(file, "x");
  const Tensor y = stored(file, "y");
  for (int step = 1; step <= 20; ++step) {
    optimizer.zero_grad();
    cross_entropy(model(x), y).backward();
    optimizer.step();
    const std::string prefix = "step" + std::to_string(step) + ".";
    record_forward(name, check_close(name + " " + prefix + "weight", model.weight, stored(file, prefix + "weight")));
    record_forward(name, check_close(name + " " + prefix + "bias", model.bias, stored(file, prefix + "bias")));
  }
}

}  // namespace

TEST_CASE("fixtures: Linear matches PyTorch") {
  Linear m(5, 4);
  check_module("linear", m);
}

TEST_CASE("fixtures: Conv2d matches PyTorch") {
  SUBCASE("k4 s2 p1") {
    Conv2d m(3, 4, 4, 2, 1);
    check_module("conv_k4_s2_p1", m);
  }
  SUBCASE("k7 on 7x7") {
    Conv2d m(4, 2, 7, 1);
    check_module("conv_k7_on_7x7", m);
  }
  SUBCASE("k (3, 2), stride (2, 1), padding (1, 0), bias") {
    Conv2d m(3, 2, Pair{3, 2}, Pair{2, 1}, Pair{1, 0});
    check_module("conv_k3x2_s2x1_p1x0", m);
  }
}

TEST_CASE("fixtures: ConvTranspose2d matches PyTorch") {
  SUBCASE("k5 s2 p2") {
    ConvTranspose2d m(3, 2, 5, 2, 2);
    check_module("convT_k5_s2_p2", m);
  }
  SUBCASE("k2 s2") {
    ConvTranspose2d m(3, 2, 2, 2);
    check_module("convT_k2_s2", m);
  }
  SUBCASE("k4 s1") {
    ConvTranspose2d m(2, 3, 4, 1);
    check_module("convT_k4_s1", m);
  }
  SUBCASE("k3 s2 p1 output_padding 1") {
    ConvTranspose2d m(3, 2, 3, 2, 1, 1);
    check_module("convT_k3_s2_p1_op1", m);
  }
}

TEST_CASE("fixtures: BatchNorm matches PyTorch (training, running statistics, eval)") {
  SUBCASE("BatchNorm2d training, affine") {
    BatchNorm2d m(3);
    check_module("bn2d_train_affine", m);
  }
  SUBCASE("BatchNorm2d training, no affine") {
    BatchNorm2d m(3, 1e-5, 0.1, false);
    check_module("bn2d_train_noaffine", m);
  }
  SUBCASE("BatchNorm2d eval with given running statistics") {
    BatchNorm2d m(3);
    check_module("bn2d_eval", m, false);
  }
  SUBCASE("BatchNorm1d training") {
    BatchNorm1d m(4);
    check_module("bn1d_train", m);
  }
}

TEST_CASE("fixtures: LayerNorm matches PyTorch (last dim affine, last two dims without)") {
  SUBCASE("LayerNorm(5)") {
    LayerNorm m({5});
    check_module("layernorm_last", m);
  }
  SUBCASE("LayerNorm((4, 5), elementwise_affine=False)") {
    LayerNorm m({4, 5}, 1e-5, false);
    check_module("layernorm_last2_noaffine", m);
  }
}

TEST_CASE("fixtures: MaxPool2d matches PyTorch") {
  SUBCASE("k2") {
    MaxPool2d m(2);
    check_module("maxpool_k2", m);
  }
  SUBCASE("k3 s2 p1") {
    MaxPool2d m(3, 2, 1);
    check_module("maxpool_k3_s2_p1", m);
  }
}

TEST_CASE("fixtures: activations match PyTorch") {
  LeakyReLU leaky(0.1);
  check_module("leaky_relu_0.1", leaky);
  Sigmoid sigmoid_layer;
  check_module("sigmoid", sigmoid_layer);
  Tanh tanh_layer;
  check_module("tanh", tanh_layer);
  ReLU relu_layer;
  check_module("relu", relu_layer);
}

TEST_CASE("fixtures: losses match PyTorch") {
  check_function("loss_bce", {"input"}, {"target"},
                 [](const std::vector<Tensor>& a) { return binary_cross_entropy(a[0], a[1]); });
  check_function("loss_bce_with_logits", {"input"}, {"target"},
                 [](const std::vector<Tensor>& a) { return binary_cross_entropy_with_logits(a[0], a[1]); });
  check_function("loss_cross_entropy", {"input"}, {"target"},
                 [](const std::vector<Tensor>& a) { return cross_entropy(a[0], a[1]); });
  check_function("loss_mse", {"input"}, {"target"},
                 [](const std::vector<Tensor>& a) { return mse_loss(a[0], a[1]); });
  check_function("loss_gaussian_nll", {"x", "mean", "log_std"}, {},
                 [](const std::vector<Tensor>& a) { return gaussian_nll(a[0], a[1], a[2]); });
}

TEST_CASE("fixtures: Adam and SGD follow PyTorch's trajectories for 20 steps") {
  check_optimizer("optim_adam", [](std::vector<ParamGroup> g) {
    g[0].lr = 1e-3;
    return Adam(g, 0.5, 0.999);
  });
  check_optimizer("optim_sgd", [](std::vector<ParamGroup> g) {
    g[0].lr = 0.05;
    return SGD(g, 0.9, 1e-4);
  });
}

// Last in this file, so it sees every case above (doctest runs a file's tests in order).
TEST_CASE("fixtures: deviation table (printed with DL_FIXTURE_TABLE=1)") {
  if (std::getenv("DL_FIXTURE_TABLE") == nullptr) return;
  std::printf("%-24s %14s %14s\n", "case", "forward", "backward");
  for (const auto& [name, d] : deviations()) {
    if (d.has_backward)
      std::printf("%-24s %14.3g %14.3g\n", name.c_str(), d.forward, d.backward);
    else
      std::printf("%-24s %14.3g %14s\n", name.c_str(), d.forward, "-");
  }
}
