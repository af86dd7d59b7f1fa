// test_view.cpp — views (share storage, copy nothing), the copies
// contiguous/clone/to, cat/stack: values, float64 gradchecks on contiguous
// and non-contiguous inputs, and the error messages for bad arguments.
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

Shape reversed(Shape s) { return Shape(s.rbegin(), s.rend()); }

// Gradchecks `op` on a 3-D input of `shape` given three ways: a contiguous
// leaf; a leaf of the reversed shape permuted back (every dim its own
// stride); a leaf twice as long in dim 1 sliced with step 2.
void check_grad_3ways(const Shape& shape, const UnaryFn& op) {
  REQUIRE(shape.size() == 3);
  check_gradcheck([&](const TensorList& in) { return op(in[0]); }, {randn_leaf(shape)}, "contiguous");

  auto permuted = [](const Tensor& x) { return x.permute({2, 1, 0}); };
  Tensor p = randn_leaf(reversed(shape), 2);
  REQUIRE_FALSE(permuted(p).is_contiguous());
  check_gradcheck([&](const TensorList& in) { return op(permuted(in[0])); }, {p}, "permuted");

  auto strided = [](const Tensor& x) { return x.slice(1, 0, x.size(1), 2); };
  Shape wide = shape;
  wide[1] *= 2;
  Tensor s = randn_leaf(wide, 3);
  REQUIRE_FALSE(strided(s).is_contiguous());
  check_gradcheck([&](const TensorList& in) { return op(strided(in[0])); }, {s}, "strided");
}

}  // namespace

// ---- storage sharing and values ------------------------------------------------

TEST_CASE("views share storage: writes through a transposed select show in the base") {
  Tensor x = iota({2, 3});
  Tensor v = x.transpose(0, 1);
  CHECK(v.storage() == x.storage());
  CHECK(v.shape() == Shape{3, 2});
  CHECK(v.strides() == Shape{1, 3});
  CHECK_FALSE(v.is_contiguous());
  v.select(0, 2).fill_(-1);  // column 2 of x
  CHECK(vals(x) == Values{0, 1, -1, 3, 4, -1});

  // The same on a tensor requiring grad works inside a NoGradGuard.
  Tensor w = iota({2, 2});
  w.set_requires_grad(true);
  {
    NoGradGuard no_grad;
    w.t().select(1, -1).fill_(9);  // row 1 of w
  }
  CHECK(vals(w) == Values{0, 1, 9, 9});
}

TEST_CASE("view and reshape: viewable inputs alias, non-viewable reshape copies") {
  Tensor x = iota({2, 3, 4});
  Tensor v = x.view({6, -1});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.storage() == x.storage());
  CHECK(vals(v) == vals(x));

  // Permuted [3, 2, 4] (strides [4, 12, 1]): splitting dims is a view,
  // merging across the permutation is not (same answers as torch.view).
  Tensor p = x.permute({1, 0, 2});
  Tensor split = p.view({3, 2, 2, 2});
  CHECK(split.storage() == x.storage());
  CHECK(split.strides() == Shape{4, 12, 2, 1});  // torch: (4, 12, 2, 1)
  CHECK(p.view({1, 3, 2, 4}).strides()[1] == 4);
  CHECK(vals(split) == vals(p));
  CHECK_THROWS_AS(p.view({3, 8}), Error);
  CHECK_THROWS_AS(p.view({24}), Error);

  Tensor r = p.reshape({6, 4});  // needs a copy
  CHECK(r.storage() != x.storage());
  CHECK(r.is_contiguous());
  CHECK(vals(r) == vals(p));
  Tensor rv = p.reshape({3, 2, 2, 2});  // viewable: no copy
  CHECK(rv.storage() == x.storage());

  // torch.arange(6.).reshape(2,3).t().reshape(6) -> [0, 3, 1, 4, 2, 5]
  Tensor t = iota({2, 3}).t().reshape({6});
  CHECK(vals(t) == Values{0, 3, 1, 4, 2, 5});
}

