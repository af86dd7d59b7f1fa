// cli.h — the apps' command lines: `<app> <command> [--flag value ...]`.
//
// Each command declares its flags with a pointer to the variable the value
// goes to; the variable's value at declaration time is the default shown by
// --help. Bad input is a UsageError with one line naming the flag and what
// was expected; the apps print it and exit with status 2 (run_app below).
//
//   int64_t epochs = 50;
//   ArgParser args("infogan train", "Train an InfoGAN on MNIST.");
//   args.add("--epochs", &epochs, "passes over the training set");
//   if (!args.parse(argc, argv, 2)) return 0;  // --help was printed
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/error.h"

namespace dl {

// A command-line mistake (exit status 2), as opposed to a failure while
// running (dl::Error, exit status 1).
struct UsageError : Error {
  using Error::Error;
};

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  void add(const std::string& flag, int64_t* target, const std::string& help);
  void add(const std::string& flag, double* target, const std::string& help);
  void add(const std::string& flag, std::string* target, const std::string& help);
  // A string restricted to `choices`.
  void add_choice(const std::string& flag, std::string* target, std::vector<std::string> choices,
                  const std::string& help);
  // A switch without a value: present sets *target to true.
  void add_switch(const std::string& flag, bool* target, const std::string& help);
  // Extra validation after parsing (e.g. a value range), in declaration order.
  // The check throws UsageError via usage_check.
  void add_check(std::function<void()> check) { checks_.push_back(std::move(check)); }

  // Parses argv[first..argc). Returns false after printing the help for
  // --help / -h; throws UsageError on an unknown flag, a missing or
  // malformed value, or a flag given twice.
  bool parse(int argc, char** argv, int first);
  // Whether `flag` was given on the command line.
  bool given(const std::string& flag) const;
  std::string help() const;
  const std::string& command() const { return command_; }

 private:
  struct Option {
    std::string flag, help, default_text;
    std::vector<std::string> choices;
    bool is_switch = false;
    std::function<void(const std::string&)> set;
  };
  void add_option(Option option);
  const Option* find(const std::string& flag) const;

  std::string command_, summary_;
  std::vector<Option> options_;
  std::vector<std::function<void()>> checks_;
  std::vector<std::string> given_;
};

// Throws UsageError("<flag>: <what>") when `ok` is false.
void usage_check(bool ok, const std::string& flag, const std::string& what);

// The value of `flag` in argv[first..argc) without parsing the rest, or ""
// (for flags that decide the defaults of the others, like --preset).
std::string peek_flag(int argc, char** argv, int first, const std::string& flag);

// --threads N: how many threads the CPU kernels use (default: all cores, or
// $DL_NUM_THREADS). Results do not depend on it (docs/cpu.md). Applied when
// the flags are parsed; *threads stays 0 when the flag is not given.
void add_threads_flag(ArgParser& args, int64_t* threads);

// parse_device (tensor/device.h) for the --device flag: its errors become
// UsageErrors naming the flag.
Device parse_device_flag(const std::string& text);

// The flags of a `train` command that belong to the loop rather than the
// model, the same in every training app, in this order: --device --threads
// --data --run --resume --overwrite --log-every --max-iters --read-every
// --cuda-graph (with their range checks; --resume and --overwrite exclude
// each other).
struct TrainLoopFlags {
  std::string device = "auto", data_dir, run_dir, cuda_graph = "on";
  int64_t threads = 0, log_every = 100, max_iterations = 0, read_every = 0;
  bool resume = false, overwrite = false;
  // With --resume: the new epoch count when --epochs was given, else 0 (the
  // run keeps its own); set by parse_train_command (app_shell.h).
  int64_t resume_epochs = 0;
  // --run's help where an app's default is not runs/<app>-<time> (the judge's).
  std::string run_help;
  // `app` names the default run directory in --run's help (runs/<app>-<time>).
  void add_to(ArgParser& args, const std::string& app);
};

// Runs an app's main body, turning errors into one line on stderr and an
// exit status: UsageError -> 2, any other error -> 1.
int run_app(const std::string& app, const std::function<int()>& body);

// The main() of an app with commands (`infogan train ...`): runs the command
// named by argv[1] with the whole argv (its flags start at argv[2]) under
// run_app; `help`, --help or -h print `usage`; a missing or unknown command
// prints it on stderr and is a UsageError.
using Command = std::function<int(int argc, char** argv)>;
int run_commands(const std::string& app, const std::string& usage,
                 const std::vector<std::pair<std::string, Command>>& commands, int argc, char** argv);

}  // namespace dl
