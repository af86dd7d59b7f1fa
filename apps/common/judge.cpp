// judge.cpp — see judge.h.
#include "common/judge.h"

#include <cmath>
#include <iostream>

#include "common/checkpoint.h"
#include "common/dataset.h"
#include "common/svg.h"
#include "common/training.h"
#include "data/file.h"
#include "data/json.h"
#include "data/mnist.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

namespace {
std::shared_ptr<Module> layer(std::shared_ptr<Module> module) { return module; }
}  // namespace

JudgeNet::JudgeNet() {
  net = register_module(
      "net", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                 layer(std::make_shared<Conv2d>(1, 32, 3, 1, 1)), layer(std::make_shared<BatchNorm2d>(32)),
                 layer(std::make_shared<ReLU>()), layer(std::make_shared<MaxPool2d>(2)),  // 32x14x14
                 layer(std::make_shared<Conv2d>(32, 64, 3, 1, 1)), layer(std::make_shared<BatchNorm2d>(64)),
                 layer(std::make_shared<ReLU>()), layer(std::make_shared<MaxPool2d>(2)),  // 64x7x7
                 layer(std::make_shared<Flatten>()), layer(std::make_shared<Linear>(64 * 7 * 7, 128)),
                 layer(std::make_shared<ReLU>()), layer(std::make_shared<Linear>(128, 10))}));
}

std::unique_ptr<JudgeNet> load_judge(const std::string& path, Device device) {
  auto judge = std::make_unique<JudgeNet>();
  judge->to(device);
  const SafetensorsFile file = load_safetensors(path);
  check_format(file, JudgeModel::kFormat);
  load_module(file, "model.", *judge);
  judge->eval();
  return judge;
}

Judgement judge_images(JudgeNet& judge, const Tensor& images, int64_t batch) {
  check(images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
        "judge: expected images [N, 1, 28, 28], got ", images.shape());
  NoGradGuard no_grad;
  Judgement out;
  const Device device = judge.parameters().front().device();
  for (int64_t begin = 0; begin < images.size(0); begin += batch) {
    const int64_t n = std::min(batch, images.size(0) - begin);
    const Tensor probs = softmax(judge(images.narrow(0, begin, n).to(device)), 1);
    const std::vector<int64_t> digits = argmax(probs, 1).to(Device::cpu()).to_vector<int64_t>();
    const std::vector<float> p = max(probs, {1}).to(Device::cpu()).to_vector<float>();
    out.digit.insert(out.digit.end(), digits.begin(), digits.end());
    out.confidence.insert(out.confidence.end(), p.begin(), p.end());
  }
  return out;
}

double judge_accuracy(JudgeNet& judge, const Tensor& images_u8, const Tensor& labels) {
  const Tensor images = (images_u8.to(DType::Float32) / 255.0).unsqueeze(1);
  const std::vector<int64_t> digits = judge_images(judge, images).digit;
  const std::vector<int64_t> truth = labels.to_vector<int64_t>();
  int64_t right = 0;
  for (size_t i = 0; i < digits.size(); ++i) right += digits[i] == truth[i];
  return digits.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(digits.size());
}

// ---- training ----------------------------------------------------------------------

std::vector<ConfigEntry> JudgeConfig::table() {
  return {
      {ConfigEntry("epochs", &epochs, "--epochs", "passes over the training set", Range::at_least(1))
           .resumable_flag()},
      {"batch", &batch, "--batch", "batch size", Range::at_least(1)},
      {"seed", &seed, "--seed", "seed of the weights and the data order", Range::at_least(0)},
      {"lr", &lr, "--lr", "Adam learning rate of the first epoch", Range::above(0)},
      {"lr_decay", &lr_decay, "--lr-decay", "learning-rate factor per epoch", Range::above_to(0, 1)},
      {"train_limit", &train_limit, "--train-limit", "use only the first N training images (0: all)",
       Range::at_least(0)},
  };
}

JudgeModel::JudgeModel(const JudgeConfig& config_, Device device_, MnistSplit test)
    : config(config_), device(device_), test_(std::move(test)) {
  config.validate();
  manual_seed(static_cast<uint64_t>(config.seed));
  net = std::make_shared<JudgeNet>();
  net->to(device);
  opt = std::make_unique<Adam>(std::vector<ParamGroup>{{net->named_parameters(), config.lr}});
}

JudgeConfig JudgeModel::resumed_config(const SafetensorsFile& file, const JudgeConfig& requested) {
  JudgeConfig config = JudgeConfig::from_json(file.metadata_value("config"), file.name);
  config.dataset = requested.dataset;
  return config;
}

std::vector<std::string> JudgeModel::log_columns() const { return {"epoch", "iteration", "loss", "accuracy"}; }

Tensor JudgeModel::train_step(const Batch& batch, const StepClock& clock) {
  // The rate is a function of the epoch, so a resumed run uses the same.
  opt->groups()[0].lr = config.lr * std::pow(config.lr_decay, static_cast<double>(clock.epoch));
  net->train();
  opt->zero_grad();
  const Tensor labels = batch.labels.to(device);
  const Tensor logits = (*net)(batch.images.to(device));
  const Tensor loss = cross_entropy(logits, labels);
  loss.backward();
  opt->step();
  // Loss and accuracy stay on the device until the loop reads them.
  const Tensor accuracy = mean(eq(argmax(logits, 1), labels).to(DType::Float32));
  return stack({loss.detach(), accuracy});
}

void JudgeModel::end_of_epoch(const RunDirectory& run, const CsvLog& log, int64_t epoch) {
  net->eval();
  std::cout << "epoch " << epoch + 1 << ": test accuracy " << judge_accuracy(*net, test_.images, test_.labels)
            << "\n";
  Series loss{"loss", {}, {}};
  for (const auto& row : log.values()) {
    loss.x.push_back(row[1]);
    loss.y.push_back(row[2]);
  }
  write_line_chart(run.file("loss.svg"), {"MNIST classifier", "iteration", "cross-entropy", {loss}, 20, true});
}

CheckpointParts JudgeModel::checkpoint_parts() const { return {{{"model.", net.get()}}, {{"optim.", opt.get()}}}; }

SafetensorsMetadata JudgeModel::checkpoint_metadata(const TrainPosition& pos) const {
  SafetensorsMetadata metadata = {{"format", kFormat}, {"config", to_json(config.to_json())}};
  const SafetensorsMetadata position = position_metadata(pos);
  metadata.insert(metadata.end(), position.begin(), position.end());
  return metadata;
}

int train_judge(const JudgeConfig& config, TrainLoopFlags loop) {
  if (loop.run_dir.empty()) loop.run_dir = default_judge_dir(config.dataset);
  MnistSplit test = load_mnist(resolve_data_dir(config.dataset, loop.data_dir), false);
  return train_command<JudgeModel>("mnist_classifier", config, loop, std::move(test));
}

}  // namespace dl
