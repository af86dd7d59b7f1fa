// test_binary.cpp — the element-wise binary ops (ops/binary.cpp): add sub
// mul div and where gradchecked in float64 on same-shape, non-contiguous and
// broadcast inputs; the scalar operator forms; backward values against
// closed forms; forward values (float, int64, comparisons, where); the errors;
// and that comparisons are not differentiable.
#include <cmath>
#include <functional>
#include <limits>
#include <tuple>
#include <utility>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

using Fn = std::function<Tensor(const TensorList&)>;
using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;

Tensor scalar64(double value) { return scalar_tensor(value, DType::Float64); }
Tensor bools(const std::vector<double>& values, const Shape& shape = {}) { return tensor(values, shape, DType::Bool); }

// Gradchecks f(a, b) wrt both inputs on random float64 leaves: same shape,
// both non-contiguous (a transposed, b a strided slice), and the broadcast
// pairs [2, 3]/[3], [3]/[2, 3], [2, 1]/[1, 3], 0-dim/[2, 3], [2, 3]/0-dim and
// a transposed [3, 4] with [4]. `nonzero_b` keeps b away from 0 (for div).
void check_binary_grad(const BinaryFn& f, bool nonzero_b = false) {
  Generator gen(42);
  auto a = [&](const Shape& s) { return leaf(randn(s, DType::Float64, &gen)); };
  auto b = [&](const Shape& s) {
    const Tensor t = randn(s, DType::Float64, &gen);
    return leaf(nonzero_b ? away_from_zero(t, 0.5) : t);
  };
  const Fn plain = [&](const TensorList& in) { return f(in[0], in[1]); };
  check_gradcheck(plain, {a({3, 4}), b({3, 4})}, "same shape [3, 4]");
  CHECK_FALSE(a({4, 3}).transpose(0, 1).is_contiguous());
  CHECK_FALSE(a({3, 8}).slice(1, 0, 8, 2).is_contiguous());
  check_gradcheck([&](const TensorList& in) { return f(in[0].transpose(0, 1), in[1].slice(1, 0, 8, 2)); },
                  {a({4, 3}), b({3, 8})}, "a transposed, b sliced");
  check_gradcheck(plain, {a({2, 3}), b({3})}, "[2, 3] with [3]");
  check_gradcheck(plain, {a({3}), b({2, 3})}, "[3] with [2, 3]");
  check_gradcheck(plain, {a({2, 1}), b({1, 3})}, "[2, 1] with [1, 3]");
  check_gradcheck(plain, {a({}), b({2, 3})}, "0-dim with [2, 3]");
  check_gradcheck(plain, {a({2, 3}), b({})}, "[2, 3] with 0-dim");
  check_gradcheck([&](const TensorList& in) { return f(in[0].transpose(0, 1), in[1]); }, {a({4, 3}), b({4})},
                  "transposed [3, 4] with [4]");
}

// d(sum f(a, b))/da and /db.
std::pair<std::vector<double>, std::vector<double>> grads_of(const BinaryFn& f, Tensor a, Tensor b) {
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  sum(f(a, b)).backward();
  return {a.grad().to_vector<double>(), b.grad().to_vector<double>()};
}

std::vector<bool> as_bools(const Tensor& t) {
  REQUIRE(t.dtype() == DType::Bool);
  return t.to_vector<bool>();
}

}  // namespace

// ---- gradchecks -------------------------------------------------------------------

TEST_CASE("add: gradcheck same shape, non-contiguous, broadcast") {
  check_binary_grad([](const Tensor& a, const Tensor& b) { return add(a, b); });
}

TEST_CASE("sub: gradcheck same shape, non-contiguous, broadcast") {
  check_binary_grad([](const Tensor& a, const Tensor& b) { return sub(a, b); });
}

TEST_CASE("mul: gradcheck same shape, non-contiguous, broadcast") {
  check_binary_grad([](const Tensor& a, const Tensor& b) { return mul(a, b); });
}

TEST_CASE("div: gradcheck same shape, non-contiguous, broadcast (denominators away from 0)") {
  check_binary_grad([](const Tensor& a, const Tensor& b) { return div(a, b); }, /*nonzero_b=*/true);
}

