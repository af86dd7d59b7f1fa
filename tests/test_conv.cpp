// test_conv.cpp — conv2d, conv_transpose2d and max_pool2d: gradcheck on
// contiguous and strided inputs, forward and backward values against
// PyTorch 1.13, the adjoint relation between the two convolutions, max-pool
// ties and padding, skipped gradients, error messages, and the shapes of the
// InfoGAN generator and discriminator (docs/lab.md).
#include <cmath>
#include <functional>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"
#include "tensor/conv_geometry.h"

using namespace dl;
using namespace test;

namespace {

using Fn = std::function<Tensor(const TensorList&)>;

// sin(i * a + b) for i = 0, 1, ... in row-major order: smooth, distinct,
// and the same numbers in PyTorch (wave() in the reference script below).
Tensor wave(const Shape& shape, double a, double b, DType dtype = DType::Float64) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i) * a + b);
  return tensor(v, shape, dtype);
}

// The numbers the PyTorch script prints for one case: with inputs
// wave(shape_k, a_k, b_k), y = f(inputs) and L = sum(y * wave(y.shape, 0.3, 0.5)):
//   sum(y), sum(y^2), y.flatten()[7], then per input sum(grad), sum(grad^2).
Values summary(const Fn& f, const std::vector<Tensor>& leaves) {
  const Tensor y = f(leaves);
  sum(y * wave(y.shape(), 0.3, 0.5, y.dtype())).backward();
  Values v = {sum(y).item(), sum(y * y).item(), y.reshape({y.numel()}).select(0, 7).item()};
  for (const Tensor& t : leaves) v.push_back(sum(t.grad()).item()), v.push_back(sum(t.grad() * t.grad()).item());
  return v;
}

// Runs one reference case in float64 (to 1e-10) and float32 (to 2e-5 of
// max(1, |value|)), against the float64 PyTorch numbers.
void check_reference(const Fn& f, const std::vector<std::array<double, 2>>& waves, const std::vector<Shape>& shapes,
                     const Shape& out_shape, const Values& expected) {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    CAPTURE(dtype);
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < shapes.size(); ++i) leaves.push_back(leaf(wave(shapes[i], waves[i][0], waves[i][1], dtype)));
    CHECK(f(leaves).shape() == out_shape);
    CHECK(f(leaves).dtype() == dtype);
    const Values got = summary(f, leaves);
    REQUIRE(got.size() == expected.size());
    const double tol = dtype == DType::Float64 ? 1e-10 : 2e-5;
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(std::abs(got[i] - expected[i]) <= tol * std::max(1.0, std::abs(expected[i])));
    }
  }
}

const std::vector<std::array<double, 2>> XWB = {{0.7, 0.0}, {1.3, 0.2}, {2.1, 0.0}};  // x, weight, bias waves

}  // namespace

TEST_CASE("conv_out_size: PyTorch's floor mode, and no window when the kernel does not fit") {
  CHECK(conv_out_size(28, 4, 2, 1) == 14);  // the discriminator's first conv
  CHECK(conv_out_size(7, 7, 1, 0) == 1);    // a full-image kernel
  CHECK(conv_out_size(5, 2, 2, 0) == 2);    // floor: the last column is left out
  CHECK(conv_out_size(2, 3, 2, 0) == 0);    // span -1: (2 - 3) / 2 + 1 would truncate to 1
  CHECK(conv_out_size(1, 4, 1, 1) == 0);
}

// ---- gradcheck and gradgradcheck ---------------------------------------------------

namespace {

// conv2d and conv_transpose2d (and through their backwards conv2d_weight)
// are differentiable twice: every configuration is checked both ways.
void check_grad_and_gradgrad(const Fn& fn, const TensorList& inputs, const std::string& what = "") {
  check_gradcheck(fn, inputs, what);
  check_gradgradcheck(fn, inputs, what);
}

}  // namespace

