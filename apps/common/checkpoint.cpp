// checkpoint.cpp — see checkpoint.h.
#include "common/checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace dl {

std::vector<NamedTensor> with_prefix(const std::string& prefix, const std::vector<NamedTensor>& tensors) {
  std::vector<NamedTensor> out;
  out.reserve(tensors.size());
  for (const NamedTensor& t : tensors) out.push_back({prefix + t.name, t.tensor});
  return out;
}

namespace {

// What a stored tensor's values must be besides finite: above `floor`, or
// also at it when `floor_allowed`; `expected` names that in an error.
struct ValueRule {
  double floor;
  bool floor_allowed;
  const char* expected;
};
constexpr ValueRule kAnyFinite = {-std::numeric_limits<double>::infinity(), true, "a finite value"};
constexpr ValueRule kVariance = {0.0, false, "a positive variance"};
constexpr ValueRule kSecondMoment = {0.0, true, "a non-negative second moment"};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Error naming the file, the tensor (its full name in the file) and the
// first element that breaks `rule`; tensors of other dtypes pass.
void check_values(const SafetensorsFile& file, const std::string& name, const Tensor& tensor, const ValueRule& rule) {
  if (!is_floating(tensor.dtype())) return;
  const std::vector<double> values = tensor.to_vector<double>();
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    check(std::isfinite(v), file.name, ": tensor '", name, "' has ", v, " at element ", i,
          " (a diverged or corrupted run)");
    check(v > rule.floor || (rule.floor_allowed && v == rule.floor), file.name, ": tensor '", name, "' has ", v,
          " at element ", i, " (expected ", rule.expected, ")");
  }
}

// metadata_int for a key whose value must be >= 0.
int64_t non_negative_metadata(const SafetensorsFile& file, const std::string& key, int64_t fallback) {
  const int64_t value = metadata_int(file, key, fallback);
  check(value >= 0, file.name, ": metadata '", key, "' is ", value, ", expected >= 0");
  return value;
}

}  // namespace

void load_module(const SafetensorsFile& file, const std::string& prefix, Module& module) {
  for (const NamedTensor& t : file.with_prefix(prefix)) {
    check_values(file, prefix + t.name, t.tensor, ends_with(t.name, "running_var") ? kVariance : kAnyFinite);
  }
  load_into(file, file.name, prefix, module.state_dict());
}

void load_optimizer(const SafetensorsFile& file, const std::string& prefix, Optimizer& optimizer) {
  const std::vector<NamedTensor> state = file.with_prefix(prefix);
  if (state.empty()) {
    const int64_t iteration = read_position(file).iteration;
    check(iteration == 0, file.name, ": no optimizer state under '", prefix, "' although the run is at iteration ",
          iteration);
  }
  for (const NamedTensor& s : state) {
    check_values(file, prefix + s.name, s.tensor, ends_with(s.name, ".exp_avg_sq") ? kSecondMoment : kAnyFinite);
  }
  try {
    optimizer.load_state_dict(state);
  } catch (const Error& error) {
    throw Error(concat(file.name, ": ", prefix, ": ", error.what()));
  }
}

std::vector<NamedTensor> checkpoint_tensors(const CheckpointParts& parts) {
  std::vector<NamedTensor> tensors;
  auto add = [&](const std::vector<NamedTensor>& part) { tensors.insert(tensors.end(), part.begin(), part.end()); };
  for (const auto& [prefix, module] : parts.modules) add(with_prefix(prefix, module->state_dict()));
  for (const auto& [prefix, optimizer] : parts.optimizers) add(with_prefix(prefix, optimizer->state_dict()));
  return tensors;
}

void load_modules(const SafetensorsFile& file, const CheckpointParts& parts) {
  for (const auto& [prefix, module] : parts.modules) load_module(file, prefix, *module);
}

void load_training_state(const SafetensorsFile& file, const CheckpointParts& parts) {
  load_modules(file, parts);
  for (const auto& [prefix, optimizer] : parts.optimizers) load_optimizer(file, prefix, *optimizer);
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

void check_format(const SafetensorsFile& file, const std::string& expected) {
  if (!has_metadata(file, "format")) return;
  const std::string format = file.metadata_value("format");
  check(format == expected, file.name, ": format '", format, "', expected '", expected, "'");
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
  pos.epoch = non_negative_metadata(file, "epoch", 0);
  pos.batch = non_negative_metadata(file, "batch", 0);
  pos.iteration = non_negative_metadata(file, "iteration", 0);
  if (has_metadata(file, "divergence")) pos.divergence = file.metadata_value("divergence");
  return pos;
}

SafetensorsMetadata generator_metadata(const Generator& generator) {
  return {{"rng_seed", std::to_string(generator.seed)}, {"rng_offset", std::to_string(generator.offset)}};
}

Generator read_generator(const SafetensorsFile& file, uint64_t fallback_seed) {
  Generator generator(
      static_cast<uint64_t>(non_negative_metadata(file, "rng_seed", static_cast<int64_t>(fallback_seed))));
  generator.offset = static_cast<uint64_t>(non_negative_metadata(file, "rng_offset", 0));
  return generator;
}

void append_run_state(SafetensorsMetadata& metadata, const TrainPosition& pos, const Generator& rng) {
  for (const SafetensorsMetadata& part : {position_metadata(pos), generator_metadata(rng)}) {
    metadata.insert(metadata.end(), part.begin(), part.end());
  }
}

}  // namespace dl