TEST_CASE("tensor operators + - * /: gradcheck same shape, non-contiguous, broadcast") {
  check_binary_grad([](const Tensor& a, const Tensor& b) { return a + b; });
  check_binary_grad([](const Tensor& a, const Tensor& b) { return a - b; });
  check_binary_grad([](const Tensor& a, const Tensor& b) { return a * b; });
  check_binary_grad([](const Tensor& a, const Tensor& b) { return a / b; }, /*nonzero_b=*/true);
}

TEST_CASE("where: gradcheck wrt a and b; same shape, non-contiguous, broadcast values and condition") {
  Generator gen(7);
  auto v = [&](const Shape& s) { return leaf(randn(s, DType::Float64, &gen)); };
  const Tensor c34 = bools({1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0}, {3, 4});
  const Tensor c43 = bools({1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0}, {4, 3});
  const Tensor c4 = bools({1, 0, 1, 0}, {4});
  const Tensor c31 = bools({0, 1, 1}, {3, 1});
  CHECK_FALSE(c43.transpose(0, 1).is_contiguous());
  check_gradcheck([&](const TensorList& in) { return where(c34, in[0], in[1]); }, {v({3, 4}), v({3, 4})}, "same shape");
  check_gradcheck(
      [&](const TensorList& in) {
        return where(c43.transpose(0, 1), in[0].transpose(0, 1), in[1].slice(1, 0, 8, 2));
      },
      {v({4, 3}), v({3, 8})}, "a transposed, b sliced, condition transposed");
  check_gradcheck([&](const TensorList& in) { return where(c34, in[0], in[1]); }, {v({4}), v({3, 1})},
                  "a [4] and b [3, 1] broadcast to the condition [3, 4]");
  check_gradcheck([&](const TensorList& in) { return where(c4, in[0], in[1]); }, {v({3, 4}), v({3, 4})},
                  "condition [4] broadcast to values [3, 4]");
  check_gradcheck([&](const TensorList& in) { return where(c31, in[0], in[1]); }, {v({}), v({4})},
                  "condition [3, 1], a 0-dim, b [4]");
}

TEST_CASE("scalar operator forms: gradcheck contiguous, transposed, sliced") {
  const Tensor x = randn64({3, 4}, 9);
  check_grad_layouts([](const Tensor& t) { return t + 2.0; }, x);
  check_grad_layouts([](const Tensor& t) { return 2.0 + t; }, x);
  check_grad_layouts([](const Tensor& t) { return t - 2.0; }, x);
  check_grad_layouts([](const Tensor& t) { return 2.0 - t; }, x);
  check_grad_layouts([](const Tensor& t) { return t * 2.0; }, x);
  check_grad_layouts([](const Tensor& t) { return 2.0 * t; }, x);
  check_grad_layouts([](const Tensor& t) { return t / 2.0; }, x);
  check_grad_layouts([](const Tensor& t) { return 1.0 / t; }, away_from_zero(x, 0.5));
  check_grad_layouts([](const Tensor& t) { return -t; }, x);
  check_grad_layouts([](const Tensor& t) { return 3.0 * t * t - 1.0 / (t * t + 1.0); }, x);
}

// ---- backward against closed forms -------------------------------------------------

