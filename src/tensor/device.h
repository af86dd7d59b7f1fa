// device.h — where a tensor's memory lives. Every tensor carries a Device and
// every op dispatches on it (see backend.h): the CPU (tensor/cpu/) or a CUDA
// GPU (tensor/cuda/).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace dl {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& other) const { return type == other.type && index == other.index; }
  bool operator!=(const Device& other) const { return !(*this == other); }

  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline std::ostream& operator<<(std::ostream& os, const Device& device) { return os << device.str(); }

// A device from its name, as a --device flag gives it: "cpu", "cuda" (=
// "cuda:0"), "cuda:N", or "auto" (cuda:0 when a GPU is visible, else cpu).
// A CUDA device that is not visible is a one-line error (tensor/device.cpp).
Device parse_device(const std::string& name);

}  // namespace dl
