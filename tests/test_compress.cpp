// test_compress.cpp — data/compress.h: DEFLATE, gzip and zlib. Round-trips
// of our encoder through our decoder; fixtures from other encoders (system
// gzip -9, zlib level 9, streams written bit by bit here: stored, fixed and
// dynamic blocks); and corrupt input, each with the error it must give.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/checksum.h"
#include "data/compress.h"
#include "data/file.h"
#include "doctest/doctest.h"
#include "tensor/error.h"

using namespace dl;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(const std::string& text) { return Bytes(text.begin(), text.end()); }
std::string text_of(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }
Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  Bytes out(n);
  for (uint8_t& b : out) b = uint8_t(gen());
  return out;
}

// The text the committed fixtures hold: tests/data/compress_fixture.txt.gz is
// `gzip -9` of it (a file named compress_fixture.txt, so the header has FNAME),
// compress_fixture.txt.zlib9 is Python's zlib.compress(text, 9). Both encode
// it as one dynamic Huffman block.
std::string fixture_text() {
  static const char* const words[16] = {"tensor", "gradient", "the",   "of",    "backward", "kernel", "stride", "shape",
                                        "loss",   "and",      "a",     "mnist", "digit",    "layer",  "weight", "bias"};
  std::string text;
  uint32_t state = 12345;
  for (int line = 0; line < 600; ++line) {
    text += std::to_string(line) + ":";
    for (int w = 0; w < 8; ++w) {
      state = state * 1103515245u + 12345u;
      text += ' ';
      text += words[(state >> 16) % 16];
    }
    text += '\n';
  }
  return text;
}

// Writes a DEFLATE bit stream by hand: put() for fixed-width fields (LSB
// first), code() for Huffman codes (sent most significant bit first).
struct Bits {
  Bytes bytes;
  unsigned used = 8;  // bits used in bytes.back()
  Bits& put(uint32_t value, unsigned n) {
    for (unsigned i = 0; i < n; ++i) bit((value >> i) & 1);
    return *this;
  }
  Bits& code(uint32_t value, unsigned n) {
    for (unsigned i = n; i-- > 0;) bit((value >> i) & 1);
    return *this;
  }
  Bits& bit(uint32_t b) {
    if (used == 8) {
      bytes.push_back(0);
      used = 0;
    }
    bytes.back() = uint8_t(bytes.back() | b << used++);
    return *this;
  }
  // Fixed-code symbols (RFC 1951 3.2.6).
  Bits& literal(uint8_t c) { return c < 144 ? code(0x30 + c, 8) : code(0x190 + (c - 144), 9); }
  Bits& length_symbol(unsigned s) { return s < 280 ? code(s - 256, 7) : code(0xC0 + (s - 280), 8); }
  Bits& end_of_block() { return length_symbol(256); }
  Bits& distance_symbol(unsigned s) { return code(s, 5); }
};

Bytes raw_inflate(const Bytes& stream, size_t max_output = size_t(1) << 32) {
  return inflate(stream.data(), stream.size(), "t.deflate", max_output);
}

// A dynamic block whose literal/length code is 'a' (1 bit), end-of-block and
// length 3 (2 bits each), and whose distance code has the single code
// "0" for distance 1: incomplete, as RFC 1951 allows for one distance code.
// The data: 'a', then length 3 with distance bit `distance_bit`, then end.
Bytes single_distance_code_stream(uint32_t distance_bit) {
  Bits b;
  b.put(1, 1).put(2, 2);                  // last block, dynamic
  b.put(258 - 257, 5).put(0, 5).put(14, 4);  // HLIT 258, HDIST 1, HCLEN 18
  // Code-length code: 18 -> "0", 1 -> "10", 2 -> "11", sent in the order
  // 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1.
  const unsigned cl[18] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2};
  for (unsigned len : cl) b.put(len, 3);
  b.code(0, 1).put(97 - 11, 7);               // 97 zeros (symbols 0..96)
  b.code(2, 2);                               // 'a' (97): length 1
  b.code(0, 1).put(138 - 11, 7);              // 138 zeros
  b.code(0, 1).put(20 - 11, 7);               // 20 more (98..255)
  b.code(3, 2).code(3, 2);                    // 256, 257: length 2
  b.code(2, 2);                               // distance 0: length 1
  // Data. Literal/length code: 'a' "0", 256 "10", 257 "11".
  b.code(0, 1);                       // 'a'
  b.code(3, 2).code(distance_bit, 1);  // length 3, distance 1 if the bit is 0
  b.code(2, 2);                       // end of block
  return b.bytes;
}