TEST_CASE("binary backward values match the closed forms, summed over broadcast dims") {
  // add/sub: [2, 3] with [3]: each b[j] feeds 2 outputs.
  auto [da, db] = grads_of([](const Tensor& a, const Tensor& b) { return a + b; }, zeros({2, 3}, DType::Float64),
                           zeros({3}, DType::Float64));
  CHECK(da == std::vector<double>(6, 1.0));
  CHECK(db == std::vector<double>(3, 2.0));
  std::tie(da, db) = grads_of([](const Tensor& a, const Tensor& b) { return a - b; }, zeros({2, 3}, DType::Float64),
                              zeros({3}, DType::Float64));
  CHECK(da == std::vector<double>(6, 1.0));
  CHECK(db == std::vector<double>(3, -2.0));
  // mul: da = b, db = a; with a 0-dim b, db = sum(a).
  std::tie(da, db) = grads_of([](const Tensor& a, const Tensor& b) { return a * b; }, f64({2, -1}), f64({3, 4}));
  CHECK(da == std::vector<double>{3, 4});
  CHECK(db == std::vector<double>{2, -1});
  std::tie(da, db) = grads_of([](const Tensor& a, const Tensor& b) { return a * b; }, f64({1, 2, 3}), scalar64(5));
  CHECK(da == std::vector<double>{5, 5, 5});
  CHECK(db == std::vector<double>{6});
  // div: da = 1/b, db = -a/b^2.
  std::tie(da, db) = grads_of([](const Tensor& a, const Tensor& b) { return a / b; }, f64({6, 1}), f64({2, -4}));
  CHECK(da == std::vector<double>{0.5, -0.25});
  CHECK(db == std::vector<double>{-1.5, -0.0625});
  // where: the gradient goes to a where the condition holds, to b elsewhere.
  const Tensor cond = bools({1, 0, 1});
  std::tie(da, db) = grads_of([&](const Tensor& a, const Tensor& b) { return where(cond, a, b); }, f64({1, 2, 3}),
                              f64({4, 5, 6}));
  CHECK(da == std::vector<double>{1, 0, 1});
  CHECK(db == std::vector<double>{0, 1, 0});
  std::tie(da, db) = grads_of([&](const Tensor& a, const Tensor& b) { return where(cond, a, b); }, f64({1, 2, 3}),
                              scalar64(9));
  CHECK(db == std::vector<double>{1});  // a 0-dim b receives one gradient per false
}

TEST_CASE("scalar operator forms: backward values") {
  const std::vector<double> x = {2.0, -4.0};
  CHECK(grad_of([](const Tensor& t) { return t * 3.0; }, x) == std::vector<double>{3, 3});
  CHECK(grad_of([](const Tensor& t) { return 3.0 * t; }, x) == std::vector<double>{3, 3});
  CHECK(grad_of([](const Tensor& t) { return t + 3.0; }, x) == std::vector<double>{1, 1});
  CHECK(grad_of([](const Tensor& t) { return 3.0 - t; }, x) == std::vector<double>{-1, -1});
  CHECK(grad_of([](const Tensor& t) { return t / 4.0; }, x) == std::vector<double>{0.25, 0.25});
  CHECK(grad_of([](const Tensor& t) { return 1.0 / t; }, x) == std::vector<double>{-0.25, -0.0625});
  CHECK(grad_of([](const Tensor& t) { return -t; }, x) == std::vector<double>{-1, -1});
}

TEST_CASE("an input used twice accumulates both gradients") {
  CHECK(grad_of([](const Tensor& t) { return t + t; }, {1.0, -3.0}) == std::vector<double>{2, 2});
  CHECK(grad_of([](const Tensor& t) { return add(t, t) + t; }, {1.0, -3.0}) == std::vector<double>{3, 3});
  CHECK(grad_of([](const Tensor& t) { return t * t; }, {1.5, -3.0}) == std::vector<double>{3, -6});
  CHECK(grad_of([](const Tensor& t) { return t - t; }, {1.5}) == std::vector<double>{0});
  // Broadcast against itself: out[i][j] = x[i] + x[j], so each x[k] feeds 2n outputs.
  CHECK(grad_of([](const Tensor& t) { return t.unsqueeze(1) + t; }, {1, 2, 3}) == std::vector<double>{6, 6, 6});
  const Tensor x = leaf({0.5, -1.5, 2.0});
  check_gradcheck([](const TensorList& in) { return in[0] * in[0] + in[0] / (in[0] * in[0] + 1.0); }, {x},
                  "x * x + x / (x * x + 1)");
}

// ---- forward values ---------------------------------------------------------------

