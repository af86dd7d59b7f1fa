// test_training.cpp — what every app shares (apps/common/cli.h,
// run_directory.h, progress.h and training.h): flag parsing and its
// one-line errors, the exit statuses, and the training loop's logging, NaN
// guard, stop requests and resume position.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "common/cli.h"
#include "common/progress.h"
#include "common/run_directory.h"
#include "common/training.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;

namespace {

// argv from strings (ArgParser reads argv[first..]).
struct Argv {
  std::vector<std::string> words;
  std::vector<char*> pointers;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    for (std::string& word : words) pointers.push_back(word.data());
  }
  int argc() const { return static_cast<int>(pointers.size()); }
  char** argv() { return pointers.data(); }
};

struct Flags {
  int64_t epochs = 5;
  double lr = 0.1;
  std::string name = "x", mode = "a";
  bool resume = false;
};

// Parses `words` (after "app cmd") into fresh Flags; rethrows errors.
Flags parse(std::vector<std::string> words, bool* parsed = nullptr) {
  words.insert(words.begin(), {"app", "cmd"});
  Argv a(words);
  Flags f;
  ArgParser args("app cmd", "test");
  args.add("--epochs", &f.epochs, "epochs");
  args.add("--lr", &f.lr, "learning rate");
  args.add("--name", &f.name, "a name");
  args.add_choice("--mode", &f.mode, {"a", "b"}, "a mode");
  args.add_switch("--resume", &f.resume, "resume");
  args.add_check([&] { usage_check(f.epochs >= 1, "--epochs", "must be >= 1"); });
  const bool ok = args.parse(a.argc(), a.argv(), 2);
  if (parsed) *parsed = ok;
  return f;
}

