// error.h — the one exception type the library throws, and a helper to build
// its message. Messages name the op and the offending shapes/dtypes so that a
// user can fix the call without a debugger: "add: shapes [2, 3] and [4] ...".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dl {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// fail("add", ": shapes ", a, " and ", b) throws Error("add: shapes ... and ...").
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}

// check(cond, parts...) throws with the message when cond is false.
template <typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace dl
