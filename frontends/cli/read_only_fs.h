// ReadOnlyOverlayFileSystem: an io::FileSystem that reads a real directory
// tree and never changes it. Everything that would write is kept in memory:
// new files live in memory, a removed or renamed real file is only hidden,
// a truncated real file is only read up to the new size, created
// directories exist only in the overlay. Reads see the overlay first.
//
// It lets the CLI run Prometheus's start-up path (headwal::OpenHeadFromDir's
// stages: chunks_head scan with repair, head chunks cut during the WAL
// replay) on a data dir without writing to it and without copying it: only
// what the start-up would have written (new head chunk files) takes memory.
//
//   ReadOnlyOverlayFileSystem fs(io::PosixFileSystem());
//   auto mapper = chunks::ChunkDiskMapper::Open(&fs, dir + "/chunks_head", {});
//   ...                       // dir is untouched afterwards
//
// Ownership: `base` must outlive the overlay; files returned by it may
// outlive it (they share their in-memory data). Thread safety: every method
// may be called from several threads at once (one mutex); an in-memory file
// may be read while it is written.
#ifndef FRONTENDS_CLI_READ_ONLY_FS_H_
#define FRONTENDS_CLI_READ_ONLY_FS_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "tsdb/io/file_system.h"

namespace tsdb::cli {

class ReadOnlyOverlayFileSystem final : public io::FileSystem {
 public:
  explicit ReadOnlyOverlayFileSystem(io::FileSystem* base) : base_(base) {}

  absl::StatusOr<std::unique_ptr<io::WritableFile>> NewWritableFile(
      const std::string& path) override;
  // Appending to a real file first copies it into memory (only that file).
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
  [[nodiscard]] absl::Status CreateDirs(const std::string& dir) override;
  [[nodiscard]] absl::Status RemoveFile(const std::string& path) override;
  [[nodiscard]] absl::Status RemoveAll(const std::string& path) override;
  [[nodiscard]] absl::Status Rename(const std::string& from,
                                    const std::string& to) override;
  [[nodiscard]] absl::Status Truncate(const std::string& path,
                                      uint64_t size) override;
  [[nodiscard]] absl::Status SyncDir(const std::string& dir) override;

  // Bytes held in memory by overlay files (for tests and diagnostics).
  uint64_t MemoryBytes() const;

  struct MemData;  // an in-memory file's bytes, shared with its handles

 private:
  std::shared_ptr<MemData> FindMem(const std::string& path) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Hidden(const std::string& path) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the visible real file (up to its truncated size).
  absl::StatusOr<std::string> ReadBase(const std::string& path);
  absl::Status NotFound(const std::string& op, const std::string& path) const;

  io::FileSystem* const base_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemData>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);    // created here
  std::set<std::string> hidden_ ABSL_GUARDED_BY(mu_);  // removed real paths
  std::map<std::string, uint64_t> truncated_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_READ_ONLY_FS_H_