std::string usage_error(std::vector<std::string> words) {
  try {
    parse(std::move(words));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

// MNIST-shaped loader input: n images whose first pixel is the image index.
DataLoader numbered_loader(int64_t n, int64_t batch) {
  std::vector<double> pixels(static_cast<size_t>(n * 28 * 28), 0.0), labels(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) pixels[static_cast<size_t>(i * 784)] = static_cast<double>(i);
  return DataLoader(tensor(pixels, {n, 28, 28}, DType::UInt8), tensor(labels, {n}, DType::Int64), batch, false, 0,
                    true, PixelScale::ZeroOne);
}

// The loop's options for `epochs` epochs of an app called "t".
TrainLoopOptions loop_options(int64_t epochs) {
  TrainLoopOptions options;
  options.app = "t";
  options.epochs = epochs;
  return options;
}

}  // namespace

TEST_CASE("flags: values, defaults, --flag=value, switches and choices") {
  const Flags defaults = parse({});
  CHECK(defaults.epochs == 5);
  CHECK(defaults.lr == 0.1);
  const Flags f = parse({"--epochs", "7", "--lr=0.5", "--name", "run 1", "--mode", "b", "--resume"});
  CHECK(f.epochs == 7);
  CHECK(f.lr == 0.5);
  CHECK(f.name == "run 1");
  CHECK(f.mode == "b");
  CHECK(f.resume);
  bool parsed = true;
  parse({"--epochs", "3", "--help"}, &parsed);
  CHECK_FALSE(parsed);  // the help was printed; the command does not run
}

TEST_CASE("flags: every mistake is a one-line UsageError naming the flag") {
  CHECK(usage_error({"--epoch", "3"}) == "unknown flag --epoch (see app cmd --help)");
  CHECK(usage_error({"extra"}) == "unexpected argument 'extra' (see app cmd --help)");
  CHECK(usage_error({"--epochs", "3x"}) == "--epochs: expected an integer, got '3x'");
  CHECK(usage_error({"--epochs", ""}) == "--epochs: expected an integer, got ''");
  CHECK(usage_error({"--epochs", "99999999999999999999"}) ==
        "--epochs: expected an integer, got '99999999999999999999'");
  CHECK(usage_error({"--lr", "nan"}) == "--lr: expected a finite number, got 'nan'");
  CHECK(usage_error({"--epochs"}) == "--epochs: expected a value");
  CHECK(usage_error({"--epochs", "1", "--epochs", "2"}) == "--epochs: given twice");
  CHECK(usage_error({"--mode", "c"}) == "--mode: expected one of a|b, got 'c'");
  CHECK(usage_error({"--resume=yes"}) == "--resume: takes no value");
  CHECK(usage_error({"--epochs", "0"}) == "--epochs: must be >= 1");
}

TEST_CASE("--device: cpu, auto and refused GPUs") {
  CHECK(parse_device_flag("cpu") == Device::cpu());
  CHECK(parse_device_flag("auto") == (cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu()));
  CHECK_THROWS_WITH_AS(parse_device_flag("gpu"), "--device: device 'gpu': expected cpu, cuda, cuda:N or auto",
                       UsageError);
  CHECK_THROWS_AS(parse_device_flag("cuda:x"), UsageError);
  CHECK_THROWS_WITH_AS(parse_device_flag("cuda:" + std::to_string(cuda_device_count())),
                       doctest::Contains("--device: device 'cuda:"), UsageError);
}

TEST_CASE("run_app and run_commands: exit status 2 for usage errors, 1 for failures, the body's own otherwise") {
  CHECK(run_app("t", [] { return 7; }) == 7);
  CHECK(run_app("t", []() -> int { throw UsageError("--x: bad"); }) == 2);
  CHECK(run_app("t", []() -> int { fail("file.bin: truncated"); }) == 1);

  const std::vector<std::pair<std::string, Command>> commands = {
      {"count", [](int argc, char**) { return argc; }},
      {"broken", [](int, char**) -> int { throw UsageError("--x: bad"); }}};
  Argv count({"app", "count", "--a", "1"}), broken({"app", "broken"}), help({"app", "--help"}),
      unknown({"app", "cont"}), none({"app"});
  CHECK(run_commands("app", "usage\n", commands, count.argc(), count.argv()) == 4);
  CHECK(run_commands("app", "usage\n", commands, broken.argc(), broken.argv()) == 2);
  CHECK(run_commands("app", "usage\n", commands, help.argc(), help.argv()) == 0);
  CHECK(run_commands("app", "usage\n", commands, unknown.argc(), unknown.argv()) == 2);
  CHECK(run_commands("app", "usage\n", commands, none.argc(), none.argv()) == 2);
}

TEST_CASE("run directories: created with checkpoints/ and samples/, latest moves only when marked") {
  test::TempDir dir;
  const RunDirectory a = RunDirectory::create("app", dir.file("runs/first"), false);
  CHECK(std::filesystem::is_directory(a.file("checkpoints")));
  CHECK(std::filesystem::is_directory(a.file("samples")));
  CHECK_FALSE(std::filesystem::exists(dir.file("runs/latest")));  // no checkpoint yet
  a.mark_latest();
  CHECK(std::filesystem::read_symlink(dir.file("runs/latest")) == "first");
  RunDirectory::create("app", dir.file("runs/second/"), false);
  CHECK(std::filesystem::read_symlink(dir.file("runs/latest")) == "first");  // a start is not a run yet
  CHECK(RunDirectory::open(dir.file("runs/latest")).checkpoint() == dir.file("runs/latest") + "/checkpoints/latest.safetensors");
  CHECK_THROWS_WITH_AS(RunDirectory::open(dir.file("runs/none")), doctest::Contains("no such run directory"), Error);
  // A file in the way is named.
  write_file_atomic(dir.file("blocked"), "x");
  CHECK_THROWS_WITH_AS(make_directories(dir.file("blocked/run")), doctest::Contains("blocked"), Error);
}

TEST_CASE("run directories: opening one for --resume recreates its folders and removes a dead writer's temporaries") {
  test::TempDir dir;
  const RunDirectory run = RunDirectory::create("app", dir.file("run"), false);
  std::filesystem::remove(run.file("samples"));
  // A temporary of a process that is gone, and one of a process that lives.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const std::string stale = run.file("checkpoints/latest.safetensors.tmp." + std::to_string(child));
  const std::string live = run.file("losses.csv.tmp." + std::to_string(::getppid()));
  write_file_atomic(stale, "half a checkpoint");
  write_file_atomic(live, "being written");
  RunDirectory::open(run.path());
  CHECK(std::filesystem::is_directory(run.file("samples")));
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(live));
}

