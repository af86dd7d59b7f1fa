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

// concat("add", ": shapes ", a) is the text of the parts, streamed one after another.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream text;
  (text << ... << parts);
  return text.str();
}

// fail("add", ": shapes ", a, " and ", b) throws Error("add: shapes ... and ...").
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(concat(parts...));
}

// check(cond, parts...) throws with the message when cond is false.
template <typename... Parts>
void check(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

}  // namespace dl
