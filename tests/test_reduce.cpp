// test_reduce.cpp — sum, mean, max, argmax, var and sum_to: gradients
// (gradcheck, contiguous and strided inputs, and closed forms), forward
// values against PyTorch 1.13 reference numbers, integer/bool/NaN edge cases,
// error messages, and argmax being cut out of the graph.
#include <cmath>
#include <functional>
#include <utility>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

using NamedFns = std::vector<std::pair<const char*, UnaryFn>>;

// A float64 leaf [2, 3, 4] of 24 distinct values (gaps >= 1/24, far above
// gradcheck's eps, so max never meets a tie under the finite differences).
Tensor distinct_leaf(const Shape& shape = {2, 3, 4}) {
  const int64_t n = shape_numel(shape);
  std::vector<double> values;
  for (int64_t i = 0; i < n; ++i) values.push_back(static_cast<double>((i * 7) % n) / n - 0.5 + 0.01 * i / n);
  return leaf(values, shape);
}

// Gradchecks fn on a fresh leaf for each named case.
void gradcheck_each(const NamedFns& fns, const Shape& shape = {2, 3, 4}) {
  for (const auto& [name, fn] : fns) {
    Tensor x = distinct_leaf(shape);
    check_gradcheck([&fn = fn](const TensorList& in) { return fn(in[0]); }, {x}, name);
  }
}

// The 24 values behind the PyTorch references below, as a [2, 3, 4] tensor.
Tensor ref_input(DType dtype) {
  return tensor({0.3, -1.7, 2.45, 0.05, -0.6, 1.1, 3.2,  -2.25, 0.75,  -0.15, 1.9, -3.05,
                 0.45, 2.8, -1.35, 0.95, -0.85, 1.55, -2.6, 0.2, 2.15, -0.4, 1.25, -1.95},
                {2, 3, 4}, dtype);
}

}  // namespace

// ---- gradcheck ----------------------------------------------------------------

TEST_CASE("sum gradcheck: all dims, one dim, several dims, keepdim, negative dims") {
  gradcheck_each({{"sum()", [](const Tensor& x) { return sum(x); }},
                  {"sum({1})", [](const Tensor& x) { return sum(x, {1}); }},
                  {"sum({0, 2})", [](const Tensor& x) { return sum(x, {0, 2}); }},
                  {"sum({}, keepdim)", [](const Tensor& x) { return sum(x, {}, true); }},
                  {"sum({1}, keepdim)", [](const Tensor& x) { return sum(x, {1}, true); }},
                  {"sum({-1})", [](const Tensor& x) { return sum(x, {-1}); }},
                  {"sum({-3, -1}, keepdim)", [](const Tensor& x) { return sum(x, {-3, -1}, true); }}});
}

TEST_CASE("mean gradcheck: all dims, one dim, several dims, keepdim, negative dims") {
  gradcheck_each({{"mean()", [](const Tensor& x) { return mean(x); }},
                  {"mean({1})", [](const Tensor& x) { return mean(x, {1}); }},
                  {"mean({0, 2})", [](const Tensor& x) { return mean(x, {0, 2}); }},
                  {"mean({}, keepdim)", [](const Tensor& x) { return mean(x, {}, true); }},
                  {"mean({1}, keepdim)", [](const Tensor& x) { return mean(x, {1}, true); }},
                  {"mean({-1})", [](const Tensor& x) { return mean(x, {-1}); }},
                  {"mean({-3, -1}, keepdim)", [](const Tensor& x) { return mean(x, {-3, -1}, true); }}});
}

TEST_CASE("max gradcheck over dims (distinct values, no ties)") {
  gradcheck_each({{"max()", [](const Tensor& x) { return max(x); }},
                  {"max({1})", [](const Tensor& x) { return max(x, {1}); }},
                  {"max({0, 2})", [](const Tensor& x) { return max(x, {0, 2}); }},
                  {"max({-1}, keepdim)", [](const Tensor& x) { return max(x, {-1}, true); }},
                  {"max({-3, 1}, keepdim)", [](const Tensor& x) { return max(x, {-3, 1}, true); }}});
}

TEST_CASE("var gradcheck: unbiased and biased, over dims, keepdim") {
  gradcheck_each({{"var()", [](const Tensor& x) { return var(x); }},
                  {"var() biased", [](const Tensor& x) { return var(x, {}, false); }},
                  {"var({1})", [](const Tensor& x) { return var(x, {1}); }},
                  {"var({0, 2}) biased", [](const Tensor& x) { return var(x, {0, 2}, false); }},
                  {"var({-1}, keepdim)", [](const Tensor& x) { return var(x, {-1}, true, true); }},
                  {"var({0, -1}) biased keepdim", [](const Tensor& x) { return var(x, {0, -1}, false, true); }}});
}