TEST_CASE("run directories: a run is never overwritten without --overwrite, and --overwrite empties only runs") {
  test::TempDir dir;
  const std::string path = dir.file("run");
  const RunDirectory run = RunDirectory::create("app", path, false);
  // What a start that failed before its first checkpoint leaves is no run.
  write_file_atomic(run.file("config.json"), "{}");
  CHECK_NOTHROW(RunDirectory::create("app", path, false));
  // A log or a checkpoint is.
  write_file_atomic(run.file("losses.csv"), "epoch,iteration\n");
  write_file_atomic(run.file("samples/epoch_001.png"), "png");
  CHECK_THROWS_WITH_AS(RunDirectory::create("app", path, false),
                       (path + ": already holds a run; continue it with --resume, or start over in it with --overwrite")
                           .c_str(),
                       Error);
  CHECK(std::filesystem::exists(run.file("losses.csv")));
  RunDirectory::create("app", path, true);
  CHECK_FALSE(std::filesystem::exists(run.file("losses.csv")));
  CHECK_FALSE(std::filesystem::exists(run.file("samples/epoch_001.png")));  // no stale images beside the new run's
  CHECK(std::filesystem::is_directory(run.file("checkpoints")));
  // A directory that is not a run is not emptied, even with --overwrite.
  const std::string home = dir.file("home");
  write_file_atomic(dir.file("home.txt"), "x");
  std::filesystem::create_directories(home);
  std::filesystem::copy_file(dir.file("home.txt"), home + "/notes.txt");
  CHECK_THROWS_WITH_AS(RunDirectory::create("app", home, true), doctest::Contains("is not a run directory"), Error);
  CHECK(std::filesystem::exists(home + "/notes.txt"));
}

TEST_CASE("the loop: one log row per iteration, a checkpoint per epoch, resumable mid-epoch") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(10, 3);  // 3 batches per epoch (drop_last)
  std::vector<double> seen;                    // the first image index of each batch trained
  std::vector<TrainPosition> saves;
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch& batch) {
    seen.push_back(std::round(batch.images.select(0, 0).flatten().select(0, 0).item() * 255.0));
    return tensor({static_cast<double>(seen.size())}, {1});
  };
  hooks.save = [&](const TrainPosition& pos) { saves.push_back(pos); };
  TrainLoopOptions options;
  options.app = "t";
  options.epochs = 2;
  options.log_every = 1000;

  SUBCASE("a whole run") {
    CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
    TrainPosition pos;
    CHECK(run_training(loader, pos, options, log, hooks) == 0);
    CHECK(seen == std::vector<double>{0, 3, 6, 0, 3, 6});
    REQUIRE(saves.size() == 2);
    CHECK((saves[1].epoch == 2 && saves[1].batch == 0 && saves[1].iteration == 6));
    const auto rows = read_csv_numbers(dir.file("log.csv"));
    REQUIRE(rows.size() == 6);
    CHECK(rows[4] == std::vector<double>{1, 4, 5});
  }
  SUBCASE("stopped after 4 iterations, then resumed") {
    install_stop_handlers();
    options.max_iterations = 4;
    TrainPosition pos;
    {
      CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
      CHECK(run_training(loader, pos, options, log, hooks) == 0);
    }
    CHECK((pos.epoch == 1 && pos.batch == 1 && pos.iteration == 4));
    REQUIRE(saves.size() == 2);  // end of epoch 1, and the stop
    CHECK((saves[1].epoch == 1 && saves[1].batch == 1));
    options.max_iterations = 0;
    CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
    restore_log(dir.file("log.csv"), pos.iteration, log);
    CHECK(log.rows() == 4);
    CHECK(run_training(loader, pos, options, log, hooks) == 0);
    CHECK(seen == std::vector<double>{0, 3, 6, 0, 3, 6});  // the resumed run skipped batch 0 of epoch 2
    CHECK(read_csv_numbers(dir.file("log.csv")).size() == 6);
  }
}

TEST_CASE("the loop: SIGTERM finishes the iteration, writes a checkpoint and returns 143") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(10, 2);
  std::vector<TrainPosition> saves;
  TrainLoopHooks hooks;
  install_stop_handlers();
  hooks.step = [&](const Batch& batch) {
    if (batch.index == 1) std::raise(SIGTERM);  // arrives during the second iteration
    return tensor({0.0}, {1});
  };
  hooks.save = [&](const TrainPosition& pos) { saves.push_back(pos); };
  TrainLoopOptions options;
  options.app = "t";
  CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
  TrainPosition pos;
  CHECK(run_training(loader, pos, options, log, hooks) == 128 + SIGTERM);
  REQUIRE(saves.size() == 1);
  CHECK((saves[0].epoch == 0 && saves[0].batch == 2 && saves[0].iteration == 2));
  CHECK(read_csv_numbers(dir.file("log.csv")).size() == 2);
  install_stop_handlers();       // forgets the request, so later tests train on
  std::signal(SIGINT, SIG_DFL);  // and the test process gets its defaults back
  std::signal(SIGTERM, SIG_DFL);
}

