// compress.h — DEFLATE (RFC 1951) and its two wrappers, gzip (RFC 1952, the
// MNIST .gz files) and zlib (RFC 1950, what a PNG's IDAT chunks hold), both
// ways: decoders hardened against corrupt or hostile input, and a compact
// encoder whose output any zlib accepts.
//
// The shape of DEFLATE: a stream is a sequence of blocks, each starting with a
// 3-bit header (last-block flag, block type). A block is either stored (raw
// bytes with a 16-bit length) or Huffman-coded. A coded block is a sequence of
// symbols from two Huffman codes: the literal/length code (0-255 a literal
// byte, 256 end of block, 257-285 a match length 3-258) and, after each
// length, the distance code (a distance 1-32768 back into the output already
// produced: "copy `length` bytes from `distance` bytes ago", LZ77). Length
// and distance symbols stand for ranges; extra raw bits pick the exact value.
// The codes are either the fixed ones of the RFC, or dynamic: sent at the
// start of the block as code lengths, themselves Huffman-coded.
//
// Every decoder error is a dl::Error whose message starts with the `name`
// passed in (a file name), e.g. "train.gz: corrupt gzip: bad CRC-32 ...".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dl {

// ---- raw DEFLATE ---------------------------------------------------------------------

// Decodes an RFC 1951 raw DEFLATE stream: stored, fixed and dynamic Huffman
// blocks, back-references up to 32 KiB. Errors read "<name>: corrupt deflate
// stream: <what>". Never reads out of bounds, never loops forever, and throws
// "<name>: decompressed data exceeds N bytes" rather than produce more than
// `max_output` bytes, so a zip bomb cannot exhaust memory. *consumed (if
// given) receives the number of input bytes the stream used (up to and
// including the byte holding its last bit); bytes after that are not read.
std::vector<uint8_t> inflate(const uint8_t* data, size_t size, const std::string& name,
                             size_t max_output = size_t(1) << 32, size_t* consumed = nullptr);

// Encodes `data` as a raw DEFLATE stream: LZ77 over a 32 KiB window (hash
// chains, one-step lazy matching), each block sent with whichever of fixed
// Huffman, dynamic Huffman or stored is smallest. One setting, no levels.
std::vector<uint8_t> deflate(const uint8_t* data, size_t size);

// ---- gzip (RFC 1952) -----------------------------------------------------------------

// True when `bytes` starts with the gzip magic 1f 8b.
bool is_gzip(const std::vector<uint8_t>& bytes);

// Decodes every member of a gzip file and joins their output (concatenated
// members are what `cat a.gz b.gz` makes). Handles the FTEXT, FHCRC (checked),
// FEXTRA, FNAME and FCOMMENT header fields; insists on method 8 (deflate) and
// checks each member's CRC-32 and ISIZE. Zero bytes after the last member are
// ignored (as gzip does); anything else there is an error. Errors read
// "<name>: corrupt gzip: <what>" ("not gzip (bad magic)", "truncated header",
// "bad CRC-32 ...", "length mismatch ...", ...) or come from inflate.
// `max_output` bounds the joined output.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& name,
                            size_t max_output = size_t(1) << 32);

// One gzip member: a 10-byte header (no name, mtime 0), deflate(data), CRC-32, ISIZE.
std::vector<uint8_t> gzip(const uint8_t* data, size_t size);

// ---- zlib (RFC 1950) -----------------------------------------------------------------

// A 2-byte header (CM 8, 32 KiB window, check bits), deflate(data), Adler-32.
std::vector<uint8_t> zlib_compress(const uint8_t* data, size_t size);

// Checks the header (method 8, window at most 32 KiB, check bits, no preset
// dictionary), inflates, and verifies the Adler-32. Bytes after the Adler-32
// are ignored, as libpng does for a PNG's IDAT data. Errors read
// "<name>: corrupt zlib stream: <what>" or come from inflate.
std::vector<uint8_t> zlib_decompress(const uint8_t* data, size_t size, const std::string& name,
                                     size_t max_output = size_t(1) << 32);

}  // namespace dl
