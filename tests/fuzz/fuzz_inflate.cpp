// fuzz_inflate.cpp — libFuzzer target for data/compress.h. Each input is
// decoded three ways: as a raw DEFLATE stream, as a gzip file and as a zlib
// stream, each with a 1 MiB output limit. Refusing an input is fine
// (dl::Error); anything else — a crash, a sanitizer report, a hang, another
// exception — is a finding. Whatever does decode must survive our encoder:
// decoding deflate(x), gzip(x) and zlib_compress(x) must give x back
// (abort() otherwise), and inflate must not claim more input than it was given.
//
// Build and run by hand (the decoder needs only two sources):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       tests/fuzz/fuzz_inflate.cpp src/data/compress.cpp src/data/checksum.cpp -o /tmp/fuzz_inflate
//   cp -r tests/fuzz/corpus/inflate /tmp/corpus_inflate   # the fuzzer adds files to it
//   /tmp/fuzz_inflate -max_total_time=120 /tmp/corpus_inflate
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "data/compress.h"
#include "tensor/error.h"

namespace {

constexpr size_t kMaxOutput = size_t(1) << 20;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_inflate: %s\n", what);
  std::abort();
}

// x must come back from each of our encoders through the matching decoder.
void check_round_trips(const std::vector<uint8_t>& x) {
  const std::vector<uint8_t> raw = dl::deflate(x.data(), x.size());
  size_t consumed = 0;
  if (dl::inflate(raw.data(), raw.size(), "round-trip", kMaxOutput, &consumed) != x) finding("inflate(deflate(x)) != x");
  if (consumed != raw.size()) finding("inflate(deflate(x)) did not use exactly the whole stream");
  if (dl::gunzip(dl::gzip(x.data(), x.size()), "round-trip.gz", kMaxOutput) != x) finding("gunzip(gzip(x)) != x");
  const std::vector<uint8_t> z = dl::zlib_compress(x.data(), x.size());
  if (dl::zlib_decompress(z.data(), z.size(), "round-trip.z", kMaxOutput) != x) finding("zlib round-trip != x");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> out;
  bool decoded = false;
  size_t consumed = 0;
  try {
    out = dl::inflate(data, size, "fuzz", kMaxOutput, &consumed);
    decoded = true;
  } catch (const dl::Error&) {
  }
  if (decoded) {
    if (consumed > size || (consumed == 0 && size > 0)) finding("inflate reports an impossible number of bytes used");
    check_round_trips(out);
  }

  const std::vector<uint8_t> bytes(data, data + size);
  decoded = false;
  try {
    out = dl::gunzip(bytes, "fuzz.gz", kMaxOutput);
    decoded = true;
  } catch (const dl::Error&) {
  }
  if (decoded) {
    if (!dl::is_gzip(bytes)) finding("gunzip accepted an input without the gzip magic");
    check_round_trips(out);
  }

  decoded = false;
  try {
    out = dl::zlib_decompress(data, size, "fuzz.z", kMaxOutput);
    decoded = true;
  } catch (const dl::Error&) {
  }
  if (decoded) check_round_trips(out);
  return 0;
}
