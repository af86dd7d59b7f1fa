// mnist_judge.cpp — see mnist_judge.h.
#include "common/mnist_judge.h"

#include <sys/stat.h>

#include <cmath>
#include <iostream>

#include "common/checkpoint.h"
#include "common/svg.h"
#include "common/training.h"
#include "data/file.h"
#include "data/json.h"
#include "data/mnist.h"
#include "graph/grad_mode.h"
#include "ops/ops.h"

namespace dl {

namespace {
constexpr const char* kFormat = "mnist-classifier-1";
std::shared_ptr<Module> layer(std::shared_ptr<Module> module) { return module; }
}  // namespace

MnistClassifier::MnistClassifier() {
  net = register_module(
      "net", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                 layer(std::make_shared<Conv2d>(1, 32, 3, 1, 1)), layer(std::make_shared<BatchNorm2d>(32)),
                 layer(std::make_shared<ReLU>()), layer(std::make_shared<MaxPool2d>(2)),  // 32x14x14
                 layer(std::make_shared<Conv2d>(32, 64, 3, 1, 1)), layer(std::make_shared<BatchNorm2d>(64)),
                 layer(std::make_shared<ReLU>()), layer(std::make_shared<MaxPool2d>(2)),  // 64x7x7
                 layer(std::make_shared<Flatten>()), layer(std::make_shared<Linear>(64 * 7 * 7, 128)),
                 layer(std::make_shared<ReLU>()), layer(std::make_shared<Linear>(128, 10))}));
}

std::unique_ptr<MnistClassifier> load_judge(const std::string& path, Device device) {
  struct stat info {};
  check(::stat(path.c_str(), &info) == 0, "--judge ", path,
        ": not found (train the judge with: ./apps/mnist_classifier train)");
  auto judge = std::make_unique<MnistClassifier>();
  judge->to(device);
  const SafetensorsFile file = load_safetensors(path);
  check_format(file, kFormat);
  load_module(file, "model.", *judge);
  judge->eval();
  return judge;
}

