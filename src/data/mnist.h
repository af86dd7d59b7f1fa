// mnist.h — the MNIST digits (LeCun, Cortes, Burges): 60000 training and
// 10000 test images of 28x28 grey pixels with their labels 0-9, read from
// the four official IDX files:
//   train-images-idx3-ubyte  train-labels-idx1-ubyte
//   t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte
// each either as is or gzipped with ".gz" appended (as the official site
// ships them). `make data` (scripts/fetch_mnist.sh) puts them in data/mnist.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace dl {

// Where to look: `flag` if non-empty, else $MNIST_DIR if set and non-empty,
// else "data/mnist".
std::string resolve_mnist_dir(const std::string& flag);

struct MnistSplit {
  Tensor images;  // uint8 [N, 28, 28], 0 = background, 255 = ink
  Tensor labels;  // int64 [N], 0..9
};

// The training (train = true) or test split from `dir`. Every error is one
// line naming the file: missing (with how to get it), not IDX, wrong element
// type, images not [N, 28, 28], labels not [N], image and label counts that
// differ, or a label outside 0..9. Any N is accepted, so tests can use tiny
// MNIST-shaped files.
MnistSplit load_mnist(const std::string& dir, bool train);

}  // namespace dl