TEST_CASE("conv2d gradcheck: k=4 s=2 p=1, k=7 s=1, non-square kernel with bias") {
  const Fn k4 = [](const TensorList& in) { return conv2d(in[0], in[1], Tensor(), {2, 2}, {1, 1}); };
  check_grad_and_gradgrad(k4, {randn_leaf({2, 3, 6, 6}, 1), randn_leaf({4, 3, 4, 4}, 2)}, "k4 s2 p1");
  const Fn k7 = [](const TensorList& in) { return conv2d(in[0], in[1], Tensor(), {1, 1}, {0, 0}); };
  check_grad_and_gradgrad(k7, {randn_leaf({2, 2, 8, 7}, 3), randn_leaf({3, 2, 7, 7}, 4)}, "k7 s1");
  const Fn nonsq = [](const TensorList& in) { return conv2d(in[0], in[1], in[2], {2, 1}, {1, 0}); };
  check_grad_and_gradgrad(nonsq, {randn_leaf({2, 3, 5, 6}, 5), randn_leaf({4, 3, 3, 2}, 6), randn_leaf({4}, 7)},
                  "3x2 s(2,1) p(1,0) bias");
}

TEST_CASE("conv2d gradcheck on a permuted or sliced input and a transposed weight") {
  Tensor x_perm = randn_leaf({2, 6, 6, 3}, 11), x_sliced = randn_leaf({2, 3, 6, 12}, 12);
  Tensor w_t = randn_leaf({3, 4, 4, 4}, 13), b = randn_leaf({4}, 14);
  REQUIRE_FALSE(x_perm.permute({0, 3, 1, 2}).is_contiguous());
  REQUIRE_FALSE(x_sliced.slice(3, 0, 12, 2).is_contiguous());
  REQUIRE_FALSE(w_t.transpose(0, 1).is_contiguous());
  check_grad_and_gradgrad(
      [](const TensorList& in) {
        return conv2d(in[0].permute({0, 3, 1, 2}), in[1].transpose(0, 1), in[2], {2, 2}, {1, 1});
      },
      {x_perm, w_t, b}, "permuted x, transposed w");
  check_grad_and_gradgrad([](const TensorList& in) { return conv2d(in[0].slice(3, 0, 12, 2), in[1].transpose(0, 1), in[2]); },
                  {x_sliced, w_t, b}, "sliced x, transposed w");
  // A strided bias and a weight sliced along the kernel width.
  Tensor w_wide = randn_leaf({4, 3, 3, 6}, 15), b2 = randn_leaf({8}, 16);
  check_grad_and_gradgrad(
      [](const TensorList& in) {
        return conv2d(in[0], in[1].slice(3, 0, 6, 2), in[2].slice(0, 1, 8, 2), {1, 2}, {0, 1});
      },
      {randn_leaf({1, 3, 5, 6}, 17), w_wide, b2}, "sliced w and bias");
}

// ops/conv.cpp skips im2col / col2im when they are reshapes: a 1x1 kernel
// with stride 1 and no padding, or a kernel covering the whole image.
TEST_CASE("conv2d and conv_transpose2d gradcheck where im2col is a reshape: 1x1 kernel, whole-image kernel") {
  Tensor x_perm = randn_leaf({2, 5, 4, 3}, 31), w1 = randn_leaf({4, 3, 1, 1}, 32), b = randn_leaf({4}, 33);
  check_grad_and_gradgrad([](const TensorList& in) { return conv2d(in[0].permute({0, 3, 1, 2}), in[1], in[2]); },
                  {x_perm, w1, b}, "1x1 on a permuted x");
  check_grad_and_gradgrad([](const TensorList& in) { return conv2d(in[0], in[1], in[2], {2, 3}, {0, 0}); },
                  {randn_leaf({2, 3, 5, 4}, 34), randn_leaf({4, 3, 5, 4}, 35), b}, "whole 5x4 image, stride (2, 3)");
  check_grad_and_gradgrad([](const TensorList& in) { return conv_transpose2d(in[0], in[1], in[2]); },
                  {randn_leaf({2, 3, 1, 1}, 36), randn_leaf({3, 4, 4, 3}, 37), b}, "transposed, 1x1 -> 4x3");
}

