// cuda_backend.h — entry point of the CUDA backend (compiled only when nvcc
// is found; see the Makefile). The kernels arrive with the CUDA backend issue;
// until then the backend reports devices and refuses work with a clear error.
#pragma once

#include "tensor/backend.h"

namespace dl {

Backend& cuda_backend(Device device);

}  // namespace dl
