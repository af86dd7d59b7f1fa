// json.cpp — see json.h. A recursive-descent parser over the bytes of the
// text (depth-limited) and a compact writer.
#include "data/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "tensor/error.h"

namespace dl {

// ---- UTF-8 -------------------------------------------------------------------------

namespace {

// The length of the well-formed UTF-8 sequence starting at p (of `avail`
// bytes), or 0 if there is none. The ranges are the Unicode standard's table
// of well-formed byte sequences (3-7): they exclude overlong forms,
// surrogates (U+D800..U+DFFF) and code points beyond U+10FFFF.
size_t utf8_length(const unsigned char* p, size_t avail) {
  if (avail == 0) return 0;
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;  // a continuation byte, or C0/C1/F5..FF, which never appear
  }
  if (avail < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  }
  return n;
}

void append_utf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

const char kHex[] = "0123456789abcdef";

std::string hex_byte(unsigned char c) { return std::string{kHex[c >> 4], kHex[c & 15]}; }

// How a byte is shown in a parse error: 'x' if printable ASCII, else its value.
std::string describe_byte(unsigned char c) {
  if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  return "byte 0x" + hex_byte(c);
}

const char* type_name(JsonValue::Type type) {
  switch (type) {
    case JsonValue::Type::Null: return "null";
    case JsonValue::Type::Bool: return "a bool";
    case JsonValue::Type::Number: return "a number";
    case JsonValue::Type::String: return "a string";
    case JsonValue::Type::Array: return "an array";
    case JsonValue::Type::Object: return "an object";
  }
  return "?";
}

}  // namespace

