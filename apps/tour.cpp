// tour.cpp — the 30-second tour of the README as a program: build
// y = sigmoid(w * x + b), run backward, print the gradients and write the
// graph for Graphviz. docs/autograd.md walks this same expression through
// the engine step by step.
//
//   make && ./apps/tour && dot -Tsvg tour.dot -o tour.svg
#include <iostream>

#include "dl.h"

using namespace dl;

int main() {
  try {
    Tensor w = tensor({0.5, -1.0});  // float32, shape [2]
    Tensor b = tensor({-0.5});       // shape [1], broadcast against [2]
    Tensor x = tensor({2.0, 1.0});   // input data: needs no gradient
    w.set_requires_grad(true);
    b.set_requires_grad(true);

    Tensor y = sigmoid(w * x + b);  // records three Nodes: mul, add, sigmoid
    sum(y).backward();              // dL/dw, dL/db for L = y[0] + y[1]

    std::cout << "y       = " << y << "\n"
              << "dL/dw   = " << w.grad() << "\n"
              << "dL/db   = " << b.grad() << "\n";
    write_file_atomic("tour.dot", to_dot(y));
    std::cout << "graph written to tour.dot (render: dot -Tsvg tour.dot -o tour.svg)\n";
  } catch (const Error& e) {
    std::cerr << "tour: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
