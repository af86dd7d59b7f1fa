// dataset.cpp — see dataset.h.
#include "common/dataset.h"

#include <cstdlib>

#include "common/judge.h"
#include "data/mnist.h"
#include "tensor/error.h"

namespace dl {

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"mnist", "fashion"};
  return names;
}

void check_dataset(const std::string& dataset) {
  check(dataset == "mnist" || dataset == "fashion", "dataset must be mnist or fashion, got '", dataset, "'");
}

std::string dataset_title(const std::string& dataset) {
  check_dataset(dataset);
  return dataset == "mnist" ? "MNIST" : "Fashion-MNIST";
}

std::vector<std::string> dataset_class_names(const std::string& dataset) {
  check_dataset(dataset);
  if (dataset == "fashion") {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  }
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

std::string resolve_data_dir(const std::string& dataset, const std::string& flag) {
  check_dataset(dataset);
  if (dataset == "mnist") return resolve_mnist_dir(flag);
  if (!flag.empty()) return flag;
  const char* env = std::getenv("FASHION_MNIST_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "data/fashion-mnist";
}

std::string default_judge_dir(const std::string& dataset) {
  check_dataset(dataset);
  return dataset == "mnist" ? "runs/mnist_classifier" : "runs/fashion_classifier";
}

std::string default_judge_path(const std::string& dataset) {
  check_dataset(dataset);
  return dataset == "mnist" ? std::string(kDefaultJudgePath) : default_judge_dir(dataset) + "/latest.safetensors";
}

std::string judge_train_command(const std::string& dataset) {
  check_dataset(dataset);
  return dataset == "mnist" ? "./apps/mnist_classifier train" : "./apps/mnist_classifier train --dataset fashion";
}

std::string dataset_flag_help() {
  return "data set: mnist, or fashion (Fashion-MNIST: data/fashion-mnist or $FASHION_MNIST_DIR, make data-fashion)";
}

void add_dataset_flag(ArgParser& args, std::string* dataset) {
  args.add_choice("--dataset", dataset, dataset_names(), dataset_flag_help());
}

}  // namespace dl
