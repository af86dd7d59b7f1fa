// test_cuda_graph.cpp — what the InfoGAN's fast GPU step rests on: the GEMM's
// folded index maps (checked on the CPU too), matmul_sum_batch and split-K
// products against the CPU, checks that raise at the next host read, CUDA
// graph capture and replay, and InfoGAN steps replayed from a graph against
// the same steps run eagerly.
#include <cstdint>
#include <vector>

#include "common/gan_family.h"
#include "common/infogan.h"
#include "common/vae.h"
#include "cuda_helpers.h"
#include "tensor/cuda/fold.h"

using namespace dl;
using namespace cuda_test;

TEST_CASE("Fold: the multiply-high division equals / and % for every divisor size") {
  const std::vector<int64_t> divisors = {1, 2, 3, 7, 16, 49, 196, 1000, 4096, 65535, 1000003, 2147483647};
  std::vector<uint32_t> numerators = {0, 1, 2, 48, 49, 50, 65535, 65536, 2147483646, 2147483647};
  uint64_t x = 12345;
  for (int i = 0; i < 2000; ++i) {  // a simple LCG: spread over [0, 2^31)
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    numerators.push_back(static_cast<uint32_t>(x >> 33));
  }
  for (const int64_t d : divisors) {
    const Fold f = make_fold(d, 3, 1000);
    for (const uint32_t i : numerators) {
      CAPTURE(d);
      CAPTURE(i);
      REQUIRE(fold_quotient(f, i) == i / d);
      REQUIRE(fold_offset(f, i) == static_cast<int64_t>(i / d) * 1000 + static_cast<int64_t>(i % d) * 3);
    }
  }
  CHECK(fold_offset(plain_fold(5), 7) == 35);
}

TEST_CASE("CUDA parity: matmul_sum_batch and split-K products" * doctest::skip(no_gpu())) {
  // conv2d's weight gradient: sum_n dy_n @ cols_n^T, depth 49 per image.
  const Tensor dy = randn32({64, 128, 49}, 31), cols = randn32({64, 300, 49}, 32);
  for (const bool odd : {false, true}) {
    const Tensor a = odd ? dy.narrow(0, 0, 3).narrow(1, 0, 5) : dy;
    const Tensor b = (odd ? cols.narrow(0, 0, 3).narrow(1, 0, 7) : cols).transpose(1, 2);
    const Tensor want = Tensor::empty({a.size(1), b.size(2)});
    const Tensor got = Tensor::empty({a.size(1), b.size(2)}, DType::Float32, kGpu);
    backend(Device::cpu()).matmul_sum_batch(a, b, want);
    backend(kGpu).matmul_sum_batch(a.to(kGpu), b.to(kGpu), got);
    check_close(want, got, odd ? "matmul_sum_batch 3 x [5 x 49] @ [49 x 7]" : "matmul_sum_batch 64 x [128 x 49] @ [49 x 300]");
  }
  // Few output tiles and a long depth: the depth is split and the slices summed.
  check_parity("a split-K product [64 x 6272] @ [6272 x 100]", [](const TensorList& in) { return matmul(in[0], in[1]); },
               {randn32({64, 6272}, 33), randn32({6272, 100}, 34)});
  // A weight shared by a batch of images (columns folded), and images shared by a batch of weights (rows folded).
  check_parity("W @ cols_n for every n", [](const TensorList& in) { return matmul(in[0], in[1]); },
               {randn32({70, 150}, 35), randn32({9, 150, 49}, 36)});
  check_parity("x_n @ W for every n", [](const TensorList& in) { return matmul(in[0], in[1]); },
               {randn32({9, 49, 150}, 37), randn32({150, 70}, 38)});
}

TEST_CASE("CUDA: checks on the data raise at the next read to the host" * doctest::skip(no_gpu())) {
  const Tensor p = tensor({0.5, 1.5, 0.2}, {3}).to(kGpu), target = zeros({3}).to(kGpu);
  const Tensor loss = binary_cross_entropy(p, target);  // queued, nothing waits
  CHECK_THROWS_WITH_AS(loss.item(), doctest::Contains("binary_cross_entropy: all elements of input should be between 0 and 1"),
                       Error);
  CHECK(binary_cross_entropy(tensor({0.5}, {1}).to(kGpu), zeros({1}).to(kGpu)).item() > 0);  // the flag was cleared
  const Tensor logits = zeros({2, 4}).to(kGpu);
  const Tensor bad = tensor({1, 4}, {2}, DType::Int64).to(kGpu);
  const Tensor ce = cross_entropy(logits, bad);
  CHECK_THROWS_WITH_AS(ce.item(), doctest::Contains("cross_entropy: a target index is out of range for 4 classes"), Error);
  CHECK(arange(5, DType::Int64, kGpu).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(0.5, 2.0, 0.5, DType::Float32, kGpu).to_vector<float>() == std::vector<float>{0.5f, 1.0f, 1.5f});
}

