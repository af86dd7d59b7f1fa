// test_cuda_norm.cpp — the fused CUDA kernels of cuda/norm.cu against the
// CPU backend: batch_norm_stats, batch_norm_elemt (with and without dy),
// batch_norm_backward_reduce and leaky_relu_backward called directly on both
// backends, then the batch_norm and leaky_relu ops end to end (values,
// gradients, running statistics). Shapes are the InfoGAN's (BatchNorm1d
// [N, 1024], BatchNorm2d [N, 64, 14, 14] and [N, 128, 7, 7]), odd ones, ones
// that split a channel over many blocks, and views (transposed, channels-last,
// sliced, stride-0 broadcasts). Inputs have a non-zero mean (about 3, std 2)
// so that a naive variance formula would show. Skipped without a GPU.
#include "cuda_helpers.h"

using namespace dl;
using namespace cuda_test;

namespace {

// The shapes every backend method is checked on: [N, C] (BatchNorm1d) and
// [N, C, H, W] (BatchNorm2d); [4, 2, 70000] splits each channel over many
// blocks, [2, 600, 3] has more channels than the reduction's block target.
const std::vector<Shape> kShapes = {{64, 1024}, {3, 5},       {512, 1024},   {7, 1},       {64, 64, 14, 14},
                                    {512, 128, 7, 7}, {2, 3, 5, 7}, {4, 2, 70000}, {2, 600, 3}};

// Seeded values of mean `mean` and standard deviation `std`, on the CPU.
Tensor data(const Shape& shape, uint64_t seed, double mean = 3.0, double std = 2.0) {
  return randn32(shape, seed) * std + mean;
}

Tensor per_channel(int64_t channels, Device device) { return Tensor::empty({channels}, DType::Float32, device); }

// A way to view a freshly drawn base tensor as the [N, C, ...] operand.
struct View {
  std::string name;
  Shape base;                                // what to draw
  std::function<Tensor(const Tensor&)> of;  // the operand, a view of the base
};

// Contiguous operands of every shape in kShapes, plus the views the kernels
// must read in place or copy first.
std::vector<View> views() {
  std::vector<View> out;
  for (const Shape& s : kShapes) out.push_back({"contiguous " + shape_str(s), s, [](const Tensor& t) { return t; }});
  // [N, C] = [40, 6] as the transpose of [6, 40]: n stride 1, c stride 40.
  out.push_back({"transposed [40, 6]", {6, 40}, [](const Tensor& t) { return t.t(); }});
  // Channels-last NCHW: an NHWC tensor permuted (trailing stride C, channel stride 1).
  out.push_back({"channels-last [8, 5, 6, 7]", {8, 6, 7, 5}, [](const Tensor& t) { return t.permute({0, 3, 1, 2}); }});
  // Every other column: H and W do not merge, so the kernels copy it first.
  out.push_back({"sliced [4, 6, 9, 5]", {4, 6, 9, 10}, [](const Tensor& t) { return t.slice(3, 0, 10, 2); }});
  // Every other row of a [N, C]: n stride 2C.
  out.push_back({"row-sliced [9, 33]", {18, 33}, [](const Tensor& t) { return t.slice(0, 0, 18, 2); }});
  return out;
}

Backend& cpu() { return backend(Device::cpu()); }
Backend& gpu() { return backend(kGpu); }

}  // namespace

TEST_CASE("CUDA norm: batch_norm_stats matches the CPU on every shape and view" * doctest::skip(no_gpu())) {
  uint64_t seed = 1;
  for (const View& v : views()) {
    const Tensor base = data(v.base, seed++);
    const Tensor x_cpu = v.of(base), x_gpu = v.of(base.to(kGpu));
    const int64_t c = x_cpu.size(1);
    const Tensor mean_cpu = per_channel(c, Device::cpu()), var_cpu = per_channel(c, Device::cpu());
    const Tensor mean_gpu = per_channel(c, kGpu), var_gpu = per_channel(c, kGpu);
    cpu().batch_norm_stats(x_cpu, mean_cpu, var_cpu);
    gpu().batch_norm_stats(x_gpu, mean_gpu, var_gpu);
    check_close(mean_cpu, mean_gpu, "stats mean, " + v.name);
    check_close(var_cpu, var_gpu, "stats var, " + v.name);
  }
}