TEST_CASE("conv_transpose2d gradcheck: k=5 s=2 p=2, k=2 s=2, k=1, k=4 s=1, output_padding=1") {
  using P = std::array<int64_t, 2>;
  struct Case {
    Shape x, w;
    P s, p, op;
    bool bias;
  };
  const std::vector<Case> cases = {
      {{2, 3, 3, 4}, {3, 2, 5, 5}, {2, 2}, {2, 2}, {0, 0}, false},
      {{2, 3, 3, 2}, {3, 2, 2, 2}, {2, 2}, {0, 0}, {0, 0}, false},
      {{2, 4, 3, 3}, {4, 3, 1, 1}, {1, 1}, {0, 0}, {0, 0}, true},
      {{1, 3, 2, 3}, {3, 2, 4, 4}, {1, 1}, {0, 0}, {0, 0}, true},
      {{2, 3, 3, 3}, {3, 2, 5, 5}, {2, 2}, {2, 2}, {1, 1}, true},  // 3 -> 6 instead of 5
      {{1, 2, 3, 2}, {2, 3, 3, 2}, {2, 3}, {1, 0}, {1, 2}, true},  // non-square everything
  };
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    const Fn f = [c](const TensorList& in) {
      return conv_transpose2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.s, c.p, c.op);
    };
    TensorList inputs = {randn_leaf(c.x, 21), randn_leaf(c.w, 22)};
    if (c.bias) inputs.push_back(randn_leaf({c.w[1]}, 23));
    check_grad_and_gradgrad(f, inputs);
  }
}

TEST_CASE("conv_transpose2d gradcheck on a permuted or sliced input and a transposed weight") {
  Tensor x_perm = randn_leaf({2, 3, 4, 3}, 31), x_sliced = randn_leaf({2, 3, 3, 8}, 32);
  Tensor w_t = randn_leaf({2, 3, 5, 5}, 33), b = randn_leaf({2}, 34);
  REQUIRE_FALSE(x_perm.permute({0, 3, 1, 2}).is_contiguous());
  check_grad_and_gradgrad(
      [](const TensorList& in) {
        return conv_transpose2d(in[0].permute({0, 3, 1, 2}), in[1].transpose(0, 1), in[2], {2, 2}, {2, 2}, {1, 1});
      },
      {x_perm, w_t, b}, "permuted x, transposed w");
  check_grad_and_gradgrad(
      [](const TensorList& in) {
        return conv_transpose2d(in[0].slice(3, 1, 8, 2), in[1].transpose(0, 1), in[2], {2, 2}, {2, 2});
      },
      {x_sliced, w_t, b}, "sliced x, transposed w");
}

TEST_CASE("max_pool2d gradcheck: 2x2 s2, 3x3 s2 p1, strided inputs") {
  const Fn p2 = [](const TensorList& in) { return max_pool2d(in[0], {2, 2}, {2, 2}); };
  const Fn p3 = [](const TensorList& in) { return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}); };
  check_gradcheck(p2, {randn_leaf({2, 3, 6, 5}, 41)}, "2x2 s2");
  check_gradcheck(p3, {randn_leaf({2, 3, 7, 6}, 42)}, "3x3 s2 p1");
  // Overlapping windows: one pixel can be the maximum of several windows.
  check_gradcheck([](const TensorList& in) { return max_pool2d(in[0], {3, 2}, {1, 1}, {1, 1}); },
                  {randn_leaf({1, 2, 5, 4}, 43)}, "3x2 s1 p1");
  Tensor x_perm = randn_leaf({2, 6, 5, 3}, 44), x_sliced = randn_leaf({2, 3, 7, 12}, 45);
  check_gradcheck([p2](const TensorList& in) { return p2({in[0].permute({0, 3, 1, 2})}); }, {x_perm}, "permuted");
  check_gradcheck([p3](const TensorList& in) { return p3({in[0].slice(3, 1, 12, 2)}); }, {x_sliced}, "sliced");
}

// ---- against PyTorch --------------------------------------------------------------

