// test_dot.cpp — Graphviz export of the autograd graph (autograd/dot.h).
#include <string>

#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;

TEST_CASE("to_dot: sigmoid(w * x + b)") {
  Tensor w = tensor({0.5, -1, 2}, {3}, DType::Float64);
  Tensor x = tensor({1, 2, 3}, {3}, DType::Float64);
  Tensor b = tensor({0.1}, {1}, DType::Float64);
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  const std::string dot = to_dot(sigmoid(w * x + b));

  CHECK(dot.rfind("digraph", 0) == 0);
  // Labels are op name, a DOT "\n" (backslash, n), output shape.
  CHECK(count(dot, "\"mul\\n[3]\"") == 1);
  CHECK(count(dot, "\"add\\n[3]\"") == 1);
  CHECK(count(dot, "\"sigmoid\\n[3]\"") == 1);
  CHECK(count(dot, "shape=box") == 3);
  // w and b; x does not require grad, so autograd has no record of it.
  CHECK(count(dot, "shape=ellipse") == 2);
  CHECK(count(dot, "\"leaf\\n[3]\"") == 1);
  CHECK(count(dot, "\"leaf\\n[1]\"") == 1);
  // w -> mul, mul -> add, b -> add, add -> sigmoid.
  CHECK(count(dot, "->") == 4);
  CHECK(count(dot, "peripheries=2") == 1);
  CHECK(dot.find("n0 [shape=box, label=\"sigmoid\\n[3]\", peripheries=2]") != std::string::npos);
  CHECK(to_dot(sigmoid(w * x + b)) == dot);  // ids are deterministic
}

TEST_CASE("to_dot: a shared subexpression is listed once") {
  Tensor a = tensor({1, 2}, {2}, DType::Float64);
  a.set_requires_grad(true);
  Tensor square = a * a;
  const std::string dot = to_dot(square + square);

  CHECK(count(dot, "\"mul\\n[2]\"") == 1);
  CHECK(count(dot, "\"add\\n[2]\"") == 1);
  CHECK(count(dot, "shape=ellipse") == 1);
  // a -> mul twice (both operands), mul -> add twice: one edge per use.
  CHECK(count(dot, "->") == 4);
}

TEST_CASE("to_dot: a root without grad_fn") {
  Tensor leaf = tensor({1, 2, 3}, {3}, DType::Float64);
  CHECK(to_dot(leaf) == "digraph autograd {\n}\n");
  leaf.set_requires_grad(true);
  const std::string dot = to_dot(leaf);
  CHECK(count(dot, "shape=ellipse") == 1);
  CHECK(count(dot, "->") == 0);
}
