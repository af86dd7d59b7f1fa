// test_config_table.cpp — one table entry per hyper-parameter gives its flag
// and check, the JSON round trip, validation and the resume rule
// (apps/common/config_table.h).
#include <string>
#include <vector>

#include "common/config_table.h"
#include "dl.h"
#include "doctest/doctest.h"

using namespace dl;

namespace {

struct ToyConfig : TabledConfig<ToyConfig> {
  int64_t epochs = 10;
  double lr = 1e-3;
  std::string loss = "bce";
  std::string mode = "new";   // a setting added later: "old" before it existed
  std::string fixed = "toy";  // set by the app, no flag

  std::vector<ConfigEntry> table() {
    return {
        {ConfigEntry("epochs", &epochs, "--epochs", "passes", Range::at_least(1)).resumable_flag()},
        {"lr", &lr, "--lr", "learning rate", Range::above(0)},
        {"loss", &loss, "--loss", "loss", Choices{"bce", "mse"}},
        {"fixed", &fixed, "", "", Choices{"toy"}},
        {ConfigEntry("mode", &mode, "--mode", "mode", Choices{"old", "new"}).added_later(std::string("old"))},
    };
  }
};

std::string error_in(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Parses `words` as a command's flags (after argv[0] and the command) into
// `config`, with --resume's checks when `resume`; returns the error's text or "".
std::string parse_flags(ToyConfig& config, std::vector<std::string> words, bool resume = false) {
  words.insert(words.begin(), {"toy", "train"});
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  ArgParser args("toy train", "a toy");
  const std::vector<ConfigEntry> table = config.table();
  add_config_flags(args, table);
  return error_in([&] {
    args.parse(static_cast<int>(argv.size()), argv.data(), 2);
    if (resume) check_resume_flags(args, table);
  });
}

}  // namespace

TEST_CASE("config table: the JSON, in table order, an added-later key only when it is not its old value") {
  ToyConfig config;
  CHECK(to_json(config.to_json()) == "{\"epochs\":10,\"lr\":0.001,\"loss\":\"bce\",\"fixed\":\"toy\",\"mode\":\"new\"}");
  config.mode = "old";
  CHECK(to_json(config.to_json()) == "{\"epochs\":10,\"lr\":0.001,\"loss\":\"bce\",\"fixed\":\"toy\"}");
  const ToyConfig back = ToyConfig::from_json("{\"lr\": 2, \"loss\": \"mse\"}", "c.json");
  CHECK(back.epochs == 10);  // absent: the default
  CHECK(back.lr == 2.0);     // an integer is a number
  CHECK(back.loss == "mse");
  CHECK(back.mode == "old");  // absent: what a file from before the key means
  CHECK(ToyConfig::from_json(to_json(ToyConfig{}.to_json()), "c.json").mode == "new");
}

TEST_CASE("config table: a file's bad member is an error naming the file and the key") {
  auto error = [](const std::string& text) { return error_in([&] { ToyConfig::from_json(text, "c.json"); }); };
  CHECK(error("{\"epochs\": 2.5}") == "c.json: config 'epochs' must be an integer");
  CHECK(error("{\"lr\": \"fast\"}") == "c.json: config 'lr' must be a number");
  CHECK(error("{\"loss\": 1}") == "c.json: config 'loss' must be a string");
  CHECK(error("{\"momentum\": 0.9}") == "c.json: unknown config key 'momentum'");
  CHECK(error("{\"a\\nb\": 0}") == "c.json: unknown config key 'a\\nb'");
  CHECK(error("[1]") == "c.json: config is not a JSON object");
  CHECK(error("{\"epochs\": 0}") == "c.json: epochs must be >= 1, got 0");
  CHECK(error("{\"loss\": \"l1\"}") == "c.json: loss must be bce or mse, got 'l1'");
  CHECK(error("{\"fixed\": \"other\"}") == "c.json: fixed must be toy, got 'other'");
  ToyConfig config;
  config.lr = 0;
  CHECK(error_in([&] { config.validate(); }) == "lr must be > 0, got 0");
}

TEST_CASE("config table: the flags, their checks, and what --resume may change") {
  ToyConfig config;
  CHECK(parse_flags(config, {"--epochs", "3", "--lr", "0.5", "--mode", "old"}).empty());
  CHECK(config.epochs == 3);
  CHECK(config.lr == 0.5);
  CHECK(config.mode == "old");
  auto fresh = [](std::vector<std::string> words, bool resume = false) {
    ToyConfig config;
    return parse_flags(config, std::move(words), resume);
  };
  CHECK(fresh({"--epochs", "0"}) == "--epochs: must be >= 1, got 0");
  CHECK(fresh({"--lr", "-1"}) == "--lr: must be > 0, got -1");
  CHECK(fresh({"--loss", "l1"}).find("--loss") == 0);
  CHECK(fresh({"--fixed", "x"}).find("unknown flag --fixed") == 0);  // no flag: the app sets it
  CHECK(fresh({"--epochs", "20"}, true).empty());
  CHECK(fresh({"--lr", "0.1"}, true) == "--lr: cannot change when resuming (the run continues with its own config)");
}

TEST_CASE("config table: ranges say what they accept") {
  CHECK(Range::at_least(1).describe() == ">= 1");
  CHECK(Range::above(0).describe() == "> 0");
  CHECK(Range::from_to(1, 1024).describe() == "in [1, 1024]");
  CHECK(Range::from_below(0, 1).describe() == "in [0, 1)");
  CHECK(Range::above_to(0, 1).describe() == "in (0, 1]");
  CHECK(Range::from_below(0, 1).contains(0));
  CHECK_FALSE(Range::from_below(0, 1).contains(1));
  CHECK_FALSE(Range::above_to(0, 1).contains(0));
  CHECK(Range::above_to(0, 1).contains(1));
  CHECK(Range::any().contains(-1e300));
}
