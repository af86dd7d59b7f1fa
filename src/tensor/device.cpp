// device.cpp — parse_device (see device.h).
#include "tensor/device.h"

#include <algorithm>
#include <cctype>

#include "tensor/backend.h"

namespace dl {

Device parse_device(const std::string& name) {
  const int count = cuda_device_count();
  if (name == "cpu") return Device::cpu();
  if (name == "auto") return count > 0 ? Device::cuda(0) : Device::cpu();
  int index = 0;
  if (name.rfind("cuda:", 0) == 0) {
    const std::string digits = name.substr(5);
    // At most 4 digits, so that stoi cannot overflow.
    const bool numeric = !digits.empty() && digits.size() <= 4 &&
                         std::all_of(digits.begin(), digits.end(),
                                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
    check(numeric, "device '", name, "': expected cpu, cuda, cuda:N or auto");
    index = std::stoi(digits);
  } else {
    check(name == "cuda", "device '", name, "': expected cpu, cuda, cuda:N or auto");
  }
  check(count > 0, "device '", name, "': no CUDA device is visible (or this build has no CUDA); use cpu or auto");
  check(index < count, "device '", name, "': only ", count, " CUDA device(s) are visible");
  return Device::cuda(index);
}

}  // namespace dl