// Reference script (PyTorch 1.13, /usr/bin/python3), printing summary() for
// dt in (torch.float64, torch.float32):
//   import torch, math; import torch.nn.functional as F
//   def wave(shape, a, b, dt):
//       n = math.prod(shape)
//       return torch.sin(torch.arange(n, dtype=torch.float64) * a + b).reshape(shape).to(dt)
//   def report(f, shapes, dt):
//       ins = [wave(s, a, b, dt).requires_grad_() for s, a, b in shapes]; y = f(*ins)
//       (y * wave(tuple(y.shape), 0.3, 0.5, dt)).sum().backward()
//       v = [y.sum().item(), (y*y).sum().item(), y.flatten()[7].item()]
//       for t in ins: v += [t.grad.sum().item(), (t.grad*t.grad).sum().item()]
//       print(list(y.shape), v)
//   X, W, B = (0.7, 0.), (1.3, 0.2), (2.1, 0.)
//   report(lambda x, w, b: F.conv2d(x, w, b, 2, 1), [((2,3,9,8),)+X, ((4,3,4,4),)+W, ((4,),)+B], dt)
//   report(lambda x, w, b: F.conv2d(x, w, b, (2,1), (1,0)), [((2,3,7,9),)+X, ((5,3,3,2),)+W, ((5,),)+B], dt)
//   report(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 2, 1), [((2,4,5,4),)+X, ((4,3,5,5),)+W, ((3,),)+B], dt)
//   report(lambda x, w, b: F.conv_transpose2d(x, w, b, (2,3), (1,0), (1,2)),
//          [((2,4,5,4),)+X, ((4,3,3,2),)+W, ((3,),)+B], dt)
//   report(lambda x: F.max_pool2d(x, 3, 2, 1), [((2,3,9,8),)+X], dt)
//   report(lambda x: F.max_pool2d(x, 2, 2), [((2,3,7,7),)+X], dt)
// The float64 numbers are pasted below; float32 agrees with them to 2e-5.
TEST_CASE("conv2d forward and backward match PyTorch (float64 and float32)") {
  check_reference([](const TensorList& in) { return conv2d(in[0], in[1], in[2], {2, 2}, {1, 1}); }, XWB,
                  {{2, 3, 9, 8}, {4, 3, 4, 4}, {4}}, {2, 4, 4, 4},
                  {-0.8973246280284819, 474.875937824222, 1.7141042013613725, 0.5199090743563128, 121.79269369928491,
                   -15.569901378145476, 691.710316381057, 1.480787606612875, 160.7863432331228});
  check_reference([](const TensorList& in) { return conv2d(in[0], in[1], in[2], {2, 1}, {1, 0}); }, XWB,
                  {{2, 3, 7, 9}, {5, 3, 3, 2}, {5}}, {2, 5, 4, 8},
                  {55.069858380046966, 269.4410523438107, 0.29676940112951256, -5.249721856341866, 83.78925069466467,
                   -5.367235702627863, 65.98536274101136, 4.838571691476354, 134.33195924022178});
}

TEST_CASE("conv_transpose2d forward and backward match PyTorch (float64 and float32)") {
  check_reference([](const TensorList& in) { return conv_transpose2d(in[0], in[1], in[2], {2, 2}, {2, 2}, {1, 1}); },
                  XWB, {{2, 4, 5, 4}, {4, 3, 5, 5}, {3}}, {2, 3, 10, 8},
                  {0.5622381556770129, 247.51618062397122, -0.007290406629698626, 0.037014245153550396,
                   38.96350462301398, 0.9110247265547253, 53.858621171805666, -0.15835855189018277,
                   1.3829439824149596});
  check_reference([](const TensorList& in) { return conv_transpose2d(in[0], in[1], in[2], {2, 3}, {1, 0}, {1, 2}); },
                  XWB, {{2, 4, 5, 4}, {4, 3, 3, 2}, {3}}, {2, 3, 10, 13},
                  {-19.56561028776935, 1059.8253623414755, -0.6397727073178091, -2.0591121110780968,
                   1521.5242410714432, -0.15561183248194388, 56.03663225312377, 4.136092182470724,
                   11.625244118702632});
}

TEST_CASE("max_pool2d forward and backward match PyTorch (float64 and float32)") {
  check_reference([](const TensorList& in) { return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}); }, XWB,
                  {{2, 3, 9, 8}}, {2, 3, 5, 4},
                  {80.42145812400659, 74.072706916496, 0.9927664058359067, 2.4073491313183455, 80.30564830714164});
  check_reference([](const TensorList& in) { return max_pool2d(in[0], {2, 2}, {2, 2}); }, XWB, {{2, 3, 7, 7}},
                  {2, 3, 3, 3},
                  {32.733531343358685, 31.888453190564213, 0.9946447738778378, 5.371177658091467, 26.704442109568607});
}