TEST_CASE("sum_to gradcheck: leading dims, size-1 dims, scalar, unchanged") {
  gradcheck_each({{"sum_to [3, 4]", [](const Tensor& x) { return sum_to(x, {3, 4}); }},
                  {"sum_to [3, 1]", [](const Tensor& x) { return sum_to(x, {3, 1}); }},
                  {"sum_to [2, 1, 4]", [](const Tensor& x) { return sum_to(x, {2, 1, 4}); }},
                  {"sum_to [1, 1, 1]", [](const Tensor& x) { return sum_to(x, {1, 1, 1}); }},
                  {"sum_to []", [](const Tensor& x) { return sum_to(x, {}); }},
                  {"sum_to same shape", [](const Tensor& x) { return sum_to(x, {2, 3, 4}); }}});
}

TEST_CASE("reductions gradcheck on non-contiguous inputs (permute, transpose, slice)") {
  // The leaf is [4, 3, 2]; each case views it non-contiguously first.
  auto permuted = [](const Tensor& x) { return x.permute({2, 0, 1}); };        // [2, 4, 3]
  auto transposed = [](const Tensor& x) { return x.transpose(0, 2); };         // [2, 3, 4]
  auto sliced = [](const Tensor& x) { return x.slice(0, 0, 4, 2).slice(1, 1, 3); };  // [2, 2, 2]
  for (const UnaryFn& view : {UnaryFn(permuted), UnaryFn(transposed), UnaryFn(sliced)}) {
    Tensor probe = distinct_leaf({4, 3, 2});
    CHECK_FALSE(view(probe).is_contiguous());
  }
  gradcheck_each({{"sum(permuted, {1})", [&](const Tensor& x) { return sum(permuted(x), {1}); }},
                  {"sum(sliced)", [&](const Tensor& x) { return sum(sliced(x)); }},
                  {"mean(transposed, {0, 2})", [&](const Tensor& x) { return mean(transposed(x), {0, 2}); }},
                  {"mean(sliced, {-1}, keepdim)", [&](const Tensor& x) { return mean(sliced(x), {-1}, true); }},
                  {"max(permuted, {2})", [&](const Tensor& x) { return max(permuted(x), {2}); }},
                  {"max(sliced, {0, 1})", [&](const Tensor& x) { return max(sliced(x), {0, 1}); }},
                  {"var(transposed, {1})", [&](const Tensor& x) { return var(transposed(x), {1}); }},
                  {"var(permuted) biased", [&](const Tensor& x) { return var(permuted(x), {}, false); }},
                  {"sum_to(transposed, [3, 1])", [&](const Tensor& x) { return sum_to(transposed(x), {3, 1}); }},
                  {"sum_to(sliced, [2, 1])", [&](const Tensor& x) { return sum_to(sliced(x), {2, 1}); }}},
                 {4, 3, 2});
}

// ---- closed-form gradients ------------------------------------------------------

TEST_CASE("sum, mean and sum_to backward match closed forms (1, 1/N, broadcast)") {
  Tensor x = distinct_leaf();
  sum(x).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>(24, 1.0));

  x.zero_grad();
  mean(x, {0, 2}).backward(tensor({1.0, 2.0, 3.0}, {3}, DType::Float64));  // N = 2 * 4
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (double row : {1.0, 2.0, 3.0}) expected.insert(expected.end(), 4, row / 8.0);
  CHECK(x.grad().to_vector<double>() == expected);

  x.zero_grad();
  sum_to(x, {3, 1}).backward(tensor({1.0, 2.0, 3.0}, {3, 1}, DType::Float64));
  expected.clear();
  for (int i = 0; i < 2; ++i)
    for (double row : {1.0, 2.0, 3.0}) expected.insert(expected.end(), 4, row);
  CHECK(x.grad().to_vector<double>() == expected);
}