TEST_CASE("view of sliced inputs: merges evenly strided runs, refuses the rest") {
  Tensor base = iota({4, 6});
  // Every other column of full rows: strides [6, 2] form one run of step 2.
  // torch.arange(24.).reshape(4, 6)[:, ::2].view(12) -> 0, 2, ..., 22 (stride 2)
  Tensor even = base.slice(1, 0, 6, 2).view({12});
  CHECK(even.storage() == base.storage());
  CHECK(even.strides() == Shape{2});
  CHECK(vals(even) == vals(arange(0.0, 24.0, 2.0, DType::Float64)));
  // Columns 1..4 of each row leave gaps: no view (torch agrees), reshape copies.
  Tensor gaps = base.slice(1, 1, 5);
  CHECK_THROWS_AS(gaps.view({16}), Error);
  CHECK(gaps.reshape({16}).storage() != base.storage());
  CHECK(vals(gaps.reshape({16})) == vals(gaps.contiguous()));
  // [2, 1, 3] strides [12, 6, 2]: the size-1 dim is skipped, rows still do not
  // continue the columns (12 != 3 * 2), so reshape copies.
  Tensor s = base.slice(0, 0, 4, 2).slice(1, 0, 6, 2).unsqueeze(1);
  REQUIRE_FALSE(s.is_contiguous());
  CHECK_THROWS_AS(s.view({6}), Error);
  CHECK(vals(s.reshape({6})) == Values{0, 2, 4, 12, 14, 16});
  // Splitting dims and adding size-1 dims is always a view.
  Tensor c = base.slice(1, 1, 6, 2);  // [4, 3] strides [6, 2]
  CHECK(c.view({2, 2, 3}).strides() == Shape{12, 6, 2});  // torch: (12, 6, 2)
  for (const Shape& shape : {Shape{2, 2, 3}, Shape{4, 3, 1}, Shape{1, 4, 1, 3}, Shape{4, 1, 3, 1}}) {
    Tensor v = c.view(shape);
    CHECK(v.storage() == base.storage());
    CHECK(vals(v) == vals(c.contiguous()));
  }
}

TEST_CASE("views and reshapes of empty tensors") {
  Tensor e = iota({2, 3}).slice(1, 0, 0);  // [2, 0], strides [3, 1]
  CHECK(e.reshape({-1}).shape() == Shape{0});
  CHECK(e.view({0, 5}).shape() == Shape{0, 5});
  CHECK(e.t().reshape({0}).numel() == 0);
  CHECK(e.t().view({1, 0, 2}).shape() == Shape{1, 0, 2});
  CHECK(e.contiguous().same(e));
  CHECK(cat({iota({2, 3}), e}, 1).shape() == Shape{2, 3});
  CHECK(iota({2, 3}).narrow(1, 3, 0).shape() == Shape{2, 0});
}

TEST_CASE("flatten, permute, transpose, t") {
  Tensor x = iota({2, 3, 4});
  CHECK(x.flatten().shape() == Shape{24});
  CHECK(x.flatten(1).shape() == Shape{2, 12});
  CHECK(x.flatten(0, 1).shape() == Shape{6, 4});
  CHECK(x.flatten(-2, -1).storage() == x.storage());
  CHECK(scalar_tensor(3).flatten().shape() == Shape{1});
  CHECK(vals(x.transpose(0, 2).flatten()) == vals(x.permute({2, 1, 0}).reshape({24})));

  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK(p.storage() == x.storage());
  // p[3][1][2] = x[1][2][3] = 23; p[1][0][2] = x[0][2][1] = 9
  CHECK(p.select(0, 3).select(0, 1).select(0, 2).item() == 23);
  CHECK(p.select(0, 1).select(0, 0).select(0, 2).item() == 9);
  CHECK(x.permute({-1, 0, 1}).shape() == Shape{4, 2, 3});

  Tensor tr = x.transpose(-1, 0);
  CHECK(tr.shape() == Shape{4, 3, 2});
  Tensor m = iota({2, 3});
  CHECK(vals(m.t()) == Values{0, 3, 1, 4, 2, 5});
  CHECK(m.t().t().strides() == m.strides());
}

