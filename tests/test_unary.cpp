// test_unary.cpp — the element-wise unary ops (ops/unary.cpp): float64
// gradchecks on contiguous, transposed and sliced inputs, backward values
// against closed forms, forward values against <cmath> in float32 and
// float64, integer forms, and the errors.
#include <cmath>
#include <functional>
#include <limits>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// Strictly positive values, for log, sqrt and fractional powers.
Tensor positive(const Tensor& x) { return abs(x) + 0.5; }

void check_near(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(1e-12), "at " << i);
}

// op(x) against ref(v) computed in the same C++ type, element by element.
template <typename T, typename Op, typename Ref>
void check_forward_as(Op op, Ref ref, const std::vector<double>& values) {
  const Tensor y = op(tensor(values, {}, dtype_of<T>()));
  REQUIRE(y.dtype() == dtype_of<T>());
  const std::vector<T> got = y.to_vector<T>();
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  for (size_t i = 0; i < values.size(); ++i) {
    const T want = ref(static_cast<T>(values[i]));
    CHECK_MESSAGE(got[i] == doctest::Approx(want).epsilon(eps), dtype_of<T>() << " at x = " << values[i]);
  }
}

template <typename Op, typename Ref>
void check_forward(Op op, Ref ref, const std::vector<double>& values) {
  check_forward_as<float>(op, ref, values);
  check_forward_as<double>(op, ref, values);
}

}  // namespace

// ---- gradchecks (float64; contiguous, transposed, sliced) ---------------------

TEST_CASE("neg: gradcheck contiguous, transposed, sliced") {
  check_grad_layouts([](const Tensor& t) { return neg(t); }, randn64({3, 4}, 1));
}

TEST_CASE("abs: gradcheck contiguous, transposed, sliced (away from 0)") {
  check_grad_layouts([](const Tensor& t) { return abs(t); }, away_from_zero(randn64({3, 4}, 2), 0.25));
}

TEST_CASE("exp: gradcheck contiguous, transposed, sliced") {
  check_grad_layouts([](const Tensor& t) { return exp(t); }, randn64({3, 4}, 3));
}

TEST_CASE("log: gradcheck contiguous, transposed, sliced (positive inputs)") {
  check_grad_layouts([](const Tensor& t) { return log(t); }, positive(randn64({3, 4}, 4)));
}

TEST_CASE("sqrt: gradcheck contiguous, transposed, sliced (positive inputs)") {
  check_grad_layouts([](const Tensor& t) { return sqrt(t); }, positive(randn64({3, 4}, 5)));
}

TEST_CASE("pow: gradcheck contiguous, transposed, sliced for several exponents") {
  for (double p : {2.0, 3.0, 1.0}) {
    CAPTURE(p);
    check_grad_layouts([p](const Tensor& t) { return pow(t, p); }, randn64({3, 4}, 6));  // integer powers: any sign
  }
  for (double p : {0.5, -1.5, 2.5}) {
    CAPTURE(p);
    check_grad_layouts([p](const Tensor& t) { return pow(t, p); }, positive(randn64({3, 4}, 7)));
  }
}

TEST_CASE("relu: gradcheck contiguous, transposed, sliced (away from 0)") {
  check_grad_layouts([](const Tensor& t) { return relu(t); }, away_from_zero(randn64({3, 4}, 8), 0.25));
}

TEST_CASE("leaky_relu: gradcheck contiguous, transposed, sliced (default and 0.2 slope)") {
  check_grad_layouts([](const Tensor& t) { return leaky_relu(t); }, away_from_zero(randn64({3, 4}, 9), 0.25));
  check_grad_layouts([](const Tensor& t) { return leaky_relu(t, 0.2); }, away_from_zero(randn64({3, 4}, 10), 0.25));
}

TEST_CASE("sigmoid: gradcheck contiguous, transposed, sliced") {
  check_grad_layouts([](const Tensor& t) { return sigmoid(t); }, randn64({3, 4}, 11) * 3.0);
}