TEST_CASE("add sub mul div forward match C++ arithmetic in float32 and float64") {
  const std::vector<double> av = {1.5, -2.25, 3.0, 0.1, 1e10};
  const std::vector<double> bv = {0.5, 4.0, -3.0, 0.3, 7.0};
  auto check_typed = [&](auto tag) {
    using T = decltype(tag);
    const Tensor a = tensor(av, {}, dtype_of<T>()), b = tensor(bv, {}, dtype_of<T>());
    const std::vector<T> sum_ = add(a, b).to_vector<T>(), diff = sub(a, b).to_vector<T>(),
                         prod = mul(a, b).to_vector<T>(), quot = div(a, b).to_vector<T>();
    for (size_t i = 0; i < av.size(); ++i) {
      CAPTURE(i);
      const T x = static_cast<T>(av[i]), y = static_cast<T>(bv[i]);
      CHECK(sum_[i] == T(x + y));
      CHECK(diff[i] == T(x - y));
      CHECK(prod[i] == T(x * y));
      CHECK(quot[i] == T(x / y));
    }
  };
  check_typed(float{});
  check_typed(double{});
  CHECK(add(tensor({1.0}), tensor({2.0})).dtype() == DType::Float32);
  CHECK(div(f64({1.0}), f64({0.0})).item() == std::numeric_limits<double>::infinity());
}

TEST_CASE("binary forward broadcasts: [2, 3] with [3], [2, 1] with [1, 3], 0-dim with [2, 3]") {
  const Tensor m = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor r = f64({10, 20, 30});
  Tensor y = m + r;
  CHECK(y.shape() == Shape{2, 3});
  CHECK(y.to_vector<double>() == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK((r - m).to_vector<double>() == std::vector<double>{9, 18, 27, 6, 15, 24});
  y = f64({1, 2}, {2, 1}) * f64({1, 10, 100}, {1, 3});
  CHECK(y.shape() == Shape{2, 3});
  CHECK(y.to_vector<double>() == std::vector<double>{1, 10, 100, 2, 20, 200});
  y = div(scalar64(12), m);
  CHECK(y.shape() == Shape{2, 3});
  CHECK(y.to_vector<double>() == std::vector<double>{12, 6, 4, 3, 2.4, 2});
  CHECK((scalar64(3) + scalar64(4)).shape() == Shape{});
  // Non-contiguous operands: the transpose of m against a column.
  y = m.t() - f64({1, 2, 3}, {3, 1});
  CHECK(y.to_vector<double>() == std::vector<double>{0, 3, 0, 3, 0, 3});
}

TEST_CASE("scalar operator forms: values, and the scalar takes the tensor's dtype") {
  const Tensor x = tensor({1.0, 2.0, 4.0});
  CHECK((x + 1.5).to_vector<double>() == std::vector<double>{2.5, 3.5, 5.5});
  CHECK((1.5 + x).to_vector<double>() == std::vector<double>{2.5, 3.5, 5.5});
  CHECK((x - 1.0).to_vector<double>() == std::vector<double>{0, 1, 3});
  CHECK((10.0 - x).to_vector<double>() == std::vector<double>{9, 8, 6});
  CHECK((x * 0.5).to_vector<double>() == std::vector<double>{0.5, 1, 2});
  CHECK((0.5 * x).to_vector<double>() == std::vector<double>{0.5, 1, 2});
  CHECK((x / 4.0).to_vector<double>() == std::vector<double>{0.25, 0.5, 1});
  CHECK((1.0 / x).to_vector<double>() == std::vector<double>{1, 0.5, 0.25});
  CHECK((x * 2.0).dtype() == DType::Float32);
  CHECK((2.0 * f64({1.0})).dtype() == DType::Float64);
}

TEST_CASE("add sub mul on int64 are exact and stay int64, also with integral scalars") {
  const Tensor a = int64s({7, -3, 0, 5}), b = int64s({2, 4, -6, 5});
  for (const Tensor& y : {add(a, b), sub(a, b), mul(a, b), a + 2.0, 3.0 * a, -a}) CHECK(y.dtype() == DType::Int64);
  CHECK(add(a, b).to_vector<int64_t>() == std::vector<int64_t>{9, 1, -6, 10});
  CHECK(sub(a, b).to_vector<int64_t>() == std::vector<int64_t>{5, -7, 6, 0});
  CHECK(mul(a, b).to_vector<int64_t>() == std::vector<int64_t>{14, -12, 0, 25});
  CHECK((a + 2.0).to_vector<int64_t>() == std::vector<int64_t>{9, -1, 2, 7});
  CHECK((10.0 - a).to_vector<int64_t>() == std::vector<int64_t>{3, 13, 10, 5});
  CHECK((3.0 * a).to_vector<int64_t>() == std::vector<int64_t>{21, -9, 0, 15});
  CHECK((a * scalar_tensor(2, DType::Int64)).to_vector<int64_t>() == std::vector<int64_t>{14, -6, 0, 10});
  // Beyond 2^53: no detour through double.
  const int64_t big[2] = {(int64_t{1} << 60) + 1, 3};
  const Tensor bg = from_host(big, {2}, DType::Int64);
  CHECK(add(bg, bg).to_vector<int64_t>() == std::vector<int64_t>{(int64_t{1} << 61) + 2, 6});
  CHECK(sub(bg, int64s({0, 1})).to_vector<int64_t>() == std::vector<int64_t>{big[0], 2});
  CHECK(mul(bg, int64s({1, 1})).to_vector<int64_t>() == std::vector<int64_t>{big[0], 3});
}

TEST_CASE("comparisons eq ne lt le gt ge: bool results, element by element") {
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
    CAPTURE(dtype);
    const Tensor a = tensor({1, 2, 3}, {}, dtype), b = tensor({3, 2, 1}, {}, dtype);
    for (const Tensor& y : {eq(a, b), ne(a, b), lt(a, b), le(a, b), gt(a, b), ge(a, b)}) {
      CHECK(y.dtype() == DType::Bool);
      CHECK(y.shape() == Shape{3});
    }
    CHECK(as_bools(eq(a, b)) == std::vector<bool>{false, true, false});
    CHECK(as_bools(ne(a, b)) == std::vector<bool>{true, false, true});
    CHECK(as_bools(lt(a, b)) == std::vector<bool>{true, false, false});
    CHECK(as_bools(le(a, b)) == std::vector<bool>{true, true, false});
    CHECK(as_bools(gt(a, b)) == std::vector<bool>{false, false, true});
    CHECK(as_bools(ge(a, b)) == std::vector<bool>{false, true, true});
  }
  const Tensor nan = f64({NAN});
  CHECK(as_bools(eq(nan, nan)) == std::vector<bool>{false});
  CHECK(as_bools(ne(nan, nan)) == std::vector<bool>{true});
  CHECK(as_bools(eq(bools({1, 0}), bools({1, 1}))) == std::vector<bool>{true, false});
}