TEST_CASE("slice with step and negative bounds, narrow, select with negative index") {
  Tensor x = iota({3, 7});
  Tensor s = x.slice(1, 1, 7, 2);
  CHECK(s.shape() == Shape{3, 3});
  CHECK(s.strides() == Shape{7, 2});
  CHECK(s.storage() == x.storage());
  CHECK(vals(s.select(0, 0)) == Values{1, 3, 5});
  CHECK(x.slice(1, 0, 7, 3).size(1) == 3);  // 0, 3, 6: ceil(7 / 3)
  // torch: x[:, -3:-1] -> [4, 5], [11, 12], [18, 19]
  CHECK(vals(x.slice(-1, -3, -1)) == Values{4, 5, 11, 12, 18, 19});
  CHECK(x.slice(0, 1, 1).shape() == Shape{0, 7});
  CHECK(vals(x.slice(0, -1, 3)) == Values{14, 15, 16, 17, 18, 19, 20});

  Tensor n = x.narrow(0, 1, 2);
  CHECK(n.shape() == Shape{2, 7});
  CHECK(n.offset() == 7);
  CHECK(n.storage() == x.storage());
  CHECK(x.narrow(1, 6, 1).shape() == Shape{3, 1});

  Tensor row = x.select(0, -1);
  CHECK(row.shape() == Shape{7});
  CHECK(row.offset() == 14);
  CHECK(vals(x.select(1, -2)) == Values{5, 12, 19});
  CHECK(x.select(0, 1).select(0, 3).dim() == 0);
  CHECK(x.select(0, 1).select(0, 3).item() == 10);
}

TEST_CASE("expand: -1, new leading dims, stride 0, shared storage") {
  Tensor x = iota({3, 1});
  Tensor e = x.expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(e.storage() == x.storage());
  CHECK(vals(e.select(0, 1).select(0, 2)) == Values{2, 2, 2, 2});
  Tensor k = x.expand({-1, 5});
  CHECK(k.shape() == Shape{3, 5});
  CHECK(k.strides() == Shape{1, 0});
  CHECK(x.expand({3, 1}).strides() == x.strides());
  // Writing through the base shows in every repeat.
  x.select(0, 0).fill_(7);
  CHECK(vals(k.select(0, 0)) == Values{7, 7, 7, 7, 7});
  CHECK(scalar_tensor(2, DType::Float64).expand({2, 2}).strides() == Shape{0, 0});
}

TEST_CASE("unsqueeze, squeeze(dim), squeeze()") {
  Tensor x = iota({2, 3});
  CHECK(x.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3});
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(x.unsqueeze(-3).shape() == Shape{1, 2, 3});
  CHECK(x.unsqueeze(2).is_contiguous());
  CHECK(x.unsqueeze(1).storage() == x.storage());
  CHECK(x.t().unsqueeze(1).shape() == Shape{3, 1, 2});
  CHECK(vals(x.t().unsqueeze(1)) == vals(x.t()));

  Tensor y = iota({1, 3, 1, 2});
  CHECK(y.squeeze(0).shape() == Shape{3, 1, 2});
  CHECK(y.squeeze(-2).shape() == Shape{1, 3, 2});
  CHECK(y.squeeze(1).shape() == y.shape());  // size 3: a no-op, as in PyTorch
  CHECK(y.squeeze().shape() == Shape{3, 2});
  CHECK(y.squeeze().storage() == y.storage());
  CHECK(iota({1, 1}).squeeze().dim() == 0);
}

