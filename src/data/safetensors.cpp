// safetensors.cpp — see safetensors.h. Validation follows the reference
// implementation (safetensors/src/tensor.rs): the tensors, sorted by offset,
// must tile the data buffer exactly.
#include "data/safetensors.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "data/file.h"
#include "data/json.h"
#include "graph/grad_mode.h"
#include "tensor/backend.h"
#include "tensor/error.h"

// Tensor bytes are copied as they lie in memory, and the format is
// little-endian: a big-endian host would need byte swaps in both directions.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp assumes a little-endian host"
#endif

namespace dl {

namespace {

constexpr const char* kMetadataKey = "__metadata__";
constexpr size_t kLengthPrefix = 8;

// A name in an error message: quoted, and escaped so the message stays one line.
std::string q(const std::string& name) { return "'" + printable(name) + "'"; }

const char* dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::UInt8: return "U8";
    case DType::Bool: return "BOOL";
  }
  fail("safetensors: invalid dtype tag ", static_cast<int>(dtype));
}

bool dtype_from_code(const std::string& code, DType& dtype) {
  for (DType d : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool}) {
    if (code == dtype_code(d)) {
      dtype = d;
      return true;
    }
  }
  return false;
}

// The format's other dtypes: valid files we cannot hold, which deserve a
// different message from a misspelt dtype.
bool is_other_spec_dtype(const std::string& code) {
  static const char* const others[] = {"F16",     "BF16",    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3",
                                       "F6_E3M2", "F4",      "I8",      "I16",     "I32",     "U16",
                                       "U32",     "U64",     "C64",     "E8M0"};
  for (const char* other : others) {
    if (code == other) return true;
  }
  return false;
}

std::string offsets_str(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// Appends `t`'s elements, row-major, whatever its layout or device.
void append_tensor_bytes(std::vector<uint8_t>& out, const Tensor& t) {
  const size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  if (nbytes == 0) return;
  // detach: packing a tensor that requires grad must not record a clone in its graph.
  const Tensor packed = t.detach().contiguous();
  const size_t at = out.size();
  out.resize(at + nbytes);
  backend(packed.device())
      .copy_to_host(*packed.storage(), static_cast<size_t>(packed.offset()) * dtype_size(packed.dtype()),
                    out.data() + at, nbytes);
}

// One tensor's entry in the header, checked in isolation.
struct Entry {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& file, const std::string& name, const JsonValue& info, uint64_t data_size) {
  const std::string where = file + ": tensor " + q(name);
  Entry e;
  e.name = name;
  check(info.is_object(), where, ": expected an object with dtype, shape and data_offsets");
  // Other keys are ignored, as the reference reader ignores them.

  const JsonValue* dtype = info.find("dtype");
  check(dtype != nullptr, where, ": missing \"dtype\"");
  check(dtype->is_string(), where, ": \"dtype\" must be a string");
  const std::string& code = dtype->as_string();
  if (!dtype_from_code(code, e.dtype)) {
    check(!is_other_spec_dtype(code), where, ": dtype ", code, " is not supported (only F32, F64, I64, U8, BOOL)");
    fail(where, ": unknown dtype ", q(code), " (expected F32, F64, I64, U8 or BOOL)");
  }

  const JsonValue* shape = info.find("shape");
  check(shape != nullptr, where, ": missing \"shape\"");
  check(shape->is_array(), where, ": shape must be a list of non-negative integers");
  // The element count must fit int64, and so must the product of the
  // non-zero dims: a tensor's strides are that product's factors, even
  // when another dim is 0.
  int64_t numel = 1;
  bool has_zero = false;
  for (const JsonValue& dim : shape->as_array()) {
    const auto size = dim.as_uint64();
    // (`if` rather than check(): check() would build the message for every dim.)
    if (!size) fail(where, ": shape must be a list of non-negative integers, got ", to_json(*shape));
    if (*size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        (*size != 0 && __builtin_mul_overflow(numel, static_cast<int64_t>(*size), &numel))) {
      fail(where, ": element count of shape ", to_json(*shape), " overflows int64");
    }
    if (*size == 0) has_zero = true;
    e.shape.push_back(static_cast<int64_t>(*size));
  }
  if (has_zero) numel = 0;

  const JsonValue* offsets = info.find("data_offsets");
  check(offsets != nullptr, where, ": missing \"data_offsets\"");
  const bool pair = offsets->is_array() && offsets->as_array().size() == 2 &&
                    offsets->as_array()[0].as_uint64() && offsets->as_array()[1].as_uint64();
  check(pair, where, ": data_offsets must be [begin, end], two non-negative integers");
  e.begin = *offsets->as_array()[0].as_uint64();
  e.end = *offsets->as_array()[1].as_uint64();
  check(e.begin <= e.end, where, ": data_offsets ", offsets_str(e.begin, e.end), " must have begin <= end");
  check(e.end <= data_size, where, ": data_offsets ", offsets_str(e.begin, e.end), " end beyond the data buffer (",
        data_size, " bytes)");
  // numel <= 2^63 - 1 and dtype sizes are at most 8, so this cannot wrap.
  const uint64_t needed = static_cast<uint64_t>(numel) * dtype_size(e.dtype);
  if (e.end - e.begin != needed) {
    fail(where, ": shape ", shape_str(e.shape), " of ", code, " needs ", needed, " bytes, but data_offsets ",
         offsets_str(e.begin, e.end), " hold ", e.end - e.begin);
  }
  return e;
}

}  // namespace

