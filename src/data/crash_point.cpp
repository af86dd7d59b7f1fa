// crash_point.cpp — see crash_point.h.
#include "data/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>

namespace dl {

namespace {

struct CrashRequest {
  std::string name;   // "" when DL_CRASH_POINT is not set
  int64_t when = 1;   // die the when-th time the point is reached
};

CrashRequest read_request() {
  CrashRequest request;
  const char* text = std::getenv("DL_CRASH_POINT");
  if (text == nullptr) return request;
  request.name = text;
  const size_t colon = request.name.rfind(':');
  // "write:losses.csv" names a file, not a count: only digits after the
  // last colon are one.
  if (colon != std::string::npos && colon + 1 < request.name.size() &&
      request.name.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    request.when = std::atoll(request.name.c_str() + colon + 1);
    request.name.resize(colon);
  }
  return request;
}

}  // namespace

void crash_point(const std::string& name) {
  static const CrashRequest request = read_request();
  static std::atomic<int64_t> reached{0};  // a write may come from any thread
  if (request.name.empty() || name != request.name) return;
  if (++reached == request.when) ::kill(::getpid(), SIGKILL);
}

}  // namespace dl