TEST_CASE("contiguous returns the same tensor when contiguous, else a packed copy") {
  Tensor x = iota({2, 3});
  CHECK(x.contiguous().same(x));
  CHECK(x.unsqueeze(0).is_contiguous());  // size-1 dims do not matter
  Tensor t = x.t();
  Tensor c = t.contiguous();
  CHECK_FALSE(c.same(t));
  CHECK(c.storage() != x.storage());
  CHECK(c.is_contiguous());
  CHECK(c.strides() == Shape{2, 1});
  CHECK(vals(c) == Values{0, 3, 1, 4, 2, 5});
}

TEST_CASE("clone copies: new storage, same values, independent afterwards") {
  Tensor x = iota({2, 2});
  Tensor c = x.clone();
  CHECK(c.storage() != x.storage());
  CHECK(vals(c) == vals(x));
  c.fill_(5);
  CHECK(vals(x) == Values{0, 1, 2, 3});
  CHECK(vals(x.t().clone()) == Values{0, 2, 1, 3});
  CHECK(x.t().clone().is_contiguous());
}

TEST_CASE("to(dtype) converts values between every pair of dtypes") {
  // torch.tensor([2.7, -2.7, -1.0, 0.0, 0.5], dtype=torch.float64).to(torch.int64) -> [2, -2, -1, 0, 0]
  Tensor x = tensor({2.7, -2.7, -1.0, 0.0, 0.5}, {}, DType::Float64);
  Tensor i = x.to(DType::Int64);
  CHECK(i.dtype() == DType::Int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{2, -2, -1, 0, 0});
  // ... .to(torch.bool) -> [True, True, True, False, True]
  CHECK(x.to(DType::Bool).to_vector<bool>() == std::vector<bool>{true, true, true, false, true});
  // torch.tensor([2.7, -1.0, 0.0, 300.0], dtype=torch.float64).to(torch.uint8) -> [2, 255, 0, 44]
  CHECK(tensor({2.7, -1.0, 0.0, 300.0}, {}, DType::Float64).to(DType::UInt8).to_vector<uint8_t>() ==
        std::vector<uint8_t>{2, 255, 0, 44});
  CHECK(tensor({255, 0}, {}, DType::UInt8).to(DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{255, 0});
  CHECK(tensor({1, 0}, {}, DType::Bool).to(DType::Float32).to_vector<float>() == std::vector<float>{1, 0});

  Tensor f = x.to(DType::Float32);
  CHECK(f.dtype() == DType::Float32);
  CHECK(f.to_vector<float>()[0] == 2.7f);
  CHECK(f.to(DType::Float64).to_vector<double>()[0] == static_cast<double>(2.7f));
  CHECK(x.to(DType::Float64).same(x));  // same dtype: no copy
  // Non-contiguous input, and a round trip through every dtype keeps small integers.
  Tensor m = iota({2, 3}).t();
  for (DType d : {DType::Float32, DType::Int64, DType::UInt8}) {
    Tensor conv = m.to(d);
    CHECK(conv.is_contiguous());
    CHECK(vals(conv) == Values{0, 3, 1, 4, 2, 5});
  }
  CHECK(m.to(DType::Bool).to_vector<bool>() == std::vector<bool>{false, true, true, true, true, true});
  CHECK(m.to(DType::UInt8).to(DType::Bool).to(DType::Int64).to(DType::Float32).dtype() == DType::Float32);
}

TEST_CASE("cat along several dims, including negative, and stack") {
  Tensor a = iota({2, 2});
  Tensor b = iota({2, 1}) + 10.0;
  Tensor c = iota({2, 3}) + 20.0;
  Tensor y = cat({a, b, c}, 1);
  CHECK(y.shape() == Shape{2, 6});
  // torch.cat([a, b, c], 1)
  CHECK(vals(y) == Values{0, 1, 10, 20, 21, 22, 2, 3, 11, 23, 24, 25});
  CHECK(vals(cat({a, b, c}, -1)) == vals(y));
  Tensor r = cat({a, a.t()}, 0);
  CHECK(r.shape() == Shape{4, 2});
  CHECK(vals(r) == Values{0, 1, 2, 3, 0, 2, 1, 3});
  CHECK(cat({a}, 0).storage() != a.storage());  // always a copy

  Tensor s0 = stack({a, a.t()}, 0);
  CHECK(s0.shape() == Shape{2, 2, 2});
  CHECK(vals(s0) == Values{0, 1, 2, 3, 0, 2, 1, 3});
  Tensor s2 = stack({a, a + 4.0}, -1);
  CHECK(s2.shape() == Shape{2, 2, 2});
  // torch.stack([a, a + 4], -1)
  CHECK(vals(s2) == Values{0, 4, 1, 5, 2, 6, 3, 7});
  Tensor s1 = stack({a, a + 4.0, a + 8.0}, 1);
  CHECK(s1.shape() == Shape{2, 3, 2});
  CHECK(vals(s1) == Values{0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11});
}

// ---- gradients ---------------------------------------------------------------

TEST_CASE("gradcheck: view, reshape, flatten (contiguous and non-contiguous inputs)") {
  // Splitting dims is viewable from every input layout used here.
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.view({2, 3, 2, 2}); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.view({1, 2, 3, -1, 1}); });
  // Merging dims: a view when contiguous, a copy otherwise.
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.reshape({6, 4}); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.reshape({-1}); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.flatten(1); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.flatten(); });
}

