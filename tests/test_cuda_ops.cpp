// test_cuda_ops.cpp — every op family on CUDA against the CPU (float32):
// values and gradients within 1e-5 * max(1, max |cpu|), on contiguous and
// strided inputs (transposes, slices, broadcasts) and on sizes that are not
// multiples of the kernels' tiles. Skipped (and counted) without a GPU.
#include "cuda_helpers.h"

using namespace dl;
using namespace cuda_test;

namespace {

// A [rows, cols] float32 input seen four ways: as it is, transposed back
// from a [cols, rows] tensor, as every other column of a wider tensor, and
// as a broadcast of one row.
std::vector<std::pair<std::string, Fn>> layouts(int64_t cols) {
  return {
      {"contiguous", [](const TensorList& in) { return in[0]; }},
      {"transposed", [](const TensorList& in) { return in[1].t(); }},
      {"sliced", [cols](const TensorList& in) { return in[2].slice(1, 0, 2 * cols, 2); }},
      {"broadcast", [](const TensorList& in) { return in[3].expand({in[0].size(0), in[0].size(1)}); }},
  };
}

TensorList layout_inputs(int64_t rows, int64_t cols, uint64_t seed, const std::function<Tensor(Tensor)>& domain) {
  return {domain(randn32({rows, cols}, seed)), domain(randn32({cols, rows}, seed + 1)),
          domain(randn32({rows, 2 * cols}, seed + 2)), domain(randn32({1, cols}, seed + 3))};
}

}  // namespace

TEST_CASE("CUDA parity: every unary op, on every layout" * doctest::skip(no_gpu())) {
  const auto positive = [](Tensor x) { return abs(x) + 0.1; };
  const auto any = [](Tensor x) { return x * 3.0; };
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<Tensor(Tensor)> domain;
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, any},
      {"abs", [](const Tensor& x) { return abs(x); }, any},
      {"exp", [](const Tensor& x) { return exp(x); }, any},
      {"log", [](const Tensor& x) { return log(x); }, positive},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, positive},
      {"pow", [](const Tensor& x) { return pow(x, 2.5); }, positive},
      {"relu", [](const Tensor& x) { return relu(x); }, any},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, any},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, any},
      {"tanh", [](const Tensor& x) { return tanh(x); }, any},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 1.5); }, any},
  };
  for (const Case& c : cases) {
    for (const auto& [layout, view] : layouts(19)) {
      check_parity(std::string(c.name) + " " + layout, [&](const TensorList& in) { return c.op(view(in)); },
                   layout_inputs(37, 19, 3, c.domain));
    }
  }
  // Integer dtypes: the sign and clamping ops, with saturating bounds.
  const Tensor ints = tensor({-300, -2, 0, 5, 1000, 7}, {2, 3}, DType::Int64);
  check_parity("int64 neg", [](const TensorList& in) { return neg(in[0].t()); }, {ints});
  check_parity("int64 abs", [](const TensorList& in) { return abs(in[0]); }, {ints});
  check_parity("int64 relu", [](const TensorList& in) { return relu(in[0]); }, {ints});
  check_parity("int64 clamp", [](const TensorList& in) { return clamp(in[0], -5, INFINITY); }, {ints});
  const Tensor bytes = tensor({0, 3, 250, 17}, {4}, DType::UInt8);
  check_parity("uint8 neg", [](const TensorList& in) { return neg(in[0]); }, {bytes});
  check_parity("uint8 clamp", [](const TensorList& in) { return clamp(in[0], -1, 100); }, {bytes});
}