// x = torch.ones(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
// F.max_pool2d(x, 2, 1).sum().backward(); x.grad        (and likewise F.max_pool2d(x, 3, 1, 1))
// F.max_pool2d(-torch.arange(1., 17.).reshape(1, 1, 4, 4), 3, 2, 1) -> [-1, -2, -5, -6]
TEST_CASE("max_pool2d: ties send the gradient to the first maximum, padding never wins") {
  Tensor x = leaf(ones({1, 1, 4, 4}, DType::Float64));
  sum(max_pool2d(x, {2, 2}, {1, 1})).backward();
  CHECK(vals(x.grad()) == Values{1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0});
  x.zero_grad();
  sum(max_pool2d(x, {3, 3}, {1, 1}, {1, 1})).backward();
  CHECK(vals(x.grad()) == Values{4, 2, 2, 0, 2, 1, 1, 0, 2, 1, 1, 0, 0, 0, 0, 0});
  const Tensor neg = arange(1.0, 17.0, 1.0, DType::Float32).reshape({1, 1, 4, 4}) * -1.0;
  CHECK(vals(max_pool2d(neg, {3, 3}, {2, 2}, {1, 1})) == Values{-1, -2, -5, -6});
  // NaN propagates (PyTorch: a NaN replaces the running maximum).
  const Tensor with_nan = tensor({1, NAN, 3, 4}, {1, 1, 2, 2});
  CHECK(std::isnan(max_pool2d(with_nan, {2, 2}, {2, 2}).item()));
}

// ---- properties -------------------------------------------------------------------

TEST_CASE("conv2d_weight is conv2d's weight gradient, and is itself checked by gradcheck and gradgradcheck") {
  using P = std::array<int64_t, 2>;
  struct Config {
    const char* what;
    Shape x, w;
    P stride, padding;
  };
  const Config configs[] = {{"k4 s2 p1", {2, 3, 6, 6}, {4, 3, 4, 4}, {2, 2}, {1, 1}},
                            {"k7 s1 (whole image)", {2, 2, 7, 7}, {3, 2, 7, 7}, {1, 1}, {0, 0}},
                            {"3x2 s(2,1) p(1,0)", {2, 3, 5, 6}, {4, 3, 3, 2}, {2, 1}, {1, 0}},
                            {"1x1", {2, 3, 4, 3}, {5, 3, 1, 1}, {1, 1}, {0, 0}}};
  uint64_t seed = 300;
  for (const Config& c : configs) {
    CAPTURE(c.what);
    const Tensor x = randn_leaf(c.x, ++seed), w = randn_leaf(c.w, ++seed);
    const Shape y_shape = conv2d(x, w, Tensor(), c.stride, c.padding).shape();
    const Tensor gy = randn_leaf(y_shape, ++seed);
    const P kernel = {c.w[2], c.w[3]};
    // The value: what backward of sum(conv2d(x, W) * gy) leaves in W.grad.
    sum(conv2d(x, w, Tensor(), c.stride, c.padding) * gy).backward();
    CHECK(max(abs(conv2d_weight(x, gy, kernel, c.stride, c.padding) - w.grad())).item() < 1e-12);
    const Fn fn = [&](const TensorList& in) { return conv2d_weight(in[0], in[1], kernel, c.stride, c.padding); };
    check_grad_and_gradgrad(fn, {x, gy}, c.what);
  }
  // Non-contiguous x and grad_output.
  const Tensor x_perm = randn_leaf({2, 6, 6, 3}, 320), gy_t = randn_leaf({3, 4, 2, 3}, 321);
  check_grad_and_gradgrad(
      [](const TensorList& in) { return conv2d_weight(in[0].permute({0, 3, 1, 2}), in[1].transpose(0, 2), {4, 4}, {2, 2}, {1, 1}); },
      {x_perm, gy_t}, "permuted x, transposed grad_output");
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv2d(x, W), y> = <x, conv_transpose2d(y, W)>") {
  using P = std::array<int64_t, 2>;
  const std::vector<std::array<P, 3>> cases = {{P{4, 4}, P{2, 2}, P{1, 1}},  // kernel, stride, padding
                                               {P{3, 2}, P{2, 1}, P{1, 0}},
                                               {P{5, 5}, P{2, 2}, P{2, 2}},
                                               {P{1, 1}, P{1, 1}, P{0, 0}}};
  for (const auto& [k, s, p] : cases) {
    CAPTURE(k[0]);
    const Tensor x = randn64({2, 3, 9, 8}, 51), w = randn64({4, 3, k[0], k[1]}, 52);
    const Tensor y = conv2d(x, w, Tensor(), s, p);
    const Tensor r = randn64(y.shape(), 53);
    // Output padding recovers the rows the forward's floor dropped.
    const P op = {(9 + 2 * p[0] - k[0]) % s[0], (8 + 2 * p[1] - k[1]) % s[1]};
    const Tensor back = conv_transpose2d(r, w, Tensor(), s, p, op);
    REQUIRE(back.shape() == x.shape());
    CHECK(sum(y * r).item() == doctest::Approx(sum(x * back).item()).epsilon(1e-12));
  }
}

