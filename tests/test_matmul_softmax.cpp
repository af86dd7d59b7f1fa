// test_matmul_softmax.cpp — matmul (2-D, batched, broadcast, 1-D operands),
// softmax / log_softmax and one_hot: gradients (gradcheck, strided inputs,
// closed forms), forward values against PyTorch 1.13 reference numbers,
// numerical stability, error messages, and one_hot staying out of the graph.
#include <cmath>
#include <functional>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// The 12 values behind the PyTorch references (S in the comments).
const std::vector<double> S = {0.3, -1.7, 2.45, 0.05, -0.6, 1.1, 3.2, -2.25, 0.75, -0.15, 1.9, -3.05};

Tensor mm(const Tensor& a, const Tensor& b) { return matmul(a, b); }

}  // namespace

// ---- matmul ---------------------------------------------------------------------

TEST_CASE("matmul gradcheck: 2-D, batched 3-D, broadcast batch, 1-D operands") {
  const std::function<Tensor(const TensorList&)> f = [](const TensorList& in) { return matmul(in[0], in[1]); };
  check_gradcheck(f, {randn_leaf({3, 4}, 1), randn_leaf({4, 2}, 2)});
  check_gradcheck(f, {randn_leaf({2, 3, 4}, 3), randn_leaf({2, 4, 5}, 4)});
  check_gradcheck(f, {randn_leaf({2, 1, 3, 4}, 5), randn_leaf({5, 4, 2}, 6)});  // -> [2, 5, 3, 2]
  check_gradcheck(f, {randn_leaf({4}, 7), randn_leaf({4, 3}, 8)});              // -> [3]
  check_gradcheck(f, {randn_leaf({3, 4}, 9), randn_leaf({4}, 10)});             // -> [3]
  check_gradcheck(f, {randn_leaf({4}, 11), randn_leaf({4}, 12)});               // -> []
  check_gradcheck(f, {randn_leaf({4}, 13), randn_leaf({2, 4, 3}, 14)});         // -> [2, 3]
  check_gradcheck(f, {randn_leaf({3, 4}, 15), randn_leaf({2, 4, 2}, 16)});      // 2-D broadcast against a batch
}

TEST_CASE("matmul gradcheck with a transposed operand on each side") {
  Tensor a = randn_leaf({4, 3}, 21), b = randn_leaf({2, 4}, 22);
  CHECK_FALSE(a.t().is_contiguous());
  check_gradcheck([](const TensorList& in) { return matmul(in[0].t(), in[1].t()); }, {a, b});  // [3, 4] @ [4, 2]
  Tensor c = randn_leaf({3, 4}, 23), d = randn_leaf({2, 4}, 24);
  check_gradcheck([](const TensorList& in) { return matmul(in[0], in[1].t()); }, {c, d});
  Tensor e = randn_leaf({4, 3}, 25), f = randn_leaf({4, 2}, 26);
  check_gradcheck([](const TensorList& in) { return matmul(in[0].t(), in[1]); }, {e, f});
  // Batched, with a permuted batch and a sliced (strided) right operand.
  Tensor g = randn_leaf({3, 2, 4}, 27), h = randn_leaf({2, 4, 6}, 28);
  CHECK_FALSE(h.slice(2, 0, 6, 2).is_contiguous());
  check_gradcheck([](const TensorList& in) { return matmul(in[0].permute({1, 0, 2}), in[1].slice(2, 0, 6, 2)); },
                  {g, h});
}

TEST_CASE("matmul backward matches dA = dC B^T, dB = A^T dC, summed over broadcast batch") {
  // L = sum(A @ B): dA[i, k] = sum_j B[k, j], dB[k, j] = sum_i A[i, k].
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  Tensor b = tensor({1, -1, 2, 0.5, -3, 4}, {3, 2}, DType::Float64);
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  sum(matmul(a, b)).backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{0, 2.5, 1, 0, 2.5, 1});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{5, 5, 7, 7, 9, 9});

  // A [2, 3] broadcast over B's batch of 4: dA is the sum over the batch.
  Tensor c = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  c.set_requires_grad(true);
  Tensor bb = ones({4, 3, 2}, DType::Float64);
  sum(matmul(c, bb)).backward();
  CHECK(c.grad().shape() == Shape{2, 3});
  CHECK(c.grad().to_vector<double>() == std::vector<double>(6, 8.0));  // 4 batches x 2 columns
}

