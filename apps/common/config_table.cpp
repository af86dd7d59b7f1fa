// config_table.cpp — see config_table.h.
#include "common/config_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace dl {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The member's value as the messages show it.
std::string value_text(const ConfigEntry::Member& member) {
  if (int64_t* const* integer = std::get_if<int64_t*>(&member)) return std::to_string(**integer);
  if (double* const* number = std::get_if<double*>(&member)) return number_text(**number);
  return "'" + printable(*std::get<std::string*>(member)) + "'";
}

// "a or b", "a, b or c".
std::string choices_text(const Choices& choices) {
  std::string text;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) text += i + 1 == choices.size() ? " or " : ", ";
    text += choices[i];
  }
  return text;
}

// "" when the member's value is accepted, else what is expected ("must be >= 1").
std::string problem(const ConfigEntry& entry) {
  if (const std::string* const* text = std::get_if<std::string*>(&entry.member)) {
    const Choices& c = entry.choices;
    if (c.empty() || std::find(c.begin(), c.end(), **text) != c.end()) return "";
    return "must be " + choices_text(c) + ", got " + value_text(entry.member);
  }
  const double value = std::holds_alternative<int64_t*>(entry.member)
                           ? static_cast<double>(*std::get<int64_t*>(entry.member))
                           : *std::get<double*>(entry.member);
  if (entry.range.contains(value)) return "";
  return "must be " + entry.range.describe() + ", got " + value_text(entry.member);
}

void assign(const ConfigEntry::Member& member, const ConfigEntry::Value& value) {
  if (int64_t* const* integer = std::get_if<int64_t*>(&member)) {
    **integer = std::get<int64_t>(value);
  } else if (double* const* number = std::get_if<double*>(&member)) {
    **number = std::get<double>(value);
  } else {
    *std::get<std::string*>(member) = std::get<std::string>(value);
  }
}

bool equals(const ConfigEntry::Member& member, const ConfigEntry::Value& value) {
  if (int64_t* const* integer = std::get_if<int64_t*>(&member)) return **integer == std::get<int64_t>(value);
  if (double* const* number = std::get_if<double*>(&member)) return **number == std::get<double>(value);
  return *std::get<std::string*>(member) == std::get<std::string>(value);
}

JsonValue member_json(const ConfigEntry::Member& member) {
  if (int64_t* const* integer = std::get_if<int64_t*>(&member)) return JsonValue::integer(**integer);
  if (double* const* number = std::get_if<double*>(&member)) return JsonValue::number(**number);
  return JsonValue::string(*std::get<std::string*>(member));
}

// The entry's `absent` value as a Value, if it has one.
bool absent_value(const ConfigEntry& entry, ConfigEntry::Value& value) {
  if (const int64_t* v = std::get_if<int64_t>(&entry.absent)) value = *v;
  else if (const double* d = std::get_if<double>(&entry.absent)) value = *d;
  else if (const std::string* s = std::get_if<std::string>(&entry.absent)) value = *s;
  else return false;
  return true;
}

}  // namespace

// ---- Range ------------------------------------------------------------------------

Range Range::any() { return {-kInfinity, kInfinity, false, false}; }
Range Range::at_least(double low) { return {low, kInfinity, false, false}; }
Range Range::above(double low) { return {low, kInfinity, true, false}; }
Range Range::from_to(double low, double high) { return {low, high, false, false}; }
Range Range::from_below(double low, double high) { return {low, high, false, true}; }
Range Range::above_to(double low, double high) { return {low, high, true, false}; }

bool Range::contains(double value) const {
  const bool above_low = low_open ? value > low : value >= low;
  const bool below_high = high_open ? value < high : value <= high;
  return above_low && below_high;
}

std::string Range::describe() const {
  if (high == kInfinity) return (low_open ? "> " : ">= ") + number_text(low);
  return std::string("in ") + (low_open ? "(" : "[") + number_text(low) + ", " + number_text(high) +
         (high_open ? ")" : "]");
}

// ---- ConfigEntry ------------------------------------------------------------------

ConfigEntry::ConfigEntry(std::string key_, Member member_, std::string flag_, std::string help_, Range range_)
    : key(std::move(key_)), member(member_), flag(std::move(flag_)), help(std::move(help_)), range(range_) {}