TEST_CASE("conv2d with a 1x1 kernel is a matmul over channels; bias broadcasts over pixels") {
  const Tensor x = randn64({2, 3, 4, 5}, 61), w = randn64({6, 3, 1, 1}, 62), b = randn64({6}, 63);
  const Tensor y = conv2d(x, w, b);
  const Tensor expected =
      matmul(w.reshape({6, 3}), x.reshape({2, 3, 20})).reshape({2, 6, 4, 5}) + b.reshape({6, 1, 1});
  const Values got = vals(y), want = vals(expected);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
}

TEST_CASE("conv gradients nobody needs are skipped; the others are unchanged") {
  const Tensor x0 = randn64({2, 3, 6, 6}, 71), w0 = randn64({4, 3, 4, 4}, 72), b0 = randn64({4}, 73);
  Tensor x = leaf(x0.clone()), w = leaf(w0.clone()), b = leaf(b0.clone());
  sum(conv2d(x, w, b, {2, 2}, {1, 1}) * wave({2, 4, 3, 3}, 0.3, 0.5)).backward();
  // Data that does not require grad: only the weight and bias get gradients.
  Tensor w2 = leaf(w0.clone()), b2 = leaf(b0.clone());
  sum(conv2d(x0, w2, b2, {2, 2}, {1, 1}) * wave({2, 4, 3, 3}, 0.3, 0.5)).backward();
  CHECK(vals(w2.grad()) == vals(w.grad()));
  CHECK(vals(b2.grad()) == vals(b.grad()));
  // A frozen weight and no bias: only x.
  Tensor x3 = leaf(x0.clone());
  sum(conv2d(x3, w0, Tensor(), {2, 2}, {1, 1}) * wave({2, 4, 3, 3}, 0.3, 0.5)).backward();
  CHECK(vals(x3.grad()) == vals(x.grad()));
  // The same for the transposed convolution.
  Tensor w4 = leaf(randn64({3, 2, 5, 5}, 74)), x4 = leaf(randn64({2, 3, 3, 3}, 75));
  sum(conv_transpose2d(x4.detach(), w4, Tensor(), {2, 2}, {2, 2})).backward();
  CHECK(w4.grad().defined());
  sum(conv_transpose2d(x4, w4.detach(), Tensor(), {2, 2}, {2, 2})).backward();
  CHECK(x4.grad().defined());
  // Nothing requires grad: no graph.
  CHECK_FALSE(conv2d(x0, w0, b0).requires_grad());
  CHECK_FALSE(max_pool2d(x0, {2, 2}, {2, 2}).requires_grad());
  CHECK(conv2d(x0, w0, leaf(b0.clone())).requires_grad());
}

// ---- the InfoGAN stack (docs/lab.md) ---------------------------------------------

