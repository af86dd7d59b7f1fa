// host_device.h — DL_HOST_DEVICE marks the small functions that both the CPU
// kernels and the CUDA kernels call (Philox, dtype conversions): compiled by
// nvcc they become __host__ __device__, by the host compiler plain inline
// functions. Sharing them is what makes the two backends agree bit for bit.
#pragma once

#if defined(__CUDACC__)
#define DL_HOST_DEVICE __host__ __device__
#else
#define DL_HOST_DEVICE
#endif