TEST_CASE("CUDA graph: replay recomputes from the inputs' new contents" * doctest::skip(no_gpu())) {
  Tensor x = tensor({1, 2, 3}, {3}).to(kGpu);
  Tensor y;
  CudaGraph graph(kGpu);
  graph.capture([&] { y = sum(x * x) + 1.0; });
  CHECK(graph.captured());
  graph.replay();
  CHECK(y.item() == 15.0);
  x.copy_(tensor({2, 2, 2}, {3}).to(kGpu));
  graph.replay();
  CHECK(y.item() == 13.0);
  // Memory the graph uses is not handed out again while it exists.
  const Tensor other = full({3}, 7.0, DType::Float32, kGpu);
  graph.replay();
  CHECK(other.to_vector<float>() == std::vector<float>{7, 7, 7});
  CHECK(y.item() == 13.0);
  CHECK_THROWS_WITH_AS(graph.capture([] {}), "CudaGraph: capture() was already called for this graph", Error);

  // Reads and copies from the host are refused inside a capture, and the capture ends cleanly.
  CudaGraph reads(kGpu);
  CHECK_THROWS_WITH_AS(reads.capture([&] { sum(x).item(); }), doctest::Contains("inside a CUDA graph capture"), Error);
  CudaGraph copies(kGpu);
  CHECK_THROWS_WITH_AS(copies.capture([&] { tensor({1.0}, {1}).to(kGpu); }),
                       doctest::Contains("inside a CUDA graph capture"), Error);
  CHECK(sum(x).item() == 6.0);  // the device works on after a failed capture
}

namespace {

// Five steps of two copies of a model on the same batches, one eager and one
// with use_cuda_graph (eager, capture + replay, then three replays; a model
// with two kinds of step, alternating, has a graph for each): the same
// logged values and, at the end, the same parameters and state.
template <typename Model>
void check_graphed_steps(const typename Model::Config& config, Device device) {
  Model eager(config, device), graphed(config, device);
  graphed.use_cuda_graph = true;
  Generator images(5);
  for (int step = 0; step < 5; ++step) {
    const Batch batch{rand({config.batch, 1, 28, 28}, DType::Float32, &images),
                      (rand({config.batch}, DType::Float32, &images) * 9.99).to(DType::Int64)};
    CAPTURE(step);
    const StepClock clock{0, step, 5};
    CHECK(eager.train_step(batch, clock).template to_vector<float>() ==
          graphed.train_step(batch, clock).template to_vector<float>());
  }
  const std::vector<NamedTensor> a = checkpoint_tensors(eager.checkpoint_parts()),
                                 b = checkpoint_tensors(graphed.checkpoint_parts());
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].name);
    if (device.is_cuda()) {
      check_close(a[i].tensor.to(Device::cpu()), b[i].tensor, a[i].name);
    } else {
      CHECK(a[i].tensor.to_vector<double>() == b[i].tensor.to_vector<double>());
    }
  }
}

InfoGanConfig small_infogan() {
  InfoGanConfig config = infogan_preset("lab");
  config.batch = 16;
  config.cont = 2;
  return config;
}

GanConfig small_gan(const std::string& variant) {
  GanConfig config = gan_defaults(variant);
  config.batch = 16;
  return config;
}

VaeConfig small_vae() {
  VaeConfig config;
  config.batch = 16;
  config.lr_decay = "none";  // a schedule runs eagerly
  return config;
}

}  // namespace

TEST_CASE("CUDA graph: every app's steps replayed from a graph give the numbers of eager steps" *
          doctest::skip(no_gpu())) {
  SUBCASE("infogan") { check_graphed_steps<InfoGan>(small_infogan(), kGpu); }
  SUBCASE("dcgan") { check_graphed_steps<GanModel>(small_gan("dcgan"), kGpu); }
  SUBCASE("cgan") { check_graphed_steps<GanModel>(small_gan("cgan"), kGpu); }
  SUBCASE("acgan") { check_graphed_steps<GanModel>(small_gan("acgan"), kGpu); }
  SUBCASE("vae") { check_graphed_steps<VaeModel>(small_vae(), kGpu); }
  // Two kinds of step each: critic steps with and without a G step, and
  // D steps with and without R1, every other iteration.
  SUBCASE("wgan") {
    GanConfig wgan = small_gan("wgan");
    wgan.critic_steps = 2;
    check_graphed_steps<GanModel>(wgan, kGpu);
  }
  SUBCASE("dcgan --r1 10 --r1-every 2") {
    GanConfig dcgan = small_gan("dcgan");
    dcgan.r1 = 10;
    dcgan.r1_every = 2;
    check_graphed_steps<GanModel>(dcgan, kGpu);
  }
  SUBCASE("infogan --r1 10 --r1-every 2 --ema 0.9") {
    InfoGanConfig infogan = small_infogan();
    infogan.r1 = 10;
    infogan.r1_every = 2;
    infogan.ema = 0.9;
    check_graphed_steps<InfoGan>(infogan, kGpu);
  }
}

TEST_CASE("CudaGraph: a one-line error for a device it cannot use") {
  CHECK_THROWS_WITH_AS(CudaGraph{Device::cpu()}, doctest::Contains("CudaGraph: "), Error);
  if (no_gpu()) CHECK_THROWS_WITH_AS(CudaGraph{kGpu}, doctest::Contains("cuda:0"), Error);
}

TEST_CASE("use_cuda_graph is ignored on the CPU: the same steps as without it") {
  InfoGanConfig infogan = small_infogan();
  infogan.batch = 4;
  check_graphed_steps<InfoGan>(infogan, Device::cpu());
  GanConfig acgan = small_gan("acgan");
  acgan.batch = 4;
  check_graphed_steps<GanModel>(acgan, Device::cpu());
}