// For dt in (torch.float32, torch.float64), with S as above:
//   A = torch.tensor(S, dtype=dt).reshape(3, 4)
//   B = torch.tensor(S[::-1] + [0.5, -0.25], dtype=dt)[:8].reshape(4, 2)
//   a3 = torch.tensor(S, dtype=dt).reshape(2, 1, 2, 3); b3 = torch.tensor(S[:9], dtype=dt).reshape(3, 3, 1)
//   v = torch.tensor(S[:4], dtype=dt); w = torch.tensor(S[4:8], dtype=dt)
//   A @ B, a3 @ b3, v @ B, A @ v, v @ w
TEST_CASE("matmul forward values match PyTorch (float32 and float64)") {
  const std::vector<double> s_rev = {-3.05, 1.9, -0.15, 0.75, -2.25, 3.2, 1.1, -0.6};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float32 ? 1e-5 : 1e-12;
    const Tensor A = tensor(S, {3, 4}, dtype), B = tensor(s_rev, {4, 2}, dtype);
    const Tensor a3 = tensor(S, {2, 1, 2, 3}, dtype);
    const Tensor b3 = tensor(std::vector<double>(S.begin(), S.begin() + 9), {3, 3, 1}, dtype);
    const Tensor v = tensor({0.3, -1.7, 2.45, 0.05}, {4}, dtype), w = tensor({-0.6, 1.1, 3.2, -2.25}, {4}, dtype);
    CHECK(mm(A, B).dtype() == dtype);
    check_values(mm(A, B), {3, 2}, {-6.1175, 7.105, -8.01, 11.275, -9.895, 9.2225}, eps);
    check_values(mm(a3, b3), {2, 3, 2, 1},
                 {8.9825, 3.73, 3.73, 1.5725, 6.6225, 2.335, 6.6225, -10.7475, 2.335, -4.5025, 15.865, -7.0425}, eps);
    check_values(mm(v, B), {2}, {-6.1175, 7.105}, eps);
    check_values(mm(A, v), {3}, {8.985, 5.6775, 4.9825}, eps);
    check_values(mm(v, w), {}, {5.6775}, eps);
    // Strided operands give the same numbers as contiguous copies.
    REQUIRE_FALSE(B.t().is_contiguous());
    CHECK(mm(B.t(), A.t()).to_vector<double>() == mm(B.t().contiguous(), A.t().contiguous()).to_vector<double>());
  }
  // Integers multiply exactly.
  const Tensor i = tensor({1, 2, 3, 4}, {2, 2}, DType::Int64);
  CHECK(mm(i, i).to_vector<int64_t>() == std::vector<int64_t>{7, 10, 15, 22});
}

TEST_CASE("matmul errors name the op and the shapes as passed") {
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4, 5})), doctest::Contains("matmul: shapes [2, 3] and [4, 5]"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({3}), zeros({4, 5})), doctest::Contains("matmul: shapes [3] and [4, 5]"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4})), doctest::Contains("matmul: shapes [2, 3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({3}), zeros({4})), doctest::Contains("matmul: shapes [3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2, 3}), zeros({3, 3, 1})), doctest::Contains("matmul: shapes [2] and [3]"),
                       Error);  // batch dims that do not broadcast
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({3, 2}, DType::Float64)), doctest::Contains("matmul: dtypes"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(scalar_tensor(1.0), zeros({2})),
                       doctest::Contains("matmul: expected tensors with at least 1 dim"), Error);
}

// ---- softmax / log_softmax ------------------------------------------------------

TEST_CASE("softmax and log_softmax gradcheck along dim 0, 1 and -1") {
  for (int64_t dim : {0, 1, -1}) {
    CAPTURE(dim);
    check_gradcheck([dim](const TensorList& in) { return softmax(in[0], dim); }, {randn_leaf({3, 4}, 31)});
    check_gradcheck([dim](const TensorList& in) { return log_softmax(in[0], dim); }, {randn_leaf({3, 4}, 32)});
    check_gradcheck([dim](const TensorList& in) { return softmax(in[0], dim); }, {randn_leaf({2, 3, 4}, 33)});
    check_gradcheck([dim](const TensorList& in) { return log_softmax(in[0], dim); },
                    {randn_leaf({2, 3, 4}, 34)});
  }
}