TEST_CASE("CUDA norm: batch_norm_stats is exact on hard inputs and deterministic" * doctest::skip(no_gpu())) {
  const auto stats = [](const std::string& what, const Tensor& x) {
    const int64_t c = x.size(1);
    const Tensor mean_cpu = per_channel(c, Device::cpu()), var_cpu = per_channel(c, Device::cpu());
    const Tensor mean_gpu = per_channel(c, kGpu), var_gpu = per_channel(c, kGpu);
    cpu().batch_norm_stats(x, mean_cpu, var_cpu);
    gpu().batch_norm_stats(x.to(kGpu), mean_gpu, var_gpu);
    check_close(mean_cpu, mean_gpu, what + " mean");
    check_close(var_cpu, var_gpu, what + " var");  // compared at var's own scale (~1)
    return std::make_pair(mean_gpu, var_gpu);
  };
  // |mean| = 1000 std: sum x^2 - M mean^2 in float (or even in double over
  // many elements) would lose the variance; the shifted sums keep it.
  stats("mean 1000, std 1, [64, 8, 10, 10]", data({64, 8, 10, 10}, 11, 1000.0, 1.0));
  stats("mean -300, std 0.5, [4, 2, 70000]", data({4, 2, 70000}, 12, -300.0, 0.5));
  // Constant channels (also a stride-0 broadcast): the variance is exactly 0, never negative.
  {
    const auto [mean, var] = stats("constant [8, 3, 4, 4]", full({8, 3, 4, 4}, 2.5));
    for (float v : var.to_vector<float>()) CHECK(v == 0.0f);
    for (float m : mean.to_vector<float>()) CHECK(m == 2.5f);
  }
  {
    const Tensor x = data({1, 64, 1, 1}, 13).expand({512, 64, 7, 7});
    const auto [mean, var] = stats("broadcast [512, 64, 7, 7]", x);
    for (float v : var.to_vector<float>()) CHECK(v == 0.0f);
  }
  // Run to run, bit for bit (no atomics; a fixed order of additions).
  for (const Shape& shape : {Shape{512, 128, 7, 7}, Shape{4, 2, 70000}, Shape{64, 1024}}) {
    const Tensor x = data(shape, 14).to(kGpu);
    const int64_t c = shape[1];
    const Tensor m1 = per_channel(c, kGpu), v1 = per_channel(c, kGpu), m2 = per_channel(c, kGpu),
                 v2 = per_channel(c, kGpu);
    gpu().batch_norm_stats(x, m1, v1);
    gpu().batch_norm_stats(x, m2, v2);
    CHECK_MESSAGE(m1.to_vector<float>() == m2.to_vector<float>(), "stats mean deterministic " << shape_str(shape));
    CHECK_MESSAGE(v1.to_vector<float>() == v2.to_vector<float>(), "stats var deterministic " << shape_str(shape));
  }
}

TEST_CASE("CUDA norm: batch_norm_elemt with and without dy" * doctest::skip(no_gpu())) {
  uint64_t seed = 100;
  for (const View& v : views()) {
    const Tensor base = data(v.base, seed++);
    const Tensor x_cpu = v.of(base), x_gpu = v.of(base.to(kGpu));
    const int64_t c = x_cpu.size(1);
    const Tensor mean = data({c}, seed++), scale = randn32({c}, seed++), shift = randn32({c}, seed++),
                 dy_scale = randn32({c}, seed++);
    // dy drawn in the same view as x (so it too is transposed, sliced, ...).
    const Tensor dy_base = randn32(v.base, seed++);
    const Tensor dy_cpu = v.of(dy_base), dy_gpu = v.of(dy_base.to(kGpu));
    for (bool with_dy : {false, true}) {
      const std::string what = std::string("elemt ") + (with_dy ? "with dy, " : "without dy, ") + v.name;
      const Tensor out_cpu = Tensor::empty(x_cpu.shape()), out_gpu = Tensor::empty(x_cpu.shape(), DType::Float32, kGpu);
      cpu().batch_norm_elemt(x_cpu, mean, scale, shift, with_dy ? dy_cpu : Tensor(), with_dy ? dy_scale : Tensor(),
                             out_cpu);
      gpu().batch_norm_elemt(x_gpu, mean.to(kGpu), scale.to(kGpu), shift.to(kGpu), with_dy ? dy_gpu : Tensor(),
                             with_dy ? dy_scale.to(kGpu) : Tensor(), out_gpu);
      check_close(out_cpu, out_gpu, what);
    }
  }
}