TEST_CASE("CUDA parity: every binary op with broadcasting, and where" * doctest::skip(no_gpu())) {
  const Tensor a = randn32({5, 1, 7}, 1), b = randn32({7, 3}, 2);
  // a [5, 1, 7] against b^T [3, 7]: broadcast and transposed at once.
  const auto pair = [](const std::function<Tensor(const Tensor&, const Tensor&)>& op) {
    return [op](const TensorList& in) { return op(in[0], in[1].t()); };
  };
  check_parity("add", pair([](const Tensor& x, const Tensor& y) { return x + y; }), {a, b});
  check_parity("sub", pair([](const Tensor& x, const Tensor& y) { return x - y; }), {a, b});
  check_parity("mul", pair([](const Tensor& x, const Tensor& y) { return x * y; }), {a, b});
  check_parity("div", pair([](const Tensor& x, const Tensor& y) { return x / (abs(y) + 0.5); }), {a, b});
  // Comparisons on a grid with ties (rounded values), as float, int64, uint8 and bool.
  const Tensor fa = tensor({0, 1, 2, 1, 0, 2, 2, 1}, {2, 1, 4}), fb = tensor({1, 1, 0, 2, 2, 2, 0, 1}, {2, 4});
  for (DType dtype : {DType::Float32, DType::Int64, DType::UInt8}) {
    const Tensor x = fa.to(dtype), y = fb.to(dtype);
    const std::string name = dtype_name(dtype);
    check_parity(name + " eq", [](const TensorList& in) { return eq(in[0], in[1]); }, {x, y});
    check_parity(name + " ne", [](const TensorList& in) { return ne(in[0], in[1]); }, {x, y});
    check_parity(name + " lt", [](const TensorList& in) { return lt(in[0], in[1]); }, {x, y});
    check_parity(name + " le", [](const TensorList& in) { return le(in[0], in[1]); }, {x, y});
    check_parity(name + " gt", [](const TensorList& in) { return gt(in[0], in[1]); }, {x, y});
    check_parity(name + " ge", [](const TensorList& in) { return ge(in[0], in[1]); }, {x, y});
  }
  const Tensor mask_a = gt(fa, 0.5), mask_b = gt(fb, 1.5);
  check_parity("bool eq", [](const TensorList& in) { return eq(in[0], in[1]); }, {mask_a, mask_b});
  // Integer arithmetic wraps as on the CPU.
  const Tensor i1 = tensor({250, 3, 100, 7}, {4}, DType::UInt8), i2 = tensor({10, 9, 200, 1}, {4}, DType::UInt8);
  check_parity("uint8 add", [](const TensorList& in) { return in[0] + in[1]; }, {i1, i2});
  check_parity("uint8 mul", [](const TensorList& in) { return in[0] * in[1]; }, {i1, i2});
  check_parity("int64 sub", [](const TensorList& in) { return in[0] - in[1]; },
               {i1.to(DType::Int64), i2.to(DType::Int64)});
  // where: condition, a and b all broadcast, gradients to a and b.
  const Tensor cond = gt(randn32({4, 1, 6}, 5), 0.0);
  check_parity("where", [](const TensorList& in) { return where(in[0], in[1], in[2].t()); },
               {cond, randn32({3, 6}, 6), randn32({6, 1}, 7)});
}

TEST_CASE("CUDA parity: reductions sum max argmax mean var" * doctest::skip(no_gpu())) {
  const Tensor x = randn32({7, 130, 33}, 11);
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{}, {0}, {1}, {2}, {0, 2}, {1, 2}}) {
    const std::string d = shape_str(dims);
    check_parity("sum " + d, [&](const TensorList& in) { return sum(in[0], dims); }, {x});
    check_parity("sum keepdim of a permuted view " + d,
                 [&](const TensorList& in) { return sum(in[0].permute({2, 0, 1}), dims, true); }, {x});
    check_parity("mean " + d, [&](const TensorList& in) { return mean(in[0], dims); }, {x});
    check_parity("max " + d, [&](const TensorList& in) { return max(in[0], dims); }, {x});
    check_parity("var " + d, [&](const TensorList& in) { return var(in[0], dims); }, {x});
  }
  for (int64_t dim = 0; dim < 3; ++dim) {
    check_parity("argmax " + std::to_string(dim), [&](const TensorList& in) { return argmax(in[0], dim); }, {x});
  }
  check_parity("argmax flat", [](const TensorList& in) { return argmax(in[0].transpose(0, 2)); }, {x});
  // Ties: the first maximum wins; NaN wins over everything.
  const Tensor ties = tensor({1, 3, 3, 0, 2, 2, 2, 2, 5, 5, -1, 5}, {3, 4});
  check_parity("argmax ties", [](const TensorList& in) { return argmax(in[0], 1); }, {ties});
  check_parity("max ties gradient", [](const TensorList& in) { return max(in[0], {1}); }, {ties});
  const Tensor nan = tensor({1, NAN, 3, NAN, 2, 9}, {2, 3});
  check_parity("argmax nan", [](const TensorList& in) { return argmax(in[0].reshape({6}), 0); }, {nan});
  // Integer sums are int64; bool counts.
  const Tensor ints = tensor({250, 3, 100, 7, 9, 1}, {2, 3}, DType::UInt8);
  check_parity("uint8 sum", [](const TensorList& in) { return sum(in[0], {0}); }, {ints});
  check_parity("bool sum", [](const TensorList& in) { return sum(gt(in[0], 5.0)); }, {ints.to(DType::Float32)});
  check_parity("int64 max", [](const TensorList& in) { return max(in[0], {1}); }, {ints.to(DType::Int64)});
  // A long reduction (more elements than threads per block, many blocks).
  check_parity("sum of 1e6", [](const TensorList& in) { return sum(in[0]); }, {randn32({1000, 1000}, 12)});
}

