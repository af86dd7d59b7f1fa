// file.h — whole-file reads and atomic writes, with one-line errors that
// name the file. Everything the library writes (checkpoints, images, charts,
// graphs) goes through write_file_atomic, so a crash or a full disk never
// leaves a half-written file under the real name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dl {

// The file's bytes; throws Error("<path>: cannot read: <reason>").
std::vector<uint8_t> read_file(const std::string& path);

// Writes to a temporary file beside `path`, fsyncs it, then renames it over
// `path` (atomic on POSIX). On failure the temporary is removed and Error
// names `path` and the reason.
void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace dl