TEST_CASE("comparisons broadcast, and have scalar overloads") {
  const Tensor col = f64({1, 2, 3}, {3, 1}), row = f64({2, 3});
  const Tensor y = lt(col, row);
  CHECK(y.shape() == Shape{3, 2});
  CHECK(as_bools(y) == std::vector<bool>{true, true, false, true, false, false});
  CHECK(as_bools(ge(scalar64(5), col)) == std::vector<bool>{true, true, true});
  const Tensor x = f64({1.0, 2.5, 4.0});
  CHECK(as_bools(eq(x, 2.5)) == std::vector<bool>{false, true, false});
  CHECK(as_bools(ne(x, 2.5)) == std::vector<bool>{true, false, true});
  CHECK(as_bools(lt(x, 2.5)) == std::vector<bool>{true, false, false});
  CHECK(as_bools(le(x, 2.5)) == std::vector<bool>{true, true, false});
  CHECK(as_bools(gt(x, 2.5)) == std::vector<bool>{false, false, true});
  CHECK(as_bools(ge(x, 2.5)) == std::vector<bool>{false, true, true});
  const Tensor i = int64s({-1, 0, 1, 2});
  CHECK(as_bools(lt(i, 1)) == std::vector<bool>{true, true, false, false});
  CHECK(as_bools(ge(i, 0)) == std::vector<bool>{false, true, true, true});
  CHECK(as_bools(eq(i, 2)) == std::vector<bool>{false, false, false, true});
}