Judgement judge_images(MnistClassifier& judge, const Tensor& images, int64_t batch) {
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

double judge_accuracy(MnistClassifier& judge, const Tensor& images_u8, const Tensor& labels) {
  const Tensor images = (images_u8.to(DType::Float32) / 255.0).unsqueeze(1);
  const std::vector<int64_t> digits = judge_images(judge, images).digit;
  const std::vector<int64_t> truth = labels.to_vector<int64_t>();
  int64_t right = 0;
  for (size_t i = 0; i < digits.size(); ++i) right += digits[i] == truth[i];
  return digits.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(digits.size());
}

namespace {

// The hyper-parameters, kept in the checkpoint so that --resume continues
// with the same ones.
JsonValue config_json(const JudgeTrainOptions& o) {
  return JsonValue::object({{"epochs", JsonValue::integer(o.epochs)},
                            {"batch", JsonValue::integer(o.batch)},
                            {"seed", JsonValue::integer(o.seed)},
                            {"lr", JsonValue::number(o.lr)},
                            {"lr_decay", JsonValue::number(o.lr_decay)},
                            {"train_limit", JsonValue::integer(o.train_limit)}});
}

// Every key must be there: a resumed run takes all of its settings from
// the checkpoint, none from the command line.
void read_judge_config(const SafetensorsFile& file, JudgeTrainOptions& o) {
  const JsonValue json = parse_json(file.metadata_value("config"), file.name);
  const std::vector<ConfigField> fields = {{"epochs", &o.epochs}, {"batch", &o.batch},
                                           {"seed", &o.seed},     {"lr", &o.lr},
                                           {"lr_decay", &o.lr_decay}, {"train_limit", &o.train_limit}};
  read_config(json, file.name, fields);
  for (const ConfigField& field : fields) {
    check(json.find(field.key) != nullptr, file.name, ": config has no '", field.key, "'");
  }
}

}  // namespace

int train_judge(const JudgeTrainOptions& requested) {
  JudgeTrainOptions options = requested;
  const std::string checkpoint = options.out_dir + "/latest.safetensors";
  std::unique_ptr<SafetensorsFile> resumed;
  if (options.resume) {
    resumed = std::make_unique<SafetensorsFile>(load_safetensors(checkpoint));
    check_format(*resumed, kFormat);
    read_judge_config(*resumed, options);
    if (requested.resume_epochs > 0) options.epochs = requested.resume_epochs;
  }
  check(options.epochs >= 1 && options.batch >= 1 && options.lr > 0 && options.lr_decay > 0,
        "mnist_classifier train: epochs, batch, lr and lr_decay must be positive");
  if (options.resume) {
    remove_stale_temporaries(options.out_dir);
  } else {
    prepare_fresh_run_directory(options.out_dir, options.overwrite);
  }
  make_directories(options.out_dir);
  manual_seed(static_cast<uint64_t>(options.seed));
  MnistClassifier model;
  model.to(options.device);
  std::vector<NamedTensor> params = model.named_parameters();
  Adam adam({{params, options.lr}});
  TrainPosition pos;
  CsvLog log(options.out_dir + "/losses.csv", {"epoch", "iteration", "loss", "accuracy"});
  if (resumed) {
    load_module(*resumed, "model.", model);
    load_optimizer(*resumed, "optim.", adam);
    pos = read_position(*resumed);
    restore_log(log.path(), pos.iteration, log);
  }
  const MnistSplit train = load_training_split(options.data_dir, options.train_limit);
  const MnistSplit test = load_mnist(resolve_mnist_dir(options.data_dir), false);
  DataLoader loader(train.images, train.labels, options.batch, true, static_cast<uint64_t>(options.seed), false,
                    PixelScale::ZeroOne);
  std::cout << "mnist_classifier: " << loader.size() << " training images, " << loader.batches_per_epoch()
            << " batches per epoch, device " << options.device << "\n";

  install_stop_handlers();
  const TrainLoopOptions loop = train_loop_options("mnist_classifier", options.epochs, options.log_every,
                                                  options.max_iterations, 0, options.device);
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch& batch) {
    // The rate is a function of the epoch, so a resumed run uses the same.
    adam.groups()[0].lr = options.lr * std::pow(options.lr_decay, static_cast<double>(pos.epoch));
    model.train();
    adam.zero_grad();
    const Tensor labels = batch.labels.to(options.device);
    const Tensor logits = model(batch.images.to(options.device));
    const Tensor loss = cross_entropy(logits, labels);
    loss.backward();
    adam.step();
    // Loss and accuracy stay on the device until the loop reads them.
    const Tensor accuracy = mean(eq(argmax(logits, 1), labels).to(DType::Float32));
    return stack({loss.detach(), accuracy});
  };
  hooks.end_of_epoch = [&](int64_t epoch) {
    model.eval();
    std::cout << "epoch " << epoch + 1 << ": test accuracy " << judge_accuracy(model, test.images, test.labels)
              << "\n";
    Series loss{"loss", {}, {}};
    for (const auto& row : log.values()) {
      loss.x.push_back(row[1]);
      loss.y.push_back(row[2]);
    }
    write_line_chart(options.out_dir + "/loss.svg", {"MNIST classifier", "iteration", "cross-entropy", {loss}, 20, true});
  };
  hooks.save = [&](const TrainPosition& at) {
    std::vector<NamedTensor> tensors = with_prefix("model.", model.state_dict());
    const std::vector<NamedTensor> state = with_prefix("optim.", adam.state_dict());
    tensors.insert(tensors.end(), state.begin(), state.end());
    SafetensorsMetadata metadata = {{"format", kFormat}, {"config", to_json(config_json(options))}};
    const SafetensorsMetadata position = position_metadata(at);
    metadata.insert(metadata.end(), position.begin(), position.end());
    save_safetensors(checkpoint, tensors, metadata);
  };
  const int status = run_training(loader, pos, loop, log, hooks);
  if (status == 0 && pos.epoch == options.epochs) std::cout << "mnist_classifier: saved " << checkpoint << "\n";
  return status;
}

}  // namespace dl
