// test_double_backward.cpp — gradients of gradients: grad() and
// backward(create_graph), gradgradcheck of every op whose backward is
// differentiable, and the refusal of the ones whose backward is not (yet).
#include <cmath>

#include "cuda_helpers.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;
using namespace cuda_test;

namespace {

GradOptions with_graph() {
  GradOptions options;
  options.create_graph = true;
  return options;
}

// gradgradcheck of f on a float64 leaf copy of the [3, 4] x, as it is,
// transposed and with every other column (strided), as check_grad_layouts.
void check_gradgrad_layouts(const UnaryFn& f, const Tensor& x, const std::string& what) {
  const Tensor x_leaf = leaf(x.clone());
  check_gradgradcheck([&](const TensorList& in) { return f(in[0]); }, {x_leaf}, what + " contiguous");
  check_gradgradcheck([&](const TensorList& in) { return f(in[0].transpose(0, 1)); }, {x_leaf}, what + " transposed");
  check_gradgradcheck([&](const TensorList& in) { return f(in[0].slice(1, 0, 4, 2)); }, {x_leaf}, what + " sliced");
}

// Values of [3, 4] away from 0 (abs, relu and clamp's kinks) and positive
// where asked (log, sqrt, pow, div).
Tensor away_from_kinks(uint64_t seed, bool positive) {
  const Tensor r = randn64({3, 4}, seed);
  const Tensor magnitude = abs(r) + 0.3;
  return positive ? magnitude : magnitude * where(gt(r, 0.0), ones_like(r), full({3, 4}, -1.0, DType::Float64));
}

}  // namespace

TEST_CASE("grad: the Hessian of x^T A x is A + A^T, one Hessian-vector product per row") {
  const Tensor a = randn64({3, 3}, 4);
  Tensor x = randn_leaf({3, 1}, 5);
  const Tensor f = sum(x * matmul(a, x));
  const Tensor g = grad({f}, {x}, {}, with_graph())[0];  // (A + A^T) x, with a graph
  CHECK(g.requires_grad());
  const std::vector<double> expected_g = (matmul(a + a.t(), x.detach())).to_vector<double>();
  const std::vector<double> got_g = g.detach().to_vector<double>();
  for (size_t i = 0; i < 3; ++i) CHECK(got_g[i] == doctest::Approx(expected_g[i]).epsilon(1e-12));
  const std::vector<double> h = (a + a.t()).to_vector<double>();
  for (int64_t row = 0; row < 3; ++row) {
    Tensor e = zeros({3, 1}, DType::Float64);
    e.data<double>()[row] = 1.0;
    GradOptions keep;
    keep.retain_graph = true;
    const std::vector<double> hv = grad({sum(g * e)}, {x}, {}, keep)[0].to_vector<double>();  // row of H
    for (int64_t col = 0; col < 3; ++col) CHECK(hv[col] == doctest::Approx(h[row * 3 + col]).epsilon(1e-12));
  }
  CHECK_FALSE(x.grad().defined());  // grad() never touches .grad
}

TEST_CASE("grad: the first four derivatives of tanh and exp, each differentiated from the last") {
  for (const double value : {-1.3, 0.0, 0.4, 2.0}) {
    Tensor x = leaf({value}, {1});
    CAPTURE(value);
    Tensor d = tanh(x);
    std::vector<double> tanh_derivatives;
    for (int order = 1; order <= 3; ++order) {
      d = grad({d}, {x}, {}, with_graph())[0];
      tanh_derivatives.push_back(d.item());
    }
    const double t = std::tanh(value);
    CHECK(tanh_derivatives[0] == doctest::Approx(1 - t * t));
    CHECK(tanh_derivatives[1] == doctest::Approx(-2 * t * (1 - t * t)));
    CHECK(tanh_derivatives[2] == doctest::Approx(-2 * (1 - t * t) * (1 - 3 * t * t)));
    Tensor e = exp(x);
    for (int order = 1; order <= 4; ++order) e = grad({e}, {x}, {}, with_graph())[0];
    CHECK(e.item() == doctest::Approx(std::exp(value)));
  }
}

TEST_CASE("grad: allow_unused, non-leaf inputs, several outputs, and .grad left alone") {
  Tensor x = leaf({1.0, 2.0}, {2}), unused = leaf({3.0}, {1});
  const Tensor h = x * x;  // a non-leaf input
  const Tensor y = sum(h * 3.0);
  GradOptions keep;
  keep.retain_graph = true;
  CHECK_THROWS_WITH_AS(grad({y}, {x, unused}, {}, keep), doctest::Contains("input 1 is not used"), Error);
  GradOptions allow = keep;
  allow.allow_unused = true;
  const TensorList g = grad({y}, {x, unused, h}, {}, allow);
  CHECK(vals(g[0]) == Values{6.0, 12.0});
  CHECK_FALSE(g[1].defined());
  CHECK(vals(g[2]) == Values{3.0, 3.0});
  // Two outputs: their gradients add.
  const TensorList both = grad({sum(x), sum(x * x)}, {x});
  CHECK(vals(both[0]) == Values{3.0, 5.0});
  CHECK_FALSE(x.grad().defined());
  CHECK_THROWS_WITH_AS(grad({y}, {leaf({1.0}, {1}).set_requires_grad(false)}), doctest::Contains("does not require grad"),
                       Error);
}