TEST_CASE("gradcheck: permute, transpose, t") {
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.permute({1, 2, 0}); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.transpose(0, -1); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.select(2, 1).t(); });
  check_gradcheck([](const TensorList& in) { return in[0].t(); }, {randn_leaf({3, 2})});
}

TEST_CASE("gradcheck: slice (step 2), narrow, select") {
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.slice(2, 0, 4, 2); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.slice(1, -2, 3); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.narrow(1, 1, 2); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.select(1, -1); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.select(0, 1).select(1, 2); });
}

TEST_CASE("gradcheck: expand sums the repeats in backward") {
  check_grad_3ways({3, 1, 2}, [](const Tensor& x) { return x.expand({2, 3, 4, 2}); });
  check_grad_3ways({3, 1, 2}, [](const Tensor& x) { return x.expand({-1, 3, -1}); });
  // The gradient of a repeated element is the sum over its repeats.
  Tensor x = randn_leaf({2, 1});
  Tensor w = iota({3, 2, 4});
  sum(x.expand({3, 2, 4}) * w).backward();
  // w[i][j][k] = 8i + 4j + k summed over i, k: 114 + 48 j
  CHECK(vals(x.grad()) == Values{114, 162});
}

TEST_CASE("gradcheck: unsqueeze, squeeze") {
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.unsqueeze(-2); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.unsqueeze(0).unsqueeze(3); });
  check_grad_3ways({2, 1, 4}, [](const Tensor& x) { return x.squeeze(1); });
  check_grad_3ways({3, 1, 2}, [](const Tensor& x) { return x.squeeze(); });
  check_gradcheck([](const TensorList& in) { return in[0].squeeze(); }, {randn_leaf({1, 4, 1})});
}

TEST_CASE("gradcheck: contiguous, clone") {
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.contiguous(); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.transpose(0, 1).contiguous(); });
  check_grad_3ways({2, 3, 4}, [](const Tensor& x) { return x.clone(); });
}

TEST_CASE("to(): float64 -> float32 -> float64 gradient, dtype of the backward") {
  GradcheckOptions loose;
  loose.eps = 1e-3;  // float32 rounding of x +- eps is ~1e-7: keep the step large
  loose.atol = 1e-4;
  loose.rtol = 1e-3;
  for (int variant = 0; variant < 2; ++variant) {
    Tensor x = randn_leaf({3, 4});
    check_gradcheck(
        [variant](const TensorList& in) {
          const Tensor& v = variant == 0 ? in[0] : in[0].t();
          return v.to(DType::Float32).to(DType::Float64);
        },
        {x}, variant == 0 ? "contiguous" : "transposed", loose);
  }

  // Directly: the gradient arrives back in the input's dtype.
  Tensor x = randn_leaf({3});
  Tensor y = x.to(DType::Float32);
  CHECK(y.dtype() == DType::Float32);
  CHECK(y.requires_grad());
  sum(y * tensor({1, 2, 3})).backward();
  CHECK(x.grad().dtype() == DType::Float64);
  CHECK(vals(x.grad()) == Values{1, 2, 3});

  // Conversions to non-floating dtypes cut the graph.
  Tensor i = x.to(DType::Int64);
  CHECK_FALSE(i.requires_grad());
  CHECK_THROWS_WITH_AS(sum(i).backward(), doctest::Contains("not differentiable"), Error);
}