bool is_valid_utf8(const std::string& text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = utf8_length(p + i, text.size() - i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string printable(const std::string& text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = p[i];
    const size_t n = utf8_length(p + i, text.size() - i);
    if (n == 0) {
      out += "\\x" + hex_byte(c);
      ++i;
      continue;
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x" + hex_byte(c);
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

// ---- JsonValue -------------------------------------------------------------------

JsonValue JsonValue::null() { return JsonValue(); }

JsonValue JsonValue::boolean(bool value) {
  JsonValue v;
  v.type_ = Type::Bool;
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::number(double value) {
  JsonValue v;
  v.type_ = Type::Number;
  v.number_ = value;
  return v;
}

JsonValue JsonValue::integer(int64_t value) {
  if (value >= 0) return integer(static_cast<uint64_t>(value));
  JsonValue v;
  v.type_ = Type::Number;
  v.int_kind_ = IntKind::Signed;
  v.int_ = value;
  v.number_ = static_cast<double>(value);
  return v;
}

JsonValue JsonValue::integer(uint64_t value) {
  JsonValue v;
  v.type_ = Type::Number;
  v.int_kind_ = IntKind::Unsigned;
  v.uint_ = value;
  v.number_ = static_cast<double>(value);
  return v;
}

JsonValue JsonValue::integer(int value) { return integer(static_cast<int64_t>(value)); }

JsonValue JsonValue::string(std::string value) {
  JsonValue v;
  v.type_ = Type::String;
  v.string_ = std::move(value);
  return v;
}

JsonValue JsonValue::numbers(const std::vector<double>& values) {
  Array items;
  for (double v : values) items.push_back(number(v));
  return array(std::move(items));
}

JsonValue JsonValue::array(Array items) {
  JsonValue v;
  v.type_ = Type::Array;
  v.array_ = std::move(items);
  return v;
}

JsonValue JsonValue::object(Object members) {
  // A hash set rather than set()'s linear find: building a header of many
  // thousands of tensors must not take quadratic time.
  std::unordered_set<std::string> keys;
  for (const JsonMember& member : members) {
    if (!keys.insert(member.key).second) fail("JSON: duplicate key '", printable(member.key), "'");
  }
  JsonValue v;
  v.type_ = Type::Object;
  v.object_ = std::move(members);
  return v;
}

namespace {
[[noreturn]] void wrong_type(const char* expected, JsonValue::Type got) {
  fail("JSON: expected ", expected, ", got ", type_name(got));
}
}  // namespace

bool JsonValue::as_bool() const {
  if (type_ != Type::Bool) wrong_type("a bool", type_);
  return bool_;
}

double JsonValue::as_double() const {
  if (type_ != Type::Number) wrong_type("a number", type_);
  return number_;
}

std::optional<int64_t> JsonValue::as_int64() const {
  if (type_ != Type::Number) return std::nullopt;
  if (int_kind_ == IntKind::Signed) return int_;
  if (int_kind_ == IntKind::Unsigned && uint_ <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(uint_);
  }
  return std::nullopt;
}

std::optional<uint64_t> JsonValue::as_uint64() const {
  if (type_ == Type::Number && int_kind_ == IntKind::Unsigned) return uint_;
  return std::nullopt;
}

const std::string& JsonValue::as_string() const {
  if (type_ != Type::String) wrong_type("a string", type_);
  return string_;
}

const JsonValue::Array& JsonValue::as_array() const {
  if (type_ != Type::Array) wrong_type("an array", type_);
  return array_;
}

const JsonValue::Object& JsonValue::as_object() const {
  if (type_ != Type::Object) wrong_type("an object", type_);
  return object_;
}

const JsonValue* JsonValue::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (const JsonMember& member : object_) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

void JsonValue::push_back(JsonValue item) {
  if (type_ != Type::Array) wrong_type("an array", type_);
  array_.push_back(std::move(item));
}

void JsonValue::set(std::string key, JsonValue value) {
  if (type_ != Type::Object) wrong_type("an object", type_);
  if (find(key) != nullptr) fail("JSON: duplicate key '", printable(key), "'");
  object_.push_back(JsonMember{std::move(key), std::move(value)});
}

bool JsonValue::operator==(const JsonValue& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return bool_ == other.bool_;
    case Type::Number:
      if (int_kind_ != other.int_kind_) return false;
      if (int_kind_ == IntKind::Signed) return int_ == other.int_;
      if (int_kind_ == IntKind::Unsigned) return uint_ == other.uint_;
      // Bit-for-bit, so that 0.0 and -0.0 differ (JSON can write both).
      return number_ == other.number_ && std::signbit(number_) == std::signbit(other.number_);
    case Type::String: return string_ == other.string_;
    case Type::Array: return array_ == other.array_;
    case Type::Object:
      if (object_.size() != other.object_.size()) return false;
      for (size_t i = 0; i < object_.size(); ++i) {
        if (object_[i].key != other.object_[i].key || object_[i].value != other.object_[i].value) return false;
      }
      return true;
  }
  return false;
}

// ---- parser ------------------------------------------------------------------------

class JsonParser {
 public:
  JsonParser(const std::string& text, const std::string& name)
      : text_(text), name_(name), p_(reinterpret_cast<const unsigned char*>(text.data())), size_(text.size()) {}

  JsonValue parse_document() {
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (pos_ < size_) error(pos_, "unexpected ", describe_byte(p_[pos_]), " after the JSON value");
    return value;
  }

 private:
  template <typename... Parts>
  [[noreturn]] void error(size_t at, const Parts&... parts) const {
    fail(name_, ": invalid JSON at offset ", at, ": ", parts...);
  }

  void skip_whitespace() {
    while (pos_ < size_ && (p_[pos_] == ' ' || p_[pos_] == '\t' || p_[pos_] == '\n' || p_[pos_] == '\r')) ++pos_;
  }

  // Consumes `c` (after whitespace) or fails with `what`.
  void expect(char c, const char* what) {
    skip_whitespace();
    if (pos_ >= size_) error(pos_, "unexpected end of input, ", what);
    if (p_[pos_] != static_cast<unsigned char>(c)) error(pos_, what, ", got ", describe_byte(p_[pos_]));
    ++pos_;
  }

  JsonValue parse_value(int depth) {
    skip_whitespace();
    if (pos_ >= size_) error(pos_, "unexpected end of input, expected a value");
    const unsigned char c = p_[pos_];
    switch (c) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return JsonValue::string(parse_string());
      case 't': parse_literal("true"); return JsonValue::boolean(true);
      case 'f': parse_literal("false"); return JsonValue::boolean(false);
      case 'n': parse_literal("null"); return JsonValue::null();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        error(pos_, "unexpected ", describe_byte(c), ", expected a value");
    }
  }

  void parse_literal(const char* word) {
    const size_t n = std::strlen(word);
    if (size_ - pos_ < n || text_.compare(pos_, n, word) != 0) error(pos_, "invalid literal, expected '", word, "'");
    pos_ += n;
  }

  void check_depth(int depth) const {
    // Each level is a recursive call: the limit bounds the stack that hostile input can use.
    if (depth > kJsonMaxDepth) error(pos_, "nesting deeper than ", kJsonMaxDepth, " levels");
  }

  JsonValue parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    JsonValue array = JsonValue::array();
    skip_whitespace();
    if (pos_ < size_ && p_[pos_] == ']') {
      ++pos_;
      return array;
    }
    for (;;) {
      array.array_.push_back(parse_value(depth));
      skip_whitespace();
      if (pos_ >= size_) error(pos_, "unexpected end of input, expected ',' or ']'");
      const unsigned char c = p_[pos_++];
      if (c == ']') return array;
      if (c != ',') error(pos_ - 1, "expected ',' or ']', got ", describe_byte(c));
    }
  }

  JsonValue parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    JsonValue object = JsonValue::object();
    skip_whitespace();
    if (pos_ < size_ && p_[pos_] == '}') {
      ++pos_;
      return object;
    }
    // A hash set, not find(): a header with many thousands of names must not
    // cost quadratic time to check.
    std::unordered_set<std::string> keys;
    for (;;) {
      skip_whitespace();
      if (pos_ >= size_) error(pos_, "unexpected end of input, expected a string key");
      if (p_[pos_] != '"') error(pos_, "expected a string key, got ", describe_byte(p_[pos_]));
      const size_t key_at = pos_;
      std::string key = parse_string();
      if (!keys.insert(key).second) error(key_at, "duplicate key '", printable(key), "'");
      expect(':', "expected ':' after an object key");
      JsonValue value = parse_value(depth);
      object.object_.push_back(JsonMember{std::move(key), std::move(value)});
      skip_whitespace();
      if (pos_ >= size_) error(pos_, "unexpected end of input, expected ',' or '}'");
      const unsigned char c = p_[pos_++];
      if (c == '}') return object;
      if (c != ',') error(pos_ - 1, "expected ',' or '}', got ", describe_byte(c));
    }
  }

  // Four hex digits of a \u escape starting at pos_.
  uint32_t parse_hex4() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      if (pos_ >= size_) error(pos_, "unexpected end of input in a \\u escape");
      const unsigned char c = p_[pos_];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        error(pos_, "invalid hex digit ", describe_byte(c), " in a \\u escape");
      }
      value = value * 16 + digit;
      ++pos_;
    }
    return value;
  }

  std::string parse_string() {
    const size_t start = pos_;
    ++pos_;  // '"'
    std::string out;
    for (;;) {
      if (pos_ >= size_) error(start, "unterminated string");
      const unsigned char c = p_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        parse_escape(out);
      } else if (c < 0x20) {
        error(pos_, "unescaped control character ", describe_byte(c), " in a string");
      } else {
        const size_t n = utf8_length(p_ + pos_, size_ - pos_);
        if (n == 0) error(pos_, "invalid UTF-8 (", describe_byte(c), ") in a string");
        out.append(text_, pos_, n);
        pos_ += n;
      }
    }
  }

  void parse_escape(std::string& out) {
    const size_t at = pos_;
    ++pos_;  // '\\'
    if (pos_ >= size_) error(at, "unterminated string");
    const unsigned char c = p_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: error(at, "invalid escape: ", describe_byte(c), " after a backslash");
    }
    uint32_t code = parse_hex4();
    if (code >= 0xDC00 && code <= 0xDFFF) error(at, "lone low surrogate \\u", hex_byte(code >> 8), hex_byte(code & 0xFF));
    if (code >= 0xD800 && code <= 0xDBFF) {
      // A code point beyond the BMP is written as a surrogate pair; half of
      // one has no UTF-8 encoding.
      if (size_ - pos_ < 2 || p_[pos_] != '\\' || p_[pos_ + 1] != 'u') {
        error(at, "high surrogate \\u", hex_byte(code >> 8), hex_byte(code & 0xFF), " not followed by a low surrogate");
      }
      pos_ += 2;
      const uint32_t low = parse_hex4();
      if (low < 0xDC00 || low > 0xDFFF) {
        error(at, "high surrogate \\u", hex_byte(code >> 8), hex_byte(code & 0xFF), " not followed by a low surrogate");
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code);
  }

  bool digit_at(size_t i) const { return i < size_ && p_[i] >= '0' && p_[i] <= '9'; }

  // RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  JsonValue parse_number() {
    const size_t start = pos_;
    const bool negative = p_[pos_] == '-';
    if (negative) ++pos_;
    if (!digit_at(pos_)) error(start, "invalid number: expected a digit after '-'");
    const size_t int_start = pos_;
    if (p_[pos_] == '0') {
      ++pos_;
      if (digit_at(pos_)) error(start, "invalid number: leading zero");
    } else {
      while (digit_at(pos_)) ++pos_;
    }
    const size_t int_end = pos_;
    size_t frac_start = pos_, frac_end = pos_;
    bool is_int = true;
    if (pos_ < size_ && p_[pos_] == '.') {
      is_int = false;
      ++pos_;
      if (!digit_at(pos_)) error(start, "invalid number: expected a digit after '.'");
      frac_start = pos_;
      while (digit_at(pos_)) ++pos_;
      frac_end = pos_;
    }
    int64_t exponent = 0;
    if (pos_ < size_ && (p_[pos_] == 'e' || p_[pos_] == 'E')) {
      is_int = false;
      ++pos_;
      bool exp_negative = false;
      if (pos_ < size_ && (p_[pos_] == '+' || p_[pos_] == '-')) exp_negative = p_[pos_++] == '-';
      if (!digit_at(pos_)) error(start, "invalid number: expected a digit in the exponent");
      while (digit_at(pos_)) {
        // Saturate: only the order of magnitude matters beyond this.
        if (exponent < 100000000) exponent = exponent * 10 + (p_[pos_] - '0');
        ++pos_;
      }
      if (exp_negative) exponent = -exponent;
    }

    JsonValue v;
    v.type_ = JsonValue::Type::Number;
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    const auto result = std::from_chars(first, last, v.number_);
    if (result.ec == std::errc::result_out_of_range) {
      // from_chars reports both overflow and underflow this way. The decimal
      // order of magnitude tells them apart: a value below 1 underflowed
      // (to zero, as strtod and Python do); one above cannot be a double.
      int64_t magnitude = exponent;
      size_t leading = int_start;
      while (leading < int_end && p_[leading] == '0') ++leading;
      if (leading < int_end) {
        magnitude += static_cast<int64_t>(int_end - leading);
      } else {
        size_t zeros = frac_start;
        while (zeros < frac_end && p_[zeros] == '0') ++zeros;
        magnitude -= static_cast<int64_t>(zeros - frac_start);
      }
      if (magnitude > 0) error(start, "number out of range of a double");
      v.number_ = negative ? -0.0 : 0.0;
    } else if (result.ec != std::errc() || result.ptr != last) {
      error(start, "invalid number");  // not reached: the grammar was checked above
    }
    if (is_int) {
      // Exact integer: accumulate the digits with overflow checks; beyond
      // uint64 (or below int64) only the double remains.
      uint64_t magnitude = 0;
      bool fits = true;
      for (size_t i = int_start; i < int_end && fits; ++i) {
        const uint64_t digit = p_[i] - '0';
        if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) fits = false;
        magnitude = magnitude * 10 + digit;
      }
      if (fits && !negative) {
        v.int_kind_ = JsonValue::IntKind::Unsigned;
        v.uint_ = magnitude;
      } else if (fits && magnitude == 0) {
        v.int_kind_ = JsonValue::IntKind::Unsigned;  // "-0" is the integer 0
      } else if (fits && magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) {
        v.int_kind_ = JsonValue::IntKind::Signed;
        // -(magnitude) computed in unsigned arithmetic: -2^63 has no positive int64.
        v.int_ = static_cast<int64_t>(0 - magnitude);
      }
    }
    return v;
  }

  const std::string& text_;
  const std::string& name_;
  const unsigned char* p_;
  size_t size_;
  size_t pos_ = 0;
};

