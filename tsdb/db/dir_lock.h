// DirLock: the exclusive lock on a data directory, so that two processes
// never open the same TSDB.
//
// Acquire(dir) opens (creating if needed) `<dir>/lock`, takes
// flock(LOCK_EX | LOCK_NB) on it -- as Prometheus 2.3+ does
// (tsdb/fileutil/flock_unix.go) -- and writes our PID into it followed by a
// newline (Prometheus 2.0-2.2's PID lock file content; 2.3+ leaves the file
// empty, and either reads the other's file fine since only the flock
// matters). When another process holds the flock, Acquire fails with
// FailedPrecondition "data dir locked: <dir>/lock is held by process <pid>"
// (the PID read from the file, or "an unknown process" when it is not
// written yet). A lock file left behind by a dead process (the kernel drops
// a flock when its holder dies) is simply taken over; clean_start() then
// says false, like Prometheus's prometheus_tsdb_clean_start metric.
//
// Release() (or the destructor) removes the file and then drops the lock,
// in that order, so that nobody can lock a file we are about to unlink.
// Acquire re-checks after locking that the path still names the inode it
// locked, so a racing Release cannot hand two processes "the" lock.
//
// flock locks belong to an open file description: a second Acquire in the
// same process fails too. Not shared across fork() in any useful way: the
// child must not call Release on the parent's lock.
//
// Example:
//   TSDB_ASSIGN_OR_RETURN(std::unique_ptr<DirLock> lock,
//                         DirLock::Acquire("/var/lib/tsdb"));
//   ... open the DB ...
//   TSDB_RETURN_IF_ERROR(lock->Release());
//
// Thread safety: a DirLock is owned by one thread; Release and the
// destructor must not race.
#ifndef TSDB_DB_DIR_LOCK_H_
#define TSDB_DB_DIR_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tsdb::db {

inline constexpr char kLockFileName[] = "lock";

class DirLock final {
 public:
  // Locks `dir` (which must exist). FailedPrecondition when another holder
  // has it; other errors for I/O failures, naming the path.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DirLock>> Acquire(
      const std::string& dir);

  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  // Releases the lock if still held (errors dropped).
  ~DirLock();

  // Removes the lock file and unlocks. Idempotent.
  [[nodiscard]] absl::Status Release();

  const std::string& path() const { return path_; }
  // False if a lock file was already there (the last holder did not shut
  // down cleanly).
  bool clean_start() const { return clean_start_; }

 private:
  DirLock(std::string path, int fd, bool clean_start)
      : path_(std::move(path)), fd_(fd), clean_start_(clean_start) {}

  std::string path_;
  int fd_ = -1;
  bool clean_start_ = true;
};

}  // namespace tsdb::db

#endif  // TSDB_DB_DIR_LOCK_H_
