// test_cuda.cpp — devices, transfers, errors, random numbers, the caching
// allocator, modules and optimizers on CUDA. The op-by-op parity tests are
// in test_cuda_ops.cpp. GPU cases are skipped (and counted as skipped)
// where no GPU is visible; the rest runs everywhere.
#include "cuda_helpers.h"
#include "helpers.h"

using namespace dl;
using namespace cuda_test;

TEST_CASE("devices print and compare") {
  CHECK(Device::cpu().str() == "cpu");
  CHECK(Device::cuda(1).str() == "cuda:1");
  CHECK(Device::cuda() != Device::cpu());
  CHECK(zeros({2}).device() == Device::cpu());
}

TEST_CASE("parse_device: cpu, auto, cuda[:N], and one-line errors") {
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("auto") == (no_gpu() ? Device::cpu() : Device::cuda(0)));
  CHECK_THROWS_WITH_AS(parse_device("gpu"), "device 'gpu': expected cpu, cuda, cuda:N or auto", Error);
  CHECK_THROWS_WITH_AS(parse_device("cuda:x"), "device 'cuda:x': expected cpu, cuda, cuda:N or auto", Error);
  if (no_gpu()) {
    CHECK_THROWS_WITH_AS(parse_device("cuda"), doctest::Contains("no CUDA device is visible"), Error);
  } else {
    CHECK(parse_device("cuda") == Device::cuda(0));
    CHECK(parse_device("cuda:0") == Device::cuda(0));
    CHECK_THROWS_WITH_AS(parse_device("cuda:99"), doctest::Contains("CUDA device(s) are visible"), Error);
  }
}

TEST_CASE("float64 on CUDA is a one-line error at creation, GPU or not") {
  CHECK_THROWS_WITH_AS(zeros({2, 3}, DType::Float64, Device::cuda()),
                       "empty: float64 is not supported on cuda:0; convert with to(DType::Float32) first (shape [2, 3])",
                       Error);
  CHECK_THROWS_WITH_AS(tensor({1, 2}, {}, DType::Float64).to(Device::cuda()), doctest::Contains("float64"), Error);
}

TEST_CASE("without a GPU, a CUDA tensor is refused with a one-line error naming the device" * doctest::skip(!no_gpu())) {
  CHECK_THROWS_WITH_AS(zeros({2, 3}, DType::Float32, Device::cuda()), doctest::Contains("cuda:0"), Error);
  CHECK_THROWS_WITH_AS(cuda_memory_stats(), doctest::Contains("cuda:0"), Error);
}

TEST_CASE("CUDA: a device index beyond the visible count is refused" * doctest::skip(no_gpu())) {
  const int count = cuda_device_count();
  const std::string expected = std::to_string(count) + " CUDA device(s)";
  CHECK_THROWS_WITH_AS(backend(Device::cuda(count)), doctest::Contains(expected.c_str()), Error);
}

TEST_CASE("CUDA: creation on the device, host reads and printing" * doctest::skip(no_gpu())) {
  CHECK(zeros({2, 3}, DType::Float32, kGpu).to_vector<float>() == std::vector<float>(6, 0.0f));
  CHECK(ones({4}, DType::Int64, kGpu).to_vector<int64_t>() == std::vector<int64_t>(4, 1));
  CHECK(full({3}, 2.5, DType::Float32, kGpu).to_vector<double>() == std::vector<double>{2.5, 2.5, 2.5});
  CHECK(full({2}, 1.0, DType::Bool, kGpu).to_vector<bool>() == std::vector<bool>{true, true});
  CHECK(arange(5, DType::Int64, kGpu).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(0.0, 1.0, 0.25, DType::Float32, kGpu).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75});
  const std::vector<uint8_t> bytes = {1, 2, 255};
  CHECK(from_host(bytes.data(), {3}, DType::UInt8, kGpu).to_vector<uint8_t>() == bytes);
  CHECK(tensor({1, 2, 3, 4}, {2, 2}, DType::Float32, kGpu).t().to_vector<double>() == std::vector<double>{1, 3, 2, 4});
  // to_vector<double> of a float32 CUDA tensor converts on the host.
  CHECK(scalar_tensor(0.5, DType::Float32, kGpu).item() == 0.5);
  // Printing reads only the shown elements off the device; the text is the CPU's but for the device.
  const Tensor big = randn32({40, 1200}, 3);
  std::string expected = big.str();
  expected.replace(expected.find("device=cpu"), 10, "device=cuda:0");
  CHECK(big.to(kGpu).str() == expected);
  // Strided writes on the device.
  Tensor y = zeros({3, 4}, DType::Float32, kGpu);
  y.slice(1, 1, 4, 2).fill_(7.0);
  CHECK(y.to_vector<double>() == std::vector<double>{0, 7, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7});
  y.select(0, 2).copy_(arange(4, DType::Int64, kGpu));
  CHECK(y.select(0, 2).to_vector<double>() == std::vector<double>{0, 1, 2, 3});
}

