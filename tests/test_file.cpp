// test_file.cpp — data/file.h (whole-file reads, atomic writes) and
// data/checksum.h (CRC-32, Adler-32 against published check values).
#include <filesystem>
#include <string>
#include <unistd.h>

#include "data/checksum.h"
#include "data/file.h"
#include "doctest/doctest.h"
#include "helpers.h"
#include "tensor/error.h"

using namespace dl;
using namespace test;

namespace {
const uint8_t* bytes(const char* text) { return reinterpret_cast<const uint8_t*>(text); }
}  // namespace

TEST_CASE("write_file_atomic then read_file round-trips, replaces, and leaves no temporary") {
  TempDir dir;
  const std::string path = (dir.path / "out.bin").string();
  const std::string first = std::string("a\0b", 3) + std::string(100000, 'x');
  write_file_atomic(path, first);
  CHECK(read_file(path) == std::vector<uint8_t>(first.begin(), first.end()));
  write_file_atomic(path, "short");
  CHECK(read_file(path) == std::vector<uint8_t>{'s', 'h', 'o', 'r', 't'});
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) entries += entry.is_regular_file();
  CHECK(entries == 1);
}

TEST_CASE("file errors are one line naming the path") {
  TempDir dir;
  const std::string missing = (dir.path / "missing.idx").string();
  CHECK_THROWS_WITH_AS(read_file(missing), (missing + ": cannot read: No such file or directory").c_str(), Error);
  const std::string unwritable = (dir.path / "no_dir" / "x.bin").string();
  CHECK_THROWS_WITH_AS(write_file_atomic(unwritable, "x"), (unwritable + ": cannot write: No such file or directory").c_str(),
                       Error);
}

TEST_CASE("CRC-32 and Adler-32 match their published check values, also piecewise") {
  // The standard check input "123456789": CRC-32/ISO-HDLC 0xCBF43926;
  // Adler-32 of "Wikipedia" is 0x11E60398 (RFC 1950's example algorithm).
  CHECK(crc32(bytes("123456789"), 9) == 0xCBF43926u);
  CHECK(crc32(bytes("6789"), 4, crc32(bytes("12345"), 5)) == 0xCBF43926u);
  CHECK(crc32(nullptr, 0) == 0u);
  CHECK(adler32(bytes("Wikipedia"), 9) == 0x11E60398u);
  CHECK(adler32(bytes("pedia"), 5, adler32(bytes("Wiki"), 4)) == 0x11E60398u);
  CHECK(adler32(nullptr, 0) == 1u);
  // Long input: crosses Adler's 5552-byte block boundary many times.
  const std::vector<uint8_t> ones(100000, 0xFF);
  CHECK(adler32(ones.data(), ones.size()) == 0x149A302Cu);  // python3: hex(zlib.adler32(b"\xff" * 100000))
  CHECK(adler32(ones.data() + 50000, 50000, adler32(ones.data(), 50000)) == 0x149A302Cu);
}
