// philox.h — the Philox-4x32-10 counter-based random number generator
// (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
// and how the library turns its output into uniform and normal numbers.
//
// Philox is a keyed bijection: 128-bit counter + 64-bit key -> 128 random
// bits, with no state carried from one call to the next. That is what lets a
// GPU thread compute element i of a draw on its own and still match the CPU.
//
// The library's convention, shared by every backend: element i of a draw
// with generator (seed, offset) uses one Philox block with
//     counter = {lo32(i), hi32(i), lo32(offset), hi32(offset)}, key = {lo32(seed), hi32(seed)}
// and takes from its four 32-bit outputs r0..r3:
//     uniform float32: r0 -> [0, 1) with 24 bits,  float64: r0, r1 -> 53 bits;
//     normal: Box-Muller on two uniforms (float32: r0, r1; float64: r0..r3).
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/host_device.h"

namespace dl {

struct Philox4x32 {
  uint32_t v[4];
};

DL_HOST_DEVICE inline Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t key0, uint32_t key1) {
  // Multipliers and Weyl key increments from the paper.
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t product0 = static_cast<uint64_t>(kMul0) * counter.v[0];
    const uint64_t product1 = static_cast<uint64_t>(kMul1) * counter.v[2];
    const uint32_t hi0 = static_cast<uint32_t>(product0 >> 32), lo0 = static_cast<uint32_t>(product0);
    const uint32_t hi1 = static_cast<uint32_t>(product1 >> 32), lo1 = static_cast<uint32_t>(product1);
    counter = {{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

// The four outputs for element `index` of draw (seed, offset).
DL_HOST_DEVICE inline Philox4x32 philox_block(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 counter = {{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                               static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32)}};
  return philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in [0, 1): the top 24 (float) or 53 (double) bits scaled down.
DL_HOST_DEVICE inline float uniform_float(uint32_t r) { return static_cast<float>(r >> 8) * 0x1p-24f; }
DL_HOST_DEVICE inline double uniform_double(uint32_t r0, uint32_t r1) {
  const uint64_t bits = (static_cast<uint64_t>(r0) << 21) ^ (r1 >> 11);  // 53 bits
  return static_cast<double>(bits) * 0x1p-53;
}

// Element `index` of a draw, as T (float or double).
template <typename T>
DL_HOST_DEVICE inline T philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 r = philox_block(seed, offset, index);
  if constexpr (sizeof(T) == 4) return uniform_float(r.v[0]);
  else return uniform_double(r.v[0], r.v[1]);
}

// Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2) with u1 in (0, 1] so the log is finite.
template <typename T>
DL_HOST_DEVICE inline T philox_normal(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 r = philox_block(seed, offset, index);
  double u1, u2;
  if constexpr (sizeof(T) == 4) {
    u1 = 1.0 - static_cast<double>(uniform_float(r.v[0]));
    u2 = static_cast<double>(uniform_float(r.v[1]));
  } else {
    u1 = 1.0 - uniform_double(r.v[0], r.v[1]);
    u2 = uniform_double(r.v[2], r.v[3]);
  }
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2));
}

}  // namespace dl
