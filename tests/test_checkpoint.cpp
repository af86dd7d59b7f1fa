// test_checkpoint.cpp — apps/common/checkpoint.h treats a checkpoint as
// hostile: diverged or corrupted weights, impossible BatchNorm variances,
// incomplete optimizer state and crafted metadata are refused with one line
// naming the file and what is wrong, and nothing is loaded.
#include <algorithm>
#include <limits>

#include "common/checkpoint.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Conv2d + BatchNorm2d, seeded: tensors 0.weight, 0.bias, 1.weight, 1.bias,
// 1.running_mean, 1.running_var, 1.num_batches_tracked.
std::shared_ptr<Sequential> small_model(uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<Sequential>(
      std::vector<std::shared_ptr<Module>>{std::make_shared<Conv2d>(1, 2, 3), std::make_shared<BatchNorm2d>(2)});
}

// A model and its Adam after one training step, as an app saves them:
// the model under "G.", the optimizer under "optim.d.".
struct Trained {
  std::shared_ptr<Sequential> model = small_model(1);
  Adam adam{{{model->named_parameters(), 0.01}}};
  Trained() {
    Generator gen(2);
    sum((*model)(randn({2, 1, 5, 5}, DType::Float32, &gen))).backward();
    adam.step();
  }
  std::vector<NamedTensor> tensors() const {
    std::vector<NamedTensor> out = with_prefix("G.", model->state_dict());
    const std::vector<NamedTensor> state = with_prefix("optim.d.", adam.state_dict());
    out.insert(out.end(), state.begin(), state.end());
    return out;
  }
};

SafetensorsMetadata at_iteration(int64_t iteration) {
  return {{"format", "test-1"}, {"iteration", std::to_string(iteration)}};
}

// `tensors` with element `element` of the tensor called `name` set to `value`.
std::vector<NamedTensor> with_element(std::vector<NamedTensor> tensors, const std::string& name, size_t element,
                                      double value) {
  const auto it = std::find_if(tensors.begin(), tensors.end(), [&](const NamedTensor& t) { return t.name == name; });
  REQUIRE(it != tensors.end());
  std::vector<double> values = it->tensor.to_vector<double>();
  REQUIRE(element < values.size());
  values[element] = value;
  it->tensor = tensor(values, it->tensor.shape(), it->tensor.dtype());
  return tensors;
}

// `tensors` without the one called `name`, or without every one under `name` when it ends in '.'.
std::vector<NamedTensor> without(const std::vector<NamedTensor>& tensors, const std::string& name) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& t : tensors) {
    const bool dropped = name.back() == '.' ? t.name.rfind(name, 0) == 0 : t.name == name;
    if (!dropped) out.push_back(t);
  }
  REQUIRE(out.size() < tensors.size());
  return out;
}

// Every value of a module's state, to see that a refused load changed nothing.
std::vector<std::vector<double>> values_of(const Module& module) {
  std::vector<std::vector<double>> out;
  for (const NamedTensor& t : module.state_dict()) out.push_back(t.tensor.to_vector<double>());
  return out;
}

// The file written with `tensors` and `metadata` at `path`, read back.
SafetensorsFile written(const std::string& path, const std::vector<NamedTensor>& tensors,
                        const SafetensorsMetadata& metadata) {
  save_safetensors(path, tensors, metadata);
  return load_safetensors(path);
}

}  // namespace

TEST_CASE("checkpoints: a clean file loads the module, the optimizer, the position and the stream") {
  TempDir dir;
  const Trained trained;
  SafetensorsMetadata metadata = at_iteration(8);
  const SafetensorsMetadata stream = generator_metadata(Generator(5));
  metadata.insert(metadata.end(), stream.begin(), stream.end());
  const SafetensorsFile file = written(dir.file("ok.safetensors"), trained.tensors(), metadata);

  const std::shared_ptr<Sequential> model = small_model(3);
  Adam adam({{model->named_parameters(), 0.01}});
  load_module(file, "G.", *model);
  load_optimizer(file, "optim.d.", adam);
  CHECK(values_of(*model) == values_of(*trained.model));
  CHECK(adam.state_dict().size() == trained.adam.state_dict().size());
  CHECK(read_position(file).iteration == 8);
  CHECK(read_generator(file, 1).seed == 5);
}