TEST_CASE("var backward matches 2 (x - mean) / (N - 1), and / N when biased") {
  const std::vector<double> v = {1.0, 2.0, 4.0, 9.0};  // mean 4
  for (bool unbiased : {true, false}) {
    CAPTURE(unbiased);
    Tensor x = tensor(v, {4}, DType::Float64);
    x.set_requires_grad(true);
    Tensor y = var(x, {}, unbiased);
    CHECK(y.item() == doctest::Approx(unbiased ? 38.0 / 3 : 38.0 / 4));  // sum (x - 4)^2 = 9 + 4 + 0 + 25
    y.backward();
    const double divisor = unbiased ? 3.0 : 4.0;
    const std::vector<double> g = x.grad().to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(g[i] == doctest::Approx(2 * (v[i] - 4.0) / divisor));
  }
}

TEST_CASE("max backward sends the gradient to the maximum only") {
  Tensor x = tensor({0.5, 2.0, -1.0, 3.0, 1.0, 0.0}, {2, 3}, DType::Float64);
  x.set_requires_grad(true);
  max(x, {1}).backward(tensor({10.0, 20.0}, {2}, DType::Float64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 10, 0, 20, 0, 0});
}

TEST_CASE("max ties split the gradient evenly, like PyTorch's amax") {
  // t = torch.tensor([[1.,3,3],[2,2,2]], dtype=torch.float64, requires_grad=True)
  // t.amax(1).backward(torch.tensor([1.,6], dtype=torch.float64)); t.grad -> [[0,.5,.5],[2,2,2]]
  Tensor x = tensor({1, 3, 3, 2, 2, 2}, {2, 3}, DType::Float64);
  x.set_requires_grad(true);
  max(x, {1}).backward(tensor({1.0, 6.0}, {2}, DType::Float64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5, 2, 2, 2});

  // t = torch.tensor([[1.,3,3],[3,0,1]], ...); t.amax().backward() -> 1/3 at each 3
  Tensor y = tensor({1, 3, 3, 3, 0, 1}, {2, 3}, DType::Float64);
  y.set_requires_grad(true);
  max(y).backward();
  const double third = 1.0 / 3.0;
  CHECK(y.grad().to_vector<double>() == std::vector<double>{0, third, third, third, 0, 0});
}

// ---- forward values against PyTorch ------------------------------------------

// Produced with, for dt in (torch.float32, torch.float64):
//   x = torch.tensor(X, dtype=dt).reshape(2, 3, 4)   # X = the 24 values in ref_input()
//   x.sum(), x.sum(1), x.sum((0, -1)), x.mean(-1), x.mean((0, 2)), x.amax(1),
//   x.amax((0, 2)), x.var(2), x.var((0, 1), unbiased=False), x.var()
TEST_CASE("sum, mean, max, var forward values match PyTorch (float32 and float64)") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    const bool f32 = dtype == DType::Float32;
    const double eps = f32 ? 1e-6 : 1e-12;
    const Tensor x = ref_input(dtype);
    CHECK(sum(x).dtype() == dtype);
    check_values(sum(x), {}, {f32 ? 4.199999809265137 : 4.200000000000002}, eps);
    check_values(sum(x, {1}), {2, 4}, {0.45, -0.75, 7.55, -5.25, 1.75, 3.95, -2.7, -0.8}, eps);
    check_values(sum(x, {-1, 0}), {3}, {3.95, -0.25, 0.5}, eps);
    check_values(sum(x, {1}, true), {2, 1, 4}, {0.45, -0.75, 7.55, -5.25, 1.75, 3.95, -2.7, -0.8}, eps);
    check_values(mean(x, {-1}), {2, 3}, {0.275, 0.3625, -0.1375, 0.7125, -0.425, 0.2625}, eps);
    check_values(mean(x, {0, 2}), {3}, {0.49375, -0.03125, 0.0625}, eps);
    check_values(max(x, {1}), {2, 4}, {0.75, 1.1, 3.2, 0.05, 2.15, 2.8, 1.25, 0.95}, eps);
    check_values(max(x, {0, 2}, true), {1, 3, 1}, {2.8, 3.2, 2.15}, eps);
    if (f32) {
      check_values(var(x, {2}), {2, 3},
                   {2.8941667079925537, 5.448958396911621, 4.4739580154418945, 2.9122915267944336,
                    3.067499876022339, 3.2906250953674316},
                   eps);
      check_values(var(x, {0, 1}, false), {4},
                   {0.9588889479637146, 2.1363887786865234, 4.346180438995361, 2.168680429458618}, eps);
      check_values(var(x), {}, {3.0199999809265137}, eps);
    } else {
      check_values(var(x, {2}), {2, 3},
                   {2.894166666666667, 5.448958333333334, 4.473958333333332, 2.9122916666666665, 3.067500000000001,
                    3.290625},
                   eps);
      check_values(var(x, {0, 1}, false), {4},
                   {0.9588888888888887, 2.1363888888888884, 4.346180555555556, 2.168680555555555}, eps);
      check_values(var(x), {}, {3.0200000000000005}, eps);
    }
    CHECK(var(x, {2}).dtype() == dtype);
  }
}

