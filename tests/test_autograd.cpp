// test_autograd.cpp — the engine: graph shapes (shared sub-expressions,
// diamonds, deep chains), accumulation, no_grad, detach, retain_graph, the
// error cases, and an end-to-end XOR network trained with hand-written SGD.
#include <cmath>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {
std::vector<double> grad_of(const Tensor& t) { return t.grad().to_vector<double>(); }
}  // namespace

TEST_CASE("a tensor used twice gets both contributions: d(x*x)/dx = 2x") {
  Tensor x = leaf({3.0, -2.0});
  sum(x * x).backward();
  CHECK(grad_of(x) == std::vector<double>{6.0, -4.0});
}

TEST_CASE("shared sub-expression: y = a*a + a with a = 2x") {
  // dy/dx = (2a + 1) * 2
  Tensor x = leaf({1.5});
  Tensor a = x * 2.0;
  Tensor y = a * a + a;
  y.backward();
  CHECK(grad_of(x)[0] == doctest::Approx((2 * 3.0 + 1) * 2));
}

TEST_CASE("diamond graph: both branches of b = exp(x) reach x once each") {
  // y = 3b + 4b = 7 exp(x)  ->  dy/dx = 7 exp(x)
  Tensor x = leaf({0.5});
  Tensor b = exp(x);
  Tensor y = b * 3.0 + b * 4.0;
  y.backward();
  CHECK(grad_of(x)[0] == doctest::Approx(7 * std::exp(0.5)));
}

TEST_CASE("the pending gradient of an inner node is complete before its backward runs") {
  // b feeds y directly and through c = exp(b): dy/db = 1 + exp(b), and it
  // must reach x as one sum, so dy/dx = (1 + exp(b)) * cos-free chain 2.
  Tensor x = leaf({0.3});
  Tensor b = x * 2.0;
  Tensor y = b + exp(b);
  y.backward();
  CHECK(grad_of(x)[0] == doctest::Approx((1 + std::exp(0.6)) * 2));
}

TEST_CASE("gradients accumulate across two backward calls until zero_grad") {
  Tensor x = leaf({2.0});
  (x * x).backward();
  (x * x).backward();
  CHECK(grad_of(x)[0] == doctest::Approx(8.0));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  (x * 3.0).backward();
  CHECK(grad_of(x)[0] == doctest::Approx(3.0));
}

TEST_CASE("retain_graph allows a second backward; without it the graph is freed") {
  Tensor x = leaf({2.0});
  Tensor y = exp(x) * x;
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(grad_of(x)[0] == doctest::Approx(2 * (std::exp(2.0) + 2 * std::exp(2.0))));
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("already freed"), Error);
}

TEST_CASE("NoGradGuard: no graph inside, restored after, nestable") {
  Tensor x = leaf({1.0});
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      CHECK_FALSE(grad_enabled());
    }
    CHECK_FALSE(grad_enabled());
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(grad_enabled());
  CHECK((x * 2.0).requires_grad());
}

TEST_CASE("detach cuts the graph: gradient flows only through the attached path") {
  // y = x * detach(x): only the first factor is differentiated -> dy/dx = x
  Tensor x = leaf({3.0});
  Tensor y = x * x.detach();
  y.backward();
  CHECK(grad_of(x)[0] == doctest::Approx(3.0));
  CHECK(x.detach().storage() == x.storage());
  CHECK_FALSE(x.detach().requires_grad());
}

TEST_CASE("only inputs that require grad receive a gradient") {
  Tensor w = leaf({2.0});
  Tensor c = tensor({5.0}, {}, DType::Float64);
  (w * c).backward();
  CHECK(grad_of(w)[0] == doctest::Approx(5.0));
  CHECK_FALSE(c.grad().defined());
}

TEST_CASE("backward of a non-scalar needs an explicit gradient (vector-Jacobian product)") {
  Tensor x = leaf({1.0, 2.0, 3.0}, {3});
  Tensor y = x * x;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("shape [3]"), Error);
  y.backward(tensor({1.0, 0.0, -1.0}, {3}, DType::Float64));
  CHECK(grad_of(x) == std::vector<double>{2.0, 0.0, -6.0});
  CHECK_THROWS_WITH_AS(y.backward(ones({2}, DType::Float64)), doctest::Contains("does not match"), Error);
}

TEST_CASE("backward from a tensor without a graph is an error that says why") {
  Tensor plain = tensor({1.0});
  CHECK_THROWS_WITH_AS(plain.backward(), doctest::Contains("does not require grad"), Error);
  Tensor x = leaf({1.0, 5.0}, {2});
  Tensor index = argmax(x);
  CHECK_THROWS_WITH_AS(index.to(DType::Float64).backward(), doctest::Contains("not differentiable"), Error);
}

