// mnist_judge.h — a small CNN digit classifier trained with the framework
// (apps/mnist_classifier), used by the generative apps to read the digits
// they draw: the column score and purity of InfoGAN, the confident share of
// DCGAN, the label accuracy of the conditional GANs.
//
//   net: 0 Conv2d(1, 32, 3, p=1)  1 BatchNorm2d(32)  2 ReLU  3 MaxPool2d(2)   -> 32x14x14
//        4 Conv2d(32, 64, 3, p=1) 5 BatchNorm2d(64)  6 ReLU  7 MaxPool2d(2)   -> 64x7x7
//        8 Flatten  9 Linear(3136, 128)  10 ReLU  11 Linear(128, 10)         -> logits
//
// Input: images [N, 1, 28, 28] with pixels in [0, 1] (ink = 1), the scale of
// the generators' Sigmoid output.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace dl {

class MnistClassifier : public Module {
 public:
  MnistClassifier();
  Tensor forward(const Tensor& images) override { return (*net)(images); }
  std::string describe() const override { return "MnistClassifier"; }
  std::shared_ptr<Sequential> net;
};

// Where apps/mnist_classifier saves its model and the other apps look for it.
constexpr const char* kDefaultJudgePath = "runs/mnist_classifier/latest.safetensors";

// The judge's weights from a checkpoint written by apps/mnist_classifier
// (tensors under "model."), in eval mode, on `device`.
std::unique_ptr<MnistClassifier> load_judge(const std::string& path, Device device);

// The digit the judge reads in each image, and its softmax probability.
struct Judgement {
  std::vector<int64_t> digit;
  std::vector<double> confidence;
};
// Classifies images [N, 1, 28, 28] (any device) in batches, without autograd.
Judgement judge_images(MnistClassifier& judge, const Tensor& images, int64_t batch = 500);

// The fraction of a split (uint8 images, int64 labels) the judge gets right.
double judge_accuracy(MnistClassifier& judge, const Tensor& images_u8, const Tensor& labels);

// apps/mnist_classifier train: Adam on cross-entropy, the learning rate
// multiplied by lr_decay after every epoch. Writes <out_dir>/latest.safetensors
// (model., optim., position metadata) each epoch, losses.csv and loss.svg;
// returns the exit status (0, or 130/143 when stopped by a signal).
struct JudgeTrainOptions {
  int64_t epochs = 4, batch = 64, seed = 1;
  double lr = 1e-3, lr_decay = 0.5;
  Device device;
  std::string data_dir, out_dir = "runs/mnist_classifier";
  // Continue <out_dir>/latest.safetensors with its own hyper-parameters;
  // only the epoch count may change (resume_epochs > 0).
  bool resume = false;
  // Start over in a run directory that already holds a run (see
  // prepare_fresh_run_directory); without it such a directory is refused.
  bool overwrite = false;
  int64_t resume_epochs = 0;
  int64_t log_every = 100, max_iterations = 0, train_limit = 0;
};
int train_judge(const JudgeTrainOptions& options);

}  // namespace dl