TEST_CASE("InfoGAN generator 64x1x1 -> 1x28x28 and discriminator 1x28x28 -> 256x1x1 shapes, with backward") {
  const Tensor none;
  Generator gen(81);
  auto param = [&](const Shape& shape) { return leaf(randn(shape, DType::Float32, &gen) * 0.02); };
  // Generator main.0, .3, .6, .9, .12 (ConvTranspose2d, bias=False).
  const Tensor g0 = param({64, 512, 1, 1}), g3 = param({512, 256, 4, 4}), g6 = param({256, 128, 5, 5}),
               g9 = param({128, 64, 2, 2}), g12 = param({64, 1, 2, 2});
  const Tensor z = randn({2, 64, 1, 1}, DType::Float32, &gen);
  Tensor h = leaky_relu(conv_transpose2d(z, g0, none), 0.01);
  CHECK(h.shape() == Shape{2, 512, 1, 1});
  h = leaky_relu(conv_transpose2d(h, g3, none), 0.01);
  CHECK(h.shape() == Shape{2, 256, 4, 4});
  h = leaky_relu(conv_transpose2d(h, g6, none, {2, 2}, {2, 2}), 0.01);
  CHECK(h.shape() == Shape{2, 128, 7, 7});
  h = leaky_relu(conv_transpose2d(h, g9, none, {2, 2}), 0.01);
  CHECK(h.shape() == Shape{2, 64, 14, 14});
  const Tensor image = sigmoid(conv_transpose2d(h, g12, none, {2, 2}));
  CHECK(image.shape() == Shape{2, 1, 28, 28});

  // Discriminator main.0, .2, .5 (Conv2d, bias=False), head D.0 (bias) and Q.0, Q.3.
  const Tensor d0 = param({64, 1, 4, 4}), d2 = param({128, 64, 4, 4}), d5 = param({256, 128, 7, 7});
  const Tensor head_w = param({1, 256, 1, 1}), head_b = param({1}), q0 = param({128, 256, 1, 1}),
               q3 = param({10, 128, 1, 1}), q3_b = param({10});
  Tensor t = leaky_relu(conv2d(image, d0, none, {2, 2}, {1, 1}), 0.1);
  CHECK(t.shape() == Shape{2, 64, 14, 14});
  t = leaky_relu(conv2d(t, d2, none, {2, 2}, {1, 1}), 0.1);
  CHECK(t.shape() == Shape{2, 128, 7, 7});
  t = leaky_relu(conv2d(t, d5, none), 0.1);
  CHECK(t.shape() == Shape{2, 256, 1, 1});
  const Tensor d = sigmoid(conv2d(t, head_w, head_b));
  CHECK(d.shape() == Shape{2, 1, 1, 1});
  const Tensor q = conv2d(leaky_relu(conv2d(t, q0, none), 0.1), q3, q3_b);
  CHECK(q.shape() == Shape{2, 10, 1, 1});

  // One backward through both: every parameter gets a gradient of its shape.
  (sum(d) + sum(q)).backward();
  for (const Tensor& p : {g0, g3, g6, g9, g12, d0, d2, d5, head_w, head_b, q0, q3, q3_b}) {
    REQUIRE(p.grad().defined());
    CHECK(p.grad().shape() == p.shape());
    CHECK(std::isfinite(sum(abs(p.grad())).item()));
  }
}

// ---- errors -----------------------------------------------------------------------

TEST_CASE("conv2d errors name the op and the shapes") {
  const Tensor none;
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}), zeros({4, 2, 3, 3}), none),
                       doctest::Contains("conv2d: input [2, 3, 8, 8] has 3 channels, weight [4, 2, 3, 3] expects 2"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3}), none),
                       doctest::Contains("conv2d: expected a 4-D input [N, C, H, W], got [3, 8, 8]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}), zeros({4, 3, 3}), none),
                       doctest::Contains("conv2d: expected a 4-D weight, got [4, 3, 3]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}), zeros({5})),
                       doctest::Contains("conv2d: bias [5] does not match weight [4, 3, 3, 3] (expected [4])"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 2, 8}), zeros({4, 3, 3, 3}), none),
                       doctest::Contains("conv2d: input [2, 3, 2, 8] with padding [0, 0] is smaller than the kernel "
                                         "[3, 3] of weight [4, 3, 3, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}), none, {0, 1}),
                       doctest::Contains("conv2d: stride [0, 1] must be positive"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}), none, {1, 1}, {-1, 0}),
                       doctest::Contains("conv2d: padding [-1, 0] must not be negative"), Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}), zeros({4, 3, 3, 3}, DType::Float64), none),
                       doctest::Contains("conv2d: input float32 [2, 3, 8, 8] and weight float64 [4, 3, 3, 3] have "
                                         "different dtypes"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(zeros({2, 3, 8, 8}, DType::Int64), zeros({4, 3, 3, 3}, DType::Int64), none),
                       doctest::Contains("conv2d: expected a float32 or float64 input, got int64 [2, 3, 8, 8]"), Error);
}

