// test_print.cpp — Tensor::str() and operator<< (tensor/print.cpp and
// graph/print.cpp): the PyTorch-style layout, number formatting, summaries
// and metadata suffix.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// 0, 1, ..., n - 1 as doubles, for building tensors with recognisable values.
std::vector<double> iota_values(int n) {
  std::vector<double> values(n);
  for (int i = 0; i < n; ++i) values[i] = i;
  return values;
}

}  // namespace

TEST_CASE("print: float matrix, fixed notation") {
  CHECK(tensor({1, 2.5, 3, 4}, {2, 2}).str() ==
        "tensor([[1.0000, 2.5000],\n"
        "        [3.0000, 4.0000]], shape=[2, 2], dtype=float32, device=cpu)");
}

TEST_CASE("print: whole floats print as '1.'") {
  CHECK(tensor({1, 2, 3}, {}, DType::Float64).str() == "tensor([1., 2., 3.], shape=[3], dtype=float64, device=cpu)");
  CHECK(tensor({-10, 0, 5}).str() == "tensor([-10.,   0.,   5.], shape=[3], dtype=float32, device=cpu)");
  CHECK(tensor({0, 0}).str() == "tensor([0., 0.], shape=[2], dtype=float32, device=cpu)");
}

TEST_CASE("print: scalar") {
  CHECK(scalar_tensor(3.5).str() == "tensor(3.5000, shape=[], dtype=float32, device=cpu)");
  CHECK(scalar_tensor(7, DType::Int64).str() == "tensor(7, shape=[], dtype=int64, device=cpu)");
}

TEST_CASE("print: bool, int64 and uint8 are padded to a common width") {
  // PyTorch pads too (`tensor([ True, False])`), so mask columns line up.
  CHECK(tensor({1, 0}, {}, DType::Bool).str() == "tensor([ True, False], shape=[2], dtype=bool, device=cpu)");
  CHECK(tensor({1, 2, 3}, {}, DType::Int64).str() == "tensor([1, 2, 3], shape=[3], dtype=int64, device=cpu)");
  CHECK(tensor({-5, 120}, {}, DType::Int64).str() == "tensor([ -5, 120], shape=[2], dtype=int64, device=cpu)");
  CHECK(tensor({0, 255}, {}, DType::UInt8).str() == "tensor([  0, 255], shape=[2], dtype=uint8, device=cpu)");
}

TEST_CASE("print: empty tensors") {
  CHECK(tensor({}).str() == "tensor([], shape=[0], dtype=float32, device=cpu)");
  CHECK(zeros({2, 0}, DType::Int64).str() == "tensor([], shape=[2, 0], dtype=int64, device=cpu)");
}

TEST_CASE("print: fixed notation pads negatives and wide values") {
  CHECK(tensor({-1.5, 0.25, 10}, {}, DType::Float64).str() ==
        "tensor([-1.5000,  0.2500, 10.0000], shape=[3], dtype=float64, device=cpu)");
}

TEST_CASE("print: scientific notation") {
  // Tiny values, a span of more than three decades, or huge values.
  CHECK(tensor({1e-5, 1, 100}, {}, DType::Float64).str() ==
        "tensor([1.0000e-05, 1.0000e+00, 1.0000e+02], shape=[3], dtype=float64, device=cpu)");
  CHECK(tensor({1, 2000}, {}, DType::Float64).str() ==
        "tensor([1.0000e+00, 2.0000e+03], shape=[2], dtype=float64, device=cpu)");
  CHECK(tensor({-3e9}, {}, DType::Float64).str() == "tensor([-3.0000e+09], shape=[1], dtype=float64, device=cpu)");
  // Zeros do not count as "tiny".
  CHECK(tensor({0, 0.5}).str() == "tensor([0.0000, 0.5000], shape=[2], dtype=float32, device=cpu)");
}