// One gzip member around `body` with every optional header field.
Bytes gzip_with_all_fields(const Bytes& body, bool good_header_crc) {
  Bytes m = {0x1f, 0x8b, 8, 1 | 2 | 4 | 8 | 16, 0x78, 0x56, 0x34, 0x12, 2, 3};  // FTEXT FHCRC FEXTRA FNAME FCOMMENT
  m.insert(m.end(), {5, 0, 'A', 'B', 1, 0, 'x'});                              // FEXTRA: XLEN 5, subfield "AB" of 1 byte
  for (const char* s : {"name.txt", "a comment"}) m.insert(m.end(), s, s + std::char_traits<char>::length(s) + 1);
  const uint32_t hcrc = crc32(m.data(), m.size()) & 0xFFFF;
  m.push_back(uint8_t(hcrc ^ (good_header_crc ? 0 : 1)));
  m.push_back(uint8_t(hcrc >> 8));
  const Bytes deflated = deflate(body.data(), body.size());
  m.insert(m.end(), deflated.begin(), deflated.end());
  const uint32_t crc = crc32(body.data(), body.size()), size = uint32_t(body.size());
  for (int i = 0; i < 4; ++i) m.push_back(uint8_t(crc >> (8 * i)));
  for (int i = 0; i < 4; ++i) m.push_back(uint8_t(size >> (8 * i)));
  return m;
}

}  // namespace

TEST_CASE("deflate, gzip and zlib round-trip through their decoders") {
  // Long matches at distance 32768: a random block, then the same block again.
  const Bytes block = random_bytes(32768, 7);
  const Bytes repeat_at_window = concat(concat(block, block), block);
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i % 100) + ": the quick brown fox jumps over the lazy dog\n";
  Bytes mixed;  // 1 MB: random, text, zeros and a byte pattern, in turns
  for (uint32_t part = 0; mixed.size() < (1u << 20); ++part) {
    const Bytes piece = part % 4 == 0   ? random_bytes(30000, part)
                        : part % 4 == 1 ? bytes_of(text.substr(part * 101 % 1000, 50000))
                        : part % 4 == 2 ? Bytes(20000, 0)
                                        : Bytes(40000, uint8_t(part));
    mixed.insert(mixed.end(), piece.begin(), piece.end());
  }

  const struct {
    const char* what;
    Bytes data;
  } cases[] = {{"empty", {}},
               {"one byte", {42}},
               {"two bytes", {0, 0}},
               {"random", random_bytes(100000, 1)},
               {"repetitive text", bytes_of(text)},
               {"all zeros", Bytes(300000, 0)},
               {"1 MB mixed", mixed},
               {"repeat at distance 32768", repeat_at_window}};
  for (const auto& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    const Bytes& data = c.data;
    const Bytes deflated = deflate(data.data(), data.size());
    size_t consumed = 0;
    CHECK(inflate(deflated.data(), deflated.size(), "x", size_t(1) << 32, &consumed) == data);
    CHECK(consumed == deflated.size());
    CHECK(gunzip(gzip(data.data(), data.size()), "x.gz") == data);
    const Bytes z = zlib_compress(data.data(), data.size());
    CHECK(zlib_decompress(z.data(), z.size(), "x.z") == data);
    // Incompressible data falls back to stored blocks: 5 bytes per block of 32768 symbols.
    CHECK(deflated.size() <= data.size() + data.size() / 1000 + 8);
  }
  // The encoder does find matches, including ones a whole window back.
  CHECK(deflate(reinterpret_cast<const uint8_t*>(text.data()), text.size()).size() < text.size() / 20);
  CHECK(deflate(repeat_at_window.data(), repeat_at_window.size()).size() < block.size() + 1000);
  CHECK(deflate(mixed.data(), mixed.size()).size() < mixed.size() / 3);
}

