#include "tsdb/db/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tsdb::db {
namespace {

absl::Status Errno(const std::string& op, const std::string& path, int err) {
  return absl::Status(
      err == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kInternal,
      absl::StrCat(op, " ", path, ": ", std::strerror(err)));
}

// The holder's PID as written in the file, or "" if unreadable.
std::string ReadPid(int fd) {
  char buf[32];
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  s = std::string(absl::StripAsciiWhitespace(s));
  int64_t pid = 0;
  if (!absl::SimpleAtoi(s, &pid) || pid <= 0) return "";
  return absl::StrCat(pid);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DirLock>> DirLock::Acquire(
    const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kLockFileName);
  // A racing Release may unlink the file we opened; retry a few times.
  for (int attempt = 0; attempt < 10; ++attempt) {
    struct stat before;
    const bool existed = ::stat(path.c_str(), &before) == 0;
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        const std::string pid = ReadPid(fd);
        ::close(fd);
        return absl::FailedPreconditionError(
            absl::StrCat("data dir locked: ", path, " is held by ",
                         pid.empty() ? std::string("an unknown process")
                                     : absl::StrCat("process ", pid),
                         " (another instance is using ", dir, ")"));
      }
      ::close(fd);
      return Errno("flock", path, err);
    }
    // Still the file at `path`? (Not unlinked by a releasing holder.)
    struct stat locked, now;
    if (::fstat(fd, &locked) != 0) {
      const int err = errno;
      ::close(fd);
      return Errno("fstat", path, err);
    }
    if (::stat(path.c_str(), &now) != 0 || now.st_ino != locked.st_ino ||
        now.st_dev != locked.st_dev) {
      ::close(fd);
      continue;
    }
    const std::string content = absl::StrCat(::getpid(), "\n");
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, content.data(), content.size(), 0) !=
            static_cast<ssize_t>(content.size()) ||
        ::fsync(fd) != 0) {
      const int err = errno;
      ::unlink(path.c_str());
      ::close(fd);
      return Errno("write", path, err);
    }
    return std::unique_ptr<DirLock>(new DirLock(path, fd, !existed));
  }
  return absl::UnavailableError(
      absl::StrCat("data dir lock ", path, ": lock file kept changing"));
}

DirLock::~DirLock() { (void)Release(); }

absl::Status DirLock::Release() {
  if (fd_ < 0) return absl::OkStatus();
  absl::Status s;
  // Unlink while still holding the flock (see the header).
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    s = Errno("remove", path_, errno);
  }
  if (::close(fd_) != 0 && s.ok()) s = Errno("close", path_, errno);
  fd_ = -1;
  return s;
}

}  // namespace tsdb::db