TEST_CASE("CUDA norm: batch_norm_elemt with a broadcast dy, strided [C] tensors and a strided out" *
          doctest::skip(no_gpu())) {
  const Shape shape = {6, 5, 4, 3};
  const Tensor x = data(shape, 200);
  // dy as the gradient of a sum: one value per channel, broadcast (strides 0, 1, 0, 0).
  const Tensor dy = randn32({1, 5, 1, 1}, 201).expand(shape);
  // Per-channel tensors as every other element of a [10] tensor.
  const Tensor mean = data({10}, 202).slice(0, 0, 10, 2), scale = randn32({10}, 203).slice(0, 0, 10, 2),
               shift = randn32({10}, 204).slice(0, 0, 10, 2), dy_scale = randn32({10}, 205).slice(0, 0, 10, 2);
  const Tensor out_cpu = Tensor::empty(shape);
  cpu().batch_norm_elemt(x, mean, scale, shift, dy, dy_scale, out_cpu);
  // out as every other row and column of a zeroed [6, 5, 8, 6]: H and W do
  // not merge; the entries in between must stay 0.
  const Tensor out_base = zeros({6, 5, 8, 6}, DType::Float32, kGpu);
  const Tensor out_gpu = out_base.slice(2, 0, 8, 2).slice(3, 0, 6, 2);
  gpu().batch_norm_elemt(x.to(kGpu), mean.to(kGpu), scale.to(kGpu), shift.to(kGpu), dy.to(kGpu), dy_scale.to(kGpu),
                         out_gpu);
  Tensor expected = zeros({6, 5, 8, 6});
  expected.slice(2, 0, 8, 2).slice(3, 0, 6, 2).copy_(out_cpu);
  check_close(expected, out_base, "elemt into a strided out");
  // The same with the views kept on the GPU (mean etc. strided there too).
  const Tensor out_gpu2 = Tensor::empty(shape, DType::Float32, kGpu);
  gpu().batch_norm_elemt(x.to(kGpu), data({10}, 202).to(kGpu).slice(0, 0, 10, 2),
                         randn32({10}, 203).to(kGpu).slice(0, 0, 10, 2),
                         randn32({10}, 204).to(kGpu).slice(0, 0, 10, 2),
                         randn32({1, 5, 1, 1}, 201).to(kGpu).expand(shape),
                         randn32({10}, 205).to(kGpu).slice(0, 0, 10, 2), out_gpu2);
  check_close(out_cpu, out_gpu2, "elemt with strided [C] tensors on the GPU");
}