TEST_CASE("checkpoints: a NaN or Inf weight, or a NaN or non-positive running_var, is refused untouched") {
  TempDir dir;
  const Trained trained;
  struct Case {
    std::string tensor;
    size_t element;
    double value;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"G.0.weight", 1, kNaN, "tensor 'G.0.weight' has nan at element 1 (a diverged or corrupted run)"},
      {"G.0.bias", 0, kInf, "tensor 'G.0.bias' has inf at element 0 (a diverged or corrupted run)"},
      {"G.1.running_var", 1, kNaN, "tensor 'G.1.running_var' has nan at element 1 (a diverged or corrupted run)"},
      {"G.1.running_var", 1, -0.5, "tensor 'G.1.running_var' has -0.5 at element 1 (expected a positive variance)"},
      {"G.1.running_var", 0, 0.0, "tensor 'G.1.running_var' has 0 at element 0 (expected a positive variance)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.error);
    const std::string path = dir.file("bad.safetensors");
    const SafetensorsFile file = written(path, with_element(trained.tensors(), c.tensor, c.element, c.value), {});
    const std::shared_ptr<Sequential> model = small_model(3);
    const std::vector<std::vector<double>> before = values_of(*model);
    CHECK_THROWS_WITH_AS(load_module(file, "G.", *model), (path + ": " + c.error).c_str(), Error);
    CHECK(values_of(*model) == before);
  }
}

TEST_CASE("checkpoints: non-finite optimizer state or a negative second moment is refused untouched") {
  TempDir dir;
  const Trained trained;
  const std::string path = dir.file("bad.safetensors");
  struct Case {
    std::string tensor;
    double value;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"optim.d.0.weight.exp_avg", kNaN,
       "tensor 'optim.d.0.weight.exp_avg' has nan at element 0 (a diverged or corrupted run)"},
      {"optim.d.1.bias.exp_avg_sq", -1.0,
       "tensor 'optim.d.1.bias.exp_avg_sq' has -1 at element 0 (expected a non-negative second moment)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.error);
    const SafetensorsFile file = written(path, with_element(trained.tensors(), c.tensor, 0, c.value), at_iteration(1));
    const std::shared_ptr<Sequential> model = small_model(3);
    Adam adam({{model->named_parameters(), 0.01}});
    CHECK_THROWS_WITH_AS(load_optimizer(file, "optim.d.", adam), (path + ": " + c.error).c_str(), Error);
    CHECK(adam.state_dict().empty());
  }
}

TEST_CASE("checkpoints: optimizer state missing a moment is refused with the file and prefix named") {
  TempDir dir;
  const Trained trained;
  const std::string path = dir.file("partial.safetensors");
  const SafetensorsFile file = written(path, without(trained.tensors(), "optim.d.0.weight.exp_avg"), at_iteration(1));
  const std::shared_ptr<Sequential> model = small_model(3);
  Adam adam({{model->named_parameters(), 0.01}});
  CHECK_THROWS_WITH_AS(load_optimizer(file, "optim.d.", adam),
                       (path + ": optim.d.: optimizer state: parameter '0.weight' has no 'exp_avg'").c_str(), Error);
  CHECK(adam.state_dict().empty());
}

TEST_CASE("checkpoints: no optimizer state is refused past iteration 0 and accepted at it") {
  TempDir dir;
  const Trained trained;
  const std::vector<NamedTensor> weights_only = without(trained.tensors(), "optim.d.");
  const std::shared_ptr<Sequential> model = small_model(3);
  Adam adam({{model->named_parameters(), 0.01}});

  const std::string resumed = dir.file("resumed.safetensors");
  CHECK_THROWS_WITH_AS(load_optimizer(written(resumed, weights_only, at_iteration(8)), "optim.d.", adam),
                       (resumed + ": no optimizer state under 'optim.d.' although the run is at iteration 8").c_str(),
                       Error);
  load_optimizer(written(dir.file("fresh.safetensors"), weights_only, at_iteration(0)), "optim.d.", adam);
  CHECK(adam.state_dict().empty());
}

TEST_CASE("checkpoints: a negative rng_seed or rng_offset is refused") {
  TempDir dir;
  const std::string path = dir.file("rng.safetensors");
  const std::vector<NamedTensor> tensors = {{"x", zeros({1})}};
  CHECK_THROWS_WITH_AS(read_generator(written(path, tensors, {{"rng_seed", "1"}, {"rng_offset", "-4"}}), 1),
                       (path + ": metadata 'rng_offset' is -4, expected >= 0").c_str(), Error);
  CHECK_THROWS_WITH_AS(read_generator(written(path, tensors, {{"rng_seed", "-1"}}), 1),
                       (path + ": metadata 'rng_seed' is -1, expected >= 0").c_str(), Error);
  const Generator fallback = read_generator(written(path, tensors, {}), 7);
  CHECK(fallback.seed == 7);
  CHECK(fallback.offset == 0);
}

TEST_CASE("checkpoints: check_format accepts the expected format and a file without one, refuses another") {
  TempDir dir;
  const std::string path = dir.file("format.safetensors");
  const std::vector<NamedTensor> tensors = {{"x", zeros({1})}};
  check_format(written(path, tensors, {{"format", "infogan-1"}}), "infogan-1");
  check_format(written(path, tensors, {}), "infogan-1");
  CHECK_THROWS_WITH_AS(check_format(written(path, tensors, {{"format", "vae-1"}}), "infogan-1"),
                       (path + ": format 'vae-1', expected 'infogan-1'").c_str(), Error);
}