ConfigEntry::ConfigEntry(std::string key_, std::string* member_, std::string flag_, std::string help_,
                         Choices choices_)
    : key(std::move(key_)), member(member_), flag(std::move(flag_)), help(std::move(help_)),
      choices(std::move(choices_)) {}

ConfigEntry& ConfigEntry::resumable_flag() {
  resumable = true;
  return *this;
}

ConfigEntry& ConfigEntry::added_later(Value value) {
  written = Written::UnlessAbsentValue;
  return absent_means(std::move(value));
}

ConfigEntry& ConfigEntry::absent_means(Value value) {
  std::visit([this](auto&& v) { absent = v; }, value);
  return *this;
}

// ---- the uses of a table ----------------------------------------------------------------

void add_config_flags(ArgParser& args, const std::vector<ConfigEntry>& table) {
  for (const ConfigEntry& entry : table) {
    if (entry.flag.empty()) continue;
    if (std::string* const* text = std::get_if<std::string*>(&entry.member)) {
      if (entry.choices.empty()) {
        args.add(entry.flag, *text, entry.help);
      } else {
        args.add_choice(entry.flag, *text, entry.choices, entry.help);
      }
      continue;
    }
    if (int64_t* const* integer = std::get_if<int64_t*>(&entry.member)) {
      args.add(entry.flag, *integer, entry.help);
    } else {
      args.add(entry.flag, std::get<double*>(entry.member), entry.help);
    }
    args.add_check([entry] {
      const std::string what = problem(entry);
      usage_check(what.empty(), entry.flag, what);
    });
  }
}

JsonValue config_json(const std::vector<ConfigEntry>& table) {
  JsonValue::Object members;
  for (const Written pass : {Written::Always, Written::UnlessAbsentValue}) {
    for (const ConfigEntry& entry : table) {
      if (entry.written != pass) continue;
      ConfigEntry::Value absent;
      if (pass == Written::UnlessAbsentValue && absent_value(entry, absent) && equals(entry.member, absent)) continue;
      members.push_back({entry.key, member_json(entry.member)});
    }
  }
  return JsonValue::object(std::move(members));
}

void read_config_json(const std::string& text, const std::string& source, const std::vector<ConfigEntry>& table) {
  const JsonValue json = parse_json(text, source);
  check(json.is_object(), source, ": config is not a JSON object");
  for (const ConfigEntry& entry : table) {
    ConfigEntry::Value absent;
    if (json.find(entry.key) == nullptr && absent_value(entry, absent)) assign(entry.member, absent);
  }
  for (const JsonMember& m : json.as_object()) {
    const auto entry = std::find_if(table.begin(), table.end(), [&](const ConfigEntry& e) { return m.key == e.key; });
    check(entry != table.end(), source, ": unknown config key '", printable(m.key), "'");
    if (int64_t* const* integer = std::get_if<int64_t*>(&entry->member)) {
      const std::optional<int64_t> v = m.value.as_int64();
      check(v.has_value(), source, ": config '", m.key, "' must be an integer");
      **integer = *v;
    } else if (double* const* number = std::get_if<double*>(&entry->member)) {
      check(m.value.is_number(), source, ": config '", m.key, "' must be a number");
      **number = m.value.as_double();
    } else {
      check(m.value.is_string(), source, ": config '", m.key, "' must be a string");
      *std::get<std::string*>(entry->member) = m.value.as_string();
    }
  }
  try {
    check_config(table);
  } catch (const Error& error) {
    throw Error(concat(source, ": ", error.what()));
  }
}

void check_config(const std::vector<ConfigEntry>& table) {
  for (const ConfigEntry& entry : table) {
    const std::string what = problem(entry);
    check(what.empty(), entry.key, " ", what);
  }
}

void check_resume_flags(const ArgParser& args, const std::vector<ConfigEntry>& table) {
  for (const ConfigEntry& entry : table) {
    if (entry.flag.empty() || entry.resumable) continue;
    usage_check(!args.given(entry.flag), entry.flag,
                "cannot change when resuming (the run continues with its own config)");
  }
}

}  // namespace dl