TEST_CASE("conv_transpose2d and max_pool2d errors name the op and the shapes") {
  const Tensor none;
  CHECK_THROWS_WITH_AS(conv_transpose2d(zeros({2, 3, 4, 4}), zeros({2, 5, 3, 3}), none),
                       doctest::Contains("conv_transpose2d: input [2, 3, 4, 4] has 3 channels, weight [2, 5, 3, 3] "
                                         "expects 2"),
                       Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(zeros({2, 3, 4, 4}), zeros({3, 5, 3, 3}), zeros({3})),
                       doctest::Contains("conv_transpose2d: bias [3] does not match weight [3, 5, 3, 3] "
                                         "(expected [5])"),
                       Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(zeros({2, 3, 4, 4}), zeros({3, 5, 3, 3}), none, {2, 2}, {1, 1}, {2, 0}),
                       doctest::Contains("conv_transpose2d: output_padding [2, 0] must be at least 0 and smaller than "
                                         "stride [2, 2]"),
                       Error);
  CHECK_THROWS_WITH_AS(conv_transpose2d(zeros({2, 3, 1, 1}), zeros({3, 5, 1, 1}), none, {1, 1}, {1, 1}),
                       doctest::Contains("conv_transpose2d: input [2, 3, 1, 1] with weight [3, 5, 1, 1], stride [1, "
                                         "1], padding [1, 1] gives an empty output [-1, -1]"),
                       Error);
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({2, 3, 8, 8}), {3, 3}, {2, 2}, {2, 2}),
                       doctest::Contains("max_pool2d: padding [2, 2] must be at most half the kernel [3, 3]"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({2, 3, 2, 2}), {3, 3}, {1, 1}),
                       doctest::Contains("max_pool2d: input [2, 3, 2, 2] with padding [0, 0] is smaller than the "
                                         "kernel [3, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({3, 8, 8}), {2, 2}, {2, 2}),
                       doctest::Contains("max_pool2d: expected a 4-D input [N, C, H, W], got [3, 8, 8]"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({2, 3, 8, 8}), {0, 2}, {2, 2}),
                       doctest::Contains("max_pool2d: kernel [0, 2] must be positive"), Error);
}

// ---- the products with an implicit im2col ----------------------------------------

TEST_CASE("the CPU's implicit-im2col products equal im2col + matmul bit for bit (padding, strides, strided x)") {
  using Pair = std::array<int64_t, 2>;
  Backend& cpu = backend(Device::cpu());
  struct Case {
    Shape x_shape;
    Pair k, s, p;
    bool permuted;  // x as a permuted view instead of contiguous
  };
  const std::vector<Case> cases = {{{3, 2, 7, 6}, {3, 2}, {2, 1}, {1, 2}, false},
                                   {{2, 3, 9, 9}, {4, 4}, {2, 2}, {1, 1}, true},
                                   {{2, 4, 5, 5}, {5, 5}, {2, 2}, {2, 2}, false},
                                   {{1, 2, 6, 4}, {2, 2}, {2, 2}, {0, 0}, true}};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const Case& c : cases) {
      CAPTURE(dtype);
      CAPTURE(c.x_shape);
      const Tensor x = c.permuted ? wave({c.x_shape[0], c.x_shape[2], c.x_shape[1], c.x_shape[3]}, 0.37, 0.1, dtype)
                                        .permute({0, 2, 1, 3})
                                  : wave(c.x_shape, 0.37, 0.1, dtype);
      const int64_t depth = c.x_shape[1] * c.k[0] * c.k[1];
      const int64_t oh = (c.x_shape[2] + 2 * c.p[0] - c.k[0]) / c.s[0] + 1;
      const int64_t ow = (c.x_shape[3] + 2 * c.p[1] - c.k[1]) / c.s[1] + 1;
      const int64_t n = c.x_shape[0], m = 5, length = oh * ow;

      const Tensor weight = wave({m, depth}, 0.91, 0.3, dtype);
      Tensor implicit = Tensor::empty({n, m, length}, dtype), explicit_ = Tensor::empty({n, m, length}, dtype);
      cpu.matmul_im2col(weight, x, c.k, c.s, c.p, implicit);
      cpu.Backend::matmul_im2col(weight, x, c.k, c.s, c.p, explicit_);
      CHECK(vals(implicit) == vals(explicit_));

      const Tensor dy = wave({n, m, length}, 0.53, 0.7, dtype);
      Tensor dw = Tensor::empty({m, depth}, dtype), dw_explicit = Tensor::empty({m, depth}, dtype);
      cpu.matmul_im2col_sum_batch(dy, x, c.k, c.s, c.p, dw);
      cpu.Backend::matmul_im2col_sum_batch(dy, x, c.k, c.s, c.p, dw_explicit);
      CHECK(vals(dw) == vals(dw_explicit));
    }
  }
}