TEST_CASE("gradcheck: cat of three inputs along dim 1, one not requiring grad") {
  Tensor a = randn_leaf({2, 3}, 1), b = randn_leaf({2, 1}, 2), c = randn_leaf({2, 2}, 3);
  b.set_requires_grad(false);
  check_gradcheck([](const TensorList& in) { return cat({in[0], in[1], in[2]}, 1); }, {a, b, c});
  // Non-contiguous inputs: a transposed, c sliced.
  Tensor at = randn_leaf({3, 2}, 4), cs = randn_leaf({2, 4}, 5);
  check_gradcheck([](const TensorList& in) { return cat({in[0].t(), in[1], in[2].slice(1, 0, 4, 2)}, -1); },
                  {at, b, cs});
  check_gradcheck([](const TensorList& in) { return cat({in[0], in[1].t()}, 0); },
                  {randn_leaf({2, 2}), randn_leaf({2, 2}, 6)});

  // b gets no gradient; a and c get their slices of dy.
  Tensor y = cat({a, b, c}, 1);
  y.backward(iota({2, 6}));
  CHECK_FALSE(b.grad().defined());
  CHECK(vals(a.grad()) == Values{0, 1, 2, 6, 7, 8});
  CHECK(vals(c.grad()) == Values{4, 5, 10, 11});
}

TEST_CASE("gradcheck: stack") {
  Tensor a = randn_leaf({2, 3}, 1), b = randn_leaf({2, 3}, 2);
  for (int64_t dim : {0, 1, 2, -1}) {
    check_gradcheck([dim](const TensorList& in) { return stack({in[0], in[1]}, dim); }, {a, b});
  }
  Tensor bt = randn_leaf({3, 2}, 3);
  check_gradcheck([](const TensorList& in) { return stack({in[0], in[1].t(), in[0]}, 1); }, {a, bt});
}

// ---- errors ------------------------------------------------------------------