TEST_CASE("CUDA norm: batch_norm_backward_reduce matches the CPU" * doctest::skip(no_gpu())) {
  uint64_t seed = 300;
  for (const View& v : views()) {
    const Tensor base = data(v.base, seed++), dy_base = data(v.base, seed++, 0.5, 1.5);
    const Tensor x_cpu = v.of(base), x_gpu = v.of(base.to(kGpu));
    const Tensor dy_cpu = v.of(dy_base), dy_gpu = v.of(dy_base.to(kGpu));
    const int64_t c = x_cpu.size(1);
    // The batch mean, as batch_norm passes it (and a slightly off one: any mean works).
    Tensor mean = per_channel(c, Device::cpu()), var = per_channel(c, Device::cpu());
    cpu().batch_norm_stats(x_cpu, mean, var);
    for (const Tensor& m : {mean, mean + 0.25}) {
      const Tensor s1_cpu = per_channel(c, Device::cpu()), s2_cpu = per_channel(c, Device::cpu());
      const Tensor s1_gpu = per_channel(c, kGpu), s2_gpu = per_channel(c, kGpu);
      cpu().batch_norm_backward_reduce(dy_cpu, x_cpu, m, s1_cpu, s2_cpu);
      gpu().batch_norm_backward_reduce(dy_gpu, x_gpu, m.to(kGpu), s1_gpu, s2_gpu);
      check_close(s1_cpu, s1_gpu, "sum_dy, " + v.name);
      check_close(s2_cpu, s2_gpu, "sum_dy_xmu, " + v.name);
    }
  }
  // dy broadcast from one value per channel (the gradient of a sum), x channels-last.
  const Tensor x = data({16, 7, 9, 5}, 390).permute({0, 3, 1, 2});
  const Tensor dy = randn32({1, 5, 1, 1}, 391).expand({16, 5, 7, 9});
  Tensor mean = per_channel(5, Device::cpu()), var = per_channel(5, Device::cpu());
  cpu().batch_norm_stats(x, mean, var);
  const Tensor s1_cpu = per_channel(5, Device::cpu()), s2_cpu = per_channel(5, Device::cpu());
  const Tensor s1_gpu = per_channel(5, kGpu), s2_gpu = per_channel(5, kGpu);
  cpu().batch_norm_backward_reduce(dy, x, mean, s1_cpu, s2_cpu);
  gpu().batch_norm_backward_reduce(dy.to(kGpu), x.to(kGpu), mean.to(kGpu), s1_gpu, s2_gpu);
  check_close(s1_cpu, s1_gpu, "sum_dy, broadcast dy");
  check_close(s2_cpu, s2_gpu, "sum_dy_xmu, broadcast dy");
  // Into strided outputs (every other element of a [10]).
  const Tensor o1 = zeros({10}, DType::Float32, kGpu), o2 = zeros({10}, DType::Float32, kGpu);
  gpu().batch_norm_backward_reduce(dy.to(kGpu), x.to(kGpu), mean.to(kGpu), o1.slice(0, 0, 10, 2),
                                   o2.slice(0, 0, 10, 2));
  check_close(s1_cpu, o1.slice(0, 0, 10, 2).contiguous(), "sum_dy into a strided out");
  check_close(s2_cpu, o2.slice(0, 0, 10, 2).contiguous(), "sum_dy_xmu into a strided out");
  check_close(zeros({5}), o1.slice(0, 1, 10, 2).contiguous(), "sum_dy leaves the gaps alone");
}

TEST_CASE("CUDA norm: leaky_relu_backward matches the CPU" * doctest::skip(no_gpu())) {
  // x with exact zeros (x > 0 is false there: dy * slope) and a NaN (likewise).
  Tensor x = randn32({64, 64, 14, 14}, 400);
  {
    Tensor flat = x.reshape({x.numel()});  // a view: x is contiguous
    flat.slice(0, 0, 1000, 7).fill_(0.0);
    flat.slice(0, 5, 6).fill_(NAN);
  }
  const Tensor dy = data({64, 64, 14, 14}, 401, 0.0, 3.0);
  for (double slope : {0.2, 0.01, 0.0}) {
    const Tensor dx_cpu = Tensor::empty(x.shape()), dx_gpu = Tensor::empty(x.shape(), DType::Float32, kGpu);
    cpu().leaky_relu_backward(x, dy, slope, dx_cpu);
    gpu().leaky_relu_backward(x.to(kGpu), dy.to(kGpu), slope, dx_gpu);
    check_close(dx_cpu, dx_gpu, "leaky_relu_backward contiguous, slope " + std::to_string(slope));
  }
  // Odd size, x transposed, dy broadcast, dx a strided slice.
  const Tensor xt = randn32({33, 17}, 402);
  const Tensor dyb = randn32({1, 33}, 403);
  const Tensor dx_cpu = Tensor::empty({17, 33});
  cpu().leaky_relu_backward(xt.t(), dyb.expand({17, 33}), 0.2, dx_cpu);
  const Tensor dx_base = zeros({17, 66}, DType::Float32, kGpu);
  gpu().leaky_relu_backward(xt.to(kGpu).t(), dyb.to(kGpu).expand({17, 33}), 0.2, dx_base.slice(1, 0, 66, 2));
  check_close(dx_cpu, dx_base.slice(1, 0, 66, 2).contiguous(), "leaky_relu_backward strided");
  check_close(zeros({17, 33}), dx_base.slice(1, 1, 66, 2).contiguous(), "leaky_relu_backward leaves the gaps alone");
}

