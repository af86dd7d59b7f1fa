// helpers.h — the small helpers that several tests/test_*.cpp files share:
// tensors with known or seeded values, float64 leaves for gradcheck, and
// checks written the same way in more than one file. A test file includes it
// and says `using namespace test;`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dl.h"
#include "doctest/doctest.h"
#include <unistd.h>

namespace test {

using UnaryFn = std::function<dl::Tensor(const dl::Tensor&)>;
using Values = std::vector<double>;

// ---- tensors ---------------------------------------------------------------------

// The values of t as doubles, in row-major order.
inline Values vals(const dl::Tensor& t) { return t.to_vector<double>(); }

// 0, 1, 2, ... in row-major order.
inline dl::Tensor iota(const dl::Shape& shape, dl::DType dtype = dl::DType::Float64) {
  return dl::arange(0.0, static_cast<double>(dl::shape_numel(shape)), 1.0, dtype).reshape(shape);
}

// An int64 tensor holding `values`.
// A float64 tensor of `values` (1-D when no shape is given).
inline dl::Tensor f64(const Values& values, const dl::Shape& shape = {}) {
  return dl::tensor(values, shape, dl::DType::Float64);
}

inline dl::Tensor int64s(const Values& values, const dl::Shape& shape = {}) {
  return dl::tensor(values, shape, dl::DType::Int64);
}

// Float64 N(0, 1) values drawn from a generator seeded with `seed`.
inline dl::Tensor randn64(const dl::Shape& shape, uint64_t seed) {
  dl::Generator gen(seed);
  return dl::randn(shape, dl::DType::Float64, &gen);
}

// Each value moved `gap` further from 0, keeping its sign (away from kinks and zero denominators).
inline dl::Tensor away_from_zero(const dl::Tensor& x, double gap) {
  return dl::where(dl::ge(x, 0.0), x + gap, x - gap);
}

// ---- leaves ------------------------------------------------------------------------

// t, marked as requiring grad.
inline dl::Tensor leaf(dl::Tensor t) {
  t.set_requires_grad(true);
  return t;
}

// A float64 leaf holding `values`.
inline dl::Tensor leaf(const Values& values, const dl::Shape& shape = {}) {
  return leaf(dl::tensor(values, shape, dl::DType::Float64));
}

// A float64 leaf of seeded N(0, 1) values: smooth and distinct.
inline dl::Tensor randn_leaf(const dl::Shape& shape, uint64_t seed = 1) { return leaf(randn64(shape, seed)); }

// ---- checks ------------------------------------------------------------------------

// How often `needle` occurs in `text`, without overlaps.
inline size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// t has `shape` and the `expected` values, each within relative `eps`.
inline void check_values(const dl::Tensor& t, const dl::Shape& shape, const Values& expected, double eps) {
  REQUIRE(t.shape() == shape);
  const Values got = t.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(eps));
}

// gradcheck(fn, inputs) passes; a failure names `what` and the worst Jacobian entry.
inline void check_gradcheck(const std::function<dl::Tensor(const dl::TensorList&)>& fn, const dl::TensorList& inputs,
                            const std::string& what = "", const dl::GradcheckOptions& options = {}) {
  const dl::GradcheckResult r = dl::gradcheck(fn, inputs, options);
  CHECK_MESSAGE(r.passed, (what.empty() ? what : what + ": ") << r.str());
}

// gradgradcheck(fn, inputs) passes; a failure names `what` and the worst entry.
inline void check_gradgradcheck(const std::function<dl::Tensor(const dl::TensorList&)>& fn,
                                const dl::TensorList& inputs, const std::string& what = "") {
  const dl::GradcheckResult r = dl::gradgradcheck(fn, inputs);
  CHECK_MESSAGE(r.passed, (what.empty() ? what : what + ": ") << "gradgradcheck " << r.str());
}

// Gradchecks f on a float64 leaf copy of the [3, 4] x as it is, transposed, and
// with every other column (strided): the kernels' strided paths and backward
// through views must all be right.
inline void check_grad_layouts(const UnaryFn& f, const dl::Tensor& x) {
  REQUIRE(x.shape() == dl::Shape{3, 4});
  const dl::Tensor x_leaf = leaf(x.clone());  // x itself stays as it was
  CHECK_FALSE(x_leaf.transpose(0, 1).is_contiguous());
  CHECK_FALSE(x_leaf.slice(1, 0, 4, 2).is_contiguous());
  check_gradcheck([&](const dl::TensorList& in) { return f(in[0]); }, {x_leaf}, "contiguous");
  check_gradcheck([&](const dl::TensorList& in) { return f(in[0].transpose(0, 1)); }, {x_leaf}, "transposed");
  check_gradcheck([&](const dl::TensorList& in) { return f(in[0].slice(1, 0, 4, 2)); }, {x_leaf}, "sliced");
}

// d(sum f(x))/dx at the float64 tensor x holding `values`.
inline Values grad_of(const UnaryFn& f, const Values& values) {
  const dl::Tensor x = leaf(values);
  dl::sum(f(x)).backward();
  return x.grad().to_vector<double>();
}

// A fresh, empty directory for one test, removed with everything in it when
// the test ends. Unique per process and per instance, so tests never share.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int count = 0;
    path = std::filesystem::temp_directory_path() /
           ("dl_test_" + std::to_string(::getpid()) + "_" + std::to_string(count++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace test
