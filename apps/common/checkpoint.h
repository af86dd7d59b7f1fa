// checkpoint.h — one safetensors file holding a whole training state:
// modules and optimizers under name prefixes ("G.", "D.", "optim.d."), plus
// string metadata (config, position, RNG). Shared by every app.
//
// Module tensors keep PyTorch's state_dict names after the prefix, so
// selecting the "G." keys and stripping the prefix loads the generator into
// its PyTorch twin with strict=True.
#pragma once

#include <string>
#include <vector>

#include "common/training.h"
#include "data/safetensors.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace dl {

// `tensors` with `prefix` put in front of every name.
std::vector<NamedTensor> with_prefix(const std::string& prefix, const std::vector<NamedTensor>& tensors);

// The modules and optimizers of a training state, each under the prefix its
// tensors have in a checkpoint ("G." -> the generator), in file order.
struct CheckpointParts {
  std::vector<std::pair<std::string, Module*>> modules;
  std::vector<std::pair<std::string, Optimizer*>> optimizers;
};
// Every module's state_dict, then every optimizer's, under their prefixes.
std::vector<NamedTensor> checkpoint_tensors(const CheckpointParts& parts);
// load_module for every module of `parts` (what eval and sample need).
void load_modules(const SafetensorsFile& file, const CheckpointParts& parts);
// load_modules, then load_optimizer for every optimizer (what --resume needs).
void load_training_state(const SafetensorsFile& file, const CheckpointParts& parts);

// Copies the file's tensors under `prefix` into the module's parameters and
// buffers, strictly (every one present, nothing left over, shapes and dtypes
// equal). Every floating-point tensor under `prefix` must be finite and
// every "...running_var" positive: a diverged or corrupted run would
// otherwise load and produce black images or NaN losses with exit status 0.
// Errors are one line naming the file, the tensor and its first bad
// element; nothing is changed on an error.
void load_module(const SafetensorsFile& file, const std::string& prefix, Module& module);

// Restores an optimizer's state from the file's tensors under `prefix`,
// strictly: every floating-point state tensor finite and every
// "...exp_avg_sq" >= 0 (Adam divides by its square root), then
// Optimizer::load_state_dict's checks (state complete for every parameter),
// its errors prefixed with the file and `prefix`. No state at all is
// refused when the file's position is past iteration 0: resuming with
// fresh moments would not continue the run that was saved. Nothing is
// changed on an error.
void load_optimizer(const SafetensorsFile& file, const std::string& prefix, Optimizer& optimizer);

// The metadata value for `key` parsed as an integer, or `fallback` when the
// key is absent; Error naming the file when it is not an integer.
int64_t metadata_int(const SafetensorsFile& file, const std::string& key, int64_t fallback);
bool has_metadata(const SafetensorsFile& file, const std::string& key);

// Error unless the file's "format" metadata is `expected` ("infogan-1"), so
// that one app's checkpoint is not read as another's. A file without the key
// passes: bare weights exported from PyTorch carry no metadata.
void check_format(const SafetensorsFile& file, const std::string& expected);

// A run's position as metadata ("epoch", "batch", "iteration", and
// "divergence" when the loop warned of one), and back: absent keys read as
// 0 (or ""); Error naming the file and key when a value is negative.
SafetensorsMetadata position_metadata(const TrainPosition& pos);
TrainPosition read_position(const SafetensorsFile& file);

// A Philox stream's state as metadata ("rng_seed", "rng_offset"), and back:
// absent keys read as `fallback_seed` and offset 0; Error naming the file
// and key when a value is negative (the stream's state is unsigned, and a
// negative one would wrap to a different stream).
SafetensorsMetadata generator_metadata(const Generator& generator);
Generator read_generator(const SafetensorsFile& file, uint64_t fallback_seed);

// Appends a training run's state to a checkpoint's metadata: its position,
// then its latent-code stream (what read_position and read_generator read).
void append_run_state(SafetensorsMetadata& metadata, const TrainPosition& pos, const Generator& rng);

}  // namespace dl