// ---- writing -------------------------------------------------------------------------

std::vector<uint8_t> serialize_safetensors(const std::vector<NamedTensor>& tensors, const SafetensorsMetadata& metadata,
                                           const std::string& name) {
  JsonValue::Object header;
  if (!metadata.empty()) {
    JsonValue meta = JsonValue::object();
    std::unordered_set<std::string> keys;
    for (const auto& [key, value] : metadata) {
      check(keys.insert(key).second, name, ": duplicate metadata key ", q(key));
      check(is_valid_utf8(key) && is_valid_utf8(value), name, ": metadata ", q(key), " is not valid UTF-8");
      meta.set(key, JsonValue::string(value));
    }
    header.push_back(JsonMember{kMetadataKey, std::move(meta)});
  }
  std::unordered_set<std::string> names;
  uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    check(t.tensor.defined(), name, ": tensor ", q(t.name), " is undefined");
    check(t.name != kMetadataKey, name, ": a tensor cannot be called ", kMetadataKey, " (reserved for metadata)");
    check(is_valid_utf8(t.name), name, ": tensor name ", q(t.name), " is not valid UTF-8");
    check(names.insert(t.name).second, name, ": duplicate tensor name ", q(t.name));
    const uint64_t nbytes = static_cast<uint64_t>(t.tensor.numel()) * dtype_size(t.tensor.dtype());
    JsonValue shape = JsonValue::array();
    for (int64_t size : t.tensor.shape()) shape.push_back(JsonValue::integer(size));
    JsonValue info = JsonValue::object();
    info.set("dtype", JsonValue::string(dtype_code(t.tensor.dtype())));
    info.set("shape", std::move(shape));
    info.set("data_offsets", JsonValue::array({JsonValue::integer(offset), JsonValue::integer(offset + nbytes)}));
    header.push_back(JsonMember{t.name, std::move(info)});
    offset += nbytes;
  }

  std::string text = to_json(JsonValue::object(std::move(header)));
  // Spaces up to a multiple of 8, so that the data buffer (at 8 + N) is
  // 8-byte aligned when the file is mapped, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  out.reserve(kLengthPrefix + text.size() + offset);
  const uint64_t n = text.size();
  for (size_t i = 0; i < kLengthPrefix; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const NamedTensor& t : tensors) append_tensor_bytes(out, t.tensor);
  return out;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const SafetensorsMetadata& metadata) {
  const std::vector<uint8_t> bytes =
      naming_out_of_memory(path, "writing", [&] { return serialize_safetensors(tensors, metadata, path); });
  write_file_atomic(path, bytes.data(), bytes.size());
}

// ---- reading -------------------------------------------------------------------------

SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& name) {
  check(bytes.size() >= kLengthPrefix, name, ": file is ", bytes.size(),
        " bytes, too short for the 8-byte header length");
  uint64_t header_size = 0;
  for (size_t i = 0; i < kLengthPrefix; ++i) header_size |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  const uint64_t rest = bytes.size() - kLengthPrefix;
  check(header_size <= rest, name, ": header length ", header_size, " is beyond the end of the file (",
        rest, " bytes after the length)");
  const std::string header_text(reinterpret_cast<const char*>(bytes.data()) + kLengthPrefix, header_size);
  const JsonValue header = parse_json(header_text, name + ": header");
  check(header.is_object(), name, ": header is not a JSON object");
  check(header_text[0] == '{', name, ": header must begin with '{' (no leading whitespace)");

  const uint8_t* data = bytes.data() + kLengthPrefix + header_size;
  const uint64_t data_size = rest - header_size;

  SafetensorsFile file;
  file.name = name;
  std::vector<Entry> entries;
  for (const JsonMember& member : header.as_object()) {
    if (member.key == kMetadataKey) {
      check(member.value.is_object(), name, ": ", kMetadataKey, " must be an object of strings");
      for (const JsonMember& item : member.value.as_object()) {
        check(item.value.is_string(), name, ": ", kMetadataKey, " value for ", q(item.key), " is not a string");
        file.metadata.emplace_back(item.key, item.value.as_string());
      }
      continue;
    }
    entries.push_back(parse_entry(name, member.key, member.value, data_size));
  }

  // File order; stable, so empty tensors at one offset keep header order.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // The tensors must tile [0, data_size): each starts where the last ended.
  uint64_t covered = 0;
  const Entry* previous = nullptr;  // the last non-empty tensor, for the overlap message
  for (const Entry& e : entries) {
    // covered > 0 only after a non-empty tensor, so `previous` is set when this fails.
    if (e.begin < covered) {
      fail(name, ": tensor ", q(e.name), " data_offsets ", offsets_str(e.begin, e.end), " overlap tensor ",
           q(previous->name), " ", offsets_str(previous->begin, previous->end));
    }
    if (e.begin > covered) {
      fail(name, ": tensor ", q(e.name), " data_offsets ", offsets_str(e.begin, e.end), " leave a gap: data bytes [",
           covered, ", ", e.begin, ") belong to no tensor");
    }
    covered = e.end;
    if (e.end > e.begin) previous = &e;
  }
  check(covered == data_size, name, ": data bytes [", covered, ", ", data_size,
        ") at the end of the file belong to no tensor");

  for (const Entry& e : entries) {
    const uint8_t* begin = data + e.begin;
    const size_t nbytes = static_cast<size_t>(e.end - e.begin);
    if (e.dtype == DType::Bool) {
      // Any other byte would be an invalid C++ bool (undefined behaviour to read).
      for (size_t i = 0; i < nbytes; ++i) {
        if (begin[i] > 1) {
          fail(name, ": tensor ", q(e.name), ": BOOL element ", i, " is ", static_cast<int>(begin[i]),
               " (must be 0 or 1)");
        }
      }
    }
    file.tensors.push_back(NamedTensor{e.name, from_host(begin, e.shape, e.dtype)});
  }
  return file;
}