TEST_CASE("tanh: gradcheck contiguous, transposed, sliced") {
  check_grad_layouts([](const Tensor& t) { return tanh(t); }, randn64({3, 4}, 12) * 2.0);
}

TEST_CASE("clamp: gradcheck contiguous, transposed, sliced (below, inside, above the bounds)") {
  // Bounds -0.5 and 0.5; no value within 0.1 of either.
  const Tensor x = tensor({-2.0, -0.9, -0.3, 0.0, 0.2, 0.35, 0.8, 1.7, -1.1, 0.1, -0.2, 3.0}, {3, 4}, DType::Float64);
  check_grad_layouts([](const Tensor& t) { return clamp(t, -0.5, 0.5); }, x);
}

TEST_CASE("unary ops compose: gradcheck of tanh(exp(x) * sigmoid(x)) + sqrt(x * x + 1)") {
  check_grad_layouts([](const Tensor& t) { return tanh(exp(t) * sigmoid(t)) + sqrt(t * t + 1.0); },
                     randn64({3, 4}, 13));
}

// ---- backward against closed forms ---------------------------------------------

TEST_CASE("unary backward values match the closed-form derivatives") {
  const double e = std::exp(1.0);
  check_near(grad_of([](const Tensor& t) { return neg(t); }, {-2.0, 3.0}), {-1.0, -1.0});
  check_near(grad_of([](const Tensor& t) { return abs(t); }, {-2.0, 0.0, 3.0}), {-1.0, 0.0, 1.0});  // 0 at 0
  check_near(grad_of([](const Tensor& t) { return exp(t); }, {0.0, 1.0}), {1.0, e});
  check_near(grad_of([](const Tensor& t) { return log(t); }, {2.0, 0.25}), {0.5, 4.0});
  check_near(grad_of([](const Tensor& t) { return sqrt(t); }, {4.0, 0.25}), {0.25, 1.0});
  check_near(grad_of([](const Tensor& t) { return pow(t, 2.0); }, {3.0, -1.5}), {6.0, -3.0});
  check_near(grad_of([](const Tensor& t) { return pow(t, 0.5); }, {4.0}), {0.25});
  check_near(grad_of([](const Tensor& t) { return pow(t, -1.0); }, {2.0}), {-0.25});
  check_near(grad_of([](const Tensor& t) { return relu(t); }, {-1.0, 2.0}), {0.0, 1.0});
  check_near(grad_of([](const Tensor& t) { return leaky_relu(t, 0.2); }, {-1.0, 2.0}), {0.2, 1.0});
  check_near(grad_of([](const Tensor& t) { return leaky_relu(t); }, {-1.0, 2.0}), {0.01, 1.0});
  const double s1 = 1 / (1 + std::exp(-1.0));
  check_near(grad_of([](const Tensor& t) { return sigmoid(t); }, {0.0, 1.0}), {0.25, s1 * (1 - s1)});
  check_near(grad_of([](const Tensor& t) { return tanh(t); }, {0.0, 1.0}), {1.0, 1 - std::tanh(1.0) * std::tanh(1.0)});
  // Inside [lo, hi] (boundaries included, as PyTorch) the gradient passes.
  check_near(grad_of([](const Tensor& t) { return clamp(t, -1.0, 1.0); }, {-2.0, -1.0, 0.0, 1.0, 2.0}),
             {0.0, 1.0, 1.0, 1.0, 0.0});
}

TEST_CASE("pow: exponent 0 has gradient 0 everywhere, also at x = 0 (not 0 * inf = NaN)") {
  check_near(grad_of([](const Tensor& t) { return pow(t, 0.0); }, {0.0, 2.0, -3.0}), {0.0, 0.0, 0.0});
}

TEST_CASE("sigmoid and tanh: gradients at large |x| are finite and vanish") {
  for (const std::vector<double>& g : {grad_of([](const Tensor& t) { return sigmoid(t); }, {-100.0, 100.0, -1000.0}),
                                       grad_of([](const Tensor& t) { return tanh(t); }, {-100.0, 100.0, 1000.0})}) {
    for (double v : g) {
      CHECK(std::isfinite(v));
      CHECK(std::fabs(v) < 1e-40);
    }
  }
}

