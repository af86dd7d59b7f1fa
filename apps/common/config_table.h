// config_table.h — an app's hyper-parameters, each declared once.
//
// Every config struct (InfoGanConfig, GanConfig, VaeConfig, JudgeConfig)
// lists its fields in one table: the JSON key, the member, the flag, the
// help, the accepted values and whether --resume may change it. From that
// one entry come the command-line flag and its check, the config.json /
// checkpoint round trip, the validation of a config read from a file, and
// the refusal of a flag that a resumed run may not change:
//
//   std::vector<ConfigEntry> VaeConfig::table() {
//     return {
//       {"latent", &latent, "--latent", "latent dimensions", Range::from_to(1, 1024)},
//       {"recon", &recon, "--recon", "reconstruction loss", Choices{"bce", "mse"}},
//       ...
//     };
//   }
//
// So a new hyper-parameter is one line in its config's table (and the code
// that uses it).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/cli.h"
#include "data/json.h"

namespace dl {

// The numbers a field accepts: an interval whose ends are open or closed.
struct Range {
  double low, high;
  bool low_open, high_open;
  static Range any();
  static Range at_least(double low);        // [low, inf)
  static Range above(double low);           // (low, inf)
  static Range from_to(double low, double high);       // [low, high]
  static Range from_below(double low, double high);    // [low, high)
  static Range above_to(double low, double high);      // (low, high]
  bool contains(double value) const;
  std::string describe() const;  // ">= 1", "> 0", "in [0, 1)"
};

// The strings a field accepts.
using Choices = std::vector<std::string>;

// When a field is written to the config JSON.
enum class Written {
  Always,
  // Only when it differs from `absent`: a field added after checkpoints
  // without it existed, so that the configs that do not use it stay byte
  // for byte as they were. These come after the Always fields.
  UnlessAbsentValue,
};

struct ConfigEntry {
  using Member = std::variant<int64_t*, double*, std::string*>;
  using Value = std::variant<int64_t, double, std::string>;

  std::string key;   // in config.json and the checkpoint: "lambda_class"
  Member member;
  std::string flag;  // "--lambda-class"; "" when the app fixes the value (no flag)
  std::string help;
  Range range = Range::any();  // numbers
  Choices choices;             // strings; empty: any
  // --resume may change it: only the length of the run (a resumed run
  // continues with its checkpoint's config otherwise).
  bool resumable = false;
  Written written = Written::Always;
  // What a config file without the key means, when that is not the
  // current default (configs written before the field existed); and the
  // value that Written::UnlessAbsentValue leaves out.
  std::variant<std::monostate, int64_t, double, std::string> absent;

  ConfigEntry(std::string key, Member member, std::string flag, std::string help, Range range = Range::any());
  ConfigEntry(std::string key, std::string* member, std::string flag, std::string help, Choices choices);
  ConfigEntry& resumable_flag();
  // Written only when not `value`, and `value` when absent from a file.
  ConfigEntry& added_later(Value value);
  // `value` when absent from a file (still written always).
  ConfigEntry& absent_means(Value value);
};

// The flags of the entries that have one, in table order, each checked
// against its range or choices (UsageError "--batch: must be >= 1, got 0").
void add_config_flags(ArgParser& args, const std::vector<ConfigEntry>& table);

// The config as a JSON object: the Always entries in table order, then
// the UnlessAbsentValue ones that differ from their absent value.
JsonValue config_json(const std::vector<ConfigEntry>& table);

// Reads a config object into the table's members: a key it lacks gets its
// entry's `absent` value (or keeps the member's value); a key not in the
// table, a value of the wrong type or out of range is an Error naming
// `source` and the key.
void read_config_json(const std::string& text, const std::string& source, const std::vector<ConfigEntry>& table);

// Error naming the key unless every member is in its range or choices
// ("batch must be >= 1, got 0").
void check_config(const std::vector<ConfigEntry>& table);

// With --resume: a UsageError for the first flag given on the command line
// whose entry is not resumable.
void check_resume_flags(const ArgParser& args, const std::vector<ConfigEntry>& table);

// What a config struct gets from its table (`Config` derives from
// TabledConfig<Config> and defines `std::vector<ConfigEntry> table()`,
// whose entries point at its members). The table is built on a copy where
// the config is const: entries hold pointers, not values.
template <typename Config>
struct TabledConfig {
  JsonValue to_json() const { return config_json(self_copy().table()); }
  // Error naming the field whose value is out of range.
  void validate() const { check_config(self_copy().table()); }
  // The defaults, overridden by the keys of `text` (see read_config_json).
  static Config from_json(const std::string& text, const std::string& source) {
    Config config;
    read_config_json(text, source, config.table());
    return config;
  }

 private:
  Config self_copy() const { return static_cast<const Config&>(*this); }
};

}  // namespace dl
