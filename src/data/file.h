// file.h — whole-file reads and atomic writes, with one-line errors that
// name the file. Everything the library writes (checkpoints, images, charts,
// graphs) goes through write_file_atomic, so a crash or a full disk never
// leaves a half-written file under the real name.
#pragma once

#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace dl {

// The file's bytes: exactly as many as its size says when it is opened.
// Only regular files (or symlinks to them) are read: a FIFO would block
// forever and a device such as /dev/zero never ends, so anything else is
// refused at once with Error("<path>: not a regular file (a FIFO)") etc.
// Other failures throw Error("<path>: cannot read: <reason>"), including a
// file that shrinks while it is read.
std::vector<uint8_t> read_file(const std::string& path);

// Writes to a temporary file beside `path`, fsyncs it, renames it over
// `path` (atomic on POSIX), then fsyncs the directory so that the rename
// itself survives a power loss before this returns: a caller that writes A
// and then B can rely on never finding B's new contents without A's (on a
// file system that cannot sync a directory, as far as it allows). On
// failure the temporary is removed and Error names `path` and the reason.
void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_file_atomic(const std::string& path, const std::string& text);

// Removes the temporaries (<name>.tmp.<pid>) that a process killed inside
// write_file_atomic left in `dir`, when that process is gone; a live one's
// may be in the middle of its write and stays.
void remove_stale_temporaries(const std::string& dir);

// body() (reading or writing `path`, as `doing` says: "reading", "writing"),
// with a std::bad_alloc from it turned into Error("<path>: out of memory
// while reading it"): a bare "std::bad_alloc" does not say which file was
// too big. Every other exception passes through unchanged.
template <typename Body>
auto naming_out_of_memory(const std::string& path, const char* doing, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    fail(path, ": out of memory while ", doing, " it");
  }
}

}  // namespace dl