TEST_CASE("softmax and log_softmax gradcheck on non-contiguous inputs") {
  Tensor probe = randn_leaf({4, 3, 2}, 40);
  CHECK_FALSE(probe.permute({2, 0, 1}).is_contiguous());
  CHECK_FALSE(probe.slice(0, 1, 4, 2).is_contiguous());
  for (int64_t dim : {0, 1, -1}) {
    CAPTURE(dim);
    check_gradcheck([dim](const TensorList& in) { return softmax(in[0].permute({2, 0, 1}), dim); },
                    {randn_leaf({4, 3, 2}, 41)});
    check_gradcheck([dim](const TensorList& in) { return log_softmax(in[0].transpose(0, 1), dim); },
                    {randn_leaf({4, 3, 2}, 42)});
    check_gradcheck([dim](const TensorList& in) { return softmax(in[0].slice(0, 1, 4, 2), dim); },
                    {randn_leaf({4, 3, 2}, 43)});
    check_gradcheck([dim](const TensorList& in) { return log_softmax(in[0].slice(1, 0, 3, 2), dim); },
                    {randn_leaf({4, 3, 2}, 44)});
  }
}

TEST_CASE("softmax backward of sum(softmax(x) * w) matches y * (w - sum(w * y))") {
  const std::vector<double> xs = {0.5, -1.0, 2.0, 0.25}, ws = {1.0, -2.0, 0.5, 3.0};
  Tensor x = tensor(xs, {4}, DType::Float64);
  x.set_requires_grad(true);
  const Tensor w = tensor(ws, {4}, DType::Float64);
  sum(softmax(x, 0) * w).backward();
  std::vector<double> y(4);
  double z = 0, wy = 0;
  for (size_t i = 0; i < 4; ++i) z += std::exp(xs[i]);
  for (size_t i = 0; i < 4; ++i) y[i] = std::exp(xs[i]) / z, wy += ws[i] * y[i];
  const std::vector<double> g = x.grad().to_vector<double>();
  for (size_t i = 0; i < 4; ++i) CHECK(g[i] == doctest::Approx(y[i] * (ws[i] - wy)).epsilon(1e-12));

  // log_softmax: d sum(log_softmax(x) * w) / dx = w - softmax(x) * sum(w).
  x.zero_grad();
  sum(log_softmax(x, -1) * w).backward();
  const std::vector<double> h = x.grad().to_vector<double>();
  for (size_t i = 0; i < 4; ++i) CHECK(h[i] == doctest::Approx(ws[i] - y[i] * 2.5).epsilon(1e-12));
}

// For dt in (torch.float32, torch.float64), s = torch.tensor(S, dtype=dt).reshape(3, 4):
//   torch.softmax(s, 0), torch.softmax(s, -1), torch.log_softmax(s, 1), torch.log_softmax(s, -2)
TEST_CASE("softmax and log_softmax forward values match PyTorch (float32 and float64)") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float32 ? 1e-6 : 1e-12;
    const Tensor s = tensor(S, {3, 4}, dtype);
    CHECK(softmax(s, 0).dtype() == dtype);
    check_values(softmax(s, 0), {3, 4},
                 {0.3361478041903301, 0.04513426256461218, 0.2707129351602455, 0.8731275427522854,
                  0.13666749837221204, 0.742217005148996, 0.5730992882315058, 0.08753875785887703, 0.5271846974374579,
                  0.21264873228639178, 0.15618777660824862, 0.03933369938883752},
                 eps);
    check_values(softmax(s, -1), {3, 4},
                 {0.09524721662420767, 0.012890309039336151, 0.8176838674441514, 0.07417860689230467,
                  0.019467682771018662, 0.10656507132739018, 0.8702284792043593, 0.0037387666972319637,
                  0.21800107509400074, 0.08863262292405269, 0.6884894496666197, 0.004876852315326718},
                 eps);
    check_values(log_softmax(s, 1), {3, 4},
                 {-2.351279487195387, -4.351279487195387, -0.20127948719538652, -2.601279487195387,
                  -3.938999482036919, -2.238999482036919, -0.13899948203691886, -5.588999482036919,
                  -1.5232552845813516, -2.4232552845813515, -0.37325528458135177, -5.323255284581351},
                 eps);
    check_values(log_softmax(s, -2), {3, 4},
                 {-1.0902043223200788, -3.098113618803242, -1.306696299387342, -0.13567363673201846,
                  -1.990204322320079, -0.2981136188032421, -0.5566962993873422, -2.435673636732018,
                  -0.6402043223200788, -1.548113618803242, -1.8566962993873424, -3.235673636732018},
                 eps);
    // Strided input and output rows: the transpose's softmax along 0 is s's along 1.
    check_values(softmax(s.t(), 0).t(), {3, 4}, softmax(s, 1).to_vector<double>(), 1e-15);
  }
}