TEST_CASE("print: nan and inf") {
  CHECK(tensor({NAN, INFINITY, -INFINITY, 1.5}).str() ==
        "tensor([   nan,    inf,   -inf, 1.5000], shape=[4], dtype=float32, device=cpu)");
  // A negative NaN still prints as "nan" (printf would say "-nan").
  CHECK(tensor({-NAN, 1, 2}).str() == "tensor([nan,  1.,  2.], shape=[3], dtype=float32, device=cpu)");
  CHECK(tensor({INFINITY, NAN}).str() == "tensor([inf, nan], shape=[2], dtype=float32, device=cpu)");
}

TEST_CASE("print: 3-D tensor puts a blank line between matrices") {
  CHECK(tensor(iota_values(12), {2, 2, 3}, DType::Int64).str() ==
        "tensor([[[ 0,  1,  2],\n"
        "         [ 3,  4,  5]],\n"
        "\n"
        "        [[ 6,  7,  8],\n"
        "         [ 9, 10, 11]]], shape=[2, 2, 3], dtype=int64, device=cpu)");
}

TEST_CASE("print: a permuted (non-contiguous) tensor shows its logical values") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Int64).permute({1, 0});
  REQUIRE_FALSE(x.is_contiguous());
  CHECK(x.str() ==
        "tensor([[1, 4],\n"
        "        [2, 5],\n"
        "        [3, 6]], shape=[3, 2], dtype=int64, device=cpu)");
}

TEST_CASE("print: more than 1000 elements are summarised") {
  SUBCASE("1-D: the first and last three, formatted as a group") {
    const std::string text = tensor(iota_values(2000)).str();
    CHECK(text ==
          "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03, 1.9990e+03], "
          "shape=[2000], dtype=float32, device=cpu)");
  }
  SUBCASE("2-D: rows and columns both elided") {
    CHECK(tensor(iota_values(2000), {40, 50}, DType::Int64).str() ==
          "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
          "        [  50,   51,   52,  ...,   97,   98,   99],\n"
          "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
          "        ...,\n"
          "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
          "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
          "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]], shape=[40, 50], dtype=int64, device=cpu)");
  }
  SUBCASE("a short dim is kept whole") {
    const std::string text = tensor(iota_values(2000), {2, 1000}, DType::Int64).str();
    CHECK(text ==
          "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
          "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]], shape=[2, 1000], dtype=int64, device=cpu)");
  }
  SUBCASE("3-D, non-contiguous: the summary reads through the strides") {
    Tensor x = tensor(iota_values(2000), {20, 10, 10}, DType::Int64).permute({2, 1, 0});
    const std::string text = x.str();
    CHECK(text.rfind("tensor([[[   0,  100,  200,  ..., 1700, 1800, 1900],\n", 0) == 0);
    CHECK(text.find("[  99,  199,  299,  ..., 1799, 1899, 1999]]], shape=[10, 10, 20]") != std::string::npos);
    CHECK(count(text, "...,\n\n") == 1);  // the elided matrices
    CHECK(count(text, "...,\n ") == 6);   // the elided rows of each of the six matrices shown
    CHECK(count(text, ",  ..., ") == 36);  // the elided columns of each row shown
  }
  SUBCASE("exactly 1000 elements are printed in full") {
    const std::string text = tensor(iota_values(1000), {}, DType::Int64).str();
    CHECK(text.find("...") == std::string::npos);
    CHECK(text.find(" 500, 501,") != std::string::npos);
  }
}

TEST_CASE("print: requires_grad and grad_fn") {
  Tensor a = tensor({0.1, 0.2, 0.3, 0.4}, {2, 2});
  a.set_requires_grad(true);
  CHECK(a.str() ==
        "tensor([[0.1000, 0.2000],\n"
        "        [0.3000, 0.4000]], shape=[2, 2], dtype=float32, device=cpu, requires_grad=true)");

  // A tensor made by an op names the op instead; requires_grad is implied.
  const std::string product = (a * a).str();
  CHECK(product.find(", grad_fn=<mul>)") != std::string::npos);
  CHECK(product.find("requires_grad") == std::string::npos);
}

TEST_CASE("print: operator<< and undefined tensors") {
  Tensor x = tensor({1, 2}, {}, DType::Int64);
  std::ostringstream out;
  out << x;
  CHECK(out.str() == x.str());
  CHECK(Tensor().str() == "tensor(undefined)");
}
