// mnist.cpp — see mnist.h.
#include "data/mnist.h"

#include <cstdlib>
#include <filesystem>

#include "data/compress.h"
#include "data/file.h"
#include "data/idx.h"
#include "tensor/error.h"

namespace dl {
namespace {

// The file `base` in `dir`, as is or gzipped; a missing file's error says
// how to get it, since that is what a first run hits.
std::string find_file(const std::string& dir, const std::string& base) {
  const std::filesystem::path raw = std::filesystem::path(dir) / base;
  std::error_code error;
  if (std::filesystem::exists(raw, error)) return raw.string();
  const std::filesystem::path gz = std::filesystem::path(dir) / (base + ".gz");
  if (std::filesystem::exists(gz, error)) return gz.string();
  fail(raw.string(), ": missing (nor ", base,
       ".gz); run `make data`, or download the official MNIST files (train-images-idx3-ubyte.gz, "
       "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into ",
       dir, " or set MNIST_DIR to where they are");
}

// The file's tensor, after checking it holds unsigned bytes: MNIST's images
// and labels are both IDX type 0x08, so anything else is the wrong file.
Tensor read_u8_idx(const std::string& path) {
  return naming_out_of_memory(path, "reading", [&] {
    std::vector<uint8_t> bytes = read_file(path);
    if (is_gzip(bytes)) bytes = gunzip(bytes, path);
    const IdxHeader header = parse_idx_header(bytes, path);
    check(header.type == IdxType::UInt8, path, ": expected MNIST's element type ", idx_type_name(IdxType::UInt8),
          ", got ", idx_type_name(header.type));
    return parse_idx(bytes, path);
  });
}

}  // namespace

std::string resolve_mnist_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("MNIST_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "data/mnist";
}

MnistSplit load_mnist(const std::string& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  // Both files are located before either is read, so a half-present split
  // reports the missing file at once rather than after a 47 MB read.
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");

  MnistSplit split;
  split.images = read_u8_idx(images_path);
  const Shape& is = split.images.shape();
  check(is.size() == 3 && is[1] == 28 && is[2] == 28, images_path, ": expected images of shape [N, 28, 28], got ",
        is);
  const Tensor labels = read_u8_idx(labels_path);
  check(labels.dim() == 1, labels_path, ": expected labels of shape [N], got ", labels.shape());
  check(labels.size(0) == is[0], images_path, ": ", is[0], " images but ", labels_path, " has ", labels.size(0),
        " labels");
  const uint8_t* values = labels.data<uint8_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    check(values[i] <= 9, labels_path, ": label ", int{values[i]}, " at index ", i, " is outside 0..9");
  split.labels = labels.to(DType::Int64);
  return split;
}

}  // namespace dl
