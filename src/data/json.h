// json.h — a small, strict JSON (RFC 8259) reader and writer, written for
// the safetensors header but correct for any JSON text.
//
// Strict because the input may be hostile (a downloaded checkpoint): the text
// must be UTF-8, nesting is limited (so deep input cannot overflow the
// stack), duplicate object keys are an error (two meanings for one name), and
// every error is one line naming the input and the byte offset:
//   "model.safetensors: header: invalid JSON at offset 17: expected ':' after an object key".
// Objects keep their insertion order, so a header is written back the way it
// was read. Integer literals keep their exact value (int64/uint64) besides
// the double: a byte offset beyond 2^53 would otherwise be rounded silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dl {

struct JsonMember;

class JsonValue {
 public:
  enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<JsonValue>;
  using Object = std::vector<JsonMember>;  // in insertion order; keys unique

  JsonValue() = default;  // null
  // Named constructors rather than implicit ones: with implicit conversions
  // a string literal would silently become a bool.
  static JsonValue null();
  static JsonValue boolean(bool value);
  static JsonValue number(double value);     // a non-integer number (written with '.' or 'e')
  static JsonValue integer(int64_t value);   // an exact integer
  static JsonValue integer(uint64_t value);  // an exact integer up to 2^64 - 1
  static JsonValue integer(int value);       // so that integer(3) is not ambiguous
  static JsonValue string(std::string value);
  static JsonValue array(Array items = {});
  static JsonValue numbers(const std::vector<double>& values);  // an array of number()s
  static JsonValue object(Object members = {});  // Error on a duplicate key

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // The accessors throw Error("JSON: expected a string, got an array") on the wrong type.
  bool as_bool() const;
  double as_double() const;  // any number (an integer beyond 2^53 rounds)
  // Whether the number is an exact integer: written without fraction or
  // exponent and within int64 or uint64.
  bool is_integer() const { return type_ == Type::Number && int_kind_ != IntKind::None; }
  std::optional<int64_t> as_int64() const;    // nullopt unless an exact integer in int64's range
  std::optional<uint64_t> as_uint64() const;  // nullopt unless an exact integer in [0, 2^64)
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Object members: the value under `key`, or nullptr (also when not an object).
  const JsonValue* find(const std::string& key) const;
  // Appends to an array / object; set() refuses a key already present.
  void push_back(JsonValue item);
  void set(std::string key, JsonValue value);

  // Structural equality: same type, same items in the same order; numbers
  // equal when both exact integers of the same value, or both non-integers
  // with the same double.
  bool operator==(const JsonValue& other) const;
  bool operator!=(const JsonValue& other) const { return !(*this == other); }

 private:
  // Non-negative exact integers are Unsigned, negative ones Signed, so that
  // one value has one representation.
  enum class IntKind : uint8_t { None, Signed, Unsigned };
  friend class JsonParser;

  Type type_ = Type::Null;
  IntKind int_kind_ = IntKind::None;
  bool bool_ = false;
  double number_ = 0.0;
  int64_t int_ = 0;    // IntKind::Signed
  uint64_t uint_ = 0;  // IntKind::Unsigned
  std::string string_;
  Array array_;
  Object object_;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// Nesting deeper than this (arrays and objects) is an error.
constexpr int kJsonMaxDepth = 64;

// Parses one JSON value (surrounded by optional whitespace). Errors:
// "<name>: invalid JSON at offset N: <what>".
JsonValue parse_json(const std::string& text, const std::string& name);

// Compact JSON (no whitespace). Strings are written as UTF-8 with '"', '\\'
// and control characters escaped; doubles in the shortest form that reads
// back to the same value. Error on a string that is not valid UTF-8 or a
// non-finite number: neither can be written as JSON.
std::string to_json(const JsonValue& value);

// `text` made safe for a one-line error message: control characters, the
// backslash and bytes that are not valid UTF-8 become escapes (\n, \t, \\,
// \xNN); everything else is kept as it is. Names read from a hostile file
// may hold newlines; an error quoting one must still be one line.
std::string printable(const std::string& text);

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(const std::string& text);

}  // namespace dl
