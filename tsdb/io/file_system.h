// File access behind small interfaces, so storage code can be tested with an
// in-memory or fault-injecting file system (testing/) and run on POSIX.
//
//   WritableFile      sequential appends, Flush to the OS, Sync to disk.
//   RandomAccessFile  positional reads (pread); safe from many threads.
//   FileSystem        opening files and directory operations.
//
// Every error is an absl::Status naming the path and the failed operation
// (with strerror for OS errors), e.g.
//   "open /data/wal/00000003: No such file or directory".
// Ownership: files returned as unique_ptr belong to the caller; a file closes
// on destruction (errors then are dropped; call Close() to see them).
#ifndef TSDB_IO_FILE_SYSTEM_H_
#define TSDB_IO_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tsdb::io {

// Thread safety: one thread at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Buffers or writes `data` at the end of the file.
  [[nodiscard]] virtual absl::Status Append(std::string_view data) = 0;
  // Hands buffered data to the OS (survives a process crash, not a power
  // loss).
  [[nodiscard]] virtual absl::Status Flush() = 0;
  // Flush, then make the data durable (fdatasync).
  [[nodiscard]] virtual absl::Status Sync() = 0;
  // Flush and close. Further calls fail.
  [[nodiscard]] virtual absl::Status Close() = 0;
  // Reserves disk space so the file is at least `size` bytes long (its size
  // grows to `size`; appends still go at the end of the data written so far,
  // so writers truncate the unused tail when they finish). POSIX: fallocate,
  // falling back to ftruncate where the file system cannot fallocate. The
  // default does nothing (in-memory file systems).
  [[nodiscard]] virtual absl::Status Preallocate(uint64_t size) {
    (void)size;
    return absl::OkStatus();
  }
  // Bytes appended so far, flushed or not, plus the size the file had when
  // opened for appending.
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;
};

// Thread safety: Read may be called from several threads at once.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `scratch`; `*result` points at the
  // bytes read (possibly into scratch), shorter than n only at end of file.
  [[nodiscard]] virtual absl::Status Read(uint64_t offset, size_t n,
                                          char* scratch,
                                          std::string_view* result) const = 0;
  virtual absl::StatusOr<uint64_t> Size() const = 0;
  virtual const std::string& path() const = 0;
};

// Thread safety: all methods are safe from several threads at once.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates `path` for writing.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Opens `path` for appending, creating it if missing.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, sorted, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) = 0;
  virtual absl::StatusOr<bool> IsDirectory(const std::string& path) = 0;

  // Creates `dir` and missing parents; OK if it exists.
  [[nodiscard]] virtual absl::Status CreateDirs(const std::string& dir) = 0;
  [[nodiscard]] virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Removes a file or a directory tree; OK if it does not exist.
  [[nodiscard]] virtual absl::Status RemoveAll(const std::string& path) = 0;
  // Atomically renames (replacing a file target, as rename(2)).
  [[nodiscard]] virtual absl::Status Rename(const std::string& from,
                                            const std::string& to) = 0;
  [[nodiscard]] virtual absl::Status Truncate(const std::string& path,
                                              uint64_t size) = 0;
  // fsync()s a directory so that renames and creations in it are durable.
  [[nodiscard]] virtual absl::Status SyncDir(const std::string& dir) = 0;
};

// The process-wide POSIX file system (never destroyed).
FileSystem* PosixFileSystem();

// Joins path components with '/'.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace tsdb::io

#endif  // TSDB_IO_FILE_SYSTEM_H_