SafetensorsFile load_safetensors(const std::string& path) {
  return naming_out_of_memory(path, "reading", [&] { return parse_safetensors(read_file(path), path); });
}

// ---- SafetensorsFile -------------------------------------------------------------------

const Tensor* SafetensorsFile::find(const std::string& tensor_name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == tensor_name) return &t.tensor;
  }
  return nullptr;
}

std::vector<NamedTensor> SafetensorsFile::with_prefix(const std::string& prefix) const {
  std::vector<NamedTensor> out;
  for (const NamedTensor& t : tensors) {
    if (t.name.compare(0, prefix.size(), prefix) == 0) out.push_back(NamedTensor{t.name.substr(prefix.size()), t.tensor});
  }
  return out;
}

std::string SafetensorsFile::metadata_value(const std::string& key) const {
  for (const auto& [k, v] : metadata) {
    if (k == key) return v;
  }
  fail(name, ": no metadata key ", q(key));
}

// ---- load_into ---------------------------------------------------------------------------

namespace {

// "'G.a'", "'G.a', 'G.b' and 3 more": an error stays one readable line
// however many names are wrong.
std::string name_list(const std::vector<std::string>& names) {
  constexpr size_t kShown = 3;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) out += (i ? ", " : "") + q(names[i]);
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

}  // namespace

void load_into(const SafetensorsFile& file, const std::string& file_name, const std::string& prefix,
               const std::vector<NamedTensor>& destinations) {
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const NamedTensor& t : file.tensors) by_name.emplace(t.name, &t.tensor);

  // Check everything first, so that a failure leaves every destination as it was.
  std::unordered_set<std::string> wanted;
  std::vector<std::string> missing;
  for (const NamedTensor& d : destinations) {
    check(d.tensor.defined(), "load_into: destination ", q(d.name), " is an undefined tensor");
    check(wanted.insert(d.name).second, "load_into: destination ", q(d.name), " is given twice");
    for (int64_t dim = 0; dim < d.tensor.dim(); ++dim) {
      if (d.tensor.strides()[dim] == 0 && d.tensor.shape()[dim] > 1) {
        fail("load_into: destination ", q(d.name), " is an expanded view (stride 0 in dim ", dim,
             "); it cannot be written");
      }
    }
    if (by_name.count(prefix + d.name) == 0) missing.push_back(prefix + d.name);
  }
  check(missing.empty(), file_name, ": missing tensor", missing.size() > 1 ? "s " : " ", name_list(missing),
        " (expected by the model)");
  std::vector<std::string> unexpected;
  for (const NamedTensor& t : file.tensors) {
    if (t.name.compare(0, prefix.size(), prefix) == 0 && wanted.count(t.name.substr(prefix.size())) == 0) {
      unexpected.push_back(t.name);
    }
  }
  check(unexpected.empty(), file_name, ": unexpected tensor", unexpected.size() > 1 ? "s " : " ",
        name_list(unexpected), " (not in the model)");
  for (const NamedTensor& d : destinations) {
    const std::string full = prefix + d.name;
    const Tensor& source = *by_name.at(full);
    check(source.shape() == d.tensor.shape(), file_name, ": tensor ", q(full), " has shape ", source.shape(),
          ", model expects ", d.tensor.shape());
    check(source.dtype() == d.tensor.dtype(), file_name, ": tensor ", q(full), " has dtype ", source.dtype(),
          ", model expects ", d.tensor.dtype());
  }

  // Parameters require grad; writing them is an optimizer-style update, not part of any graph.
  NoGradGuard no_grad;
  for (const NamedTensor& d : destinations) {
    Tensor destination = d.tensor;
    destination.copy_(by_name.at(prefix + d.name)->to(d.tensor.device()));
  }
}

}  // namespace dl
