// test_json.cpp — data/json.h: the strict JSON reader (numbers, escapes,
// UTF-8, errors with offsets, the depth limit) and the compact writer.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "data/json.h"
#include "doctest/doctest.h"
#include "tensor/error.h"

using namespace dl;

namespace {
JsonValue parse(const std::string& text) { return parse_json(text, "t.json"); }
// The error f() throws ("" if none).
template <class F>
std::string error_in(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
// The error parse(text) throws ("" if none).
std::string error_of(const std::string& text) {
  return error_in([&] { parse(text); });
}
}  // namespace

TEST_CASE("JSON literals, whitespace and containers keep their order") {
  CHECK(parse("null").is_null());
  CHECK(parse(" \t\r\n true \n").as_bool());
  CHECK_FALSE(parse("false").as_bool());
  const JsonValue v = parse(R"({"b": [1, "x", null, {}], "a": {"z": [], "y": false}})");
  REQUIRE(v.is_object());
  REQUIRE(v.as_object().size() == 2);
  CHECK(v.as_object()[0].key == "b");  // insertion order, not sorted
  CHECK(v.as_object()[1].key == "a");
  const JsonValue::Array& b = v.find("b")->as_array();
  REQUIRE(b.size() == 4);
  CHECK(b[0].as_uint64() == 1u);
  CHECK(b[1].as_string() == "x");
  CHECK(b[2].is_null());
  CHECK(b[3].is_object());
  CHECK(v.find("a")->as_object()[0].key == "z");
  CHECK(v.find("missing") == nullptr);
  CHECK(b[0].find("x") == nullptr);  // not an object
}

TEST_CASE("JSON integers are exact in int64 and uint64; other numbers are doubles") {
  const JsonValue max_u = parse("18446744073709551615");
  CHECK(max_u.as_uint64() == std::numeric_limits<uint64_t>::max());
  CHECK_FALSE(max_u.as_int64().has_value());
  const JsonValue min_i = parse("-9223372036854775808");
  CHECK(min_i.as_int64() == std::numeric_limits<int64_t>::min());
  CHECK_FALSE(min_i.as_uint64().has_value());
  // 2^53 + 1 has no double; the integer keeps it.
  CHECK(parse("9007199254740993").as_uint64() == 9007199254740993u);
  CHECK(parse("9007199254740993").as_double() == 9007199254740992.0);
  CHECK(parse("-1").as_int64() == -1);
  CHECK(parse("0").as_uint64() == 0u);
  CHECK(parse("-0").as_uint64() == 0u);  // the integer 0
  // Beyond the integer types: only the double.
  const JsonValue huge = parse("18446744073709551616");
  CHECK_FALSE(huge.is_integer());
  CHECK(huge.as_double() == 18446744073709551616.0);
  CHECK_FALSE(parse("-9223372036854775809").is_integer());
  // A fraction or exponent makes a non-integer, even when the value is whole.
  CHECK_FALSE(parse("1.0").is_integer());
  CHECK_FALSE(parse("1e2").as_uint64().has_value());
  CHECK(parse("1e2").as_double() == 100.0);
  CHECK(parse("-12.5E-1").as_double() == -1.25);
  CHECK(parse("0.1").as_double() == 0.1);
  CHECK(parse("1.7976931348623157e308").as_double() == std::numeric_limits<double>::max());
  CHECK(parse("4.9e-324").as_double() == std::numeric_limits<double>::denorm_min());
  // Underflow goes to zero (as strtod and Python do), keeping the sign.
  CHECK(parse("1e-400").as_double() == 0.0);
  CHECK(std::signbit(parse("-0.0001e-400").as_double()));
  CHECK(parse("0.000e999999999999").as_double() == 0.0);
}

TEST_CASE("JSON numbers outside the grammar or the range of a double are errors") {
  CHECK(error_of("01") == "t.json: invalid JSON at offset 0: invalid number: leading zero");
  CHECK(error_of("-") == "t.json: invalid JSON at offset 0: invalid number: expected a digit after '-'");
  CHECK(error_of("[1.]") == "t.json: invalid JSON at offset 1: invalid number: expected a digit after '.'");
  CHECK(error_of("1e") == "t.json: invalid JSON at offset 0: invalid number: expected a digit in the exponent");
  CHECK(error_of("1e+") == "t.json: invalid JSON at offset 0: invalid number: expected a digit in the exponent");
  CHECK(error_of("1e400") == "t.json: invalid JSON at offset 0: number out of range of a double");
  CHECK(error_of("-123456789e301") == "t.json: invalid JSON at offset 0: number out of range of a double");
  CHECK(error_of(".5") == "t.json: invalid JSON at offset 0: unexpected '.', expected a value");
  CHECK(error_of("+1") == "t.json: invalid JSON at offset 0: unexpected '+', expected a value");
  CHECK(error_of("0x10") == "t.json: invalid JSON at offset 1: unexpected 'x' after the JSON value");
  CHECK(error_of("NaN") == "t.json: invalid JSON at offset 0: unexpected 'N', expected a value");
  CHECK(error_of("Infinity") == "t.json: invalid JSON at offset 0: unexpected 'I', expected a value");
}

TEST_CASE("JSON strings: every escape, \\u with surrogate pairs, raw UTF-8") {
  CHECK(parse(R"("\" \\ \/ \b \f \n \r \t")").as_string() == "\" \\ / \b \f \n \r \t");
  CHECK(parse(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");  // A é €
  CHECK(parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");              // U+1F600
  CHECK(parse(R"("\uDBFF\uDFFF")").as_string() == "\xF4\x8F\xBF\xBF");              // U+10FFFF
  CHECK(parse(R"("\u0000")").as_string() == std::string(1, '\0'));
  CHECK(parse("\"h\xC3\xA9llo \xF0\x9F\x99\x82\"").as_string() == "h\xC3\xA9llo \xF0\x9F\x99\x82");
  CHECK(parse("\"\x7F\"").as_string() == "\x7F");  // DEL need not be escaped
}

TEST_CASE("JSON string errors: bad escapes, lone surrogates, control characters, invalid UTF-8") {
  CHECK(error_of(R"("\x")") == "t.json: invalid JSON at offset 1: invalid escape: 'x' after a backslash");
  CHECK(error_of(R"("\u12G4")") == "t.json: invalid JSON at offset 5: invalid hex digit 'G' in a \\u escape");
  CHECK(error_of(R"("\u12")") == "t.json: invalid JSON at offset 5: invalid hex digit '\"' in a \\u escape");
  CHECK(error_of(R"("\u12)") == "t.json: invalid JSON at offset 5: unexpected end of input in a \\u escape");
  CHECK(error_of(R"(["\ud83d"])") ==
        "t.json: invalid JSON at offset 2: high surrogate \\ud83d not followed by a low surrogate");
  CHECK(error_of(R"("\ud83d\u0041")") ==
        "t.json: invalid JSON at offset 1: high surrogate \\ud83d not followed by a low surrogate");
  CHECK(error_of(R"("\ude00")") == "t.json: invalid JSON at offset 1: lone low surrogate \\ude00");
  CHECK(error_of("\"a\nb\"") == "t.json: invalid JSON at offset 2: unescaped control character byte 0x0a in a string");
  CHECK(error_of("\"abc") == "t.json: invalid JSON at offset 0: unterminated string");
  CHECK(error_of("\"abc\\") == "t.json: invalid JSON at offset 4: unterminated string");
  // Invalid UTF-8: a stray continuation byte, an overlong '/', an encoded
  // surrogate, a code point beyond U+10FFFF, a truncated sequence, 0xFF.
  for (const char* bad : {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xFF"}) {
    CAPTURE(bad);
    CHECK(error_of(std::string("\"x") + bad + "\"").find("t.json: invalid JSON at offset 2: invalid UTF-8") == 0);
  }
  // Outside a string, non-ASCII is just an unexpected byte.
  CHECK(error_of("\xC3\xA9") == "t.json: invalid JSON at offset 0: unexpected byte 0xc3, expected a value");
}

TEST_CASE("JSON structure errors name the offset") {
  CHECK(error_of("") == "t.json: invalid JSON at offset 0: unexpected end of input, expected a value");
  CHECK(error_of("   ") == "t.json: invalid JSON at offset 3: unexpected end of input, expected a value");
  CHECK(error_of("[1,]") == "t.json: invalid JSON at offset 3: unexpected ']', expected a value");
  CHECK(error_of("[1 2]") == "t.json: invalid JSON at offset 3: expected ',' or ']', got '2'");
  CHECK(error_of("[1") == "t.json: invalid JSON at offset 2: unexpected end of input, expected ',' or ']'");
  CHECK(error_of(R"({"a" 1})") == "t.json: invalid JSON at offset 5: expected ':' after an object key, got '1'");
  CHECK(error_of(R"({"a":1,})") == "t.json: invalid JSON at offset 7: expected a string key, got '}'");
  CHECK(error_of(R"({a:1})") == "t.json: invalid JSON at offset 1: expected a string key, got 'a'");
  CHECK(error_of(R"({"a":1 "b":2})") == "t.json: invalid JSON at offset 7: expected ',' or '}', got '\"'");
  CHECK(error_of(R"({"a":1, "b":2, "a":3})") == "t.json: invalid JSON at offset 15: duplicate key 'a'");
  CHECK(error_of("tru") == "t.json: invalid JSON at offset 0: invalid literal, expected 'true'");
  CHECK(error_of("nul1") == "t.json: invalid JSON at offset 0: invalid literal, expected 'null'");
  CHECK(error_of("{} {}") == "t.json: invalid JSON at offset 3: unexpected '{' after the JSON value");
  CHECK(error_of(std::string("[1]\0", 4)) == "t.json: invalid JSON at offset 3: unexpected byte 0x00 after the JSON value");
  // A duplicate key is shown escaped, so the message stays on one line.
  CHECK(error_of("{\"a\\nb\":1,\"a\\nb\":2}") == "t.json: invalid JSON at offset 10: duplicate key 'a\\nb'");
}

TEST_CASE("JSON nesting is limited, so hostile input cannot overflow the stack") {
  const auto nested = [](int depth, char open, char close, const std::string& inner) {
    return std::string(depth, open) + inner + std::string(depth, close);
  };
  CHECK(parse(nested(kJsonMaxDepth, '[', ']', "")).is_array());
  CHECK(error_of(nested(kJsonMaxDepth + 1, '[', ']', "")) ==
        "t.json: invalid JSON at offset 64: nesting deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < kJsonMaxDepth; ++i) objects += "{\"k\":";
  CHECK(parse(objects + "1" + std::string(kJsonMaxDepth, '}')).is_object());
  CHECK(error_of(objects + "{}" + std::string(kJsonMaxDepth, '}')).find("nesting deeper than 64 levels") !=
        std::string::npos);
  // Far beyond the limit: an error, not a crash.
  CHECK(error_of(std::string(1000000, '[')).find("nesting deeper than 64 levels") != std::string::npos);
}

TEST_CASE("to_json writes compact JSON that reads back to the same value") {
  const std::string text =
      R"({"s":"q\"b\\n\n\u0001\u001f\u007f é","i":[0,-1,18446744073709551615,-9223372036854775808],)"
      R"("d":[0.1,5.0,-0.0,1e+300,5e-324,1e+20,0.0001],"l":[true,false,null],"o":{},"a":[]})";
  const JsonValue v = parse(text);
  const std::string written = to_json(v);
  CHECK(written ==
        "{\"s\":\"q\\\"b\\\\n\\n\\u0001\\u001f\x7F \xC3\xA9\",\"i\":[0,-1,18446744073709551615,-9223372036854775808],"
        "\"d\":[0.1,5.0,-0.0,1e+300,5e-324,1e+20,1e-04],\"l\":[true,false,null],\"o\":{},\"a\":[]}");
  CHECK(parse(written) == v);
  CHECK(to_json(parse(written)) == written);
  CHECK(to_json(JsonValue::string("\b\f\r\t/")) == "\"\\b\\f\\r\\t/\"");
  CHECK(to_json(JsonValue::number(3.0)) == "3.0");  // stays a non-integer
  CHECK(to_json(JsonValue::integer(3)) == "3");
  CHECK(to_json(JsonValue::integer(int64_t{-3})) == "-3");
  CHECK(to_json(JsonValue::integer(uint64_t{1} << 63)) == "9223372036854775808");
}

TEST_CASE("to_json refuses what JSON cannot hold") {
  CHECK_THROWS_WITH_AS(to_json(JsonValue::string("a\xFF")), "to_json: string 'a\\xff' is not valid UTF-8", Error);
  CHECK_THROWS_WITH_AS(to_json(JsonValue::number(std::numeric_limits<double>::infinity())),
                       "to_json: inf cannot be written as JSON", Error);
  CHECK_THROWS_WITH_AS(to_json(JsonValue::number(std::nan(""))), doctest::Contains("cannot be written as JSON"), Error);
}

TEST_CASE("JsonValue: typed accessors, building, equality") {
  CHECK_THROWS_WITH_AS(parse("[]").as_string(), "JSON: expected a string, got an array", Error);
  CHECK_THROWS_WITH_AS(parse("1").as_bool(), "JSON: expected a bool, got a number", Error);
  CHECK_THROWS_WITH_AS(parse("\"1\"").as_double(), "JSON: expected a number, got a string", Error);
  CHECK_THROWS_WITH_AS(parse("null").as_object(), "JSON: expected an object, got null", Error);
  CHECK_FALSE(parse("\"1\"").as_uint64().has_value());

  JsonValue o = JsonValue::object();
  o.set("x", JsonValue::integer(1));
  o.set("y", JsonValue::array({JsonValue::boolean(true), JsonValue::null()}));
  CHECK_THROWS_WITH_AS(o.set("x", JsonValue()), "JSON: duplicate key 'x'", Error);
  CHECK_THROWS_WITH_AS(JsonValue::object({{"k", JsonValue()}, {"k", JsonValue()}}), "JSON: duplicate key 'k'", Error);
  CHECK_THROWS_WITH_AS(o.push_back(JsonValue()), "JSON: expected an array, got an object", Error);
  CHECK(to_json(o) == R"({"x":1,"y":[true,null]})");
  CHECK(o == parse(R"({"x":1,"y":[true,null]})"));
  CHECK(o != parse(R"({"y":[true,null],"x":1})"));  // order matters
  CHECK(parse("1") != parse("1.0"));                 // integer vs non-integer
  CHECK(parse("0.0") != parse("-0.0"));
  CHECK(parse("-0") == parse("0"));
  CHECK(JsonValue::integer(int64_t{5}) == JsonValue::integer(uint64_t{5}));
}

TEST_CASE("printable escapes what would break a one-line message") {
  CHECK(printable("G.main.0.weight") == "G.main.0.weight");
  CHECK(printable("a\nb\tc\\d\x01\x7F") == "a\\nb\\tc\\\\d\\x01\\x7f");
  CHECK(printable("\xC3\xA9\xFF\xC3") == "\xC3\xA9\\xff\\xc3");
  CHECK(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x99\x82"));
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // a surrogate
  CHECK_FALSE(is_valid_utf8("\xE0\x9F\xBF"));  // overlong
}

