// test_gemm.cpp — the CPU GEMM (tensor/cpu/gemm.h) behind matmul and the
// convolutions, and the thread pool it runs on: results against a float64
// reference for odd sizes (edge tiles, several K blocks), every transpose
// combination and non-unit strides, batched products with the batch folded
// into n, m or k, K = 0, both micro-kernels, and bit-identical results for
// 1, 2 and 3 threads.
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/thread_pool.h"

using namespace dl;
using namespace test;

namespace {

// Restores the thread count and the micro-kernel when a test ends.
struct CpuSettingsGuard {
  int threads = num_threads();
  GemmKernel kernel = gemm_kernel();
  ~CpuSettingsGuard() {
    set_num_threads(threads);
    set_gemm_kernel(kernel);
  }
};

// The kernels to test on this CPU: always the portable one, and AVX2 / FMA
// when the CPU has it.
std::vector<GemmKernel> kernels_here() {
  std::vector<GemmKernel> kernels = {GemmKernel::Portable};
  if (gemm_kernel() == GemmKernel::Avx2Fma) kernels.push_back(GemmKernel::Avx2Fma);
  return kernels;
}

Tensor randn32(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, DType::Float32, &gen);
}

// A [rows, cols] float32 matrix with seeded values, as the requested layout:
// transposed (a view of a [cols, rows] tensor) and/or every other column of
// a wider tensor (column stride 2).
Tensor matrix(int64_t rows, int64_t cols, bool transposed, bool strided, uint64_t seed) {
  const int64_t wide = strided ? 2 : 1;
  if (transposed) {
    const Tensor base = randn32({cols * wide, rows}, seed);
    return base.slice(0, 0, cols * wide, wide).t();  // row stride 1, column stride `wide * rows`
  }
  return randn32({rows, cols * wide}, seed).slice(1, 0, cols * wide, wide);
}

// out = a @ b against a float64 reference: each entry within the float32
// error bound of a k-term dot product, ~k * 2^-24 * sum |a_ip b_pj|.
void check_product(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  REQUIRE(out.shape() == Shape{m, n});
  const Values av = vals(a.contiguous()), bv = vals(b.contiguous()), got = vals(out);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double ref = 0, magnitude = 0;
      for (int64_t p = 0; p < k; ++p) {
        ref += av[i * k + p] * bv[p * n + j];
        magnitude += std::abs(av[i * k + p] * bv[p * n + j]);
      }
      const double tolerance = (double(k) + 2) * 1.2e-7 * magnitude + 1e-30;
      if (std::abs(got[i * n + j] - ref) > tolerance) {
        FAIL_CHECK("C[" << i << ", " << j << "] of [" << m << ", " << k << "] @ [" << k << ", " << n
                        << "] is " << got[i * n + j] << ", reference " << ref);
        return;
      }
    }
  }
}

// The bits of a float32 tensor.
std::vector<float> bits(const Tensor& t) { return t.contiguous().to_vector<float>(); }

}  // namespace

TEST_CASE("gemm: odd sizes against a float64 reference, both kernels") {
  CpuSettingsGuard guard;
  const std::vector<int64_t> sizes = {1, 5, 7, 17, 63, 65, 129};
  // k = 300 spans two K blocks (KC = 256).
  const std::vector<int64_t> depths = {1, 7, 65, 300};
  for (GemmKernel kernel : kernels_here()) {
    set_gemm_kernel(kernel);
    CAPTURE(gemm_kernel_name(kernel));
    uint64_t seed = 1;
    for (int64_t m : sizes)
      for (int64_t n : sizes)
        for (int64_t k : depths) {
          if (m * n * k > 129 * 65 * 300) continue;  // keeps the reference quick
          const Tensor a = matrix(m, k, false, false, seed++), b = matrix(k, n, false, false, seed++);
          check_product(a, b, matmul(a, b));
        }
    // More rows than one MC = 144 block, more columns than one NC = 2048 block.
    const Tensor a = matrix(300, 40, false, false, 91), b = matrix(40, 2100, false, false, 92);
    check_product(a, b, matmul(a, b));
  }
}