TEST_CASE("backward(create_graph): .grad keeps its graph, so a gradient penalty can be minimised") {
  // R(x) = |d(sum x^3)/dx|^2 = sum (3 x^2)^2 = 9 sum x^4;  dR/dx = 36 x^3.
  Tensor x = leaf({0.5, -1.0, 2.0}, {3});
  sum(x * x * x).backward(Tensor(), false, true);
  const Tensor first = x.grad();
  CHECK(first.requires_grad());
  CHECK(vals(first.detach()) == Values{0.75, 3.0, 12.0});
  const Tensor penalty = sum(first * first);
  x.zero_grad();
  penalty.backward();
  const std::vector<double> got = vals(x.grad());
  const std::vector<double> expected = {36 * 0.125, 36 * -1.0, 36 * 8.0};
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-12));
  // Two create_graph backwards add out of place: the first .grad is not written.
  Tensor w = leaf({1.0}, {1});
  sum(w * w).backward(Tensor(), false, true);
  const Tensor once = w.grad();
  sum(w * w).backward(Tensor(), false, true);
  CHECK(once.detach().item() == 2.0);
  CHECK(w.grad().detach().item() == 4.0);
  // A .grad with a graph refers back to its leaf through that graph (as in
  // PyTorch): the cycle lasts until the gradient is dropped.
  w.zero_grad();
  x.zero_grad();
}

TEST_CASE("a graph used by grad(create_graph) stays usable: retain_graph follows create_graph") {
  Tensor x = leaf({1.5}, {1});
  const Tensor y = exp(x) * x;
  const Tensor dy = grad({y}, {x}, {}, with_graph())[0];  // (1 + x) e^x
  // The second derivative goes through the first-order Nodes again (exp's
  // saved output leads back to them): retained here, they stay usable.
  GradOptions keep;
  keep.retain_graph = true;
  const Tensor d2y = grad({dy}, {x}, {}, keep)[0];  // (2 + x) e^x
  CHECK(d2y.item() == doctest::Approx(3.5 * std::exp(1.5)));
  y.backward();  // the first-order graph was retained by create_graph and by keep
  CHECK(x.grad().item() == doctest::Approx(2.5 * std::exp(1.5)));
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("already freed"), Error);
}