TEST_CASE("where: values, broadcasting, int64 and bool values") {
  const Tensor cond = bools({1, 0, 0, 1}, {2, 2});
  CHECK(where(cond, f64({1, 2, 3, 4}, {2, 2}), f64({-1, -2, -3, -4}, {2, 2})).to_vector<double>() ==
        std::vector<double>{1, -2, -3, 4});
  // Condition [2, 1], a [2] and b 0-dim broadcast to [2, 2].
  const Tensor y = where(bools({1, 0}, {2, 1}), f64({7, 8}), scalar64(0));
  CHECK(y.shape() == Shape{2, 2});
  CHECK(y.to_vector<double>() == std::vector<double>{7, 8, 0, 0});
  CHECK(where(cond, int64s({1, 2, 3, 4}, {2, 2}), scalar_tensor(0, DType::Int64)).to_vector<int64_t>() ==
        std::vector<int64_t>{1, 0, 0, 4});
  CHECK(where(cond, tensor({1.0f}), tensor({2.0f})).dtype() == DType::Float32);
  CHECK(as_bools(where(cond, bools({1}), bools({0}))) == std::vector<bool>{true, false, false, true});
  // A transposed condition is read through its strides.
  CHECK(where(cond.t(), f64({1}), f64({0})).to_vector<double>() == std::vector<double>{1, 0, 0, 1});
  const Tensor c2 = bools({1, 1, 0, 0}, {2, 2});
  CHECK(where(c2.t(), f64({1}), f64({0})).to_vector<double>() == std::vector<double>{1, 0, 1, 0});
}

// ---- errors ------------------------------------------------------------------------

