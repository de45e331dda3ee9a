// MemFileSystem: an in-memory io::FileSystem for tests (like leveldb's
// memenv).
//
// Files and directories live in a map keyed by normalised path; nothing
// touches the disk. Writes are visible to readers at once (Flush and Sync do
// nothing), so pair it with FaultFileSystem to model what a crash keeps.
// Extra test hooks read, overwrite and corrupt file contents directly.
//
// Thread safety: all methods are safe from several threads; a WritableFile
// is used by one thread at a time, as the interface requires.
#ifndef TESTING_MEM_FILE_SYSTEM_H_
#define TESTING_MEM_FILE_SYSTEM_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tsdb/io/file_system.h"

namespace tsdb::testing {

class MemFileSystem final : public io::FileSystem {
 public:
  MemFileSystem() = default;

  absl::StatusOr<std::unique_ptr<io::WritableFile>> NewWritableFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<io::WritableFile>> NewAppendableFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<io::RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override;
  absl::StatusOr<bool> IsDirectory(const std::string& path) override;
  absl::Status CreateDirs(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveAll(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::Status SyncDir(const std::string& dir) override;

  // Test hooks. Replaces (or creates) the contents of `path`.
  [[nodiscard]] absl::Status WriteFileContents(const std::string& path,
                                               std::string contents);
  // XORs the byte at `offset` of `path` with `mask`.
  [[nodiscard]] absl::Status CorruptByte(const std::string& path,
                                         uint64_t offset, uint8_t mask);
  // All file paths, sorted.
  std::vector<std::string> AllFiles() const;

  struct Data {
    std::mutex mu;
    std::string bytes;
  };

 private:
  static std::string Normalize(const std::string& path);
  static std::string Parent(const std::string& path);
  bool DirExistsLocked(const std::string& dir) const;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Data>> files_;  // guarded by mu_
  std::set<std::string> dirs_;                          // guarded by mu_
};

}  // namespace tsdb::testing

#endif  // TESTING_MEM_FILE_SYSTEM_H_