TEST_CASE("reductions of a non-contiguous view read the view, not the storage") {
  const Tensor x = ref_input(DType::Float64);
  const Tensor xt = x.permute({2, 0, 1});  // [4, 2, 3]; xt[k, i, j] = x[i, j, k]
  REQUIRE_FALSE(xt.is_contiguous());
  // x.permute(2, 0, 1).sum((1, 2)) -> [2.2, 3.2, 4.85, -6.05]; .amax(0) -> [[2.45, 3.2, 1.9], [2.8, 1.55, 2.15]]
  check_values(sum(xt, {1, 2}), {4}, {2.2, 3.2, 4.85, -6.05}, 1e-12);
  check_values(max(xt, {0}), {2, 3}, {2.45, 3.2, 1.9, 2.8, 1.55, 2.15}, 1e-12);
}

TEST_CASE("sum of int64 stays int64; sum of bool counts into int64") {
  // torch.tensor([[1, -2, 3], [40, 50, -60]]).sum() -> 32 (int64); .sum(0) -> [41, 48, -57]
  const Tensor i = tensor({1, -2, 3, 40, 50, -60}, {2, 3}, DType::Int64);
  CHECK(sum(i).dtype() == DType::Int64);
  CHECK(sum(i).to_vector<int64_t>() == std::vector<int64_t>{32});
  CHECK(sum(i, {0}).to_vector<int64_t>() == std::vector<int64_t>{41, 48, -57});
  // Exact beyond 2^53, where a double accumulator would round.
  const Tensor big = tensor({9007199254740992.0, 1.0, 1.0}, {3}, DType::Int64);  // 2^53, 1, 1
  CHECK(sum(big).to_vector<int64_t>() == std::vector<int64_t>{9007199254740994});
  // torch.tensor([[True, False, True], [True, True, False]]).sum() -> 4; .sum(1) -> [2, 2]
  const Tensor b = tensor({1, 0, 1, 1, 1, 0}, {2, 3}, DType::Bool);
  CHECK(sum(b).dtype() == DType::Int64);
  CHECK(sum(b).to_vector<int64_t>() == std::vector<int64_t>{4});
  CHECK(sum(b, {1}).to_vector<int64_t>() == std::vector<int64_t>{2, 2});
}

TEST_CASE("mean of 1e6 float32 ones is exactly 1; float32 sums do not drift") {
  CHECK(mean(ones({1000000})).item() == 1.0);
  CHECK(mean(ones({1000, 1000}), {1}).to_vector<float>() == std::vector<float>(1000, 1.0f));
  // torch.full((1000000,), 0.1).mean() -> 0.10000000894069672; a naive
  // float32 running sum would give 0.10096.
  CHECK(mean(full({1000000}, 0.1)).item() == doctest::Approx(0.1).epsilon(1e-7));
}

TEST_CASE("var of a single element: unbiased is nan (as PyTorch), biased is 0") {
  // torch.tensor([2.5]).var() -> nan; torch.tensor([2.5]).var(unbiased=False) -> 0.
  CHECK(std::isnan(var(tensor({2.5}, {1})).item()));
  CHECK(var(tensor({2.5}, {1}), {}, false).item() == 0.0);
}

// x = torch.tensor([[1., 3, 3, 5], [2, 3, -1, 2], [5, 4, 5, 5]])
// x.argmax(0) -> [2, 2, 2, 0]; x.argmax(1) -> [3, 1, 0]; x.argmax(-2, keepdim=True) -> [[2, 2, 2, 0]];
// x.argmax() -> 3
TEST_CASE("argmax: first occurrence on ties, keepdim, negative dim, flattened") {
  const Tensor x = tensor({1, 3, 3, 5, 2, 3, -1, 2, 5, 4, 5, 5}, {3, 4});
  CHECK(argmax(x, 0).dtype() == DType::Int64);
  CHECK(argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{2, 2, 2, 0});
  CHECK(argmax(x, 1).to_vector<int64_t>() == std::vector<int64_t>{3, 1, 0});
  const Tensor k = argmax(x, -2, true);
  CHECK(k.shape() == Shape{1, 4});
  CHECK(k.to_vector<int64_t>() == std::vector<int64_t>{2, 2, 2, 0});
  CHECK(argmax(x, -1).shape() == Shape{3});
  CHECK(argmax(x).shape() == Shape{});
  CHECK(argmax(x).to_vector<int64_t>() == std::vector<int64_t>{3});
  CHECK(argmax(x.t()).to_vector<int64_t>() == std::vector<int64_t>{2});  // flattened in the view's order
  CHECK(argmax(tensor({4, 9, 9, 1}, {4}, DType::Int64)).to_vector<int64_t>() == std::vector<int64_t>{1});
}

