// app_helpers.h — what the apps' smoke tests (test_infogan_app.cpp,
// test_gan_family.cpp) share: a tiny MNIST directory to train on.
#pragma once

#include <filesystem>
#include <string>

#include "dl.h"
#include "helpers.h"

namespace test {

// <dir>/data/: an MNIST directory with 8 training and 20 test images, the
// first ones of real MNIST when it is in $MNIST_DIR or data/mnist, random
// ones otherwise (also when that path is a broken link).
inline void write_small_mnist(const TempDir& dir) {
  std::filesystem::create_directories(dir.file("data"));
  const std::string mnist = dl::resolve_mnist_dir("");
  std::error_code error;
  const bool real = std::filesystem::exists(mnist + "/t10k-labels-idx1-ubyte", error);
  for (const bool train : {true, false}) {
    const int64_t n = train ? 8 : 20;
    const std::string prefix = dir.file(std::string("data/") + (train ? "train" : "t10k"));
    dl::Tensor images, labels;
    if (real) {
      const dl::MnistSplit split = dl::load_mnist(mnist, train);
      images = split.images.narrow(0, 0, n);
      labels = split.labels.narrow(0, 0, n).to(dl::DType::Float32);
    } else {
      dl::Generator g(7);
      images = (dl::rand({n, 28, 28}, dl::DType::Float32, &g) * 255.0).to(dl::DType::UInt8);
      labels = (dl::rand({n}, dl::DType::Float32, &g) * 10.0);
    }
    dl::write_idx(prefix + "-images-idx3-ubyte", images, dl::IdxType::UInt8);
    dl::write_idx(prefix + "-labels-idx1-ubyte", labels.to(dl::DType::UInt8), dl::IdxType::UInt8);
  }
}

}  // namespace test
