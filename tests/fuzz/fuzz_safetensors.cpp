// fuzz_safetensors.cpp — libFuzzer target for data/json.h and
// data/safetensors.h. Each input is read both as JSON text and as a
// safetensors file. Refusing an input is fine (dl::Error); anything else —
// a crash, a sanitizer report, another exception — is a finding. Inputs that
// parse are written back and re-read, and must come back the same
// (abort() otherwise), so the fuzzer also checks reader/writer agreement.
//
// Build and run by hand (CUDA off, sources compiled in):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       tests/fuzz/fuzz_safetensors.cpp $(find src -name '*.cpp') -o /tmp/fuzz_st
//   cp -r tests/fuzz/corpus/safetensors /tmp/corpus_st   # the fuzzer adds files to it
//   /tmp/fuzz_st -max_total_time=120 /tmp/corpus_st
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "data/json.h"
#include "data/safetensors.h"
#include "tensor/error.h"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_safetensors: %s\n", what);
  std::abort();
}

void check_json(const std::string& text) {
  dl::JsonValue value;
  try {
    value = dl::parse_json(text, "fuzz");
  } catch (const dl::Error&) {
    return;
  }
  // Outside the try: what parsed must be writable and read back equal.
  const std::string written = dl::to_json(value);
  if (dl::parse_json(written, "rewritten") != value) finding("JSON changed through to_json and back");
  if (dl::to_json(dl::parse_json(written, "rewritten")) != written) finding("to_json is not stable");
}

bool same_bytes(const dl::Tensor& a, const dl::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * dl::dtype_size(a.dtype());
  return n == 0 || std::memcmp(a.raw_data(), b.raw_data(), n) == 0;  // bitwise: NaN payloads too
}

void check_safetensors(const std::vector<uint8_t>& bytes) {
  dl::SafetensorsFile file;
  try {
    file = dl::parse_safetensors(bytes, "fuzz");
  } catch (const dl::Error&) {
    return;
  }
  // A file we accepted must be writable, and re-read to the same tensors.
  const std::vector<uint8_t> written = dl::serialize_safetensors(file.tensors, file.metadata);
  const dl::SafetensorsFile again = dl::parse_safetensors(written, "rewritten");
  if (again.metadata != file.metadata) finding("safetensors metadata changed through a rewrite");
  // Our writer lays data out in the order given, which is the file order.
  if (again.tensors.size() != file.tensors.size()) finding("safetensors tensor count changed through a rewrite");
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    if (again.tensors[i].name != file.tensors[i].name) finding("safetensors tensor name/order changed");
    if (!same_bytes(again.tensors[i].tensor, file.tensors[i].tensor)) finding("safetensors tensor changed");
  }
  if (dl::serialize_safetensors(again.tensors, again.metadata) != written) finding("safetensors writer is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_json(std::string(reinterpret_cast<const char*>(data), size));
  check_safetensors(std::vector<uint8_t>(data, data + size));
  return 0;
}