TEST_CASE("CUDA: to(Device) round trips every dtype and layout, and is differentiable" * doctest::skip(no_gpu())) {
  for (DType dtype : {DType::Float32, DType::Int64, DType::UInt8, DType::Bool}) {
    const Tensor cpu = tensor({0, 1, 2, 3, 0, 5}, {2, 3}).to(dtype);
    const Tensor gpu = cpu.to(kGpu);
    CHECK(gpu.device() == kGpu);
    CHECK(gpu.dtype() == dtype);
    const Tensor back = gpu.to(Device::cpu());
    CHECK(back.device() == Device::cpu());
    CHECK(back.to_vector<double>() == cpu.to_vector<double>());
    // Non-contiguous sources in both directions.
    CHECK(cpu.t().to(kGpu).to_vector<double>() == cpu.t().to_vector<double>());
    CHECK(gpu.t().slice(0, 0, 3, 2).to(Device::cpu()).to_vector<double>() ==
          cpu.t().slice(0, 0, 3, 2).to_vector<double>());
  }
  const Tensor same = zeros({2}, DType::Float32, kGpu);
  CHECK(same.to(kGpu).same(same));  // already there: the tensor itself
  // The gradient flows back to the source device.
  const Tensor x = test::leaf(tensor({1, 2, 3}));
  const Tensor y = x.to(kGpu) * 2.0;
  CHECK(y.grad_fn()->name == "mul");
  sum(y).backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().device() == Device::cpu());
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 2, 2});
  const Tensor g = test::leaf(tensor({1, 2}, {}, DType::Float32, kGpu));
  sum(g.to(Device::cpu()) * g.to(Device::cpu())).backward();
  CHECK(g.grad().device() == kGpu);
  CHECK(g.grad().to_vector<double>() == std::vector<double>{2, 4});
}

