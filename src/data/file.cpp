// file.cpp — see file.h.
#include "data/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "data/crash_point.h"
#include "tensor/error.h"

namespace dl {

namespace {

// write_file_atomic writes <path>.tmp.<pid>: the pid keeps two processes
// writing the same path from sharing a temporary, and tells
// remove_stale_temporaries whose it is.
constexpr const char* kTemporaryMark = ".tmp.";

// Closes the descriptor however the scope is left, errors included.
struct ClosedAtExit {
  int fd;
  ~ClosedAtExit() { ::close(fd); }
};

// What a file that is not regular is, for "<path>: not a regular file (a FIFO)".
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "an unknown kind of file";
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO that has no writer would otherwise block
  // before fstat can refuse it. It does not affect reads of regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot read: ", std::strerror(errno));
  const ClosedAtExit closer{fd};
  struct stat status;
  if (::fstat(fd, &status) != 0) fail(path, ": cannot read: ", std::strerror(errno));
  if (!S_ISREG(status.st_mode)) fail(path, ": not a regular file (", file_kind(status.st_mode), ")");
  // Exactly st_size bytes: a file that grows meanwhile is read as it was
  // when opened, and one that shrinks is an error rather than a short read.
  const size_t size = static_cast<size_t>(status.st_size);
  std::vector<uint8_t> bytes;
  naming_out_of_memory(path, "reading", [&] { bytes.resize(size); });
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, ": cannot read: ", std::strerror(errno));
    }
    if (n == 0)
      fail(path, ": cannot read: the file shrank while it was read (", size, " bytes when opened, it ended after ",
           done, ")");
    done += static_cast<size_t>(n);
  }
  return bytes;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + kTemporaryMark + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(path, ": cannot write: ", std::strerror(errno));
  auto give_up = [&](int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, ": cannot write: ", std::strerror(error));
  };
  const char* bytes = static_cast<const char*>(data);
  size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, bytes + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      give_up(errno);
    }
    written += static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave the new name pointing
  // at a file whose data never reached the disk.
  if (::fsync(fd) != 0) give_up(errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    fail(path, ": cannot write: ", std::strerror(error));
  }
  crash_point("write:" + std::filesystem::path(path).filename().string());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    fail(path, ": cannot write: ", std::strerror(error));
  }
  // The rename is an entry in the directory, which reaches the disk only when
  // the directory is synced; until then a power loss can undo it, or keep a
  // later rename and lose this one.
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd < 0) fail(path, ": cannot write: cannot open its directory to sync it: ", std::strerror(errno));
  const ClosedAtExit closer{directory_fd};
  // Some file systems cannot sync a directory at all (EINVAL): there the
  // rename is as durable as the file system makes it, which is no reason to
  // refuse the write.
  if (::fsync(directory_fd) != 0 && errno != EINVAL) {
    fail(path, ": cannot write: cannot sync its directory: ", std::strerror(errno));
  }
}

void remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    const size_t tmp = name.rfind(kTemporaryMark);
    if (tmp == std::string::npos) continue;
    const std::string pid_text = name.substr(tmp + std::strlen(kTemporaryMark));
    // A pid has at most 7 digits on Linux; anything else is not our temporary.
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // A live process may be writing it this moment; only a dead one's is stale.
    if (pid == ::getpid() || (::kill(pid, 0) == 0 || errno == EPERM)) continue;
    std::error_code remove_error;
    if (!fs::remove(it->path(), remove_error) && remove_error) {
      std::cerr << "warning: " << it->path().string() << ": cannot remove this temporary of a killed process: "
                << remove_error.message() << "\n";
    }
  }
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

}  // namespace dl