TEST_CASE("errors: out-of-range slice, narrow, select name the op and the shape") {
  Tensor x = iota({2, 3});
  CHECK_THROWS_WITH_AS(x.slice(1, 0, 5), doctest::Contains("slice: range [0, 5) out of bounds for dim 1 of shape [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.slice(1, -5, 2), doctest::Contains("of shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(x.slice(1, 0, 2, 0), doctest::Contains("slice: step must be positive"), Error);
  CHECK_THROWS_WITH_AS(x.slice(2, 0, 1), doctest::Contains("slice: dim 2 out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(x.narrow(1, 2, 2), doctest::Contains("narrow: start 2 length 2 out of bounds"), Error);
  CHECK_THROWS_WITH_AS(x.narrow(0, -1, 1), doctest::Contains("of shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(x.select(1, 3), doctest::Contains("select: index 3 out of bounds for dim 1 of shape [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.select(0, -3), doctest::Contains("select: index -3"), Error);
  CHECK_THROWS_WITH_AS(scalar_tensor(1).select(0, 0), doctest::Contains("select"), Error);
}

TEST_CASE("errors: bad permute, bad expand") {
  Tensor x = iota({2, 3, 4});
  CHECK_THROWS_WITH_AS(x.permute({0, 0, 1}), doctest::Contains("permute: dim 0 repeated in [0, 0, 1]"), Error);
  CHECK_THROWS_WITH_AS(x.permute({0, 1}), doctest::Contains("permute: 2 dims given for shape [2, 3, 4]"), Error);
  CHECK_THROWS_WITH_AS(x.permute({0, 1, 3}), doctest::Contains("permute: dim 3 out of range"), Error);
  CHECK_THROWS_WITH_AS(x.permute({0, -1, 2}), doctest::Contains("repeated"), Error);

  Tensor y = iota({2, 3});
  CHECK_THROWS_WITH_AS(y.expand({2, 4}), doctest::Contains("expand: cannot expand shape [2, 3] to [2, 4]"), Error);
  CHECK_THROWS_WITH_AS(y.expand({3}), doctest::Contains("fewer dims"), Error);
  CHECK_THROWS_WITH_AS(y.expand({-1, 2, 3}), doctest::Contains("-1 not allowed for a new leading dim"), Error);
  CHECK_THROWS_WITH_AS(iota({1, 3}).expand({-2, 3}), doctest::Contains("expand: invalid size -2 in shape [-2, 3]"), Error);
  CHECK_THROWS_WITH_AS(y.transpose(0, 2), doctest::Contains("transpose: dim 2 out of range"), Error);
  CHECK_THROWS_WITH_AS(iota({2, 3, 1}).t(), doctest::Contains("t: expected a 2-D tensor"), Error);
}

TEST_CASE("errors: reshape to a wrong numel, two -1s, view on a non-viewable input") {
  Tensor x = iota({3, 3});
  CHECK_THROWS_WITH_AS(x.reshape({4, 2}), doctest::Contains("reshape: shape [4, 2] is invalid for input of shape [3, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(x.reshape({-1, 2}), doctest::Contains("reshape: shape [-1, 2] is invalid"), Error);
  CHECK_THROWS_WITH_AS(x.reshape({-1, -1}), doctest::Contains("reshape: only one dim can be -1"), Error);
  CHECK_THROWS_WITH_AS(x.view({-1, -1}), doctest::Contains("view: only one dim can be -1"), Error);
  CHECK_THROWS_WITH_AS(x.view({9, -3}), doctest::Contains("view: invalid size in shape [9, -3]"), Error);
  CHECK_THROWS_WITH_AS(iota({3, 2}).t().view({6}),
                       doctest::Contains("view: shape [6] is not compatible with the strides [1, 2] of input shape "
                                         "[2, 3]; use reshape()"),
                       Error);
  CHECK_THROWS_WITH_AS(x.flatten(1, 0), doctest::Contains("flatten: start_dim 1 after end_dim 0"), Error);
}

TEST_CASE("errors: cat and stack with mismatched inputs") {
  Tensor a = iota({2, 3});
  CHECK_THROWS_WITH_AS(cat({a, iota({3, 2})}, 0), doctest::Contains("cat: shapes [2, 3] and [3, 2] differ outside dim 0"),
                       Error);
  CHECK_THROWS_WITH_AS(cat({a, iota({2})}, 0), doctest::Contains("cat: shapes [2, 3] and [2]"), Error);
  CHECK_THROWS_WITH_AS(cat({a, iota({2, 3}, DType::Float32)}, 1), doctest::Contains("float64"), Error);
  CHECK_THROWS_WITH_AS(cat({a, iota({2, 3}, DType::Float32)}, 1), doctest::Contains("float32"), Error);
  CHECK_THROWS_WITH_AS(cat({a, a}, 2), doctest::Contains("cat: dim 2 out of range"), Error);
  CHECK_THROWS_WITH_AS(cat({}, 0), doctest::Contains("cat: expected at least one tensor"), Error);
  CHECK_THROWS_WITH_AS(stack({a, iota({3, 2})}, 0), doctest::Contains("stack: shapes [2, 3] and [3, 2] differ"), Error);
  CHECK_THROWS_WITH_AS(stack({a, a}, 3), doctest::Contains("stack: dim 3 out of range"), Error);
}
