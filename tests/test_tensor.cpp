// test_tensor.cpp — the Tensor handle itself: creation functions, dtypes,
// layout rules, the Philox random generator, in-place writes and the
// autograd fields (requires_grad, grad, detach, the version counter).
#include <algorithm>
#include <array>
#include <cmath>

#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"
#include "ops/view.h"
#include "tensor/philox.h"

using namespace dl;
using namespace test;

namespace {

const DType kAllDTypes[] = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};

bool philox_equals(Philox4x32 got, std::array<uint32_t, 4> want) {
  return got.v[0] == want[0] && got.v[1] == want[1] && got.v[2] == want[2] && got.v[3] == want[3];
}

}  // namespace

// ---- dtypes and layout -------------------------------------------------------

TEST_CASE("dtype sizes, names and floating-ness") {
  CHECK(dtype_size(DType::Float32) == 4);
  CHECK(dtype_size(DType::Float64) == 8);
  CHECK(dtype_size(DType::Int64) == 8);
  CHECK(dtype_size(DType::UInt8) == 1);
  CHECK(dtype_size(DType::Bool) == 1);
  CHECK(std::string(dtype_name(DType::Float32)) == "float32");
  CHECK(std::string(dtype_name(DType::Float64)) == "float64");
  CHECK(std::string(dtype_name(DType::Int64)) == "int64");
  CHECK(std::string(dtype_name(DType::UInt8)) == "uint8");
  CHECK(std::string(dtype_name(DType::Bool)) == "bool");
  CHECK(is_floating(DType::Float32));
  CHECK(is_floating(DType::Float64));
  CHECK_FALSE(is_floating(DType::Int64));
  CHECK_FALSE(is_floating(DType::UInt8));
  CHECK_FALSE(is_floating(DType::Bool));
  for (DType d : kAllDTypes) {
    Tensor t = zeros({2, 3}, d);
    CHECK(t.dtype() == d);
    CHECK(t.storage()->nbytes() == 6 * dtype_size(d));
  }
}

TEST_CASE("fresh tensors are row-major; is_contiguous ignores size-1 dims") {
  Tensor t = Tensor::empty({2, 3, 4});
  CHECK(t.strides() == Shape{12, 4, 1});
  CHECK(t.offset() == 0);
  CHECK(t.is_contiguous());
  CHECK(t.dim() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.size(-1) == 4);
  CHECK(t.device() == Device::cpu());
  CHECK(Tensor::empty({2, 0, 3}).strides() == Shape{3, 3, 1});  // torch: (3, 3, 1)
  CHECK(Tensor::empty({2, 0}).is_contiguous());  // no elements: contiguous whatever the strides
  CHECK(zeros({0, 3}).t().is_contiguous());
  CHECK(Tensor::empty({}).strides().empty());
  CHECK_THROWS_WITH_AS(Tensor::empty({2, -1}), doctest::Contains("empty: negative size in shape [2, -1]"), Error);
  CHECK_THROWS_WITH_AS(t.size(3), doctest::Contains("size: dim 3 out of range for shape [2, 3, 4]"), Error);

  Tensor x = iota({2, 3});
  CHECK_FALSE(x.t().is_contiguous());
  CHECK(x.slice(0, 0, 1).is_contiguous());        // [1, 3]: torch True
  CHECK_FALSE(x.slice(1, 0, 1).is_contiguous());  // [2, 1] strides [3, 1]: torch False
  CHECK(iota({4, 1}).t().is_contiguous());        // [1, 4] strides [1, 1]
  // A size-1 dim may carry any stride.
  CHECK(as_strided_view(x, {1, 3, 1}, {99, 1, 42}, 0).is_contiguous());
  CHECK_FALSE(as_strided_view(x, {3, 1}, {2, 1}, 0).is_contiguous());
  CHECK(x.expand({1, 2, 3}).is_contiguous());
  CHECK_FALSE(iota({1, 3}).expand({2, 3}).is_contiguous());
}