TEST_CASE("the loop: a NaN or Inf stops training with the iteration named, without a checkpoint") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(12, 2);
  int calls = 0, saves = 0;
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch&) {
    ++calls;
    return tensor({1.0, calls == 8 ? INFINITY : 0.5}, {2});
  };
  hooks.save = [&](const TrainPosition&) { ++saves; };
  TrainLoopOptions options;
  options.app = "t";
  options.epochs = 3;
  CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "a", "b"});
  TrainPosition pos;
  CHECK_THROWS_WITH_AS(run_training(loader, pos, options, log, hooks),
                       "t train: b is inf at iteration 8 (epoch 2, batch 2); stopping — the last good checkpoint is kept",
                       Error);
  CHECK(saves == 1);  // only the end of epoch 1

  // An error inside the step gets the same context.
  hooks.step = [&](const Batch&) -> Tensor { fail("conv2d: bad input"); };
  pos = TrainPosition{};
  CHECK_THROWS_WITH_AS(run_training(loader, pos, options, log, hooks),
                       "t train: iteration 1 (epoch 1, batch 1): conv2d: bad input; stopping — the last good "
                       "checkpoint is kept",
                       Error);
}

TEST_CASE("the loop: values read back in batches (read_every) log the same rows and name a NaN's iteration") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(14, 2);  // 7 batches per epoch: reads after 4, then 3 at the epoch's end
  int calls = 0;
  std::vector<int64_t> rows_at_save;
  TrainLoopHooks hooks;
  TrainLoopOptions options;
  options.app = "t";
  options.epochs = 2;
  options.read_every = 4;
  CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
  hooks.step = [&](const Batch&) { return tensor({static_cast<double>(++calls)}, {1}); };
  hooks.save = [&](const TrainPosition&) { rows_at_save.push_back(log.rows()); };
  TrainPosition pos;
  CHECK(run_training(loader, pos, options, log, hooks) == 0);
  CHECK(rows_at_save == std::vector<int64_t>{7, 14});  // every pending row is logged before a checkpoint
  const auto rows = read_csv_numbers(dir.file("log.csv"));
  REQUIRE(rows.size() == 14);
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i] == std::vector<double>{i < 7 ? 0.0 : 1.0, double(i), double(i + 1)});
  }

  // A NaN in the middle of a batch of reads is named at its own iteration.
  calls = 0;
  hooks.step = [&](const Batch&) { return tensor({++calls == 10 ? NAN : 0.5}, {1}); };
  pos = TrainPosition{};
  CsvLog again(dir.file("again.csv"), {"epoch", "iteration", "value"});
  CHECK_THROWS_WITH_AS(run_training(loader, pos, options, again, hooks),
                       "t train: value is nan at iteration 10 (epoch 2, batch 3); stopping — the last good checkpoint "
                       "is kept",
                       Error);
}

TEST_CASE("the loop: the log is on disk before each checkpoint; a resume drops rows past it and refuses a hole") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(10, 3);  // 3 batches per epoch
  const std::vector<std::string> columns = {"epoch", "iteration", "value"};
  const std::string path = dir.file("log.csv");
  std::vector<size_t> rows_on_disk;
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch&) { return tensor({1.0}, {1}); };
  hooks.save = [&](const TrainPosition& pos) {
    rows_on_disk.push_back(read_csv_numbers(path).size());
    CHECK(rows_on_disk.back() == static_cast<size_t>(pos.iteration));
  };
  const TrainLoopOptions options = loop_options(2);
  {
    CsvLog log(path, columns);
    TrainPosition pos;
    CHECK(run_training(loader, pos, options, log, hooks) == 0);
  }
  CHECK(rows_on_disk == std::vector<size_t>{3, 6});

  // Rows past the checkpoint (a crash after the log, before the checkpoint)
  // are dropped: the resumed run trains them again.
  {
    CsvLog resumed(path, columns);
    restore_log(path, 4, resumed);
    CHECK(resumed.rows() == 4);
  }
  // A log with a hole, or one shorter than the checkpoint, is refused and
  // left as it is.
  const std::string holed = dir.file("holed.csv");
  {
    CsvLog log(holed, columns);
    for (double i : {0, 1, 3, 4, 5}) log.append({0, i, 1.0});
    log.flush();
  }
  const std::vector<uint8_t> before = read_file(holed);
  CsvLog resumed(holed, columns);
  CHECK_THROWS_WITH_AS(restore_log(holed, 5, resumed),
                       (holed + ": has no row for iteration 2 but the checkpoint is at iteration 5 (the log was "
                                "damaged; restore it, or start over with --overwrite)")
                           .c_str(),
                       Error);
  CHECK_THROWS_WITH_AS(restore_log(path, 7, resumed), doctest::Contains("has no row for iteration 6"), Error);
  CHECK(read_file(holed) == before);
}

