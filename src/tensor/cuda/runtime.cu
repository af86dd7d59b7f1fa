// runtime.cu — CUDA device discovery and the CUDA backend's entry point.
//
// This translation unit proves the CUDA build path (nvcc, -gencode for
// sm_80..sm_90, linking cudart) from day one. It has no kernels yet: asking
// for a CUDA tensor is a one-line error saying so.
#include <cuda_runtime.h>

#include "tensor/cuda/cuda_backend.h"

namespace dl {

int cuda_device_count() {
  int count = 0;
  // No driver or no GPU is not an error here: it means zero devices.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state
    return 0;
  }
  return count;
}

Backend& cuda_backend(Device device) {
  const int count = cuda_device_count();
  check(device.index >= 0 && device.index < count, "backend: ", device, " requested, but ", count,
        " CUDA device(s) are visible");
  fail("backend: ", device, " is visible, but the CUDA kernels are not written yet (CUDA backend issue)");
}

}  // namespace dl
