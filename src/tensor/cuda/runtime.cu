// runtime.cu — CUDA device discovery and the backends of the visible GPUs.
#include <vector>

#include "tensor/cuda/common.cuh"

namespace dl {

int cuda_device_count() {
  // Asked once: the answer does not change while the process runs, and
  // cudaGetDeviceCount initialises the runtime, which is slow the first time.
  static const int count = [] {
    int n = 0;
    // No driver or no GPU is not an error here: it means zero devices.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error state
      return 0;
    }
    return n;
  }();
  return count;
}

CudaBackend& cuda_backend(Device device) {
  const int count = cuda_device_count();
  check(device.index >= 0 && device.index < count, "backend: ", device, " requested, but ", count,
        " CUDA device(s) are visible");
  // Created once for all devices and never destroyed: tensors with static
  // storage duration may free their memory after main() returns, and must
  // still find their backend (and its allocator) then.
  static std::vector<CudaBackend*>* backends = [count] {
    auto* all = new std::vector<CudaBackend*>();
    for (int i = 0; i < count; ++i) all->push_back(new CudaBackend(i));
    return all;
  }();
  return *(*backends)[device.index];
}

namespace {
// The stream of the backend that the calling thread activated last.
thread_local cudaStream_t current_stream = nullptr;
}  // namespace

cudaStream_t cuda_stream() { return current_stream; }

void CudaBackend::activate() const {
  DL_CUDA_CHECK(cudaSetDevice(index_));
  current_stream = stream_;
}

CudaMemoryStats cuda_memory_stats(int device) { return cuda_backend(Device::cuda(device)).memory_stats(); }

void cuda_empty_cache(int device) { cuda_backend(Device::cuda(device)).empty_cache(); }

}  // namespace dl
