// test_file.cpp — data/file.h (whole-file reads, atomic writes) and
// data/checksum.h (CRC-32, Adler-32 against published check values).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>

#include "data/checksum.h"
#include "data/file.h"
#include "data/idx.h"
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

// Each of these would block forever (a FIFO with no writer), read until
// memory runs out (/dev/zero), or read as an empty file (/dev/null) if
// read_file did not check what it opened.
TEST_CASE("read_file refuses what is not a regular file, at once and in one line") {
  TempDir dir;
  const std::string fifo = dir.file("fifo.idx");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(read_file(fifo), (fifo + ": not a regular file (a FIFO)").c_str(), Error);
  const std::string zeros = dir.file("zeros.idx");
  std::filesystem::create_symlink("/dev/zero", zeros);
  CHECK_THROWS_WITH_AS(read_file(zeros), (zeros + ": not a regular file (a character device)").c_str(), Error);
  CHECK_THROWS_WITH_AS(read_file("/dev/null"), "/dev/null: not a regular file (a character device)", Error);
  const std::string directory = dir.file("sub.idx");
  std::filesystem::create_directory(directory);
  CHECK_THROWS_WITH_AS(read_file(directory), (directory + ": not a regular file (a directory)").c_str(), Error);
}

TEST_CASE("read_file follows symlinks to regular files and reads an empty one as empty, unlike /dev/null") {
  TempDir dir;
  const std::string target = dir.file("target.bin");
  write_file_atomic(target, "abc");
  const std::string link = dir.file("link.bin");
  std::filesystem::create_symlink(target, link);
  CHECK(read_file(link) == std::vector<uint8_t>{'a', 'b', 'c'});
  const std::string empty = dir.file("empty.bin");
  write_file_atomic(empty, "");
  CHECK(read_file(empty).empty());
  // /dev/null is just as empty when read, but it is no data file.
  const std::string null_link = dir.file("null.bin");
  std::filesystem::create_symlink("/dev/null", null_link);
  CHECK_THROWS_WITH_AS(read_file(null_link), (null_link + ": not a regular file (a character device)").c_str(), Error);
}

TEST_CASE("read_idx of a FIFO names the path instead of blocking") {
  TempDir dir;
  const std::string fifo = dir.file("train-images-idx3-ubyte");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(read_idx(fifo), (fifo + ": not a regular file (a FIFO)").c_str(), Error);
}

TEST_CASE("naming_out_of_memory turns std::bad_alloc into an Error naming the file, and nothing else") {
  const std::string path = "data/huge.safetensors";
  CHECK(naming_out_of_memory(path, "reading", [] { return 42; }) == 42);
  CHECK_THROWS_WITH_AS(naming_out_of_memory(path, "reading", []() -> int { throw std::bad_alloc(); }),
                       "data/huge.safetensors: out of memory while reading it", Error);
  // std::bad_array_new_length is a std::bad_alloc too: a size read from a
  // hostile header can cause it.
  CHECK_THROWS_WITH_AS(naming_out_of_memory(path, "reading", [] { throw std::bad_array_new_length(); }),
                       "data/huge.safetensors: out of memory while reading it", Error);
  CHECK_THROWS_WITH_AS(naming_out_of_memory(path, "reading", [] { fail("data/huge.safetensors: truncated header"); }),
                       "data/huge.safetensors: truncated header", Error);
  CHECK_THROWS_WITH_AS(naming_out_of_memory(path, "reading", [] { throw std::length_error("vector::reserve"); }),
                       "vector::reserve", std::length_error);
  CHECK_THROWS_AS(naming_out_of_memory(path, "reading", [] { throw 7; }), int);
  CHECK_THROWS_WITH_AS(naming_out_of_memory(path, "writing", []() -> int { throw std::bad_alloc(); }),
                       "data/huge.safetensors: out of memory while writing it", Error);
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
