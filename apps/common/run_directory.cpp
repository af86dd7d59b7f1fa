// run_directory.cpp — see run_directory.h.
#include "common/run_directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <vector>

#include "data/file.h"
#include "tensor/error.h"

namespace dl {

void make_directories(const std::string& path) {
  check(!path.empty(), "mkdir: empty path");
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    const std::string prefix = pos == std::string::npos ? path : path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      fail(prefix, ": cannot create directory: ", std::strerror(errno));
    }
    if (pos == std::string::npos) break;
  }
  struct stat info {};
  check(::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode), path, ": exists and is not a directory");
}

bool path_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

namespace {

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &local);
  return text;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void prepare_fresh_run_directory(const std::string& dir, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::exists(dir, error)) return;
  check(is_directory(dir), dir, ": exists and is not a directory");
  // What a start that failed before its first checkpoint leaves behind.
  auto leftover_of_failed_start = [](const fs::directory_entry& entry) {
    const std::string name = entry.path().filename().string();
    if (name == "config.json") return true;
    std::error_code e;
    return (name == "checkpoints" || name == "samples") && entry.is_directory(e) && fs::is_empty(entry.path(), e);
  };
  std::vector<fs::path> entries;
  bool holds_a_run = false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    entries.push_back(entry.path());
    holds_a_run = holds_a_run || !leftover_of_failed_start(entry);
  }
  if (!holds_a_run) return;
  if (!overwrite) {
    fail(dir, ": already holds a run; continue it with --resume, or start over in it with --overwrite");
  }
  const bool looks_like_a_run = fs::exists(dir + "/config.json", error) || fs::exists(dir + "/checkpoints", error) ||
                                fs::exists(dir + "/losses.csv", error) || fs::exists(dir + "/latest.safetensors", error);
  check(looks_like_a_run, dir,
        ": is not a run directory (no config.json, checkpoints/, losses.csv or latest.safetensors); "
        "--overwrite only empties run directories");
  // The entries, not the directory: --run may be a symbolic link to it.
  for (const fs::path& entry : entries) {
    fs::remove_all(entry, error);
    check(!error, entry.string(), ": cannot remove (for --overwrite): ", error.message());
  }
}

RunDirectory RunDirectory::create(const std::string& app, const std::string& path, bool overwrite,
                                  RunLayout layout) {
  std::string dir = path;
  if (dir.empty()) {
    // Two runs started in the same second get -2, -3, ... appended.
    const std::string stem = "runs/" + app + "-" + timestamp();
    dir = stem;
    for (int n = 2; is_directory(dir); ++n) dir = stem + "-" + std::to_string(n);
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  prepare_fresh_run_directory(dir, overwrite);
  make_directories(dir);
  if (layout == RunLayout::Run) {
    make_directories(dir + "/checkpoints");
    make_directories(dir + "/samples");
  }
  return RunDirectory(dir, layout);
}

RunDirectory RunDirectory::open(const std::string& path, RunLayout layout) {
  std::string dir = path.empty() ? "runs/latest" : path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  check(is_directory(dir), "--run ", dir, ": no such run directory (start one with train, without --resume)");
  remove_stale_temporaries(dir);
  if (layout == RunLayout::Run) {
    for (const char* sub : {"/checkpoints", "/samples"}) {
      make_directories(dir + sub);
      remove_stale_temporaries(dir + sub);
    }
  }
  return RunDirectory(dir, layout);
}

void RunDirectory::mark_latest() const {
  if (layout_ == RunLayout::Flat) return;
  // runs/latest -> the run, relative so the tree can be moved. Replaced
  // atomically: a symlink under a temporary name renamed over the old one.
  const std::string latest = parent_of(path_) + "/latest", temp = latest + ".tmp";
  ::unlink(temp.c_str());
  if (::symlink(base_name(path_).c_str(), temp.c_str()) != 0 || ::rename(temp.c_str(), latest.c_str()) != 0) {
    std::cerr << "warning: could not point " << latest << " at " << path_ << ": " << std::strerror(errno) << "\n";
  }
}

}  // namespace dl
