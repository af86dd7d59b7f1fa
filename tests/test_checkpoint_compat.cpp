// test_checkpoint_compat.cpp — checkpoints written before the apps shared one
// shell still load, restore and save back byte for byte.
//
// tests/fixtures/checkpoints/<app>.header.json is the safetensors header
// (names, dtypes, shapes, metadata with the config) of a checkpoint written
// by 8 iterations of each app on the main branch of 2026-12-07, before the
// config tables and TrainedModel existed. The weights themselves (60 MB) are
// not kept: a checkpoint with the same header and every value 0.5 (the step
// counters 8) stands in for each, which is all the loaders check beyond
// finiteness.
#include <algorithm>
#include <string>
#include <vector>

#include "app_helpers.h"
#include "common/gan_family.h"
#include "common/infogan.h"
#include "common/judge.h"
#include "common/vae.h"

using namespace dl;

namespace {

const std::string kHeaders = "tests/fixtures/checkpoints/";

DType dtype_named(const std::string& name) {
  if (name == "F32") return DType::Float32;
  if (name == "F64") return DType::Float64;
  REQUIRE_MESSAGE(name == "I64", name);
  return DType::Int64;
}

// A checkpoint at `path` with the header of `app`'s fixture, tensors in its
// data order; returns the metadata's config.
std::string write_from_header(const std::string& app, const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(kHeaders + app + ".header.json");
  const JsonValue header = parse_json(std::string(bytes.begin(), bytes.end()), app);
  struct Entry {
    int64_t offset;
    NamedTensor tensor;
  };
  std::vector<Entry> entries;
  SafetensorsMetadata metadata;
  for (const JsonMember& m : header.as_object()) {
    if (m.key == "__metadata__") {
      for (const JsonMember& meta : m.value.as_object()) metadata.push_back({meta.key, meta.value.as_string()});
      continue;
    }
    Shape shape;
    for (const JsonValue& d : m.value.find("shape")->as_array()) shape.push_back(*d.as_int64());
    const DType dtype = dtype_named(m.value.find("dtype")->as_string());
    const double value = dtype == DType::Int64 ? 8.0 : 0.5;
    entries.push_back({*m.value.find("data_offsets")->as_array()[0].as_int64(), {m.key, full(shape, value, dtype)}});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.offset < b.offset; });
  std::vector<NamedTensor> tensors;
  for (const Entry& e : entries) tensors.push_back(e.tensor);
  save_safetensors(path, tensors, metadata);
  for (const auto& [key, value] : metadata) {
    if (key == "config") return value;
  }
  FAIL("no config in " << app);
  return "";
}

// The checkpoint restores into a fresh model of its config, which saves it
// back byte for byte; and its config's JSON is written as it was read.
template <typename Model>
void check_round_trip(const std::string& app) {
  test::TempDir dir;
  const std::string path = dir.file("old.safetensors"), again = dir.file("again.safetensors");
  const std::string config_text = write_from_header(app, path);
  const SafetensorsFile file = load_safetensors(path);
  const typename Model::Config config = Model::Config::from_json(config_text, path);
  CHECK(to_json(config.to_json()) == config_text);
  Model model(Model::resumed_config(file, config), Device::cpu());
  const TrainPosition pos = model.restore(file);
  CHECK(pos.iteration == 8);
  model.save(again, pos);
  CHECK(read_file(again) == read_file(path));
}

}  // namespace

TEST_CASE("checkpoints written before the shared shell restore and save back byte for byte") {
  SUBCASE("infogan") {
    check_round_trip<InfoGan>("infogan");
    test::TempDir dir;
    write_from_header("infogan", dir.file("c.safetensors"));
    CHECK(load_infogan(load_safetensors(dir.file("c.safetensors")), 0, Device::cpu())->config.preset == "best");
  }
  SUBCASE("dcgan") { check_round_trip<GanModel>("dcgan"); }
  SUBCASE("cgan") { check_round_trip<GanModel>("cgan"); }
  SUBCASE("acgan") { check_round_trip<GanModel>("acgan"); }
  SUBCASE("vae") { check_round_trip<VaeModel>("vae"); }
  SUBCASE("the judge") {
    test::TempDir dir;
    write_from_header("judge", dir.file("judge.safetensors"));
    CHECK(load_judge(dir.file("judge.safetensors"), Device::cpu()) != nullptr);
  }
}