// ---- creation ----------------------------------------------------------------

TEST_CASE("zeros, ones, full in every dtype") {
  for (DType d : kAllDTypes) {
    CAPTURE(d);
    CHECK(vals(zeros({2, 2}, d)) == Values{0, 0, 0, 0});
    CHECK(vals(ones({3}, d)) == Values{1, 1, 1});
    CHECK(zeros({2, 2}, d).shape() == Shape{2, 2});
  }
  CHECK(vals(full({2}, 2.5, DType::Float64)) == Values{2.5, 2.5});
  CHECK(full({2}, 2.5, DType::Float32).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
  CHECK(full({2}, 2.7, DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{2, 2});
  CHECK(full({2}, -0.5, DType::Bool).to_vector<bool>() == std::vector<bool>{true, true});
  CHECK(full({1}, 200, DType::UInt8).to_vector<uint8_t>() == std::vector<uint8_t>{200});
  Tensor like = iota({2, 3}, DType::Int64);
  CHECK(zeros_like(like).dtype() == DType::Int64);
  CHECK(ones_like(like).shape() == Shape{2, 3});
  CHECK(vals(full_like(like, 7)) == Values{7, 7, 7, 7, 7, 7});
  CHECK(zeros({0, 3}).numel() == 0);
}

TEST_CASE("arange: float steps, negative steps, empty ranges") {
  // torch.arange(0, 1, 0.3, dtype=torch.float64) -> [0, 0.3, 0.6, 0.9] (bitwise i * 0.3)
  Tensor a = arange(0, 1, 0.3, DType::Float64);
  CHECK(a.shape() == Shape{4});
  CHECK(vals(a) == Values{0.0, 0.3, 2 * 0.3, 3 * 0.3});
  // torch.arange(5, 0, -1.5) -> [5.0, 3.5, 2.0, 0.5]
  CHECK(vals(arange(5, 0, -1.5, DType::Float32)) == Values{5.0, 3.5, 2.0, 0.5});
  CHECK(vals(arange(-2, 2, 1.0)) == Values{-2, -1, 0, 1});
  CHECK(arange(0, 0, 1.0).shape() == Shape{0});
  CHECK(arange(1, 0, 1.0).numel() == 0);  // wrong direction: empty (torch raises instead)
  CHECK(arange(0, 1, -1.0).numel() == 0);
  Tensor n = arange(5);
  CHECK(n.dtype() == DType::Int64);
  CHECK(n.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(0, 10, 4.0).to_vector<int64_t>() == std::vector<int64_t>{0, 4, 8});
  CHECK_THROWS_WITH_AS(arange(0, 1, 0.0), doctest::Contains("arange: step must be non-zero"), Error);
  CHECK_THROWS_WITH_AS(arange(0, INFINITY, 1.0), doctest::Contains("arange: unsupported range 0 -> inf"), Error);
  CHECK_THROWS_AS(arange(NAN, 1, 1.0), Error);
  CHECK_THROWS_AS(arange(0, 1e300, 1.0), Error);
  // int64 (the default) cannot hold 0, 0.3, 0.6, 0.9: refused, not truncated to zeros.
  CHECK_THROWS_WITH_AS(arange(0, 1, 0.3), doctest::Contains("arange: fractional range 0 -> 1 with step 0.3"), Error);
}

TEST_CASE("tensor(values, shape, dtype), from_host, scalar_tensor, item") {
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Int64);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.dtype() == DType::Int64);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(tensor({1.5, 2.5}).shape() == Shape{2});
  CHECK(tensor({1.5, 2.5}).dtype() == DType::Float32);
  CHECK(tensor({}).shape() == Shape{0});
  CHECK(tensor({0, 3}, {}, DType::Bool).to_vector<bool>() == std::vector<bool>{false, true});
  CHECK_THROWS_WITH_AS(tensor({1, 2, 3}, {2, 2}), doctest::Contains("tensor: 3 values do not fill shape [2, 2]"),
                       Error);

  const float f[] = {1.5f, -2.0f, 3.25f, 0.0f};
  Tensor hf = from_host(f, {2, 2}, DType::Float32);
  CHECK(hf.to_vector<float>() == std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f});
  const int64_t i[] = {-7, 1LL << 40};
  CHECK(from_host(i, {2}, DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{-7, 1LL << 40});
  const uint8_t u[] = {0, 128, 255};
  CHECK(vals(from_host(u, {3}, DType::UInt8)) == Values{0, 128, 255});
  const bool b[] = {true, false};
  CHECK(from_host(b, {2}, DType::Bool).to_vector<bool>() == std::vector<bool>{true, false});

  Tensor s = scalar_tensor(2.5, DType::Float64);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.shape().empty());
  CHECK(s.is_contiguous());
  CHECK(s.item() == 2.5);
  CHECK(scalar_tensor(3.9, DType::Int64).item() == 3);
  CHECK(tensor({4}, {1, 1}).item() == 4);
  CHECK_THROWS_WITH_AS(tensor({1, 2}).item(), doctest::Contains("item: expected a tensor with one element, got shape [2]"),
                       Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined tensor"), Error);
}

