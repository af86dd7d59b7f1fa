// idx.cpp — see idx.h.
#include "data/idx.h"

#include <cstdio>
#include <cstring>
#include <limits>

#include "data/compress.h"
#include "data/file.h"
#include "tensor/error.h"

namespace dl {
namespace {

bool known_type(uint8_t byte) {
  switch (byte) {
    case 0x08: case 0x09: case 0x0B: case 0x0C: case 0x0D: case 0x0E: return true;
    default: return false;
  }
}

size_t element_size(IdxType type) {
  switch (type) {
    case IdxType::UInt8: case IdxType::Int8: return 1;
    case IdxType::Int16: return 2;
    case IdxType::Int32: case IdxType::Float32: return 4;
    case IdxType::Float64: return 8;
  }
  fail("idx: invalid element type tag ", static_cast<int>(type));
}

std::string hex(uint64_t value, int digits) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%0*llX", digits, static_cast<unsigned long long>(value));
  return text;
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t load_be64(const uint8_t* p) { return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4); }

void store_be(uint8_t* p, uint64_t value, size_t size) {
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(value >> (8 * (size - 1 - i)));
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const char* idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::UInt8: return "u8 (0x08)";
    case IdxType::Int8: return "i8 (0x09)";
    case IdxType::Int16: return "i16 (0x0B)";
    case IdxType::Int32: return "i32 (0x0C)";
    case IdxType::Float32: return "f32 (0x0D)";
    case IdxType::Float64: return "f64 (0x0E)";
  }
  return "invalid";
}

IdxHeader parse_idx_header(const std::vector<uint8_t>& bytes, const std::string& name) {
  const size_t size = bytes.size();
  if (size < 4) fail(name, ": not an IDX file (", size, " bytes; the magic number alone is 4)");
  const uint32_t magic = load_be32(bytes.data());
  if (bytes[0] != 0 || bytes[1] != 0) {
    // A gzip file reaching the raw parser is the likely mistake; say so.
    const bool gz = bytes[0] == 0x1F && bytes[1] == 0x8B;
    fail(name, ": not an IDX file (bad magic ", hex(magic, 8), "; IDX starts with two zero bytes",
         gz ? "; this looks gzip-compressed: gunzip it or use read_idx" : "", ")");
  }
  if (!known_type(bytes[2]))
    fail(name, ": unknown element type ", hex(bytes[2], 2), " (magic ", hex(magic, 8),
         "; IDX types are 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)");
  IdxHeader header;
  header.type = static_cast<IdxType>(bytes[2]);
  const size_t ndims = bytes[3];
  header.data_offset = 4 + 4 * ndims;
  if (size < header.data_offset)
    fail(name, ": truncated header: ", ndims, " dims need ", header.data_offset, " header bytes, file has ", size);

  // numel * element size must fit both size_t (to index the bytes) and int64
  // (Shape); 255 dims of up to 2^32 - 1 each easily overflow, so check each
  // step against the limit before multiplying. Zero dims are skipped in the
  // check but not waved through: a tensor of shape [0, 2^32-1, 2^32-1, ...]
  // is empty, yet shape_numel's running product would overflow on it.
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const uint64_t elem = element_size(header.type);
  header.dims.resize(ndims);
  for (size_t d = 0; d < ndims; ++d) header.dims[d] = load_be32(bytes.data() + 4 + 4 * d);
  uint64_t nonzero_product = 1;
  bool empty = false;
  for (const int64_t dim : header.dims) {
    if (dim == 0) {
      empty = true;
      continue;
    }
    if (nonzero_product > limit / elem / static_cast<uint64_t>(dim))
      fail(name, ": dims ", shape_str(header.dims), " overflow (their product, in bytes of ",
           idx_type_name(header.type), " data, exceeds 2^63 - 1)");
    nonzero_product *= static_cast<uint64_t>(dim);
  }
  const uint64_t numel = empty ? 0 : nonzero_product;
  const uint64_t data_bytes = numel * elem;
  const uint64_t have = size - header.data_offset;
  if (have < data_bytes)
    fail(name, ": truncated: header says ", data_bytes, " bytes of data (", shape_str(header.dims), " ",
         idx_type_name(header.type), "), file has ", have);
  if (have > data_bytes)
    fail(name, ": trailing bytes: header says ", data_bytes, " bytes of data (", shape_str(header.dims), " ",
         idx_type_name(header.type), "), file has ", have);
  header.data_bytes = static_cast<size_t>(data_bytes);
  return header;
}