TEST_CASE("gradgradcheck of every op with a differentiable backward, contiguous, transposed and sliced") {
  const Tensor any = away_from_kinks(11, false), positive = away_from_kinks(12, true);
  const Tensor other = away_from_kinks(13, false), other_positive = away_from_kinks(14, true);
  const std::vector<std::pair<std::string, UnaryFn>> unary = {
      {"neg", [](const Tensor& x) { return neg(x); }},
      {"abs", [](const Tensor& x) { return abs(x); }},
      {"exp", [](const Tensor& x) { return exp(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.9, 0.8); }},
      {"sum", [](const Tensor& x) { return sum(x * x, {0}); }},
      {"mean", [](const Tensor& x) { return mean(x * x, {1}, true); }},
      {"softmax", [](const Tensor& x) { return softmax(x, 1); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x, 0); }},
      {"reshape", [](const Tensor& x) { return exp(x.reshape({-1})); }},
      {"permute", [](const Tensor& x) { return exp(x.permute({1, 0})); }},
      {"expand", [](const Tensor& x) { return exp(x.unsqueeze(0).expand({2, x.size(0), x.size(1)})); }},
      {"clone", [](const Tensor& x) { return exp(x.clone()); }},
      {"cat", [](const Tensor& x) { return cat({x * x, exp(x)}, 1); }},
      {"narrow, select",
       [](const Tensor& x) { return exp(x.narrow(0, 1, 2)) * x.narrow(0, 0, 2).select(1, 0).unsqueeze(1); }},
      {"matmul", [](const Tensor& x) { return matmul(x, x.t()); }},
  };
  for (const auto& [name, f] : unary) check_gradgrad_layouts(f, any, name);
  const std::vector<std::pair<std::string, UnaryFn>> more = {
      {"max", [](const Tensor& x) { return max(x * x, {1}); }},
      {"var", [](const Tensor& x) { return var(x * x, {0}); }},
      {"var biased, all dims", [](const Tensor& x) { return var(exp(x), {}, false); }},
      {"dropout", [](const Tensor& x) {
         Generator mask(42);  // the same mask at every evaluation
         return dropout(x * x, 0.3, true, &mask);
       }},
      {"mse_loss", [](const Tensor& x) { return mse_loss(x * x, exp(x)); }},
      {"binary_cross_entropy", [](const Tensor& x) { return binary_cross_entropy(sigmoid(x), sigmoid(x * 0.5)); }},
      {"binary_cross_entropy_with_logits",
       [](const Tensor& x) { return binary_cross_entropy_with_logits(x, sigmoid(x.t().t() * 2.0)); }},
      {"cross_entropy",
       [](const Tensor& x) { return cross_entropy(x * x, full({x.size(0)}, 1.0, DType::Int64)); }},
      {"gaussian_nll", [](const Tensor& x) { return gaussian_nll(x, x * 0.5, x * 0.1); }},
  };
  for (const auto& [name, f] : more) check_gradgrad_layouts(f, any, name);
  const std::vector<std::pair<std::string, UnaryFn>> positive_only = {
      {"log", [](const Tensor& x) { return log(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }},
      {"pow", [](const Tensor& x) { return pow(x, 2.5); }},
  };
  for (const auto& [name, f] : positive_only) check_gradgrad_layouts(f, positive, name);

  const Tensor a = leaf(any.clone()), b = leaf(other.clone()), p = leaf(other_positive.clone());
  const Tensor row = leaf(randn64({4}, 15));
  check_gradgradcheck([](const TensorList& in) { return in[0] + in[1] * in[1]; }, {a, b}, "add");
  check_gradgradcheck([](const TensorList& in) { return in[0] * in[0] - in[1]; }, {a, b}, "sub");
  check_gradgradcheck([](const TensorList& in) { return in[0] * in[1]; }, {a, b}, "mul");
  check_gradgradcheck([](const TensorList& in) { return in[0] * in[1]; }, {a, row}, "mul broadcast");
  check_gradgradcheck([](const TensorList& in) { return in[0] / in[1]; }, {a, p}, "div");
  check_gradgradcheck([](const TensorList& in) { return in[0].t() / in[1].t(); }, {a, p}, "div transposed");
  check_gradgradcheck([](const TensorList& in) { return where(gt(in[0], 0.0), in[0] * in[1], in[1]); }, {a, b},
                      "where");
  check_gradgradcheck([](const TensorList& in) { return matmul(in[0], in[1].t()); }, {a, b}, "matmul two inputs");
}

TEST_CASE("gradgradcheck fails a backward that is right once but not twice") {
  // y = x^2 with dx = dy * 2 x, but x taken without its graph: the first
  // derivative is right, the second (d(dx)/dx = 2 dy) comes out 0.
  auto square = [](const TensorList& in) {
    const Tensor& x = in[0];
    Tensor y;
    {
      NoGradGuard no_grad;
      y = x * x;
    }
    record_differentiable("square", {x}, y, [xs = save(x)](const Tensor& dy) {
      return TensorList{dy * xs.get().detach() * 2.0};
    });
    return y;
  };
  const Tensor x = leaf({1.0, -2.0}, {2});
  CHECK(gradcheck(square, {x}).passed);
  const GradcheckResult r = gradgradcheck(square, {x});
  CHECK_FALSE(r.passed);
  CHECK(r.numeric != doctest::Approx(0.0));
  CHECK(r.analytic == 0.0);
}

TEST_CASE("leaky_relu: the fused first-order backward and the recorded one give the same bits") {
  for (const DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    Tensor x = (randn64({5, 7}, 41) * 3.0).to(dtype);
    x.set_requires_grad(true);
    Tensor dy = randn64({5, 7}, 42).to(dtype);
    dy.set_requires_grad(true);  // so that the recorded gradient has a graph (d(dx)/d(dy))
    const Tensor y = leaky_relu(x, 0.2);
    GradOptions keep;
    keep.retain_graph = true;
    const Tensor fused = grad({y}, {x}, {dy}, keep)[0];
    const Tensor recorded = grad({y}, {x}, {dy}, with_graph())[0];
    CHECK(recorded.requires_grad());
    CHECK(fused.to_vector<double>() == recorded.detach().to_vector<double>());
  }
}