TEST_CASE("CUDA parity: matmul on odd sizes, strides and broadcast batches" * doctest::skip(no_gpu())) {
  struct Size {
    int64_t m, k, n;
  };
  for (const Size s : {Size{1, 1, 1}, Size{17, 33, 65}, Size{130, 7, 300}, Size{64, 64, 64}, Size{65, 129, 3}}) {
    const std::string name = std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
    const Tensor a = randn32({s.m, s.k}, 21), b = randn32({s.k, s.n}, 22);
    check_parity("matmul " + name, [](const TensorList& in) { return matmul(in[0], in[1]); }, {a, b});
    check_parity("matmul transposed operands " + name,
                 [](const TensorList& in) { return matmul(in[0].t(), in[1].t()); }, {a.t().contiguous(), b.t().contiguous()});
  }
  // Batched, with a broadcast batch dim (stride 0) and a sliced operand.
  check_parity("batched broadcast",
               [](const TensorList& in) { return matmul(in[0], in[1].slice(2, 0, 18, 2)); },
               {randn32({3, 1, 17, 33}, 23), randn32({5, 33, 18}, 24)});
  // Enough 128 x 64 tiles (2 x 2 x 80) to fill any current GPU twice, so
  // the tall tile runs, on sizes that are not multiples of it.
  check_parity("batched, the 128-row tile", [](const TensorList& in) { return matmul(in[0], in[1]); },
               {randn32({80, 130, 37}, 27), randn32({80, 37, 70}, 28)});
  check_parity("matrix @ vector", [](const TensorList& in) { return matmul(in[0], in[1]); },
               {randn32({9, 70}, 25), randn32({70}, 26)});
  check_parity("int64 matmul", [](const TensorList& in) { return matmul(in[0], in[1]); },
               {tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Int64), tensor({7, 8, 9, 10, 11, 12}, {3, 2}, DType::Int64)});
}

TEST_CASE("CUDA parity: softmax and log_softmax" * doctest::skip(no_gpu())) {
  const Tensor x = randn32({6, 300, 5}, 31) * 4.0;
  for (int64_t dim = 0; dim < 3; ++dim) {
    check_parity("softmax " + std::to_string(dim), [&](const TensorList& in) { return softmax(in[0], dim); }, {x});
    check_parity("log_softmax " + std::to_string(dim), [&](const TensorList& in) { return log_softmax(in[0], dim); },
                 {x});
  }
  check_parity("softmax of a transposed view", [](const TensorList& in) { return softmax(in[0].transpose(0, 2), 1); },
               {x});
}