TEST_CASE("inflate reads other encoders' streams: system gzip -9, zlib level 9, and fixed codes by hand") {
  const std::string text = fixture_text();
  // gzip -9: dynamic Huffman codes, a header with FNAME and an mtime.
  const Bytes gz = read_file("tests/data/compress_fixture.txt.gz");
  REQUIRE(is_gzip(gz));
  CHECK(text_of(gunzip(gz, "compress_fixture.txt.gz")) == text);
  const Bytes z = read_file("tests/data/compress_fixture.txt.zlib9");
  CHECK(text_of(zlib_decompress(z.data(), z.size(), "compress_fixture.txt.zlib9")) == text);

  // "abcabcabc" with fixed codes, parsed the way zlib -9 does it (these are
  // its bytes): literals a, b, c, a, then length 5 at distance 3 (the copy
  // overlaps its own output).
  Bits b;
  b.put(1, 1).put(1, 2);  // last block, fixed codes
  b.literal('a').literal('b').literal('c').literal('a');
  b.length_symbol(259).distance_symbol(2);  // length 5, distance 3
  b.end_of_block();
  CHECK(b.bytes == Bytes{0x4b, 0x4c, 0x4a, 0x4e, 0x04, 0x23, 0x00});
  CHECK(text_of(raw_inflate(b.bytes)) == "abcabcabc");

  // 9-bit literal codes, length 258 (symbol 285), and extra bits on both
  // lengths and distances: 0xff, 258 more 0xff, "xyz" + 19 copies of 20 bytes back.
  Bits c;
  c.put(1, 1).put(1, 2);
  c.literal(0xff).length_symbol(285).distance_symbol(0);   // 258 copies at distance 1
  c.literal('x').literal('y').literal('z');
  c.length_symbol(269).put(0, 2).distance_symbol(8).put(3, 3);  // length 19, distance 17 + 3 = 20
  c.end_of_block();
  const Bytes out = raw_inflate(c.bytes);
  Bytes expected(259, 0xff);
  expected.insert(expected.end(), {'x', 'y', 'z'});
  for (size_t i = 0; i < 19; ++i) expected.push_back(expected[expected.size() - 20]);
  CHECK(out == expected);
}

