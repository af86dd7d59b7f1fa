// cli.cpp — see cli.h.
#include "common/cli.h"

#include "tensor/cpu/thread_pool.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>


namespace dl {

namespace {

std::string shortest(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

int64_t parse_int(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  usage_check(!text.empty() && *end == '\0' && errno == 0, flag, "expected an integer, got '" + text + "'");
  return value;
}

double parse_double(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  usage_check(!text.empty() && *end == '\0' && errno == 0 && std::isfinite(value), flag,
              "expected a finite number, got '" + text + "'");
  return value;
}

}  // namespace

void usage_check(bool ok, const std::string& flag, const std::string& what) {
  if (!ok) throw UsageError(flag + ": " + what);
}

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::add_option(Option option) {
  check(option.flag.rfind("--", 0) == 0 && find(option.flag) == nullptr, "ArgParser: bad or repeated flag ",
        option.flag);
  options_.push_back(std::move(option));
}

void ArgParser::add(const std::string& flag, int64_t* target, const std::string& help) {
  add_option({flag, help, std::to_string(*target), {}, false,
              [flag, target](const std::string& text) { *target = parse_int(flag, text); }});
}

void ArgParser::add(const std::string& flag, double* target, const std::string& help) {
  add_option({flag, help, shortest(*target), {}, false,
              [flag, target](const std::string& text) { *target = parse_double(flag, text); }});
}

void ArgParser::add(const std::string& flag, std::string* target, const std::string& help) {
  add_option({flag, help, *target, {}, false, [target](const std::string& text) { *target = text; }});
}

void ArgParser::add_choice(const std::string& flag, std::string* target, std::vector<std::string> choices,
                           const std::string& help) {
  std::string list;
  for (const std::string& choice : choices) list += (list.empty() ? "" : "|") + choice;
  add_option({flag, help, *target, choices, false, [flag, target, choices, list](const std::string& text) {
                usage_check(std::find(choices.begin(), choices.end(), text) != choices.end(), flag,
                            "expected one of " + list + ", got '" + text + "'");
                *target = text;
              }});
}

void ArgParser::add_switch(const std::string& flag, bool* target, const std::string& help) {
  add_option({flag, help, "", {}, true, [target](const std::string&) { *target = true; }});
}

const ArgParser::Option* ArgParser::find(const std::string& flag) const {
  for (const Option& option : options_) {
    if (option.flag == flag) return &option;
  }
  return nullptr;
}

bool ArgParser::given(const std::string& flag) const {
  return std::find(given_.begin(), given_.end(), flag) != given_.end();
}

bool ArgParser::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << help();
      return false;
    }
    // --flag=value is accepted as well as --flag value.
    std::string value;
    bool has_inline_value = false;
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Option* option = find(arg);
    if (option == nullptr) {
      throw UsageError(arg.rfind("-", 0) == 0 ? "unknown flag " + arg + " (see " + command_ + " --help)"
                                              : "unexpected argument '" + arg + "' (see " + command_ + " --help)");
    }
    usage_check(!given(arg), arg, "given twice");
    if (option->is_switch) {
      usage_check(!has_inline_value, arg, "takes no value");
    } else if (!has_inline_value) {
      usage_check(i + 1 < argc, arg, "expected a value");
      value = argv[++i];
    }
    option->set(value);
    given_.push_back(arg);
  }
  for (const auto& check_fn : checks_) check_fn();
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream out;
  out << "usage: " << command_ << " [flags]\n" << summary_ << "\n\nflags:\n";
  for (const Option& option : options_) {
    std::string left = "  " + option.flag;
    if (!option.is_switch) left += option.choices.empty() ? " V" : " {...}";
    out << left << std::string(left.size() < 24 ? 24 - left.size() : 1, ' ') << option.help;
    if (!option.choices.empty()) {
      out << " (";
      for (size_t i = 0; i < option.choices.size(); ++i) out << (i ? "|" : "") << option.choices[i];
      out << ")";
    }
    if (!option.is_switch && !option.default_text.empty()) out << " [default: " << option.default_text << "]";
    out << "\n";
  }
  out << "  --help                show this help\n";
  return out.str();
}

std::string peek_flag(int argc, char** argv, int first, const std::string& flag) {
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == flag && i + 1 < argc) return argv[i + 1];
    if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
  }
  return "";
}

void add_threads_flag(ArgParser& args, int64_t* threads) {
  args.add("--threads", threads, "CPU threads (0: all cores, or $DL_NUM_THREADS)");
  args.add_check([threads] {
    usage_check(*threads >= 0 && *threads <= 1024, "--threads", "must be in [0, 1024]");
    if (*threads > 0) set_num_threads(static_cast<int>(*threads));
  });
}

Device parse_device_flag(const std::string& text) {
  try {
    return parse_device(text);
  } catch (const Error& e) {
    throw UsageError(std::string("--device: ") + e.what());
  }
}

void TrainLoopFlags::add_to(ArgParser& args, const std::string& app) {
  args.add("--device", &device, "cpu, cuda, cuda:N or auto");
  add_threads_flag(args, &threads);
  args.add("--data", &data_dir,
           "data directory (default: $MNIST_DIR or data/mnist; with --dataset fashion: $FASHION_MNIST_DIR or "
           "data/fashion-mnist)");
  args.add("--run", &run_dir,
           run_help.empty() ? "run directory (default: runs/" + app + "-<time>; with --resume: runs/latest)" : run_help);
  args.add_switch("--resume", &resume, "continue the run's latest checkpoint (its own config; --epochs may grow)");
  args.add_switch("--overwrite", &overwrite,
                  "start over in a --run directory that already holds a run, deleting it (without this, "
                  "train refuses)");
  args.add("--log-every", &log_every, "iterations between progress lines when not on a terminal");
  args.add("--max-iters", &max_iterations, "stop with a checkpoint after this many iterations (0: no limit)");
  args.add("--read-every", &read_every,
           "read the logged values back every N iterations (0: 1 on the CPU, 25 on a GPU)");
  args.add_choice("--cuda-graph", &cuda_graph, {"on", "off"},
                  "on a GPU, replay each step from a CUDA graph (same numbers, less host work)");
  args.add_check([this] {
    usage_check(log_every >= 1, "--log-every", "must be >= 1");
    usage_check(max_iterations >= 0, "--max-iters", "must be >= 0");
    usage_check(read_every >= 0, "--read-every", "must be >= 0");
    usage_check(!(resume && overwrite), "--overwrite", "cannot be used with --resume");
  });
}

int run_app(const std::string& app, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << app << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << app << ": error: " << e.what() << "\n";
    return 1;
  }
}

int run_commands(const std::string& app, const std::string& usage,
                 const std::vector<std::pair<std::string, Command>>& commands, int argc, char** argv) {
  return run_app(app, [&]() -> int {
    const std::string name = argc > 1 ? argv[1] : "";
    for (const auto& [command, run] : commands) {
      if (name == command) return run(argc, argv);
    }
    if (name == "help" || name == "--help" || name == "-h") {
      std::cout << usage;
      return 0;
    }
    std::cerr << usage;
    throw UsageError(name.empty() ? "missing command" : "unknown command '" + name + "'");
  });
}

}  // namespace dl
