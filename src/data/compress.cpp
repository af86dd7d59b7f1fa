// compress.cpp — see compress.h. Four parts: the tables both directions share,
// the decoder (BitReader, Huffman decode tables, one function per block
// type), the encoder (LZ77 match finder, Huffman code lengths, block writer),
// and the gzip and zlib wrappers.
#include "data/compress.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <queue>
#include <utility>

#include "data/checksum.h"
#include "tensor/error.h"

namespace dl {

namespace {

// ---- tables shared by both directions (RFC 1951 section 3.2.5) -----------------------

// Length symbols 257..285: the shortest length each stands for, and how many
// extra bits follow the symbol to pick one within its range.
constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
// Distance symbols 0..29, likewise.
constexpr uint16_t kDistBase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

// A dynamic block sends the code lengths of the code-length alphabet (0-15
// literal lengths, 16/17/18 repeats) in this order rather than 0..18: the
// symbols an encoder needs most come first, the rarely used extreme lengths
// last, so that the trailing zero lengths can be left off (HCLEN says how many
// are sent).
constexpr uint8_t kCodeLengthOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

constexpr unsigned kMaxBits = 15;      // longest Huffman code DEFLATE allows
constexpr size_t kWindow = 32768;      // farthest a match may reach back
constexpr size_t kMaxMatch = 258;

// The fixed codes of RFC 1951 section 3.2.6. Literal/length: 0-143 get 8 bits,
// 144-255 9, 256-279 7, 280-287 8. Distance: all 32 symbols 5 bits (30 and 31
// are never valid, but take part in the code).
std::array<uint8_t, 288> fixed_litlen_lengths() {
  std::array<uint8_t, 288> lengths{};
  for (size_t i = 0; i < 288; ++i) lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  return lengths;
}
std::array<uint8_t, 32> fixed_dist_lengths() {
  std::array<uint8_t, 32> lengths{};
  lengths.fill(5);
  return lengths;
}

// `code` with its low `length` bits in reverse order.
uint32_t reverse_bits(uint32_t code, unsigned length) {
  uint32_t reversed = 0;
  for (unsigned i = 0; i < length; ++i, code >>= 1) reversed = (reversed << 1) | (code & 1);
  return reversed;
}

std::string hex32(uint32_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string text = "0x00000000";
  for (int i = 9; i >= 2; --i, value >>= 4) text[i] = digits[value & 15];
  return text;
}

uint32_t load_le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

// ======================================================================================
// Decoder
// ======================================================================================

// Reads DEFLATE's bit stream. Bytes are consumed starting from their least
// significant bit, so the reader keeps a 64-bit buffer whose bit 0 is the next
// bit of the stream and appends each new byte above the bits it holds.
// Fixed-width fields (block headers, extra bits, stored lengths) are also
// packed LSB first and so come out of the buffer as plain numbers. Huffman
// codes are the exception: they are sent starting from their most significant
// bit, which is why the decode table is indexed by bit-reversed codes.
//
// Past the end of the input the reader appends zero bytes, so that a table
// lookup can always peek 15 bits even when the last code is shorter; `padding`
// counts those made-up bits, and consuming any of them means the stream is
// truncated. That check runs on every consume, so a truncated or hostile
// stream cannot go on decoding symbols out of zeros.
struct BitReader {
  const uint8_t* data;
  size_t size;
  const std::string& name;
  size_t pos = 0;        // next byte of `data` to load into the buffer
  uint64_t buffer = 0;   // the next `count` bits of the stream, from bit 0
  unsigned count = 0;
  unsigned padding = 0;  // how many of the top bits of `buffer` lie past the end of `data`

  BitReader(const uint8_t* d, size_t n, const std::string& stream_name) : data(d), size(n), name(stream_name) {}