TEST_CASE("CUDA parity: views, contiguous, cat and stack" * doctest::skip(no_gpu())) {
  const Tensor a = randn32({4, 6, 5}, 41), b = randn32({4, 3, 5}, 42);
  check_parity("permute contiguous", [](const TensorList& in) { return in[0].permute({2, 0, 1}).contiguous() * 1.0; },
               {a});
  check_parity("reshape of a non-contiguous view (copies)",
               [](const TensorList& in) { return in[0].transpose(0, 1).reshape({6, 20}); }, {a});
  check_parity("slice select narrow",
               [](const TensorList& in) { return in[0].slice(1, 1, 6, 2).select(2, 3).narrow(0, 1, 2) * 2.0; }, {a});
  check_parity("expand", [](const TensorList& in) { return in[0].slice(1, 0, 1).expand({4, 7, 5}) * 1.5; }, {a});
  check_parity("cat dim 1", [](const TensorList& in) { return cat({in[0], in[1]}, 1); }, {a, b});
  check_parity("cat of views", [](const TensorList& in) { return cat({in[0].transpose(1, 2), in[1].transpose(1, 2)}, 2); },
               {a, b});
  check_parity("stack", [](const TensorList& in) { return stack({in[0], in[0] * 2.0}, 1); }, {b});
  check_parity("to(dtype) round trip", [](const TensorList& in) { return in[0].to(DType::Int64).to(DType::Float32); },
               {a * 10.0});
  check_parity("to uint8 wraps", [](const TensorList& in) { return in[0].to(DType::UInt8); },
               {tensor({-1, 300, 2.7, 255})});
}

TEST_CASE("CUDA parity: conv2d, conv_transpose2d and max_pool2d" * doctest::skip(no_gpu())) {
  check_parity("conv2d stride (2, 1) padding (1, 0) with bias",
               [](const TensorList& in) { return conv2d(in[0], in[1], in[2], {2, 1}, {1, 0}); },
               {randn32({2, 3, 9, 11}, 51), randn32({4, 3, 3, 2}, 52), randn32({4}, 53)});
  check_parity("conv2d on a permuted input, no bias",
               [](const TensorList& in) { return conv2d(in[0].permute({0, 3, 1, 2}), in[1], Tensor(), {1, 1}, {2, 2}); },
               {randn32({3, 8, 7, 5}, 54), randn32({6, 5, 5, 5}, 55)});
  check_parity("conv2d 28x28 like the discriminator",
               [](const TensorList& in) { return conv2d(in[0], in[1], in[2], {2, 2}, {1, 1}); },
               {randn32({4, 1, 28, 28}, 56), randn32({8, 1, 4, 4}, 57), randn32({8}, 58)});
  check_parity("conv_transpose2d stride 2 padding 1 output_padding 1",
               [](const TensorList& in) { return conv_transpose2d(in[0], in[1], in[2], {2, 2}, {1, 1}, {1, 1}); },
               {randn32({2, 4, 5, 6}, 61), randn32({4, 3, 4, 3}, 62), randn32({3}, 63)});
  check_parity("conv_transpose2d like the generator",
               [](const TensorList& in) { return conv_transpose2d(in[0], in[1], Tensor(), {2, 2}, {1, 1}); },
               {randn32({3, 8, 7, 7}, 64), randn32({8, 2, 4, 4}, 65)});
  check_parity("conv2d_weight k4 s2 p1 (the discriminator's second layer)",
               [](const TensorList& in) { return conv2d_weight(in[0], in[1], {4, 4}, {2, 2}, {1, 1}); },
               {randn32({3, 5, 14, 14}, 66), randn32({3, 7, 7, 7}, 67)});
  check_parity("conv2d_weight 3x2 s(2,1) p(1,0) on a transposed grad_output",
               [](const TensorList& in) { return conv2d_weight(in[0], in[1].transpose(0, 1), {3, 2}, {2, 1}, {1, 0}); },
               {randn32({2, 3, 5, 6}, 68), randn32({4, 2, 3, 5}, 69)});
  check_parity("max_pool2d 3/2/1 (overlapping windows)",
               [](const TensorList& in) { return max_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}); },
               {randn32({2, 3, 11, 10}, 71)});
  check_parity("max_pool2d 2/2 on a transposed view",
               [](const TensorList& in) { return max_pool2d(in[0].transpose(2, 3), {2, 2}, {2, 2}); },
               {randn32({2, 3, 9, 8}, 72)});
  // Ties and NaN: the first maximum and the NaN win, as on the CPU.
  check_parity("max_pool2d ties", [](const TensorList& in) { return max_pool2d(in[0], {2, 2}, {1, 1}); },
               {tensor({1, 1, 1, 1, 2, 2, 0, 2, 2}, {1, 1, 3, 3})});
  check_parity("max_pool2d nan", [](const TensorList& in) { return max_pool2d(in[0], {2, 2}, {2, 2}); },
               {tensor({1, NAN, 3, 4}, {1, 1, 2, 2})});
}