// torch.softmax(torch.tensor([1000., 1001., 1002.], dtype=dt), 0)
//   float32 -> [0.09003057330846786, 0.2447284758090973, 0.6652409434318542]
//   float64 -> [0.09003057317038045, 0.2447284710547976, 0.6652409557748218]
// torch.log_softmax(torch.tensor([-1000., 0.]), 0) -> [-1000, 0]
// torch.log_softmax(torch.tensor([[1000., 1000.], [-1000., 1000.]]), 1) -> [[-0.6931471805599453] * 2, [-2000, 0]]
TEST_CASE("softmax and log_softmax are stable for large logits") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float32 ? 1e-6 : 1e-12;
    const Tensor big = softmax(tensor({1000, 1001, 1002}, {3}, dtype), 0);
    for (double v : big.to_vector<double>()) CHECK(std::isfinite(v));
    check_values(big, {3}, {0.09003057317038045, 0.2447284710547976, 0.6652409557748218}, eps);
    check_values(softmax(tensor({-1000, -1001, -1002}, {3}, dtype), 0), {3},
                 {0.6652409557748218, 0.2447284710547976, 0.09003057317038045}, eps);
    check_values(log_softmax(tensor({-1000, 0}, {2}, dtype), 0), {2}, {-1000, 0}, eps);
    check_values(log_softmax(tensor({1000, 1000, -1000, 1000}, {2, 2}, dtype), 1), {2, 2},
                 {-0.6931471805599453, -0.6931471805599453, -2000, 0}, eps);
  }
}

TEST_CASE("softmax errors: integer input, dim out of range") {
  CHECK_THROWS_WITH_AS(softmax(zeros({2, 3}, DType::Int64), 1),
                       doctest::Contains("softmax: expected a floating tensor, got int64 [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(log_softmax(zeros({2, 3}, DType::Int64), 1),
                       doctest::Contains("log_softmax: expected a floating tensor, got int64 [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(softmax(zeros({2, 3}), 2), doctest::Contains("softmax: dim 2 out of range for shape [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(log_softmax(zeros({2, 3}), -3),
                       doctest::Contains("log_softmax: dim -3 out of range for shape [2, 3]"), Error);
}

// ---- one_hot --------------------------------------------------------------------

// torch.nn.functional.one_hot(torch.tensor([[2, 0], [1, 2]]), 4)
//   -> [[[0, 0, 1, 0], [1, 0, 0, 0]], [[0, 1, 0, 0], [0, 0, 1, 0]]], dtype int64
TEST_CASE("one_hot values, shape and dtype") {
  const Tensor y = one_hot(tensor({2, 0, 1, 2}, {2, 2}, DType::Int64), 4);
  CHECK(y.dtype() == DType::Int64);
  CHECK(y.shape() == Shape{2, 2, 4});
  CHECK(y.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0});
  const Tensor z = one_hot(tensor({1}, {1}, DType::Int64).reshape({}), 3);  // 0-dim index -> [3]
  CHECK(z.shape() == Shape{3});
  CHECK(z.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0});
  // Strided indices are read in their logical order.
  const Tensor t = one_hot(tensor({0, 1, 2, 0}, {2, 2}, DType::Int64).t(), 3);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0});
}

TEST_CASE("one_hot errors: index out of range, non-int64 indices") {
  CHECK_THROWS_WITH_AS(one_hot(tensor({0, 3}, {2}, DType::Int64), 3),
                       doctest::Contains("one_hot: an index is out of range [0, 3) in tensor of shape [2]"), Error);
  CHECK_THROWS_WITH_AS(one_hot(tensor({0, -1}, {2}, DType::Int64), 3), doctest::Contains("one_hot: an index is out of range [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(one_hot(tensor({0, 1}, {2}), 3),
                       doctest::Contains("one_hot: expected int64 class indices, got float32 [2]"), Error);
  CHECK_THROWS_WITH_AS(one_hot(tensor({0, 1}, {2}, DType::Int64), 0), doctest::Contains("one_hot: num_classes"), Error);
}

TEST_CASE("one_hot is not differentiable: float inputs that require grad are refused, derived indices carry no grad") {
  // Only floating tensors can require grad, and one_hot takes int64 only, so a
  // float input that requires grad never gets past the dtype check.
  Tensor x = randn_leaf({2, 3}, 50);
  CHECK_THROWS_WITH_AS(one_hot(x, 3), doctest::Contains("one_hot"), Error);
  // Indices computed from it (argmax) carry no graph; nor does their one_hot,
  // and backward through it throws.
  const Tensor y = one_hot(argmax(x, 1), 3);
  CHECK_FALSE(y.requires_grad());
  const Tensor loss = sum(y.to(DType::Float64) * x);  // the x path is differentiable
  CHECK(loss.requires_grad());
  CHECK_THROWS_AS(sum(y.to(DType::Float64)).backward(), Error);
}
