// idx.h — the IDX format that MNIST ships in (LeCun's "THE IDX FILE FORMAT"):
//
//   bytes 0-1  zero
//   byte  2    element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3    number of dims D
//   then D big-endian u32 sizes, then the elements, big-endian, row-major.
//
// Readers take untrusted bytes: every size is checked against the bytes
// actually present before anything is allocated or read, so a hostile header
// gets a one-line Error naming the file instead of a huge allocation or an
// out-of-bounds read (tests/fuzz/fuzz_idx.cpp hammers this).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

enum class IdxType : uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E,
};

// "u8 (0x08)" etc., for messages.
const char* idx_type_name(IdxType type);

// The header of an IDX file, validated against the file's size: data_offset
// + data_bytes == bytes.size() on success.
struct IdxHeader {
  IdxType type = IdxType::UInt8;
  Shape dims;
  size_t data_offset = 0;  // 4 + 4 * dims.size()
  size_t data_bytes = 0;   // numel * element size
};

// Throws Error("<name>: ...") for: fewer than 4 bytes, a bad magic (first two
// bytes not zero), an unknown element type, a truncated dims list, dims whose
// product overflows, data shorter than the header says ("truncated") or
// longer ("trailing bytes").
IdxHeader parse_idx_header(const std::vector<uint8_t>& bytes, const std::string& name);

// The tensor an IDX file holds, shape = its dims. Element types map to the
// smallest dtype that holds them exactly: u8 -> UInt8; i8, i16, i32 -> Int64;
// f32 -> Float32; f64 -> Float64. `name` (usually the path) starts every error.
Tensor parse_idx(const std::vector<uint8_t>& bytes, const std::string& name);

// Reads `path` and parses it, gunzipping first when the bytes are gzip
// (so "x-idx3-ubyte.gz" and its unpacked form read the same).
Tensor read_idx(const std::string& path);

// The IDX encoding of `t` as `type`. Integer types need an integer (or bool)
// tensor whose values fit the type; float types take any dtype (converted).
// Each dim must fit a u32 and there can be at most 255 dims.
std::vector<uint8_t> encode_idx(const Tensor& t, IdxType type);

// encode_idx, gzipped when `path` ends in ".gz", written atomically
// (write_file_atomic): a reader never sees a half-written file.
void write_idx(const std::string& path, const Tensor& t, IdxType type);

}  // namespace dl