TEST_CASE("CUDA parity: batch_norm (train and eval) and dropout" * doctest::skip(no_gpu())) {
  const Tensor x = randn32({8, 5, 6, 7}, 81) * 2.0 + 1.0;
  for (bool training : {true, false}) {
    const std::string mode = training ? "train" : "eval";
    Tensor mean_cpu = randn32({5}, 82) * 0.1, var_cpu = abs(randn32({5}, 83)) + 0.5;
    Tensor mean_gpu = mean_cpu.to(kGpu), var_gpu = var_cpu.to(kGpu);
    check_parity("batch_norm " + mode,
                 [&](const TensorList& in) {
                   const bool on_gpu = in[0].device().is_cuda();
                   return batch_norm(in[0], on_gpu ? mean_gpu : mean_cpu, on_gpu ? var_gpu : var_cpu, in[1], in[2],
                                     training, 0.1, 1e-5);
                 },
                 {x, randn32({5}, 84), randn32({5}, 85)});
    check_close(mean_cpu, mean_gpu, "running_mean " + mode);
    check_close(var_cpu, var_gpu, "running_var " + mode);
  }
  check_parity("batch_norm [N, C] on a transposed input without affine",
               [](const TensorList& in) { return batch_norm(in[0].t(), Tensor(), Tensor(), Tensor(), Tensor(), true); },
               {randn32({6, 40}, 86)});
  check_parity("dropout: the same mask from the same generator",
               [](const TensorList& in) {
                 Generator gen(1234);
                 return dropout(in[0], 0.3, true, &gen);
               },
               {randn32({33, 17}, 87)});
}

TEST_CASE("CUDA parity: layer_norm over the last one and three dims, affine or not, transposed" *
          doctest::skip(no_gpu())) {
  check_parity("layer_norm last dim, affine",
               [](const TensorList& in) { return layer_norm(in[0], {37}, in[1], in[2]); },
               {randn32({9, 37}, 91) * 3.0 + 1.0, randn32({37}, 92), randn32({37}, 93)});
  check_parity("layer_norm [C, H, W] like the critic's",
               [](const TensorList& in) { return layer_norm(in[0], {5, 7, 7}, in[1], in[2]); },
               {randn32({4, 5, 7, 7}, 94), randn32({5, 7, 7}, 95), randn32({5, 7, 7}, 96)});
  check_parity("layer_norm on a transposed input without affine",
               [](const TensorList& in) { return layer_norm(in[0].t(), {6}, Tensor(), Tensor()); },
               {randn32({6, 11}, 97)});
}

TEST_CASE("CUDA parity: every loss" * doctest::skip(no_gpu())) {
  const Tensor z = randn32({9, 7}, 91) * 2.0;
  const Tensor t = rand({9, 7});
  check_parity("binary_cross_entropy", [](const TensorList& in) { return binary_cross_entropy(sigmoid(in[0]), in[1]); },
               {z, t});
  check_parity("binary_cross_entropy_with_logits",
               [](const TensorList& in) { return binary_cross_entropy_with_logits(in[0].t(), in[1].t()); }, {z, t});
  check_parity("cross_entropy", [](const TensorList& in) { return cross_entropy(in[0], in[1]); },
               {z, tensor({0, 6, 3, 3, 1, 2, 5, 4, 0}, {9}, DType::Int64)});
  check_parity("mse_loss", [](const TensorList& in) { return mse_loss(in[0].slice(1, 0, 6, 2), in[1].slice(1, 1, 7, 2)); },
               {z, t});
  check_parity("gaussian_nll with broadcasting",
               [](const TensorList& in) { return gaussian_nll(in[0], in[1], in[2]); },
               {randn32({9, 2}, 92), randn32({9, 2}, 93), randn32({2}, 94) * 0.3});
}