// ---- forward values ---------------------------------------------------------------

TEST_CASE("unary forward values match <cmath> in float32 and float64") {
  const std::vector<double> any = {-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 7.25};
  const std::vector<double> pos = {0.01, 0.5, 1.0, 2.0, 10.0, 1e6};
  check_forward([](const Tensor& t) { return neg(t); }, [](auto v) { return -v; }, any);
  check_forward([](const Tensor& t) { return -t; }, [](auto v) { return -v; }, any);
  check_forward([](const Tensor& t) { return abs(t); }, [](auto v) { return std::abs(v); }, any);
  check_forward([](const Tensor& t) { return exp(t); }, [](auto v) { return std::exp(v); }, any);
  check_forward([](const Tensor& t) { return log(t); }, [](auto v) { return std::log(v); }, pos);
  check_forward([](const Tensor& t) { return sqrt(t); }, [](auto v) { return std::sqrt(v); }, pos);
  check_forward([](const Tensor& t) { return tanh(t); }, [](auto v) { return std::tanh(v); }, any);
  check_forward([](const Tensor& t) { return relu(t); }, [](auto v) { return v > 0 ? v : decltype(v)(0); }, any);
  check_forward([](const Tensor& t) { return sigmoid(t); }, [](auto v) { return 1 / (1 + std::exp(-v)); }, any);
  const std::vector<double> nonzero = {-3.5, -1.0, -0.25, 0.5, 2.0, 7.25};
  for (double p : {2.0, 3.0, -1.0, 0.0}) {
    CAPTURE(p);
    check_forward([p](const Tensor& t) { return pow(t, p); }, [p](auto v) { return std::pow(v, decltype(v)(p)); },
                  nonzero);
  }
  check_forward([](const Tensor& t) { return pow(t, 0.5); }, [](auto v) { return std::pow(v, decltype(v)(0.5)); }, pos);
}

TEST_CASE("unary forward: special values (log 0, sqrt of a negative, abs of -0)") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    CHECK(log(tensor({0.0}, {}, dtype)).item() == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(log(tensor({-1.0}, {}, dtype)).item()));
    CHECK(std::isnan(sqrt(tensor({-1.0}, {}, dtype)).item()));
    const double a = abs(tensor({-0.0}, {}, dtype)).item();
    CHECK(a == 0.0);
    CHECK_FALSE(std::signbit(a));  // std::abs(-0.0) is +0.0
    CHECK(std::isnan(relu(tensor({NAN}, {}, dtype)).item()));  // NaN propagates, as torch.relu
  }
}

TEST_CASE("sigmoid at large |x| saturates to 0 and 1 without NaN or inf") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    const std::vector<double> y = sigmoid(tensor({-1000.0, -100.0, 100.0, 1000.0}, {}, dtype)).to_vector<double>();
    for (double v : y) CHECK((std::isfinite(v) && v >= 0.0 && v <= 1.0));
    CHECK(y[0] == 0.0);
    CHECK(y[1] < 1e-40);
    CHECK(y[2] == 1.0);
    CHECK(y[3] == 1.0);
  }
}

// The CPU's one-pass kernel against Backend's default (gt, mul, where),
// which backends without their own kernel run: the same bits.
TEST_CASE("leaky_relu_backward: the CPU kernel equals the Backend default, on a transposed x") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor x = away_from_zero(randn64({5, 7}, 41), 0.1).to(dtype).t();
    const Tensor dy = randn64({7, 5}, 42).to(dtype);
    Backend& cpu = backend(Device::cpu());
    const Tensor fast = Tensor::empty(x.shape(), dtype), reference = Tensor::empty(x.shape(), dtype);
    cpu.leaky_relu_backward(x, dy, 0.2, fast);
    cpu.Backend::leaky_relu_backward(x, dy, 0.2, reference);
    CHECK(fast.to_vector<double>() == reference.to_vector<double>());
  }
}