TEST_CASE("shape mismatch: the error names the op and both shapes") {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(a - b, doctest::Contains("sub: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(mul(b, a), doctest::Contains("mul: shapes [4] and [2, 3] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(a / b, doctest::Contains("div: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(lt(a, b), doctest::Contains("lt: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(where(zeros({2, 3}, DType::Bool), a, b),
                       doctest::Contains("where: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(where(zeros({5}, DType::Bool), a, a),
                       doctest::Contains("where: shapes [5] and [2, 3] cannot be broadcast"), Error);
}

TEST_CASE("dtype mix: float32 with float64 is an error naming the op, dtypes and shapes") {
  const Tensor a = zeros({2}), b = zeros({3}, DType::Float64);
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: dtype mismatch, float32 [2] and float64 [3]"), Error);
  CHECK_THROWS_WITH_AS(b * a, doctest::Contains("mul: dtype mismatch, float64 [3] and float32 [2]"), Error);
  CHECK_THROWS_WITH_AS(div(a, b), doctest::Contains("div: dtype mismatch, float32 [2] and float64 [3]"), Error);
  CHECK_THROWS_WITH_AS(ge(a, b), doctest::Contains("ge: dtype mismatch, float32 [2] and float64 [3]"), Error);
  CHECK_THROWS_WITH_AS(sub(zeros({2}, DType::Int64), a),
                       doctest::Contains("sub: dtype mismatch, int64 [2] and float32"), Error);
  CHECK_THROWS_WITH_AS(where(zeros({2}, DType::Bool), a, b),
                       doctest::Contains("where: dtype mismatch, float32 [2] and float64 [3]"), Error);
}

TEST_CASE("div on integers is refused, naming both operands") {
  const Tensor i = int64s({4, 6}), j = int64s({2});
  CHECK_THROWS_WITH_AS(div(i, j), doctest::Contains("div: expected floating tensors, got int64 [2] and int64 [1]"),
                       Error);
  CHECK_THROWS_WITH_AS(i / 2.0, doctest::Contains("div: expected floating tensors, got int64 [2] and int64 []"), Error);
  CHECK_THROWS_WITH_AS(1.0 / i, doctest::Contains("div: expected floating tensors, got int64 [] and int64 [2]"), Error);
}

TEST_CASE("arithmetic on bool tensors is refused, naming the op and shapes") {
  const Tensor p = bools({1, 0}), q = bools({1}, {1});
  CHECK_THROWS_WITH_AS(add(p, q), doctest::Contains("add: not defined for bool tensors ([2] and [1])"), Error);
  CHECK_THROWS_WITH_AS(p - q, doctest::Contains("sub: not defined for bool tensors ([2] and [1])"), Error);
  CHECK_THROWS_WITH_AS(mul(p, q), doctest::Contains("mul: not defined for bool tensors ([2] and [1])"), Error);
  CHECK_THROWS_WITH_AS(div(p, q), doctest::Contains("div: expected floating tensors, got bool [2] and bool [1]"),
                       Error);
  CHECK_THROWS_WITH_AS(p + 1.0, doctest::Contains("add: not defined for bool tensors"), Error);
}

TEST_CASE("where: a non-bool condition is refused, naming its dtype and shape") {
  const Tensor a = zeros({2});
  CHECK_THROWS_WITH_AS(where(ones({2}), a, a), doctest::Contains("where: condition must be bool, got float32 [2]"),
                       Error);
  CHECK_THROWS_WITH_AS(where(ones({2, 1}, DType::Int64), a, a),
                       doctest::Contains("where: condition must be bool, got int64 [2, 1]"), Error);
}

TEST_CASE("a fractional or out-of-range scalar with an integer tensor is refused, not truncated") {
  const Tensor i = int64s({0, 1});
  CHECK_THROWS_WITH_AS(i * 0.5, doctest::Contains("mul: scalar 0.5 with a int64 tensor [2] would be truncated"), Error);
  CHECK_THROWS_WITH_AS(0.5 * i, doctest::Contains("mul: scalar 0.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(i + 1.5, doctest::Contains("add: scalar 1.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(2.5 - i, doctest::Contains("sub: scalar 2.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(i / 0.5, doctest::Contains("div: scalar 0.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(eq(i, 0.5), doctest::Contains("eq: scalar 0.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(ne(i, 0.5), doctest::Contains("ne: scalar 0.5 with a int64 tensor [2]"), Error);
  // Integral but not representable in int64: would be undefined behaviour.
  CHECK_THROWS_WITH_AS(i + INFINITY, doctest::Contains("add: scalar inf with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(i * 1e19, doctest::Contains("mul: scalar 1e+19 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(gt(i, -INFINITY), doctest::Contains("gt: scalar -inf with a int64 tensor [2]"), Error);
  // lt(0, 0.5) would silently be lt(0, 0) = false, ge(0, 0.5) = ge(0, 0) = true.
  CHECK_THROWS_WITH_AS(lt(i, 0.5), doctest::Contains("lt: scalar 0.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(le(i, 0.5), doctest::Contains("le: scalar 0.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(gt(i, 0.5), doctest::Contains("gt: scalar 0.5 with a int64 tensor [2]"), Error);
  CHECK_THROWS_WITH_AS(ge(i, 0.5), doctest::Contains("ge: scalar 0.5 with a int64 tensor [2]"), Error);
}

// ---- non-differentiable comparisons -----------------------------------------------

TEST_CASE("comparisons of tensors that require grad do not require grad, and backward names the op") {
  const Tensor x = leaf({1.0, -2.0, 3.0}), y = leaf({0.0, 0.0, 5.0});
  const std::pair<const char*, BinaryFn> ops[] = {
      {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }},
  };
  for (const auto& op : ops) {
    CAPTURE(op.first);
    const Tensor mask = op.second(x, y);
    CHECK_FALSE(mask.requires_grad());
    CHECK(mask.is_leaf());
    CHECK_THROWS_WITH_AS(sum(mask).backward(), doctest::Contains(op.first), Error);
    CHECK_THROWS_WITH_AS(sum(mask.to(DType::Float64)).backward(), doctest::Contains(op.first), Error);
  }
  CHECK_FALSE(gt(x, 0.0).requires_grad());
  CHECK_THROWS_WITH_AS(sum(gt(x, 0.0)).backward(), doctest::Contains("gt"), Error);
  CHECK_THROWS_WITH_AS(sum(gt(x, 0.0)).backward(), doctest::Contains("not differentiable"), Error);
  CHECK_FALSE(x.grad().defined());
  // A mask still routes gradients through where.
  sum(where(gt(x, 0.0), x * 2.0, y)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 0, 2});
  CHECK(y.grad().to_vector<double>() == std::vector<double>{0, 1, 0});
}

TEST_CASE("binary ops record a node only when an input requires grad") {
  const Tensor a = f64({1.0}), b = leaf({2.0});
  CHECK_FALSE(add(a, a).requires_grad());
  const Tensor y = mul(a, b);
  CHECK(y.requires_grad());
  REQUIRE_FALSE(y.is_leaf());
  CHECK(y.grad_fn()->name == "mul");
  CHECK(where(bools({1}), a, b).grad_fn()->name == "where");
  NoGradGuard no_grad;
  CHECK_FALSE(div(a, b).requires_grad());
}
