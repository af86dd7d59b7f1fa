// checksum.h — the two checksums of the formats we read and write:
// CRC-32 (gzip trailers, PNG chunks; ISO-HDLC polynomial, reflected) and
// Adler-32 (zlib streams inside PNG).
//
// Both can be computed piecewise: pass the previous result to continue,
// e.g. crc32(b, nb, crc32(a, na)) == crc32 of a followed by b.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dl {

uint32_t crc32(const uint8_t* data, size_t size, uint32_t previous = 0);
uint32_t adler32(const uint8_t* data, size_t size, uint32_t previous = 1);

}  // namespace dl