TEST_CASE("leaky_relu: negative inputs scale by the slope, default slope 0.01") {
  const Tensor x = tensor({-2.0, -0.5, 0.0, 3.0}, {}, DType::Float64);
  check_near(leaky_relu(x, 0.2).to_vector<double>(), {-0.4, -0.1, 0.0, 3.0});
  check_near(leaky_relu(x).to_vector<double>(), {-0.02, -0.005, 0.0, 3.0});
  CHECK(leaky_relu(tensor({-2.0}), 0.2).item() == doctest::Approx(-0.4));  // float32
}

TEST_CASE("clamp: values outside the bounds become the bounds; min == max is allowed") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    const Tensor x = tensor({-3.0, -1.0, -0.5, 0.0, 1.0, 3.0}, {}, dtype);
    CHECK(clamp(x, -1.0, 1.0).to_vector<double>() == std::vector<double>{-1.0, -1.0, -0.5, 0.0, 1.0, 1.0});
    CHECK(clamp(x, 0.5, 0.5).to_vector<double>() == std::vector<double>(6, 0.5));
    CHECK(clamp(x, -std::numeric_limits<double>::infinity(), 0.0).to_vector<double>() ==
          std::vector<double>{-3.0, -1.0, -0.5, 0.0, 0.0, 0.0});
  }
}

TEST_CASE("unary forward on a transposed or sliced input equals the op on a contiguous copy") {
  const Tensor x = positive(randn64({3, 4}, 14));
  const UnaryFn ops[] = {
      [](const Tensor& t) { return neg(t); },     [](const Tensor& t) { return abs(t); },
      [](const Tensor& t) { return exp(t); },     [](const Tensor& t) { return log(t); },
      [](const Tensor& t) { return sqrt(t); },    [](const Tensor& t) { return pow(t, 1.5); },
      [](const Tensor& t) { return relu(t); },    [](const Tensor& t) { return leaky_relu(t - 1.0, 0.3); },
      [](const Tensor& t) { return sigmoid(t); }, [](const Tensor& t) { return tanh(t); },
      [](const Tensor& t) { return clamp(t, 0.7, 1.2); },
  };
  for (const Tensor& view : {x.transpose(0, 1), x.slice(1, 1, 4, 2)}) {
    REQUIRE_FALSE(view.is_contiguous());
    for (size_t i = 0; i < std::size(ops); ++i) {
      CAPTURE(i);
      const Tensor got = ops[i](view);
      CHECK(got.shape() == view.shape());
      CHECK(got.to_vector<double>() == ops[i](view.contiguous()).to_vector<double>());
    }
  }
}

// ---- integer tensors -------------------------------------------------------------

TEST_CASE("neg, abs, relu, clamp on int64 stay int64 and are exact") {
  const Tensor x = int64s({-3, -1, 0, 2, 5});
  for (const Tensor& y : {neg(x), abs(x), relu(x), clamp(x, -1, 2), -x}) CHECK(y.dtype() == DType::Int64);
  CHECK(neg(x).to_vector<int64_t>() == std::vector<int64_t>{3, 1, 0, -2, -5});
  CHECK(abs(x).to_vector<int64_t>() == std::vector<int64_t>{3, 1, 0, 2, 5});
  CHECK(relu(x).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 2, 5});
  CHECK(clamp(x, -1, 2).to_vector<int64_t>() == std::vector<int64_t>{-1, -1, 0, 2, 2});
  // Large values are not rounded through double.
  const int64_t big = (int64_t{1} << 60) + 1;
  const Tensor b = from_host(&big, {1}, DType::Int64);
  CHECK(neg(b).to_vector<int64_t>()[0] == -big);
}

TEST_CASE("clamp on integer tensors: infinite or out-of-range bounds saturate to the type's range") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(clamp(int64s({-5, 3, 7}), 0, inf).to_vector<int64_t>() == std::vector<int64_t>{0, 3, 7});
  CHECK(clamp(int64s({-5, 3, 7}), -inf, 4).to_vector<int64_t>() == std::vector<int64_t>{-5, 3, 4});
  const Tensor u = tensor({0, 7, 200}, {}, DType::UInt8);
  CHECK(clamp(u, -1, 100).to_vector<int64_t>() == std::vector<int64_t>{0, 7, 100});
  CHECK(clamp(u, 5, 1000).to_vector<int64_t>() == std::vector<int64_t>{5, 7, 200});
}

