// safetensors.h — reading and writing the safetensors checkpoint format
// (https://github.com/huggingface/safetensors), the format PyTorch users
// exchange weights in, so a model trained here can be inspected with numpy
// or loaded by torch, and the other way round.
//
// Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (the
// header), then the data buffer. The header is an object mapping each tensor
// name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (offsets into the data buffer), plus an optional "__metadata__" object of
// string -> string. Data is little-endian and row-major. The header may end
// in spaces; we pad it to a multiple of 8 bytes, as the reference writer
// does, so that the data starts aligned.
//
// The loader treats the file as hostile: every offset, size and shape is
// checked before any data is touched, the tensors must cover the data buffer
// exactly (no overlap, no gap, as the specification requires), and each
// failure is a one-line Error naming the file and the tensor.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace dl {

using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

// The file's bytes for `tensors` (any layout and device; stored contiguous,
// in the order given) and `metadata`. Names must be unique, valid UTF-8 and
// not "__metadata__"; errors start with `name`.
std::vector<uint8_t> serialize_safetensors(const std::vector<NamedTensor>& tensors,
                                           const SafetensorsMetadata& metadata = {},
                                           const std::string& name = "save_safetensors");

// serialize_safetensors, written atomically (write_file_atomic): a crash
// leaves the old checkpoint, never half of a new one.
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const SafetensorsMetadata& metadata = {});

struct SafetensorsFile {
  std::string name;                  // the path (or name) it was read from, for errors
  std::vector<NamedTensor> tensors;  // in file order (by data offset); contiguous CPU tensors
  SafetensorsMetadata metadata;      // in header order

  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
  // Tensors whose names start with `prefix`, with the prefix stripped
  // ("G." turns "G.main.0.weight" into "main.0.weight"), in file order.
  // They share storage with this file's tensors.
  std::vector<NamedTensor> with_prefix(const std::string& prefix) const;
  // Error("<name>: no metadata key 'epoch'") if missing.
  std::string metadata_value(const std::string& key) const;
};

SafetensorsFile load_safetensors(const std::string& path);
// The same from bytes in memory; `name` stands for the file in errors.
SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& name);

// Copies the file's tensors named prefix + d.name into each destination
// d.tensor (e.g. a model's parameters; any device, any layout), like
// load_state_dict(strict=True): every destination must be found, no tensor
// under the prefix may be left over, and shape and dtype must match:
//   "<file_name>: tensor 'G.main.0.weight' has shape [64, 1, 4, 4], model expects [64, 1, 5, 5]".
// Everything is checked before anything is copied, so on an error the
// destinations are unchanged. The copy is not recorded by autograd.
void load_into(const SafetensorsFile& file, const std::string& file_name, const std::string& prefix,
               const std::vector<NamedTensor>& destinations);

}  // namespace dl