  // Tops the buffer up to at least 57 bits: enough for a length code, its
  // extra bits, a distance code and its extra bits (15 + 5 + 15 + 13).
  void refill() {
    while (count <= 56) {
      if (pos < size)
        buffer |= uint64_t(data[pos++]) << count;
      else
        padding += 8;
      count += 8;
    }
  }
  // The next n (<= 32) bits, not consumed.
  uint32_t peek(unsigned n) {
    if (count < n) refill();
    return uint32_t(buffer & ((uint64_t(1) << n) - 1));
  }
  void consume(unsigned n) {
    buffer >>= n;
    count -= n;
    if (count < padding) fail(name, ": corrupt deflate stream: truncated (input ends inside a block)");
  }
  uint32_t bits(unsigned n) {
    const uint32_t value = peek(n);
    consume(n);
    return value;
  }
  // Skips to the next byte boundary and hands whole bytes still in the buffer
  // back to the input, so a stored block's bytes can be read from data + pos.
  void align_to_byte() {
    consume(count % 8);  // padding comes in whole bytes, so count % 8 are real bits
    pos -= (count - padding) / 8;
    buffer = 0;
    count = padding = 0;
  }
  // Input bytes used so far, counting a partly used last byte.
  size_t bytes_used() const { return pos - (count - padding) / 8; }
};

// A Huffman code for decoding, built from the code lengths a block sends.
//
// DEFLATE's codes are canonical: the code lengths alone define the code.
// Codes of one length are consecutive binary numbers, assigned to symbols in
// increasing symbol order, and the first code of each length is the code
// after the last one of the previous length, shifted left one bit. So
// `count[len]` plus the symbols sorted by (length, symbol) are enough to decode
// bit by bit (decode_slow). The table `fast` does the common case in one
// lookup: indexed by the next kFastBits bits of the stream (in stream order,
// which is the code bit-reversed), each entry holds symbol << 4 | code length
// for every code of at most kFastBits bits; 0 means "longer code, or a bit
// pattern the code does not use": go bit by bit.
struct Huffman {
  static constexpr unsigned kFastBits = 10;
  std::array<uint16_t, 1u << kFastBits> fast{};
  std::array<uint16_t, kMaxBits + 1> count{};  // how many codes have each length (count[0] unused)
  std::array<uint16_t, 288> symbols{};         // symbols in canonical order: by length, then by value
};

// Builds `h` from the code lengths of symbols 0..n-1 (0 = symbol not used).
// `what` names the code in errors.
void build_huffman(Huffman& h, const uint8_t* lengths, size_t n, const char* what, const std::string& name) {
  h.count.fill(0);
  for (size_t i = 0; i < n; ++i) ++h.count[lengths[i]];
  const size_t used = n - h.count[0];
  h.count[0] = 0;

  // Kraft's inequality, counted in code space: `left` is how many bit
  // patterns of the current length no shorter code has claimed. It starts at
  // 1 (the empty prefix) and each further bit doubles it. Lengths that claim
  // more patterns than exist are over-subscribed: no prefix code has them, and
  // a decoder that built a table anyway would give some patterns two meanings.
  int left = 1;
  for (unsigned len = 1; len <= kMaxBits; ++len) {
    left = 2 * left - h.count[len];
    if (left < 0) fail(name, ": corrupt deflate stream: ", what, " code lengths are over-subscribed");
  }
  // Patterns left over make the code incomplete: they decode to nothing.
  // Like zlib, accept that only in the two shapes encoders legitimately send:
  // no codes at all (a block without matches has no distances) and a single
  // code of length 1 (one distance used; RFC 1951 3.2.7). Meeting the unused
  // pattern in the data is then an error (decode_slow).
  if (left > 0 && !(used == 0 || (used == 1 && h.count[1] == 1)))
    fail(name, ": corrupt deflate stream: ", what, " code lengths are incomplete");

  // Sort the symbols into canonical order (counting sort on the length).
  std::array<uint16_t, kMaxBits + 2> offset{};
  for (unsigned len = 1; len <= kMaxBits; ++len) offset[len + 1] = offset[len] + h.count[len];
  for (size_t i = 0; i < n; ++i)
    if (lengths[i] != 0) h.symbols[offset[lengths[i]]++] = uint16_t(i);

  // Walk the short codes in canonical order and fill every table slot whose
  // low `len` bits are the code as it appears in the stream (reversed); the
  // bits above belong to whatever follows it.
  h.fast.fill(0);
  uint32_t code = 0;
  size_t index = 0;
  for (unsigned len = 1; len <= Huffman::kFastBits; ++len, code <<= 1) {
    for (unsigned k = 0; k < h.count[len]; ++k, ++code, ++index) {
      const uint16_t entry = uint16_t(h.symbols[index] << 4 | len);
      for (uint32_t slot = reverse_bits(code, len); slot < h.fast.size(); slot += 1u << len) h.fast[slot] = entry;
    }
  }
}

// Canonical decoding one bit at a time, for codes longer than the fast table
// (rare: they are the least frequent symbols) and for unused patterns. `code`
// collects the stream's bits most significant first; at each length, the
// codes of that length are the numbers first .. first + count - 1.
int decode_slow(BitReader& in, const Huffman& h, const char* what) {
  const uint32_t next = in.peek(kMaxBits);
  int code = 0, first = 0, index = 0;
  for (unsigned len = 1; len <= kMaxBits; ++len) {
    code |= (next >> (len - 1)) & 1;
    const int count = h.count[len];
    if (code < first + count) {
      in.consume(len);
      return h.symbols[size_t(index + code - first)];
    }
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  fail(in.name, ": corrupt deflate stream: bit pattern not in the ", what, " code");
}

inline int decode(BitReader& in, const Huffman& h, const char* what) {
  const uint16_t entry = h.fast[in.peek(Huffman::kFastBits)];
  if (entry != 0) {
    in.consume(entry & 15);
    return entry >> 4;
  }
  return decode_slow(in, h, what);
}

// The decoder's output: `bytes` grows geometrically and only its first `size`
// bytes are written; `room` refuses to grow past `limit`.
struct Output {
  const std::string& name;
  size_t limit;
  std::vector<uint8_t> bytes;
  size_t size = 0;

  Output(const std::string& stream_name, size_t max_output, size_t expected)
      : name(stream_name), limit(max_output), bytes(std::min(expected, max_output)) {}

  // Where the next n bytes go.
  uint8_t* room(size_t n) {
    if (n > limit - size) fail(name, ": decompressed data exceeds ", limit, " bytes");
    if (bytes.size() - size < n) bytes.resize(std::min(limit, std::max({size + n, 2 * bytes.size(), size_t(4096)})));
    return bytes.data() + size;
  }
  std::vector<uint8_t> finish() {
    bytes.resize(size);
    if (bytes.capacity() / 5 > size / 4) bytes.shrink_to_fit();  // more than 25% slack from doubling
    return std::move(bytes);
  }
};

// Decodes one raw DEFLATE stream, appending to `out`.
class Inflater {
 public:
  Inflater(const uint8_t* data, size_t size, Output& out) : in_(data, size, out.name), out_(out), start_(out.size) {}

  // Returns the number of input bytes the stream used.
  size_t run() {
    bool last = false;
    while (!last) {
      last = in_.bits(1) != 0;
      const uint32_t type = in_.bits(2);
      if (type == 0)
        stored_block();
      else if (type == 1)
        codes(fixed_tables().litlen, fixed_tables().dist);
      else if (type == 2)
        dynamic_block();
      else
        corrupt("invalid block type 3");
    }
    return in_.bytes_used();
  }

 private:
  template <typename... Parts>
  [[noreturn]] void corrupt(const Parts&... parts) {
    fail(out_.name, ": corrupt deflate stream: ", parts...);
  }

  struct Codes {
    Huffman litlen, dist;
  };
  // Built once: the fixed codes never change (and never fail to build).
  static const Codes& fixed_tables() {
    static const Codes tables = [] {
      Codes t;
      const std::string none;
      const auto litlen = fixed_litlen_lengths();
      const auto dist = fixed_dist_lengths();
      build_huffman(t.litlen, litlen.data(), litlen.size(), "literal/length", none);
      build_huffman(t.dist, dist.data(), dist.size(), "distance", none);
      return t;
    }();
    return tables;
  }

  // Type 0: LEN and NLEN (its ones' complement, a check) as 16-bit
  // little-endian numbers at the next byte boundary, then LEN raw bytes.
  void stored_block() {
    in_.align_to_byte();
    const uint8_t* data = in_.data;
    size_t& pos = in_.pos;
    if (in_.size - pos < 4) corrupt("truncated (input ends inside a stored block header)");
    const uint32_t len = data[pos] | uint32_t(data[pos + 1]) << 8;
    const uint32_t nlen = data[pos + 2] | uint32_t(data[pos + 3]) << 8;
    if (len != (~nlen & 0xFFFF)) corrupt("stored block length ", len, " does not match its complement (NLEN ", nlen, ")");
    pos += 4;
    if (in_.size - pos < len) corrupt("truncated (stored block of ", len, " bytes has only ", in_.size - pos, ")");
    if (len > 0) std::memcpy(out_.room(len), data + pos, len);
    out_.size += len;
    pos += len;
  }

  // Type 2: the code lengths of both codes, Huffman-coded with a third code
  // (the code-length code) whose own lengths come first, 3 bits each.
  void dynamic_block() {
    const size_t hlit = in_.bits(5) + 257, hdist = in_.bits(5) + 1, hclen = in_.bits(4) + 4;
    // 5 bits could say 288 and 32, but symbols 286, 287, 30 and 31 never occur.
    if (hlit > 286 || hdist > 30) corrupt("too many length or distance symbols (HLIT ", hlit, ", HDIST ", hdist, ")");

    std::array<uint8_t, 19> cl_lengths{};
    for (size_t i = 0; i < hclen; ++i) cl_lengths[kCodeLengthOrder[i]] = uint8_t(in_.bits(3));
    Huffman code_lengths;
    build_huffman(code_lengths, cl_lengths.data(), cl_lengths.size(), "code-length", out_.name);

    // One sequence of hlit + hdist lengths; a repeat may run from the
    // literal/length lengths into the distance ones.
    std::array<uint8_t, 286 + 30> lengths{};
    const size_t n = hlit + hdist;
    for (size_t i = 0; i < n;) {
      const int symbol = decode(in_, code_lengths, "code-length");
      if (symbol < 16) {
        lengths[i++] = uint8_t(symbol);
        continue;
      }
      uint8_t value = 0;  // 17 and 18 repeat zero
      size_t repeat;
      if (symbol == 16) {
        if (i == 0) corrupt("repeat of the previous code length with no previous length");
        value = lengths[i - 1];
        repeat = 3 + in_.bits(2);
      } else if (symbol == 17) {
        repeat = 3 + in_.bits(3);
      } else {
        repeat = 11 + in_.bits(7);
      }
      if (repeat > n - i) corrupt("code length repeat runs past the ", n, " lengths");
      std::fill_n(lengths.begin() + long(i), repeat, value);
      i += repeat;
    }
    if (lengths[256] == 0) corrupt("no code for end-of-block");

    build_huffman(dynamic_.litlen, lengths.data(), hlit, "literal/length", out_.name);
    build_huffman(dynamic_.dist, lengths.data() + hlit, hdist, "distance", out_.name);
    codes(dynamic_.litlen, dynamic_.dist);
  }

  // The symbols of a fixed or dynamic block, up to end-of-block.
  void codes(const Huffman& litlen, const Huffman& dist) {
    for (;;) {
      int symbol = decode(in_, litlen, "literal/length");
      if (symbol < 256) {
        *out_.room(1) = uint8_t(symbol);
        ++out_.size;
        continue;
      }
      if (symbol == 256) return;
      symbol -= 257;
      if (symbol >= 29) corrupt("invalid length symbol ", symbol + 257);
      const size_t length = kLengthBase[symbol] + in_.bits(kLengthExtra[symbol]);
      const int d = decode(in_, dist, "distance");
      if (d >= 30) corrupt("invalid distance symbol ", d);
      const size_t distance = kDistBase[d] + in_.bits(kDistExtra[d]);
      // Matches may only reach back into this stream's own output (a gzip
      // member does not see the members before it).
      if (distance > out_.size - start_)
        corrupt("distance ", distance, " too far back (only ", out_.size - start_, " bytes of output so far)");

      uint8_t* to = out_.room(length);
      const uint8_t* from = to - distance;
      if (distance >= length)
        std::memcpy(to, from, length);
      else if (distance == 1)
        std::memset(to, *from, length);  // a run of one byte: the common case in images
      else
        for (size_t k = 0; k < length; ++k) to[k] = from[k];  // overlapping: repeats the last `distance` bytes
      out_.size += length;
    }
  }

  BitReader in_;
  Output& out_;
  size_t start_;           // where this stream's output starts in out_
  Codes dynamic_;          // the codes of the current dynamic block
};

// Output bytes to allocate up front, from a size a header claims (gzip's
// ISIZE) or a guess. A good guess saves the copies of doubling, but a hostile
// header must not make a small file allocate gigabytes before any of it is
// decoded, so the claim is trusted only up to 128 times the input (MNIST's
// images are 5:1); beyond that the output grows as it is produced.
size_t expected_output(size_t input_size, size_t claimed) {
  const size_t bound = input_size > SIZE_MAX / 256 ? SIZE_MAX : 128 * input_size + 65536;
  return std::min(claimed, bound);
}

// ======================================================================================
// Encoder
// ======================================================================================

// Writes DEFLATE's bit stream, appending to `bytes`: fields LSB first, the
// way BitReader reads them. Huffman codes are stored pre-reversed (Code) so
// that they too go out with one put.
struct BitWriter {
  std::vector<uint8_t>& bytes;
  uint64_t buffer = 0;
  unsigned count = 0;  // always < 8 between calls

  explicit BitWriter(std::vector<uint8_t>& out) : bytes(out) {}
  void put(uint32_t value, unsigned n) {
    buffer |= uint64_t(value) << count;
    count += n;
    while (count >= 8) {
      bytes.push_back(uint8_t(buffer));
      buffer >>= 8;
      count -= 8;
    }
  }
  void align() {
    if (count > 0) put(0, 8 - count);
  }
  size_t bit_position() const { return bytes.size() * 8 + count; }
};

struct Code {
  uint16_t bits = 0;   // the code, bit-reversed so it can be written LSB first
  uint8_t length = 0;
};

// The canonical code for these lengths (the same construction as build_huffman).
std::vector<Code> canonical_codes(const uint8_t* lengths, size_t n) {
  std::array<uint32_t, kMaxBits + 1> count{}, next{};
  for (size_t i = 0; i < n; ++i) ++count[lengths[i]];
  count[0] = 0;
  for (unsigned len = 1; len <= kMaxBits; ++len) next[len] = (next[len - 1] + count[len - 1]) << 1;
  std::vector<Code> codes(n);
  for (size_t i = 0; i < n; ++i) {
    if (lengths[i] == 0) continue;
    codes[i].bits = uint16_t(reverse_bits(next[lengths[i]]++, lengths[i]));
    codes[i].length = lengths[i];
  }
  return codes;
}

// Huffman code lengths for these symbol frequencies, none longer than `limit`.
// Every code gets at least two symbols (zlib does the same): a one-symbol code
// would need the incomplete single length-1 code, which some decoders reject.
// Too-long codes are fixed by halving the frequencies (rounding up, so nothing
// used becomes unused) until the tree is shallow enough: slightly worse than
// package-merge, much shorter, and it only happens on skewed data.
std::vector<uint8_t> huffman_lengths(std::vector<uint64_t> freq, unsigned limit) {
  const size_t n = freq.size();
  size_t used = size_t(std::count_if(freq.begin(), freq.end(), [](uint64_t f) { return f > 0; }));
  for (size_t i = 0; i < n && used < 2; ++i) {
    if (freq[i] == 0) {
      freq[i] = 1;
      ++used;
    }
  }

  std::vector<uint8_t> lengths(n, 0);
  for (;;) {
    // Merge the two lightest nodes until one is left; leaves are 0..n-1,
    // internal nodes get the next numbers, so a parent's number is always
    // larger than its children's and depths can be filled from the top down.
    using Node = std::pair<uint64_t, size_t>;  // (weight, node); ties broken by node for determinism
    std::priority_queue<Node, std::vector<Node>, std::greater<Node>> queue;
    std::vector<size_t> parent(n, SIZE_MAX);
    for (size_t i = 0; i < n; ++i)
      if (freq[i] > 0) queue.push({freq[i], i});
    while (queue.size() > 1) {
      const Node a = queue.top();
      queue.pop();
      const Node b = queue.top();
      queue.pop();
      parent[a.second] = parent[b.second] = parent.size();
      queue.push({a.first + b.first, parent.size()});
      parent.push_back(SIZE_MAX);
    }
    std::vector<uint8_t> depth(parent.size(), 0);
    unsigned deepest = 0;
    for (size_t i = parent.size(); i-- > 0;) {
      if (parent[i] == SIZE_MAX) continue;  // the root, or a symbol not used
      depth[i] = uint8_t(std::min(255, depth[parent[i]] + 1));
      deepest = std::max<unsigned>(deepest, depth[i]);
    }
    if (deepest <= limit) {
      std::copy(depth.begin(), depth.begin() + long(n), lengths.begin());
      return lengths;
    }
    for (uint64_t& f : freq)
      if (f > 0) f = (f + 1) / 2;
  }
}

// One LZ77 decision: a literal (distance 0) or a match.
struct Symbol {
  uint16_t value;     // the literal byte, or the match length 3..258
  uint16_t distance;  // 1..32768, or 0 for a literal
};

// Finds earlier occurrences of the bytes at a position with hash chains:
// `head[h]` is the latest position whose next 3 bytes hash to h, and
// `prev[p % kWindow]` the position before p with the same hash. Positions
// more than kWindow back are never followed, so `prev` only needs a window's
// worth of entries.
class MatchFinder {
 public:
  // A short input gets smaller tables: about one `head` slot per position
  // (at least 2^8, at most 2^15), and no more `prev` entries than positions.
  MatchFinder(const uint8_t* data, size_t size)
      : data_(data), size_(size), hash_bits_(8), prev_(std::min(size, kWindow), kNone) {
    while (hash_bits_ < kMaxHashBits && (size_t(1) << hash_bits_) < size) ++hash_bits_;
    head_.assign(size_t(1) << hash_bits_, kNone);
  }

  struct Match {
    size_t length = 0, distance = 0;
  };

  void insert(size_t pos) {
    if (size_ - pos < 3) return;
    const uint32_t h = hash(pos);
    prev_[pos % kWindow] = head_[h];
    head_[h] = pos;
  }

  // The longest match for the bytes at `pos` among the inserted positions
  // (all of them before pos), trying at most kMaxChain candidates.
  Match longest(size_t pos) const {
    Match best;
    if (size_ - pos < 3) return best;
    const size_t max_length = std::min(kMaxMatch, size_ - pos);
    const uint8_t* here = data_ + pos;
    size_t candidate = head_[hash(pos)];
    for (int tries = kMaxChain; tries > 0 && candidate != kNone && pos - candidate <= kWindow; --tries) {
      const uint8_t* there = data_ + candidate;
      // Only a match longer than the best so far is interesting, so test its last byte first.
      if (there[best.length] == here[best.length]) {
        size_t length = 0;
        while (length < max_length && there[length] == here[length]) ++length;
        if (length > best.length) {
          best = {length, pos - candidate};
          if (length == max_length) break;
        }
      }
      candidate = prev_[candidate % kWindow];
    }
    // A 3-byte match far back costs about as many bits as three literals.
    if (best.length < 3 || (best.length == 3 && best.distance > 4096)) best = {};
    return best;
  }

 private:
  static constexpr unsigned kMaxHashBits = 15;
  static constexpr size_t kNone = SIZE_MAX;
  static constexpr int kMaxChain = 128;

  uint32_t hash(size_t pos) const {
    const uint32_t three = data_[pos] | uint32_t(data_[pos + 1]) << 8 | uint32_t(data_[pos + 2]) << 16;
    return (three * 2654435761u) >> (32 - hash_bits_);  // Knuth's multiplicative hash: the top bits mix all three bytes
  }

  const uint8_t* data_;
  size_t size_;
  unsigned hash_bits_;
  std::vector<size_t> prev_, head_;
};

// Symbol index 0..28 (257..285) of each match length 3..258.
const std::array<uint8_t, kMaxMatch + 1>& length_symbols() {
  static const std::array<uint8_t, kMaxMatch + 1> table = [] {
    std::array<uint8_t, kMaxMatch + 1> t{};
    for (uint8_t s = 0; s < 29; ++s)
      for (size_t len = kLengthBase[s]; len < kLengthBase[s] + (size_t(1) << kLengthExtra[s]) && len <= kMaxMatch; ++len)
        t[len] = s;
    t[kMaxMatch] = 28;  // 258 has its own symbol (285), not 284 with extra bits 31
    return t;
  }();
  return table;
}

unsigned distance_symbol(size_t distance) {
  return unsigned(std::upper_bound(std::begin(kDistBase), std::end(kDistBase), distance) - std::begin(kDistBase) - 1);
}

// Writes the symbols of one block (the input bytes [begin, end) of `data`),
// in whichever of the three block types is smallest.
class BlockWriter {
 public:
  BlockWriter(BitWriter& out, const uint8_t* data) : out_(out), data_(data) {}

  void write(const std::vector<Symbol>& symbols, size_t begin, size_t end, bool last) {
    // Symbol frequencies, and the extra bits, which cost the same under any code.
    std::vector<uint64_t> litlen_freq(286, 0), dist_freq(30, 0);
    uint64_t extra_bits = 0;
    for (const Symbol& s : symbols) {
      if (s.distance == 0) {
        ++litlen_freq[s.value];
        continue;
      }
      const unsigned ls = length_symbols()[s.value], ds = distance_symbol(s.distance);
      ++litlen_freq[257 + ls];
      ++dist_freq[ds];
      extra_bits += kLengthExtra[ls] + kDistExtra[ds];
    }
    litlen_freq[256] = 1;

    const auto fixed_litlen = fixed_litlen_lengths();
    const auto fixed_dist = fixed_dist_lengths();
    const Dynamic dynamic = plan_dynamic(litlen_freq, dist_freq);
    const uint64_t fixed_bits = 3 + cost(litlen_freq, fixed_litlen.data()) + cost(dist_freq, fixed_dist.data()) + extra_bits;
    const uint64_t dynamic_bits = 3 + dynamic.header_bits + cost(litlen_freq, dynamic.litlen.data()) +
                                  cost(dist_freq, dynamic.dist.data()) + extra_bits;

    if (stored_bits(end - begin) < std::min(fixed_bits, dynamic_bits)) {
      write_stored(begin, end, last);
    } else if (dynamic_bits < fixed_bits) {
      out_.put(last, 1);
      out_.put(2, 2);
      write_dynamic_header(dynamic);
      write_symbols(symbols, canonical_codes(dynamic.litlen.data(), dynamic.litlen.size()),
                    canonical_codes(dynamic.dist.data(), dynamic.dist.size()));
    } else {
      out_.put(last, 1);
      out_.put(1, 2);
      write_symbols(symbols, canonical_codes(fixed_litlen.data(), fixed_litlen.size()),
                    canonical_codes(fixed_dist.data(), fixed_dist.size()));
    }
  }

 private:
  // A dynamic block's codes and how its header sends them.
  struct Dynamic {
    std::vector<uint8_t> litlen, dist;                 // code lengths
    std::vector<std::pair<uint8_t, uint8_t>> lengths;  // run-length coded: (code-length symbol, extra bits value)
    std::vector<uint8_t> cl_lengths;                   // the code-length code's lengths, 19 of them
    size_t hlit = 257, hdist = 1, hclen = 4;
    uint64_t header_bits = 0;
  };

  static uint64_t cost(const std::vector<uint64_t>& freq, const uint8_t* lengths) {
    uint64_t bits = 0;
    for (size_t i = 0; i < freq.size(); ++i) bits += freq[i] * lengths[i];
    return bits;
  }

  static Dynamic plan_dynamic(const std::vector<uint64_t>& litlen_freq, const std::vector<uint64_t>& dist_freq) {
    Dynamic d;
    d.litlen = huffman_lengths(litlen_freq, kMaxBits);
    d.dist = huffman_lengths(dist_freq, kMaxBits);
    while (d.hlit < 286 && std::any_of(d.litlen.begin() + long(d.hlit), d.litlen.end(), [](uint8_t l) { return l; })) ++d.hlit;
    while (d.hdist < 30 && std::any_of(d.dist.begin() + long(d.hdist), d.dist.end(), [](uint8_t l) { return l; })) ++d.hdist;

    // Run-length code the hlit + hdist lengths as one sequence: 16 repeats
    // the previous length 3-6 times, 17 and 18 send 3-10 and 11-138 zeros.
    std::vector<uint8_t> all(d.litlen.begin(), d.litlen.begin() + long(d.hlit));
    all.insert(all.end(), d.dist.begin(), d.dist.begin() + long(d.hdist));
    for (size_t i = 0; i < all.size();) {
      const uint8_t value = all[i];
      size_t run = 1;
      while (i + run < all.size() && all[i + run] == value) ++run;
      i += run;
      if (value == 0) {
        for (; run >= 11; run -= std::min<size_t>(run, 138)) d.lengths.push_back({18, uint8_t(std::min<size_t>(run, 138) - 11)});
        if (run >= 3) {
          d.lengths.push_back({17, uint8_t(run - 3)});
          run = 0;
        }
      } else {
        d.lengths.push_back({value, 0});
        --run;
        for (; run >= 3; run -= std::min<size_t>(run, 6)) d.lengths.push_back({16, uint8_t(std::min<size_t>(run, 6) - 3)});
      }
      for (; run > 0; --run) d.lengths.push_back({value, 0});
    }

    std::vector<uint64_t> cl_freq(19, 0);
    for (const auto& l : d.lengths) ++cl_freq[l.first];
    d.cl_lengths = huffman_lengths(cl_freq, 7);
    d.hclen = 19;
    while (d.hclen > 4 && d.cl_lengths[kCodeLengthOrder[d.hclen - 1]] == 0) --d.hclen;

    d.header_bits = 5 + 5 + 4 + 3 * d.hclen;
    for (const auto& l : d.lengths) d.header_bits += d.cl_lengths[l.first] + (l.first == 16 ? 2 : l.first == 17 ? 3 : l.first == 18 ? 7 : 0);
    return d;
  }

  void write_dynamic_header(const Dynamic& d) {
    out_.put(uint32_t(d.hlit - 257), 5);
    out_.put(uint32_t(d.hdist - 1), 5);
    out_.put(uint32_t(d.hclen - 4), 4);
    for (size_t i = 0; i < d.hclen; ++i) out_.put(d.cl_lengths[kCodeLengthOrder[i]], 3);
    const std::vector<Code> cl = canonical_codes(d.cl_lengths.data(), d.cl_lengths.size());
    for (const auto& l : d.lengths) {
      out_.put(cl[l.first].bits, cl[l.first].length);
      if (l.first >= 16) out_.put(l.second, l.first == 16 ? 2 : l.first == 17 ? 3 : 7);
    }
  }

  void write_symbols(const std::vector<Symbol>& symbols, const std::vector<Code>& litlen, const std::vector<Code>& dist) {
    for (const Symbol& s : symbols) {
      if (s.distance == 0) {
        out_.put(litlen[s.value].bits, litlen[s.value].length);
        continue;
      }
      const unsigned ls = length_symbols()[s.value], ds = distance_symbol(s.distance);
      out_.put(litlen[257 + ls].bits, litlen[257 + ls].length);
      out_.put(uint32_t(s.value - kLengthBase[ls]), kLengthExtra[ls]);
      out_.put(dist[ds].bits, dist[ds].length);
      out_.put(uint32_t(s.distance - kDistBase[ds]), kDistExtra[ds]);
    }
    out_.put(litlen[256].bits, litlen[256].length);
  }

  // Stored blocks hold at most 65535 bytes each: header, padding to a byte, LEN, NLEN, bytes.
  uint64_t stored_bits(size_t n) const {
    const uint64_t start = out_.bit_position();
    uint64_t position = start;
    do {
      const size_t chunk = std::min<size_t>(n, 65535);
      position = (position + 3 + 7) / 8 * 8 + 32 + 8 * uint64_t(chunk);
      n -= chunk;
    } while (n > 0);
    return position - start;
  }

  void write_stored(size_t begin, size_t end, bool last) {
    do {
      const size_t chunk = std::min<size_t>(end - begin, 65535);
      out_.put(last && begin + chunk == end, 1);
      out_.put(0, 2);
      out_.align();
      out_.put(uint32_t(chunk), 16);
      out_.put(uint32_t(~chunk & 0xFFFF), 16);
      out_.bytes.insert(out_.bytes.end(), data_ + begin, data_ + begin + chunk);
      begin += chunk;
    } while (begin < end);
  }

  BitWriter& out_;
  const uint8_t* data_;
};

// Appends the raw DEFLATE encoding of data to `bytes`.
void deflate_into(const uint8_t* data, size_t size, std::vector<uint8_t>& bytes) {
  // A block's symbols are collected first, since its codes depend on all of them.
  constexpr size_t kBlockSymbols = size_t(1) << 15;
  // Lazy matching: a match shorter than this is held back one byte to see
  // whether the next position starts a longer one (then a literal is sent
  // and the longer match taken instead).
  constexpr size_t kLazyBelow = 32;

  BitWriter out(bytes);
  BlockWriter blocks(out, data);
  MatchFinder finder(data, size);
  std::vector<Symbol> symbols;
  symbols.reserve(kBlockSymbols);
  size_t block_begin = 0;
  MatchFinder::Match next;  // longest(pos) when has_next: computed by the lazy check
  bool has_next = false;
  for (size_t pos = 0; pos < size;) {
    const MatchFinder::Match match = has_next ? next : finder.longest(pos);
    has_next = false;
    finder.insert(pos);
    if (match.length > 0 && match.length < kLazyBelow && pos + 1 < size) {
      next = finder.longest(pos + 1);
      has_next = true;
      if (next.length > match.length) {
        symbols.push_back({data[pos], 0});
        ++pos;
        continue;
      }
      has_next = false;
    }
    if (match.length > 0) {
      symbols.push_back({uint16_t(match.length), uint16_t(match.distance)});  // 32768 fits in 16 bits
      for (size_t k = 1; k < match.length; ++k) finder.insert(pos + k);
      pos += match.length;
    } else {
      symbols.push_back({data[pos], 0});
      ++pos;
    }
    if (symbols.size() >= kBlockSymbols && pos < size) {
      blocks.write(symbols, block_begin, pos, false);
      symbols.clear();
      block_begin = pos;
    }
  }
  blocks.write(symbols, block_begin, size, true);
  out.align();
}

}  // namespace

// ======================================================================================
// Public API
// ======================================================================================

std::vector<uint8_t> inflate(const uint8_t* data, size_t size, const std::string& name, size_t max_output, size_t* consumed) {
  Output out(name, max_output, expected_output(size, 4 * size));
  const size_t used = Inflater(data, size, out).run();
  if (consumed != nullptr) *consumed = used;
  return out.finish();
}

std::vector<uint8_t> deflate(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes;
  deflate_into(data, size, bytes);
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& name, size_t max_output) {
  const auto corrupt = [&](const auto&... parts) { fail(name, ": corrupt gzip: ", parts...); };
  const uint8_t* data = bytes.data();
  const size_t size = bytes.size();
  // The last member's ISIZE is the whole output's size for the usual single member.
  Output out(name, max_output, size >= 18 ? expected_output(size, load_le32(data + size - 4)) : 0);

  enum Flag : uint8_t { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
  size_t at = 0;
  for (size_t member = 1;; ++member) {
    // Header: magic 1f 8b, method, flags, mtime (4), extra flags, OS; then the optional fields.
    const size_t header = at;
    const auto need = [&](size_t n) {
      if (size - at < n) corrupt("truncated header");
    };
    if ((size - at >= 1 && data[at] != 0x1f) || (size - at >= 2 && data[at + 1] != 0x8b)) corrupt("not gzip (bad magic)");
    need(10);
    if (data[at + 2] != 8) corrupt("bad compression method ", int(data[at + 2]), " (expected 8, deflate)");
    const uint8_t flags = data[at + 3];
    if (flags & 0xE0) corrupt("reserved header flag bits set (", hex32(flags), ")");
    at += 10;
    if (flags & FEXTRA) {
      need(2);
      const size_t xlen = data[at] | size_t(data[at + 1]) << 8;
      at += 2;
      need(xlen);
      at += xlen;
    }
    for (const uint8_t field : {FNAME, FCOMMENT}) {  // zero-terminated strings
      if (!(flags & field)) continue;
      const void* zero = std::memchr(data + at, 0, size - at);
      if (zero == nullptr) corrupt("truncated header");
      at = size_t(static_cast<const uint8_t*>(zero) - data) + 1;
    }
    if (flags & FHCRC) {  // the low 16 bits of the CRC-32 of the header so far
      need(2);
      const uint32_t stored = data[at] | uint32_t(data[at + 1]) << 8;
      const uint32_t computed = crc32(data + header, at - header) & 0xFFFF;
      if (stored != computed) corrupt("bad header CRC-16 (stored ", hex32(stored), ", computed ", hex32(computed), ")");
      at += 2;
    }
    // FTEXT only says the data is probably text; nothing to check.

    const size_t begin = out.size;
    at += Inflater(data + at, size - at, out).run();
    if (size - at < 8) corrupt("truncated (member ", member, " ends before its CRC-32 and length)");
    const uint32_t stored_crc = load_le32(data + at), stored_size = load_le32(data + at + 4);
    at += 8;
    const uint32_t crc = crc32(out.bytes.data() + begin, out.size - begin);
    if (crc != stored_crc) corrupt("bad CRC-32 in member ", member, " (stored ", hex32(stored_crc), ", computed ", hex32(crc), ")");
    const uint32_t decoded = uint32_t(out.size - begin);  // ISIZE is the length mod 2^32
    if (decoded != stored_size) corrupt("length mismatch in member ", member, " (ISIZE says ", stored_size, " bytes, decoded ", decoded, ")");

    // Another member, zero padding (which gzip ignores too), or the end.
    if (at < size && data[at] == 0x1f) continue;
    if (std::any_of(data + at, data + size, [](uint8_t b) { return b != 0; }))
      corrupt("trailing garbage after member ", member, " (at byte ", at, ")");
    break;
  }
  return out.finish();
}

std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  // Magic, method 8, no flags, mtime 0 (none), no extra flags, OS 255 (unknown).
  std::vector<uint8_t> bytes = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
  deflate_into(data, size, bytes);
  const uint32_t crc = crc32(data, size), isize = uint32_t(size);
  for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(crc >> (8 * i)));
  for (int i = 0; i < 4; ++i) bytes.push_back(uint8_t(isize >> (8 * i)));
  return bytes;
}

std::vector<uint8_t> zlib_compress(const uint8_t* data, size_t size) {
  // CMF 0x78: method 8, window 2^(7+8) = 32 KiB. FLG 0x9c: level "default",
  // no dictionary, and check bits making 0x789c a multiple of 31.
  std::vector<uint8_t> bytes = {0x78, 0x9c};
  deflate_into(data, size, bytes);
  const uint32_t adler = adler32(data, size);
  for (int i = 3; i >= 0; --i) bytes.push_back(uint8_t(adler >> (8 * i)));  // big-endian, unlike gzip
  return bytes;
}

std::vector<uint8_t> zlib_decompress(const uint8_t* data, size_t size, const std::string& name, size_t max_output) {
  const auto corrupt = [&](const auto&... parts) { fail(name, ": corrupt zlib stream: ", parts...); };
  if (size < 2) corrupt("truncated header");
  const uint32_t cmf = data[0], flg = data[1];
  if ((cmf & 15) != 8) corrupt("bad compression method ", cmf & 15, " (expected 8, deflate)");
  if ((cmf >> 4) > 7) corrupt("window size 2^", (cmf >> 4) + 8, " is over 32 KiB");
  if ((cmf << 8 | flg) % 31 != 0) corrupt("header check bits wrong (", hex32(cmf << 8 | flg), " is not a multiple of 31)");
  if (flg & 0x20) corrupt("preset dictionary not supported");

  Output out(name, max_output, expected_output(size, 4 * size));
  const size_t used = 2 + Inflater(data + 2, size - 2, out).run();
  if (size - used < 4) corrupt("truncated (stream ends before its Adler-32)");
  const uint32_t stored = uint32_t(data[used]) << 24 | uint32_t(data[used + 1]) << 16 | uint32_t(data[used + 2]) << 8 | data[used + 3];
  const uint32_t computed = adler32(out.bytes.data(), out.size);
  if (stored != computed) corrupt("bad Adler-32 (stored ", hex32(stored), ", computed ", hex32(computed), ")");
  return out.finish();
}

}  // namespace dl