// ---- errors ------------------------------------------------------------------------

TEST_CASE("floating-only unary ops refuse integer tensors, naming the op, dtype and shape") {
  const Tensor i = int64s({1, 2});
  CHECK_THROWS_WITH_AS(exp(i), doctest::Contains("exp: expected a float32 or float64 tensor, got int64 [2]"), Error);
  CHECK_THROWS_WITH_AS(log(i), doctest::Contains("log: expected a float32 or float64 tensor, got int64 [2]"), Error);
  CHECK_THROWS_WITH_AS(sqrt(i), doctest::Contains("sqrt: expected a float32 or float64 tensor, got int64"), Error);
  CHECK_THROWS_WITH_AS(pow(i, 2.0), doctest::Contains("pow: expected a float32 or float64 tensor, got int64"), Error);
  CHECK_THROWS_WITH_AS(sigmoid(i), doctest::Contains("sigmoid: expected a float32 or float64 tensor"), Error);
  CHECK_THROWS_WITH_AS(tanh(i), doctest::Contains("tanh: expected a float32 or float64 tensor"), Error);
  CHECK_THROWS_WITH_AS(leaky_relu(i), doctest::Contains("leaky_relu: expected a float32 or float64 tensor"), Error);
}

TEST_CASE("unary ops refuse bool tensors, naming the op and shape") {
  const Tensor b = tensor({1, 0, 1}, {}, DType::Bool);
  CHECK_THROWS_WITH_AS(neg(b), doctest::Contains("neg: not defined for bool tensors (shape [3])"), Error);
  CHECK_THROWS_WITH_AS(-b, doctest::Contains("neg: not defined for bool tensors"), Error);
  CHECK_THROWS_WITH_AS(abs(b), doctest::Contains("abs: not defined for bool tensors"), Error);
  CHECK_THROWS_WITH_AS(relu(b), doctest::Contains("relu: not defined for bool tensors"), Error);
  CHECK_THROWS_WITH_AS(clamp(b, 0, 1), doctest::Contains("clamp: not defined for bool tensors"), Error);
  CHECK_THROWS_WITH_AS(exp(b), doctest::Contains("exp: expected a float32 or float64 tensor, got bool [3]"), Error);
}

TEST_CASE("clamp: min > max is an error naming both bounds") {
  CHECK_THROWS_WITH_AS(clamp(tensor({1.0}), 2.0, 1.0), doctest::Contains("clamp: min 2 > max 1"), Error);
  CHECK_THROWS_WITH_AS(clamp(tensor({1.0}), NAN, 1.0), doctest::Contains("clamp: min nan > max 1"), Error);
}

TEST_CASE("clamp: a fractional bound with an integer tensor is refused, not truncated") {
  // clamp(0, 0.5, 3) would silently give 0 (the bound truncated to 0).
  CHECK_THROWS_WITH_AS(clamp(int64s({0, 4}), 0.5, 3),
                       doctest::Contains("clamp: bounds 0.5 and 3 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(clamp(int64s({0, 4}), 0, 2.5), doctest::Contains("would be truncated"), Error);
  CHECK(clamp(tensor({0.0, 4.0}), 0.5, 2.5).to_vector<double>() == std::vector<double>{0.5, 2.5});
}

TEST_CASE("unary ops on a tensor that requires grad record a node; without grad they do not") {
  Tensor x = tensor({0.5, 1.5}, {}, DType::Float64);
  CHECK_FALSE(exp(x).requires_grad());
  x.set_requires_grad(true);
  const Tensor y = exp(x);
  CHECK(y.requires_grad());
  REQUIRE_FALSE(y.is_leaf());
  CHECK(y.grad_fn()->name == "exp");
  NoGradGuard no_grad;
  CHECK_FALSE(sigmoid(x).requires_grad());
}