TEST_CASE("batch_norm: gradgradcheck in training (affine and not, [N, C] and [N, C, H, W]) and in eval") {
  const Tensor running_mean = randn64({3}, 51), running_var = abs(randn64({3}, 52)) + 0.5;
  const Tensor w = leaf(randn64({3}, 53) * 0.5 + 1.0), b = leaf(randn64({3}, 54));
  const Tensor x2 = leaf(randn64({5, 3}, 55) * 2.0), x4 = leaf(randn64({2, 3, 2, 3}, 56));
  check_gradgradcheck([](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
                      {x2, w, b}, "training [N, C], affine");
  check_gradgradcheck([](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                      {x4}, "training [N, C, H, W], no affine");
  check_gradgradcheck(
      [](const TensorList& in) { return batch_norm(in[0].transpose(2, 3), Tensor(), Tensor(), in[1], Tensor(), true); },
      {x4, w}, "training, transposed, weight only");
  check_gradgradcheck(
      [&](const TensorList& in) { return batch_norm(in[0], running_mean, running_var, in[1], in[2], false); },
      {x4, w, b}, "eval");
}

TEST_CASE("batch_norm: the fused first-order backward and the recorded one agree") {
  for (const bool training : {true, false}) {
    CAPTURE(training);
    Tensor running_mean = randn64({4}, 61), running_var = abs(randn64({4}, 62)) + 0.5;
    const Tensor x = leaf(randn64({3, 4, 5, 2}, 63) * 3.0 + 1.0);
    const Tensor w = leaf(randn64({4}, 64)), b = leaf(randn64({4}, 65));
    Tensor dy = randn64({3, 4, 5, 2}, 66);
    dy.set_requires_grad(true);
    const Tensor y = batch_norm(x, running_mean, running_var, w, b, training);
    GradOptions keep;
    keep.retain_graph = true;
    const TensorList fused = grad({y}, {x, w, b}, {dy}, keep);
    const TensorList recorded = grad({y}, {x, w, b}, {dy}, with_graph());
    CHECK(recorded[0].requires_grad());
    for (size_t i = 0; i < 3; ++i) {
      const std::vector<double> f = fused[i].to_vector<double>(), r = recorded[i].detach().to_vector<double>();
      for (size_t e = 0; e < f.size(); ++e) CHECK(r[e] == doctest::Approx(f[e]).epsilon(1e-12));
    }
  }
}

TEST_CASE("max_pool2d: gradgradcheck, and the kernel's scatter equals the recorded one") {
  const Tensor x = leaf(randn64({2, 2, 5, 6}, 71));
  check_gradgradcheck([](const TensorList& in) { return max_pool2d(in[0], {2, 2}, {2, 2}); }, {x}, "2x2 s2");
  check_gradgradcheck([](const TensorList& in) { return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}); }, {x},
                      "3x3 s2 p1 (overlapping windows)");
  check_gradgradcheck([](const TensorList& in) { return max_pool2d(in[0].transpose(2, 3), {2, 3}, {1, 2}); }, {x},
                      "transposed, 2x3 s(1, 2)");
  Tensor dy = randn64({2, 2, 3, 3}, 72);
  dy.set_requires_grad(true);
  const Tensor y = max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
  GradOptions keep;
  keep.retain_graph = true;
  const Tensor fused = grad({y}, {x}, {dy}, keep)[0];
  const Tensor recorded = grad({y}, {x}, {dy}, with_graph())[0];
  CHECK(recorded.requires_grad());
  const std::vector<double> f = fused.to_vector<double>(), r = recorded.detach().to_vector<double>();
  for (size_t e = 0; e < f.size(); ++e) CHECK(r[e] == doctest::Approx(f[e]).epsilon(1e-14));
}

TEST_CASE("create_graph refuses an op whose backward is first-order only, naming it") {
  // An op recorded with plain record(): its backward's values are right,
  // but whether they carry a graph is not promised, so create_graph stops.
  auto doubled = [](const Tensor& x) {
    Tensor y;
    {
      NoGradGuard no_grad;
      y = x * 2.0;
    }
    record("doubled", {x}, y, [](const Tensor& dy) { return TensorList{dy * 2.0}; });
    return y;
  };
  Tensor x = randn_leaf({3}, 7);
  const Tensor y = sum(doubled(x));
  CHECK_THROWS_WITH_AS(grad({y}, {x}, {}, with_graph()), doctest::Contains("doubled backward: not differentiable yet"),
                       Error);
  GradOptions keep;
  keep.retain_graph = true;
  CHECK(vals(grad({y}, {x}, {}, keep)[0]) == Values{2.0, 2.0, 2.0});  // first order still works
}

TEST_CASE("CUDA parity: a Hessian-vector product on the GPU" * doctest::skip(no_gpu())) {
  const Tensor w = randn32({5, 3}, 21), x0 = randn32({3, 2}, 22), v0 = randn32({3, 2}, 23);
  auto hvp = [&](Device device) {
    Tensor x = x0.to(device).clone().set_requires_grad(true);
    const Tensor f = sum(tanh(matmul(w.to(device), x)) * sigmoid(sum(x, {0}, true)));
    const Tensor g = grad({f}, {x}, {}, with_graph())[0];
    return grad({sum(g * v0.to(device))}, {x})[0];
  };
  check_close(hvp(Device::cpu()), hvp(kGpu), "Hessian-vector product");
}
