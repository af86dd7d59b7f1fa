// test_gradcheck.cpp — the checker itself: it must pass correct gradients
// and, just as important, fail wrong ones (a checker that cannot fail proves
// nothing).
#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

TEST_CASE("gradcheck passes a correct gradient: sigmoid(w * x + b)") {
  Tensor w = leaf({0.5, -1.5, 2.0}, {3});
  Tensor x = leaf({1.0, 0.25, -0.75}, {3});
  Tensor b = leaf({0.1}, {1});
  const GradcheckResult r = gradcheck([](const TensorList& in) { return sigmoid(in[0] * in[1] + in[2]); }, {w, x, b});
  CHECK_MESSAGE(r.passed, r.str());
  CHECK(r.max_abs_error < 1e-8);
}

TEST_CASE("gradcheck fails a wrong gradient and points at it") {
  // An op whose backward is deliberately off by a factor 2 on element 1.
  auto wrong_square = [](const TensorList& in) {
    const Tensor& x = in[0];
    Tensor y;
    {
      NoGradGuard no_grad;
      y = x * x;
    }
    record("wrong_square", {x}, y, [xs = save(x)](const Tensor& dy) {
      Tensor dx = dy * xs.get() * 2.0;
      dx.select(0, 1).mul_(2.0);  // the bug
      return TensorList{dx};
    });
    return y;
  };
  Tensor x = leaf({1.0, 2.0, 3.0}, {3});
  const GradcheckResult r = gradcheck(wrong_square, {x});
  CHECK_FALSE(r.passed);
  CHECK(r.element == 1);
  CHECK(r.output == 1);
  CHECK(r.analytic == doctest::Approx(8.0));
  CHECK(r.numeric == doctest::Approx(4.0));
}

TEST_CASE("gradcheck restores the inputs and their gradients") {
  Tensor x = leaf({1.0, 2.0}, {2});
  x.set_grad(tensor({7.0, 8.0}, {2}, DType::Float64));
  gradcheck([](const TensorList& in) { return exp(in[0]); }, {x});
  CHECK(x.to_vector<double>() == std::vector<double>{1.0, 2.0});
  CHECK(x.grad().to_vector<double>() == std::vector<double>{7.0, 8.0});
}

TEST_CASE("gradcheck refuses float32 inputs") {
  Tensor x = tensor({1.0, 2.0}, {2});
  x.set_requires_grad(true);
  CHECK_THROWS_AS(gradcheck([](const TensorList& in) { return exp(in[0]); }, {x}), Error);
}
