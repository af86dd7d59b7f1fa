// run_directory.h — where a training run keeps its files: the run
// directory (runs/<app>-<time>/ or --run, with checkpoints/ and samples/),
// runs/latest, the refusal to write a fresh run over an existing one, and
// the filesystem helpers they use (make_directories, path_exists).
#pragma once

#include <string>

namespace dl {

// runs/<app>-<YYYYmmdd-HHMMSS>/ (or the --run path), with checkpoints/ and
// samples/ inside; runs/latest is a symbolic link to the newest run that
// has a checkpoint.
//
// The judge's directory (runs/mnist_classifier) is Flat: its checkpoint is
// latest.safetensors at the top, where every eval command looks for it,
// it has no samples, and it never becomes runs/latest (which the generative
// apps' commands read by default).
enum class RunLayout { Run, Flat };

class RunDirectory {
 public:
  // A fresh run in `path`, or in runs/<app>-<timestamp> when `path` is
  // empty. An existing directory that already holds a run is refused
  // (prepare_fresh_run_directory); with `overwrite` it is emptied first.
  // runs/latest is not moved yet: see mark_latest.
  static RunDirectory create(const std::string& app, const std::string& path, bool overwrite,
                             RunLayout layout = RunLayout::Run);
  // An existing run (for --resume); `path` empty means runs/latest. Its
  // checkpoints/ and samples/ are created again if they went missing, and
  // the temporaries of writes that a killed process left are removed.
  static RunDirectory open(const std::string& path, RunLayout layout = RunLayout::Run);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string checkpoint() const {
    return file(layout_ == RunLayout::Flat ? "latest.safetensors" : "checkpoints/latest.safetensors");
  }
  // Points <parent>/latest at this run (not a Flat one). The loop calls it
  // once the run's first checkpoint is on disk, so a start that fails (bad
  // data, a bad flag found late) never takes `latest` away from the last
  // good run.
  void mark_latest() const;

 private:
  RunDirectory(std::string path, RunLayout layout) : path_(std::move(path)), layout_(layout) {}
  std::string path_;
  RunLayout layout_;
};

// Creates a directory and its parents (like mkdir -p); Error naming it on failure.
void make_directories(const std::string& path);
// Whether a file or directory is at `path` (false when it cannot be told).
bool path_exists(const std::string& path);

// Before a fresh (not resumed) run writes into `dir`: nothing to do when it
// is missing or empty, or holds only what a start that failed before its
// first checkpoint leaves (config.json and empty checkpoints/ and samples/).
// Anything else is an existing run, refused with one line naming --resume
// and --overwrite, unless `overwrite`: then a directory that looks like a
// run (config.json, checkpoints/, losses.csv or latest.safetensors inside)
// is emptied, and any other is still refused, so a mistyped --run never
// clears a directory that is not a run.
void prepare_fresh_run_directory(const std::string& dir, bool overwrite);

}  // namespace dl
