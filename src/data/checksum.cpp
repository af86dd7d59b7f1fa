// checksum.cpp — see checksum.h.
#include "data/checksum.h"

#include <array>

namespace dl {

namespace {
// CRC-32 one byte at a time with a 256-entry table: entry n is the CRC of
// the byte n, for the reflected polynomial 0xEDB88320.
std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t previous) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  uint32_t c = previous ^ 0xFFFFFFFFu;  // the register starts (and ends) inverted
  for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t adler32(const uint8_t* data, size_t size, uint32_t previous) {
  // a = 1 + sum of bytes, b = sum of the a's, both mod 65521 (the largest
  // prime below 2^16). 5552 bytes is the most that can be summed before b
  // could overflow 32 bits, so the modulo is taken once per block.
  constexpr uint32_t kMod = 65521;
  uint32_t a = previous & 0xFFFF, b = previous >> 16;
  while (size > 0) {
    const size_t block = size < 5552 ? size : 5552;
    for (size_t i = 0; i < block; ++i) {
      a += data[i];
      b += a;
    }
    a %= kMod;
    b %= kMod;
    data += block;
    size -= block;
  }
  return (b << 16) | a;
}

}  // namespace dl
