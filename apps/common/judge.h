// judge.h — the judge: a small CNN classifier trained with the framework
// (apps/mnist_classifier), used by the generative apps to read the digits
// (or, on Fashion-MNIST, the clothes) they draw: the column score and purity
// of InfoGAN, the confident share of DCGAN and the VAE, the label accuracy
// of the conditional GANs. Its checkpoint format keeps its first name,
// "mnist-classifier-1".
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

#include "common/app_shell.h"
#include "common/config_table.h"
#include "data/mnist.h"
#include "nn/layers.h"
#include "optim/optimizer.h"

namespace dl {

class JudgeNet : public Module {
 public:
  JudgeNet();
  Tensor forward(const Tensor& images) override { return (*net)(images); }
  std::string describe() const override { return "JudgeNet"; }
  std::shared_ptr<Sequential> net;
};

// Where apps/mnist_classifier saves its model and the other apps look for it.
constexpr const char* kDefaultJudgePath = "runs/mnist_classifier/latest.safetensors";

// The judge's weights from a checkpoint written by apps/mnist_classifier
// (tensors under "model."), in eval mode, on `device`.
std::unique_ptr<JudgeNet> load_judge(const std::string& path, Device device);

// The digit the judge reads in each image, and its softmax probability.
struct Judgement {
  std::vector<int64_t> digit;
  std::vector<double> confidence;
};
// Classifies images [N, 1, 28, 28] (any device) in batches, without autograd.
Judgement judge_images(JudgeNet& judge, const Tensor& images, int64_t batch = 500);

// The fraction of a split (uint8 images, int64 labels) the judge gets right.
double judge_accuracy(JudgeNet& judge, const Tensor& images_u8, const Tensor& labels);

// ---- training (apps/mnist_classifier train) ----------------------------------------

// The judge's hyper-parameters; a flag each (table()). Adam on
// cross-entropy, the learning rate multiplied by lr_decay after every epoch.
struct JudgeConfig : TabledConfig<JudgeConfig> {
  int64_t epochs = 4, batch = 64, seed = 1;
  double lr = 1e-3, lr_decay = 0.5;
  int64_t train_limit = 0;
  // Not in the config JSON: which data the judge reads (--dataset), as its
  // run directory's name says (default_judge_dir).
  std::string dataset = "mnist";
  std::vector<ConfigEntry> table();
};

// The judge in training: the net, its optimizer and the test split it is
// measured on after each epoch. Its run directory is Flat: checkpoint
// <run>/latest.safetensors (model., optim. tensors; format, config and
// position metadata), losses.csv, loss.svg and config.json.
class JudgeModel : public TrainedModel {
 public:
  using Config = JudgeConfig;
  static constexpr const char* kFormat = "mnist-classifier-1";
  static constexpr RunLayout kLayout = RunLayout::Flat;
  static constexpr bool kDropLast = false;
  JudgeModel(const JudgeConfig& config, Device device, MnistSplit test);
  // A resumed run's config: the checkpoint's, on the requested data set.
  static JudgeConfig resumed_config(const SafetensorsFile& file, const JudgeConfig& requested);

  std::vector<std::string> log_columns() const override;
  // One Adam step at lr * lr_decay^epoch; logs the loss and the batch's accuracy.
  Tensor train_step(const Batch& batch, const StepClock& clock) override;
  // Prints the test accuracy; draws loss.svg.
  void end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) override;
  CheckpointParts checkpoint_parts() const override;
  SafetensorsMetadata checkpoint_metadata(const TrainPosition& pos) const override;
  void restore_metadata(const SafetensorsFile&) override {}

  JudgeConfig config;
  Device device;
  std::shared_ptr<JudgeNet> net;
  std::unique_ptr<Adam> opt;

 private:
  MnistSplit test_;
};

// apps/mnist_classifier train: the judge of `config.dataset` trained in
// loop.run_dir (default: default_judge_dir); returns the exit status.
int train_judge(const JudgeConfig& config, TrainLoopFlags loop);

}  // namespace dl
