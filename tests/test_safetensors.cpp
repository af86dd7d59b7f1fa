// test_safetensors.cpp — data/safetensors.h: round-trips of every dtype and
// layout, the byte layout we write, a fixture written by an independent numpy
// writer (tests/data/make_safetensors_fixture.py), prefix selection,
// load_into, and a table of corrupt files, each with its own error.
//
// The fixture is read relative to the working directory: run the tests from
// the repository root, as `make test` does.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include "data/file.h"
#include "data/safetensors.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// A safetensors file: the little-endian length `length`, then `header`, then `data`.
std::vector<uint8_t> file_bytes(uint64_t length, const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(length >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}
std::vector<uint8_t> file_bytes(const std::string& header, const std::vector<uint8_t>& data = {}) {
  return file_bytes(header.size(), header, data);
}

// One header entry: "name":{"dtype":...,"shape":...,"data_offsets":[begin,end]}.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// The bytes of `values` as they lie in memory (little-endian on every host we build for).
template <typename T>
std::vector<uint8_t> raw(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

SafetensorsFile round_trip(const std::vector<NamedTensor>& tensors, const SafetensorsMetadata& metadata = {}) {
  TempDir dir;
  const std::string path = dir.file("rt.safetensors");
  save_safetensors(path, tensors, metadata);
  return load_safetensors(path);
}

// `got` equals `expected` exactly: dtype, shape and every value (bit for bit for floats).
void check_same(const Tensor& got, const Tensor& expected) {
  REQUIRE(got.defined());
  CHECK(got.dtype() == expected.dtype());
  REQUIRE(got.shape() == expected.shape());
  CHECK(got.is_contiguous());
  CHECK(raw(got.to_vector<double>()) == raw(expected.to_vector<double>()));
  if (expected.dtype() == DType::Int64) CHECK(got.to_vector<int64_t>() == expected.to_vector<int64_t>());
}

}  // namespace

TEST_CASE("safetensors round-trips every dtype, layout, 0-dim and empty tensors") {
  const Tensor f32 = rand({2, 3, 4});
  const Tensor f64 = randn64({5}, 7);
  const int64_t big = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> ints = {std::numeric_limits<int64_t>::min(), -1, 0, 1, big};
  const Tensor i64 = from_host(ints.data(), {5}, DType::Int64);
  const Tensor u8 = arange(0.0, 256.0, 1.0, DType::UInt8).reshape({16, 16});
  const Tensor mask = gt(randn64({7}, 3), 0.0);
  const Tensor transposed = iota({3, 4}).transpose(0, 1);
  const Tensor strided = iota({4, 6}, DType::Float32).slice(1, 1, 6, 2);
  const Tensor expanded = tensor({1, 2, 3}).expand({2, 3});
  const Tensor scalar = scalar_tensor(-2.5, DType::Float64);
  const Tensor int_scalar = scalar_tensor(9, DType::Int64);
  const Tensor empty = zeros({0, 3});
  const Tensor empty_bool = zeros({2, 0}, DType::Bool);
  REQUIRE_FALSE(transposed.is_contiguous());
  REQUIRE_FALSE(strided.is_contiguous());
  const std::vector<NamedTensor> tensors = {
      {"f32", f32},           {"f64", f64},     {"i64", i64},       {"u8", u8},
      {"mask", mask},         {"transposed", transposed},           {"strided", strided},
      {"expanded", expanded}, {"scalar", scalar}, {"int_scalar", int_scalar}, {"empty", empty},
      {"empty_bool", empty_bool}};
  const SafetensorsFile file = round_trip(tensors);
  REQUIRE(file.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CAPTURE(tensors[i].name);
    CHECK(file.tensors[i].name == tensors[i].name);  // our writer lays data out in the given order
    check_same(file.tensors[i].tensor, tensors[i].tensor);
    CHECK_FALSE(file.tensors[i].tensor.requires_grad());
  }
  CHECK(file.find("i64")->to_vector<int64_t>() == ints);
  CHECK(file.find("transposed")->to_vector<double>() == Values{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(file.find("expanded")->to_vector<double>() == Values{1, 2, 3, 1, 2, 3});
  CHECK(file.find("scalar")->dim() == 0);
  CHECK(file.find("nope") == nullptr);
  CHECK(file.metadata.empty());
}

TEST_CASE("safetensors saves tensors in a graph without recording anything, and an empty file") {
  const Tensor w = randn_leaf({3, 2});
  const Tensor y = w * 2.0;  // a non-leaf
  const SafetensorsFile file = round_trip({{"w", w}, {"y", y}});
  check_same(file.tensors[0].tensor, w.detach());
  check_same(file.tensors[1].tensor, y.detach());
  CHECK(w.grad_fn() == nullptr);

  const SafetensorsFile none = round_trip({});
  CHECK(none.tensors.empty());
  CHECK(none.metadata.empty());
}

TEST_CASE("safetensors writes the specified layout: u64 length, padded JSON header, aligned data") {
  const std::vector<float> values = {1.5f, -2.0f};
  const std::vector<uint8_t> bytes =
      serialize_safetensors({{"w", from_host(values.data(), {2}, DType::Float32)}}, {{"format", "pt"}});
  const std::string header = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const size_t padded = (header.size() + 7) / 8 * 8;
  REQUIRE(bytes.size() == 8 + padded + 8);
  CHECK(bytes == file_bytes(header + std::string(padded - header.size(), ' '), raw(values)));
  CHECK(padded % 8 == 0);  // so the data buffer starts 8-byte aligned
}

TEST_CASE("safetensors metadata round-trips in order, with escapes and UTF-8") {
  const SafetensorsMetadata metadata = {
      {"format", "pt"}, {"epoch", "12"}, {"note", "line 1\nline \"2\"\t\\ h\xC3\xA9llo \xF0\x9F\x99\x82"}, {"", ""}};
  const SafetensorsFile file = round_trip({{"x", ones({1})}}, metadata);
  CHECK(file.metadata == metadata);
  CHECK(file.metadata_value("epoch") == "12");
  CHECK(file.metadata_value("") == "");
  CHECK_THROWS_WITH_AS(file.metadata_value("step"), doctest::Contains("rt.safetensors: no metadata key 'step'"), Error);
}

TEST_CASE("safetensors refuses to save what it could not read back") {
  const Tensor t = ones({2});
  CHECK_THROWS_WITH_AS(serialize_safetensors({{"a", t}, {"b", t}, {"a", t}}, {}, "out.st"),
                       "out.st: duplicate tensor name 'a'", Error);
  CHECK_THROWS_WITH_AS(serialize_safetensors({{"__metadata__", t}}, {}, "out.st"),
                       "out.st: a tensor cannot be called __metadata__ (reserved for metadata)", Error);
  CHECK_THROWS_WITH_AS(serialize_safetensors({{"bad\xFF", t}}, {}, "out.st"),
                       "out.st: tensor name 'bad\\xff' is not valid UTF-8", Error);
  CHECK_THROWS_WITH_AS(serialize_safetensors({{"u", Tensor()}}, {}, "out.st"), "out.st: tensor 'u' is undefined", Error);
  CHECK_THROWS_WITH_AS(serialize_safetensors({}, {{"k", "1"}, {"k", "2"}}, "out.st"),
                       "out.st: duplicate metadata key 'k'", Error);
  CHECK_THROWS_WITH_AS(serialize_safetensors({}, {{"k", "\xC0"}}, "out.st"), "out.st: metadata 'k' is not valid UTF-8",
                       Error);
}

TEST_CASE("save_safetensors writes atomically and load names a missing file") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  save_safetensors(path, {{"a", ones({3})}});
  save_safetensors(path, {{"b", zeros({2})}});  // replaces
  const SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.size() == 1);
  CHECK(file.tensors[0].name == "b");
  CHECK(file.name == path);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) entries += e.is_regular_file();
  CHECK(entries == 1);  // no temporary left behind
  const std::string missing = dir.file("missing.safetensors");
  CHECK_THROWS_WITH_AS(load_safetensors(missing), (missing + ": cannot read: No such file or directory").c_str(), Error);
}