TEST_CASE("gemm: every transpose combination and non-unit strides") {
  CpuSettingsGuard guard;
  for (GemmKernel kernel : kernels_here()) {
    set_gemm_kernel(kernel);
    CAPTURE(gemm_kernel_name(kernel));
    uint64_t seed = 100;
    for (int layout = 0; layout < 16; ++layout) {
      const bool a_t = layout & 1, b_t = layout & 2, a_strided = layout & 4, b_strided = layout & 8;
      CAPTURE(layout);
      const Tensor a = matrix(37, 270, a_t, a_strided, seed++), b = matrix(270, 23, b_t, b_strided, seed++);
      CHECK(a.is_contiguous() == (!a_t && !a_strided));
      check_product(a, b, matmul(a, b));
    }
  }
}

TEST_CASE("gemm: batched, with the batch shared, folded into n, m or k") {
  CpuSettingsGuard guard;
  for (GemmKernel kernel : kernels_here()) {
    set_gemm_kernel(kernel);
    CAPTURE(gemm_kernel_name(kernel));
    const int64_t batch = 5, m = 13, k = 29, n = 11;
    const Tensor a3 = randn32({batch, m, k}, 1), b3 = randn32({batch, k, n}, 2);
    const Tensor a2 = randn32({m, k}, 3), b2 = randn32({k, n}, 4);
    const Tensor independent = matmul(a3, b3), shared_left = matmul(a2, b3), shared_right = matmul(a3, b2);
    // A transposed, permuted batch: [n, k] views of a [k, batch, n] tensor.
    const Tensor b3_permuted = randn32({k, batch, n}, 5).permute({1, 0, 2});
    const Tensor permuted = matmul(a2, b3_permuted);
    for (int64_t i = 0; i < batch; ++i) {
      check_product(a3.select(0, i), b3.select(0, i), independent.select(0, i));
      check_product(a2, b3.select(0, i), shared_left.select(0, i));
      check_product(a3.select(0, i), b2, shared_right.select(0, i));
      check_product(a2, b3_permuted.select(0, i), permuted.select(0, i));
    }
    // One column per batch: the folded output is a transposed C.
    const Tensor column = randn32({batch, k, 1}, 6), per_column = matmul(a2, column);
    for (int64_t i = 0; i < batch; ++i) check_product(a2, column.select(0, i), per_column.select(0, i));

    // sum_b a[b] @ b[b], with b transposed: the conv weight gradient's form.
    const Tensor w = randn32({batch, n, k}, 7).transpose(1, 2);
    Tensor summed = Tensor::empty({m, n});
    backend(Device::cpu()).matmul_sum_batch(a3, w, summed);
    const Tensor a_flat = a3.permute({1, 0, 2}).reshape({m, batch * k}), w_flat = w.reshape({batch * k, n});
    check_product(a_flat, w_flat, summed);
  }
}

TEST_CASE("gemm: K = 0 gives zeros, empty M or N gives an empty result") {
  const Tensor a = Tensor::empty({3, 0}), b = Tensor::empty({0, 4});
  const Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{3, 4});
  CHECK(vals(c) == Values(12, 0.0));
  CHECK(matmul(Tensor::empty({0, 5}), randn32({5, 4}, 1)).shape() == Shape{0, 4});
  CHECK(matmul(randn32({3, 5}, 1), Tensor::empty({5, 0})).shape() == Shape{3, 0});
  Tensor summed = full({2, 2}, 7.0);
  backend(Device::cpu()).matmul_sum_batch(Tensor::empty({3, 2, 0}), Tensor::empty({3, 0, 2}), summed);
  CHECK(vals(summed) == Values(4, 0.0));
}

TEST_CASE("gemm: float64 and int64 products are exact where they can be") {
  const Tensor a = iota({7, 19}), b = iota({19, 33}) - 100.0;  // integers: every float64 sum is exact
  const Tensor c = matmul(a, b);
  CHECK(vals(c) == vals(matmul(a.to(DType::Int64), b.to(DType::Int64))));
  const Values av = vals(a), bv = vals(b), got = vals(c);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 33; ++j) {
      double ref = 0;
      for (int64_t p = 0; p < 19; ++p) ref += av[i * 19 + p] * bv[p * 33 + j];
      CHECK(got[i * 33 + j] == ref);
    }
}

