// dataset.h — which 28x28 ten-class data set an app trains on: MNIST (the
// default) or Fashion-MNIST, its drop-in replacement (same IDX files and
// names, clothes instead of digits). `--dataset mnist|fashion` (every app)
// picks the default data directory and the default judge; the apps store
// the choice in their config so that eval uses the same data and judge.
#pragma once

#include <string>
#include <vector>

#include "common/cli.h"

namespace dl {

// "mnist" and "fashion".
const std::vector<std::string>& dataset_names();
// Error naming the accepted values unless `dataset` is one of them.
void check_dataset(const std::string& dataset);
// "MNIST" or "Fashion-MNIST", for messages.
std::string dataset_title(const std::string& dataset);
// The ten class names, for legends: "0".."9", or Fashion-MNIST's.
std::vector<std::string> dataset_class_names(const std::string& dataset);

// Where the data set's files are: `flag` if non-empty; else for mnist
// resolve_mnist_dir's rules ($MNIST_DIR, data/mnist); for fashion
// $FASHION_MNIST_DIR if set and non-empty, else data/fashion-mnist.
std::string resolve_data_dir(const std::string& dataset, const std::string& flag);

// The judge apps/mnist_classifier trains for the data set, and where eval
// looks for it: runs/mnist_classifier/latest.safetensors (kDefaultJudgePath)
// or runs/fashion_classifier/latest.safetensors.
std::string default_judge_path(const std::string& dataset);
// apps/mnist_classifier's default output directory: runs/mnist_classifier
// or runs/fashion_classifier.
std::string default_judge_dir(const std::string& dataset);
// How to create the judge, for error messages.
std::string judge_train_command(const std::string& dataset);

// The help of --dataset.
std::string dataset_flag_help();
// --dataset mnist|fashion (a bad value is a UsageError naming the flag).
void add_dataset_flag(ArgParser& args, std::string* dataset);

}  // namespace dl