TEST_CASE("safetensors reads the numpy-written fixture: every value, in data-offset order") {
  const SafetensorsFile file = load_safetensors("tests/data/fixture.safetensors");
  // The header lists names sorted; the data is laid out by element size.
  // Tensors come back in data order, empty ones before the tensor at their offset.
  std::vector<std::string> names;
  for (const NamedTensor& t : file.tensors) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"D.main.3.num_batches_tracked", "D.main.3.running_mean", "D.main.5.weight",
                                          "optim.bounds", "optim.step", "G.main.0.bias", "G.main.0.weight",
                                          "data.mask", "data.none", "data.pixels"});
  CHECK(file.metadata == SafetensorsMetadata{{"format", "pt"},
                                             {"epoch", "7"},
                                             {"note", "h\xC3\xA9llo \"quoted\"\n\xF0\x9F\x99\x82"}});

  const Tensor& weight = *file.find("G.main.0.weight");
  CHECK(weight.dtype() == DType::Float32);
  CHECK(weight.shape() == Shape{2, 1, 2, 2});
  CHECK(vals(weight) == Values{-0.875, -0.625, -0.375, -0.125, 0.125, 0.375, 0.625, 0.875});
  const std::vector<float> bias = file.find("G.main.0.bias")->to_vector<float>();
  REQUIRE(bias.size() == 2);
  CHECK(bias[0] == 1.0f / 3.0f);
  CHECK(bias[1] == std::numeric_limits<float>::denorm_min());

  const Tensor& mean = *file.find("D.main.3.running_mean");
  CHECK(mean.dtype() == DType::Float64);
  CHECK(mean.to_vector<double>() == std::vector<double>{0.1, -2.5, 1e300});
  const Tensor& tracked = *file.find("D.main.3.num_batches_tracked");
  CHECK(tracked.dtype() == DType::Int64);
  CHECK(tracked.dim() == 0);
  CHECK(tracked.to_vector<int64_t>() == std::vector<int64_t>{123456789012});
  const Tensor& empty = *file.find("D.main.5.weight");
  CHECK(empty.dtype() == DType::Float64);
  CHECK(empty.shape() == Shape{0, 3});

  const Tensor& step = *file.find("optim.step");
  CHECK(step.dim() == 0);
  CHECK(step.to_vector<int64_t>() == std::vector<int64_t>{42});
  CHECK(file.find("optim.bounds")->to_vector<int64_t>() ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -1, std::numeric_limits<int64_t>::max()});

  const Tensor& pixels = *file.find("data.pixels");
  CHECK(pixels.dtype() == DType::UInt8);
  CHECK(pixels.shape() == Shape{2, 3});
  CHECK(pixels.to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 127, 128, 254, 255});
  const Tensor& mask = *file.find("data.mask");
  CHECK(mask.dtype() == DType::Bool);
  CHECK(mask.to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 0, 1});
  CHECK(file.find("data.none")->shape() == Shape{0});
  CHECK(file.find("data.none")->dtype() == DType::UInt8);
}