TEST_CASE("CUDA norm: batch_norm + leaky_relu ops, train (running stats) then eval" * doctest::skip(no_gpu())) {
  uint64_t seed = 500;
  for (const Shape& shape : {Shape{64, 1024}, Shape{3, 5}, Shape{2, 3, 5, 7}, Shape{64, 64, 14, 14},
                             Shape{512, 128, 7, 7}}) {
    const int64_t c = shape[1];
    const Tensor x = data(shape, seed++), weight = randn32({c}, seed++) + 1.0, bias = randn32({c}, seed++);
    // Running statistics away from their defaults, one copy per device.
    Tensor mean_cpu = randn32({c}, seed++) * 0.1, var_cpu = abs(randn32({c}, seed++)) + 0.5;
    Tensor mean_gpu = mean_cpu.to(kGpu), var_gpu = var_cpu.to(kGpu);
    for (bool training : {true, false}) {
      const std::string what = std::string("batch_norm + leaky_relu ") + (training ? "train " : "eval ") +
                               shape_str(shape);
      check_parity(what,
                   [&](const TensorList& in) {
                     const bool on_gpu = in[0].device().is_cuda();
                     const Tensor y = batch_norm(in[0], on_gpu ? mean_gpu : mean_cpu, on_gpu ? var_gpu : var_cpu,
                                                 in[1], in[2], training, 0.1, 1e-5);
                     return leaky_relu(y, 0.2);
                   },
                   {x, weight, bias}, seed++);
      check_close(mean_cpu, mean_gpu, what + " running_mean");
      check_close(var_cpu, var_gpu, what + " running_var");
    }
  }
}

TEST_CASE("CUDA norm: batch_norm ops without affine, on views, under broadcast gradients" *
          doctest::skip(no_gpu())) {
  // No weight, no bias, no running statistics; x channels-last.
  check_parity("batch_norm channels-last, no affine",
               [](const TensorList& in) {
                 return batch_norm(in[0].permute({0, 3, 1, 2}), Tensor(), Tensor(), Tensor(), Tensor(), true);
               },
               {data({8, 6, 7, 5}, 600)});
  // [N, C] transposed (BatchNorm1d on a transposed activation).
  check_parity("batch_norm transposed [N, C]",
               [](const TensorList& in) {
                 return leaky_relu(batch_norm(in[0].t(), Tensor(), Tensor(), in[1], in[2], true), 0.2);
               },
               {data({1024, 64}, 601), randn32({1024}, 602), randn32({1024}, 603)});
  // The gradient of a sum over every dim but C reaches batch_norm as a
  // broadcast (stride-0) tensor; and of a sum over N, leaky_relu's likewise.
  check_parity("sum over N, H, W of batch_norm",
               [](const TensorList& in) {
                 return sum(batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true), {0, 2, 3});
               },
               {data({16, 8, 5, 5}, 604), randn32({8}, 605), randn32({8}, 606)});
  check_parity("sum over N of leaky_relu(batch_norm)",
               [](const TensorList& in) {
                 return sum(leaky_relu(batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true), 0.2), {0});
               },
               {data({64, 128, 7, 7}, 608), randn32({128}, 609), randn32({128}, 610)});
}
