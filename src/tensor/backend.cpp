// backend.cpp — picks the backend for a device (see backend.h).
#include "tensor/backend.h"

#include "tensor/cpu/cpu_backend.h"
#if DL_CUDA
#include "tensor/cuda/cuda_backend.h"
#endif

namespace dl {

Backend& backend(Device device) {
  if (device.is_cpu()) {
    static CpuBackend cpu;
    return cpu;
  }
#if DL_CUDA
  return cuda_backend(device);
#else
  fail("backend: ", device, " requested, but this build has no CUDA support (rebuild with nvcc and CUDA=1)");
#endif
}

#if !DL_CUDA
int cuda_device_count() { return 0; }
#endif

}  // namespace dl