TEST_CASE("with_prefix selects and strips a prefix, in file order, sharing storage") {
  const SafetensorsFile file = load_safetensors("tests/data/fixture.safetensors");
  const std::vector<NamedTensor> d = file.with_prefix("D.");
  REQUIRE(d.size() == 3);
  CHECK(d[0].name == "main.3.num_batches_tracked");
  CHECK(d[1].name == "main.3.running_mean");
  CHECK(d[2].name == "main.5.weight");
  CHECK(d[1].tensor.same(*file.find("D.main.3.running_mean")));
  CHECK(file.with_prefix("G.main.0.").size() == 2);
  CHECK(file.with_prefix("").size() == file.tensors.size());
  CHECK(file.with_prefix("nothing.").empty());
  CHECK(file.with_prefix("optim.step").at(0).name.empty());  // the whole name as prefix
}

TEST_CASE("load_into copies into existing tensors (parameters that require grad, strided views)") {
  const Tensor w = randn_leaf({2, 3}, 5);
  const Tensor b = leaf(zeros({3}, DType::Float64));
  Tensor backing = zeros({3, 2}, DType::Float64);
  const Tensor view = backing.t();  // a non-contiguous destination [2, 3]
  const Tensor step = zeros({}, DType::Int64);
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const Tensor w_saved = iota({2, 3}), b_saved = tensor({7, 8, 9}, {}, DType::Float64);
  save_safetensors(path, {{"G.w", w_saved}, {"G.b", b_saved}, {"G.v", w_saved * 10.0}, {"optim.step", int64s({5}).reshape({})},
                          {"D.other", ones({1})}});
  const SafetensorsFile file = load_safetensors(path);

  load_into(file, path, "G.", {{"w", w}, {"b", b}, {"v", view}});
  CHECK(vals(w) == vals(w_saved));
  CHECK(vals(b) == Values{7, 8, 9});
  CHECK(vals(view) == Values{0, 10, 20, 30, 40, 50});
  CHECK(vals(backing) == Values{0, 30, 10, 40, 20, 50});
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());  // the copy is not recorded
  load_into(file, path, "optim.", {{"step", step}});
  CHECK(step.item() == 5);
  // Without a prefix, strictness covers the whole file.
  CHECK_THROWS_WITH_AS(load_into(file, path, "", {{"G.w", w}}),
                       (path + ": unexpected tensors 'G.b', 'G.v', 'optim.step' and 1 more (not in the model)").c_str(),
                       Error);
}