TEST_CASE("backward from a leaf accumulates the gradient into it") {
  Tensor x = leaf({4.0});
  x.backward();
  CHECK(grad_of(x)[0] == 1.0);
}

TEST_CASE("a backward returning a gradient of the wrong shape is caught and named") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y = zeros({2}, DType::Float64);
  record("broken", {x}, y, [](const Tensor&) { return TensorList{ones({3}, DType::Float64)}; });
  CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("broken backward: gradient [3]"), Error);
}

TEST_CASE("errors inside a backward function name the op") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y = exp(x);
  Tensor z = y * y;  // saves y
  {
    NoGradGuard no_grad;
    y.detach().fill_(0.0);  // overwrite what mul saved
  }
  CHECK_THROWS_WITH_AS(sum(z).backward(), doctest::Contains("mul backward: a tensor saved for backward was modified"),
                       Error);
}

TEST_CASE("deep graphs: 100,000 chained ops run backward and free without recursion") {
  Tensor x = leaf({1.0});
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  y.backward();
  CHECK(grad_of(x)[0] == 1.0);
  y = Tensor();  // releasing the chain must not overflow the stack either
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z + 0.0;
  z = Tensor();
  CHECK(x.grad().defined());
}

TEST_CASE("broadcasting is undone in backward: grads have the inputs' shapes") {
  Tensor a = leaf({1.0, 2.0, 3.0}, {3});
  Tensor b = leaf({10.0, 20.0}, {2, 1});
  sum(a * b).backward();  // [2, 3]
  CHECK(a.grad().shape() == Shape{3});
  CHECK(b.grad().shape() == Shape{2, 1});
  CHECK(grad_of(a) == std::vector<double>{30.0, 30.0, 30.0});
  CHECK(grad_of(b) == std::vector<double>{6.0, 6.0});
}

TEST_CASE("end to end: a 2-layer tanh MLP learns XOR with hand-written SGD") {
  const Tensor inputs = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor targets = tensor({0, 1, 1, 0}, {4, 1});
  Generator gen(7);
  Tensor w1 = randn({2, 8}, DType::Float32, &gen), b1 = zeros({8});
  Tensor w2 = randn({8, 1}, DType::Float32, &gen), b2 = zeros({1});
  std::vector<Tensor> params = {w1, b1, w2, b2};
  for (Tensor& p : params) p.set_requires_grad(true);

  float loss_value = 0;
  for (int step = 0; step < 500; ++step) {
    const Tensor hidden = tanh(matmul(inputs, w1) + b1);
    const Tensor output = matmul(hidden, w2) + b2;
    const Tensor diff = output - targets;
    const Tensor loss = mean(diff * diff);
    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : params) p.add_(p.grad(), -0.2);  // p -= lr * dL/dp
    loss_value = static_cast<float>(loss.item());
  }
  const Tensor hidden = tanh(matmul(inputs, w1) + b1);
  const Tensor predicted = gt(matmul(hidden, w2) + b2, 0.5);
  CHECK(eq(predicted, gt(targets, 0.5)).to_vector<bool>() == std::vector<bool>{true, true, true, true});
  CHECK(loss_value < 0.01);
}

TEST_CASE("an op skips the gradient of an input that needs none: data @ W") {
  // dW = data^T @ dY; data gets nothing (its gradient is never computed).
  const Tensor data = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  Tensor w = leaf({1, -1, 0.5}, {3, 1});
  sum(matmul(data, w)).backward();
  CHECK(grad_of(w) == std::vector<double>{5.0, 7.0, 9.0});
  CHECK_FALSE(data.grad().defined());
  check_gradcheck([&](const TensorList& in) { return matmul(data, in[0]); }, {w});
}

TEST_CASE("FrozenParameters: gradients flow through frozen weights to the input, not into them, until the scope ends") {
  Tensor w = leaf({2.0, 3.0}, {2}), x = leaf({5.0, 7.0}, {2});
  {
    const FrozenParameters frozen({{"w", w}});
    CHECK_FALSE(w.requires_grad());
    sum(w * x).backward();
  }
  CHECK(w.requires_grad());
  CHECK_FALSE(w.grad().defined());
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2.0, 3.0});
  // An error inside the scope still gives the parameters back.
  const auto failing_step = [&] {
    const FrozenParameters frozen({{"w", w}});
    fail("step failed");
  };
  CHECK_THROWS_WITH_AS(failing_step(), "step failed", Error);
  CHECK(w.requires_grad());
  sum(w * x).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{5.0, 7.0});
}