TEST_CASE("CUDA: mixing devices in one op is a one-line error naming both" * doctest::skip(no_gpu())) {
  const Tensor c = ones({2, 2}), g = ones({2, 2}, DType::Float32, kGpu);
  const auto names_both = doctest::Contains("cpu");
  CHECK_THROWS_WITH_AS(c + g, names_both, Error);
  CHECK_THROWS_WITH_AS(g * c, doctest::Contains("cuda:0"), Error);
  CHECK_THROWS_WITH_AS(c + g, doctest::Contains("cuda:0"), Error);
  CHECK_THROWS_WITH_AS(matmul(c, g), doctest::Contains("cpu and cuda:0"), Error);
  CHECK_THROWS_WITH_AS(where(gt(c, 0.0), g, g), doctest::Contains("condition on cpu, values on cuda:0"), Error);
  CHECK_THROWS_WITH_AS(cat({c, g}), doctest::Contains("on cuda:0"), Error);
  CHECK_THROWS_WITH_AS(mse_loss(g, c), doctest::Contains("input on cuda:0 and target on cpu"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(g, zeros({2}, DType::Int64)), doctest::Contains("logits on cuda:0, target on cpu"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(ones({1, 1, 3, 3}), ones({1, 1, 2, 2}, DType::Float32, kGpu), Tensor()),
                       doctest::Contains("input on cpu, weight on cuda:0"), Error);
  Tensor target = zeros({2, 2});
  CHECK_THROWS_WITH_AS(target.copy_(g), doctest::Contains("cpu and cuda:0"), Error);
  CHECK_THROWS_WITH_AS(gaussian_nll(g, c, g), doctest::Contains("mean on cpu"), Error);
}

TEST_CASE("CUDA: Philox draws match the CPU (uniform bit for bit, normal within 1e-6)" * doctest::skip(no_gpu())) {
  for (uint64_t seed : {0ull, 42ull, 0x123456789abcdefull}) {
    Generator cpu_gen(seed), gpu_gen(seed);
    cpu_gen.offset = gpu_gen.offset = 7;
    const std::vector<float> u_cpu = rand({1000, 3}, DType::Float32, &cpu_gen).to_vector<float>();
    const std::vector<float> u_gpu = rand({1000, 3}, DType::Float32, &gpu_gen, kGpu).to_vector<float>();
    CHECK(u_cpu == u_gpu);
    const std::vector<float> n_cpu = randn({5001}, DType::Float32, &cpu_gen).to_vector<float>();
    const std::vector<float> n_gpu = randn({5001}, DType::Float32, &gpu_gen, kGpu).to_vector<float>();
    double worst = 0.0;
    for (size_t i = 0; i < n_cpu.size(); ++i) worst = std::max(worst, std::abs(double(n_cpu[i]) - n_gpu[i]));
    CHECK(worst <= 1e-6);
    CHECK(cpu_gen.offset == gpu_gen.offset);
    const std::vector<float> w_cpu = uniform({64}, -2.0, 3.0, DType::Float32, &cpu_gen).to_vector<float>();
    const std::vector<float> w_gpu = uniform({64}, -2.0, 3.0, DType::Float32, &gpu_gen, kGpu).to_vector<float>();
    CHECK(w_cpu == w_gpu);
  }
}

TEST_CASE("CUDA: the caching allocator reuses blocks after a warm-up" * doctest::skip(no_gpu())) {
  manual_seed(3);
  Linear layer(50, 20);
  layer.to(kGpu);
  Adam adam({{layer.named_parameters(), 1e-3}});
  const Tensor x = randn32({64, 50}, 1).to(kGpu);
  const auto step = [&] {
    adam.zero_grad();
    mse_loss(layer(x), zeros({64, 20}, DType::Float32, kGpu)).backward();
    adam.step();
  };
  step();
  step();
  const CudaMemoryStats warm = cuda_memory_stats();
  for (int i = 0; i < 5; ++i) step();
  const CudaMemoryStats after = cuda_memory_stats();
  CHECK(after.device_allocs == warm.device_allocs);
  CHECK(after.cache_hits > warm.cache_hits);
  CHECK(after.bytes_reserved == warm.bytes_reserved);
  CHECK(after.str().find("cudaMalloc") != std::string::npos);
  // Emptying the cache hands the free blocks back; later allocations refill it.
  cuda_empty_cache();
  const CudaMemoryStats emptied = cuda_memory_stats();
  CHECK(emptied.device_frees > after.device_frees);
  CHECK(emptied.bytes_reserved == emptied.bytes_in_use);
  step();
}

namespace {

// Builds the same module twice from the same seed: one stays on the CPU,
// one moves to the GPU.
template <typename M, typename... Args>
std::pair<std::shared_ptr<M>, std::shared_ptr<M>> twin(Args... args) {
  manual_seed(17);
  auto cpu = std::make_shared<M>(args...);
  manual_seed(17);
  auto gpu = std::make_shared<M>(args...);
  gpu->to(kGpu);
  return {cpu, gpu};
}

// Forward, backward of a seeded upstream gradient, and every parameter's
// gradient and every buffer compared.
void check_module(const std::string& what, Module& cpu, Module& gpu, const Tensor& x) {
  const Tensor y_cpu = cpu(x), y_gpu = gpu(x.to(kGpu));
  check_close(y_cpu, y_gpu, what + " output");
  const Tensor dy = randn32(y_cpu.shape(), 5);
  y_cpu.backward(dy);
  y_gpu.backward(dy.to(kGpu));
  const auto pc = cpu.named_parameters(), pg = gpu.named_parameters();
  REQUIRE(pc.size() == pg.size());
  for (size_t i = 0; i < pc.size(); ++i) check_close(pc[i].tensor.grad(), pg[i].tensor.grad(), what + " " + pc[i].name);
  const auto bc = cpu.named_buffers(), bg = gpu.named_buffers();
  for (size_t i = 0; i < bc.size(); ++i) check_close(bc[i].tensor, bg[i].tensor, what + " " + bc[i].name);
}

}  // namespace

TEST_CASE("CUDA: Module::to moves parameters and buffers in place" * doctest::skip(no_gpu())) {
  manual_seed(1);
  BatchNorm2d bn(3);
  const Tensor weight = bn.weight;  // a handle taken before the move
  const std::vector<float> before = weight.to_vector<float>();
  bn.to(kGpu);
  CHECK(weight.device() == kGpu);  // the same tensor, now on the GPU
  CHECK(weight.requires_grad());
  CHECK(weight.is_leaf());
  CHECK(weight.to_vector<float>() == before);
  for (const NamedTensor& t : bn.state_dict()) CHECK(t.tensor.device() == kGpu);
  bn(randn32({4, 3, 2, 2}, 1).to(kGpu));  // num_batches_tracked is counted on the GPU
  CHECK(bn.num_batches_tracked.item() == 1);
  bn.to(Device::cpu());
  CHECK(weight.device() == Device::cpu());
}

TEST_CASE("CUDA parity: Linear, Conv2d, ConvTranspose2d, BatchNorm modules" * doctest::skip(no_gpu())) {
  {
    auto [cpu, gpu] = twin<Linear>(33, 17);
    check_module("Linear", *cpu, *gpu, randn32({5, 33}, 1));
  }
  {
    auto [cpu, gpu] = twin<Conv2d>(1, 8, 4, 2, 1);
    check_module("Conv2d", *cpu, *gpu, randn32({3, 1, 28, 28}, 2));
  }
  {
    auto [cpu, gpu] = twin<ConvTranspose2d>(8, 4, 4, 2, 1);
    check_module("ConvTranspose2d", *cpu, *gpu, randn32({3, 8, 7, 7}, 3));
  }
  for (bool training : {true, false}) {
    auto [cpu, gpu] = twin<BatchNorm2d>(6);
    cpu->train(training);
    gpu->train(training);
    check_module(std::string("BatchNorm2d ") + (training ? "train" : "eval"), *cpu, *gpu, randn32({4, 6, 5, 5}, 4));
    auto [cpu1, gpu1] = twin<BatchNorm1d>(7);
    cpu1->train(training);
    gpu1->train(training);
    check_module(std::string("BatchNorm1d ") + (training ? "train" : "eval"), *cpu1, *gpu1, randn32({9, 7}, 5));
  }
}

TEST_CASE("CUDA parity: SGD and Adam steps" * doctest::skip(no_gpu())) {
  for (int kind = 0; kind < 3; ++kind) {
    auto [cpu, gpu] = twin<Linear>(12, 5);
    const auto make = [kind](Module& m) -> std::unique_ptr<Optimizer> {
      if (kind == 0) return std::make_unique<SGD>(std::vector<ParamGroup>{{m.named_parameters(), 0.1}});
      if (kind == 1) return std::make_unique<SGD>(std::vector<ParamGroup>{{m.named_parameters(), 0.1}}, 0.9, 1e-2, true);
      return std::make_unique<Adam>(std::vector<ParamGroup>{{m.named_parameters(), 1e-2}}, 0.5, 0.999, 1e-8, 1e-2);
    };
    auto opt_cpu = make(*cpu), opt_gpu = make(*gpu);
    for (int step = 0; step < 4; ++step) {
      const Tensor x = randn32({8, 12}, 10 + step), target = randn32({8, 5}, 20 + step);
      opt_cpu->zero_grad();
      opt_gpu->zero_grad();
      mse_loss((*cpu)(x), target).backward();
      mse_loss((*gpu)(x.to(kGpu)), target.to(kGpu)).backward();
      opt_cpu->step();
      opt_gpu->step();
    }
    const std::string name = kind == 2 ? "Adam" : (kind == 1 ? "SGD nesterov" : "SGD");
    const auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
    for (size_t i = 0; i < pc.size(); ++i) check_close(pc[i].tensor, pg[i].tensor, name + " " + pc[i].name);
    const auto sc = opt_cpu->state_dict(), sg = opt_gpu->state_dict();
    REQUIRE(sc.size() == sg.size());
    for (size_t i = 0; i < sc.size(); ++i) {
      const std::string what = name + " state " + sc[i].name;
      // Step counters live on the parameter's device (Optimizer::step_counter).
      if (sc[i].name.size() > 5 && sc[i].name.substr(sc[i].name.size() - 5) == ".step") {
        CHECK_MESSAGE(sg[i].tensor.device() == kGpu, what);
        CHECK_MESSAGE(sg[i].tensor.item() == sc[i].tensor.item(), what);
      } else {
        check_close(sc[i].tensor, sg[i].tensor, what);
      }
    }
  }
}

TEST_CASE("CUDA: checkpoints of CUDA tensors save and load" * doctest::skip(no_gpu())) {
  manual_seed(9);
  Linear layer(4, 3);
  const std::vector<uint8_t> on_cpu = serialize_safetensors(layer.state_dict());
  layer.to(kGpu);
  CHECK(serialize_safetensors(layer.state_dict()) == on_cpu);
  // Loading a (CPU) checkpoint into a GPU model, and optimizer state too.
  manual_seed(10);
  Linear other(4, 3);
  other.to(kGpu);
  load_into(parse_safetensors(on_cpu, "ckpt"), "ckpt", "", other.state_dict());
  CHECK(other.weight.device() == kGpu);
  CHECK(other.weight.to_vector<float>() == layer.weight.to_vector<float>());
  Adam adam({{other.named_parameters(), 1e-3}});
  adam.load_state_dict({{"weight.exp_avg", ones({3, 4})},
                        {"weight.exp_avg_sq", ones({3, 4})},
                        {"weight.step", scalar_tensor(2, DType::Int64)},
                        {"bias.exp_avg", ones({3})},
                        {"bias.exp_avg_sq", ones({3})},
                        {"bias.step", scalar_tensor(2, DType::Int64)}});
  // The moments and the step counter go to the parameter's device, where
  // the update reads them without waiting for the host.
  for (const NamedTensor& s : adam.state_dict()) CHECK(s.tensor.device() == kGpu);
}

TEST_CASE("CUDA parity: the fused Adam kernel" * doctest::skip(no_gpu())) {
  // One launch for parameters of odd sizes (not multiples of a block), an
  // empty one among them, with and without weight decay, with a constant and
  // a cosine-annealed rate (read from the counters on the device); counters
  // advance.
  const std::vector<int64_t> sizes = {1, 257, 0, 100003};
  for (const auto& [decay, cosine_steps] : {std::pair<double, int64_t>{0.0, 0}, {1e-2, 0}, {1e-2, 2}}) {
    std::vector<Backend::AdamParam> cpu, gpu;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const int64_t n = sizes[i];
      const Tensor p = randn32({n}, 1 + i), m = zeros({n}), v = zeros({n}), step = scalar_tensor(0, DType::Int64);
      cpu.push_back({p, Tensor(), m, v, step});
      gpu.push_back({p.to(kGpu), Tensor(), m.to(kGpu), v.to(kGpu), step.to(kGpu)});
    }
    const Backend::AdamOptions options = {1e-2, 0.5, 0.999, 1e-8, decay, cosine_steps};
    for (int64_t t = 1; t <= 3; ++t) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        cpu[i].grad = randn32({sizes[i]}, 10 + t + 7 * i);
        gpu[i].grad = cpu[i].grad.to(kGpu);
      }
      backend(Device::cpu()).adam_step(cpu, options);
      backend(kGpu).adam_step(gpu, options);
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      const std::string what = "adam_step n=" + std::to_string(sizes[i]) + " wd=" + std::to_string(decay) +
                               " cosine_steps=" + std::to_string(cosine_steps);
      check_close(cpu[i].param, gpu[i].param, what + " param");
      check_close(cpu[i].exp_avg, gpu[i].exp_avg, what + " exp_avg");
      check_close(cpu[i].exp_avg_sq, gpu[i].exp_avg_sq, what + " exp_avg_sq");
      CHECK_MESSAGE(gpu[i].step.item() == 3.0, what);
    }
  }
}