TEST_CASE("load_into failures name the file and tensor, and leave the destinations unchanged") {
  const std::string name = "ckpt.safetensors";
  const SafetensorsFile file = parse_safetensors(
      serialize_safetensors({{"G.main.0.weight", ones({64, 1, 4, 4})}, {"G.main.0.bias", ones({64})}, {"G.extra", ones({1})}}),
      name);
  const Tensor weight = zeros({64, 1, 4, 4});
  const Tensor bias = zeros({64});
  const Tensor extra = zeros({1});

  CHECK_THROWS_WITH_AS(load_into(file, name, "G.", {{"main.0.weight", weight}, {"main.0.bias", bias}}),
                       "ckpt.safetensors: unexpected tensor 'G.extra' (not in the model)", Error);
  CHECK_THROWS_WITH_AS(
      load_into(file, name, "G.", {{"main.0.weight", weight}, {"main.0.bias", bias}, {"extra", extra}, {"main.1.weight", bias}}),
      "ckpt.safetensors: missing tensor 'G.main.1.weight' (expected by the model)", Error);
  CHECK_THROWS_WITH_AS(load_into(file, name, "D.", {{"a", bias}, {"b", bias}, {"c", bias}, {"d", bias}}),
                       "ckpt.safetensors: missing tensors 'D.a', 'D.b', 'D.c' and 1 more (expected by the model)", Error);
  CHECK_THROWS_WITH_AS(
      load_into(file, name, "G.", {{"main.0.bias", bias}, {"extra", extra}, {"main.0.weight", zeros({64, 1, 5, 5})}}),
      "ckpt.safetensors: tensor 'G.main.0.weight' has shape [64, 1, 4, 4], model expects [64, 1, 5, 5]", Error);
  CHECK_THROWS_WITH_AS(
      load_into(file, name, "G.", {{"main.0.weight", weight}, {"extra", extra}, {"main.0.bias", zeros({64}, DType::Float64)}}),
      "ckpt.safetensors: tensor 'G.main.0.bias' has dtype float32, model expects float64", Error);
  CHECK_THROWS_WITH_AS(load_into(file, name, "G.", {{"extra", extra}, {"extra", extra}}),
                       "load_into: destination 'extra' is given twice", Error);
  CHECK_THROWS_WITH_AS(load_into(file, name, "G.", {{"extra", zeros({1}).expand({4})}}),
                       doctest::Contains("load_into: destination 'extra' is an expanded view"), Error);
  // The bias and extra come before the bad weight but were not written.
  CHECK(sum(abs(weight)).item() == 0);
  CHECK(sum(abs(bias)).item() == 0);
  CHECK(sum(abs(extra)).item() == 0);
  load_into(file, name, "G.", {{"main.0.weight", weight}, {"main.0.bias", bias}, {"extra", extra}});
  CHECK(sum(weight).item() == 64 * 16);
}