Tensor parse_idx(const std::vector<uint8_t>& bytes, const std::string& name) {
  const IdxHeader header = parse_idx_header(bytes, name);
  const uint8_t* src = bytes.data() + header.data_offset;
  const int64_t n = shape_numel(header.dims);
  switch (header.type) {
    case IdxType::UInt8: return from_host(src, header.dims, DType::UInt8);
    case IdxType::Float32: {
      Tensor out = Tensor::empty(header.dims, DType::Float32);
      float* dst = out.data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const uint32_t bits = load_be32(src + 4 * i);
        std::memcpy(&dst[i], &bits, 4);
      }
      return out;
    }
    case IdxType::Float64: {
      Tensor out = Tensor::empty(header.dims, DType::Float64);
      double* dst = out.data<double>();
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t bits = load_be64(src + 8 * i);
        std::memcpy(&dst[i], &bits, 8);
      }
      return out;
    }
    default: break;
  }
  // The signed integer types widen to int64 (the library's integer dtype).
  Tensor out = Tensor::empty(header.dims, DType::Int64);
  int64_t* dst = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    switch (header.type) {
      case IdxType::Int8: dst[i] = static_cast<int8_t>(src[i]); break;
      case IdxType::Int16: dst[i] = static_cast<int16_t>((uint16_t{src[2 * i]} << 8) | src[2 * i + 1]); break;
      default: dst[i] = static_cast<int32_t>(load_be32(src + 4 * i)); break;
    }
  }
  return out;
}

Tensor read_idx(const std::string& path) {
  return naming_out_of_memory(path, "reading", [&] {
    std::vector<uint8_t> bytes = read_file(path);
    if (is_gzip(bytes)) bytes = gunzip(bytes, path);
    return parse_idx(bytes, path);
  });
}

std::vector<uint8_t> encode_idx(const Tensor& t, IdxType type) {
  check(t.defined(), "encode_idx: undefined tensor");
  check(t.dim() <= 255, "encode_idx: IDX holds at most 255 dims, tensor has ", t.dim());
  for (int64_t size : t.shape())
    check(size <= static_cast<int64_t>(std::numeric_limits<uint32_t>::max()), "encode_idx: dim ", size, " of shape ",
          t.shape(), " does not fit IDX's u32 sizes");
  const size_t elem = element_size(type);
  const size_t n = static_cast<size_t>(t.numel());
  const size_t offset = 4 + 4 * static_cast<size_t>(t.dim());
  std::vector<uint8_t> out(offset + n * elem, 0);
  out[2] = static_cast<uint8_t>(type);
  out[3] = static_cast<uint8_t>(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) store_be(out.data() + 4 + 4 * d, static_cast<uint64_t>(t.shape()[d]), 4);
  uint8_t* dst = out.data() + offset;

  if (type == IdxType::Float32) {
    const std::vector<float> values = t.to_vector<float>();
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &values[i], 4);
      store_be(dst + 4 * i, bits, 4);
    }
    return out;
  }
  if (type == IdxType::Float64) {
    const std::vector<double> values = t.to_vector<double>();
    for (size_t i = 0; i < n; ++i) {
      uint64_t bits;
      std::memcpy(&bits, &values[i], 8);
      store_be(dst + 8 * i, bits, 8);
    }
    return out;
  }
  // Integer types: a floating tensor would be silently truncated, so refuse
  // it, and refuse values the type cannot hold rather than wrapping them.
  check(!is_floating(t.dtype()), "encode_idx: a ", t.dtype(), " tensor cannot be written as integer type ",
        idx_type_name(type), " (convert it first)");
  int64_t lo = 0, hi = 0;
  switch (type) {
    case IdxType::UInt8: lo = 0, hi = 255; break;
    case IdxType::Int8: lo = -128, hi = 127; break;
    case IdxType::Int16: lo = -32768, hi = 32767; break;
    default: lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max(); break;
  }
  const std::vector<int64_t> values = t.to_vector<int64_t>();
  for (size_t i = 0; i < n; ++i) {
    check(values[i] >= lo && values[i] <= hi, "encode_idx: value ", values[i], " at flat index ", i,
          " does not fit ", idx_type_name(type));
    store_be(dst + elem * i, static_cast<uint64_t>(values[i]), elem);
  }
  return out;
}

void write_idx(const std::string& path, const Tensor& t, IdxType type) {
  const std::vector<uint8_t> bytes = encode_idx(t, type);
  if (ends_with(path, ".gz")) {
    const std::vector<uint8_t> packed = gzip(bytes.data(), bytes.size());
    write_file_atomic(path, packed.data(), packed.size());
  } else {
    write_file_atomic(path, bytes.data(), bytes.size());
  }
}

}  // namespace dl
