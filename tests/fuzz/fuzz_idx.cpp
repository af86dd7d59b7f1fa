// fuzz_idx.cpp — libFuzzer target for data/idx.h. Each input is parsed as
// an IDX file. Refusing an input is fine (dl::Error); anything else — a
// crash, a sanitizer report, another exception — is a finding. An input that
// parses must agree with its own header (shape = dims, numel = their product,
// the dtype its type maps to, data size = what is left after the header) and
// must encode back to exactly the same bytes (abort() otherwise): every IDX
// value is representable in the dtype it is read into, so nothing may change.
//
// Build and run by hand (CUDA off, sources compiled in):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       tests/fuzz/fuzz_idx.cpp $(find src -name '*.cpp') -o /tmp/fuzz_idx
//   cp -r tests/fuzz/corpus/idx /tmp/corpus_idx   # the fuzzer adds files to it
//   /tmp/fuzz_idx -max_total_time=120 /tmp/corpus_idx
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "data/idx.h"
#include "tensor/error.h"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_idx: %s\n", what);
  std::abort();
}

dl::DType dtype_for(uint8_t type) {
  switch (type) {
    case 0x08: return dl::DType::UInt8;
    case 0x0D: return dl::DType::Float32;
    case 0x0E: return dl::DType::Float64;
    default: return dl::DType::Int64;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  dl::Tensor t;
  try {
    t = dl::parse_idx(bytes, "fuzz");
  } catch (const dl::Error&) {
    return 0;
  }
  // Outside the try: an input that parsed must be consistent and re-encode.
  if (size < 4) finding("parsed fewer than 4 bytes");
  const size_t ndims = bytes[3];
  if (t.dim() != static_cast<int64_t>(ndims)) finding("rank differs from the header's dim count");
  std::vector<int64_t> dims;
  bool empty = false;
  for (size_t d = 0; d < ndims; ++d) {
    const uint8_t* p = bytes.data() + 4 + 4 * d;
    dims.push_back((int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) | (int64_t{p[2]} << 8) | p[3]);
    if (t.shape()[d] != dims.back()) finding("shape differs from the header's dims");
    empty = empty || dims.back() == 0;
  }
  // With no zero dim the product is bounded by the input's size, so it
  // cannot overflow; with one, the others may be anything.
  int64_t numel = empty ? 0 : 1;
  if (!empty)
    for (int64_t dim : dims) numel *= dim;
  if (t.numel() != numel) finding("numel differs from the product of the dims");
  if (t.dtype() != dtype_for(bytes[2])) finding("dtype does not match the element type");
  const size_t elem = bytes[2] == 0x08 || bytes[2] == 0x09 ? 1 : bytes[2] == 0x0B ? 2 : bytes[2] == 0x0E ? 8 : 4;
  if (4 + 4 * ndims + static_cast<size_t>(numel) * elem != size) finding("data size differs from the input's");
  if (dl::encode_idx(t, static_cast<dl::IdxType>(bytes[2])) != bytes)
    finding("encode_idx does not give the input back");
  return 0;
}
