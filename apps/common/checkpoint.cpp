// checkpoint.cpp — see checkpoint.h.
#include "common/checkpoint.h"

#include <cerrno>
#include <cstdlib>

namespace dl {

std::vector<NamedTensor> with_prefix(const std::string& prefix, const std::vector<NamedTensor>& tensors) {
  std::vector<NamedTensor> out;
  out.reserve(tensors.size());
  for (const NamedTensor& t : tensors) out.push_back({prefix + t.name, t.tensor});
  return out;
}

void load_module(const SafetensorsFile& file, const std::string& prefix, Module& module) {
  load_into(file, file.name, prefix, module.state_dict());
}

void load_optimizer(const SafetensorsFile& file, const std::string& prefix, Optimizer& optimizer) {
  optimizer.load_state_dict(file.with_prefix(prefix));
}

bool has_metadata(const SafetensorsFile& file, const std::string& key) {
  for (const auto& [k, v] : file.metadata) {
    if (k == key) return true;
  }
  return false;
}

int64_t metadata_int(const SafetensorsFile& file, const std::string& key, int64_t fallback) {
  if (!has_metadata(file, key)) return fallback;
  const std::string text = file.metadata_value(key);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  check(!text.empty() && *end == '\0' && errno == 0, file.name, ": metadata '", key, "' is '", text,
        "', expected an integer");
  return value;
}

SafetensorsMetadata position_metadata(const TrainPosition& pos) {
  SafetensorsMetadata metadata = {{"epoch", std::to_string(pos.epoch)},
                                  {"batch", std::to_string(pos.batch)},
                                  {"iteration", std::to_string(pos.iteration)}};
  // Only when there is one, so that the checkpoints of healthy runs are as
  // they were before the key existed.
  if (!pos.divergence.empty()) metadata.push_back({"divergence", pos.divergence});
  return metadata;
}

TrainPosition read_position(const SafetensorsFile& file) {
  TrainPosition pos;
  pos.epoch = metadata_int(file, "epoch", 0);
  pos.batch = metadata_int(file, "batch", 0);
  pos.iteration = metadata_int(file, "iteration", 0);
  check(pos.epoch >= 0 && pos.batch >= 0 && pos.iteration >= 0, file.name, ": negative position in metadata");
  if (has_metadata(file, "divergence")) pos.divergence = file.metadata_value("divergence");
  return pos;
}

SafetensorsMetadata generator_metadata(const Generator& generator) {
  return {{"rng_seed", std::to_string(generator.seed)}, {"rng_offset", std::to_string(generator.offset)}};
}

Generator read_generator(const SafetensorsFile& file, uint64_t fallback_seed) {
  Generator generator(static_cast<uint64_t>(metadata_int(file, "rng_seed", static_cast<int64_t>(fallback_seed))));
  generator.offset = static_cast<uint64_t>(metadata_int(file, "rng_offset", 0));
  return generator;
}

}  // namespace dl