TEST_CASE("gemm, convolutions, batch_norm and leaky_relu: 1, 2 and 3 threads give bit-identical results") {
  CpuSettingsGuard guard;
  for (GemmKernel kernel : kernels_here()) {
    set_gemm_kernel(kernel);
    CAPTURE(gemm_kernel_name(kernel));
    const Tensor a = randn32({301, 517}, 11), b = randn32({517, 203}, 12);
    const Tensor x = randn32({8, 16, 14, 14}, 13), w = randn32({32, 16, 4, 4}, 14);
    const Tensor xt = randn32({8, 32, 7, 7}, 15), wt = randn32({32, 16, 5, 5}, 16);
    const Tensor xb = randn32({16, 64, 16, 16}, 17), gb = randn32({64}, 18), bb = randn32({64}, 19);
    std::vector<std::vector<float>> first;
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      CAPTURE(threads);
      std::vector<std::vector<float>> results;
      results.push_back(bits(matmul(a, b)));
      results.push_back(bits(matmul(b.t(), a.t())));
      // conv2d forward, dx, dW, and conv_transpose2d likewise.
      const Tensor xl = leaf(x.clone()), wl = leaf(w.clone());
      const Tensor y = conv2d(xl, wl, Tensor(), {2, 2}, {1, 1});
      sum(y * y).backward();
      results.push_back(bits(y));
      results.push_back(bits(xl.grad()));
      results.push_back(bits(wl.grad()));
      const Tensor xtl = leaf(xt.clone()), wtl = leaf(wt.clone());
      const Tensor yt = conv_transpose2d(xtl, wtl, Tensor(), {2, 2}, {2, 2}, {0, 0});
      sum(yt * yt).backward();
      results.push_back(bits(yt));
      results.push_back(bits(xtl.grad()));
      results.push_back(bits(wtl.grad()));
      // batch_norm (training) then leaky_relu: forward, dx, dweight, dbias.
      const Tensor xbl = leaf(xb.clone()), gbl = leaf(gb.clone()), bbl = leaf(bb.clone());
      const Tensor yb = leaky_relu(batch_norm(xbl, Tensor(), Tensor(), gbl, bbl, true), 0.1);
      sum(yb * yb).backward();
      for (const Tensor& t : {yb, xbl.grad(), gbl.grad(), bbl.grad()}) results.push_back(bits(t));
      if (first.empty()) {
        first = results;
        continue;
      }
      for (size_t r = 0; r < results.size(); ++r) {
        CAPTURE(r);
        REQUIRE(results[r].size() == first[r].size());
        CHECK(std::memcmp(results[r].data(), first[r].data(), results[r].size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("parallel_for: contiguous chunks cover the range once; nested runs inline; errors reach the caller") {
  CpuSettingsGuard guard;
  set_num_threads(3);
  CHECK(num_threads() == 3);
  std::vector<std::atomic<int>> hits(1000);
  std::atomic<int> chunks{0};
  parallel_for(0, 1000, 10, [&](int64_t lo, int64_t hi) {
    ++chunks;
    for (int64_t i = lo; i < hi; ++i) ++hits[i];
  });
  CHECK(chunks == 3);
  for (const auto& h : hits) CHECK(h == 1);

  // Small ranges and nested calls run as one inline chunk.
  int small_chunks = 0;
  parallel_for(0, 15, 10, [&](int64_t, int64_t) { ++small_chunks; });
  CHECK(small_chunks == 1);
  std::atomic<int> inner_chunks{0};
  parallel_for(0, 3, 1, [&](int64_t, int64_t) { parallel_for(0, 1000, 1, [&](int64_t, int64_t) { ++inner_chunks; }); });
  CHECK(inner_chunks == 3);

  CHECK_THROWS_WITH_AS(parallel_for(0, 100, 1,
                                    [](int64_t lo, int64_t) {
                                      if (lo > 0) fail("chunk at ", lo, " failed");
                                    }),
                       doctest::Contains("failed"), Error);
  CHECK_THROWS_WITH_AS(set_num_threads(0), "set_num_threads: expected at least 1 thread, got 0", Error);
}