JsonValue parse_json(const std::string& text, const std::string& name) {
  return JsonParser(text, name).parse_document();
}

// ---- writer ------------------------------------------------------------------------

namespace {

void write_string(std::string& out, const std::string& s) {
  if (!is_valid_utf8(s)) fail("to_json: string '", printable(s), "' is not valid UTF-8");
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00" + hex_byte(c);
        } else {
          out += ch;  // UTF-8 is written as is
        }
    }
  }
  out += '"';
}

void write_value(std::string& out, const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::Null: out += "null"; return;
    case JsonValue::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case JsonValue::Type::Number: {
      if (const auto u = v.as_uint64()) {
        out += std::to_string(*u);
        return;
      }
      if (const auto i = v.as_int64()) {
        out += std::to_string(*i);
        return;
      }
      const double d = v.as_double();
      check(std::isfinite(d), "to_json: ", d, " cannot be written as JSON");
      char buffer[64];
      // to_chars (not printf) because it is independent of the locale and
      // gives the shortest text that reads back to the same double.
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
      std::string text(buffer, result.ptr);
      // 5.0 prints as "5", which would read back as the integer 5.
      if (text.find_first_of(".e") == std::string::npos) text += ".0";
      out += text;
      return;
    }
    case JsonValue::Type::String: write_string(out, v.as_string()); return;
    case JsonValue::Type::Array: {
      out += '[';
      bool first = true;
      for (const JsonValue& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        write_value(out, item);
      }
      out += ']';
      return;
    }
    case JsonValue::Type::Object: {
      out += '{';
      bool first = true;
      for (const JsonMember& member : v.as_object()) {
        if (!first) out += ',';
        first = false;
        write_string(out, member.key);
        out += ':';
        write_value(out, member.value);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string to_json(const JsonValue& value) {
  std::string out;
  write_value(out, value);
  return out;
}

}  // namespace dl
