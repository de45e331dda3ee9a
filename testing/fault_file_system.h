// FaultFileSystem: wraps another io::FileSystem and injects faults, like
// leveldb's fault_injection_test.
//
//   - DropUnsyncedData(): what a power loss keeps: every file is cut back to
//     the size it had at its last Sync (or when it was opened), and files
//     created since their directory's last SyncDir are removed.
//   - SetFilesystemActive(false): every later write, sync, create, rename,
//     truncate or remove fails with Unavailable ("simulated crash"), so a
//     "dead" process's objects can be destroyed without touching the files.
//   - FailWrite(n, all_after): the n-th Append from now (1-based) fails with
//     an I/O error, and with all_after every Append after it too.
//   - CorruptByte(path, offset, mask): XORs one byte in place (any base file
//     system; rewrites the file through it).
//
// Ownership: `base` must outlive this object.
// Thread safety: all methods are safe from several threads.
#ifndef TESTING_FAULT_FILE_SYSTEM_H_
#define TESTING_FAULT_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tsdb/io/file_system.h"

namespace tsdb::testing {

class FaultFileSystem final : public io::FileSystem {
 public:
  explicit FaultFileSystem(io::FileSystem* base) : base_(base) {}

  absl::StatusOr<std::unique_ptr<io::WritableFile>> NewWritableFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<io::WritableFile>> NewAppendableFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<io::RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    return base_->ReadFile(path);
  }
  absl::StatusOr<bool> Exists(const std::string& path) override {
    return base_->Exists(path);
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    return base_->FileSize(path);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override {
    return base_->ListDir(dir);
  }
  absl::StatusOr<bool> IsDirectory(const std::string& path) override {
    return base_->IsDirectory(path);
  }
  absl::Status CreateDirs(const std::string& dir) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveAll(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::Status SyncDir(const std::string& dir) override;

  // Fault controls (see the file comment).
  void SetFilesystemActive(bool active);
  void FailWrite(int n, bool all_after);
  [[nodiscard]] absl::Status DropUnsyncedData();
  [[nodiscard]] absl::Status CorruptByte(const std::string& path,
                                         uint64_t offset, uint8_t mask);

  // Internal: called by the wrapped WritableFile.
  absl::Status BeforeAppend(const std::string& path);
  absl::Status CheckActive(const std::string& op, const std::string& path);
  void Synced(const std::string& path, uint64_t size);

 private:
  io::FileSystem* const base_;
  std::mutex mu_;
  bool active_ = true;                      // guarded by mu_
  int64_t writes_until_failure_ = -1;       // guarded by mu_; -1: never
  bool fail_all_after_ = false;             // guarded by mu_
  bool failing_ = false;                    // guarded by mu_
  std::map<std::string, uint64_t> synced_;  // guarded by mu_
  std::set<std::string> new_files_;         // guarded by mu_
};

}  // namespace tsdb::testing

#endif  // TESTING_FAULT_FILE_SYSTEM_H_