TEST_CASE("the loop: a failing end-of-epoch artifact costs no checkpoint; a position that does not fit is refused") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(10, 3);
  int saves = 0;
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch&) { return tensor({1.0}, {1}); };
  hooks.end_of_epoch = [&](int64_t) { fail("samples/epoch_001.png: cannot write: No such file or directory"); };
  hooks.save = [&](const TrainPosition&) { ++saves; };
  const TrainLoopOptions options = loop_options(2);
  CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
  TrainPosition pos;
  CHECK(run_training(loader, pos, options, log, hooks) == 0);
  CHECK(saves == 2);

  for (const TrainPosition& bad : {TrainPosition{0, 3, 3, ""}, TrainPosition{1, 0, 2, ""}, TrainPosition{0, -1, 0, ""}}) {
    TrainPosition at = bad;
    CHECK_THROWS_WITH_AS(run_training(loader, at, options, log, hooks),
                         doctest::Contains("does not fit 3 batches per epoch"), Error);
  }
}

TEST_CASE("divergence: a saturated discriminator over 200 iterations, or a loss above 1e4, and nothing less") {
  const std::vector<std::string> columns = {"epoch", "iteration", "loss_D", "loss_G", "D(x)", "D(G(z))"};
  DivergenceWatch saturated(columns), close(columns), no_d(std::vector<std::string>{"epoch", "iteration", "loss"});
  for (int64_t i = 0; i < 199; ++i) CHECK(saturated.observe(i, {0, double(i), 0.01, 9.0, 0.999, 0.001}).empty());
  CHECK(saturated.observe(199, {0, 199, 0.01, 9.0, 0.999, 0.001}) ==
        "the discriminator saturated at iteration 200: mean D(x) 0.999, mean D(G(z)) 0.001 over the last 200 "
        "iterations");
  // D(x) 0.98 on average is a strong discriminator, not a saturated one.
  for (int64_t i = 0; i < 400; ++i) CHECK(close.observe(i, {0, double(i), 0.05, 6.0, i % 2 ? 0.999 : 0.961, 0.001}).empty());
  CHECK(close.observe(400, {0, 400, 0.05, 1e4, 0.98, 0.001}).empty());
  CHECK(close.observe(401, {0, 401, 0.05, -2e4, 0.98, 0.001}) == "loss_G is -20000 at iteration 402 (above 10000)");
  CHECK(no_d.observe(0, {0, 0, 123.0}).empty());
}

TEST_CASE("the loop: divergence is warned once, kept in the checkpoint's position, and training goes on") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(10, 1);  // 10 batches per epoch
  int calls = 0;
  std::vector<TrainPosition> saves;
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch&) { return tensor({++calls >= 4 ? 5e4 : 1.0}, {1}); };
  hooks.save = [&](const TrainPosition& pos) { saves.push_back(pos); };
  const TrainLoopOptions options = loop_options(2);
  CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "loss"});
  TrainPosition pos;
  CHECK(run_training(loader, pos, options, log, hooks) == 0);
  CHECK(calls == 20);
  REQUIRE(saves.size() == 2);
  CHECK(saves[0].divergence == "loss is 50000 at iteration 4 (above 10000)");
  CHECK(saves[1].divergence == saves[0].divergence);  // the first one is kept
}

TEST_CASE("the loop: a NaN leaves the log written up to the iteration before it") {
  test::TempDir dir;
  DataLoader loader = numbered_loader(10, 2);  // 5 batches per epoch
  int calls = 0;
  TrainLoopHooks hooks;
  hooks.step = [&](const Batch&) { return tensor({++calls == 8 ? NAN : 0.5}, {1}); };
  hooks.save = [&](const TrainPosition&) {};
  const TrainLoopOptions options = loop_options(2);
  CsvLog log(dir.file("log.csv"), {"epoch", "iteration", "value"});
  TrainPosition pos;
  CHECK_THROWS_AS(run_training(loader, pos, options, log, hooks), Error);
  CHECK(read_csv_numbers(dir.file("log.csv")).size() == 7);
}

TEST_CASE("a loader resumed mid-epoch serves the rest of that epoch's batches, unchanged") {
  DataLoader loader = numbered_loader(10, 2);
  loader.start_epoch(1, 3);
  std::vector<int64_t> indices;
  while (std::optional<Batch> b = loader.next()) indices.push_back(b->index);
  CHECK(indices == std::vector<int64_t>{3, 4});
  CHECK_THROWS_AS(loader.start_epoch(0, 6), Error);
}