TEST_CASE("corrupt safetensors files: each has its own one-line error naming the file") {
  const std::string a4 = entry("a", "F32", "[1]", 0, 4);
  const std::vector<uint8_t> four(4, 0), eight(8, 0), twelve(12, 0);
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"short file", {1, 0, 0, 0, 0}, "bad.st: file is 5 bytes, too short for the 8-byte header length"},
      {"header past the end", file_bytes(1000, "{}      "),
       "bad.st: header length 1000 is beyond the end of the file (8 bytes after the length)"},
      {"huge header length", file_bytes(~uint64_t{0}, "{}"),
       "bad.st: header length 18446744073709551615 is beyond the end of the file (2 bytes after the length)"},
      {"empty header", file_bytes(""), "bad.st: header: invalid JSON at offset 0: unexpected end of input"},
      {"truncated JSON", file_bytes("{\"a\":"), "bad.st: header: invalid JSON at offset 5: unexpected end of input"},
      {"array header", file_bytes("[1]"), "bad.st: header is not a JSON object"},
      {"leading space", file_bytes(" {}"), "bad.st: header must begin with '{'"},
      {"deep header", file_bytes(std::string(100, '[') + std::string(100, ']')),
       "bad.st: header: invalid JSON at offset 64: nesting deeper than 64 levels"},
      {"invalid UTF-8 name", file_bytes("{\"\xC3(\":{}}"), "bad.st: header: invalid JSON at offset 2: invalid UTF-8"},
      {"duplicate name", file_bytes("{" + a4 + "," + a4 + "}", four), "duplicate key 'a'"},
      {"info not an object", file_bytes("{\"a\":[1]}"),
       "bad.st: tensor 'a': expected an object with dtype, shape and data_offsets"},
      {"no dtype", file_bytes(R"({"a":{"shape":[],"data_offsets":[0,0]}})"), "bad.st: tensor 'a': missing \"dtype\""},
      {"dtype not a string", file_bytes(R"({"a":{"dtype":4,"shape":[],"data_offsets":[0,4]}})", four),
       "bad.st: tensor 'a': \"dtype\" must be a string"},
      {"unsupported dtype", file_bytes("{" + entry("a", "F16", "[2]", 0, 4) + "}", four),
       "bad.st: tensor 'a': dtype F16 is not supported (only F32, F64, I64, U8, BOOL)"},
      {"unknown dtype", file_bytes("{" + entry("a", "float32", "[1]", 0, 4) + "}", four),
       "bad.st: tensor 'a': unknown dtype 'float32' (expected F32, F64, I64, U8 or BOOL)"},
      {"no shape", file_bytes(R"({"a":{"dtype":"U8","data_offsets":[0,0]}})"), "bad.st: tensor 'a': missing \"shape\""},
      {"shape not a list", file_bytes("{" + entry("a", "F32", "4", 0, 4) + "}", four),
       "bad.st: tensor 'a': shape must be a list of non-negative integers"},
      {"negative dim", file_bytes("{" + entry("a", "F32", "[-1]", 0, 4) + "}", four),
       "bad.st: tensor 'a': shape must be a list of non-negative integers, got [-1]"},
      {"fractional dim", file_bytes("{" + entry("a", "F32", "[1.0]", 0, 4) + "}", four),
       "bad.st: tensor 'a': shape must be a list of non-negative integers, got [1.0]"},
      {"element count overflow", file_bytes("{" + entry("a", "U8", "[4294967296,4294967296]", 0, 4) + "}", four),
       "bad.st: tensor 'a': element count of shape [4294967296,4294967296] overflows int64"},
      {"dim beyond int64", file_bytes("{" + entry("a", "U8", "[0,9223372036854775808]", 0, 0) + "}"),
       "bad.st: tensor 'a': element count of shape [0,9223372036854775808] overflows int64"},
      {"strides overflow beside a zero dim", file_bytes("{" + entry("a", "U8", "[0,4611686018427387904,4]", 0, 0) + "}"),
       "overflows int64"},
      {"no data_offsets", file_bytes(R"({"a":{"dtype":"U8","shape":[]}})"), "bad.st: tensor 'a': missing \"data_offsets\""},
      {"one offset", file_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0]}})"),
       "bad.st: tensor 'a': data_offsets must be [begin, end], two non-negative integers"},
      {"negative offset", file_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[-1,0]}})"),
       "bad.st: tensor 'a': data_offsets must be [begin, end], two non-negative integers"},
      {"string offsets", file_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":["0","0"]}})"),
       "bad.st: tensor 'a': data_offsets must be [begin, end], two non-negative integers"},
      {"begin after end", file_bytes("{" + entry("a", "F32", "[1]", 8, 4) + "}", eight),
       "bad.st: tensor 'a': data_offsets [8, 4] must have begin <= end"},
      {"end beyond the buffer", file_bytes("{" + entry("a", "F32", "[100]", 0, 400) + "}", eight),
       "bad.st: tensor 'a': data_offsets [0, 400] end beyond the data buffer (8 bytes)"},
      {"end near 2^64", file_bytes("{" + entry("a", "U8", "[1]", 18446744073709551615u - 1, 18446744073709551615u) + "}"),
       "bad.st: tensor 'a': data_offsets [18446744073709551614, 18446744073709551615] end beyond the data buffer (0 bytes)"},
      {"size mismatch", file_bytes("{" + entry("a", "F32", "[3]", 0, 8) + "}", eight),
       "bad.st: tensor 'a': shape [3] of F32 needs 12 bytes, but data_offsets [0, 8] hold 8"},
      {"overlap", file_bytes("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", twelve),
       "bad.st: tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
      {"same offsets", file_bytes("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "I64", "[0]", 0, 0) + "," +
                                  entry("c", "U8", "[4]", 0, 4) + "}", four),
       "bad.st: tensor 'c' data_offsets [0, 4] overlap tensor 'a' [0, 4]"},
      {"empty tensor inside another", file_bytes("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("e", "F32", "[0]", 4, 4) + "}", eight),
       "bad.st: tensor 'e' data_offsets [4, 4] overlap tensor 'a' [0, 8]"},
      {"gap", file_bytes("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", twelve),
       "bad.st: tensor 'b' data_offsets [8, 12] leave a gap: data bytes [4, 8) belong to no tensor"},
      {"gap at the start", file_bytes("{" + entry("b", "F32", "[1]", 4, 8) + "}", eight),
       "bad.st: tensor 'b' data_offsets [4, 8] leave a gap: data bytes [0, 4) belong to no tensor"},
      {"trailing bytes", file_bytes("{" + a4 + "}", eight),
       "bad.st: data bytes [4, 8) at the end of the file belong to no tensor"},
      {"data but no tensors", file_bytes("{}", four), "bad.st: data bytes [0, 4) at the end of the file belong to no tensor"},
      {"metadata not an object", file_bytes(R"({"__metadata__":["pt"]})"),
       "bad.st: __metadata__ must be an object of strings"},
      {"metadata value not a string", file_bytes(R"({"__metadata__":{"format":"pt","epoch":3}})"),
       "bad.st: __metadata__ value for 'epoch' is not a string"},
      {"bool byte not 0/1", file_bytes("{" + entry("m", "BOOL", "[3]", 0, 3) + "}", {1, 2, 0}),
       "bad.st: tensor 'm': BOOL element 1 is 2 (must be 0 or 1)"},
      {"newline in a name", file_bytes("{" + entry("a\\nb", "X", "[1]", 0, 4) + "}", four),
       "bad.st: tensor 'a\\nb': unknown dtype 'X'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK_THROWS_WITH_AS(parse_safetensors(c.bytes, "bad.st"), doctest::Contains(c.error.c_str()), Error);
    try {
      parse_safetensors(c.bytes, "bad.st");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.rfind("bad.st: ", 0) == 0);
      CHECK(message.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("safetensors accepts what the specification allows") {
  // Trailing-space padding, extra keys in an entry (ignored, as by the
  // reference reader), empty tensors anywhere on a boundary, a 0-dim tensor.
  const std::string header = "{" + entry("e", "F64", "[0,5]", 0, 0) + "," +
                             R"("s":{"dtype":"I64","shape":[],"data_offsets":[0,8],"extra":{"x":[1]}},)" +
                             entry("z", "BOOL", "[0]", 8, 8) + "}    ";
  const std::vector<int64_t> seven = {7};
  const SafetensorsFile file = parse_safetensors(file_bytes(header, raw(seven)), "ok.st");
  REQUIRE(file.tensors.size() == 3);
  CHECK(file.tensors[0].name == "e");
  CHECK(file.tensors[0].tensor.shape() == Shape{0, 5});
  CHECK(file.tensors[1].tensor.to_vector<int64_t>() == seven);
  CHECK(file.tensors[2].name == "z");
  CHECK(parse_safetensors(file_bytes("{}"), "ok.st").tensors.empty());
}

TEST_CASE("every truncation and single-byte corruption of the fixture is an Error or a valid file") {
  // Under SAN=1 this also shows that no input reads out of bounds.
  const std::vector<uint8_t> good = read_file("tests/data/fixture.safetensors");
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(parse_safetensors(cut, "cut.st"), Error);
  }
  int parsed = 0, refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (const uint8_t value : {uint8_t{0}, uint8_t{'1'}, uint8_t{'"'}, uint8_t{0xFF}, static_cast<uint8_t>(good[i] ^ 1)}) {
      std::vector<uint8_t> bad = good;
      bad[i] = value;
      try {
        parse_safetensors(bad, "bad.st");
        ++parsed;
      } catch (const Error&) {
        ++refused;
      }
    }
  }
  CHECK(refused > 0);
  CHECK(parsed > 0);  // e.g. any change in the data of a float tensor
}
