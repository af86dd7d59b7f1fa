// test_cuda.cpp — the CUDA dispatch point. The backend has no kernels yet
// (CUDA backend issue); what exists is the device field, device discovery
// and a clear refusal. GPU-only cases are skipped (and counted as skipped)
// where no GPU is visible.
#include "doctest/doctest.h"
#include "dl.h"

using namespace dl;

namespace {
const bool no_gpu = cuda_device_count() == 0;
}

TEST_CASE("devices print and compare") {
  CHECK(Device::cpu().str() == "cpu");
  CHECK(Device::cuda(1).str() == "cuda:1");
  CHECK(Device::cuda() != Device::cpu());
  CHECK(zeros({2}).device() == Device::cpu());
}

TEST_CASE("a CUDA tensor is refused with a one-line error naming the device") {
  // Without a GPU (or without CUDA in the build) the error says so; with one,
  // it says the kernels are not there yet. Either way: an Error, not a crash.
  CHECK_THROWS_WITH_AS(zeros({2, 3}, DType::Float32, Device::cuda()), doctest::Contains("cuda:0"), Error);
}

TEST_CASE("CUDA: a device index beyond the visible count is refused" * doctest::skip(no_gpu)) {
  const int count = cuda_device_count();
  const std::string expected = std::to_string(count) + " CUDA device(s)";
  CHECK_THROWS_WITH_AS(backend(Device::cuda(count)), doctest::Contains(expected.c_str()), Error);
}