TEST_CASE("inflate reads stored blocks, block sequences and a single-code distance alphabet") {
  // A stored block: LEN 5, NLEN = ~5, then the bytes.
  CHECK(text_of(raw_inflate({0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'})) == "hello");
  // An empty stored block, not last; then a fixed block ending mid-byte; then
  // a stored block, which starts at the next byte boundary.
  Bits b;
  b.put(0, 1).put(0, 2).put(0, 5).put(0, 16).put(0xFFFF, 16);  // the 5 pad bits align LEN to a byte
  b.put(0, 1).put(1, 2).literal('h').literal('i').end_of_block();
  b.put(1, 1).put(0, 2);
  while (b.used != 8) b.bit(0);
  b.put(1, 16).put(0xFFFE, 16).put('!', 8);
  CHECK(text_of(raw_inflate(b.bytes)) == "hi!");
  // A wrapper's trailer after the stream is not read: *consumed stops at the
  // byte holding the last bit.
  const Bytes with_trailer = concat(b.bytes, {1, 2, 3, 4});
  size_t consumed = 0;
  CHECK(text_of(inflate(with_trailer.data(), with_trailer.size(), "t", size_t(1) << 32, &consumed)) == "hi!");
  CHECK(consumed == b.bytes.size());

  // One distance code of length 1 is allowed (RFC 1951 3.2.7).
  CHECK(text_of(raw_inflate(single_distance_code_stream(0))) == "aaaa");
}

TEST_CASE("gunzip joins members, handles every header field, and stops at zero padding") {
  const Bytes a = bytes_of("first member\n"), b = bytes_of("second member\n");
  const Bytes two = concat(gzip(a.data(), a.size()), gzip(b.data(), b.size()));
  CHECK(text_of(gunzip(two, "two.gz")) == "first member\nsecond member\n");
  CHECK(text_of(gunzip(concat(two, Bytes(512, 0)), "padded.gz")) == "first member\nsecond member\n");
  CHECK(text_of(gunzip(concat(two, read_file("tests/data/compress_fixture.txt.gz")), "three.gz")) ==
        "first member\nsecond member\n" + fixture_text());
  CHECK(text_of(gunzip(gzip_with_all_fields(a, true), "fields.gz")) == "first member\n");

  CHECK(is_gzip({0x1f, 0x8b}));
  CHECK_FALSE(is_gzip({0x1f}));
  CHECK_FALSE(is_gzip({0x78, 0x9c, 0x1f, 0x8b}));
  const Bytes z = zlib_compress(a.data(), a.size());
  CHECK(z[0] == 0x78);
  CHECK((z[0] * 256 + z[1]) % 31 == 0);
}

TEST_CASE("output beyond max_output is refused, exactly at the limit it is not") {
  const Bytes zeros(100000, 0);
  const Bytes deflated = deflate(zeros.data(), zeros.size());
  CHECK(inflate(deflated.data(), deflated.size(), "z", 100000).size() == 100000);
  CHECK_THROWS_WITH_AS(inflate(deflated.data(), deflated.size(), "z", 99999), "z: decompressed data exceeds 99999 bytes", Error);
  // The limit covers the joined members of a gzip file.
  const Bytes half(60000, 1);
  const Bytes two = concat(gzip(half.data(), half.size()), gzip(half.data(), half.size()));
  CHECK(gunzip(two, "two.gz", 120000).size() == 120000);
  CHECK_THROWS_WITH_AS(gunzip(two, "two.gz", 100000), "two.gz: decompressed data exceeds 100000 bytes", Error);
  const Bytes z = zlib_compress(zeros.data(), zeros.size());
  CHECK_THROWS_WITH_AS(zlib_decompress(z.data(), z.size(), "z.z", 1000), "z.z: decompressed data exceeds 1000 bytes", Error);
  // A stored block is checked before it is copied, too.
  CHECK_THROWS_WITH_AS(raw_inflate({0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'}, 4),
                       "t.deflate: decompressed data exceeds 4 bytes", Error);
}

TEST_CASE("corrupt deflate streams each give their own error") {
  Bits far;  // 'a', then length 3 at distance 2: reaches before the start
  far.put(1, 1).put(1, 2).literal('a').length_symbol(257).distance_symbol(1).end_of_block();
  Bits bad_length;  // length symbol 286 exists in the fixed code but means nothing
  bad_length.put(1, 1).put(1, 2).literal('a').length_symbol(286).end_of_block();
  Bits bad_distance;  // likewise distance symbol 30
  bad_distance.put(1, 1).put(1, 2).literal('a').length_symbol(257).distance_symbol(30).end_of_block();
  Bits no_end;  // a fixed block that stops after one literal
  no_end.put(1, 1).put(1, 2).literal('a');
  Bits over_cl;  // code-length code 16, 17, 18, 0 all of length 1: four 1-bit codes
  over_cl.put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(0, 4).put(1, 3).put(1, 3).put(1, 3).put(1, 3);
  Bits incomplete_cl;  // code-length code with a single code of length 2
  incomplete_cl.put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(0, 4).put(0, 3).put(0, 3).put(0, 3).put(2, 3);
  Bits over_litlen;  // code-length code 1 -> "0", 0 -> "10", 18 -> "11"; then 257 + 1 lengths of 1
  over_litlen.put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(14, 4);
  for (unsigned len : {0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) over_litlen.put(len, 3);
  for (int i = 0; i < 258; ++i) over_litlen.code(0, 1);
  Bits repeat_first;  // code-length code 1 -> "0", 16 -> "1"; the first length is "repeat the previous"
  repeat_first.put(1, 1).put(2, 2).put(0, 5).put(0, 5).put(14, 4);
  for (unsigned len : {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) repeat_first.put(len, 3);
  repeat_first.code(1, 1).put(0, 2);
  Bits too_many;  // HLIT 287
  too_many.put(1, 1).put(2, 2).put(30, 5).put(0, 5).put(0, 4);

  const struct {
    const char* what;
    Bytes stream;
    const char* error;
  } cases[] = {
      {"empty input", {}, "t.deflate: corrupt deflate stream: truncated"},
      {"block type 3", {0x07}, "invalid block type 3"},
      {"stored LEN/NLEN mismatch", {0x01, 0x05, 0x00, 0x00, 0x00, 'h'}, "stored block length 5 does not match its complement"},
      {"stored block cut short", {0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e'}, "truncated (stored block of 5 bytes has only 2)"},
      {"stored header cut short", {0x01, 0x05, 0x00}, "truncated (input ends inside a stored block header)"},
      {"distance too far back", far.bytes, "distance 2 too far back (only 1 bytes of output so far)"},
      {"length symbol 286", bad_length.bytes, "invalid length symbol 286"},
      {"distance symbol 30", bad_distance.bytes, "invalid distance symbol 30"},
      {"no end of block", no_end.bytes, "truncated (input ends inside a block)"},
      {"over-subscribed code-length code", over_cl.bytes, "code-length code lengths are over-subscribed"},
      {"incomplete code-length code", incomplete_cl.bytes, "code-length code lengths are incomplete"},
      {"over-subscribed literal/length code", over_litlen.bytes, "literal/length code lengths are over-subscribed"},
      {"repeat with no previous length", repeat_first.bytes, "repeat of the previous code length with no previous length"},
      {"too many symbols", too_many.bytes, "too many length or distance symbols (HLIT 287, HDIST 1)"},
      {"incomplete distance code used", single_distance_code_stream(1), "bit pattern not in the distance code"},
  };
  for (const auto& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    CHECK_THROWS_WITH_AS(raw_inflate(c.stream), doctest::Contains(c.error), Error);
  }
  // Every error names the stream.
  CHECK_THROWS_WITH_AS(raw_inflate({0x07}), "t.deflate: corrupt deflate stream: invalid block type 3", Error);
}

TEST_CASE("corrupt gzip and zlib files each give their own error") {
  const std::string text = fixture_text();
  const Bytes good = gzip(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  const auto with = [&](size_t at, uint8_t value) {
    Bytes b = good;
    b[at] = value;
    return b;
  };
  const auto head = [&](size_t n) { return Bytes(good.begin(), good.begin() + long(n)); };
  const size_t n = good.size();
  const Bytes no_name_end = {0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3, 'a', 'b'};  // FNAME without its zero

  const struct {
    const char* what;
    Bytes file;
    const char* error;
  } cases[] = {
      {"bad magic", with(1, 0x8c), "t.gz: corrupt gzip: not gzip (bad magic)"},
      {"bad method", with(2, 7), "bad compression method 7 (expected 8, deflate)"},
      {"reserved flags", with(3, 0x20), "reserved header flag bits set"},
      {"empty file", {}, "truncated header"},
      {"truncated header", head(6), "truncated header"},
      {"unterminated name", no_name_end, "truncated header"},
      {"truncated body", head(n / 2), "t.gz: corrupt deflate stream: truncated"},
      {"truncated trailer", head(n - 3), "truncated (member 1 ends before its CRC-32 and length)"},
      {"bad CRC", with(n - 8, uint8_t(good[n - 8] ^ 1)), "bad CRC-32 in member 1"},
      {"bad ISIZE", with(n - 4, uint8_t(good[n - 4] ^ 1)), "length mismatch in member 1"},
      {"bad header CRC", gzip_with_all_fields(bytes_of(text), false), "bad header CRC-16"},
      {"trailing garbage", concat(good, {0, 0, 'x'}), "trailing garbage after member 1"},
      {"bad second member", concat(good, {0x1f, 0x8b, 9}), "truncated header"},
  };
  for (const auto& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    CHECK_THROWS_WITH_AS(gunzip(c.file, "t.gz"), doctest::Contains(c.error), Error);
  }

  const Bytes z = zlib_compress(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  const auto zwith = [&](size_t at, uint8_t value) {
    Bytes b = z;
    b[at] = value;
    return b;
  };
  const struct {
    const char* what;
    Bytes stream;
    const char* error;
  } zcases[] = {
      {"empty", {}, "t.z: corrupt zlib stream: truncated header"},
      {"bad method", {0x79, 0x9c}, "bad compression method 9"},
      {"window too large", {0x88, 0x98}, "window size 2^16 is over 32 KiB"},
      {"check bits", zwith(1, 0x9d), "header check bits wrong"},
      {"preset dictionary", {0x78, 0xbb, 0, 0, 0, 0}, "preset dictionary not supported"},
      {"bad Adler-32", zwith(z.size() - 1, uint8_t(z.back() ^ 1)), "bad Adler-32"},
      {"truncated Adler-32", Bytes(z.begin(), z.end() - 2), "truncated (stream ends before its Adler-32)"},
      {"truncated body", Bytes(z.begin(), z.begin() + long(z.size() / 2)), "t.z: corrupt deflate stream: truncated"},
  };
  for (const auto& c : zcases) {
    const std::string what = c.what;
    CAPTURE(what);
    CHECK_THROWS_WITH_AS(zlib_decompress(c.stream.data(), c.stream.size(), "t.z"), doctest::Contains(c.error), Error);
  }
}