TEST_CASE("to_vector reads non-contiguous tensors in row-major order, converting dtype") {
  Tensor x = iota({2, 3});
  CHECK(vals(x.t()) == Values{0, 3, 1, 4, 2, 5});
  CHECK(x.t().to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(x.slice(1, 0, 3, 2).to_vector<float>() == std::vector<float>{0, 2, 3, 5});
  CHECK(x.select(1, 1).expand({2, 2}).to_vector<uint8_t>() == std::vector<uint8_t>{1, 4, 1, 4});
  CHECK(x.t().to_vector<bool>() == std::vector<bool>{false, true, true, true, true, true});
}

// ---- random numbers ------------------------------------------------------------

TEST_CASE("Philox-4x32-10 matches the Random123 known-answer vectors") {
  // Random123 kat_vectors: philox4x32 10 <ctr> <key> <result>
  CHECK(philox_equals(philox4x32_10({{0, 0, 0, 0}}, 0, 0), {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  CHECK(philox_equals(philox4x32_10({{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff),
                      {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  CHECK(philox_equals(philox4x32_10({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0),
                      {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  // The library's counter layout: {lo(i), hi(i), lo(offset), hi(offset)}, key {lo(seed), hi(seed)}.
  const Philox4x32 via_block = philox_block(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull);
  CHECK(philox_equals(via_block, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST_CASE("rand/randn: element i of a draw is philox_uniform/normal(seed, offset, i)") {
  Generator gen(1234);
  gen.offset = 5;
  Tensor u32 = rand({3, 5}, DType::Float32, &gen);
  CHECK(gen.offset == 6);
  Tensor u64 = rand({17}, DType::Float64, &gen);
  Tensor n32 = randn({2, 4}, DType::Float32, &gen);
  Tensor n64 = randn({9}, DType::Float64, &gen);
  CHECK(gen.offset == 9);
  const std::vector<float> a = u32.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == philox_uniform<float>(1234, 5, i));
  const std::vector<double> b = u64.to_vector<double>();
  for (size_t i = 0; i < b.size(); ++i) CHECK(b[i] == philox_uniform<double>(1234, 6, i));
  const std::vector<float> c = n32.to_vector<float>();
  for (size_t i = 0; i < c.size(); ++i) CHECK(c[i] == philox_normal<float>(1234, 7, i));
  const std::vector<double> d = n64.to_vector<double>();
  for (size_t i = 0; i < d.size(); ++i) CHECK(d[i] == philox_normal<double>(1234, 8, i));
  // The shape does not matter, only the row-major element number.
  Generator again(1234);
  again.offset = 5;
  CHECK(rand({15}, DType::Float32, &again).to_vector<float>() == a);
}

TEST_CASE("rand: same seed, same numbers; new seed or next draw, new numbers") {
  Generator g1(42), g2(42), g3(43);
  const Values first = vals(rand({64}, DType::Float64, &g1));
  CHECK(vals(rand({64}, DType::Float64, &g2)) == first);
  CHECK(vals(rand({64}, DType::Float64, &g3)) != first);
  const Values second = vals(rand({64}, DType::Float64, &g1));
  CHECK(second != first);
  // Not just a shifted copy of the previous draw either.
  int equal = 0;
  for (size_t i = 0; i < first.size(); ++i) equal += first[i] == second[i];
  CHECK(equal == 0);

  manual_seed(7);
  CHECK(default_generator().seed == 7);
  CHECK(default_generator().offset == 0);
  const Values x = vals(rand({8}));
  CHECK(default_generator().offset == 1);
  const Values y = vals(rand({8}));
  CHECK(x != y);
  manual_seed(7);
  CHECK(vals(rand({8})) == x);
  CHECK(vals(rand({8})) == y);
}

TEST_CASE("rand is in [0, 1); randn has mean 0 and std 1; uniform respects its bounds") {
  Generator gen(3);
  for (DType d : {DType::Float32, DType::Float64}) {
    const Values u = vals(rand({20000}, d, &gen));
    double lo = 1, hi = 0, sum = 0;
    for (double v : u) lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
    CHECK(lo >= 0.0);
    CHECK(hi < 1.0);
    CHECK(lo < 0.001);
    CHECK(hi > 0.999);
    CHECK(sum / u.size() == doctest::Approx(0.5).epsilon(0.02));
  }

  const Values n = vals(randn({100000}, DType::Float64, &gen));
  double mean = 0;
  for (double v : n) mean += v;
  mean /= n.size();
  double var = 0;
  for (double v : n) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / (n.size() - 1));
  CHECK(std::fabs(mean) < 0.01);
  CHECK(std::fabs(sd - 1.0) < 0.01);
  CHECK(std::all_of(n.begin(), n.end(), [](double v) { return std::isfinite(v); }));

  const Values w = vals(uniform({20000}, -2.0, 3.0, DType::Float64, &gen));
  double wlo = 1e9, whi = -1e9;
  for (double v : w) wlo = std::min(wlo, v), whi = std::max(whi, v);
  CHECK(wlo >= -2.0);
  CHECK(whi < 3.0);
  CHECK(wlo < -1.99);
  CHECK(whi > 2.99);
  CHECK(uniform({4}, 1, 2, DType::Float32, &gen).dtype() == DType::Float32);
  CHECK_THROWS_WITH_AS(uniform({4}, 2, 2), doctest::Contains("uniform: expected low < high"), Error);
}

TEST_CASE("rand and randn refuse non-floating dtypes") {
  CHECK_THROWS_WITH_AS(rand({2}, DType::Int64), doctest::Contains("rand: expected a floating dtype, got int64"), Error);
  CHECK_THROWS_WITH_AS(randn({2}, DType::Bool), doctest::Contains("randn: expected a floating dtype, got bool"), Error);
  CHECK_THROWS_AS(uniform({2}, 0, 1, DType::UInt8), Error);
}

// ---- in-place ops ------------------------------------------------------------

TEST_CASE("copy_ broadcasts, converts dtype and writes through views") {
  Tensor x = zeros({2, 3}, DType::Float64);
  x.copy_(tensor({1, 2, 3}));
  CHECK(vals(x) == Values{1, 2, 3, 1, 2, 3});
  x.copy_(tensor({10, 20}, {2, 1}, DType::Int64));
  CHECK(vals(x) == Values{10, 10, 10, 20, 20, 20});
  x.copy_(scalar_tensor(-1));
  CHECK(vals(x) == Values{-1, -1, -1, -1, -1, -1});

  Tensor i = zeros({3}, DType::Int64);
  i.copy_(tensor({2.7, -2.7, 0.5}, {}, DType::Float64));
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{2, -2, 0});
  Tensor b = zeros({3}, DType::Bool);
  b.copy_(tensor({0, -1, 0.25}));
  CHECK(b.to_vector<bool>() == std::vector<bool>{false, true, true});

  Tensor y = zeros({2, 4}, DType::Float64);
  y.slice(1, 1, 4, 2).copy_(tensor({1, 2, 3, 4}, {2, 2}, DType::Float64));
  CHECK(vals(y) == Values{0, 1, 0, 2, 0, 3, 0, 4});
  y.t().copy_(iota({4, 2}));
  CHECK(vals(y) == Values{0, 2, 4, 6, 1, 3, 5, 7});

  CHECK_THROWS_WITH_AS(x.copy_(tensor({1, 2, 3, 4})), doctest::Contains("copy_: shapes [2, 3] and [4] cannot be broadcast"),
                       Error);
  CHECK_THROWS_WITH_AS(tensor({1, 2, 3}).copy_(x), doctest::Contains("copy_: shape [2, 3] cannot be broadcast to [3]"),
                       Error);
}

TEST_CASE("copy_ from an overlapping view of itself reads the old values") {
  Tensor x = iota({3, 3});
  x.copy_(x.t());
  CHECK(vals(x) == Values{0, 3, 6, 1, 4, 7, 2, 5, 8});  // the transpose, not a half-updated mix
  Tensor y = iota({3, 3});
  y.t().copy_(y);
  CHECK(vals(y) == Values{0, 3, 6, 1, 4, 7, 2, 5, 8});
  Tensor r = arange(0, 6, 1.0, DType::Float64);
  r.slice(0, 1, 6).copy_(r.slice(0, 0, 5));  // shift right by one
  CHECK(vals(r) == Values{0, 0, 1, 2, 3, 4});
  Tensor z = iota({2, 2});
  z.add_(z.t());
  CHECK(vals(z) == Values{0, 3, 3, 6});
  Tensor m = iota({2, 2});
  m.mul_(m.t());
  CHECK(vals(m) == Values{0, 2, 2, 9});
}

TEST_CASE("fill_, zero_, add_ with alpha, mul_") {
  Tensor x = iota({2, 3});
  x.select(1, 1).fill_(9);
  CHECK(vals(x) == Values{0, 9, 2, 3, 9, 5});
  x.t().select(0, 2).zero_();
  CHECK(vals(x) == Values{0, 9, 0, 3, 9, 0});
  x.zero_();
  CHECK(vals(x) == Values{0, 0, 0, 0, 0, 0});
  Tensor i = zeros({2}, DType::Int64);
  i.fill_(3.9);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{3, 3});

  Tensor a = iota({2, 2});
  a.add_(tensor({1, 1, 1, 1}, {2, 2}, DType::Float64));
  CHECK(vals(a) == Values{1, 2, 3, 4});
  a.add_(tensor({10, 100}, {2}, DType::Float64), 0.5);  // broadcast, alpha
  CHECK(vals(a) == Values{6, 52, 8, 54});
  a.add_(tensor({1, 1}, {2}, DType::Float64), -2);
  CHECK(vals(a) == Values{4, 50, 6, 52});
  a.mul_(tensor({2, 0.5}, {2, 1}, DType::Float64));
  CHECK(vals(a) == Values{8, 100, 3, 26});
  a.mul_(-1);
  CHECK(vals(a) == Values{-8, -100, -3, -26});
  a.t().mul_(tensor({1, 0}, {2}, DType::Float64));  // strided self
  CHECK(vals(a) == Values{-8, -100, 0, 0});
  Tensor n = tensor({1, 2, 3}, {}, DType::Int64);
  n.add_(tensor({1, 1, 1}, {}, DType::Int64), 3);
  CHECK(n.to_vector<int64_t>() == std::vector<int64_t>{4, 5, 6});

  CHECK_THROWS_WITH_AS(a.add_(tensor({1, 2})), doctest::Contains("add_: dtype mismatch, float64 [2, 2] and float32 [2]"),
                       Error);
  // Fractional scalars are refused on integer tensors rather than truncated.
  CHECK_THROWS_WITH_AS(n.add_(n, 0.5), doctest::Contains("add_: scalar 0.5 is not an integer, but the tensor is int64"),
                       Error);
  CHECK_THROWS_WITH_AS(n.mul_(2.5), doctest::Contains("mul_: scalar 2.5 is not an integer"), Error);
  CHECK_THROWS_AS(n.mul_(1e30), Error);
  n.mul_(-2);
  CHECK(n.to_vector<int64_t>() == std::vector<int64_t>{-8, -10, -12});
  CHECK_THROWS_WITH_AS(a.mul_(tensor({1, 2, 3}, {}, DType::Float64)), doctest::Contains("mul_"), Error);
}

TEST_CASE("in-place writes to an expanded tensor are refused (one element, many repeats)") {
  Tensor x = zeros({1}, DType::Float64);
  Tensor e = x.expand({3});
  CHECK_THROWS_WITH_AS(e.add_(ones({3}, DType::Float64)),
                       doctest::Contains("add_: in-place write to an expanded tensor of shape [3] (stride 0 in dim 0)"),
                       Error);
  CHECK_THROWS_AS(e.mul_(2), Error);
  CHECK_THROWS_AS(e.copy_(tensor({1, 2, 3})), Error);
  CHECK_THROWS_AS(e.fill_(1), Error);
  CHECK(vals(x) == Values{0});
  // Stride 0 on a size-1 dim is harmless.
  Tensor y = zeros({2}, DType::Float64);
  as_strided_view(y, {1, 2}, {0, 1}, 0).add_(ones({2}, DType::Float64));
  CHECK(vals(y) == Values{1, 1});
}

TEST_CASE("every in-place write bumps the storage version, through views too") {
  Tensor x = iota({2, 2});
  const uint64_t v0 = x.storage()->version();
  x.fill_(1);
  x.t().select(0, 0).add_(scalar_tensor(1, DType::Float64));
  x.mul_(2);
  x.copy_(x);
  x.zero_();
  CHECK(x.storage()->version() == v0 + 5);
}

// ---- autograd safety ---------------------------------------------------------

TEST_CASE("in-place writes to a leaf requiring grad: refused outside NoGradGuard, allowed inside") {
  Tensor w = tensor({1, 2}, {}, DType::Float64);
  w.set_requires_grad(true);
  CHECK_THROWS_WITH_AS(w.fill_(0), doctest::Contains("fill_: in-place write to a tensor of shape [2] that requires grad"),
                       Error);
  CHECK_THROWS_WITH_AS(w.zero_(), doctest::Contains("requires grad"), Error);
  CHECK_THROWS_WITH_AS(w.add_(w), doctest::Contains("add_: in-place write"), Error);
  CHECK_THROWS_WITH_AS(w.mul_(2), doctest::Contains("mul_: in-place write"), Error);
  CHECK_THROWS_WITH_AS(w.copy_(w), doctest::Contains("copy_: in-place write"), Error);
  CHECK_THROWS_WITH_AS(w.select(0, 0).fill_(0), doctest::Contains("requires grad"), Error);  // a view of it
  CHECK(vals(w) == Values{1, 2});
  {
    NoGradGuard no_grad;
    w.add_(tensor({1, 1}, {}, DType::Float64), -0.5);  // an SGD-like step
    w.select(0, 1).mul_(10);
  }
  CHECK(vals(w) == Values{0.5, 15});
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
}

TEST_CASE("backward refuses a saved tensor that was modified in place") {
  Tensor x = tensor({0.5, -1}, {}, DType::Float64);
  x.set_requires_grad(true);
  Tensor y = exp(x);  // saves y
  {
    NoGradGuard no_grad;
    y.mul_(2);
  }
  CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("modified in place"), Error);

  // The same when the write goes through a view of the saved tensor.
  Tensor y2 = exp(x);
  {
    NoGradGuard no_grad;
    y2.detach().select(0, 1).fill_(0);
  }
  CHECK_THROWS_WITH_AS(sum(y2).backward(), doctest::Contains("modified in place"), Error);

  // And for a saved input: mul saves both operands.
  Tensor z = x * x;
  {
    NoGradGuard no_grad;
    x.add_(scalar_tensor(1, DType::Float64));
  }
  CHECK_THROWS_WITH_AS(sum(z).backward(), doctest::Contains("modified in place"), Error);

  // A tensor nobody saved may be changed: clone saves nothing.
  Tensor c = x.clone();
  {
    NoGradGuard no_grad;
    c.fill_(3);
  }
  x.zero_grad();
  sum(c).backward();
  CHECK(vals(x.grad()) == Values{1, 1});
}

TEST_CASE("set_requires_grad: floating leaves only") {
  Tensor i = tensor({1, 2}, {}, DType::Int64);
  CHECK_THROWS_WITH_AS(i.set_requires_grad(true),
                       doctest::Contains("set_requires_grad: only float32/float64 tensors can require grad, got int64"),
                       Error);
  CHECK_NOTHROW(i.set_requires_grad(false));
  CHECK_THROWS_AS(zeros({2}, DType::Bool).set_requires_grad(true), Error);
  CHECK_THROWS_AS(zeros({2}, DType::UInt8).set_requires_grad(true), Error);

  Tensor x = tensor({1, 2});
  CHECK_FALSE(x.requires_grad());
  CHECK(x.set_requires_grad(true).requires_grad());
  Tensor y = x * 2.0;
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn() != nullptr);
  CHECK_THROWS_WITH_AS(y.set_requires_grad(true), doctest::Contains("only leaf tensors can be marked"), Error);
  CHECK_THROWS_AS(y.set_requires_grad(false), Error);
  {
    NoGradGuard no_grad;
    Tensor z = x * 2.0;
    CHECK_FALSE(z.requires_grad());
    CHECK(z.is_leaf());
  }
  x.set_requires_grad(false);
  CHECK_FALSE((x * 2.0).requires_grad());
}

TEST_CASE("detach shares storage and leaves the graph") {
  Tensor x = tensor({1, 2, 3}, {}, DType::Float64);
  x.set_requires_grad(true);
  Tensor y = x * 2.0;
  Tensor d = y.detach();
  CHECK(d.storage() == y.storage());
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.grad_fn() == nullptr);
  CHECK(d.shape() == y.shape());
  CHECK_FALSE(d.same(y));
  Tensor s = x.slice(0, 1, 3).detach();  // keeps the view's offset and strides
  CHECK(s.offset() == 1);
  CHECK(s.storage() == x.storage());
  s.fill_(0);  // allowed (s does not require grad), and the write shows in x
  CHECK(vals(x) == Values{1, 0, 0});
  CHECK_THROWS_WITH_AS(sum(d).backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("grad(): undefined before backward, accumulates, zero_grad and set_grad") {
  Tensor x = tensor({1, 2}, {}, DType::Float64);
  x.set_requires_grad(true);
  CHECK_FALSE(x.grad().defined());
  sum(x * 3.0).backward();
  CHECK(vals(x.grad()) == Values{3, 3});
  sum(x * x).backward();  // accumulates: 3 + 2x
  CHECK(vals(x.grad()) == Values{5, 7});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());

  x.set_grad(tensor({0.5, 0.25}, {}, DType::Float64));
  CHECK(vals(x.grad()) == Values{0.5, 0.25});
  CHECK_THROWS_WITH_AS(x.set_grad(tensor({1, 2, 3}, {}, DType::Float64)),
                       doctest::Contains("set_grad: gradient [3] float64 does not match tensor [2] float64"), Error);
  CHECK_THROWS_WITH_AS(x.set_grad(tensor({1, 2})), doctest::Contains("float32 does not match"), Error);
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
}