// y = torch.tensor([[1., nan, 3, nan], [2, 7, -1, 0], [nan, 4, 5, 5]])
// y.amax(1) -> [nan, 7, nan]; y.argmax(1) -> [1, 1, 0]; y.amax(0) -> [nan, nan, 5, nan];
// y.argmax(0) -> [2, 0, 2, 0]; y.argmax() -> 1; y.amax() -> nan
TEST_CASE("max and argmax propagate NaN like PyTorch (first NaN wins)") {
  const double nan = std::nan("");
  const Tensor y = tensor({1, nan, 3, nan, 2, 7, -1, 0, nan, 4, 5, 5}, {3, 4});
  const std::vector<double> m1 = max(y, {1}).to_vector<double>();
  CHECK(std::isnan(m1[0]));
  CHECK(m1[1] == 7.0);
  CHECK(std::isnan(m1[2]));
  const std::vector<double> m0 = max(y, {0}).to_vector<double>();
  CHECK((std::isnan(m0[0]) && std::isnan(m0[1]) && m0[2] == 5.0 && std::isnan(m0[3])));
  CHECK(std::isnan(max(y).item()));
  CHECK(argmax(y, 1).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 0});
  CHECK(argmax(y, 0).to_vector<int64_t>() == std::vector<int64_t>{2, 0, 2, 0});
  CHECK(argmax(y).to_vector<int64_t>() == std::vector<int64_t>{1});
}

// ---- errors ----------------------------------------------------------------------

TEST_CASE("reductions reject bad dims, repeated dims, integer mean/var and max/argmax over empty dims") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_AS(sum(x, {3}), doctest::Contains("sum: dim 3 out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(mean(x, {-3}), doctest::Contains("mean: dim -3 out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(argmax(x, 2), doctest::Contains("argmax: dim 2 out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(sum(x, {1, -1}), doctest::Contains("sum: dim repeated in reduction over shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(var(x, {0, 0}), doctest::Contains("var: dim repeated"), Error);
  const Tensor i = zeros({2, 3}, DType::Int64);
  CHECK_THROWS_WITH_AS(mean(i), doctest::Contains("mean: expected a floating tensor, got int64 [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(var(i, {1}), doctest::Contains("var: expected a floating tensor, got int64 [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(max(zeros({0})), doctest::Contains("max: cannot reduce over an empty dim of shape [0]"), Error);
  CHECK_THROWS_WITH_AS(max(zeros({0, 3}), {0}),
                       doctest::Contains("max: cannot reduce over an empty dim of shape [0, 3]"), Error);
  CHECK(max(zeros({0, 3}), {1}).shape() == Shape{0});  // torch.zeros(0, 3).amax(1) -> shape [0]
  CHECK(argmax(zeros({0, 3}), 1).shape() == Shape{0});
  CHECK_THROWS_WITH_AS(argmax(zeros({2, 0}), 1), doctest::Contains("argmax: dim 1 of shape [2, 0] is empty"), Error);
  CHECK_THROWS_WITH_AS(argmax(zeros({0})), doctest::Contains("argmax: dim 0 of shape [0] is empty"), Error);
  CHECK_THROWS_WITH_AS(sum_to(x, {4, 3}), doctest::Contains("sum_to"), Error);
}

// ---- not differentiable -----------------------------------------------------------

TEST_CASE("argmax is not differentiable: no grad, and backward says argmax") {
  Tensor x = distinct_leaf({2, 3});
  for (const Tensor& a : {argmax(x, 1), argmax(x, 0, true), argmax(x)}) {
    CHECK(a.dtype() == DType::Int64);
    CHECK_FALSE(a.requires_grad());
    CHECK(a.is_leaf());
    CHECK_THROWS_WITH_AS(a.backward(ones_like(a)), doctest::Contains("argmax"), Error);
  }
}
